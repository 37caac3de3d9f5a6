package cmd

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// sweepKey is the flag, config key and (as PERFKIT_SWEEP) variable of a sweep.
const sweepKey = "sweep"

// sweepSyntax is what a sweep looks like, for error messages.
const sweepSyntax = "PARAM=v1,v2,... (e.g. concurrency=1,2,4)"

// sweepSettings are the run settings a sweep may vary: the ones that change
// the load or how long it is measured. count, interval, arrival and
// max-error-rate change how results are sampled or judged, not the system's
// response, so sweeping them has no knee to find.
func sweepSettings() []string {
	return []string{"concurrency", "rate", "duration", "iterations", "warmup", "timeout"}
}

// sweepValue is the --sweep flag. A second --sweep is an error at parse time:
// one sweep per run.
type sweepValue struct {
	s   string
	set bool
}

// String is the sweep as given.
func (v *sweepValue) String() string { return v.s }

// Type is the placeholder --help shows after --sweep.
func (v *sweepValue) Type() string { return "PARAM=v1,v2,..." }

// Set takes the flag's value; pflag calls it once per --sweep given.
func (v *sweepValue) Set(s string) error {
	if v.set {
		return fmt.Errorf("--sweep given twice (%s, then %s): one sweep per run; sweeping several params as a grid is not supported", v.s, s)
	}
	v.s, v.set = s, true
	return nil
}

// sweep is a parsed PARAM=v1,v2,...: the values as given, split on commas
// and trimmed, not yet checked against a scenario.
type sweep struct {
	param  string
	values []string
}

// parseSweep splits s into a param and its values. Values may not contain
// commas (a URL list per step is out of scope).
func parseSweep(s string) (sweep, error) {
	param, list, ok := strings.Cut(s, "=")
	param = strings.TrimSpace(param)
	switch {
	case !ok:
		return sweep{}, fmt.Errorf("sweep %q: want %s", s, sweepSyntax)
	case param == "":
		return sweep{}, fmt.Errorf("sweep %q: no param before \"=\"; want %s", s, sweepSyntax)
	case strings.TrimSpace(list) == "":
		return sweep{}, fmt.Errorf("sweep %q: no values after \"=\"; want %s", s, sweepSyntax)
	}
	sw := sweep{param: param}
	for i, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return sweep{}, fmt.Errorf("sweep %q: value %d is empty; want %s", s, i+1, sweepSyntax)
		}
		sw.values = append(sw.values, v)
	}
	return sw, nil
}

// sweepConflicts are the flags a sweep of key cannot be given with: the key's
// own flag, and for duration and iterations, its alternative.
func sweepConflicts(key string) []string {
	switch key {
	case "duration", "iterations":
		return []string{"duration", "iterations"}
	}
	return []string{key}
}

// lookupSweep returns the sweep in effect for a scenario (sc nil: a workload
// run by name) through the layers of run settings, and whether one is set.
func (r *resolver) lookupSweep(sc *scenarioConfig) (sweep, origin, bool, error) {
	raw, o := r.lookupSetting(sweepKey, sc)
	if o.layer == fromDefault {
		return sweep{}, o, false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return sweep{}, o, false, fmt.Errorf("sweep: %s is not a string; want %s", oneLine(fmt.Sprint(raw)), sweepSyntax)
	}
	sw, err := parseSweep(s)
	return sw, o, err == nil, err
}

// sweepTakes reports whether a scenario of def can be swept over param.
func sweepTakes(def *bench.Definition, param string) bool {
	_, isParam := def.Param(param)
	return isParam || slices.Contains(sweepSettings(), param)
}

// errNotSweepable names what a sweep over param could have varied instead.
func errNotSweepable(param string, defs ...*bench.Definition) error {
	var names []string
	accepted := "run settings " + strings.Join(sweepSettings(), ", ")
	for _, d := range defs {
		names = append(names, d.Name)
		if len(d.Params) > 0 {
			accepted += "; params of " + d.Name + ": " + strings.Join(d.ParamNames(), ", ")
		}
	}
	why := "not a run setting or a param of " + strings.Join(names, " or ")
	if slices.Contains(settingKeys(), param) {
		why = "this run setting cannot be swept (it does not change the load)"
	}
	return fmt.Errorf("sweep %s: %s (accepted: %s)", param, why, accepted)
}

