package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParamKind is the type of a workload parameter.
type ParamKind int

// Parameter kinds. Strings is repeatable (a flag given several times, or a
// YAML list); Dist is a latency distribution (see ParseDist); Float also
// accepts a percentage ("1%" is 0.01).
const (
	String ParamKind = iota
	Int
	Float
	Bool
	Duration
	Strings
	DistKind
)

var kindNames = [...]string{"string", "int", "float", "bool", "duration", "strings", "dist"}

func (k ParamKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ParamKind(" + strconv.Itoa(int(k)) + ")"
}

// Param declares one workload parameter, once: this declaration makes its
// typed flag, its config key, its listing, its validation and its entry in the
// result's params.
type Param struct {
	Name    string
	Kind    ParamKind
	Default string // parsed with Kind; "" is the zero value (an empty list for Strings)
	Help    string
	// Redact, when set, rewrites each string value before it is written to a
	// result or printed (passwords in URLs, bearer tokens in headers).
	Redact func(string) string
	// Check, when set, validates a parsed value beyond its type.
	Check func(v any) error
	// Max, when not 0, is the largest value an Int or Float parameter
	// takes, checked (by Validate) before anything runs wherever the value
	// comes from: a size past it would exhaust the machine. MaxWhy says why
	// in the refusal ("the table is allocated up front").
	Max    float64
	MaxWhy string
	// Exec marks a value that is a command perfkit runs: taken from a
	// config file, it needs the user's explicit opt-in (perfkit run
	// --allow-exec), since ./perfkit.yaml is read without being named.
	Exec bool
}

// Definition is a workload type: its name, its parameters and its
// constructor. It is what a program gives cli.Main to add a workload to
// perfkit's command line.
type Definition struct {
	// Name is how users select it: perfkit run NAME, workload: NAME in
	// perfkit.yaml. Letters, digits, '-', '_' and '.'.
	Name string
	// Help is one line for perfkit workloads.
	Help string
	// Params are declared once here; each is a --NAME flag of perfkit run,
	// a key under params: in perfkit.yaml and a PERFKIT_NAME variable, and
	// is recorded in the result. A name a run flag has (timeout, rate...)
	// is refused.
	Params []Param
	// New builds the workload from resolved parameter values. An error here is
	// a configuration error (exit 2).
	New func(Values) (Workload, error)
	// Memory, when set, estimates the workload's own memory with these
	// values and that many engine workers, and says what it is for; the
	// engine's share is added to it (EstimateMemory) and a run needing more
	// than the budget is refused before it starts.
	Memory func(v Values, workers int) (bytes float64, what string)
	// CheckSettings, when set, refuses run settings the workload cannot
	// honour with these values (a data file sent once per row asks for a
	// bounded number of ops); called before anything runs (CheckSettings).
	CheckSettings func(v Values, s Settings) error
}

// Param returns the declaration named name.
func (d *Definition) Param(name string) (Param, bool) {
	for _, p := range d.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ParamNames lists the declared parameter names in declaration order.
func (d *Definition) ParamNames() []string {
	names := make([]string, len(d.Params))
	for i, p := range d.Params {
		names[i] = p.Name
	}
	return names
}

// Resolve parses raw values (from flags, environment or a config file:
// strings, numbers, bools or lists) into their kinds and checks them
// against the declaration, each exactly once, and fills in defaults. An
// unknown name or a refused value is a *ParamError naming the parameter, the
// value and what it accepts.
func (d *Definition) Resolve(raw map[string]any) (Values, error) {
	vals := Values{def: d, m: make(map[string]any, len(d.Params))}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := d.Param(k); !ok {
			return Values{}, &ParamError{Workload: d.Name, Param: k, Unknown: true,
				Err: fmt.Errorf("unknown param %q for workload %s (accepted: %s)", k, d.Name, strings.Join(d.ParamNames(), ", "))}
		}
	}
	for _, p := range d.Params {
		r, given := raw[p.Name]
		if !given {
			r = p.Default
		}
		v, err := p.Parse(r)
		if err != nil {
			if !given {
				return Values{}, fmt.Errorf("workload %s: bad default for param %s: %w", d.Name, p.Name, err)
			}
			return Values{}, &ParamError{Workload: d.Name, Param: p.Name, Err: err}
		}
		if given {
			if err := p.Validate(v); err != nil {
				return Values{}, &ParamError{Workload: d.Name, Param: p.Name, Err: err}
			}
		}
		vals.m[p.Name] = v
	}
	return vals, nil
}

// Build resolves raw values and builds the workload: what `perfkit run`
// does with a workload's params before anything runs.
func (d *Definition) Build(raw map[string]any) (Workload, error) {
	v, err := d.Resolve(raw)
	if err != nil {
		return nil, err
	}
	return d.New(v)
}

// Validate checks a parsed value against the declaration beyond its type:
// its Max, then its Check.
func (p Param) Validate(v any) error {
	if p.Max != 0 {
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		}
		if f > p.Max {
			why := ""
			if p.MaxWhy != "" {
				why = " (" + p.MaxWhy + ")"
			}
			return fmt.Errorf("%s %v: at most %s%s", p.Name, v, strconv.FormatFloat(p.Max, 'f', -1, 64), why)
		}
	}
	if p.Check != nil {
		return p.Check(v)
	}
	return nil
}

