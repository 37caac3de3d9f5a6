package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// HTML is a self-contained page with charts: `perfkit report --format html`.
// It is not one of Formats (the formats of `perfkit run` and `perfkit
// compare`); ReportFormats lists it.
const HTML Format = "html"

// ReportFormats are the formats `perfkit report` writes: Formats and HTML.
func ReportFormats() []Format { return append(Formats(), HTML) }

// ParseReportFormat is ParseFormat for `perfkit report`: html is accepted too.
func ParseReportFormat(s string) (Format, error) {
	if strings.EqualFold(strings.TrimSpace(s), string(HTML)) {
		return HTML, nil
	}
	f, err := ParseFormat(s)
	if err != nil {
		return "", fmt.Errorf("%w, html", err)
	}
	return f, nil
}

// WriteHTML writes r as one self-contained HTML page: the summary table,
// then per scenario its latency percentiles and throughput over time, the
// latency distribution (a percentile plot of the HDR histograms, log x axis
// as HdrHistogram plots), errors over time and by kind, the spread across
// runs, alerts and thresholds. Charts are inline SVG: no script, no
// network. The output depends only on r.
func WriteHTML(w io.Writer, r *bench.Result) error {
	if r == nil {
		return errNoResult()
	}
	return htmlPage.Execute(w, newHTMLView(r))
}

type htmlView struct {
	Title     string
	Result    *bench.Result
	Env       []htmlKV
	Columns   []string
	Rows      []htmlRow
	Notes     []string
	Scenarios []htmlScenario
}

type htmlRow struct {
	Sub   bool
	Cells []string
}

type htmlKV struct{ K, V string }

type htmlScenario struct {
	Name       string
	Anchor     string
	Meta       string
	Params     []htmlKV
	Thresholds []htmlCheck
	Alerts     []htmlAlert
	Charts     []template.HTML
	Runs       []htmlRun
	Spread     []htmlKV
	Errors     []htmlKV
	Notes      []string
}

type htmlCheck struct {
	Expr   string
	Passed bool
	Value  string
}

type htmlAlert struct {
	Class string // firing critical, resolved warning...
	Text  string
}

type htmlRun struct {
	Index                                   int
	Ops, Throughput, ErrRate, P50, P99, Max string
	OwnCPU, OwnAlloc                        string // perfkit's own, per op
	Valid                                   string
}

func newHTMLView(r *bench.Result) htmlView {
	v := newView(r)
	hv := htmlView{Title: "perfkit report", Result: r, Columns: columns(), Notes: v.notes}
	for _, rw := range v.rows {
		hv.Rows = append(hv.Rows, htmlRow{Sub: rw.sub, Cells: rw.cells})
	}
	if r.ID != "" {
		hv.Title += " " + r.ID
	}
	e := r.Env
	for _, p := range []htmlKV{
		{"created", r.CreatedAt.UTC().Format(time.RFC3339)},
		{"perfkit", e.PerfkitVersion}, {"go", e.GoVersion}, {"os/arch", strings.Trim(e.OS+"/"+e.Arch, "/")},
		{"cpu", e.CPUModel}, {"cpus", cpus(e)}, {"host", e.Hostname}, {"kernel", e.Kernel}, {"commit", commit(e)},
	} {
		if p.V != "" {
			hv.Env = append(hv.Env, p)
		}
	}
	used := map[string]int{}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		hs := scenarioHTML(s)
		hs.Anchor = anchor(s.Name, used)
		hv.Scenarios = append(hv.Scenarios, hs)
	}
	return hv
}

func cpus(e bench.Env) string {
	if e.NumCPU == 0 {
		return ""
	}
	s := strconv.Itoa(e.NumCPU)
	if e.GOMAXPROCS != 0 && e.GOMAXPROCS != e.NumCPU {
		s += fmt.Sprintf(" (GOMAXPROCS %d)", e.GOMAXPROCS)
	}
	return s
}

func commit(e bench.Env) string {
	if e.GitCommit == "" {
		return ""
	}
	if e.GitDirty {
		return e.GitCommit + " (dirty)"
	}
	return e.GitCommit
}

// anchor makes a unique id for a scenario's section.
func anchor(name string, used map[string]int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	a := "s-" + b.String()
	used[a]++
	if n := used[a]; n > 1 {
		a += "-" + strconv.Itoa(n)
	}
	return a
}

