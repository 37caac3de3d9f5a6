package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/perfkit/perfkit/bench/stats"
)

// CompareOptions choose what a comparison shows.
type CompareOptions struct {
	// All shows every metric; by default tables show only the rows a reader
	// must act on: regressed, improved, inconclusive and invalid.
	All bool
	// Fails says which verdicts fail the gate, for formats that mark
	// failures (JUnit); nil: regressed and invalid, --fail-on's default.
	Fails func(stats.Verdict) bool
}

// CompareFormats are the formats `perfkit compare` writes: ReportFormats
// and JUnit.
func CompareFormats() []Format { return append(ReportFormats(), JUnit) }

// ParseCompareFormat is ParseReportFormat for `perfkit compare`: junit is
// accepted too.
func ParseCompareFormat(s string) (Format, error) {
	if strings.EqualFold(strings.TrimSpace(s), string(JUnit)) {
		return JUnit, nil
	}
	f, err := ParseReportFormat(s)
	if err != nil {
		return "", fmt.Errorf("%w, junit", err)
	}
	return f, nil
}

// WriteComparison renders c in format f: a table for terminals, markdown
// for pull requests and $GITHUB_STEP_SUMMARY, or JSON for machines (every
// metric, whatever opts say).
func WriteComparison(w io.Writer, c *stats.Comparison, f Format, opts CompareOptions) error {
	if c == nil {
		return errors.New("report: no comparison to render (nil)")
	}
	switch f {
	case Table:
		return writeComparisonText(w, c, opts, false)
	case Markdown:
		return writeComparisonText(w, c, opts, true)
	case JSON:
		return WriteComparisonJSON(w, c)
	case HTML:
		return WriteComparisonHTML(w, c)
	case CSV:
		return WriteComparisonCSV(w, c)
	case JUnit:
		return WriteComparisonJUnit(w, c, opts.Fails)
	}
	p, err := ParseFormat(string(f))
	if err != nil {
		return err
	}
	return WriteComparison(w, c, p, opts)
}