// Parse converts a raw value to the parameter's type.
func (p Param) Parse(raw any) (any, error) {
	if p.Kind == Strings {
		return parseStrings(raw)
	}
	if l, ok := raw.([]any); ok && len(l) == 1 {
		raw = l[0]
	} else if l, ok := raw.([]string); ok && len(l) == 1 {
		raw = l[0]
	}
	switch p.Kind {
	case String:
		switch v := raw.(type) {
		case string:
			return v, nil
		case int, int64, float64, bool:
			return fmt.Sprint(v), nil
		}
	case Int:
		switch v := raw.(type) {
		case int:
			return int64(v), nil
		case int64:
			return v, nil
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				return int64(v), nil
			}
		case string:
			s := strings.ReplaceAll(strings.TrimSpace(v), "_", "")
			if s == "" {
				return int64(0), nil
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("%s is not an integer", quote(raw))
	case Float:
		switch v := raw.(type) {
		case int:
			return float64(v), nil
		case int64:
			return float64(v), nil
		case float64:
			return v, nil
		case string:
			s := strings.TrimSpace(v)
			if s == "" {
				return 0.0, nil
			}
			div := 1.0
			if t, ok := strings.CutSuffix(s, "%"); ok {
				s, div = strings.TrimSpace(t), 100
			}
			f, err := strconv.ParseFloat(s, 64)
			if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f / div, nil
			}
		}
		return nil, fmt.Errorf("%s is not a number (e.g. 0.5 or 50%%)", quote(raw))
	case Bool:
		switch v := raw.(type) {
		case bool:
			return v, nil
		case string:
			if v == "" {
				return false, nil
			}
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("%s is not a bool (true or false)", quote(raw))
	case Duration:
		switch v := raw.(type) {
		case time.Duration: // parsed already (a flag's value)
			return v, nil
		case string:
			if v == "" {
				return time.Duration(0), nil
			}
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err == nil {
				return d, nil
			}
		case int:
			if v == 0 {
				return time.Duration(0), nil
			}
		}
		return nil, fmt.Errorf("%s is not a duration (e.g. 250ms, 10s, 1m)", quote(raw))
	case DistKind:
		if d, ok := raw.(Dist); ok { // parsed already (a flag's value)
			return d, nil
		}
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("%s is not a distribution (e.g. 5ms, uniform:1ms..10ms, lognormal:p50=2ms,p99=20ms)", quote(raw))
		}
		if s == "" {
			return Dist{}, nil
		}
		return ParseDist(s)
	}
	return nil, fmt.Errorf("%s is not a %s", quote(raw), p.Kind)
}

func parseStrings(raw any) (any, error) {
	switch v := raw.(type) {
	case nil:
		return []string{}, nil
	case string:
		if v == "" {
			return []string{}, nil
		}
		return []string{v}, nil
	case []string:
		return slices.Clone(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case int, int64, float64, bool:
				out = append(out, fmt.Sprint(e))
			default:
				return nil, fmt.Errorf("list element %s is not a string", quote(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a string or a list of strings", quote(raw))
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

// Values are a workload's resolved parameters, read with typed getters:
// what Definition.New receives, every declared param set (to its Default
// when not given), parsed and checked.
// A getter for a name that was not declared with that kind panics: that is a
// bug in the workload, caught by its tests.
type Values struct {
	def *Definition
	m   map[string]any
}

func (v Values) get(name string) any {
	x, ok := v.m[name]
	if !ok {
		panic("bench: param " + name + " not declared")
	}
	return x
}

// Value returns a parameter's value, of its kind's Go type (int64,
// float64, bool, string, time.Duration, []string, Dist).
func (v Values) Value(name string) any { return v.get(name) }

// With returns a copy of v with param name set to raw, parsed and checked
// as Resolve does: what a sweep step or an A/B variant changes in a
// scenario's resolved params, parsed once. The error is a *ParamError.
func (v Values) With(name string, raw any) (Values, error) {
	p, ok := v.def.Param(name)
	if !ok {
		return Values{}, &ParamError{Workload: v.def.Name, Param: name, Unknown: true,
			Err: fmt.Errorf("unknown param %q for workload %s (accepted: %s)", name, v.def.Name, strings.Join(v.def.ParamNames(), ", "))}
	}
	x, err := p.Parse(raw)
	if err == nil {
		err = p.Validate(x)
	}
	if err != nil {
		return Values{}, &ParamError{Workload: v.def.Name, Param: name, Err: err}
	}
	m := make(map[string]any, len(v.m))
	for k, y := range v.m {
		m[k] = y
	}
	m[name] = x
	return Values{def: v.def, m: m}, nil
}

// String returns a String parameter.
func (v Values) String(name string) string { return v.get(name).(string) }

// Int returns an Int parameter.
func (v Values) Int(name string) int64 { return v.get(name).(int64) }

// Float returns a Float parameter.
func (v Values) Float(name string) float64 { return v.get(name).(float64) }

// Bool returns a Bool parameter.
func (v Values) Bool(name string) bool { return v.get(name).(bool) }

// Duration returns a Duration parameter.
func (v Values) Duration(name string) time.Duration { return v.get(name).(time.Duration) }

// Strings returns a Strings parameter.
func (v Values) Strings(name string) []string { return v.get(name).([]string) }

// Dist returns a distribution parameter.
func (v Values) Dist(name string) Dist { return v.get(name).(Dist) }

// Record returns the values as they go into a result: JSON-friendly, in
// declared units (durations and distributions as strings), with secrets
// redacted.
func (v Values) Record() map[string]any {
	out := make(map[string]any, len(v.m))
	if v.def == nil {
		return out
	}
	for _, p := range v.def.Params {
		x := v.m[p.Name]
		switch t := x.(type) {
		case time.Duration:
			x = t.String()
		case Dist:
			x = t.String()
		case string:
			if p.Redact != nil {
				x = p.Redact(t)
			}
		case []string:
			c := slices.Clone(t)
			if p.Redact != nil {
				for i := range c {
					c[i] = p.Redact(c[i])
				}
			}
			x = c
		}
		out[p.Name] = x
	}
	return out
}
