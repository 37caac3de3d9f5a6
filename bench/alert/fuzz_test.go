package alert

import (
	"strings"
	"testing"
)

// FuzzParseExpr: any text gives an expression or a one-line error; an
// accepted one reads back from its String to the same expression.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"p99 > 40ms", "throughput < 60/s", "error_rate > 1%", "p50<5ms", "mean >= 1s",
		"errors > 0", "p99.9 > 1ms", "p99 > ", "> 5ms", "p99 >> 5ms", "p99 > NaN", "p99 > 1e309s", "throughput < -1/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		back, err := ParseExpr(e.String())
		if err != nil {
			t.Fatalf("ParseExpr(%q) accepted, but its String %q does not read back: %v", s, e.String(), err)
		}
		if back.String() != e.String() {
			t.Fatalf("round trip of %q: %q then %q", s, e.String(), back.String())
		}
	})
}

// FuzzParseSeverity: a severity or a one-line error.
func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"critical", "warning", "info", "", "CRIT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseSeverity(s); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q: %q", s, err)
		}
	})
}
