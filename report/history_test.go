package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/trend"
)

// historyLine is a fixed line of 15 points of one scenario whose latency
// doubles (and throughput halves) from point 11 on, in 2% noise.
func historyLine(t *testing.T) *trend.Analysis {
	t.Helper()
	r := rand.New(rand.NewPCG(42, 1))
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var pts []trend.Point
	for i := range 15 {
		f := 1.0
		if i >= 10 {
			f = 2
		}
		sc := bench.ScenarioResult{Name: "cache-get", Workload: "cache"}
		for k := range 3 {
			n := 1 + 0.02*r.NormFloat64()
			sc.Runs = append(sc.Runs, bench.RunResult{Index: k, Valid: true, Ops: 10000, Throughput: 5000 / (f * n), ErrorRate: 0,
				Latency: map[string]bench.LatencySummary{"op": {Count: 10000, P50Ns: int64(200e3 * f * n), P90Ns: int64(300e3 * f * n), P99Ns: int64(900e3 * f * n), P999Ns: int64(2e6 * f * n)}}})
		}
		commit := fmt.Sprintf("%07x%033d", 0xa1b2c00+i, 0)
		pts = append(pts, trend.Point{Saved: t0.Add(time.Duration(i) * 24 * time.Hour), Commit: commit[:12], Path: fmt.Sprintf(".perfkit/history/main/p%02d.json", i+1),
			Result: &bench.Result{SchemaVersion: bench.SchemaVersion, ID: fmt.Sprintf("id%02d", i+1), Env: bench.Env{GitCommit: commit}, Scenarios: []bench.ScenarioResult{sc}}})
	}
	a, err := trend.Analyze("main", pts, trend.AnalyzeOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestHistoryGolden(t *testing.T) {
	a := historyLine(t)
	for _, c := range []struct {
		f    Format
		file string
	}{{Table, "history_table.golden"}, {Markdown, "history_markdown.golden"}, {JSON, "history_json.golden"}} {
		var b bytes.Buffer
		if err := WriteHistory(&b, a, c.f); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", c.file), b.Bytes())
	}
}

// The step is reported where it is, as a recent regression, in every format.
func TestHistoryReportsTheStep(t *testing.T) {
	a := historyLine(t)
	var tb bytes.Buffer
	if err := WriteHistory(&tb, a, Table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "#11 (a1b2c0a") || !strings.Contains(tb.String(), "regressions start in the newest 5 points") {
		t.Errorf("table does not report the step at #11 as a recent regression:\n%s", tb.String())
	}
	var jb bytes.Buffer
	if err := WriteHistory(&jb, a, JSON); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Regressions []struct {
			Metric string `json:"metric"`
			Point  int    `json:"point"`
		} `json:"regressions"`
	}
	if err := json.Unmarshal(jb.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Regressions) == 0 {
		t.Fatal("JSON lists no regression")
	}
	for _, r := range doc.Regressions {
		if r.Point != 11 {
			t.Errorf("JSON: %s regression at point %d, want 11", r.Metric, r.Point)
		}
	}
}

// The HTML page has a chart per metric with the change point marked at
// point 11 (x between 10 and 11), and no script.
func TestHistoryHTML(t *testing.T) {
	a := historyLine(t)
	var b bytes.Buffer
	if err := WriteHistory(&b, a, HTML); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, `<svg class="chart"`); n != len(a.Series) {
		t.Errorf("%d charts, want one per series (%d)", n, len(a.Series))
	}
	if !strings.Contains(page, `class="mark"`) || !strings.Contains(page, "change point at #11 (a1b2c0a") {
		t.Error("no change point marked at #11")
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
}