func scenarioHTML(s *bench.ScenarioResult) htmlScenario {
	hs := htmlScenario{Name: s.Name, Notes: scenarioNotes(s)}
	st := s.Settings
	meta := []string{s.Workload, "target " + bench.TargetOf(s), modelOf(s) + " model", "concurrency " + strconv.Itoa(st.Concurrency)}
	if st.Rate > 0 {
		meta = append(meta, "rate "+Rate(st.Rate)+"/s "+st.Arrival)
	}
	if st.Iterations > 0 {
		meta = append(meta, strconv.FormatInt(st.Iterations, 10)+" ops per run")
	} else if st.Duration > 0 {
		meta = append(meta, Duration(int64(st.Duration))+" per run")
	}
	meta = append(meta, fmt.Sprintf("%d run(s)", len(s.Runs)))
	if st.Interval > 0 {
		meta = append(meta, "interval "+Duration(int64(st.Interval)))
	}
	hs.Meta = strings.Join(slices.DeleteFunc(meta, func(m string) bool { return m == "" }), " · ")
	for _, k := range sortedMapKeys(s.Params) {
		val, _ := json.Marshal(s.Params[k])
		hs.Params = append(hs.Params, htmlKV{k, strings.Trim(string(val), `"`)})
	}
	for _, t := range s.Thresholds {
		c := htmlCheck{Expr: t.Expr, Passed: t.Passed, Value: valueText(t.Value, t.Unit)}
		if t.Note != "" {
			c.Value = t.Note
		}
		hs.Thresholds = append(hs.Thresholds, c)
	}
	for _, a := range s.Alerts {
		hs.Alerts = append(hs.Alerts, htmlAlert{Class: a.State + " " + a.Severity, Text: alertText(a)})
	}
	hs.Charts = scenarioCharts(s)
	for _, run := range s.Runs {
		l := run.Latency[bench.OverallKey]
		valid := "yes"
		if !run.Valid {
			valid = "NO: " + strings.Join(run.InvalidReasons, "; ")
		}
		hr := htmlRun{
			Index: run.Index + 1, Ops: grouped(run.Ops), Throughput: Rate(run.Throughput) + "/s",
			ErrRate: percent(run.Errors, run.Ops), P50: latencyText(l, l.P50Ns), P99: latencyText(l, l.P99Ns), Max: latencyText(l, l.MaxNs),
			OwnCPU: "-", OwnAlloc: "-", Valid: valid,
		}
		if cpu, alloc, ok := ownPerOp(run); ok {
			hr.OwnCPU, hr.OwnAlloc = Value(cpu, "ns"), Value(alloc, "B")
		}
		hs.Runs = append(hs.Runs, hr)
	}
	hs.Spread = runSpread(s.Runs)
	byKind := map[string]int64{}
	for _, run := range s.Runs {
		for k, n := range run.ErrorsByKind {
			byKind[k] += n
		}
	}
	kinds := sortedMapKeys(byKind)
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(byKind[b], byKind[a]) })
	for _, k := range kinds {
		hs.Errors = append(hs.Errors, htmlKV{k, grouped(byKind[k])})
	}
	return hs
}

func latencyText(l bench.LatencySummary, ns int64) string {
	if l.Count == 0 {
		return "-"
	}
	return Duration(ns)
}

// valueText formats a threshold or alert value in its unit.
func valueText(v float64, unit string) string {
	switch unit {
	case bench.UnitNanoseconds:
		return Duration(int64(math.Round(v)))
	case bench.UnitPerSecond, bench.UnitCountPerSec:
		return Rate(v) + "/s"
	case bench.UnitRatio:
		return Rate(100*v) + "%"
	case bench.UnitBytes:
		return Bytes(int64(v))
	}
	return Rate(v)
}

// alertText is one line for an alert event: "run 1 at 3.0s: FIRING critical
// p99-high (p99 > 50ms): 61.2ms: check the cache".
func alertText(a bench.AlertEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %d at %.1fs: %s %s %s (%s): %s", a.Run+1, float64(a.TMs)/1000, strings.ToUpper(a.State), a.Severity, a.Rule, a.Expr, valueText(a.Value, a.Unit))
	if a.Reason == "run ended" {
		b.WriteString(" (run ended)")
	}
	if a.Abort {
		b.WriteString(", aborted the run")
	}
	if a.Message != "" {
		b.WriteString(": " + a.Message)
	}
	return b.String()
}

