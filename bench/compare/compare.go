package compare

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/perf/benchunit"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// Options configure Compare.
type Options struct {
	// Alpha is the family-wise false-alarm rate; 0 means stats.DefaultAlpha.
	Alpha float64
	// Thresholds override the metrics' defaults, the last rule of a scope
	// winning: config rules first, then flags.
	Thresholds stats.Thresholds
	// StrictEnv makes differing environments an error instead of a warning.
	StrictEnv bool
	// IncludeInvalid keeps invalid runs in the samples instead of leaving
	// them out; each is still named in a warning.
	IncludeInvalid bool
	// GateOwnMetrics lets perfkit's own costs (Metric.Own: cpu_per_op,
	// alloc_per_op) gate for a scenario whose target is external. By
	// default they gate only when the system under test runs in perfkit's
	// process (either side's bench.TargetExternal makes them Info): against
	// an external target they are the load generator's costs, which a
	// slower service spreads over fewer ops.
	GateOwnMetrics bool
}

// EnvError reports, under StrictEnv, that the two sides were measured on
// different machines or toolchains.
type EnvError struct {
	Diffs []string
}

func (e *EnvError) Error() string {
	return "environments differ (old vs new): " + strings.Join(e.Diffs, "; ")
}

// Compare decides every metric of every scenario the two sides share.
// Errors are about the inputs: unlike formats, a side without runs, a
// threshold for an unknown metric, a NaN. What the data cannot settle is a
// verdict (inconclusive), and oddities are warnings in the comparison.
func Compare(old, new *Source, opts Options) (stats.Comparison, error) {
	if old.Format != new.Format {
		return stats.Comparison{}, fmt.Errorf("cannot compare %s (%s) with %s (%s): compare like with like",
			old.Label, describe(old.Format), new.Label, describe(new.Format))
	}
	for _, s := range []*Source{old, new} {
		if s.runs() == 0 {
			return stats.Comparison{}, fmt.Errorf("%s has no runs to compare", s.Label)
		}
	}
	var warnings []string
	add := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	warnings = append(warnings, old.Warnings...)
	for _, w := range new.Warnings {
		if !slices.Contains(warnings, w) {
			warnings = append(warnings, w)
		}
	}
	if diffs := EnvDiff(old.Env, new.Env); len(diffs) > 0 {
		if opts.StrictEnv {
			return stats.Comparison{}, &EnvError{Diffs: diffs}
		}
		add("%s", (&EnvError{Diffs: diffs}).Error())
	}
	rules, ruleWarnings, err := checkRules(opts.Thresholds, old, new)
	if err != nil {
		return stats.Comparison{}, err
	}
	warnings = append(warnings, ruleWarnings...)

	var inputs []stats.Input
	info := map[stats.Key]string{} // the reason an input is not gating
	own := map[stats.Key]bool{}
	var added, removed []string
	invalid := map[string]stats.Outcome{} // by scenario: new runs invalid
	for _, so := range old.Scenarios {
		if new.scenario(so.Name) == nil {
			removed = append(removed, so.Name)
		}
	}
	for _, sn := range new.Scenarios {
		if old.scenario(sn.Name) == nil {
			added = append(added, sn.Name)
			// Not compared, but a broken new scenario still shows.
			if bad := invalidRuns(sn); len(bad) > 0 {
				invalid[sn.Name] = stats.InvalidRuns(sn.Name, len(bad), len(sn.Runs), runReasons(bad))
			}
		}
	}
	for _, so := range old.Scenarios {
		sn := new.scenario(so.Name)
		if sn == nil {
			continue
		}
		if d := SetupDiff(so.Setup, sn.Setup); d != "" {
			add("scenario %s: set up differently (old → new): %s", so.Name, d)
		}
		oldRuns, oldOut := usable(so, opts.IncludeInvalid)
		newRuns, newOut := usable(*sn, opts.IncludeInvalid)
		for _, side := range []struct {
			name string
			out  []Run
		}{{"old", oldOut}, {"new", newOut}} {
			for _, r := range side.out {
				if side.name == "new" && r.Invalid && !opts.IncludeInvalid {
					continue // the scenario's invalid verdict names them
				}
				verb := "left out"
				if opts.IncludeInvalid {
					verb = "kept (--include-invalid)"
				}
				add("scenario %s: %s %s %s: invalid: %s", so.Name, side.name, r.Where, verb, strings.Join(r.Reasons, "; "))
			}
		}
		if bad := invalidRuns(*sn); len(bad) > 0 {
			invalid[so.Name] = stats.InvalidRuns(so.Name, len(bad), len(sn.Runs), runReasons(bad))
		}
		for _, m := range append(unionMetrics(old, new), namedLabelled(rules, old, new)...) {
			inOld, inNew := measures(so, m.Name), measures(*sn, m.Name)
			if !inOld && !inNew {
				continue
			}
			in := stats.Input{Key: stats.Key{Scenario: so.Name, Metric: m.Name}, Unit: m.Unit, Better: m.Better, Threshold: m.Threshold}
			if t, ok := rules.Lookup(so.Name, m.Name); ok {
				in.Threshold = t
			}
			if m.Own {
				own[in.Key] = true
				if !opts.GateOwnMetrics && (so.Target == bench.TargetExternal || sn.Target == bench.TargetExternal) {
					info[in.Key] = "external target"
				}
			}
			oRuns, nRuns := oldRuns, newRuns
			if m.Name == ErrorRate {
				// Errors are what an errored run shows: leaving the runs
				// over the error bound out would hide the regression.
				oRuns, nRuns = complete(so, opts.IncludeInvalid), complete(*sn, opts.IncludeInvalid)
			}
			in.OldInvalid, in.NewInvalid = len(so.Runs)-len(oRuns), len(sn.Runs)-len(nRuns)
			if len(oRuns) > 0 && len(nRuns) > 0 && inOld != inNew {
				side := "new"
				if inOld {
					side = "old"
				}
				add("scenario %s: %s measured in %s only: not compared", so.Name, m.Name, side)
				continue
			}
			in.Old, in.New = values(oRuns, m.Name), values(nRuns, m.Name)
			inputs = append(inputs, in)
		}
	}
	c, err := decide(inputs, info, opts.Alpha)
	if err != nil {
		return stats.Comparison{}, err
	}
	for i := range c.Outcomes {
		c.Outcomes[i].Own = own[c.Outcomes[i].Key]
	}
	c.Outcomes = withInvalid(c.Outcomes, invalid, new)
	c.Old, c.New = old.Label, new.Label
	c.Added, c.Removed = added, removed
	c.Warnings = warnings
	if new.Format == GoBench {
		c.Geomeans = stats.Geomeans(c.Outcomes)
	}
	return c, nil
}

