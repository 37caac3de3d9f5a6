package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// synth makes perfkit runs whose metrics scale by the factors given
// (latency, throughput), with lognormal run-to-run noise.
type synth struct {
	rng     *rand.Rand
	latency float64 // multiplies every percentile
	tput    float64 // multiplies throughput
}

func newSynth(seed uint64) *synth {
	return &synth{rng: rand.New(rand.NewPCG(seed, 1)), latency: 1, tput: 1}
}

func (s *synth) noise() float64 { return math.Exp(0.02 * s.rng.NormFloat64()) }

func (s *synth) run(i int) bench.RunResult {
	ops := int64(400_000 * s.tput * s.noise())
	lat := func(us float64) int64 { return int64(us * 1000 * s.latency * s.noise()) }
	return bench.RunResult{
		Index: i, ElapsedNs: int64(10 * time.Second), Ops: ops, Throughput: float64(ops) / 10,
		Valid: true, InvalidReasons: []string{},
		Latency: map[string]bench.LatencySummary{"op": {
			Count: ops, P50Ns: lat(180), P90Ns: lat(240), P99Ns: lat(450), P999Ns: lat(1000), MaxNs: lat(3000),
		}},
		Resources: bench.Resources{CPUUserS: 3 * s.latency * s.noise(), CPUSysS: 1, AllocBytes: uint64(ops) * 64},
	}
}

func (s *synth) scenario(name string, n int) bench.ScenarioResult {
	sr := bench.ScenarioResult{Name: name, Workload: "fetch", Model: bench.ModelClosed, Settings: bench.DefaultSettings(),
		Params: map[string]any{"url": "http://127.0.0.1/"}}
	for i := range n {
		sr.Runs = append(sr.Runs, s.run(i))
	}
	return sr
}

func result(env bench.Env, scenarios ...bench.ScenarioResult) *bench.Result {
	return &bench.Result{SchemaVersion: bench.SchemaVersion, ID: "0123456789abcdef", Env: env, Scenarios: scenarios}
}

var testEnv = bench.Env{GoVersion: "go1.26.8", CPUModel: "AMD EPYC", NumCPU: 2, GOMAXPROCS: 2}

func outcome(t *testing.T, c stats.Comparison, scenario, metric string) stats.Outcome {
	t.Helper()
	for _, o := range c.Outcomes {
		if o.Scenario == scenario && o.Metric == metric {
			return o
		}
	}
	t.Fatalf("no outcome for %s %s", scenario, metric)
	return stats.Outcome{}
}

