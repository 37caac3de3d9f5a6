package report

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"strconv"
	"testing"
)

// TestCSVGolden pins both CSV documents, and checks that they parse as
// CSV with every row as wide as the header.
func TestCSVGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"csv_full", func(b *bytes.Buffer) error { return Write(b, fullResult(), CSV) }},
		{"compare_csv", func(b *bytes.Buffer) error { return WriteComparison(b, sampleComparison(t), CSV, CompareOptions{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
			if err != nil {
				t.Fatalf("not CSV: %v", err)
			}
			if len(rows) < 2 {
				t.Fatalf("%d rows", len(rows))
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

// TestCSVRowsAreRuns: one row per scenario × run, numbers unformatted.
func TestCSVRowsAreRuns(t *testing.T) {
	r := fullResult()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	want := 0
	for _, sc := range r.Scenarios {
		want += len(sc.Runs)
	}
	if len(rows)-1 != want {
		t.Fatalf("%d rows, want %d (one per run)", len(rows)-1, want)
	}
	first := r.Scenarios[0].Runs[0]
	if got := rows[1][7]; got != strconv.FormatInt(first.Ops, 10) {
		t.Errorf("ops cell %q, want %d", got, first.Ops)
	}
	if got := rows[1][12]; got != strconv.FormatInt(first.Latency["op"].P50Ns, 10) {
		t.Errorf("p50_ns cell %q, want %d", got, first.Latency["op"].P50Ns)
	}
	if err := WriteCSV(&buf, nil); err == nil {
		t.Error("nil result: no error")
	}
}
