package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// synthResult is a perfkit result of one scenario "api" with n runs whose
// latencies are scaled by slow (throughput by 1/slow), with ±1% of
// deterministic run-to-run noise.
func synthResult(n int, slow float64, env bench.Env) *bench.Result {
	sr := bench.ScenarioResult{Name: "api", Workload: "fetch", Model: bench.ModelClosed, Settings: bench.DefaultSettings()}
	for i := range n {
		noise := 1 + 0.01*float64(i%5-2)/2 + 0.0007*float64(i)
		ops := int64(400_000 / slow * noise)
		lat := func(us float64) int64 { return int64(us * 1000 * slow * noise) }
		sr.Runs = append(sr.Runs, bench.RunResult{
			Index: i, ElapsedNs: int64(10 * time.Second), Ops: ops, Throughput: float64(ops) / 10,
			Valid: true, InvalidReasons: []string{},
			Latency: map[string]bench.LatencySummary{"op": {Count: ops, P50Ns: lat(180), P90Ns: lat(240), P99Ns: lat(450), P999Ns: lat(1000)}},
		})
	}
	return &bench.Result{SchemaVersion: bench.SchemaVersion, ID: fmt.Sprintf("synth%04d", n), Env: env, Scenarios: []bench.ScenarioResult{sr}}
}

var synthEnv = bench.Env{GoVersion: "go1.26.8", CPUModel: "AMD EPYC", NumCPU: 2, GOMAXPROCS: 2}

