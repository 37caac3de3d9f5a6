package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench/stats"
)

func TestWriteHTML(t *testing.T) {
	r := measuredResult(t)
	var a, b bytes.Buffer
	if err := WriteHTML(&a, r); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, r, HTML); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("the same result renders differently")
	}
	page := a.String()
	for _, want := range []string{
		"<h2>kv &lt;&amp;&gt; &#34;quoted&#34;</h2>", // names are escaped
		"Latency over time (p50, p99 per interval)", "Throughput over time", "Latency by percentile (HDR histogram)",
		">99.9%<", ">90%<", // the percentile axis
		`class="band"`,   // the alert episode is shaded
		"p99 run 2",      // one line per run
		">get<", ">put<", // the distribution by label
		"Spread across runs", "CV",
		`<span class="fail">FAIL</span></td><td><code>throughput &gt; 1M/s</code>`,
		"run 1 at 0.1s: FIRING critical slow (p99 &gt; 1ms): 1.10ms",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, no := range []string{"<script", "<img", "<link", "@import", "url("} {
		if strings.Contains(page, no) {
			t.Errorf("page is not self-contained: %q", no)
		}
	}
	if err := WriteHTML(&a, nil); err == nil {
		t.Error("nil result: no error")
	}
}

func TestParseReportFormat(t *testing.T) {
	for in, want := range map[string]Format{"html": HTML, "HTML": HTML, "md": Markdown, "json": JSON} {
		if f, err := ParseReportFormat(in); err != nil || f != want {
			t.Errorf("%q: %v %v", in, f, err)
		}
	}
	if _, err := ParseReportFormat("pdf"); err == nil || !strings.Contains(err.Error(), `format "pdf": accepted: table, json, markdown, csv, html`) {
		t.Errorf("pdf: %v", err)
	}
	if _, err := ParseFormat("html"); err == nil {
		t.Error("ParseFormat (run's --format) accepts html")
	}
}

// htmlComparison has a regression, an improvement, an unchanged metric and
// an inconclusive one.
func htmlComparison(t *testing.T) *stats.Comparison {
	t.Helper()
	around := func(m float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = m * (1 + 0.004*float64(i%5-2))
		}
		return out
	}
	c, err := stats.Compare([]stats.Input{
		{Key: stats.Key{Scenario: "api", Metric: "throughput"}, Unit: "ops/s", Better: stats.HigherIsBetter, Threshold: stats.Percent(5), Old: around(40e3, 10), New: around(52e3, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "p99"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10), Old: around(455e3, 10), New: around(610e3, 10)},
		{Key: stats.Key{Scenario: "api", Metric: "p50"}, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(5), Old: around(181e3, 10), New: around(181.5e3, 10)},
		{Key: stats.Key{Scenario: "cache", Metric: "error_rate"}, Unit: "fraction", Better: stats.LowerIsBetter, Threshold: stats.Points(0.5), Old: around(0.001, 2), New: around(0.02, 2)},
	}, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Outcomes = append(c.Outcomes, stats.InvalidRuns("cache", 3, 10, []string{"error rate 12.00% is over the bound 1.00%"}))
	c.Old, c.New = "baseline default", "new.json"
	return &c
}

func TestWriteComparisonHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteComparison(&buf, htmlComparison(t), HTML, CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<title>perfkit compare: 1 regression, 1 improvement, 1 unchanged, 1 inconclusive, 1 invalid</title>",
		`<td class="regressed">regressed</td>`, `<td class="improved">improved</td>`, `<td class="unchanged">~</td>`,
		"<td>needs ≥ 5 runs per side</td>", `<td class="invalid">invalid</td><td>3 of 10 new runs invalid: error rate 12.00% is over the bound 1.00%</td>`,
		"<td>p=0.", "not significant</td>", "old: baseline default · new: new.json",
		`<svg class="chart compare"`, "threshold ±10%", "threshold ±0.5pp",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(page, `<section class="card scenario">`) != 2 || strings.Contains(page, "<script") {
		t.Error("want two scenario sections and no script")
	}
}

// The compare page names perfkit's own metrics as such and marks the
// informational ones.
func TestWriteComparisonHTMLOwnMetrics(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteComparisonHTML(&buf, sampleComparison(t)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<td>perfkit cpu/op</td>", "<td>perfkit alloc/op</td>",
		`<td class="info">info: regressed (external target)</td>`,
		"info (not gating): perfkit cpu/op, perfkit alloc/op: perfkit&#39;s own costs",
		">perfkit cpu/op</text>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, ">cpu_per_op<") || strings.Contains(page, ">alloc_per_op<") {
		t.Error("page shows an own metric under its bare key")
	}
}

// The report names perfkit's own per-op costs as such, with each
// scenario's target, so nobody reads them as the service's.
func TestWriteHTMLOwnColumns(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, fullResult()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		">perfkit cpu/op</th>", ">perfkit alloc/op</th>", `<td class="num">12.6µs</td><td class="num">16B</td>`,
		"fetch · target external · closed model", "cache · target in-process · closed model",
		"fetch: perfkit cpu/op 12.6µs, perfkit alloc/op 16B (perfkit&#39;s own process; target external: the load generator&#39;s, not the service&#39;s)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
