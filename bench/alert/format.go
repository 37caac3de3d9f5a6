package alert

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/units"
)

// FormatValue writes a value of an event or threshold for people, in its
// unit: 61.2ms, 512/s, 1.50%, 512MiB, 1200.
func FormatValue(v float64, unit string) string {
	switch unit {
	case bench.UnitNanoseconds:
		return duration(v)
	case bench.UnitPerSecond, bench.UnitCountPerSec:
		return sig3(v) + "/s"
	case bench.UnitRatio:
		return sig3(100*v) + "%"
	case bench.UnitBytes:
		return units.TrimZeros(units.BytesFloat(v))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// duration rounds to three significant digits in the unit time.Duration
// picks (61.2ms, 1.5s).
func duration(ns float64) string {
	d := time.Duration(math.Round(ns))
	switch {
	case d <= 0:
		return "0s"
	case d < time.Microsecond:
		return d.String()
	}
	for _, u := range []time.Duration{time.Hour, time.Minute, time.Second, time.Millisecond, time.Microsecond} {
		if d >= u {
			digits := 3 - len(strconv.FormatInt(int64(d/u), 10))
			return d.Round(u / time.Duration(math.Pow10(max(digits, 0)))).String()
		}
	}
	return d.String()
}

// sig3 writes v with three significant digits, no exponent.
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	digits := int(math.Floor(math.Log10(math.Abs(v)))) + 1
	dec := max(0, 3-digits)
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Describe is a one-line account of an alert event of a scenario, for
// stderr and chat: "FIRING critical p99-high: api p99 61.2ms > 50ms (run 1,
// 3.0s): investigate the cache".
func Describe(scenario string, ev bench.AlertEvent) string {
	var b strings.Builder
	switch ev.State {
	case bench.AlertFiring:
		fmt.Fprintf(&b, "FIRING %s %s: ", ev.Severity, ev.Rule)
	default:
		fmt.Fprintf(&b, "RESOLVED %s %s: ", ev.Severity, ev.Rule)
	}
	metric, _, _ := strings.Cut(ev.Expr, " ")
	metric, _, _ = strings.Cut(metric, "<")
	metric, _, _ = strings.Cut(metric, ">")
	op := opOf(ev.Expr)
	if ev.State != bench.AlertFiring && ev.Reason != ReasonRunEnded {
		op = negate(op)
	}
	fmt.Fprintf(&b, "%s %s %s %s %s (run %d, %.1fs)", scenario, metric, FormatValue(ev.Value, ev.Unit), op,
		FormatValue(ev.Threshold, ev.Unit), ev.Run+1, float64(ev.TMs)/1000)
	if ev.Reason == ReasonRunEnded {
		b.WriteString(", run ended")
	}
	if ev.Abort {
		b.WriteString(", aborting the run")
	}
	if ev.Message != "" {
		b.WriteString(": " + ev.Message)
	}
	return b.String()
}

func opOf(expr string) string {
	for _, op := range []Op{GreaterEqual, LessEqual, Greater, Less} {
		if strings.Contains(expr, string(op)) {
			return string(op)
		}
	}
	return "?"
}

// negate is the operator that holds when op no longer does.
func negate(op string) string {
	switch Op(op) {
	case Greater:
		return string(LessEqual)
	case GreaterEqual:
		return string(Less)
	case Less:
		return string(GreaterEqual)
	case LessEqual:
		return string(Greater)
	}
	return op
}
