package capacity

import (
	"strings"
	"testing"
)

// FuzzParseSLO: any text gives an SLO or a one-line error; an accepted one
// reads back from its String.
func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"p99<20ms", "error_rate<0.1%", "p50 < 1s", "throughput > 100/s", "p99>20ms", "p99<", "<1ms", "p99<NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseSLO(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		if _, err := ParseSLO(e.String()); err != nil {
			t.Fatalf("ParseSLO(%q) accepted, but its String %q does not read back: %v", s, e.String(), err)
		}
	})
}
