package report

import (
	"bytes"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/perfkit/perfkit/bench"
)

// WriteMarkdown writes what WriteTable does as GitHub-flavoured markdown, for
// CI job summaries ($GITHUB_STEP_SUMMARY) and pull request comments: a table
// with numbers aligned right, then the notes as a list.
func WriteMarkdown(w io.Writer, r *bench.Result) error {
	if r == nil {
		return errNoResult()
	}
	v := newView(r)
	data := make([][]string, 0, len(v.rows))
	for _, rw := range v.rows {
		cells := make([]string, len(rw.cells))
		for i, c := range rw.cells {
			cells[i] = mdEscape(c)
		}
		if rw.sub {
			// Markdown drops leading blanks in a cell: the branch marks the label.
			cells[0] = "└ " + cells[0]
		}
		data = append(data, cells)
	}
	var buf bytes.Buffer
	if err := renderTable(&buf, data, renderer.NewMarkdown(), tw.Padding{Left: " ", Right: " ", Overwrite: true}); err != nil {
		return err
	}
	// The markdown renderer ends with blank lines: keep one before the notes.
	out := bytes.TrimRight(buf.Bytes(), "\n")
	out = append(out, '\n')
	if len(v.notes) > 0 {
		out = append(out, '\n')
		for _, n := range v.notes {
			out = append(out, "- "+mdEscape(n)+"\n"...)
		}
	}
	_, err := w.Write(out)
	return err
}

// mdEscape keeps text from being read as markup: a pipe would end a table
// cell, a star or backquote start emphasis or code, and CI summaries render
// inline HTML. Underscores stay: GitHub ignores them inside words (l1_hit).
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", "*", `\*`, "`", "\\`").Replace(s)
}
