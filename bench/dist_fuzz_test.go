package bench

import (
	"strings"
	"testing"
)

// FuzzParseDist: any text gives a distribution or a one-line error; an
// accepted one reads back from its String and never samples below zero.
func FuzzParseDist(f *testing.F) {
	for _, s := range []string{"5ms", "fixed:5ms", "uniform:1ms..10ms", "lognormal:p50=50ms,p99=800ms",
		"exp:mean=10ms", "0", "0s", "uniform:10ms..1ms", "lognormal:p50=1s,p99=1ms", "exp:mean=-1s", "fixed:", ":", "zipf:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDist(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		back, err := ParseDist(d.String())
		if err != nil {
			t.Fatalf("ParseDist(%q) accepted, but its String %q does not read back: %v", s, d.String(), err)
		}
		if back.String() != d.String() {
			t.Fatalf("round trip of %q: %q then %q", s, d.String(), back.String())
		}
	})
}