// expandSweep builds one scenario per value of sw from the scenario named
// name: each step is the scenario with that one value changed, named
// NAME[PARAM=v]. Every value is parsed with the kind of what it sets and
// checked (and each step's workload built) before anything runs.
func (r *resolver) expandSweep(name string, def *bench.Definition, sc *scenarioConfig, sw sweep, o origin) ([]bench.Scenario, error) {
	fail := func(err error) ([]bench.Scenario, error) {
		return nil, o.wrap(name, err)
	}
	if p, ok := def.Param(sw.param); ok {
		if err := r.checkExec(p, strings.Join(sw.values, ","), o); err != nil {
			return fail(err)
		}
	}
	for _, k := range sweepConflicts(sw.param) {
		if f := r.flags.Lookup(k); f != nil && f.Changed {
			return fail(fmt.Errorf("--%s %s and a sweep over %s: give one or the other", k, f.Value.String(), sw.param))
		}
	}
	settings, err := r.resolveSettings(name, sc)
	if err != nil {
		return nil, err
	}
	if settings.Stages != "" && slices.Contains([]string{"rate", "duration", "iterations"}, sw.param) {
		return fail(fmt.Errorf("sweep %s and stages %s: the stages set the rates and the duration; sweep concurrency, warmup, timeout or a workload param", sw.param, settings.Stages))
	}
	base, err := r.resolveParams(name, def, sc)
	if err != nil {
		return nil, err
	}
	var spec *settingSpec
	if slices.Contains(sweepSettings(), sw.param) {
		for _, s := range settingSpecs() {
			if s.Name == sw.param {
				spec = &s
			}
		}
	}
	param, isParam := def.Param(sw.param)
	if spec == nil && !isParam {
		return fail(errNotSweepable(sw.param, def))
	}

	// The value in names and messages: secrets redacted.
	shownOf := func(v string) string {
		if spec == nil && param.Redact != nil {
			v = param.Redact(v)
		}
		return bench.RedactText(v)
	}
	// Values that differ only in a secret show alike: their steps are
	// told apart by position ("api[header=Authorization: REDACTED #2]"),
	// or two steps of one name would make compare refuse the result.
	shownCount := map[string]int{}
	for _, v := range sw.values {
		shownCount[shownOf(v)]++
	}
	seen := map[string]string{} // canonical value → value as given
	var scenarios []bench.Scenario
	for i, v := range sw.values {
		shown := shownOf(v)
		stepValue := shown
		if shownCount[shown] > 1 {
			stepValue += " #" + strconv.Itoa(i+1)
		}
		valueErr := func(err error) ([]bench.Scenario, error) {
			return fail(fmt.Errorf("sweep value %s=%s: %w", sw.param, shown, err))
		}
		// Each value is parsed and checked once: a setting by its spec, a
		// param into the step's values.
		var parsed any
		stepVals := base
		if spec != nil {
			parsed, err = spec.Parse(v)
		} else if stepVals, err = base.With(sw.param, v); err == nil {
			parsed = stepVals.Value(sw.param)
		} else {
			var pe *bench.ParamError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			if param.Kind == bench.DistKind {
				err = fmt.Errorf("%w (sweep values are split on commas)", err)
			}
		}
		if err != nil {
			return valueErr(err)
		}
		canon := fmt.Sprint(parsed)
		if prev, dup := seen[canon]; dup {
			if prev == shown {
				return valueErr(errors.New("given twice (each value once)"))
			}
			return valueErr(fmt.Errorf("same as %s (each value once)", prev))
		}
		seen[canon] = shown

		step := bench.Scenario{Name: name, Workload: def.Name, Settings: settings, Params: stepVals}
		if spec != nil {
			spec.set(&step.Settings, parsed)
			switch sw.param {
			case "duration":
				step.Settings.Iterations = 0
			case "iterations":
				step.Settings.Duration = 0
			}
			if err := step.Settings.Validate(); err != nil {
				return valueErr(err)
			}
		}
		w, err := def.New(step.Params)
		if err != nil {
			return valueErr(err)
		}
		step.New = newOnce(w, def, step.Params)

		step.Name = name + "[" + sw.param + "=" + stepValue + "]"
		step.Sweep = &bench.SweepStep{Param: sw.param, Value: stepValue, Base: name, Index: i}
		scenarios = append(scenarios, step)
	}
	return scenarios, nil
}
