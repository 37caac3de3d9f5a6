package cmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/perfkit/perfkit/bench"
)

// settingSpec is a run setting. Its long flag name is also its config key and,
// as PERFKIT_<NAME>, its environment variable.
type settingSpec struct {
	bench.Param
	short string
	// floatFlag registers a float64 flag instead of the string flag Float
	// kinds get (those accept "5%").
	floatFlag bool
	set       func(s *bench.Settings, v any)
}

func settingSpecs() []settingSpec {
	d := bench.DefaultSettings()
	return []settingSpec{
		{Param: bench.Param{Name: "concurrency", Kind: bench.Int, Default: strconv.Itoa(d.Concurrency),
			Help: "closed model: workers; open model: cap on ops in flight"}, short: "c",
			set: func(s *bench.Settings, v any) { s.Concurrency = clampInt(v.(int64)) }},
		{Param: bench.Param{Name: "rate", Kind: bench.Float, Default: "0",
			Help: "open model: target ops per second; 0 = closed model"}, short: "r", floatFlag: true,
			set: func(s *bench.Settings, v any) { s.Rate = v.(float64) }},
		{Param: bench.Param{Name: "arrival", Kind: bench.String, Default: d.Arrival,
			Help: "open model arrivals: constant or poisson"},
			set: func(s *bench.Settings, v any) { s.Arrival = v.(string) }},
		{Param: bench.Param{Name: "duration", Kind: bench.Duration, Default: d.Duration.String(),
			Help: "measured time per run"}, short: "d",
			set: func(s *bench.Settings, v any) { s.Duration = v.(time.Duration) }},
		{Param: bench.Param{Name: "iterations", Kind: bench.Int, Default: "0",
			Help: "measured ops per run, instead of a duration"}, short: "n",
			set: func(s *bench.Settings, v any) { s.Iterations = v.(int64) }},
		{Param: bench.Param{Name: "stages", Kind: bench.String,
			Help: "staged load DURATION:TARGET,...: rates ramping from -r (open model) or workers from -c (closed); sets the duration (docs/stages.md)"},
			set: func(s *bench.Settings, v any) { s.Stages = v.(string) }},
		{Param: bench.Param{Name: "warmup", Kind: bench.Duration, Default: d.Warmup.String(),
			Help: "run before measuring, not recorded"},
			set: func(s *bench.Settings, v any) { s.Warmup = v.(time.Duration) }},
		{Param: bench.Param{Name: "count", Kind: bench.Int, Default: strconv.Itoa(d.Count),
			Help: "independent runs per scenario (the samples compare uses)"},
			set: func(s *bench.Settings, v any) { s.Count = clampInt(v.(int64)) }},
		{Param: bench.Param{Name: "timeout", Kind: bench.Duration, Default: d.Timeout.String(),
			Help: "per-op timeout (0: none)"},
			set: func(s *bench.Settings, v any) { s.Timeout = v.(time.Duration) }},
		{Param: bench.Param{Name: "grace", Kind: bench.Duration, Default: d.Grace.String(),
			Help: "how long ops in flight at the end of the run (or at Ctrl-C) may finish before they are cancelled and counted as canceled (capped at --timeout)"},
			set: func(s *bench.Settings, v any) { s.Grace = v.(time.Duration) }},
		{Param: bench.Param{Name: "interval", Kind: bench.Duration, Default: d.Interval.String(),
			Help: "length of the live snapshots and of the result's time series"},
			set: func(s *bench.Settings, v any) { s.Interval = v.(time.Duration) }},
		{Param: bench.Param{Name: "max-error-rate", Kind: bench.Float, Default: strconv.FormatFloat(d.MaxErrorRate, 'g', -1, 64),
			Help: "error rate above which a run is marked invalid (0.1 or 10%)"},
			set: func(s *bench.Settings, v any) { s.MaxErrorRate = v.(float64) }},
		{Param: bench.Param{Name: "max-late", Kind: bench.Float, Default: strconv.FormatFloat(d.MaxLate, 'g', -1, 64),
			Help: "open model: share of ops perfkit may start over 1ms late (a worker free) before a run is invalid (0.05 or 5%)"},
			set: func(s *bench.Settings, v any) { s.MaxLate = v.(float64) }},
	}
}

