package merge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// FuzzMerge: two shards of arbitrary result JSON merge or fail in one line,
// and a merged result writes and reads back.
func FuzzMerge(f *testing.F) {
	in := shardInputs(2, []string{"api", "db"}, 2, 50)
	a, err := json.Marshal(in[0].Result)
	if err != nil {
		f.Fatal(err)
	}
	b, err := json.Marshal(in[1].Result)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(a, b)
	f.Add(a, a)
	f.Add(a, b[:len(b)/2])
	f.Add(a, []byte(`{"schema_version": 1, "scenarios": []}`))
	f.Add([]byte(`{"schema_version": 1, "scenarios": [{"name": "x", "runs": [{"ops": 1, "hdr": "!!"}]}]}`), b)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, partial := range []bool{false, true} {
			ra, err := bench.DecodeResult(a)
			if err != nil {
				return // the reader has its own fuzz target
			}
			rb, err := bench.DecodeResult(b)
			if err != nil {
				return
			}
			r, err := Merge([]Input{{Name: "a.json", Result: ra}, {Name: "b.json", Result: rb}}, Options{AllowPartial: partial})
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("multi-line error: %q", err)
				}
				continue
			}
			var buf bytes.Buffer
			if err := r.WriteJSON(&buf); err != nil {
				t.Fatalf("merged result does not encode: %v", err)
			}
			if _, err := bench.DecodeResult(buf.Bytes()); err != nil {
				t.Fatalf("merged result does not read back: %v", err)
			}
		}
	})
}
