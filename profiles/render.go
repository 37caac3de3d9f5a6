package profiles

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/perfkit/perfkit/internal/units"
)

// Format is an output format of top and diff tables.
type Format string

// Formats.
const (
	// FormatTable is plain text in aligned columns, as `go tool pprof -top`.
	FormatTable Format = "table"
	// FormatMarkdown is a GitHub table, for pull requests and CI summaries.
	FormatMarkdown Format = "markdown"
	// FormatJSON is the reports as JSON, every number in the profile's unit.
	FormatJSON Format = "json"
)

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatTable, FormatMarkdown, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: accepted: table, markdown, json", s)
}

// WriteTop renders one top table.
func WriteTop(w io.Writer, r *TopReport, f Format) error {
	switch f {
	case FormatJSON:
		return writeJSON(w, r)
	case FormatMarkdown:
		return writeTopMarkdown(w, r)
	}
	return writeTopTable(w, r)
}

// WriteTops renders several top tables: one after the other, a blank line
// apart, or as one JSON array.
func WriteTops(w io.Writer, rs []*TopReport, f Format) error {
	if f == FormatJSON {
		if rs == nil {
			rs = []*TopReport{}
		}
		return writeJSON(w, rs)
	}
	for i, r := range rs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := WriteTop(w, r, f); err != nil {
			return err
		}
	}
	return nil
}