func mustCompare(t *testing.T, old, new *Source, opts Options) stats.Comparison {
	t.Helper()
	c, err := Compare(old, new, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPerfkitMetricsExtracted(t *testing.T) {
	s := newSynth(1)
	src := FromResult(result(testEnv, s.scenario("api", 3)), "r.json")
	var names []string
	for _, m := range src.Metrics {
		names = append(names, m.Name)
	}
	want := []string{"throughput", "p50", "p90", "p99", "p99.9", "error_rate", "cpu_per_op", "alloc_per_op"}
	if !slices.Equal(names, want) {
		t.Errorf("metrics %v, want %v", names, want)
	}
	r := src.Scenarios[0].Runs[0]
	run := s.run(0) // the shape, not the values
	_ = run
	if got := r.Values[AllocPerOp]; got != 64 {
		t.Errorf("alloc_per_op = %v, want 64", got)
	}
	if got := r.Values[CPUPerOp]; !(got > 0) || math.IsInf(got, 0) {
		t.Errorf("cpu_per_op = %v", got)
	}
	// A run without resources or ops has neither per-op metric.
	bare := result(testEnv, bench.ScenarioResult{Name: "x", Runs: []bench.RunResult{{Valid: true}}})
	if v := FromResult(bare, "b").Scenarios[0].Runs[0].Values; len(v) != 2 {
		t.Errorf("bare run values %v, want throughput and error_rate only", v)
	}
}

func TestSlowerFlagged(t *testing.T) {
	old := newSynth(1)
	slow := newSynth(2)
	slow.latency, slow.tput = 1.3, 1/1.3
	c := mustCompare(t,
		FromResult(result(testEnv, old.scenario("api", 10)), "old.json"),
		FromResult(result(testEnv, slow.scenario("api", 10)), "new.json"), Options{})
	for _, m := range []string{"throughput", "p50", "p90", "p99", "p99.9"} {
		if o := outcome(t, c, "api", m); o.Verdict != stats.Regressed {
			t.Errorf("%s: %s (delta %+.1f%%), want regressed", m, o.Verdict, 100*o.Delta.Estimate)
		}
	}
	// The synthetic fetch has a url: its target is external, so perfkit's
	// own CPU per op is shown, found regressed, and does not gate.
	if o := outcome(t, c, "api", "cpu_per_op"); o.Verdict != stats.Info || o.Finding != stats.Regressed || !o.Own {
		t.Errorf("cpu_per_op: %s finding %s own %v, want info, regressed, own", o.Verdict, o.Finding, o.Own)
	}
	if o := outcome(t, c, "api", "error_rate"); o.Verdict != stats.Unchanged || o.Tested {
		t.Errorf("error_rate all zero: %s tested %v", o.Verdict, o.Tested)
	}
	if c.Old != "old.json" || c.New != "new.json" || len(c.Warnings) != 0 {
		t.Errorf("labels %q %q, warnings %q", c.Old, c.New, c.Warnings)
	}
}

func TestAANotFlagged(t *testing.T) {
	for seed := range uint64(20) {
		a, b := newSynth(2*seed), newSynth(2*seed+1)
		c := mustCompare(t,
			FromResult(result(testEnv, a.scenario("api", 10), a.scenario("web", 10)), "a"),
			FromResult(result(testEnv, b.scenario("api", 10), b.scenario("web", 10)), "b"), Options{})
		if n := c.Count(stats.Regressed) + c.Count(stats.Improved); n > 0 {
			t.Errorf("seed %d: A/A flagged %d metrics: %s", seed, n, c.Summary())
		}
	}
}

func TestThresholdRules(t *testing.T) {
	old, slow := newSynth(1), newSynth(2)
	slow.latency = 1.3
	o := FromResult(result(testEnv, old.scenario("api", 10), old.scenario("web", 10)), "old")
	n := FromResult(result(testEnv, slow.scenario("api", 10), slow.scenario("web", 10)), "new")
	rules := stats.Thresholds{
		{Metric: "p99", Threshold: stats.Percent(50)},                   // every scenario: +30% is within
		{Scenario: "web", Metric: "p999", Threshold: stats.Percent(40)}, // the result file's spelling
	}
	c := mustCompare(t, o, n, Options{Thresholds: rules})
	if v := outcome(t, c, "api", "p99"); v.Verdict != stats.Unchanged || v.Threshold != stats.Percent(50) {
		t.Errorf("api p99 with 50%%: %s, threshold %v", v.Verdict, v.Threshold)
	}
	if v := outcome(t, c, "web", "p99.9"); v.Threshold != stats.Percent(40) || v.Verdict != stats.Unchanged {
		t.Errorf("web p99.9: %s threshold %v, want 40%% from the p999 rule", v.Verdict, v.Threshold)
	}
	if v := outcome(t, c, "api", "p99.9"); v.Threshold != stats.Percent(20) || v.Verdict != stats.Regressed {
		t.Errorf("api p99.9: %s threshold %v, want the 20%% default", v.Verdict, v.Threshold)
	}

	for _, tc := range []struct {
		rule string
		want string
	}{
		{"p98=5%", `unknown metric "p98" (metrics: throughput, p50`},
		{"p99=+0.5pp", "percentage points apply to a rate such as error_rate"},
	} {
		r, err := stats.ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compare(o, n, Options{Thresholds: stats.Thresholds{r}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "threshold "+tc.rule) {
			t.Errorf("%s: error %v, want %q", tc.rule, err, tc.want)
		}
	}
	r, _ := stats.ParseRule("nosuch:p99=5%")
	c = mustCompare(t, o, n, Options{Thresholds: stats.Thresholds{r}})
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "no scenario nosuch") }) {
		t.Errorf("warnings %q do not mention the unknown scenario", c.Warnings)
	}
}

