package stats

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ThresholdKind says what a threshold is measured against.
type ThresholdKind uint8

const (
	// Relative thresholds are a percentage of the old median: "10%".
	Relative ThresholdKind = iota
	// Absolute thresholds are percentage points of a metric that is itself a
	// fraction, such as an error rate: "+0.5pp". A relative threshold on a
	// rate that is usually zero would be meaningless.
	Absolute
)

// Threshold is the smallest change of a metric that counts. A significant
// change whose whole confidence interval lies within it is reported as
// unchanged: users gate on changes that matter to them, not on every change
// a long enough benchmark can prove.
type Threshold struct {
	Kind ThresholdKind
	// Value is the number as written: 10 for "10%", 0.5 for "+0.5pp".
	Value float64
}

// Percent returns a relative threshold of p percent.
func Percent(p float64) Threshold { return Threshold{Kind: Relative, Value: p} }

// Points returns an absolute threshold of pp percentage points.
func Points(pp float64) Threshold { return Threshold{Kind: Absolute, Value: pp} }

// Frac is the threshold as a fraction: 0.10 for "10%", 0.005 for "0.5pp".
func (t Threshold) Frac() float64 { return t.Value / 100 }

// String writes the threshold the way ParseThreshold reads it.
func (t Threshold) String() string {
	v := strconv.FormatFloat(t.Value, 'g', -1, 64)
	if t.Kind == Absolute {
		return "+" + v + "pp"
	}
	return v + "%"
}

// thresholdAccepted says what a threshold looks like, for errors.
const thresholdAccepted = "accepted: a percentage of the old median (10%) or, for error_rate, percentage points (+0.5pp)"

// ParseThreshold reads "10%" (relative) or "+0.5pp" / "0.5pp" (absolute,
// percentage points). Values must be finite and not negative: a threshold
// is a size, the metric's direction says which way is worse.
func ParseThreshold(s string) (Threshold, error) {
	t, err := parseThreshold(s)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", s, err)
	}
	return t, nil
}

func parseThreshold(s string) (Threshold, error) {
	in := strings.TrimSpace(s)
	var t Threshold
	num, ok := strings.CutSuffix(in, "%")
	if !ok {
		if num, ok = strings.CutSuffix(in, "pp"); !ok {
			return t, errors.New(thresholdAccepted)
		}
		t.Kind = Absolute
	}
	num = strings.TrimSpace(num)
	if strings.HasPrefix(num, "-") {
		return t, errors.New("must not be negative (the metric's direction says which way is worse)")
	}
	num = strings.TrimSpace(strings.TrimPrefix(num, "+"))
	// ParseFloat alone would also take "inf", "0x1p3" and "1_000".
	if !isDecimal(num) {
		return t, errors.New(thresholdAccepted)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) {
		return t, fmt.Errorf("%s is out of range", num)
	}
	t.Value = v
	return t, nil
}

// isDecimal reports whether s is digits with an optional fraction and
// exponent: 10, 0.5, .5, 1e-3.
func isDecimal(s string) bool {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		exp = strings.TrimLeft(exp, "+-")
		if exp == "" || strings.Trim(exp, "0123456789") != "" || len(exp) > 4 {
			return false
		}
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" && frac == "" {
		return false
	}
	return strings.Trim(whole, "0123456789") == "" && strings.Trim(frac, "0123456789") == ""
}

// Rule sets the threshold of one metric, in every scenario or (Scenario set)
// in one.
type Rule struct {
	Scenario  string // "" for every scenario
	Metric    string
	Threshold Threshold
}

// String writes the rule the way ParseRule reads it.
func (r Rule) String() string {
	key := r.Metric
	if r.Scenario != "" {
		key = r.Scenario + ":" + key
	}
	return key + "=" + r.Threshold.String()
}

// ParseRule reads "METRIC=THRESHOLD" or "SCENARIO:METRIC=THRESHOLD", as in
// `--threshold p99=15%` or `--threshold api:error_rate=+0.5pp`. It splits at
// the last "=" and the last ":", so scenario names such as Go's
// "Encode/size=1k" can be scoped too.
func ParseRule(s string) (Rule, error) {
	key, val, ok := cutLast(s, "=")
	if !ok {
		return Rule{}, fmt.Errorf("threshold %q: expected METRIC=VALUE or SCENARIO:METRIC=VALUE (p99=10%%, api:error_rate=+0.5pp)", s)
	}
	t, err := parseThreshold(val)
	if err != nil {
		return Rule{}, fmt.Errorf("threshold %q: value %q: %w", s, strings.TrimSpace(val), err)
	}
	key = strings.TrimSpace(key)
	var r Rule
	if sc, m, scoped := cutLast(key, ":"); scoped {
		r.Scenario, r.Metric = strings.TrimSpace(sc), strings.TrimSpace(m)
		if r.Scenario == "" {
			return Rule{}, fmt.Errorf("threshold %q: empty scenario before \":\" (SCENARIO:METRIC=VALUE)", s)
		}
	} else {
		r.Metric = key
	}
	if r.Metric == "" {
		return Rule{}, fmt.Errorf("threshold %q: no metric before \"=\" (METRIC=VALUE, e.g. p99=10%%)", s)
	}
	r.Threshold = t
	return r, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// Thresholds resolves a metric's threshold from rules: a rule scoped to the
// scenario beats one for every scenario, and among rules of the same scope the
// last one wins, so flags appended after the config file override it.
type Thresholds []Rule

// Lookup returns the threshold the rules set for the scenario's metric, and
// false when none does (the caller's default applies).
func (ts Thresholds) Lookup(scenario, metric string) (Threshold, bool) {
	var found Threshold
	var ok, scoped bool
	for _, r := range ts {
		if r.Metric != metric {
			continue
		}
		switch {
		case r.Scenario == scenario:
			found, ok, scoped = r.Threshold, true, true
		case r.Scenario == "" && !scoped:
			found, ok = r.Threshold, true
		}
	}
	return found, ok
}