// WriteDiff renders a diff table.
func WriteDiff(w io.Writer, d *DiffReport, f Format) error {
	switch f {
	case FormatJSON:
		return writeJSON(w, d)
	case FormatMarkdown:
		return writeDiffMarkdown(w, d)
	}
	return writeDiffTable(w, d)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// topHeader is what pprof prints above its table: what, where, how much.
func topHeader(r *TopReport) []string {
	var lines []string
	if r.Title != "" {
		lines = append(lines, "Profile: "+r.Title)
	}
	if r.File != "" {
		lines = append(lines, "File: "+r.File)
	}
	if r.Covers != "" {
		lines = append(lines, "Covers: "+r.Covers)
	}
	lines = append(lines, "Type: "+r.SampleType)
	total := "Total: " + FormatValue(float64(r.Total), r.Unit)
	if r.DurationNs > 0 {
		total = "Duration: " + FormatValue(float64(r.DurationNs), "nanoseconds") + ", " + total
		if r.SampleType == "cpu" && r.Unit == "nanoseconds" {
			total += fmt.Sprintf(" (%.1f%% of the duration)", 100*float64(r.Total)/float64(r.DurationNs))
		}
	}
	if r.Ops > 0 {
		total += fmt.Sprintf("; %d ops, %s/op", r.Ops, FormatValue(float64(r.Total)/float64(r.Ops), r.Unit))
	}
	lines = append(lines, total)
	if r.Shown != r.Total {
		lines = append(lines, fmt.Sprintf("Focus/ignore keep %s (%.2f%%) of %s total", FormatValue(float64(r.Shown), r.Unit), pct(r.Shown, r.Total), FormatValue(float64(r.Total), r.Unit)))
	}
	lines = append(lines, fmt.Sprintf("Showing top %d of %d functions by %s", len(r.Rows), r.Functions, r.Sort))
	return lines
}

func writeTopTable(w io.Writer, r *TopReport) error {
	var b strings.Builder
	for _, l := range topHeader(r) {
		b.WriteString(l + "\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "flat\tflat%\tsum%\tcum\tcum%\t  function\n")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%.2f%%\t%s\t%.2f%%\t  %s\n",
			FormatValue(float64(row.Flat), r.Unit), row.FlatPct, row.SumPct,
			FormatValue(float64(row.Cum), r.Unit), row.CumPct, row.Function)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTopMarkdown(w io.Writer, r *TopReport) error {
	var b strings.Builder
	if r.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", mdEscape(r.Title))
	}
	for _, l := range topHeader(r)[boolInt(r.Title != ""):] {
		fmt.Fprintf(&b, "%s  \n", mdEscape(l))
	}
	b.WriteString("\n| flat | flat% | sum% | cum | cum% | function |\n|---:|---:|---:|---:|---:|:---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %.2f%% | %.2f%% | %s | %.2f%% | `%s` |\n",
			FormatValue(float64(row.Flat), r.Unit), row.FlatPct, row.SumPct,
			FormatValue(float64(row.Cum), r.Unit), row.CumPct, mdCode(row.Function))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// diffHeader names the two sides and how they compare.
func diffHeader(d *DiffReport) []string {
	var lines []string
	if d.Title != "" {
		lines = append(lines, "Profile: "+d.Title)
	}
	side := func(label, file string, ops int64) string {
		s := label + file
		if file == "" {
			s = label + "-"
		}
		if ops > 0 {
			s += fmt.Sprintf(" (%d ops)", ops)
		}
		return s
	}
	if d.BaseFile != "" || d.NewFile != "" {
		lines = append(lines, side("Base: ", d.BaseFile, d.BaseOps), side("New:  ", d.NewFile, d.NewOps))
	}
	unit := d.Unit
	how := "totals (a profile carries no op count)"
	per := ""
	if d.PerOp {
		how, per = "per op", "/op"
	}
	_, p := change(d.BaseTotal, d.NewTotal)
	lines = append(lines, fmt.Sprintf("Type: %s, %s: base %s%s, new %s%s (%s)", d.SampleType, how,
		FormatValue(d.BaseTotal, unit), per, FormatValue(d.NewTotal, unit), per, formatPct(p)))
	what := "changed functions"
	if d.Grew {
		what = "functions that grew"
	}
	lines = append(lines, fmt.Sprintf("Showing top %d of %d %s, by Δ%s", len(d.Rows), d.Changed, what, d.Sort))
	return lines
}

func writeDiffTable(w io.Writer, d *DiffReport) error {
	var b strings.Builder
	for _, l := range diffHeader(d) {
		b.WriteString(l + "\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "Δflat\tΔflat%\tΔcum\tΔcum%\tflat base\tflat new\tcum base\tcum new\t  function\n")
	for _, r := range d.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t  %s\n",
			FormatDelta(r.FlatDelta, d.Unit), formatPct(r.FlatDeltaPct), FormatDelta(r.CumDelta, d.Unit), formatPct(r.CumDeltaPct),
			FormatValue(r.BaseFlat, d.Unit), FormatValue(r.NewFlat, d.Unit), FormatValue(r.BaseCum, d.Unit), FormatValue(r.NewCum, d.Unit),
			r.Function+via(r.Via, "  (via %s)"))
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDiffMarkdown(w io.Writer, d *DiffReport) error {
	var b strings.Builder
	lines := diffHeader(d)
	if d.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", mdEscape(d.Title))
		lines = lines[1:]
	}
	for _, l := range lines {
		fmt.Fprintf(&b, "%s  \n", mdEscape(l))
	}
	b.WriteString("\n")
	writeDiffMarkdownRows(&b, d)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDiffMarkdownRows(b *strings.Builder, d *DiffReport) {
	b.WriteString("| Δflat | Δflat% | Δcum | Δcum% | flat base | flat new | function |\n|---:|---:|---:|---:|---:|---:|:---|\n")
	for _, r := range d.Rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | `%s`%s |\n",
			FormatDelta(r.FlatDelta, d.Unit), formatPct(r.FlatDeltaPct), FormatDelta(r.CumDelta, d.Unit), formatPct(r.CumDeltaPct),
			FormatValue(r.BaseFlat, d.Unit), FormatValue(r.NewFlat, d.Unit), mdCode(r.Function), via(mdCode(r.Via), " via `%s`"))
	}
}

// via formats a DiffRow.Via, or nothing.
func via(caller, format string) string {
	if caller == "" {
		return ""
	}
	return fmt.Sprintf(format, caller)
}

// MarshalJSON writes the percentages as numbers, or null where the base had
// none of the function (an infinite change).
func (d DiffRow) MarshalJSON() ([]byte, error) {
	type plain DiffRow
	num := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		FlatDeltaPct *float64 `json:"flat_delta_pct"`
		CumDeltaPct  *float64 `json:"cum_delta_pct"`
	}{plain(d), num(d.FlatDeltaPct), num(d.CumDeltaPct)})
}

// FormatValue formats a profile value in its unit for people, with three
// significant digits: 1.25s, 812µs, 1.50MiB, 48B, 1234 (counts stay whole up
// to ten million).
func FormatValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v < 0 {
		return "-" + FormatValue(-v, unit)
	}
	if v == 0 {
		return "0"
	}
	switch unit {
	case "nanoseconds":
		return scaled(v, 1000, []string{"ns", "µs", "ms", "s"})
	case "microseconds":
		return scaled(v*1e3, 1000, []string{"ns", "µs", "ms", "s"})
	case "milliseconds":
		return scaled(v*1e6, 1000, []string{"ns", "µs", "ms", "s"})
	case "seconds":
		return scaled(v*1e9, 1000, []string{"ns", "µs", "ms", "s"})
	case "bytes":
		return units.BytesFloat(v) // binary units, as in reports and alerts
	}
	if v == math.Trunc(v) && v < 1e7 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return scaled(v, 1000, []string{"", "k", "M", "G", "T", "P"})
}

// FormatDelta is FormatValue with a sign: +1.20ms, -300µs.
func FormatDelta(v float64, unit string) string {
	if v > 0 {
		return "+" + FormatValue(v, unit)
	}
	return FormatValue(v, unit)
}

// scaled picks the largest unit that keeps v at least 1 (the last unit
// takes any size) and prints three significant digits.
func scaled(v, step float64, units []string) string {
	i := 0
	for i < len(units)-1 && v >= step {
		v /= step
		i++
	}
	if i == 0 && v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64) + units[0]
	}
	return sig3(v) + units[i]
}

// sig3 prints three significant digits without an exponent: 0.0123, 1.23,
// 12.3, 123, 12345 (never rounds away integer digits).
func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if strings.ContainsAny(s, "e") {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

// formatPct is a signed change in percent; "new" for something the base
// did not have at all.
func formatPct(p float64) string {
	switch {
	case math.IsInf(p, 1):
		return "new"
	case math.IsInf(p, -1):
		return "-inf"
	case math.IsNaN(p):
		return "n/a"
	case p > 0:
		return fmt.Sprintf("+%.1f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}

// mdCode keeps a function name inside its code span and its table cell.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
