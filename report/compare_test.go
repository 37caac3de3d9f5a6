package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench/stats"
)

// spread returns n values around m, ±1% in a fixed pattern.
func spread(m float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = m * (1 + 0.01*float64(i%5-2)/2 + 0.001*float64(i))
	}
	return out
}

// sampleComparison has every kind of row: regressed, improved, unchanged,
// inconclusive, untested, an absolute threshold, added and removed
// scenarios, warnings.
func sampleComparison(t *testing.T) *stats.Comparison {
	t.Helper()
	in := []stats.Input{
		{Key: stats.Key{Scenario: "api", Metric: "throughput"}, Unit: "ops/s", Better: stats.HigherIsBetter, Threshold: stats.Percent(5),
			Old: spread(41_200, 10), New: spread(52_000, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "p50"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(5),
			Old: spread(181_000, 10), New: spread(182_000, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "p99"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10),
			Old: spread(455_000, 10), New: spread(610_000, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "error_rate"}, Unit: "fraction", Better: stats.LowerIsBetter, Threshold: stats.Points(0.5),
			Old: spread(0.001, 10), New: spread(0.012, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "alloc_per_op"}, Unit: "B", Better: stats.LowerIsBetter, Threshold: stats.Percent(10),
			Old: []float64{512, 512, 512, 512, 512, 512, 512, 512, 512, 512}, New: []float64{512, 512, 512, 512, 512, 512, 512, 512, 512, 512}},
		{Key: stats.Key{Scenario: "cache|l2", Metric: "p99"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10),
			Old: spread(1_300_000, 3), New: spread(2_600_000, 3), Warnings: []string{"old run 4 left out: invalid: perfkit CPU saturated"}},
		{Key: stats.Key{Scenario: "Encode/size=1k", Metric: "sec/op"}, Unit: "sec/op", Better: stats.LowerIsBetter, Threshold: stats.Percent(5),
			Old: spread(0.25e-9, 10), New: spread(0.26e-9, 10)},
	}
	c, err := stats.Compare(in, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// api's alloc_per_op is perfkit's own and gates (an in-process
	// target); web's own metrics are informational (an external target),
	// decided in a family of their own, as compare.Compare does.
	for i := range c.Outcomes {
		c.Outcomes[i].Own = c.Outcomes[i].Metric == "alloc_per_op"
	}
	info, err := stats.Compare([]stats.Input{
		{Key: stats.Key{Scenario: "web", Metric: "cpu_per_op"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10),
			Old: spread(4_100, 10), New: spread(6_600, 10)},
		{Key: stats.Key{Scenario: "web", Metric: "alloc_per_op"}, Unit: "B", Better: stats.LowerIsBetter, Threshold: stats.Percent(10),
			Old: spread(2, 10), New: spread(16, 10)},
	}, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range info.Outcomes {
		o.Own, o.Finding, o.Verdict, o.InfoReason = true, o.Verdict, stats.Info, "external target"
		c.Outcomes = append(c.Outcomes, o)
	}
	c.InfoFamily = info.Family
	// The new side of pool-stress had invalid runs: its verdict row, first.
	c.Outcomes = append(c.Outcomes, stats.InvalidRuns("pool-stress", 3, 10, []string{"error rate 12.00% is over the bound 1.00%"}))
	c.Old, c.New = "baseline default", ".perfkit/results/20261102T100000Z-0123abcd.json"
	c.Added, c.Removed = []string{"pool"}, []string{"fetch"}
	c.Warnings = []string{"environments differ (old vs new): num_cpu 2 vs 8"}
	return &c
}

func TestComparisonGolden(t *testing.T) {
	unchanged, err := stats.Compare([]stats.Input{{Key: stats.Key{Scenario: "api", Metric: "p50"}, Unit: "ns", Better: stats.LowerIsBetter,
		Threshold: stats.Percent(5), Old: spread(1000, 6), New: spread(1001, 6)}}, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unchanged.Old, unchanged.New = "a.json", "b.json"
	for _, tc := range []struct {
		name string
		c    *stats.Comparison
		f    Format
		opts CompareOptions
	}{
		{"compare_table", sampleComparison(t), Table, CompareOptions{}},
		{"compare_table_all", sampleComparison(t), Table, CompareOptions{All: true}},
		{"compare_markdown", sampleComparison(t), Markdown, CompareOptions{}},
		{"compare_json", sampleComparison(t), JSON, CompareOptions{}},
		{"compare_unchanged", &unchanged, Table, CompareOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteComparison(&buf, tc.c, tc.f, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

func TestComparisonMarkdownSummaryFirst(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteComparison(&buf, sampleComparison(t), Markdown, CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if first != "2 regressions, 1 improvement, 3 unchanged, 1 inconclusive, 1 invalid, 2 info (not gating), 1 scenario added, 1 scenario removed" {
		t.Errorf("first line %q", first)
	}
}

func TestComparisonJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteComparison(&buf, sampleComparison(t), JSON, CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Counts        map[string]int
		Comparisons   []struct {
			Scenario, Metric, Verdict, Finding, Reason string
			Own, Gating                                bool
			NeedsRuns                                  int `json:"needs_runs"`
			Delta                                      struct {
				Kind     string
				Estimate *float64
				Lo, Hi   *float64
			}
			Old struct {
				Lo *float64
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || doc.Counts["regressed"] != 2 || doc.Counts["info"] != 2 || doc.Counts["invalid"] != 1 || len(doc.Comparisons) != 10 {
		t.Errorf("doc %+v", doc)
	}
	for _, c := range doc.Comparisons {
		if c.Scenario == "pool-stress" && (c.Verdict != "invalid" || c.Reason != "3 of 10 new runs invalid: error rate 12.00% is over the bound 1.00%") {
			t.Errorf("invalid row: %+v", c)
		}
		if c.Scenario == "cache|l2" {
			// 7 comparisons with runs on both sides: alpha/7 needs 6.
			if c.Verdict != "inconclusive" || c.NeedsRuns != 6 || c.Reason != "needs ≥ 6 runs per side" || c.Old.Lo != nil || c.Delta.Lo != nil || c.Delta.Hi != nil {
				t.Errorf("inconclusive row: %+v (unbounded values must be null)", c)
			}
		}
		if c.Metric == "error_rate" && (c.Delta.Kind != "absolute" || c.Verdict != "regressed") {
			t.Errorf("error_rate: %+v", c)
		}
		// Perfkit's own metrics keep their keys and say whose they are and
		// whether they gate.
		switch {
		case c.Scenario == "web":
			if !c.Own || c.Gating || c.Verdict != "info" || c.Finding != "regressed" {
				t.Errorf("informational own metric: %+v", c)
			}
		case c.Metric == "alloc_per_op":
			if !c.Own || !c.Gating || c.Finding != "" {
				t.Errorf("gating own metric: %+v", c)
			}
		case c.Own || !c.Gating:
			t.Errorf("not perfkit's own: %+v", c)
		}
	}
}

func TestValueFormats(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{455_000, "ns", "455µs"},
		{0.25, "ns", "0.250ns"},
		{12.5e-9, "sec/op", "12.5ns"},
		{1.5, "sec/op", "1.50s"},
		{41_200, "ops/s", "41.2k/s"},
		{0.0012, "fraction", "0.120%"},
		{0, "fraction", "0%"},
		{1536, "B", "1.50KiB"},
		{996582, "B/op", "973KiB"},
		{238, "allocs/op", "238"},
		{9.812, "peak-rss-MiB", "9.81 peak-rss-MiB"},
		{1.5e6, "B/s", "1.43MiB/s"},
	} {
		if got := Value(tc.v, tc.unit); got != tc.want {
			t.Errorf("Value(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

func TestWriteList(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteList(&buf, []string{"NAME", "SAVED"}, [][]string{{"default", "2026-11-02 10:00"}, {"main-branch", "2026-11-01 09:00"}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME         SAVED\ndefault      2026-11-02 10:00\nmain-branch  2026-11-01 09:00\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
