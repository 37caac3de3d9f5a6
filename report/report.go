// Package report renders a bench.Result for people and programs: an aligned
// terminal table, GitHub-flavoured markdown for CI job summaries, or the
// result file's own JSON. Renderers only read the Result; they compute
// nothing the engine has not recorded except medians across runs.
package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// Format names an output format; its values are what --format accepts.
type Format string

// Output formats.
const (
	// Table is an aligned text table for terminals, one row per scenario.
	Table Format = "table"
	// JSON is the result file itself (schema_version 1).
	JSON Format = "json"
	// Markdown is a GitHub-flavoured markdown table, for CI job summaries.
	Markdown Format = "markdown"
)

// Formats returns the accepted formats in the order help text lists them.
func Formats() []Format { return []Format{Table, JSON, Markdown, CSV} }

// ParseFormat returns the Format named s (case-insensitive; "md" is accepted
// for markdown). Its error names s and lists the accepted formats.
func ParseFormat(s string) (Format, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "md" {
		return Markdown, nil
	}
	for _, f := range Formats() {
		if v == string(f) {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("format %q: accepted: %s", s, strings.Join(names, ", "))
}

// Write renders r to w in format f.
func Write(w io.Writer, r *bench.Result, f Format) error {
	switch f {
	case Table:
		return WriteTable(w, r)
	case JSON:
		return WriteJSON(w, r)
	case Markdown:
		return WriteMarkdown(w, r)
	case HTML:
		return WriteHTML(w, r)
	case CSV:
		return WriteCSV(w, r)
	}
	p, err := ParseFormat(string(f))
	if err != nil {
		return err
	}
	return Write(w, r, p) // a spelling ParseFormat accepts, such as "MD"
}

// WriteJSON writes r as the result file's indented JSON.
func WriteJSON(w io.Writer, r *bench.Result) error {
	if r == nil {
		return errNoResult()
	}
	return r.WriteJSON(w)
}

func errNoResult() error { return errors.New("report: no result to render (nil)") }

// groupInOrder groups items by key, the keys in the order they first
// appear: a report's sections per scenario, in the result's order.
func groupInOrder[T any](items []T, key func(T) string) (order []string, by map[string][]T) {
	by = map[string][]T{}
	for _, it := range items {
		k := key(it)
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], it)
	}
	return order, by
}
