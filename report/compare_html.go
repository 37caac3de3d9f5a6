package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/perfkit/perfkit/bench/stats"
)

// WriteComparisonHTML writes c as one self-contained HTML page: the summary,
// then per scenario a chart of every metric, old against new (each median
// with its interval) and the change with its interval against the
// threshold band, and the table behind it. No script, no network.
func WriteComparisonHTML(w io.Writer, c *stats.Comparison) error {
	if c == nil {
		return errNoComparison()
	}
	v := compareHTMLView{Summary: c.Summary(), Old: c.Old, New: c.New,
		Method: fmt.Sprintf("Mann-Whitney U per metric, Holm over %d comparison(s) at alpha %g family-wise; intervals are 95%% for each median and Holm-adjusted for the change.", c.Family, c.Alpha)}
	v.Notes = append(v.Notes, ownNotes(c.Outcomes, c.InfoFamily)...)
	v.Notes = append(v.Notes, outcomeWarnings(c.Outcomes)...)
	for _, wn := range c.Warnings {
		v.Notes = append(v.Notes, "warning: "+wn)
	}
	if len(c.Added) > 0 {
		v.Notes = append(v.Notes, "added (new only, not compared): "+strings.Join(c.Added, ", "))
	}
	if len(c.Removed) > 0 {
		v.Notes = append(v.Notes, "removed (old only, not compared): "+strings.Join(c.Removed, ", "))
	}
	order, by := groupInOrder(c.Outcomes, func(o stats.Outcome) string { return o.Scenario })
	for _, name := range order {
		outs := by[name]
		sc := compareHTMLScenario{Name: name, Chart: outcomeChart(outs)}
		for _, o := range outs {
			row := compareHTMLRow{
				Metric: metricLabel(o), Old: sideCell(o.Old, o.Unit), New: sideCell(o.New, o.Unit),
				Delta: deltaCell(o) + " " + intervalText(o), P: pCell(o), Verdict: o.Verdict.Symbol(), Class: string(o.Verdict),
				Reason: o.Reason,
			}
			if o.Verdict == stats.Info {
				row.Verdict = infoText(o)
			}
			sc.Rows = append(sc.Rows, row)
		}
		v.Scenarios = append(v.Scenarios, sc)
	}
	return compareHTMLPage.Execute(w, v)
}

func errNoComparison() error { return fmt.Errorf("report: no comparison to render (nil)") }

type compareHTMLView struct {
	Summary, Old, New, Method string
	Notes                     []string
	Scenarios                 []compareHTMLScenario
}

type compareHTMLScenario struct {
	Name  string
	Chart template.HTML
	Rows  []compareHTMLRow
}

type compareHTMLRow struct {
	Metric, Old, New, Delta, P, Verdict, Class, Reason string
}

// intervalText is the change's interval: "[+8.1%, +16.0%]".
func intervalText(o stats.Outcome) string {
	if o.Old.N == 0 || o.New.N == 0 {
		return ""
	}
	return "[" + formatDelta(o.Delta.Kind, o.Delta.Lo) + ", " + formatDelta(o.Delta.Kind, o.Delta.Hi) + "]"
}

// verdictColor colours a verdict: red regressed or invalid, green
// improved, amber inconclusive, grey unchanged.
func verdictColor(v stats.Verdict) string {
	switch v {
	case stats.Regressed, stats.Invalid:
		return "#b91c1c"
	case stats.Improved:
		return "#15803d"
	case stats.Inconclusive:
		return "#b45309"
	}
	return "#6b7280"
}

