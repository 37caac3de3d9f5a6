package compare

import (
	"errors"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

func TestParseFailOn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FailOn
	}{
		{"regression", FailOn{Regression: true}},
		{"regression,invalid", DefaultFailOn()},
		{" Invalid , regression ", DefaultFailOn()},
		{"inconclusive", FailOn{Regression: true, Invalid: true, Inconclusive: true}},
		{"never", FailOn{}},
	} {
		got, err := ParseFailOn(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFailOn(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "sometimes", "never,regression", "regression,,invalid"} {
		if _, err := ParseFailOn(bad); err == nil || !strings.Contains(err.Error(), "accepted: a comma list of regression, invalid, inconclusive") {
			t.Errorf("ParseFailOn(%q): %v", bad, err)
		}
	}
	if s := DefaultFailOn().String(); s != "regression,invalid" {
		t.Errorf("default %q", s)
	}
}

// gates is the one place outcomes can be exempted: the gate counts only
// what it lets through.
func TestGateMessage(t *testing.T) {
	c := &stats.Comparison{Outcomes: []stats.Outcome{
		{Key: stats.Key{Scenario: "api", Metric: "p99"}, Verdict: stats.Inconclusive, Reason: "needs ≥ 6 runs per side"},
		stats.InvalidRuns("api", 2, 5, []string{"error rate 3.00% is over the bound 1.00%"}),
	}}
	err := Gate(c, FailOn{Regression: true, Invalid: true, Inconclusive: true})
	var ge *bench.GateError
	if !errors.As(err, &ge) ||
		err.Error() != "1 invalid scenario, 1 inconclusive: scenario api: 2 of 5 new runs invalid: error rate 3.00% is over the bound 1.00%, api p99 inconclusive (needs ≥ 6 runs per side)" {
		t.Errorf("gate: %v (%T)", err, err)
	}
	if err := Gate(c, FailOn{Regression: true}); err != nil {
		t.Errorf("--fail-on regression: %v", err)
	}
}
