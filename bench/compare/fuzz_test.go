package compare

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

func addSeeds(f *testing.F) {
	valid, err := json.Marshal(result(testEnv, newSynth(1).scenario("api", 3)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/3])
	f.Add([]byte(`{"schema_version": 1, "scenarios": [{"name": "x", "runs": [{"ops": 1, "errors": 2}]}]}`))
	f.Add([]byte(`{"schema_version": 1, "scenarios": [{"name": "", "runs": null}]}`))
	f.Add([]byte(`{"schema_version": 2}`))
	f.Add([]byte(`{"schema_version": "1"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(""))
	if g, err := os.ReadFile("testdata/gobench_old.txt"); err == nil {
		f.Add(g)
	}
}

// FuzzDecodeResult: the result reader never panics, and what it accepts
// survives a write and a read, and can be compared with itself.
func FuzzDecodeResult(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bench.DecodeResult(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatalf("accepted result does not encode: %v", err)
		}
		if _, err := bench.DecodeResult(buf.Bytes()); err != nil {
			t.Fatalf("accepted result does not read back: %v\n%s", err, buf.Bytes())
		}
		src := FromResult(r, "fuzz")
		_, _ = Compare(src, src, Options{}) // errors are fine; panics are not
	})
}

// FuzzDecode: perfkit JSON or Go benchmark text, never a panic, and an
// accepted source compares with itself without flagging anything.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("BenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 13 ns/op\n"))
	f.Add([]byte("Unit x better=higher\nBenchmarkX 1 NaN x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := Decode(data, "fuzz")
		if err != nil {
			return
		}
		c, err := Compare(src, src, Options{})
		if err != nil {
			return
		}
		for _, o := range c.Outcomes {
			if o.Verdict == "regressed" || o.Verdict == "improved" {
				t.Fatalf("a source compared with itself: %s %s", o.Key, o.Verdict)
			}
		}
	})
}
