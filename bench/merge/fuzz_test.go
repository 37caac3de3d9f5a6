package merge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// FuzzMerge: an arbitrary result JSON merged with a real shard (in either
// order) merges or fails in one line, and a merged result writes and reads
// back. One fuzzed input, kept small, so the fuzzer's minimizing stays quick.
func FuzzMerge(f *testing.F) {
	in := shardInputs(2, []string{"api"}, 1, 5)
	a, err := json.Marshal(in[0].Result)
	if err != nil {
		f.Fatal(err)
	}
	other, err := json.Marshal(in[1].Result)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(a)
	f.Add(other)
	f.Add(a[:len(a)/2])
	f.Add([]byte(`{"schema_version": 1, "scenarios": []}`))
	f.Add([]byte(`{"schema_version": 1, "scenarios": [{"name": "api", "runs": [{"ops": 1, "latency": {"op": {"count": 1, "hdr": "!!"}}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		for _, order := range []bool{false, true} {
			for _, partial := range []bool{false, true} {
				fuzzed, err := bench.DecodeResult(data)
				if err != nil {
					return // the reader has its own fuzz target
				}
				real, err := bench.DecodeResult(other)
				if err != nil {
					t.Fatal(err)
				}
				ins := []Input{{Name: "fuzzed.json", Result: fuzzed}, {Name: "real.json", Result: real}}
				if order {
					ins[0], ins[1] = ins[1], ins[0]
				}
				r, err := Merge(ins, Options{AllowPartial: partial})
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
		}
	})
}