// decide runs stats.Compare on the gating inputs and, apart, on the
// informational ones (those info gives a reason for): each is its own Holm
// family, so metrics that cannot fail the gate do not weaken the test of
// those that can. Info outcomes keep what the data said as Finding and get
// the verdict stats.Info. Outcomes keep the inputs' order.
func decide(inputs []stats.Input, info map[stats.Key]string, alpha float64) (stats.Comparison, error) {
	var gating, infos []stats.Input
	for _, in := range inputs {
		if _, ok := info[in.Key]; ok {
			infos = append(infos, in)
		} else {
			gating = append(gating, in)
		}
	}
	c, err := stats.Compare(gating, stats.Options{Alpha: alpha})
	if err != nil || len(infos) == 0 {
		return c, err
	}
	ci, err := stats.Compare(infos, stats.Options{Alpha: alpha})
	if err != nil {
		return stats.Comparison{}, err
	}
	c.InfoFamily = ci.Family
	byKey := make(map[stats.Key]stats.Outcome, len(inputs))
	for _, o := range c.Outcomes {
		byKey[o.Key] = o
	}
	for _, o := range ci.Outcomes {
		o.Finding, o.Verdict, o.InfoReason = o.Verdict, stats.Info, info[o.Key]
		byKey[o.Key] = o
	}
	c.Outcomes = make([]stats.Outcome, 0, len(inputs))
	for _, in := range inputs {
		c.Outcomes = append(c.Outcomes, byKey[in.Key])
	}
	return c, nil
}