func writeResult(t *testing.T, path string, r *bench.Result) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// End to end in-process: run twice, save a baseline, compare, run with
// --compare, list, show, remove.
func TestCompareEndToEnd(t *testing.T) {
	sandbox(t)
	runArgs := []string{"run", "fetch", "--count", "3", "-n", "100", "--warmup", "0s", "-c", "2"}
	if code, _, errOut := cli(t, runArgs...); code != ExitOK {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	code, out, errOut := cli(t, "baseline", "save")
	if code != ExitOK || out != "" || !strings.HasPrefix(errOut, "saved baseline default from .perfkit/results/") ||
		!strings.Contains(errOut, "(1 scenario, 3 runs each) to .perfkit/baselines/default.json") {
		t.Fatalf("baseline save: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if hist, _ := filepath.Glob(".perfkit/history/default/*.json"); len(hist) != 1 {
		t.Errorf("history: %v", hist)
	}
	// The newest result is by file time: make the first run's explicitly
	// older, rather than sleeping past the file system's time resolution.
	first, _ := filepath.Glob(".perfkit/results/*.json")
	if len(first) != 1 {
		t.Fatalf("results after one run: %v", first)
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(first[0], hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, runArgs...); code != ExitOK {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	code, out, errOut = cli(t, "compare")
	if code != ExitOK || errOut != "" {
		t.Fatalf("compare: exit %d, stderr %q\n%s", code, errOut, out)
	}
	// Three runs a side can never be significant: said so, not hidden.
	if !strings.HasPrefix(out, "0 regressions, 0 improvements, 0 unchanged, 8 inconclusive\n") || !strings.Contains(out, "needs ≥ 6 runs per side") ||
		!strings.Contains(out, "old: baseline default; new: .perfkit/results/") {
		t.Errorf("compare output:\n%s", out)
	}
	if code, _, _ := cli(t, "compare", "--fail-on", "inconclusive"); code != ExitGate {
		t.Errorf("--fail-on inconclusive: exit %d, want 1", code)
	}

	code, out, errOut = cli(t, "run", "fetch", "--count", "3", "-n", "100", "--warmup", "0s", "-c", "2", "--compare", "default", "--no-save")
	if code != ExitOK || !strings.Contains(out, "\n0 regressions, 0 improvements, 0 unchanged, 8 inconclusive\n") || !strings.Contains(out, "new: this run") {
		t.Errorf("run --compare: exit %d, stderr %q\n%s", code, errOut, out)
	}

	code, out, _ = cli(t, "baseline", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "default ") || !strings.Contains(lines[1], "  1  ") {
		t.Errorf("baseline list: exit %d\n%s", code, out)
	}
	code, out, errOut = cli(t, "baseline", "show", "default")
	if code != ExitOK || !strings.HasPrefix(out, "SCENARIO") || !strings.HasPrefix(errOut, "baseline default: saved ") {
		t.Errorf("baseline show: exit %d, stderr %q\n%s", code, errOut, out)
	}
	code, _, errOut = cli(t, "baseline", "rm", "default")
	if code != ExitOK || errOut != "removed baseline default (its history stays)\n" {
		t.Errorf("baseline rm: exit %d, %q", code, errOut)
	}
	code, _, errOut = cli(t, "compare")
	if code != ExitUsage {
		t.Errorf("compare after rm: exit %d", code)
	}
	oneErrorLine(t, errOut, `baseline "default" not found in .perfkit/baselines (no baselines saved yet`)
}

func TestCompareRegression(t *testing.T) {
	sandbox(t)
	old := writeResult(t, "old.json", synthResult(10, 1, synthEnv))
	slow := writeResult(t, "slow.json", synthResult(10, 1.3, synthEnv))
	same := writeResult(t, "same.json", synthResult(10, 1.005, synthEnv))

	code, out, errOut := cli(t, "compare", old, slow)
	if code != ExitGate {
		t.Fatalf("30%% slower: exit %d, want 1\n%s%s", code, out, errOut)
	}
	oneErrorLine(t, errOut, "perfkit: 5 regressions: api throughput -23.1% (threshold 5%), api p50 +30.0% (threshold 5%), api p90 +30.0% (threshold 10%), and 2 more")
	if !strings.HasPrefix(out, "5 regressions, 0 improvements, 1 unchanged\n") {
		t.Errorf("stdout:\n%s", out)
	}
	if code, out, _ := cli(t, "compare", old, same); code != ExitOK || !strings.Contains(out, "0 regressions") {
		t.Errorf("0.5%% slower: exit %d\n%s", code, out)
	}
	if code, _, _ := cli(t, "compare", old, slow, "--fail-on", "never"); code != ExitOK {
		t.Errorf("--fail-on never: exit %d", code)
	}
	// A threshold the change stays within.
	code, out, errOut = cli(t, "compare", old, slow, "--threshold", "p50=40%", "--threshold", "api:p90=40%", "--threshold", "p99=40%", "--threshold", "p999=40%", "--threshold", "throughput=40%")
	if code != ExitOK {
		t.Errorf("thresholds of 40%%: exit %d, %s\n%s", code, errOut, out)
	}

	// Through a baseline, in every format.
	if code, _, errOut := cli(t, "baseline", "save", "main", "--from", old); code != ExitOK {
		t.Fatalf("save: %d %s", code, errOut)
	}
	code, out, _ = cli(t, "compare", "--baseline", "main", slow, "--format", "markdown")
	if code != ExitGate || !strings.HasPrefix(out, "5 regressions, 0 improvements, 1 unchanged\n\n| SCENARIO |") || !strings.Contains(out, "**regressed**") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "compare", "--baseline", "main", slow, "--format", "json")
	var doc struct {
		Old         string
		Counts      map[string]int
		Comparisons []struct{ Verdict string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitGate || doc.Old != "baseline main" || doc.Counts["regressed"] != 5 || len(doc.Comparisons) != 6 {
		t.Errorf("json: exit %d, %v, %+v\n%s", code, err, doc, out)
	}
	// An OLD file with no NEW: the newest result.
	writeResult(t, filepath.Join(ResultsDir, "20261102T100000Z-aaaaaaaa.json"), synthResult(10, 1.3, synthEnv))
	if code, out, _ := cli(t, "compare", old); code != ExitGate || !strings.Contains(out, "new: .perfkit/results/20261102T100000Z-aaaaaaaa.json") {
		t.Errorf("compare OLD: exit %d\n%s", code, out)
	}
}

func TestCompareConfigAndEnv(t *testing.T) {
	dir := sandbox(t)
	old := writeResult(t, "old.json", synthResult(10, 1, synthEnv))
	slow := writeResult(t, "slow.json", synthResult(10, 1.3, synthEnv))
	writeFile(t, "perfkit.yaml", `baseline-dir: ci/baselines
compare:
  alpha: 0.01
  thresholds: {p50: 40%, p90: 40%, p99: 40%, "api:p99.9": 40%, throughput: 40%}
`)
	code, out, errOut := cli(t, "compare", old, slow)
	if code != ExitOK || !strings.Contains(out, "alpha 0.01 family-wise") {
		t.Errorf("config thresholds: exit %d %s\n%s", code, errOut, out)
	}
	// A flag overrides the config.
	code, _, errOut = cli(t, "compare", old, slow, "--threshold", "p99=10%")
	if code != ExitGate || !strings.Contains(errOut, "1 regression: api p99 +30.0% (threshold 10%)") {
		t.Errorf("flag over config: exit %d %s", code, errOut)
	}
	// baseline-dir from the config, then the environment, then the flag.
	if code, _, errOut := cli(t, "baseline", "save", "--from", old); code != ExitOK || !strings.Contains(errOut, "to ci/baselines/default.json") {
		t.Errorf("config baseline-dir: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "ci", "history", "default")); err != nil {
		t.Errorf("history beside the configured dir: %v", err)
	}
	t.Setenv("PERFKIT_BASELINE_DIR", "env-baselines")
	if code, _, errOut := cli(t, "baseline", "save", "--from", old); code != ExitOK || !strings.Contains(errOut, "to env-baselines/default.json") {
		t.Errorf("env baseline-dir: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "baseline", "list", "--baseline-dir", "ci/baselines"); code != ExitOK {
		t.Errorf("flag baseline-dir: %d %s", code, errOut)
	}
}

func TestCompareEnvironments(t *testing.T) {
	sandbox(t)
	other := synthEnv
	other.CPUModel = "Intel Xeon"
	a := writeResult(t, "a.json", synthResult(10, 1, synthEnv))
	b := writeResult(t, "b.json", synthResult(10, 1, other))
	code, out, _ := cli(t, "compare", a, b)
	if code != ExitOK || !strings.Contains(out, `warning: environments differ (old vs new): cpu_model "AMD EPYC" vs "Intel Xeon"`) {
		t.Errorf("exit %d\n%s", code, out)
	}
	code, out, errOut := cli(t, "compare", a, b, "--strict-env")
	if code != ExitUsage || out != "" {
		t.Errorf("--strict-env: exit %d\n%s", code, out)
	}
	oneErrorLine(t, errOut, `environments differ (old vs new): cpu_model "AMD EPYC" vs "Intel Xeon"`)
}

func TestCompareGoBench(t *testing.T) {
	sandbox(t)
	old := filepath.Join(pkgDir, "..", "bench", "compare", "testdata", "gobench_old.txt")
	new := filepath.Join(pkgDir, "..", "bench", "compare", "testdata", "gobench_new.txt")
	code, out, errOut := cli(t, "compare", old, new, "--all")
	if code != ExitOK || !strings.Contains(out, "Engine/workers=1") || !strings.Contains(out, "sec/op") {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
}

// Bad input: one line on stderr, exit 2, never a panic.
func TestCompareBadInput(t *testing.T) {
	sandbox(t)
	good := writeResult(t, "good.json", synthResult(5, 1, synthEnv))
	data, _ := os.ReadFile(good)
	writeFile(t, "empty.json", "")
	writeFile(t, "truncated.json", string(data[:len(data)/2]))
	writeFile(t, "other.json", `{"name": "x", "runs": []}`)
	writeFile(t, "v2.json", `{"schema_version": 2, "scenarios": []}`)
	writeFile(t, "syntax.txt", "goos: linux\nBenchmarkX-8  100  12 ns/op\nBenchmarkX-8  100  abc ns/op\n")
	writeFile(t, "nan.txt", "BenchmarkX-8  100  NaN ns/op\n")
	writeFile(t, "nan.json", strings.Replace(string(data), `"throughput":`, `"throughput": NaN, "x":`, 1))
	writeFile(t, "inf.json", strings.Replace(string(data), `"throughput":`, `"throughput": 1e999, "x":`, 1))
	writeResult(t, "norun.json", synthResult(0, 1, synthEnv))
	writeFile(t, "bench.txt", "BenchmarkX-8  100  12 ns/op\n")
	if code, _, _ := cli(t, "baseline", "save", "main", "--from", good); code != ExitOK {
		t.Fatal("save main")
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing baseline", []string{"compare", "--baseline", "nope", good}, []string{`baseline "nope" not found in .perfkit/baselines (baselines: main)`}},
		{"missing file", []string{"compare", "nope.json", good}, []string{"nope.json", "no such file"}},
		{"empty file", []string{"compare", "empty.json", good}, []string{"empty.json: empty file"}},
		{"truncated", []string{"compare", good, "truncated.json"}, []string{"truncated.json: not a perfkit result", "unexpected end of JSON input"}},
		{"not a result", []string{"compare", good, "other.json"}, []string{"other.json: not a perfkit result: no schema_version"}},
		{"schema version", []string{"compare", good, "v2.json"}, []string{"v2.json: schema_version 2 is not supported (this perfkit reads 1)"}},
		{"go syntax", []string{"compare", "syntax.txt", "bench.txt"}, []string{"syntax.txt:3: parsing measurement"}},
		{"go NaN", []string{"compare", "bench.txt", "nan.txt"}, []string{"nan.txt:1: BenchmarkX-8: NaN ns/op: value is not a finite number"}},
		{"json NaN", []string{"compare", good, "nan.json"}, []string{"nan.json: not a perfkit result", "invalid character 'N'"}},
		{"json Inf", []string{"compare", good, "inf.json"}, []string{"inf.json: malformed result", "1e999"}},
		{"zero runs", []string{"compare", good, "norun.json"}, []string{"norun.json has no runs to compare"}},
		{"formats differ", []string{"compare", good, "bench.txt"}, []string{"cannot compare good.json (a perfkit result) with bench.txt (Go benchmark output)"}},
		{"bad threshold", []string{"compare", good, good, "--threshold", "p99=lots"}, []string{`--threshold: threshold "p99=lots": value "lots": accepted: a percentage`}},
		{"threshold syntax", []string{"compare", good, good, "--threshold", "p99"}, []string{`threshold "p99": expected METRIC=VALUE`}},
		{"unknown metric", []string{"compare", good, good, "--threshold", "p98=5%"}, []string{`threshold p98=5%: unknown metric "p98"`}},
		{"pp on latency", []string{"compare", good, good, "--threshold", "p99=+1pp"}, []string{"percentage points apply to a rate such as error_rate"}},
		{"bad alpha", []string{"compare", good, good, "--alpha", "2"}, []string{"--alpha 2: accepted"}},
		{"bad fail-on", []string{"compare", good, good, "--fail-on", "sometimes"}, []string{`--fail-on "sometimes": accepted: a comma list of regression, invalid, inconclusive`}},
		{"bad format", []string{"compare", good, good, "--format", "xml"}, []string{`format "xml"`}},
		{"baseline and two files", []string{"compare", "--baseline", "main", good, good}, []string{"--baseline stands in for OLD"}},
		{"too many args", []string{"compare", good, good, good}, []string{"accepts at most 2 arg(s)"}},
		{"bad name", []string{"compare", "--baseline", "../etc", good}, []string{`baseline name "../etc"`}},
		{"save bad name", []string{"baseline", "save", "a/b", "--from", good}, []string{`baseline name "a/b"`}},
		{"save Go text", []string{"baseline", "save", "--from", "bench.txt"}, []string{"bench.txt: not a perfkit result"}},
		{"save no results", []string{"baseline", "save"}, []string{"no results in .perfkit/results"}},
		{"show missing", []string{"baseline", "show", "nope"}, []string{`baseline "nope" not found`, "(baselines: main)"}},
		{"rm missing", []string{"baseline", "rm", "nope"}, []string{`baseline "nope" not found`}},
		{"show no name", []string{"baseline", "show"}, []string{"expected NAME, got 0 arguments"}},
		{"baseline no sub", []string{"baseline"}, []string{"missing subcommand"}},
		{"run --compare missing", []string{"run", "fetch", "--compare", "nope", "-n", "10"}, []string{`--compare: baseline "nope" not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want 2 (stdout %q)", code, out)
			}
			oneErrorLine(t, errOut, tc.want...)
		})
	}
	if files := resultFiles(t); len(files) != 0 {
		t.Errorf("run --compare with a missing baseline ran anyway: %v", files)
	}
}

func TestCompareConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "compare:\n  alfa: 0.1\n", []string{"perfkit.yaml:1: compare: unknown key \"alfa\" (accepted: alpha, thresholds, gate-own-metrics)"}},
		{"bad alpha", "compare:\n  alpha: 5\n", []string{"perfkit.yaml:1: compare.alpha 5: accepted"}},
		{"bad threshold", "compare:\n  thresholds: {p99: 10}\n", []string{`perfkit.yaml:1: compare.thresholds: threshold "p99=10": value "10": accepted`}},
		{"not a map", "compare: 0.05\n", []string{"perfkit.yaml:1: compare: expected a mapping"}},
		{"baseline-dir", "baseline-dir: [a]\n", []string{"perfkit.yaml:1: baseline-dir: expected a directory name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sandbox(t)
			good := writeResult(t, "good.json", synthResult(5, 1, synthEnv))
			writeFile(t, "perfkit.yaml", tc.yaml)
			code, _, errOut := cli(t, "compare", good, good)
			if code != ExitUsage {
				t.Errorf("exit %d", code)
			}
			oneErrorLine(t, errOut, tc.want...)
		})
	}
}
