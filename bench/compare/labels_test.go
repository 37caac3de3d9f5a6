package compare

import (
	"slices"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// tagged gives the synthetic scenario two labels, login slowed by
// loginLat, and errors counted per label.
func tagged(s *synth, n int, loginLat float64) bench.ScenarioResult {
	sr := s.scenario("api", n)
	sr.Labels = []string{"login", "search"}
	for i := range sr.Runs {
		r := &sr.Runs[i]
		op := r.Latency["op"]
		login, search := op, op
		login.Count, search.Count = op.Count/2, op.Count-op.Count/2
		login.P99Ns = int64(float64(op.P99Ns) * loginLat)
		r.Latency["login"], r.Latency["search"] = login, search
		r.Counters = map[string]int64{"errors{login}": login.Count / 100, "errors{search}": 0}
	}
	return sr
}

// A threshold on p99{login} compares the label's p99; labelled metrics no
// threshold names are not compared.
func TestLabelledMetrics(t *testing.T) {
	oldSrc := FromResult(result(testEnv, tagged(newSynth(1), 10, 1)), "old.json")
	newSrc := FromResult(result(testEnv, tagged(newSynth(2), 10, 1.5)), "new.json")
	var names []string
	for _, m := range oldSrc.Labelled {
		names = append(names, m.Name)
	}
	for _, want := range []string{"p99{login}", "p99.9{search}", "throughput{login}", "error_rate{login}"} {
		if !slices.Contains(names, want) {
			t.Errorf("labelled metrics %v: no %s", names, want)
		}
	}
	c := mustCompare(t, oldSrc, newSrc, Options{})
	for _, o := range c.Outcomes {
		if _, label := splitLabel(o.Metric); label != "" {
			t.Errorf("no threshold names it, yet %s was compared", o.Metric)
		}
	}
	rule, err := stats.ParseRule("api:p99{login}=10%")
	if err != nil {
		t.Fatal(err)
	}
	c = mustCompare(t, oldSrc, newSrc, Options{Thresholds: stats.Thresholds{rule}})
	if o := outcome(t, c, "api", "p99{login}"); o.Verdict != stats.Regressed {
		t.Errorf("p99{login} 1.5× slower: %s", o.Verdict)
	}
	if o := outcome(t, c, "api", "p99"); o.Verdict == stats.Regressed {
		t.Errorf("p99 of all ops: %s, want not regressed", o.Verdict)
	}
	rule, _ = stats.ParseRule("api:p99{home}=10%")
	if _, err := Compare(oldSrc, newSrc, Options{Thresholds: stats.Thresholds{rule}}); err == nil {
		t.Error("threshold on a label neither side has: no error")
	}
}

// A param a newer perfkit added, left unset, is no setup difference
// against a result written before it; set, it is one.
func TestNewParamUnsetIsNoSetupDifference(t *testing.T) {
	s := newSynth(1)
	a, b := s.scenario("api", 5), s.scenario("api", 5)
	b.Params = map[string]any{"url": "http://127.0.0.1/", "check-json": []string{}, "check-status": "", "check-max-body-bytes": 0}
	c := mustCompare(t, FromResult(result(testEnv, a), "old"), FromResult(result(testEnv, b), "new"), Options{})
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q, want none", c.Warnings)
	}
	b.Params["check-json"] = []string{"ok == true"}
	c = mustCompare(t, FromResult(result(testEnv, a), "old"), FromResult(result(testEnv, b), "new"), Options{})
	if !slices.Contains(c.Warnings, "scenario api: set up differently (old → new): params.check-json (none) → [ok == true]") {
		t.Errorf("warnings %q", c.Warnings)
	}
}
