package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// historyThresholds are generous thresholds for every gating metric: the
// slowdown below quadruples the work, far beyond them, while a shift of
// the shared test machine's load between the points (tens of percent) stays
// within them, so the check before the slowdown cannot fail on the machine.
var historyThresholds = []string{
	"--threshold", "throughput=50%", "--threshold", "p50=100%", "--threshold", "p90=100%", "--threshold", "p99=100%",
	"--threshold", "p99.9=200%", "--threshold", "cpu_per_op=100%", "--threshold", "alloc_per_op=100%",
}

// A real history: perfkit runs of the agents workload (cpu agents), 11 at
// one work size, then 4 at four times the work. `history main --check`
// passes (exit 0) before the slowdown and fails (exit 1) after it, naming
// p50 from point 12. (One run on a contended machine may pull a change
// point a point off; the window of 5 holds 12 ± 1.)
func TestHistoryCheckRealRuns(t *testing.T) {
	sandbox(t)
	run := func(work string) {
		t.Helper()
		args := []string{"run", "agents", "--kind", "cpu", "--work", work, "--batch", "2", "--workers", "1",
			"-c", "1", "-d", "150ms", "--warmup", "50ms", "--count", "3"}
		if code, _, errOut := cli(t, args...); code != ExitOK {
			t.Fatalf("run: exit %d: %s", code, errOut)
		}
		if code, _, errOut := cli(t, "baseline", "save", "main", "--append"); code != ExitOK || !strings.Contains(errOut, "appended") {
			t.Fatalf("baseline save --append: exit %d: %s", code, errOut)
		}
	}
	check := func() (int, string, string) {
		return cli(t, append([]string{"history", "main", "--check"}, historyThresholds...)...)
	}
	for range 11 {
		run("100")
	}
	if code, out, errOut := check(); code != ExitOK {
		t.Fatalf("before the slowdown: exit %d, want 0:\n%s%s", code, out, errOut)
	}
	for range 4 {
		run("400")
	}
	code, out, errOut := check()
	if code != ExitGate {
		t.Fatalf("after the slowdown: exit %d, want 1:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "regression in the newest 5 points: ") || !strings.Contains(errOut, "agents p50 +") {
		t.Errorf("the gate's message does not name p50: %s", errOut)
	}
	if !strings.Contains(out, "regressed (newest 5)") {
		t.Errorf("the listing shows no recent regression:\n%s", out)
	}
	t.Logf("history main --check after the slowdown:\n%s", out)
	if code, _, errOut := cli(t, "history", "main", "--format", "html", "-o", "history.html"); code != ExitOK {
		t.Errorf("history --format html -o: exit %d: %s", code, errOut)
	} else if page, err := os.ReadFile("history.html"); err != nil || !strings.Contains(string(page), `class="mark"`) {
		t.Errorf("history.html: %v; want a page with the change points marked", err)
	}
	if _, err := os.Stat(filepath.Join(".perfkit", "baselines", "main.json")); err == nil {
		t.Error("--append wrote the baseline itself")
	}
	// Without --check the same line lists and exits 0; JSON names the point.
	code, out, _ = cli(t, append([]string{"history", "main", "--format", "json"}, historyThresholds...)...)
	var doc struct {
		Points      []json.RawMessage `json:"points"`
		Regressions []struct {
			Point int `json:"point"`
		} `json:"regressions"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Points) != 15 || len(doc.Regressions) == 0 {
		t.Errorf("history --format json: exit %d, %d points, regressions %+v", code, len(doc.Points), doc.Regressions)
	}
	for _, r := range doc.Regressions {
		if r.Point < 11 || r.Point > 13 {
			t.Errorf("a regression from point %d; the slowdown starts at 12", r.Point)
		}
	}
}

// Bad input is refused with exit 2 before anything is read.
func TestHistoryBadInput(t *testing.T) {
	sandbox(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"history", "main"}, `no history for baseline "main"`},
		{[]string{"history", "../x"}, "baseline name"},
		{[]string{"history", "main", "--format", "xml"}, `format "xml"`},
		{[]string{"history", "main", "--format", "csv"}, `format "csv": accepted: table, markdown, json, html`}, // a history has no CSV form (it recursed without end)
		{[]string{"history", "main", "--significance", "2"}, "--significance 2"},
		{[]string{"history", "main", "--recent", "0"}, "--recent 0"},
		{[]string{"history", "main", "--permutations", "0"}, "--permutations 0"},
		{[]string{"history", "main", "--threshold", "p99"}, "threshold"},
		{[]string{"history", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"history", "main", "--threshold", "latency=5%"}, `unknown metric "latency"`},
	} {
		code, _, errOut := cli(t, c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", c.args, code, errOut, c.want)
		}
	}
}