// runSpread summarises how much the runs differ: min, median and max of the
// throughput and p99, and the coefficient of variation of the throughput.
func runSpread(runs []bench.RunResult) []htmlKV {
	if len(runs) < 2 {
		return nil
	}
	var tput []float64
	var p99 []int64
	for _, r := range runs {
		tput = append(tput, r.Throughput)
		if l := r.Latency[bench.OverallKey]; l.Count > 0 {
			p99 = append(p99, l.P99Ns)
		}
	}
	out := []htmlKV{{"throughput", fmt.Sprintf("min %s/s · median %s/s · max %s/s · CV %s%%",
		Rate(slices.Min(tput)), Rate(stats.Median(tput)), Rate(slices.Max(tput)), Rate(100*coefVar(tput)))}}
	if len(p99) > 0 {
		out = append(out, htmlKV{"p99", fmt.Sprintf("min %s · median %s · max %s", Duration(slices.Min(p99)), Duration(stats.MedianInt(p99)), Duration(slices.Max(p99)))})
	}
	return out
}

// coefVar is the coefficient of variation (sample standard deviation over mean).
func coefVar(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	if mean == 0 || len(v) < 2 {
		return 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(v)-1)) / mean
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// scenarioCharts draws a scenario's charts.
func scenarioCharts(s *bench.ScenarioResult) []template.HTML {
	secs := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) + "s" }
	lat := lineChart{title: "Latency over time (p50, p99 per interval)", xLabel: "time into the run", xFmt: secs,
		yFmt: func(v float64) string { return Duration(int64(v)) }, yMin0: true, xMin0: true}
	tput := lineChart{title: "Throughput over time (ops/s per interval)", xLabel: "time into the run", xFmt: secs,
		yFmt: Rate, yMin0: true, xMin0: true}
	errs := lineChart{title: "Errors over time (per second)", xLabel: "time into the run", xFmt: secs, yFmt: Rate, yMin0: true, xMin0: true}
	// A closed staged load's target is workers: its own chart.
	workers := lineChart{title: "Workers over time (target vs ops in flight)", xLabel: "time into the run", xFmt: secs, yFmt: Rate, yMin0: true, xMin0: true}
	anyTarget := false
	multi := len(s.Runs) > 1
	ivl := s.Settings.Interval
	anyErr := false
	for i, run := range s.Runs {
		color := chartPalette[i%len(chartPalette)]
		name := func(what string) string {
			if multi {
				return fmt.Sprintf("%s run %d", what, run.Index+1)
			}
			return what
		}
		var p50, p99, tp, er, target, achieved []chartPoint
		for _, iv := range run.Intervals {
			length := float64(ivl)
			if ivl <= 0 || float64(iv.TMs)*1e6+length > float64(run.ElapsedNs) {
				length = float64(run.ElapsedNs) - float64(iv.TMs)*1e6
			}
			if length <= 0 {
				continue
			}
			x := (float64(iv.TMs)*1e6 + length) / 1e9
			if iv.Ops > 0 {
				p50 = append(p50, chartPoint{x, float64(iv.P50Ns)})
				p99 = append(p99, chartPoint{x, float64(iv.P99Ns)})
			}
			tp = append(tp, chartPoint{x, float64(iv.Ops) / (length / 1e9)})
			er = append(er, chartPoint{x, float64(iv.Errors) / (length / 1e9)})
			anyErr = anyErr || iv.Errors > 0
			if iv.Target > 0 || iv.Achieved > 0 {
				target = append(target, chartPoint{x, iv.Target})
				achieved = append(achieved, chartPoint{x, iv.Achieved})
			}
		}
		if len(target) > 0 {
			anyTarget = true
			tc := chartPalette[3%len(chartPalette)]
			if multi {
				tc = color
			}
			ts := []lineSeries{{name: name("target"), color: tc, dash: "6 4", pts: target}}
			if s.Model == bench.ModelOpen {
				tput.series = append(tput.series, append(ts, lineSeries{name: name("started/s"), color: tc, pts: achieved})...)
			} else {
				workers.series = append(workers.series, append(ts, lineSeries{name: name("in flight"), color: tc, pts: achieved})...)
			}
		}
		c50, c99 := chartPalette[2], chartPalette[1]
		if multi {
			c50, c99 = color, color
		}
		lat.series = append(lat.series, lineSeries{name: name("p50"), color: c50, dash: "4 3", pts: p50}, lineSeries{name: name("p99"), color: c99, pts: p99})
		tput.series = append(tput.series, lineSeries{name: name("ops/s"), color: color, pts: tp})
		errs.series = append(errs.series, lineSeries{name: name("errors/s"), color: color, pts: er})
	}
	for _, b := range alertBands(s.Alerts) {
		lat.bands = append(lat.bands, b)
		tput.bands = append(tput.bands, b)
	}
	out := []template.HTML{lat.svg(), tput.svg()}
	if anyTarget && s.Model != bench.ModelOpen {
		out = append(out, workers.svg())
	}
	out = append(out, distributionChart(s).svg())
	if anyErr {
		out = append(out, errs.svg())
	}
	return out
}

