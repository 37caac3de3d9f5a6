package cmd

import (
	"fmt"
	"slices"
	"strconv"
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
		case bench.Int:
			n, _ := strconv.ParseInt(pf.def, 10, 64)
			fs.Int64(pf.name, n, usage)
		case bench.Bool:
			b, _ := strconv.ParseBool(pf.def)
			fs.Bool(pf.name, b, usage)
		case bench.Duration:
			d, _ := time.ParseDuration(pf.def)
			fs.Duration(pf.name, d, usage)
		case bench.Strings:
			if !strings.Contains(usage, "repeat") {
				usage += " (repeatable)"
			}
			fs.StringArray(pf.name, nil, usage)
		default: // String, Float, DistKind
			fs.String(pf.name, pf.def, usage)
		}
	}
	f := fs.Lookup(pf.name)
	f.Annotations = map[string][]string{annotationWorkloads: slices.Clone(pf.workloads)}
}

// flagRaw is a changed flag's value as a raw parameter or setting value:
// a list for repeatable flags, otherwise the flag's string form, which
// bench.Param.Parse reads back for every kind.
func flagRaw(f *pflag.Flag) any {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return f.Value.String()
}
