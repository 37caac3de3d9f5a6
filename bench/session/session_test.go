package session

import (
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

func TestRunInvalidRuns(t *testing.T) {
	sr := func(valid ...bool) bench.ScenarioResult {
		s := bench.ScenarioResult{Name: "fetch"}
		for _, v := range valid {
			r := bench.RunResult{Valid: v}
			if !v {
				r.InvalidReasons = []string{"error rate 50.10% is over the bound 1.00%"}
			}
			s.Runs = append(s.Runs, r)
		}
		return s
	}
	if w, err := InvalidRuns(sr(true, true), true, false); w != "" || err != nil {
		t.Errorf("all valid: %q %v", w, err)
	}
	w, err := InvalidRuns(sr(false, false), false, false)
	if w != "" || err == nil || err.Error() != "could not measure: every run of fetch invalid: error rate 50.10% is over the bound 1.00%" {
		t.Errorf("all invalid: %q %v", w, err)
	}
	w, err = InvalidRuns(sr(true, false), false, false)
	if err != nil || w != "1 of 2 runs of fetch invalid: error rate 50.10% is over the bound 1.00% (compare leaves them out; --strict exits 3)" {
		t.Errorf("some invalid: %q %v", w, err)
	}
	// A sweep step past capacity: a warning, unless --strict.
	if w, err := InvalidRuns(sr(false, false), false, true); err != nil || !strings.HasPrefix(w, "every run of sweep step fetch invalid: error rate") {
		t.Errorf("sweep step all invalid: %q %v", w, err)
	}
	if _, err := InvalidRuns(sr(false, false), true, true); err == nil {
		t.Errorf("sweep step all invalid, --strict: no error")
	}
	if _, err := InvalidRuns(sr(true, false), true, false); err == nil || !strings.Contains(err.Error(), "1 of 2 runs of fetch invalid (--strict)") {
		t.Errorf("some invalid, --strict: %v", err)
	}
}