// alertBands are the stretches where an alert fired, per run.
func alertBands(events []bench.AlertEvent) []chartBand {
	var out []chartBand
	open := map[[2]any]bench.AlertEvent{}
	for _, ev := range events {
		k := [2]any{ev.Rule, ev.Run}
		if ev.State == bench.AlertFiring {
			open[k] = ev
			continue
		}
		if f, ok := open[k]; ok {
			delete(open, k)
			out = append(out, chartBand{float64(f.TMs) / 1000, float64(ev.TMs) / 1000, fmt.Sprintf("alert %s fired (run %d)", f.Rule, f.Run+1)})
		}
	}
	return out
}

// distributionChart is the percentile plot: latency against percentile on
// a log axis (90%, 99%, 99.9%...), one line per label when the scenario has
// several, else one per run.
func distributionChart(s *bench.ScenarioResult) lineChart {
	c := lineChart{title: "Latency by percentile (HDR histogram)", xLabel: "percentile", xFmt: percentileLabel,
		yFmt: func(v float64) string { return Duration(int64(v)) }, yMin0: true}
	labels := labelsOf(s)
	maxX := 1.0
	add := func(name string, hists []bench.LatencySummary, color string) {
		merged, _ := bench.MergeHistograms(hists) // a run that does not decode is left out
		if merged == nil || merged.TotalCount() == 0 {
			return
		}
		var pts []chartPoint
		n := float64(merged.TotalCount())
		for _, br := range merged.CumulativeDistributionWithTicks(5) {
			q := br.Quantile
			if q >= 100 || float64(br.Count) >= n {
				q = 100 * (1 - 1/max(n, 2)) // the largest value sits at 1 - 1/N
			}
			x := percentileX(q)
			if len(pts) > 0 && x < pts[len(pts)-1].x {
				continue
			}
			pts = append(pts, chartPoint{x, float64(br.ValueAt)})
		}
		maxX = max(maxX, pts[len(pts)-1].x)
		c.series = append(c.series, lineSeries{name: name, color: color, pts: pts})
	}
	if len(labels) > 1 {
		for i, l := range labels {
			var hs []bench.LatencySummary
			for _, run := range s.Runs {
				hs = append(hs, run.Latency[l])
			}
			add(l, hs, chartPalette[i%len(chartPalette)])
		}
	} else {
		for i, run := range s.Runs {
			name := "all ops"
			if len(s.Runs) > 1 {
				name = fmt.Sprintf("run %d", run.Index+1)
			}
			add(name, []bench.LatencySummary{run.Latency[bench.OverallKey]}, chartPalette[i%len(chartPalette)])
		}
	}
	for x := 0.0; x <= math.Ceil(maxX); x++ {
		c.xTicks = append(c.xTicks, x)
	}
	return c
}

