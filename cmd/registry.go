package cmd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
)

// registry is the set of workloads this build knows, by name. It is a value
// built per Execute, never package state.
type registry []bench.Definition

func (r registry) lookup(name string) (*bench.Definition, bool) {
	for i := range r {
		if r[i].Name == name {
			return &r[i], true
		}
	}
	return nil, false
}

func (r registry) names() []string {
	out := make([]string, len(r))
	for i, d := range r {
		out[i] = d.Name
	}
	return out
}

// paramFlag is one `perfkit run` flag made from workload parameters: the
// union over all workloads, one flag per name.
type paramFlag struct {
	name      string
	kind      bench.ParamKind
	mixed     bool // workloads declare the name with different kinds
	hasBool   bool // one of the mixed kinds is Bool
	workloads []string
	help      string
	def       string
}

// envName is the PERFKIT_* variable of a flag or config key: PERFKIT_ then the
// long name upper-cased with dashes as underscores (max-error-rate →
// PERFKIT_MAX_ERROR_RATE, payload-bytes → PERFKIT_PAYLOAD_BYTES).
func envName(key string) string {
	return "PERFKIT_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// paramFlags returns the union of the registry's parameters as flag specs, in
// declaration order. A parameter named like a run flag is a bug in the
// workload: it could never be set from the command line.
func (r registry) paramFlags() ([]*paramFlag, error) {
	reserved := map[string]bool{"help": true}
	for _, k := range runFlagNames() {
		reserved[k] = true
	}
	var out []*paramFlag
	byName := map[string]*paramFlag{}
	for _, d := range r {
		for _, p := range d.Params {
			if reserved[p.Name] {
				return nil, fmt.Errorf("workload %s: param %q clashes with the run flag --%s", d.Name, p.Name, p.Name)
			}
			pf, ok := byName[p.Name]
			if !ok {
				pf = &paramFlag{name: p.Name, kind: p.Kind, help: p.Help, def: p.Default}
				byName[p.Name] = pf
				out = append(out, pf)
			} else if pf.kind != p.Kind {
				pf.mixed = true
				pf.def = ""
			} else if pf.def != p.Default {
				pf.def = ""
			}
			pf.hasBool = pf.hasBool || p.Kind == bench.Bool
			pf.workloads = append(pf.workloads, d.Name)
		}
	}
	return out, nil
}

// annotationWorkloads marks a flag as a workload parameter; its value lists
// the workloads that declare it.
const annotationWorkloads = "perfkit_workloads"

// register adds the parameter's typed flag to fs. Kinds map to pflag types so
// the shell and --help show what is accepted; Float and Dist stay strings
// because bench parses them ("5%", "lognormal:p50=2ms,p99=20ms"). A name two
// workloads declare with different kinds becomes a repeatable string flag whose
// values each workload parses with its own kind.
func (pf *paramFlag) register(fs *pflag.FlagSet) {
	usage := pf.help // --help shows it under a heading naming the workloads
	if pf.mixed {
		fs.StringArray(pf.name, nil, usage+" (kind depends on the workload)")
		if pf.hasBool {
			fs.Lookup(pf.name).NoOptDefVal = "true"
		}
	} else {
		switch pf.kind {
		case bench.Strings:
			if !strings.Contains(usage, "repeat") {
				usage += " (repeatable)"
			}
			fs.StringArray(pf.name, nil, usage)
		default:
			addParsedFlag(fs, bench.Param{Name: pf.name, Kind: pf.kind, Default: pf.def}, "", usage)
		}
	}
	f := fs.Lookup(pf.name)
	f.Annotations = map[string][]string{annotationWorkloads: slices.Clone(pf.workloads)}
}

// parsedValue is a flag whose value bench parses, once, when the flag is
// given (bench.Param.Parse): the typed value is what the resolver passes on
// (flagRaw), and a bad value is refused as the config file's or a variable's
// would be ("\"abc\" is not an integer").
type parsedValue struct {
	p bench.Param
	s string // as given, or the default
	v any    // parsed; nil until given
	// float shows a Float as "float" in --help (a rate), not as a string
	// ("5%" accepted).
	float bool
}

func (f *parsedValue) Set(s string) error {
	v, err := f.p.Parse(s)
	if err != nil {
		return err
	}
	f.s, f.v = s, v
	return nil
}

func (f *parsedValue) String() string { return f.s }

// Type is the type word --help shows (pflag's own names: int64 shows as
// "int", bool as none).
func (f *parsedValue) Type() string {
	switch f.p.Kind {
	case bench.Int:
		return "int64"
	case bench.Bool:
		return "bool"
	case bench.Duration:
		return "duration"
	}
	if f.float {
		return "float64"
	}
	return "string" // Float ("5%"), String, Dist
}

// addParsedFlag registers p as a flag parsed by bench, its default shown
// in --help (the default layer itself is the resolver's).
func addParsedFlag(fs *pflag.FlagSet, p bench.Param, short, usage string) {
	v := &parsedValue{p: p, s: p.Default}
	fs.VarP(v, p.Name, short, usage)
	f := fs.Lookup(p.Name)
	switch p.Kind {
	case bench.Bool:
		f.NoOptDefVal = "true"
	case bench.Duration:
		if d, err := p.Parse(p.Default); err == nil && d == time.Duration(0) {
			f.DefValue = "0" // --help shows no zero default, as for pflag's own durations
		}
	}
}

// flagRaw is a changed flag's value as a raw parameter or setting value:
// a list for repeatable flags, otherwise the flag's string form, which
// bench.Param.Parse reads back for every kind.
func flagRaw(f *pflag.Flag) any {
	if pv, ok := f.Value.(*parsedValue); ok && pv.v != nil {
		return pv.v
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return f.Value.String()
}