func describe(f Format) string {
	if f == GoBench {
		return "Go benchmark output"
	}
	return "a perfkit result"
}

// EnvDiff names what differs between two environments among what decides
// speed: CPU model, CPU count, GOMAXPROCS and Go version. Fields unknown on
// either side are not compared.
func EnvDiff(a, b bench.Env) []string {
	var out []string
	if a.CPUModel != "" && b.CPUModel != "" && a.CPUModel != b.CPUModel {
		out = append(out, fmt.Sprintf("cpu_model %q vs %q", a.CPUModel, b.CPUModel))
	}
	if a.NumCPU > 0 && b.NumCPU > 0 && a.NumCPU != b.NumCPU {
		out = append(out, fmt.Sprintf("num_cpu %d vs %d", a.NumCPU, b.NumCPU))
	}
	if a.GOMAXPROCS > 0 && b.GOMAXPROCS > 0 && a.GOMAXPROCS != b.GOMAXPROCS {
		out = append(out, fmt.Sprintf("gomaxprocs %d vs %d", a.GOMAXPROCS, b.GOMAXPROCS))
	}
	if a.GoVersion != "" && b.GoVersion != "" && a.GoVersion != b.GoVersion {
		out = append(out, fmt.Sprintf("go_version %s vs %s", a.GoVersion, b.GoVersion))
	}
	return out
}

// usable splits a scenario's runs into those that enter the samples and the
// invalid ones (which enter too with includeInvalid).
func usable(sc Scenario, includeInvalid bool) (use, invalid []Run) {
	for _, r := range sc.Runs {
		if !r.Valid {
			invalid = append(invalid, r)
			if !includeInvalid {
				continue
			}
		}
		use = append(use, r)
	}
	return use, invalid
}

// complete is the runs of a scenario that ran to their end, invalid ones
// included (all of them with includeInvalid): the error rate's samples.
func complete(sc Scenario, includeInvalid bool) []Run {
	var out []Run
	for _, r := range sc.Runs {
		if includeInvalid || !r.Partial {
			out = append(out, r)
		}
	}
	return out
}

// invalidRuns is the runs the engine marked invalid.
func invalidRuns(sc Scenario) []Run {
	var out []Run
	for _, r := range sc.Runs {
		if r.Invalid {
			out = append(out, r)
		}
	}
	return out
}

// numbers matches the figures of a reason, which differ from run to run.
var numbers = regexp.MustCompile(`[0-9][0-9.]*`)

// runReasons summarizes why runs were invalid (GroupReasons).
func runReasons(runs []Run) []string {
	reasons := make([][]string, len(runs))
	for i, r := range runs {
		reasons[i] = r.Reasons
	}
	return GroupReasons(reasons)
}

// GroupReasons summarizes why runs were invalid, given each run's reasons:
// each kind of reason once (the first run's wording; the figures differ
// from run to run), with how many runs gave it when there are several kinds.
func GroupReasons(runs [][]string) []string {
	var shapes, texts []string
	count := map[string]int{}
	for _, reasons := range runs {
		seen := map[string]bool{}
		for _, why := range reasons {
			sh := numbers.ReplaceAllString(why, "#")
			if seen[sh] {
				continue
			}
			seen[sh] = true
			if count[sh] == 0 {
				shapes, texts = append(shapes, sh), append(texts, why)
			}
			count[sh]++
		}
	}
	for i, sh := range shapes {
		switch {
		case len(shapes) == 1:
		case count[sh] == 1:
			texts[i] += " (1 run)"
		default:
			texts[i] += fmt.Sprintf(" (%d runs)", count[sh])
		}
	}
	return texts
}

// withInvalid puts each scenario's invalid verdict before its metrics.
func withInvalid(outs []stats.Outcome, invalid map[string]stats.Outcome, new *Source) []stats.Outcome {
	if len(invalid) == 0 {
		return outs
	}
	res := make([]stats.Outcome, 0, len(outs)+len(invalid))
	for _, o := range outs {
		if iv, ok := invalid[o.Scenario]; ok {
			res = append(res, iv)
			delete(invalid, o.Scenario)
		}
		res = append(res, o)
	}
	for _, sc := range new.Scenarios { // no metric compared
		if iv, ok := invalid[sc.Name]; ok {
			res = append(res, iv)
		}
	}
	return res
}

