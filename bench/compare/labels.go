package compare

import (
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// Labelled metrics: a workload's labels (cache hits and misses, fetch's
// tagged targets) each have their own latency percentiles, throughput and,
// when the workload counts them (bench.ErrorsCounter), error rate, named
// METRIC{LABEL}: p99{login}. They are compared only when a threshold names
// one (--threshold api:p99{login}=10%): compared by default, every label
// would add tests to the gate's Holm family and weaken the test of the
// metrics that cover every op.

// labelledValues adds a run's per-label values to values, and returns the
// metrics it added values for.
func labelledValues(sr *bench.ScenarioResult, run *bench.RunResult, values map[string]float64) []Metric {
	var out []Metric
	add := func(base Metric, label string, v float64) {
		base.Name = bench.LabelCounter(base.Name, label)
		values[base.Name] = v
		out = append(out, base)
	}
	byName := map[string]Metric{}
	for _, m := range PerfkitMetrics() {
		byName[m.Name] = m
	}
	for _, l := range sr.Labels {
		ls, ok := run.Latency[l]
		if l == primaryLabel || !ok || ls.Count == 0 {
			continue
		}
		add(byName[P50], l, float64(ls.P50Ns))
		add(byName[P90], l, float64(ls.P90Ns))
		add(byName[P99], l, float64(ls.P99Ns))
		add(byName[P999], l, float64(ls.P999Ns))
		if run.ElapsedNs > 0 {
			add(byName[Throughput], l, float64(ls.Count)/(float64(run.ElapsedNs)/1e9))
		}
		if n, ok := run.Counters[bench.LabelCounter(bench.ErrorsCounter, l)]; ok {
			add(byName[ErrorRate], l, float64(n)/float64(ls.Count))
		}
	}
	return out
}

// splitLabel splits METRIC{LABEL} ("" label when there is none).
func splitLabel(name string) (metric, label string) {
	if i := strings.IndexByte(name, '{'); i > 0 && strings.HasSuffix(name, "}") {
		return name[:i], name[i+1 : len(name)-1]
	}
	return name, ""
}

// labelledMetric returns the labelled metric name names on either side.
func labelledMetric(name string, old, new *Source) (Metric, bool) {
	for _, s := range []*Source{new, old} {
		for _, m := range s.Labelled {
			if m.Name == name {
				return m, true
			}
		}
	}
	return Metric{}, false
}

// namedLabelled lists the labelled metrics the rules name, once each.
func namedLabelled(rules stats.Thresholds, old, new *Source) []Metric {
	var out []Metric
	seen := map[string]bool{}
	for _, r := range rules {
		if m, ok := labelledMetric(r.Metric, old, new); ok && !seen[m.Name] {
			seen[m.Name] = true
			out = append(out, m)
		}
	}
	return out
}