func TestInvalidRunsLeftOut(t *testing.T) {
	old, slow := newSynth(1), newSynth(2)
	slow.latency = 1.5
	os, ns := old.scenario("api", 10), slow.scenario("api", 10)
	// Every new run but one is invalid: what is left cannot decide.
	for i := 1; i < len(ns.Runs); i++ {
		ns.Runs[i].Valid = false
		ns.Runs[i].InvalidReasons = []string{"achieved rate 1.87k/s under 99% of target 2.00k/s"}
	}
	o := FromResult(result(testEnv, os), "old")
	n := FromResult(result(testEnv, ns), "new")
	c := mustCompare(t, o, n, Options{})
	if v := outcome(t, c, "api", "p99"); v.Verdict != stats.Inconclusive || v.New.N != 1 {
		t.Errorf("p99 with 1 valid new run: %s n=%d", v.Verdict, v.New.N)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q: the invalid verdict names the new runs left out", c.Warnings)
	}
	if v := outcome(t, c, "api", stats.RunsMetric); v.Verdict != stats.Invalid || v.InvalidRuns != 9 || v.Runs != 10 ||
		v.Reason != "9 of 10 new runs invalid: achieved rate 1.87k/s under 99% of target 2.00k/s" || c.Outcomes[0].Key != v.Key {
		t.Errorf("invalid verdict: %+v (first outcome %s)", v, c.Outcomes[0].Key)
	}
	c = mustCompare(t, o, n, Options{IncludeInvalid: true})
	if v := outcome(t, c, "api", "p99"); v.Verdict != stats.Regressed || v.New.N != 10 {
		t.Errorf("p99 with invalid runs included: %s n=%d", v.Verdict, v.New.N)
	}
	if !strings.Contains(c.Warnings[0], "kept (--include-invalid)") {
		t.Errorf("warnings %q", c.Warnings)
	}

	// No valid run at all on a side: inconclusive, saying why.
	ns.Runs[0].Valid = false
	c = mustCompare(t, o, FromResult(result(testEnv, ns), "new"), Options{})
	v := outcome(t, c, "api", "p50")
	if v.Verdict != stats.Inconclusive || v.NeedRuns != 0 || v.Reason != "no valid runs in new (10 invalid)" {
		t.Errorf("no valid new runs: %s need %d reason %q", v.Verdict, v.NeedRuns, v.Reason)
	}
}

// Issue 10: a new build whose runs fail half their requests passed the
// gate: every run over the error bound was left out, every metric became
// inconclusive. The error rate is compared over every run, so it regresses,
// and the scenario's runs are an invalid verdict of their own.
func TestErroredNewRunsRegressAndAreInvalid(t *testing.T) {
	ok, bad := newSynth(1), newSynth(2)
	os, ns := ok.scenario("fetch", 10), bad.scenario("fetch", 10)
	for i := range ns.Runs {
		r := &ns.Runs[i]
		r.Errors = r.Ops / 2
		r.ErrorRate = 0.5 + 0.001*float64(i)
		r.Valid = false
		r.InvalidReasons = []string{fmt.Sprintf("error rate %.2f%% is over the bound 1.00%%", 100*r.ErrorRate)}
	}
	c := mustCompare(t, FromResult(result(testEnv, os), "ok.json"), FromResult(result(testEnv, ns), "bad.json"), Options{})
	if v := outcome(t, c, "fetch", ErrorRate); v.Verdict != stats.Regressed || v.New.N != 10 || v.Old.N != 10 {
		t.Errorf("error_rate 0%% → 50%%: %s (n=%d+%d, %s), want regressed over every run", v.Verdict, v.Old.N, v.New.N, v.Reason)
	}
	v := outcome(t, c, "fetch", stats.RunsMetric)
	if v.Verdict != stats.Invalid || v.Reason != "10 of 10 new runs invalid: error rate 50.00% is over the bound 1.00%" {
		t.Errorf("runs: %s %q, want invalid with the reason", v.Verdict, v.Reason)
	}
	if p := outcome(t, c, "fetch", P99); p.Verdict != stats.Inconclusive || p.Reason != "no valid runs in new (10 invalid)" {
		t.Errorf("p99: %s %q", p.Verdict, p.Reason)
	}
	if c.Count(stats.Invalid) != 1 || !strings.Contains(c.Summary(), "1 regression") || !strings.Contains(c.Summary(), "1 invalid") {
		t.Errorf("summary %q", c.Summary())
	}
	// A scenario added by the change that is broken shows too.
	extra := bad.scenario("new-fetch", 3)
	extra.Runs[1].Valid = false
	extra.Runs[1].InvalidReasons = []string{"no ops measured"}
	c = mustCompare(t, FromResult(result(testEnv, os), "ok.json"), FromResult(result(testEnv, ns, extra), "bad.json"), Options{})
	if v := c.Outcomes[len(c.Outcomes)-1]; v.Scenario != "new-fetch" || v.Verdict != stats.Invalid || v.Reason != "1 of 3 new runs invalid: no ops measured" {
		t.Errorf("added scenario with an invalid run: %+v", v)
	}
	// A broken baseline is not the change's fault: no invalid verdict, its
	// metrics inconclusive, saying why.
	c = mustCompare(t, FromResult(result(testEnv, ns), "bad.json"), FromResult(result(testEnv, os), "ok.json"), Options{})
	if c.Count(stats.Invalid) != 0 {
		t.Errorf("invalid old runs gave an invalid verdict: %s", c.Summary())
	}
	if p := outcome(t, c, "fetch", P99); p.Verdict != stats.Inconclusive || p.Reason != "no valid runs in old (10 invalid)" {
		t.Errorf("p99 against a broken baseline: %s %q", p.Verdict, p.Reason)
	}
}