// writeComparisonText writes the summary line, the table and the notes.
func writeComparisonText(w io.Writer, c *stats.Comparison, opts CompareOptions, md bool) error {
	esc := func(s string) string { return s }
	if md {
		esc = mdEscape
	}
	var out bytes.Buffer
	out.WriteString(c.Summary() + "\n")
	var data [][]string
	var shown []stats.Outcome
	for _, o := range c.Outcomes {
		if !opts.All && (o.Verdict == stats.Unchanged || o.Verdict == stats.Info && o.Finding == stats.Unchanged) {
			continue
		}
		shown = append(shown, o)
		row := []string{o.Scenario, metricLabel(o), sideCell(o.Old, o.Unit), sideCell(o.New, o.Unit), deltaCell(o), pCell(o), verdictCell(o, md), o.Reason}
		if o.Verdict == stats.Invalid {
			row[2], row[3], row[4], row[5] = "-", "-", "-", "-"
		}
		for i := range row {
			if i != 6 || !md {
				row[i] = esc(flatten(row[i]))
			}
		}
		data = append(data, row)
	}
	out.WriteByte('\n')
	if len(data) == 0 && len(c.Outcomes) > 0 {
		out.WriteString(esc("No metric changed beyond its threshold (--all shows every metric).") + "\n\n")
	}
	// benchstat's geomean rows close the table, whatever was shown above.
	for _, g := range c.Geomeans {
		row := []string{"geomean", g.Metric, Value(g.Old, g.Unit), Value(g.New, g.Unit), formatDelta(stats.Relative, g.Delta), "-", "", fmt.Sprintf("over %d benchmarks; not tested", g.N)}
		for i := range row {
			row[i] = esc(flatten(row[i]))
		}
		data = append(data, row)
	}
	if len(data) > 0 {
		if err := writeGrid(&out, []string{"SCENARIO", "METRIC", "OLD", "NEW", "DELTA", "P", "VERDICT", "REASON"}, []bool{false, false, true, true, true, true, false, false}, data, md); err != nil {
			return err
		}
		out.WriteByte('\n')
	}
	var notes []string
	notes = append(notes, fmt.Sprintf("old: %s; new: %s", c.Old, c.New))
	comparisons := "comparisons"
	if c.Family == 1 {
		comparisons = "comparison"
	}
	notes = append(notes, fmt.Sprintf("alpha %s family-wise, Holm over %d %s; P is Holm-adjusted; ± is the 95%% interval of each median",
		strconv.FormatFloat(c.Alpha, 'g', -1, 64), c.Family, comparisons))
	if len(c.Added) > 0 {
		notes = append(notes, "added (new only, not compared): "+strings.Join(c.Added, ", "))
	}
	if len(c.Removed) > 0 {
		notes = append(notes, "removed (old only, not compared): "+strings.Join(c.Removed, ", "))
	}
	notes = append(notes, ownNotes(shown, c.InfoFamily)...)
	notes = append(notes, outcomeWarnings(c.Outcomes)...)
	for _, wn := range c.Warnings {
		notes = append(notes, "warning: "+wn)
	}
	for _, n := range notes {
		if md {
			out.WriteString("- " + mdEscape(flatten(n)) + "\n")
		} else {
			out.WriteString(flatten(n) + "\n")
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

// ownLabels are the names tables give perfkit's own costs (stats.Outcome.Own):
// figures of perfkit's process, which are the service's only when it runs in
// that process.
var ownLabels = map[string]string{"cpu_per_op": "perfkit cpu/op", "alloc_per_op": "perfkit alloc/op"}

// metricLabel is a metric's name as tables show it: perfkit's own costs
// say whose they are ("perfkit cpu/op"); JSON keeps the metric's key.
func metricLabel(o stats.Outcome) string {
	if !o.Own {
		return o.Metric
	}
	if l, ok := ownLabels[o.Metric]; ok {
		return l
	}
	return "perfkit " + o.Metric
}

// ownNotes say what perfkit's own metrics among outs (the rows shown)
// measure and whether they gate: informational against an external target,
// gating when the system under test ran in perfkit's process (or when
// --gate-own-metrics asked for it). infoFamily
// is the size of the informational outcomes' Holm family.
func ownNotes(outs []stats.Outcome, infoFamily int) []string {
	var info, gating []string
	for _, o := range outs {
		if !o.Own {
			continue
		}
		list := &gating
		if o.Verdict == stats.Info {
			list = &info
		}
		if l := metricLabel(o); !slices.Contains(*list, l) {
			*list = append(*list, l)
		}
	}
	var notes []string
	if len(info) > 0 {
		notes = append(notes, fmt.Sprintf("info (not gating): %s: perfkit's own costs; with an external target they are the load generator's, not the service's (Holm over %d apart; --gate-own-metrics makes them gate)",
			strings.Join(info, ", "), infoFamily))
	}
	if len(gating) > 0 {
		notes = append(notes, fmt.Sprintf("%s: perfkit's own process's costs, gating: the system under test runs in that process (or --gate-own-metrics)", strings.Join(gating, ", ")))
	}
	return notes
}

// outcomeWarnings lists the warnings of the outcomes, one line per warning
// and scenario, naming the metrics it concerns unless it concerns them all
// ("no valid runs in new" is said once, not once per metric).
func outcomeWarnings(outs []stats.Outcome) []string {
	type group struct {
		scenario, text string
		metrics        []string
	}
	var groups []*group
	index := map[[2]string]*group{}
	perScenario := map[string]int{}
	for _, o := range outs {
		perScenario[o.Scenario]++
		for _, wn := range o.Warnings {
			k := [2]string{o.Scenario, wn}
			g, ok := index[k]
			if !ok {
				g = &group{scenario: o.Scenario, text: wn}
				index[k] = g
				groups = append(groups, g)
			}
			g.metrics = append(g.metrics, o.Metric)
		}
	}
	lines := make([]string, 0, len(groups))
	for _, g := range groups {
		who := g.scenario
		if len(g.metrics) < perScenario[g.scenario] {
			who += " " + strings.Join(g.metrics, ", ")
		}
		lines = append(lines, "warning: "+who+": "+g.text)
	}
	return lines
}

// WriteList writes rows under header as the same plain aligned table that
// WriteTable draws: for listings such as `perfkit baseline list`.
func WriteList(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	if err := writeGrid(&buf, header, nil, rows, false); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeGrid renders a table with tablewriter, in WriteTable's plain style or
// as markdown; right[i] aligns column i to the right.
func writeGrid(w io.Writer, header []string, right []bool, data [][]string, md bool) error {
	rend, pad := plainStyle()
	if md {
		rend, pad = renderer.NewMarkdown(), tw.Padding{Left: " ", Right: " ", Overwrite: true}
	}
	var buf bytes.Buffer
	if err := renderGrid(&buf, header, right, data, rend, pad); err != nil {
		return err
	}
	// Padded columns leave blanks at line ends, and the markdown renderer
	// blank lines after the table: drop both.
	for line := range strings.Lines(strings.TrimRight(buf.String(), "\n")) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// flatten keeps a cell or note on one line whatever a scenario name holds.
func flatten(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}

// sideCell is "450µs ±2%": the median and the half-width of its interval
// as a percentage of it, as benchstat shows them.
func sideCell(s stats.Summary, unit string) string {
	if s.N == 0 {
		return "-"
	}
	return Value(s.Median, unit) + " " + rangePct(s)
}

func rangePct(s stats.Summary) string {
	switch {
	case math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0):
		return "±∞"
	case s.Median == 0:
		if s.Lo == 0 && s.Hi == 0 {
			return "±0%"
		}
		return "±?"
	}
	v := math.Max(s.Hi/s.Median-1, 1-s.Lo/s.Median)
	if v < 0 {
		return "±?" // bounds on the other side of zero
	}
	return "±" + strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
}

// Value formats a metric value for people by its unit: durations ("ns",
// Go's "sec/op"), rates ("ops/s", "B/s"), bytes ("B", "B/op"), fractions
// ("fraction": 0.0012 is 0.120%), else three significant digits and the unit.
func Value(v float64, unit string) string {
	switch unit {
	case "ns":
		return nanos(v)
	case "sec/op":
		return nanos(v * 1e9)
	case "ops/s":
		return Rate(v) + "/s"
	case "B/s":
		return Bytes(int64(math.Round(v))) + "/s"
	case "B", "B/op":
		return Bytes(int64(math.Round(v)))
	case "fraction":
		return Rate(100*v) + "%"
	case "allocs/op":
		return Rate(v)
	}
	return Rate(v) + " " + unit
}

// nanos is Duration for float nanoseconds, keeping sub-nanosecond values
// (Go benchmarks of tiny functions) readable.
func nanos(v float64) string {
	if math.Abs(v) < 999.5 && v != math.Trunc(v) {
		return Rate(v) + "ns"
	}
	if math.Abs(v) >= math.MaxInt64 {
		return Rate(v/1e9) + "s"
	}
	return Duration(int64(math.Round(v)))
}

func deltaCell(o stats.Outcome) string {
	if o.Old.N == 0 || o.New.N == 0 {
		return "-"
	}
	return formatDelta(o.Delta.Kind, o.Delta.Estimate)
}

func formatDelta(kind stats.ThresholdKind, v float64) string {
	sign := ""
	switch {
	case v > 0:
		sign = "+"
	case math.IsInf(v, -1):
		sign = "-"
	}
	if math.IsInf(v, 0) {
		if kind == stats.Absolute {
			return sign + "∞"
		}
		return sign + "∞%"
	}
	if kind == stats.Absolute {
		return sign + strconv.FormatFloat(100*v, 'f', 2, 64) + "pp"
	}
	return sign + strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

// pCell is "p=0.002 n=10" (or n=10+8): the Holm-adjusted p-value and the
// runs behind it, "-" when nothing was tested.
func pCell(o stats.Outcome) string {
	n := strconv.Itoa(o.Old.N)
	if o.New.N != o.Old.N {
		n += "+" + strconv.Itoa(o.New.N)
	}
	if !o.Tested {
		return "n=" + n
	}
	return fmt.Sprintf("p=%.3f n=%s", o.PAdjusted, n)
}

// infoText is an Info outcome's verdict as people read it: "info:
// regressed (external target)", what the data said and why it does not gate.
func infoText(o stats.Outcome) string {
	v := "info"
	if o.Finding != "" {
		v += ": " + o.Finding.Symbol()
	}
	if o.InfoReason != "" {
		v += " (" + o.InfoReason + ")"
	}
	return v
}

// verdictCell is the verdict, in bold in markdown when it fails the gate
// by default; the REASON column says why.
func verdictCell(o stats.Outcome, md bool) string {
	v := o.Verdict.Symbol()
	if o.Verdict == stats.Info {
		v = infoText(o)
	}
	if md && (o.Verdict == stats.Regressed || o.Verdict == stats.Invalid) {
		v = "**" + v + "**"
	}
	return v
}

// ComparisonSchemaVersion is the version of WriteComparisonJSON's document.
const ComparisonSchemaVersion = 1

// comparisonJSON is the document of `perfkit compare --format json`,
// documented in docs/compare.md ("The comparison output"). Numbers that are
// unbounded or infinite are null.
type comparisonJSON struct {
	SchemaVersion int           `json:"schema_version"`
	Old           string        `json:"old"`
	New           string        `json:"new"`
	Alpha         float64       `json:"alpha"`
	Family        int           `json:"family"`
	InfoFamily    int           `json:"info_family"`
	Summary       string        `json:"summary"`
	Counts        countsJSON    `json:"counts"`
	Comparisons   []outcomeJSON `json:"comparisons"`
	Added         []string      `json:"added"`
	Removed       []string      `json:"removed"`
	Warnings      []string      `json:"warnings"`
	// Geomeans are benchstat's summary rows, Go benchmark input only.
	Geomeans []geomeanJSON `json:"geomeans,omitempty"`
}

type geomeanJSON struct {
	Metric string   `json:"metric"`
	Unit   string   `json:"unit"`
	N      int      `json:"n"`
	Old    *float64 `json:"old"`
	New    *float64 `json:"new"`
	Delta  *float64 `json:"delta"`
}

type countsJSON struct {
	Regressed    int `json:"regressed"`
	Improved     int `json:"improved"`
	Unchanged    int `json:"unchanged"`
	Inconclusive int `json:"inconclusive"`
	Invalid      int `json:"invalid"`
	Info         int `json:"info"`
}

type outcomeJSON struct {
	Scenario    string    `json:"scenario"`
	Metric      string    `json:"metric"`
	Unit        string    `json:"unit"`
	Better      string    `json:"better"`
	Threshold   string    `json:"threshold"`
	Old         sideJSON  `json:"old"`
	New         sideJSON  `json:"new"`
	Delta       deltaJSON `json:"delta"`
	P           float64   `json:"p"`
	PAdjusted   float64   `json:"p_adjusted"`
	Tested      bool      `json:"tested"`
	Significant bool      `json:"significant"`
	Verdict     string    `json:"verdict"`
	Finding     string    `json:"finding,omitempty"`
	InfoReason  string    `json:"info_reason,omitempty"`
	Own         bool      `json:"own"`
	Gating      bool      `json:"gating"`
	NeedsRuns   int       `json:"needs_runs,omitempty"`
	Reason      string    `json:"reason"`
	InvalidRuns int       `json:"invalid_runs,omitempty"`
	Runs        int       `json:"runs,omitempty"`
	Warnings    []string  `json:"warnings"`
}

type sideJSON struct {
	N          int      `json:"n"`
	Median     *float64 `json:"median"`
	Lo         *float64 `json:"lo"`
	Hi         *float64 `json:"hi"`
	Confidence float64  `json:"confidence"`
}

type deltaJSON struct {
	Kind       string   `json:"kind"`
	Estimate   *float64 `json:"estimate"`
	Lo         *float64 `json:"lo"`
	Hi         *float64 `json:"hi"`
	Confidence float64  `json:"confidence"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func side(s stats.Summary) sideJSON {
	j := sideJSON{N: s.N, Confidence: s.Confidence}
	if s.N > 0 {
		j.Median, j.Lo, j.Hi = finite(s.Median), finite(s.Lo), finite(s.Hi)
	}
	return j
}

// WriteComparisonJSON writes every outcome of c as indented JSON (schema
// in docs/compare.md, "The comparison output").
func WriteComparisonJSON(w io.Writer, c *stats.Comparison) error {
	doc := comparisonJSON{
		SchemaVersion: ComparisonSchemaVersion,
		Old:           c.Old, New: c.New, Alpha: c.Alpha, Family: c.Family, InfoFamily: c.InfoFamily, Summary: c.Summary(),
		Counts: countsJSON{
			Regressed: c.Count(stats.Regressed), Improved: c.Count(stats.Improved),
			Unchanged: c.Count(stats.Unchanged), Inconclusive: c.Count(stats.Inconclusive),
			Invalid: c.Count(stats.Invalid), Info: c.Count(stats.Info),
		},
		Comparisons: make([]outcomeJSON, 0, len(c.Outcomes)),
		Added:       nonNil(c.Added), Removed: nonNil(c.Removed), Warnings: nonNil(c.Warnings),
	}
	for _, g := range c.Geomeans {
		doc.Geomeans = append(doc.Geomeans, geomeanJSON{Metric: g.Metric, Unit: g.Unit, N: g.N, Old: finite(g.Old), New: finite(g.New), Delta: finite(g.Delta)})
	}
	for _, o := range c.Outcomes {
		kind := "relative"
		if o.Delta.Kind == stats.Absolute {
			kind = "absolute"
		}
		d := deltaJSON{Kind: kind, Confidence: o.Delta.Confidence}
		if o.Old.N > 0 && o.New.N > 0 {
			d.Estimate, d.Lo, d.Hi = finite(o.Delta.Estimate), finite(o.Delta.Lo), finite(o.Delta.Hi)
		}
		doc.Comparisons = append(doc.Comparisons, outcomeJSON{
			Scenario: o.Scenario, Metric: o.Metric, Unit: o.Unit, Better: o.Better.String(),
			Threshold: o.Threshold.String(), Old: side(o.Old), New: side(o.New), Delta: d,
			P: o.P, PAdjusted: o.PAdjusted, Tested: o.Tested, Significant: o.Significant,
			Verdict: string(o.Verdict), Finding: string(o.Finding), InfoReason: o.InfoReason,
			Own: o.Own, Gating: o.Verdict != stats.Info, NeedsRuns: o.NeedRuns, Reason: o.Reason,
			InvalidRuns: o.InvalidRuns, Runs: o.Runs, Warnings: nonNil(o.Warnings),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
