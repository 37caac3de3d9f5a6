package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/perfkit/perfkit/bench/stats"
)

// TestGeomeanRows: Go benchmark comparisons end with benchstat's geomean
// rows, in the table (even when no other row is shown), markdown and JSON.
func TestGeomeanRows(t *testing.T) {
	in := []stats.Input{
		{Key: stats.Key{Scenario: "Encode/size=1k", Metric: "sec/op"}, Unit: "sec/op", Better: stats.LowerIsBetter, Threshold: stats.Percent(5),
			Old: spread(250e-9, 10), New: spread(251e-9, 10)},
		{Key: stats.Key{Scenario: "Encode/size=1M", Metric: "sec/op"}, Unit: "sec/op", Better: stats.LowerIsBetter, Threshold: stats.Percent(5),
			Old: spread(210e-6, 10), New: spread(212e-6, 10)},
	}
	c, err := stats.Compare(in, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Old, c.New = "old.txt", "new.txt"
	c.Geomeans = stats.Geomeans(c.Outcomes)
	if len(c.Geomeans) != 1 {
		t.Fatalf("geomeans %+v", c.Geomeans)
	}
	var all bytes.Buffer
	for _, f := range []Format{Table, Markdown} {
		var buf bytes.Buffer
		if err := WriteComparison(&buf, &c, f, CompareOptions{}); err != nil {
			t.Fatal(err)
		}
		all.WriteString("## " + string(f) + "\n")
		all.Write(buf.Bytes())
	}
	golden(t, filepath.Join("testdata", "compare_geomean.golden"), all.Bytes())

	var buf bytes.Buffer
	if err := WriteComparison(&buf, &c, JSON, CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Geomeans []struct {
			Metric string
			N      int
			Delta  *float64
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Geomeans) != 1 || doc.Geomeans[0].N != 2 || doc.Geomeans[0].Delta == nil {
		t.Errorf("json geomeans: %v %+v", err, doc)
	}
}