func measures(sc Scenario, metric string) bool {
	return slices.ContainsFunc(sc.Runs, func(r Run) bool { _, ok := r.Values[metric]; return ok })
}

func values(runs []Run, metric string) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := r.Values[metric]; ok {
			out = append(out, v)
		}
	}
	return out
}

// unionMetrics lists the old side's metrics, then any only the new one has;
// the new side's declaration (a Go unit's better=) wins.
func unionMetrics(old, new *Source) []Metric {
	out := make([]Metric, 0, len(old.Metrics)+len(new.Metrics))
	for _, m := range old.Metrics {
		if nm, ok := new.metric(m.Name); ok {
			m = nm
		}
		out = append(out, m)
	}
	for _, m := range new.Metrics {
		if _, ok := old.metric(m.Name); !ok {
			out = append(out, m)
		}
	}
	return out
}

// SetupDiff lists, as "key old → new", how two scenarios' Setup differ;
// "" when they do not (a key absent on one side and zero on the other is no
// difference).
func SetupDiff(a, b map[string]string) string {
	if len(a) == 0 || len(b) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diffs []string
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		if va != vb && !(inA != inB && zeroValue(va+vb)) {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, orNone(va), orNone(vb)))
		}
	}
	return strings.Join(diffs, ", ")
}

// zeroValue reports whether a setting's value is its type's zero: a param
// a newer perfkit added (a result written before it has none) is not a
// difference while it is left unset.
func zeroValue(v string) bool {
	switch v {
	case "", "[]", "0", "false", "map[]":
		return true
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// CanonicalMetric maps the spellings a threshold may use to a metric's
// name: "p999" is "p99.9", and Go units are tidied as benchfmt does
// ("ns/op" is "sec/op", "MB/s" is "B/s").
func CanonicalMetric(name string) string {
	if base, label := splitLabel(name); label != "" {
		return bench.LabelCounter(CanonicalMetric(base), label)
	}
	if name == "p999" {
		return P999
	}
	_, tidy := benchunit.Tidy(1, name)
	return tidy
}

// checkRules canonicalizes threshold rules and checks each names a metric
// that exists, and uses percentage points only on a fraction.
func checkRules(rules stats.Thresholds, old, new *Source) (stats.Thresholds, []string, error) {
	known := map[string]Metric{}
	for _, m := range PerfkitMetrics() {
		known[m.Name] = m
	}
	for _, u := range []string{"sec/op", "B/op", "allocs/op", "B/s"} {
		known[u] = Metric{Name: u, Unit: u}
	}
	for _, m := range unionMetrics(old, new) {
		known[m.Name] = m
	}
	var warnings []string
	out := make(stats.Thresholds, 0, len(rules))
	for _, r := range rules {
		orig := r
		r.Metric = CanonicalMetric(r.Metric)
		m, ok := known[r.Metric]
		if !ok {
			m, ok = labelledMetric(r.Metric, old, new)
		}
		if !ok {
			return nil, nil, fmt.Errorf("threshold %s: unknown metric %q (metrics: %s)", orig, orig.Metric, strings.Join(metricNames(old, new), ", "))
		}
		if r.Threshold.Kind == stats.Absolute && m.Unit != "fraction" {
			return nil, nil, fmt.Errorf("threshold %s: percentage points apply to a rate such as error_rate; give %s a percentage (%s=10%%)", orig, orig.Metric, orig.Metric)
		}
		if r.Scenario != "" && old.scenario(r.Scenario) == nil && new.scenario(r.Scenario) == nil {
			warnings = append(warnings, fmt.Sprintf("threshold %s: no scenario %s in this comparison", orig, r.Scenario))
		}
		out = append(out, r)
	}
	return out, warnings, nil
}

func metricNames(old, new *Source) []string {
	var names []string
	for _, m := range unionMetrics(old, new) {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		for _, m := range PerfkitMetrics() {
			names = append(names, m.Name)
		}
	}
	return names
}
