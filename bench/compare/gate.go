package compare

import (
	"errors"
	"fmt"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// FailOn is the set of verdicts that fail the gate (exit 1), from
// --fail-on: a comma list of regression, invalid, inconclusive, or never.
type FailOn struct {
	// Regression: a metric regressed.
	Regression bool
	// Invalid: a scenario's new side has invalid runs (a broken build).
	Invalid bool
	// Inconclusive: a metric had too few runs to decide, for pipelines
	// that must never pass on missing evidence.
	Inconclusive bool
}

// DefaultFailOn is --fail-on's default: regression,invalid.
func DefaultFailOn() FailOn { return FailOn{Regression: true, Invalid: true} }

// failOnAccepted says what --fail-on takes, for errors.
const failOnAccepted = "accepted: a comma list of regression, invalid, inconclusive (which implies the other two), or never"

// String is the policy as --fail-on writes it.
func (f FailOn) String() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{f.Regression, "regression"}, {f.Invalid, "invalid"}, {f.Inconclusive, "inconclusive"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "never"
	}
	return strings.Join(parts, ",")
}

// Fails says whether verdict v fails the gate under f.
func (f FailOn) Fails(v stats.Verdict) bool {
	switch v {
	case stats.Regressed:
		return f.Regression
	case stats.Invalid:
		return f.Invalid
	case stats.Inconclusive:
		return f.Inconclusive
	}
	return false
}

// ParseFailOn reads a --fail-on value; errors name it and what is accepted.
func ParseFailOn(s string) (FailOn, error) {
	var f FailOn
	never := false
	for _, item := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "regression":
			f.Regression = true
		case "invalid":
			f.Invalid = true
		case "inconclusive":
			// Missing evidence fails; a regression or a broken build
			// does too (as it always has with this value).
			f = FailOn{Regression: true, Invalid: true, Inconclusive: true}
		case "never":
			never = true
		default:
			return FailOn{}, fmt.Errorf("--fail-on %q: %s", s, failOnAccepted)
		}
	}
	if never && f != (FailOn{}) {
		return FailOn{}, fmt.Errorf("--fail-on %q: never stands alone; %s", s, failOnAccepted)
	}
	return f, nil
}

// Gate is the gate policy: a verdict failOn names (regressed and invalid
// by default) says no, as a *bench.GateError of one line naming what
// failed, the invalid scenarios first; nil when the gate passes.
func Gate(c *stats.Comparison, failOn FailOn) error {
	var bad []string
	n := map[stats.Verdict]int{}
	for _, v := range []stats.Verdict{stats.Invalid, stats.Regressed, stats.Inconclusive} {
		for _, o := range c.Outcomes {
			if o.Verdict != v || !gates(o) || !failOn.Fails(v) {
				continue
			}
			n[v]++
			switch v {
			case stats.Invalid:
				bad = append(bad, fmt.Sprintf("scenario %s: %s", o.Scenario, o.Reason))
			case stats.Regressed:
				bad = append(bad, fmt.Sprintf("%s %s %s (threshold %s)", o.Scenario, o.Metric, deltaText(o), o.Threshold))
			default:
				bad = append(bad, fmt.Sprintf("%s %s inconclusive (%s)", o.Scenario, o.Metric, o.Reason))
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	plural := func(k int, one, many string) string {
		if k == 1 {
			return fmt.Sprintf("%d %s", k, one)
		}
		return fmt.Sprintf("%d %s", k, many)
	}
	var what []string
	if k := n[stats.Invalid]; k > 0 {
		what = append(what, plural(k, "invalid scenario", "invalid scenarios"))
	}
	if k := n[stats.Regressed]; k > 0 {
		what = append(what, plural(k, "regression", "regressions"))
	}
	if k := n[stats.Inconclusive]; k > 0 {
		what = append(what, fmt.Sprintf("%d inconclusive", k))
	}
	shown := bad[:min(len(bad), 3)]
	msg := fmt.Sprintf("%s: %s", strings.Join(what, ", "), strings.Join(shown, ", "))
	if len(bad) > len(shown) {
		msg += fmt.Sprintf(", and %d more", len(bad)-len(shown))
	}
	return &bench.GateError{Err: errors.New(msg)}
}

// gates says whether an outcome may fail the gate at all: the one place to
// exempt outcomes that are shown but never decide the exit code.
func gates(stats.Outcome) bool { return true }

func deltaText(o stats.Outcome) string {
	if o.Delta.Kind == stats.Absolute {
		return fmt.Sprintf("%+.2fpp", 100*o.Delta.Estimate)
	}
	return fmt.Sprintf("%+.1f%%", 100*o.Delta.Estimate)
}