// outcomeChart draws one row per metric: on the left old (grey) and new
// (coloured by verdict) medians with their intervals, on a scale from zero;
// on the right the change with its interval against the shaded threshold
// band, each row on its own scale (units differ between rows).
func outcomeChart(outs []stats.Outcome) template.HTML {
	const (
		w, rowH, top            = 900, 38, 30
		labelW                  = 110
		leftX0, leftX1          = 120.0, 450.0
		rightX0, rightX1        = 480.0, 810.0
		verdictX                = 820
		barH                    = 9.0
		oldColor, thresholdFill = "#9ca3af", "#e5e7eb"
	)
	h := top + rowH*len(outs) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart compare" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="old against new, and the change against its threshold">`, w, h, w, h)
	fmt.Fprintf(&b, `<text class="title" x="%v" y="16">old and new: median, and its interval</text>`, leftX0)
	fmt.Fprintf(&b, `<text class="title" x="%v" y="16">change and its interval; shaded: the threshold</text>`, rightX0)
	for i, o := range outs {
		y := float64(top + rowH*i + rowH/2)
		fmt.Fprintf(&b, `<text class="legend" x="4" y="%s">%s</text>`, svgNum(y+4), htmlEsc(trimRunes(metricLabel(o), 16)))
		fmt.Fprintf(&b, `<line class="grid" x1="0" x2="%d" y1="%s" y2="%s"/>`, w, svgNum(y+rowH/2), svgNum(y+rowH/2))
		color := verdictColor(o.Verdict)
		if o.Verdict == stats.Invalid { // no numbers: why the runs are not trusted
			fmt.Fprintf(&b, `<text class="legend" x="%v" y="%s" fill="%s">%s</text>`, leftX0, svgNum(y+4), color, htmlEsc(trimRunes("invalid: "+o.Reason, 110)))
			continue
		}
		// old and new: bars from zero to the median, whiskers for the
		// interval, the value after the bar
		hi := 0.0
		for _, sd := range []stats.Summary{o.Old, o.New} {
			for _, v := range []float64{sd.Median, sd.Lo, sd.Hi} {
				if sd.N > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
					hi = max(hi, v)
				}
			}
		}
		if hi <= 0 {
			hi = 1
		}
		sx := func(v float64) float64 {
			return leftX0 + math.Max(0, math.Min(1, v/(hi*1.3)))*(leftX1-leftX0)
		}
		for j, sd := range []stats.Summary{o.Old, o.New} {
			if sd.N == 0 {
				continue
			}
			yy := y - 7 + float64(j)*12
			c, name := oldColor, "old"
			if j == 1 {
				c, name = color, "new"
			}
			lo, up := sd.Lo, sd.Hi
			if math.IsInf(lo, 0) || math.IsNaN(lo) {
				lo = 0
			}
			if math.IsInf(up, 0) || math.IsNaN(up) {
				up = hi * 1.1 // unbounded: to the edge of the data
			}
			fmt.Fprintf(&b, `<g><title>%s: %s</title><rect x="%v" y="%s" width="%s" height="%s" fill="%s"/><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#111827" stroke-width="1"/><text class="value" x="%s" y="%s">%s %s</text></g>`,
				name, htmlEsc(sideCell(sd, o.Unit)), leftX0, svgNum(yy-barH/2), svgNum(sx(sd.Median)-leftX0), svgNum(barH), c,
				svgNum(sx(lo)), svgNum(sx(up)), svgNum(yy), svgNum(yy),
				svgNum(math.Max(sx(sd.Median), sx(up))+4), svgNum(yy+3.5), name, htmlEsc(Value(sd.Median, o.Unit)))
		}
		// the change against the threshold band
		if o.Old.N == 0 || o.New.N == 0 {
			continue
		}
		t := o.Threshold.Frac()
		span := math.Max(t, 0.01)
		for _, v := range []float64{o.Delta.Estimate, o.Delta.Lo, o.Delta.Hi} {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				span = math.Max(span, math.Abs(v))
			}
		}
		span *= 1.15
		dx := func(v float64) float64 {
			return rightX0 + (math.Max(-span, math.Min(span, v))+span)/(2*span)*(rightX1-rightX0)
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%d" fill="%s"><title>threshold ±%s</title></rect>`,
			svgNum(dx(-t)), svgNum(y-rowH/2+4), svgNum(dx(t)-dx(-t)), rowH-8, thresholdFill, htmlEsc(strings.TrimPrefix(o.Threshold.String(), "+")))
		fmt.Fprintf(&b, `<line class="frame" x1="%s" x2="%s" y1="%s" y2="%s"/>`, svgNum(dx(0)), svgNum(dx(0)), svgNum(y-rowH/2+4), svgNum(y+rowH/2-4))
		lo, up := dx(o.Delta.Lo), dx(o.Delta.Hi)
		fmt.Fprintf(&b, `<g><title>change %s %s</title><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="3"/><circle cx="%s" cy="%s" r="4" fill="%s"/></g>`,
			htmlEsc(deltaCell(o)), htmlEsc(intervalText(o)), svgNum(lo), svgNum(up), svgNum(y), svgNum(y), color, svgNum(dx(o.Delta.Estimate)), svgNum(y), color)
		fmt.Fprintf(&b, `<text class="xtick" x="%s" y="%s">%s</text><text class="xtick" x="%s" y="%s">%s</text>`,
			svgNum(rightX0+14), svgNum(y+rowH/2-4), htmlEsc(formatDelta(o.Delta.Kind, -span)), svgNum(rightX1-14), svgNum(y+rowH/2-4), htmlEsc(formatDelta(o.Delta.Kind, span)))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%s" fill="%s">%s</text>`, verdictX, svgNum(y+4), color, htmlEsc(o.Verdict.Symbol()))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func trimRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var compareHTMLPage = template.Must(template.New("compare").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="perfkit">
<title>perfkit compare: {{.Summary}}</title>
<style>
:root { --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; --card: #fff; }
body { margin: 0; padding: 1rem 1.5rem 3rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.35rem; margin: .25rem 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin: 1rem 0; overflow-x: auto; }
table { border-collapse: collapse; margin-top: .75rem; }
th, td { padding: .2rem .8rem .2rem 0; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.regressed { color: #b91c1c; font-weight: 600; }
.improved { color: #15803d; font-weight: 600; }
.inconclusive { color: #b45309; }
.invalid { color: #b91c1c; font-weight: 600; }
.unchanged { color: var(--muted); }
.info { color: var(--muted); font-style: italic; }
svg.chart { max-width: 100%; height: auto; background: #fff; font: 11px system-ui, sans-serif; }
svg .title { font-weight: 600; font-size: 12px; fill: var(--fg); }
svg .legend { fill: var(--fg); font-size: 12px; }
svg .ytick { text-anchor: end; fill: var(--muted); }
svg .xtick { text-anchor: middle; fill: var(--muted); font-size: 10px; }
svg .value { fill: var(--fg); font-size: 10px; }
svg .grid { stroke: #eef0f3; }
svg .frame { stroke: #9ca3af; }
</style>
</head>
<body>
<h1>{{.Summary}}</h1>
<div class="muted">old: {{.Old}} · new: {{.New}}</div>
<div class="muted">{{.Method}}</div>
{{if .Notes}}<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Scenarios}}
<section class="card scenario">
<h2>{{.Name}}</h2>
{{.Chart}}
<table>
<tr><th>metric</th><th class="num">old</th><th class="num">new</th><th class="num">change [interval]</th><th class="num">P</th><th>verdict</th><th>reason</th></tr>
{{range .Rows}}<tr><td>{{.Metric}}</td><td class="num">{{.Old}}</td><td class="num">{{.New}}</td><td class="num">{{.Delta}}</td><td class="num">{{.P}}</td><td class="{{.Class}}">{{.Verdict}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
</section>
{{end}}
</body>
</html>
`))
