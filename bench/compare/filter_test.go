package compare

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench/stats"
)

func scenarioNames(s *Source) []string {
	var out []string
	for _, sc := range s.Scenarios {
		out = append(out, sc.Name)
	}
	return out
}

func metricNamesOf(s *Source) []string {
	var out []string
	for _, m := range s.Metrics {
		out = append(out, m.Name)
	}
	return out
}

// TestGoBenchFilter: benchstat's filter syntax on names, sub-benchmark
// keys, file keys, units, regexps and negation.
func TestGoBenchFilter(t *testing.T) {
	text := []byte(goBenchRuns(t))
	for _, tc := range []struct {
		query     string
		scenarios []string
		metrics   []string
	}{
		{"", []string{"Floor", "Engine/workers=1", "Engine/workers=2", "EngineMemory/ops=1M", "EngineMemory/ops=20M"}, nil},
		{".name:Engine", []string{"Engine/workers=1", "Engine/workers=2"}, nil},
		{".name:/^Engine/", []string{"Engine/workers=1", "Engine/workers=2", "EngineMemory/ops=1M", "EngineMemory/ops=20M"}, nil},
		{"/workers:2", []string{"Engine/workers=2"}, nil},
		{"-.name:Floor -.name:EngineMemory", []string{"Engine/workers=1", "Engine/workers=2"}, nil},
		{".name:Floor OR /ops:1M", []string{"Floor", "EngineMemory/ops=1M"}, nil},
		{"pkg:github.com/perfkit/perfkit/bench .name:Floor", []string{"Floor"}, nil},
		{".name:Floor .unit:ns/op", []string{"Floor"}, []string{"sec/op"}},
	} {
		src, err := DecodeFiltered(text, "t.txt", mustFilter(t, tc.query))
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		got := scenarioNames(src)
		slices.Sort(got)
		want := slices.Clone(tc.scenarios)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: scenarios %v, want %v", tc.query, got, want)
		}
		if tc.metrics != nil && !slices.Equal(metricNamesOf(src), tc.metrics) {
			t.Errorf("%q: metrics %v, want %v", tc.query, metricNamesOf(src), tc.metrics)
		}
	}
	if _, err := DecodeFiltered(text, "t.txt", mustFilter(t, ".name:Nothing")); err == nil || !strings.Contains(err.Error(), `no benchmark matches --filter ".name:Nothing"`) {
		t.Errorf("no match: %v", err)
	}
	if _, err := ParseFilter(".name:(Floor"); err == nil || !strings.Contains(err.Error(), `--filter ".name:(Floor"`) || !strings.Contains(err.Error(), "accepted: a benchstat filter") {
		t.Errorf("bad filter: %v", err)
	}
}

func mustFilter(t *testing.T, q string) *Filter {
	t.Helper()
	f, err := ParseFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPerfkitFilter: for perfkit results a scenario is .name, its workload
// and model file keys, and each metric a unit.
func TestPerfkitFilter(t *testing.T) {
	s := newSynth(1)
	api, cache := s.scenario("api", 3), s.scenario("cache", 3)
	cache.Workload = "cache"
	src := FromResult(result(testEnv, api, cache), "r.json")
	got, err := FilterSource(src, mustFilter(t, "workload:cache"))
	if err != nil || !slices.Equal(scenarioNames(got), []string{"cache"}) {
		t.Fatalf("workload:cache: %v %v", scenarioNames(got), err)
	}
	got, err = FilterSource(src, mustFilter(t, ".name:api .unit:(p99 OR throughput)"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(scenarioNames(got), []string{"api"}) || !slices.Equal(metricNamesOf(got), []string{Throughput, P99}) {
		t.Errorf("api p99/throughput: %v %v", scenarioNames(got), metricNamesOf(got))
	}
	for _, r := range got.Scenarios[0].Runs {
		if len(r.Values) != 2 {
			t.Errorf("run keeps %v, want throughput and p99 only", r.Values)
		}
	}
	if len(src.Scenarios[0].Runs[0].Values) <= 2 {
		t.Error("filtering changed the source it was given")
	}
	c := mustCompare(t, got, got, Options{})
	if len(c.Outcomes) != 2 {
		t.Errorf("%d outcomes, want 2", len(c.Outcomes))
	}
	if _, err := FilterSource(src, mustFilter(t, ".name:nope")); err == nil {
		t.Error("no match: no error")
	}
}

// TestGoBenchGeomean: Go input gets benchstat's geomean rows; perfkit
// results do not.
func TestGoBenchGeomean(t *testing.T) {
	text := goBenchRuns(t)
	old, _ := Decode([]byte(text), "old.txt")
	new, _ := Decode([]byte(slowDown(text, "Floor", 1.25)), "new.txt")
	c := mustCompare(t, old, new, Options{})
	var g *stats.Geomean
	for i := range c.Geomeans {
		if c.Geomeans[i].Metric == "sec/op" {
			g = &c.Geomeans[i]
		}
	}
	if g == nil {
		t.Fatalf("no sec/op geomean: %+v", c.Geomeans)
	}
	// Floor ×1.25, the other four about unchanged: ≈ 1.25^(1/5).
	if g.N != 5 || math.Abs(g.Delta-(math.Pow(1.25, 0.2)-1)) > 0.02 {
		t.Errorf("sec/op geomean %+v, want N 5 and about %+.1f%%", g, 100*(math.Pow(1.25, 0.2)-1))
	}
	s := newSynth(2)
	p := FromResult(result(testEnv, s.scenario("a", 3), s.scenario("b", 3)), "r.json")
	if c := mustCompare(t, p, p, Options{}); len(c.Geomeans) != 0 {
		t.Errorf("perfkit results got geomeans %+v", c.Geomeans)
	}
}
