package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Line charts drawn as inline SVG, so an HTML report needs no script and no
// network: it opens the same in a browser, a CI artefact viewer that blocks
// scripts, or a mail client.

// chartPalette colours series in order (colour-blind safe, Okabe–Ito).
var chartPalette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

type chartPoint struct{ x, y float64 }

type lineSeries struct {
	name  string
	color string
	dash  string // stroke-dasharray, "" for solid
	pts   []chartPoint
}

// chartBand shades an x range (an alert firing).
type chartBand struct {
	from, to float64
	title    string
}

// chartMark is a vertical line across the plot at x.
type chartMark struct {
	x     float64
	color string
	title string
}

type lineChart struct {
	title  string
	xLabel string
	yFmt   func(float64) string
	xFmt   func(float64) string
	// xTicks, when set, places the x ticks (a log axis); else they are
	// spread evenly.
	xTicks []float64
	series []lineSeries
	bands  []chartBand
	// marks are vertical lines at an x (a change point), titled.
	marks []chartMark
	// yMin0 and xMin0 start the axes at zero.
	yMin0, xMin0 bool
}

const (
	chartW, chartH                       = 600, 270
	padLeft, padRight, padTop, padBottom = 64, 28, 40, 44
)

// svg renders the chart. Empty charts say so instead of drawing axes.
func (c lineChart) svg() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, htmlEsc(c.title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="14">%s</text>`, padLeft, htmlEsc(c.title))
	x0, x1, y0, y1, ok := c.bounds()
	if !ok {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d">no data</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	if c.yMin0 {
		y0 = min(0, y0)
	}
	if c.xMin0 {
		x0 = min(0, x0)
	}
	if n := len(c.xTicks); n > 0 { // the axis covers its ticks
		x0, x1 = min(x0, c.xTicks[0]), max(x1, c.xTicks[n-1])
	}
	yt := niceTicks(y0, y1, 5)
	y0, y1 = min(y0, yt[0]), max(y1, yt[len(yt)-1])
	if y1 == y0 {
		y1 = y0 + 1
	}
	if x1 == x0 {
		x1 = x0 + 1
	}
	pw, ph := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBottom)
	sx := func(x float64) float64 { return float64(padLeft) + (x-x0)/(x1-x0)*pw }
	sy := func(y float64) float64 { return float64(padTop) + (1-(y-y0)/(y1-y0))*ph }

	for _, bd := range c.bands {
		from, to := max(bd.from, x0), min(bd.to, x1)
		if to <= from {
			continue
		}
		fmt.Fprintf(&b, `<rect class="band" x="%s" y="%d" width="%s" height="%s"><title>%s</title></rect>`,
			svgNum(sx(from)), padTop, svgNum(sx(to)-sx(from)), svgNum(ph), htmlEsc(bd.title))
	}
	for _, t := range yt {
		y := sy(t)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, padLeft, chartW-padRight, svgNum(y), svgNum(y))
		fmt.Fprintf(&b, `<text class="ytick" x="%d" y="%s">%s</text>`, padLeft-6, svgNum(y+4), htmlEsc(c.yFmt(t)))
	}
	xt := c.xTicks
	if xt == nil {
		xt = niceTicks(x0, x1, 6)
	}
	for _, t := range xt {
		if t < x0 || t > x1 {
			continue
		}
		x := sx(t)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" x2="%s" y1="%d" y2="%d"/>`, svgNum(x), svgNum(x), padTop, chartH-padBottom)
		fmt.Fprintf(&b, `<text class="xtick" x="%s" y="%d">%s</text>`, svgNum(x), chartH-padBottom+16, htmlEsc(c.xFmt(t)))
	}
	fmt.Fprintf(&b, `<text class="xlabel" x="%d" y="%d">%s</text>`, padLeft+int(pw)/2, chartH-6, htmlEsc(c.xLabel))
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%s" height="%s"/>`, padLeft, padTop, svgNum(pw), svgNum(ph))

	for _, m := range c.marks {
		if m.x < x0 || m.x > x1 {
			continue
		}
		x := svgNum(sx(m.x))
		fmt.Fprintf(&b, `<line class="mark" x1="%s" x2="%s" y1="%d" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="5 3"><title>%s</title></line>`,
			x, x, padTop, svgNum(float64(padTop)+ph), m.color, htmlEsc(m.title))
	}
	for _, s := range c.series {
		if len(s.pts) == 0 {
			continue
		}
		var d strings.Builder
		for i, p := range s.pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, svgNum(sx(p.x)), svgNum(sy(p.y)))
		}
		dash := ""
		if s.dash != "" {
			dash = ` stroke-dasharray="` + s.dash + `"`
		}
		fmt.Fprintf(&b, `<path class="series" d="%s" stroke="%s"%s><title>%s</title></path>`, d.String(), s.color, dash, htmlEsc(s.name))
		if len(s.pts) == 1 { // a lone point draws no line
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s</title></circle>`, svgNum(sx(s.pts[0].x)), svgNum(sy(s.pts[0].y)), s.color, htmlEsc(s.name))
		}
	}
	// legend, under the title, left to right
	lx := padLeft
	for _, s := range c.series {
		w := 26 + 6*len([]rune(s.name))
		if lx+w > chartW-padRight {
			break // no room: the lines' tooltips still name them
		}
		dash := ""
		if s.dash != "" {
			dash = ` stroke-dasharray="` + s.dash + `"`
		}
		fmt.Fprintf(&b, `<line class="key" x1="%d" x2="%d" y1="27" y2="27" stroke="%s"%s/><text class="legend" x="%d" y="31">%s</text>`,
			lx, lx+14, s.color, dash, lx+18, htmlEsc(s.name))
		lx += w
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c lineChart) bounds() (x0, x1, y0, y1 float64, ok bool) {
	x0, y0 = math.Inf(1), math.Inf(1)
	x1, y1 = math.Inf(-1), math.Inf(-1)
	for _, s := range c.series {
		for _, p := range s.pts {
			x0, x1 = min(x0, p.x), max(x1, p.x)
			y0, y1 = min(y0, p.y), max(y1, p.y)
			ok = true
		}
	}
	return
}

// niceTicks spreads about n round values (1, 2 or 5 times a power of ten)
// over [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		if hi == 0 {
			return []float64{0, 1}
		}
		lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Floor(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

func svgNum(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func htmlEsc(s string) string { return template.HTMLEscapeString(s) }

// percentileX maps a quantile (0..100) to the x of a percentile plot:
// log10(1/(1-q)), so 90% is 1, 99% is 2, 99.9% is 3, as HdrHistogram's plots.
func percentileX(q float64) float64 { return math.Log10(1 / (1 - q/100)) }

// percentileLabel names a whole x of a percentile plot: 0%, 90%, 99%,
// 99.9%...
func percentileLabel(x float64) string {
	switch n := int(math.Round(x)); {
	case n <= 0:
		return "0%"
	case n == 1:
		return "90%"
	case n == 2:
		return "99%"
	default:
		return "99." + strings.Repeat("9", n-2) + "%"
	}
}
