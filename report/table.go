package report

import (
	"bytes"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/perfkit/perfkit/bench"
)

// WriteTable writes r as an aligned text table, one row per scenario and an
// indented row per latency label when a scenario records several, followed
// by the notes: invalid runs, errors by kind, open-model schedule, counters,
// the workloads' own notes, the knee of each sweep (see Knee), and whether
// the result is partial.
//
// A scenario row aggregates its runs: total ops, the median throughput, the
// error rate over all runs, the median across runs of each latency
// percentile of its primary label ("op", else the first label), and the
// largest maximum.
func WriteTable(w io.Writer, r *bench.Result) error {
	if r == nil {
		return errNoResult()
	}
	v := newView(r)
	data := make([][]string, 0, len(v.rows))
	for _, rw := range v.rows {
		cells := rw.cells
		if rw.sub {
			cells = append([]string{"  └ " + cells[0]}, cells[1:]...)
		}
		data = append(data, cells)
	}
	var buf bytes.Buffer
	rend, pad := plainStyle()
	if err := renderTable(&buf, data, rend, pad); err != nil {
		return err
	}
	// Columns are padded to their width: drop the blanks that end lines.
	var out bytes.Buffer
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	if len(v.notes) > 0 {
		out.WriteByte('\n')
		for _, n := range v.notes {
			out.WriteString(n)
			out.WriteByte('\n')
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

// plainStyle is the look of perfkit's text tables: no borders, no rules,
// two spaces between columns (like benchstat's or kubectl's).
func plainStyle() (tw.Renderer, tw.Padding) {
	return renderer.NewBlueprint(tw.Rendition{
		Borders: tw.BorderNone,
		Symbols: tw.NewSymbols(tw.StyleNone),
		Settings: tw.Settings{
			Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
			Lines:      tw.Lines{ShowHeaderLine: tw.Off},
		},
	}), tw.Padding{Left: "", Right: "  ", Overwrite: true}
}

// renderTable renders the result table's header and data.
func renderTable(w io.Writer, data [][]string, rend tw.Renderer, pad tw.Padding) error {
	cols := columns()
	right := make([]bool, len(cols))
	for i := range cols {
		right[i] = numeric(i)
	}
	return renderGrid(w, cols, right, data, rend, pad)
}

// renderGrid renders any of perfkit's tables with tablewriter: header text
// as given, right[i] aligns column i to the right, no wrapping.
func renderGrid(w io.Writer, header []string, right []bool, data [][]string, rend tw.Renderer, pad tw.Padding) error {
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignLeft
		if i < len(right) && right[i] {
			align[i] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(rend),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithPadding(pad),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(header)
	if err := t.Bulk(data); err != nil {
		return err
	}
	return t.Render()
}
