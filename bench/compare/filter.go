package compare

import (
	"fmt"
	"slices"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
)

// Filter keeps the benchmarks (and units) a benchstat filter expression
// matches: `perfkit compare --filter '.name:Encode /size:1k'`. The syntax is
// benchstat's own (golang.org/x/perf/benchproc/syntax): .name, .fullname,
// /KEY (a sub-benchmark's name key), file keys (pkg, goos...), .unit,
// regexps (.name:/^Enc/), AND, OR, -x, parentheses.
//
// For perfkit results a scenario is a benchmark named after it, with the
// file keys workload, model and target, and each metric is a unit:
// '.name:api .unit:(p99 OR throughput)'.
type Filter struct {
	query string
	f     *benchproc.Filter
}

// FilterSyntax says what --filter accepts, for errors.
const FilterSyntax = "accepted: a benchstat filter such as .name:Encode, .name:/^Enc/, /size:1k, pkg:example.com/x, .unit:sec/op, -.name:Decode, combined with AND, OR and parentheses (go doc golang.org/x/perf/benchproc/syntax)"

// ParseFilter compiles query; "" and "*" keep everything (nil Filter).
func ParseFilter(query string) (*Filter, error) {
	if query == "" || query == "*" {
		return nil, nil
	}
	f, err := benchproc.NewFilter(query)
	if err != nil {
		return nil, fmt.Errorf("--filter %q: %v; %s", query, err, FilterSyntax)
	}
	return &Filter{query: query, f: f}, nil
}

// String is the filter's query.
func (f *Filter) String() string {
	if f == nil {
		return "*"
	}
	return f.query
}

// apply keeps rec's matching values; false when none match.
func (f *Filter) apply(rec *benchfmt.Result) bool {
	if f == nil {
		return true
	}
	ok, _ := f.f.Apply(rec)
	return ok
}

// FilterSource returns src with only the scenarios and metrics f keeps: a
// perfkit result read through FromResult (a baseline), or a source Decode
// read (filtered again, which keeps what it kept). A Go benchmark source
// is filtered as Decode reads it (DecodeFiltered), where its file keys are
// known; here its scenarios are matched by name and unit only.
func FilterSource(src *Source, f *Filter) (*Source, error) {
	if f == nil {
		return src, nil
	}
	out := *src
	out.Scenarios = nil
	metrics := map[string]bool{}
	for _, sc := range src.Scenarios {
		rec := &benchfmt.Result{Name: benchfmt.Name(sc.Name)}
		for _, k := range []string{"workload", "model"} {
			if v, ok := sc.Setup[k]; ok {
				rec.SetConfig(k, v)
			}
		}
		if sc.Target != "" {
			rec.SetConfig("target", sc.Target)
		}
		for _, m := range src.Metrics {
			if measures(sc, m.Name) {
				rec.Values = append(rec.Values, benchfmt.Value{Value: 1, Unit: m.Name})
			}
		}
		if !f.apply(rec) {
			continue
		}
		keep := map[string]bool{}
		for _, v := range rec.Values {
			keep[v.Unit] = true
			metrics[v.Unit] = true
		}
		sc.Runs = slices.Clone(sc.Runs)
		for i := range sc.Runs {
			vals := map[string]float64{}
			for k, v := range sc.Runs[i].Values {
				if keep[k] {
					vals[k] = v
				}
			}
			sc.Runs[i].Values = vals
		}
		out.Scenarios = append(out.Scenarios, sc)
	}
	if len(out.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: no scenario or benchmark matches --filter %q", src.Label, f.query)
	}
	out.Metrics = slices.DeleteFunc(slices.Clone(src.Metrics), func(m Metric) bool { return !metrics[m.Name] })
	return &out, nil
}
