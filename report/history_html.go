package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"

	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/bench/trend"
)

type historyHTMLView struct {
	Summary, Method string
	Notes           []string
	Scenarios       []historyHTMLScenario
}

type historyHTMLScenario struct {
	Name   string
	Charts []template.HTML
	Rows   []historyHTMLRow
}

type historyHTMLRow struct {
	Metric, At, Before, After, Change, P, Verdict, Class, Reason string
}

// writeHistoryHTML writes one self-contained page: per scenario, each
// metric over the points (x: point number, ticks named by commit), the
// segments' medians dashed, each change point a vertical line coloured by
// its verdict, and the table of change points. No script, no network.
func writeHistoryHTML(w io.Writer, a *trend.Analysis) error {
	v := historyHTMLView{Summary: HistorySummary(a)}
	notes := historyNotes(a)
	v.Method, v.Notes = notes[0]+"; "+notes[1], notes[2:]
	order, by := groupInOrder(a.Series, func(s trend.Series) string { return s.Scenario })
	for _, name := range order {
		sc := historyHTMLScenario{Name: name}
		for _, s := range by[name] {
			sc.Charts = append(sc.Charts, historyChart(a, s).svg())
			for _, c := range s.Changes {
				verdict := string(c.Verdict)
				if c.Recent {
					verdict += " (newest " + strconv.Itoa(a.Recent) + ")"
				}
				sc.Rows = append(sc.Rows, historyHTMLRow{Metric: s.Metric, At: pointLabel(a, c.At), Before: Value(c.Before, s.Unit), After: Value(c.After, s.Unit),
					Change: changeCell(c), P: fmt.Sprintf("%.3f", c.P), Verdict: verdict, Class: string(c.Verdict), Reason: c.Reason})
			}
		}
		v.Scenarios = append(v.Scenarios, sc)
	}
	return historyHTMLPage.Execute(w, v)
}

// historyChart plots one series: its values by point, each segment's
// median as a dashed step, the change points as vertical lines.
func historyChart(a *trend.Analysis, s trend.Series) lineChart {
	c := lineChart{
		title:  s.Metric,
		xLabel: "point (commit)",
		yFmt:   func(y float64) string { return Value(y, s.Unit) },
		xFmt: func(x float64) string {
			i := int(math.Round(x)) - 1
			if i < 0 || i >= len(a.Points) || float64(i+1) != x {
				return ""
			}
			if cm := a.Points[i].Commit; cm != "" {
				return cm[:min(len(cm), 7)]
			}
			return "#" + strconv.Itoa(i+1)
		},
		yMin0: true,
	}
	vals := lineSeries{name: "median of the point's runs", color: chartPalette[0]}
	for i, p := range s.Index {
		vals.pts = append(vals.pts, chartPoint{x: float64(p + 1), y: s.Values[i]})
	}
	c.series = append(c.series, vals)
	// segment medians
	starts := []int{0}
	for _, ch := range s.Changes {
		for i, p := range s.Index {
			if p == ch.At {
				starts = append(starts, i)
				break
			}
		}
	}
	starts = append(starts, len(s.Values))
	seg := lineSeries{name: "segment median", color: "#6b7280", dash: "4 3"}
	for k := 0; k+1 < len(starts); k++ {
		lo, hi := starts[k], starts[k+1]
		if hi <= lo {
			continue
		}
		m := stats.Median(s.Values[lo:hi])
		seg.pts = append(seg.pts, chartPoint{x: float64(s.Index[lo] + 1), y: m}, chartPoint{x: float64(s.Index[hi-1] + 1), y: m})
	}
	if len(s.Changes) > 0 {
		c.series = append(c.series, seg)
	}
	for _, ch := range s.Changes {
		c.marks = append(c.marks, chartMark{x: float64(ch.At+1) - 0.5, color: verdictColor(ch.Verdict),
			title: fmt.Sprintf("change point at %s: %s, p=%.3f, %s", pointLabel(a, ch.At), changeCell(ch), ch.P, ch.Verdict)})
	}
	// at most 8 ticks, on whole points
	n := len(a.Points)
	step := max(1, (n+7)/8)
	for x := 1; x <= n; x += step {
		c.xTicks = append(c.xTicks, float64(x))
	}
	return c
}

var historyHTMLPage = template.Must(template.New("history").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="perfkit">
<title>perfkit {{.Summary}}</title>
<style>
:root { --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; --card: #fff; }
body { margin: 0; padding: 1rem 1.5rem 3rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.35rem; margin: .25rem 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin: 1rem 0; overflow-x: auto; }
.charts { display: flex; flex-wrap: wrap; gap: .5rem; }
table { border-collapse: collapse; margin-top: .75rem; }
th, td { padding: .2rem .8rem .2rem 0; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.regressed { color: #b91c1c; font-weight: 600; }
.improved { color: #15803d; font-weight: 600; }
.inconclusive { color: #b45309; }
.unchanged { color: var(--muted); }
.info { color: var(--muted); font-style: italic; }
svg.chart { max-width: 100%; height: auto; background: #fff; font: 11px system-ui, sans-serif; }
svg .title { font-weight: 600; font-size: 12px; fill: var(--fg); }
svg .legend { fill: var(--fg); font-size: 12px; }
svg .key { stroke-width: 2; }
svg .ytick { text-anchor: end; fill: var(--muted); }
svg .xtick { text-anchor: middle; fill: var(--muted); font-size: 10px; }
svg .xlabel { text-anchor: middle; fill: var(--muted); }
svg .grid { stroke: #eef0f3; }
svg .frame { stroke: #9ca3af; fill: none; }
svg .series { fill: none; stroke-width: 1.5; }
svg .empty { text-anchor: middle; fill: var(--muted); }
</style>
</head>
<body>
<h1>{{.Summary}}</h1>
<div class="muted">{{.Method}}</div>
{{if .Notes}}<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Scenarios}}
<section class="card scenario">
<h2>{{.Name}}</h2>
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
{{if .Rows}}<table>
<tr><th>metric</th><th>starts at</th><th class="num">before</th><th class="num">after</th><th class="num">change [interval]</th><th class="num">P</th><th>verdict</th><th>reason</th></tr>
{{range .Rows}}<tr><td>{{.Metric}}</td><td>{{.At}}</td><td class="num">{{.Before}}</td><td class="num">{{.After}}</td><td class="num">{{.Change}}</td><td class="num">{{.P}}</td><td class="{{.Class}}">{{.Verdict}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No change points.</p>{{end}}
</section>
{{end}}
</body>
</html>
`))