func TestInvalidReasonsGrouped(t *testing.T) {
	runs := []Run{
		{Invalid: true, Reasons: []string{"error rate 50.10% is over the bound 1.00%"}},
		{Invalid: true, Reasons: []string{"error rate 49.70% is over the bound 1.00%", "schedule lag: 12 ops (1.2%) started over 1ms late"}},
	}
	got := runReasons(runs)
	want := []string{"error rate 50.10% is over the bound 1.00% (2 runs)", "schedule lag: 12 ops (1.2%) started over 1ms late (1 run)"}
	if !slices.Equal(got, want) {
		t.Errorf("runReasons = %q, want %q", got, want)
	}
}

func TestScenariosAddedRemoved(t *testing.T) {
	s := newSynth(1)
	o := FromResult(result(testEnv, s.scenario("api", 5), s.scenario("old-only", 5)), "old")
	empty := s.scenario("stopped", 0)
	n := FromResult(result(testEnv, s.scenario("api", 5), s.scenario("new-only", 5), empty), "new")
	c := mustCompare(t, o, n, Options{})
	if !slices.Equal(c.Added, []string{"new-only", "stopped"}) || !slices.Equal(c.Removed, []string{"old-only"}) {
		t.Errorf("added %q removed %q", c.Added, c.Removed)
	}
	for _, out := range c.Outcomes {
		if out.Scenario != "api" {
			t.Errorf("outcome for %s", out.Scenario)
		}
	}
	// A scenario with no runs on one side is inconclusive, not an error.
	o2 := FromResult(result(testEnv, s.scenario("api", 5), s.scenario("stopped", 5)), "old")
	c = mustCompare(t, o2, n, Options{})
	if v := outcome(t, c, "stopped", "p99"); v.Verdict != stats.Inconclusive || v.Reason != "no runs in new" {
		t.Errorf("stopped: %s %q", v.Verdict, v.Reason)
	}
}

func TestEnvironmentCheck(t *testing.T) {
	s := newSynth(1)
	other := testEnv
	other.NumCPU, other.GoVersion, other.Hostname = 8, "go1.25.0", "elsewhere"
	o := FromResult(result(testEnv, s.scenario("api", 5)), "old")
	n := FromResult(result(other, s.scenario("api", 5)), "new")
	c := mustCompare(t, o, n, Options{})
	want := "environments differ (old vs new): num_cpu 2 vs 8; go_version go1.26.8 vs go1.25.0"
	if !slices.Contains(c.Warnings, want) {
		t.Errorf("warnings %q, want %q", c.Warnings, want)
	}
	_, err := Compare(o, n, Options{StrictEnv: true})
	var ee *EnvError
	if !errors.As(err, &ee) || err.Error() != want {
		t.Errorf("strict: %v", err)
	}
	// Unknown fields are not differences.
	if d := EnvDiff(bench.Env{}, testEnv); len(d) != 0 {
		t.Errorf("diff against an empty env: %q", d)
	}
}