var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="perfkit">
<title>{{.Title}}</title>
<style>
:root { --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; --card: #fff; --bad: #b91c1c; --good: #15803d; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem 3rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.35rem; margin: .25rem 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .25rem; }
h3 { font-size: .95rem; margin: 1rem 0 .35rem; }
.muted, .meta { color: var(--muted); }
.env { display: flex; flex-wrap: wrap; gap: .15rem 1.25rem; margin-bottom: 1rem; }
.env b { font-weight: 600; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin: 1rem 0; overflow-x: auto; }
table { border-collapse: collapse; }
th, td { padding: .2rem .8rem .2rem 0; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.sub td:first-child { padding-left: 1.2rem; color: var(--muted); }
ul.notes { margin: .5rem 0 0; padding-left: 1.2rem; }
.pass { color: var(--good); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
li.firing.critical { color: var(--bad); }
li.firing.warning { color: var(--warn); }
li.resolved { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
svg.chart { max-width: 100%; height: auto; background: #fff; font: 11px system-ui, sans-serif; }
svg .title { font-weight: 600; font-size: 12px; fill: var(--fg); }
svg .legend { fill: var(--fg); }
svg .key { stroke-width: 2; }
svg .ytick { text-anchor: end; fill: var(--muted); }
svg .xtick, svg .xlabel, svg .empty { text-anchor: middle; fill: var(--muted); }
svg .grid { stroke: #eef0f3; stroke-width: 1; }
svg .frame { fill: none; stroke: #d1d5db; }
svg .series { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
svg .band { fill: #fee2e2; opacity: .7; }
footer { margin-top: 2rem; font-size: 12px; color: var(--muted); }
</style>
</head>
<body>
<h1>{{.Title}}{{if .Result.Partial}} <span class="fail">(partial)</span>{{end}}</h1>
<div class="env">{{range .Env}}<span>{{.K}} <b>{{.V}}</b></span>{{end}}</div>

<section class="card">
<h2>Summary</h2>
<table class="summary">
<tr>{{range $i, $c := .Columns}}<th{{if and (ge $i 2) (le $i 10)}} class="num"{{end}}>{{$c}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Sub}} class="sub"{{end}}>{{range $i, $c := .Cells}}<td{{if and (ge $i 2) (le $i 10)}} class="num"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>

{{range .Scenarios}}
<section class="card scenario" id="{{.Anchor}}">
<h2>{{.Name}}</h2>
<div class="meta">{{.Meta}}</div>
{{if .Params}}<div class="meta">params: {{range $i, $p := .Params}}{{if $i}}, {{end}}{{$p.K}}={{$p.V}}{{end}}</div>{{end}}
{{if .Thresholds}}<h3>Thresholds</h3>
<table class="thresholds">{{range .Thresholds}}<tr><td>{{if .Passed}}<span class="pass">pass</span>{{else}}<span class="fail">FAIL</span>{{end}}</td><td><code>{{.Expr}}</code></td><td class="num">{{.Value}}</td></tr>{{end}}</table>{{end}}
{{if .Alerts}}<h3>Alerts</h3>
<ul class="alerts">{{range .Alerts}}<li class="{{.Class}}">{{.Text}}</li>{{end}}</ul>{{end}}
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
{{if .Runs}}<h3>Runs</h3>
<table class="runs"><tr><th class="num">run</th><th class="num">ops</th><th class="num">ops/s</th><th class="num">err %</th><th class="num">p50</th><th class="num">p99</th><th class="num">max</th><th class="num" title="perfkit's own process: with an external target, the load generator's cost, not the service's">perfkit cpu/op</th><th class="num" title="perfkit's own process: with an external target, the load generator's cost, not the service's">perfkit alloc/op</th><th>valid</th></tr>
{{range .Runs}}<tr><td class="num">{{.Index}}</td><td class="num">{{.Ops}}</td><td class="num">{{.Throughput}}</td><td class="num">{{.ErrRate}}</td><td class="num">{{.P50}}</td><td class="num">{{.P99}}</td><td class="num">{{.Max}}</td><td class="num">{{.OwnCPU}}</td><td class="num">{{.OwnAlloc}}</td><td>{{.Valid}}</td></tr>
{{end}}</table>{{end}}
{{if .Spread}}<h3>Spread across runs</h3>
<table class="spread">{{range .Spread}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table>{{end}}
{{if .Errors}}<h3>Errors by kind</h3>
<table class="errors">{{range .Errors}}<tr><td>{{.K}}</td><td class="num">{{.V}}</td></tr>{{end}}</table>{{end}}
{{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
{{end}}
<footer>Written by perfkit from result {{.Result.ID}} (schema {{.Result.SchemaVersion}}). Self-contained: no script, no network.</footer>
</body>
</html>
`))