func clampInt(n int64) int {
	const maxInt = int64(^uint(0) >> 1)
	if n > maxInt {
		return int(maxInt)
	}
	if n < -maxInt {
		return int(-maxInt)
	}
	return int(n)
}

// settingKeys lists the per-scenario run settings by long name.
func settingKeys() []string {
	specs := settingSpecs()
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// runFlagNames lists every flag of `perfkit run` that is not a workload param.
func runFlagNames() []string {
	names := append(settingKeys(), sweepKey, "out", "no-save", "strict", maxMemoryKey, "format", "config", profileKey, pprofURLKey, metricsAddrKey, dashboardKey, allowRemoteKey)
	return append(names, scaleFlagNames()...)
}

// layer is where a value came from, lowest precedence first.
type layer int

const (
	fromDefault   layer = iota // the declared default
	fromConfigTop              // a top-level key of the config file
	fromScenario               // the scenario's own key in the config file
	fromEnv                    // a PERFKIT_* variable
	fromFlag                   // a flag given on the command line
)

// origin says where a value came from, for precedence and error messages.
type origin struct {
	layer layer
	where string // "--concurrency", "PERFKIT_CONCURRENCY", "perfkit.yaml:7"
}

// wrap attributes err to the origin: config positions lead (file:line: ...),
// flags and variables trail.
func (o origin) wrap(scenario string, err error) error {
	switch o.layer {
	case fromConfigTop, fromScenario:
		return fmt.Errorf("%s: scenario %s: %w", o.where, scenario, err)
	case fromFlag, fromEnv:
		return fmt.Errorf("scenario %s: %w (from %s)", scenario, err, o.where)
	}
	return fmt.Errorf("scenario %s: %w", scenario, err)
}

// resolver merges the layers of configuration, highest first: a flag given, a
// PERFKIT_* variable, the scenario's own config keys, the config file's top
// level, the declared default. pick decides between the layers; the one
// viper instance holds the defaults (the settings' declared ones, and each
// run flag's own).
type resolver struct {
	v     *viper.Viper
	flags *pflag.FlagSet
	cfg   *configFile // nil: no config file
}

// bind registers the defaults with viper: each run setting's declared one,
// and the default of every other run flag (format, out, profile...).
func (r *resolver) bind() error {
	for _, s := range settingSpecs() {
		r.v.SetDefault(s.Name, s.Default)
	}
	for _, k := range runFlagNames() {
		if f := r.flags.Lookup(k); f != nil {
			if err := r.v.BindPFlag(k, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// envSet reports whether the variable is set and not empty (viper's rule).
func envSet(name string) bool { return os.Getenv(name) != "" }

// pick is the one place that decides which layer sets a value (docs/design.md,
// "Run flags"): a flag given, then a PERFKIT_* variable, then the scenario's
// own key (scen: the scenario's settings or params; nil for none), then the
// config file's top-level key at path (["concurrency"], or ["params", NAME]
// for a workload param). ok is false when no layer sets it: the declared
// default applies. A variable's value is the string as set.
func pick(flags *pflag.FlagSet, cfg *configFile, name string, scen map[string]configValue, path ...string) (raw any, o origin, ok bool) {
	if flags != nil {
		if f := flags.Lookup(name); f != nil && f.Changed {
			return flagRaw(f), origin{fromFlag, "--" + name}, true
		}
	}
	if env := envName(name); envSet(env) {
		return os.Getenv(env), origin{fromEnv, env}, true
	}
	if cv, ok := scen[name]; ok {
		return cv.raw, origin{fromScenario, cfg.where(cv.line)}, true
	}
	if cfg != nil {
		if cv, ok := cfg.top[path[0]]; ok {
			raw := cv.raw
			for _, k := range path[1:] {
				m, isMap := raw.(map[string]any)
				if !isMap {
					return nil, origin{}, false
				}
				if raw, ok = m[k]; !ok {
					return nil, origin{}, false
				}
			}
			return raw, origin{fromConfigTop, cfg.where(cv.line)}, true
		}
	}
	return nil, origin{}, false
}

// lookupSetting returns the raw value of a run setting for a scenario
// (sc nil: one run by workload name, without scenario keys), or its default.
func (r *resolver) lookupSetting(key string, sc *scenarioConfig) (any, origin) {
	var scen map[string]configValue
	if sc != nil {
		scen = sc.settings
	}
	if raw, o, ok := pick(r.flags, r.cfg, key, scen, key); ok {
		return raw, o
	}
	return r.v.Get(key), origin{fromDefault, "default"}
}

// lookupParam returns the raw value of a workload param for a scenario, or
// false when no layer sets it (the workload's default applies).
func (r *resolver) lookupParam(p bench.Param, sc *scenarioConfig) (any, origin, bool) {
	var scen map[string]configValue
	if sc != nil {
		scen = sc.params
	}
	raw, o, ok := pick(r.flags, r.cfg, p.Name, scen, "params", p.Name)
	if s, isStr := raw.(string); isStr && o.layer == fromEnv && p.Kind == bench.Strings {
		// One value per line: a list in one variable, commas kept.
		raw = strings.Split(strings.TrimRight(s, "\n"), "\n")
	}
	return raw, o, ok
}

// resolveSettings merges a scenario's run settings and validates them.
func (r *resolver) resolveSettings(name string, sc *scenarioConfig) (bench.Settings, error) {
	var s bench.Settings
	origins := map[string]origin{}
	for _, spec := range settingSpecs() {
		raw, o := r.lookupSetting(spec.Name, sc)
		v, err := spec.Parse(raw)
		if err != nil {
			return s, o.wrap(name, fmt.Errorf("%s: %w", spec.Name, err))
		}
		spec.set(&s, v)
		origins[spec.Name] = o
	}
	// Duration and iterations are alternatives: the one set at the higher
	// layer wins (-n 500 replaces the default 10s, and a config file's
	// iterations). Both at the same layer is left for Validate to refuse.
	od, on := origins["duration"], origins["iterations"]
	if st := origins["stages"]; s.Stages != "" && st.layer > od.layer {
		s.Duration = s.ParsedStages().Total() // the stages set the measured time
	}
	switch {
	case on.layer > od.layer:
		s.Duration = 0
	case od.layer > on.layer:
		s.Iterations = 0
	}
	if err := s.Validate(); err != nil {
		var se *bench.SettingError
		if !errors.As(err, &se) {
			return s, fmt.Errorf("scenario %s: %w", name, err)
		}
		o, ok := origins[se.Setting]
		if !ok {
			return s, fmt.Errorf("scenario %s: %w", name, err)
		}
		if se.Setting == "duration" && slices.Contains(se.With, "iterations") && on.layer > fromDefault {
			if od.layer == fromDefault {
				o = on
			} else if od.where != on.where {
				o.where += " and " + on.where
			}
		}
		return s, o.wrap(name, err)
	}
	return s, nil
}

// resolveParams merges a scenario's workload params through their layers and
// lets the definition parse and check each, once, naming where a refused
// value came from.
func (r *resolver) resolveParams(name string, def *bench.Definition, sc *scenarioConfig) (bench.Values, error) {
	raw, origins, err := r.rawParams(name, def, sc)
	if err != nil {
		return bench.Values{}, err
	}
	vals, err := def.Resolve(raw)
	if err != nil {
		var pe *bench.ParamError
		if errors.As(err, &pe) && !pe.Unknown {
			if o, ok := origins[pe.Param]; ok {
				return bench.Values{}, o.wrap(name, fmt.Errorf("param %s: %w", pe.Param, pe.Err))
			}
		}
		return bench.Values{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	return vals, nil
}

// rawParams merges the params some layer sets for a scenario, unparsed, with
// where each came from; params no layer sets are left out. A command from a
// config file without the user's opt-in is refused here (checkExec).
func (r *resolver) rawParams(name string, def *bench.Definition, sc *scenarioConfig) (map[string]any, map[string]origin, error) {
	raw := map[string]any{}
	origins := map[string]origin{}
	for _, p := range def.Params {
		v, o, ok := r.lookupParam(p, sc)
		if !ok {
			continue
		}
		if err := r.checkExec(p, v, o); err != nil {
			return nil, nil, o.wrap(name, err)
		}
		raw[p.Name] = v
		origins[p.Name] = o
	}
	return raw, origins, nil
}

// allowExecKey is the flag, and as PERFKIT_ALLOW_EXEC the variable, that
// lets commands from a config file run (a param declared Exec, e.g. agents
// cmd). It is no config key: a config file cannot allow itself.
const allowExecKey = "allow-exec"

func addAllowExecFlag(fl *pflag.FlagSet) {
	fl.Bool(allowExecKey, false, "run commands that come from a config file (agents cmd:); a command given on the command line needs no opt-in (env PERFKIT_ALLOW_EXEC)")
}

// checkExec refuses a command param (Exec) set by a config file unless the
// user opted in with --allow-exec or PERFKIT_ALLOW_EXEC: ./perfkit.yaml is
// loaded without being named, so a checked-out repository must not be able
// to run a command of its choosing. Flags and variables are the user's own.
func (r *resolver) checkExec(p bench.Param, raw any, o origin) error {
	if !p.Exec || (o.layer != fromConfigTop && o.layer != fromScenario) || fmt.Sprint(raw) == "" {
		return nil
	}
	if f := r.flags.Lookup(allowExecKey); f != nil && f.Changed {
		if ok, _ := strconv.ParseBool(f.Value.String()); ok {
			return nil
		}
	} else if env := os.Getenv(envName(allowExecKey)); env != "" {
		ok, err := strconv.ParseBool(env)
		if err != nil {
			return fmt.Errorf("%s=%q: want true or false", envName(allowExecKey), env)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("param %s: a command from a config file runs only with --%s (or %s=1)", p.Name, allowExecKey, envName(allowExecKey))
}

// resolveScenario builds a runnable scenario; edits, when given, change its
// resolved settings and params before the workload is built (perfkit ab's
// --a-set and --b-set), each value still parsed once. The workload is built now, so a
// bad parameter (a malformed targets file) is a configuration error before
// anything runs, not a failed measurement.
func (r *resolver) resolveScenario(name string, def *bench.Definition, sc *scenarioConfig, edits ...func(*bench.Settings, *bench.Values) error) (bench.Scenario, error) {
	settings, err := r.resolveSettings(name, sc)
	if err != nil {
		return bench.Scenario{}, err
	}
	vals, err := r.resolveParams(name, def, sc)
	if err != nil {
		return bench.Scenario{}, err
	}
	for _, edit := range edits {
		if err := edit(&settings, &vals); err != nil {
			return bench.Scenario{}, err
		}
		if err := settings.Validate(); err != nil {
			return bench.Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
		}
	}
	w, err := def.New(vals)
	if err != nil {
		return bench.Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	return bench.Scenario{
		Name:     name,
		Workload: def.Name,
		Params:   vals,
		New:      newOnce(w, def, vals),
		Settings: settings,
	}, nil
}

// newOnce hands the engine the workload built during validation, and builds a
// fresh one should it ask again.
func newOnce(w bench.Workload, def *bench.Definition, vals bench.Values) func() (bench.Workload, error) {
	var mu sync.Mutex
	return func() (bench.Workload, error) {
		mu.Lock()
		defer mu.Unlock()
		if w != nil {
			first := w
			w = nil
			return first, nil
		}
		return def.New(vals)
	}
}