func TestSetupDifferenceWarned(t *testing.T) {
	s := newSynth(1)
	a, b := s.scenario("api", 5), s.scenario("api", 5)
	b.Settings.Concurrency = 64
	c := mustCompare(t, FromResult(result(testEnv, a), "old"), FromResult(result(testEnv, b), "new"), Options{})
	if !slices.Contains(c.Warnings, "scenario api: set up differently (old → new): concurrency 8 → 64") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestSideWithoutRunsIsAnError(t *testing.T) {
	s := newSynth(1)
	o := FromResult(result(testEnv, s.scenario("api", 5)), "old.json")
	n := FromResult(result(testEnv, s.scenario("api", 0)), "new.json")
	_, err := Compare(o, n, Options{})
	if err == nil || err.Error() != "new.json has no runs to compare" {
		t.Errorf("error %v", err)
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	valid, err := json.Marshal(result(testEnv, newSynth(1).scenario("api", 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content string
		want          *regexp.Regexp
	}{
		{"empty", "", regexp.MustCompile(`^\S+/empty: empty file: expected a perfkit result or .go test -bench. output$`)},
		{"blank", " \n\t\n", regexp.MustCompile(`/blank: empty file`)},
		{"truncated", string(valid[:len(valid)/2]), regexp.MustCompile(`/truncated: not a perfkit result: .*unexpected end of JSON input`)},
		{"not a result", `{"name": "x", "runs": []}`, regexp.MustCompile(`/not a result: not a perfkit result: no schema_version$`)},
		{"schema", `{"schema_version": 2, "scenarios": []}`, regexp.MustCompile(`/schema: schema_version 2 is not supported \(this perfkit reads 1\)$`)},
		{"json NaN", strings.Replace(string(valid), `"throughput":`, `"throughput": NaN, "x":`, 1), regexp.MustCompile(`/json NaN: not a perfkit result: line 1: invalid character 'N'`)},
		{"json huge", strings.Replace(string(valid), `"throughput":`, `"throughput": 1e999, "x":`, 1), regexp.MustCompile(`/json huge: malformed result: .*1e999`)},
		{"text", "hello\nworld\n", regexp.MustCompile(`/text: no benchmark results: expected a perfkit result \(JSON\) or .go test -bench. output`)},
		{"syntax", "goos: linux\nBenchmarkX-8   100   abc ns/op\n", regexp.MustCompile(`/syntax:2: parsing measurement: invalid syntax$`)},
		{"no units", "BenchmarkX-8 100 12\n", regexp.MustCompile(`/no units:1: missing units$`)},
		{"nan", "BenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 NaN ns/op\n", regexp.MustCompile(`/nan:2: BenchmarkX-8: NaN ns/op: value is not a finite number$`)},
		{"inf", "BenchmarkX-8 100 +Inf ns/op\n", regexp.MustCompile(`/inf:1: BenchmarkX-8: \+Inf ns/op: value is not a finite number$`)},
		{"unit meta", "Unit ns/op better\nBenchmarkX-8 100 1 ns/op\n", regexp.MustCompile(`/unit meta:1: expected key=value$`)},
	} {
		_, err := Load(writeTemp(t, tc.name, tc.content))
		if err == nil || !tc.want.MatchString(err.Error()) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want match of %s", tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestFormatsMustMatch(t *testing.T) {
	g, err := Load("testdata/gobench_old.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := FromResult(result(testEnv, newSynth(1).scenario("api", 3)), "r.json")
	_, err = Compare(p, g, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot compare r.json (a perfkit result) with testdata/gobench_old.txt (Go benchmark output)") {
		t.Errorf("error %v", err)
	}
}

// The checked-in file is real `go test -run '^$' -bench . -benchmem
// -count 5 ./bench` output.
func TestGoBenchReal(t *testing.T) {
	src, err := Load("testdata/gobench_old.txt")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range src.Scenarios {
		names = append(names, s.Name+"×"+strconv.Itoa(len(s.Runs)))
	}
	want := []string{"Floor×5", "Engine/workers=1×5", "Engine/workers=2×5", "EngineMemory/ops=1M×5", "EngineMemory/ops=20M×5"}
	if !slices.Equal(names, want) {
		t.Errorf("scenarios %v, want %v", names, want)
	}
	var units []string
	for _, m := range src.Metrics {
		units = append(units, m.Name+":"+m.Better.String())
	}
	if want := []string{"sec/op:lower", "B/op:lower", "allocs/op:lower", "peak-rss-MiB:lower"}; !slices.Equal(units, want) {
		t.Errorf("metrics %v, want %v", units, want)
	}
	if src.Env.CPUModel != "AMD EPYC" || src.Env.GOMAXPROCS != 2 || src.Env.OS != "linux" {
		t.Errorf("env %+v", src.Env)
	}
	if len(src.Warnings) != 1 || !strings.Contains(src.Warnings[0], `unit peak-rss-MiB: lower is better is assumed; say so with a line "Unit peak-rss-MiB better=lower"`) {
		t.Errorf("warnings %q", src.Warnings)
	}
	if got := src.Scenarios[0].Runs[0].Values["sec/op"]; math.Abs(got-27.50e-9) > 1e-15 {
		t.Errorf("first Floor sec/op = %v, want 27.50ns", got)
	}
	if w := src.Scenarios[0].Runs[0].Where; w != "testdata/gobench_old.txt:5" {
		t.Errorf("where %q", w)
	}
}

// goBenchRuns is both real outputs together: 10 runs per benchmark.
func goBenchRuns(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range []string{"testdata/gobench_old.txt", "testdata/gobench_new.txt"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// slowDown multiplies the ns/op of benchmark name by f.
func slowDown(text, name string, f float64) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 3 && strings.HasPrefix(fields[0], "Benchmark"+name+"-") && fields[3] == "ns/op" {
			v, _ := strconv.ParseFloat(fields[2], 64)
			line = strings.Replace(line, fields[2], strconv.FormatFloat(v*f, 'f', 2, 64), 1)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestGoBenchSlowdownFlagged(t *testing.T) {
	text := goBenchRuns(t)
	old, err := Decode([]byte(text), "old.txt")
	if err != nil {
		t.Fatal(err)
	}
	new, err := Decode([]byte(slowDown(text, "Floor", 1.25)), "new.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := mustCompare(t, old, new, Options{})
	for _, o := range c.Outcomes {
		want := stats.Unchanged
		if o.Scenario == "Floor" && o.Metric == "sec/op" {
			want = stats.Regressed
		}
		if o.Verdict != want {
			t.Errorf("%s %s: %s (delta %+.1f%%, p %.4f), want %s", o.Scenario, o.Metric, o.Verdict, 100*o.Delta.Estimate, o.P, want)
		}
	}
	// ns/op is sec/op to a threshold.
	r, _ := stats.ParseRule("Floor:ns/op=30%")
	c = mustCompare(t, old, new, Options{Thresholds: stats.Thresholds{r}})
	if o := outcome(t, c, "Floor", "sec/op"); o.Verdict != stats.Unchanged {
		t.Errorf("Floor sec/op with a 30%% threshold: %s", o.Verdict)
	}
}

func TestGoBenchNames(t *testing.T) {
	text := `pkg: example.com/a
BenchmarkX-4 10 5 ns/op
BenchmarkOnlyA-4 10 5 ns/op
pkg: example.com/b
BenchmarkX-4 10 6 ns/op
`
	src, err := Decode([]byte(text), "t")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range src.Scenarios {
		names = append(names, s.Name)
	}
	if want := []string{"a.X", "OnlyA", "b.X"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	// Several GOMAXPROCS (-cpu 1,2): the suffix stays, or runs would mix.
	src, err = Decode([]byte("BenchmarkX-1 10 5 ns/op\nBenchmarkX-2 10 3 ns/op\nBenchmarkY 10 3 ns/op\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, s := range src.Scenarios {
		names = append(names, s.Name)
	}
	if want := []string{"X-1", "X-2", "Y"}; !slices.Equal(names, want) || src.Env.GOMAXPROCS != 0 {
		t.Errorf("names %v gomaxprocs %d", names, src.Env.GOMAXPROCS)
	}
	// better= metadata sets the direction of a custom unit.
	src, err = Decode([]byte("Unit hits/op better=higher\nBenchmarkX-1 10 5 ns/op 3 hits/op 7 MB/s\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range src.Metrics {
		want := map[string]stats.Direction{"sec/op": stats.LowerIsBetter, "hits/op": stats.HigherIsBetter, "B/s": stats.HigherIsBetter}[m.Name]
		if m.Better != want {
			t.Errorf("%s: better %s, want %s", m.Name, m.Better, want)
		}
	}
	if len(src.Warnings) != 0 {
		t.Errorf("warnings %q", src.Warnings)
	}
}

// ownSide is a side of a comparison whose runs use 4s of CPU and allocate
// 64 B per op, times cpu and alloc, with run-to-run noise in everything.
func ownSide(seed uint64, target string, cpu, alloc float64) *Source {
	s := newSynth(seed)
	sr := s.scenario("api", 10)
	sr.Target = target
	for i := range sr.Runs {
		r := &sr.Runs[i].Resources
		r.CPUUserS *= cpu
		r.CPUSysS *= cpu
		r.AllocBytes = uint64(float64(r.AllocBytes) * alloc * s.noise())
	}
	return FromResult(result(testEnv, sr), "side")
}

// Perfkit's CPU and allocations per op are its own costs: against an
// external target they are the load generator's, shown but not gating; for
// an in-process target they are the system under test's, and gate.
func TestOwnMetricsGateOnlyInProcess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string
		gate   bool
		want   stats.Verdict
	}{
		{"external", bench.TargetExternal, false, stats.Info},
		{"in-process", bench.TargetInProcess, false, stats.Regressed},
		{"external, --gate-own-metrics", bench.TargetExternal, true, stats.Regressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompare(t, ownSide(1, tc.target, 1, 1), ownSide(2, tc.target, 1.6, 9), Options{GateOwnMetrics: tc.gate})
			for _, m := range []string{CPUPerOp, AllocPerOp} {
				o := outcome(t, c, "api", m)
				if o.Verdict != tc.want || !o.Own {
					t.Errorf("%s: %s own %v, want %s, own", m, o.Verdict, o.Own, tc.want)
				}
				if tc.want == stats.Info && (o.Finding != stats.Regressed || o.InfoReason != "external target") {
					t.Errorf("%s: finding %q reason %q, want regressed, external target", m, o.Finding, o.InfoReason)
				}
			}
			if o := outcome(t, c, "api", P99); o.Own || o.Verdict == stats.Info {
				t.Errorf("p99: own %v verdict %s: only CPU and allocations per op are perfkit's own", o.Own, o.Verdict)
			}
			wantRegressed, wantInfo := 2, 0
			if tc.want == stats.Info {
				wantRegressed, wantInfo = 0, 2
			}
			if c.Count(stats.Regressed) != wantRegressed || c.Count(stats.Info) != wantInfo || c.InfoFamily != wantInfo {
				t.Errorf("%s; info family %d", c.Summary(), c.InfoFamily)
			}
		})
	}
}

// Info outcomes are corrected among themselves: the gating metrics' Holm
// family, and so their adjusted p-values, are those of a comparison without
// the own metrics at all.
func TestOwnMetricsSeparateFamily(t *testing.T) {
	c := mustCompare(t, ownSide(1, bench.TargetExternal, 1, 1), ownSide(2, bench.TargetExternal, 1.6, 9), Options{})
	strip := func(src *Source) *Source {
		for i := range src.Scenarios {
			for _, r := range src.Scenarios[i].Runs {
				delete(r.Values, CPUPerOp)
				delete(r.Values, AllocPerOp)
			}
		}
		return src
	}
	bare := mustCompare(t, strip(ownSide(1, bench.TargetExternal, 1, 1)), strip(ownSide(2, bench.TargetExternal, 1.6, 9)), Options{})
	if c.Family != bare.Family {
		t.Errorf("gating family %d, want %d (the own metrics counted in it)", c.Family, bare.Family)
	}
	for _, b := range bare.Outcomes {
		if o := outcome(t, c, b.Scenario, b.Metric); o.PAdjusted != b.PAdjusted {
			t.Errorf("%s: adjusted p %v, want %v", b.Key, o.PAdjusted, b.PAdjusted)
		}
	}
}

// Either side's external target makes the own metrics informational: a
// scenario moved from the embedded server to a real service is not gated
// on what the move did to perfkit's per-op costs.
func TestOwnMetricsEitherSideExternal(t *testing.T) {
	c := mustCompare(t, ownSide(1, bench.TargetInProcess, 1, 1), ownSide(2, bench.TargetExternal, 1.6, 9), Options{})
	if o := outcome(t, c, "api", CPUPerOp); o.Verdict != stats.Info {
		t.Errorf("cpu_per_op %s, want info", o.Verdict)
	}
}
