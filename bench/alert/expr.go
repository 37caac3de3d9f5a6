// Package alert evaluates perfkit's live alert rules and end-of-run
// thresholds, and delivers alert notifications.
//
// Both use one small grammar, METRIC[{LABEL}] OP VALUE:
//
//	p99 > 50ms            p99{l2_hit} > 2ms       error_rate > 1%
//	throughput < 500/s    rss > 512MiB            cpu > 90%
//	l2_miss > 100/s       bytes_in < 1000
//
// Metrics: throughput (ops/s), error_rate (share of ops), latency p50, p75,
// p90, p95, p99, p999 (any pNN...: p9999 is the 99.99th percentile), mean,
// min and max, rss (resident set), cpu (perfkit's CPU as a share of
// GOMAXPROCS), and any counter the workload records (a count over the
// window, or a rate with /s). A label selects the latency of one workload
// label or phase; without one the metric covers all ops.
//
// Counters kept per label (bench.LabelCounter) take the label too:
// errors{login} > 10 reads the counter "errors{login}"; error_rate{login}
// is that counter over the ops recorded under login; check_rate{json} is
// the share of the ops check json judged that passed it (the counters
// checks{json} and checks_failed{json}, as fetch's response checks keep).
//
// Expressions are parsed and checked as data, before anything runs (like
// k6's thresholds); names that only the workload knows (labels, counters)
// are checked once it is set up, by the Evaluator's SetupDone.
package alert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/perfkit/perfkit/bench"
)

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	Greater      Op = ">"
	GreaterEqual Op = ">="
	Less         Op = "<"
	LessEqual    Op = "<="
)

// holds reports whether "v op bound" is true.
func (o Op) holds(v, bound float64) bool {
	switch o {
	case Greater:
		return v > bound
	case GreaterEqual:
		return v >= bound
	case Less:
		return v < bound
	case LessEqual:
		return v <= bound
	}
	return false
}

// kind is what a metric measures, and so which values it takes.
type kind uint8

const (
	kindLatency    kind = iota + 1 // a duration: 50ms
	kindThroughput                 // ops per second: 500/s or 500
	kindErrorRate                  // a share: 1% or 0.01
	kindCPU                        // a share: 90% or 0.9
	kindRSS                        // bytes: 512MiB
	kindCounter                    // a count (100) or a rate (100/s)
	kindCheckRate                  // a share: 99.9% or 0.999
)

// builtinMetrics are the metric names that are not counters, in the order
// errors list them.
func builtinMetrics() []string {
	return []string{"throughput", "error_rate", "p50", "p75", "p90", "p95", "p99", "p999", "mean", "min", "max", "rss", "cpu", "check_rate"}
}

// Expr is a parsed expression: METRIC[{LABEL}] OP VALUE.
type Expr struct {
	// Text is the expression as written.
	Text string
	// Metric is the metric's name: throughput, error_rate, p99, rss, cpu,
	// or a counter's.
	Metric string
	// Label is the latency key the metric is taken from ("" = all ops).
	Label string
	Op    Op
	// Value is the bound, in Unit (the metric's base unit: nanoseconds,
	// ops/s, a ratio, bytes, a count).
	Value float64
	Unit  string

	kind     kind
	quantile float64 // latency percentiles: 0 < q < 100; 0 for mean/min/max
}

// SyntaxError is an expression that does not parse. Its message quotes the
// expression and the column (from 1) where it goes wrong.
type SyntaxError struct {
	Expr   string
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expression %q: column %d: %s", e.Expr, e.Column, e.Msg)
}

// ParseExpr parses and checks an expression. Errors are *SyntaxError.
func ParseExpr(s string) (Expr, error) {
	p := &parser{src: s}
	e, err := p.parse()
	if err != nil {
		return Expr{}, err
	}
	e.Text = strings.TrimSpace(s)
	return e, nil
}

// MustParseExpr is ParseExpr for expressions known to be valid.
func MustParseExpr(s string) Expr {
	e, err := ParseExpr(s)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the expression as written.
func (e Expr) String() string { return e.Text }

// key is the latency key the metric reads.
func (e Expr) key() string {
	if e.Label == "" {
		return bench.OverallKey
	}
	return e.Label
}

// usesLatency reports whether the metric reads a latency histogram.
func (e Expr) usesLatency() bool {
	return e.kind == kindLatency || (e.kind == kindThroughput || e.kind == kindErrorRate) && e.Label != ""
}

// takesLabel reports whether the metric may be given a {LABEL}.
func (e Expr) takesLabel() bool {
	switch e.kind {
	case kindLatency, kindThroughput, kindErrorRate, kindCheckRate, kindCounter:
		return true
	}
	return false
}

// counter is the name of the counter a counter metric reads: NAME, or
// NAME{LABEL} for one kept per label.
func (e Expr) counter() string {
	if e.Label == "" {
		return e.Metric
	}
	return bench.LabelCounter(e.Metric, e.Label)
}

type parser struct {
	src string
	pos int // byte offset
}

func (p *parser) fail(at int, format string, args ...any) error {
	col := utf8.RuneCountInString(p.src[:min(at, len(p.src))]) + 1
	return &SyntaxError{Expr: p.src, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func isIdent(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) parse() (Expr, error) {
	var e Expr
	p.skipSpace()
	if p.pos == len(p.src) {
		return e, p.fail(p.pos, "empty: expected METRIC[{LABEL}] OP VALUE, e.g. \"p99 > 50ms\"")
	}
	start := p.pos
	e.Metric = p.ident()
	if e.Metric == "" {
		return e, p.fail(start, "expected a metric name (%s, or a counter)", strings.Join(builtinMetrics(), ", "))
	}
	if err := e.classify(); err != nil {
		return e, p.fail(start, "%v", err)
	}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		open := p.pos
		p.pos++
		p.skipSpace()
		lstart := p.pos
		e.Label = p.ident()
		if e.Label == "" {
			return e, p.fail(lstart, "expected a label name inside {}")
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '}' {
			return e, p.fail(p.pos, "expected } to close the label opened at column %d", open+1)
		}
		p.pos++
		if !e.takesLabel() {
			return e, p.fail(open, "%s takes no label (labels select latency: p99{LABEL}, mean{LABEL}, throughput{LABEL}, error_rate{LABEL}; check_rate{CHECK}; a counter kept per label: errors{LABEL})", e.Metric)
		}
		p.skipSpace()
	}
	if e.kind == kindCheckRate && e.Label == "" {
		return e, p.fail(start, "check_rate needs a check's name: check_rate{NAME}, e.g. check_rate{json} < 99.9%%")
	}
	opAt := p.pos
	switch rest := p.src[p.pos:]; {
	case strings.HasPrefix(rest, ">="):
		e.Op = GreaterEqual
	case strings.HasPrefix(rest, "<="):
		e.Op = LessEqual
	case strings.HasPrefix(rest, ">"):
		e.Op = Greater
	case strings.HasPrefix(rest, "<"):
		e.Op = Less
	default:
		if p.pos == len(p.src) {
			return e, p.fail(p.pos, "expected an operator (>, >=, <, <=) after %s", e.Metric)
		}
		return e, p.fail(p.pos, "expected an operator (>, >=, <, <=), found %q", p.src[p.pos:])
	}
	p.pos += len(e.Op)
	if p.pos < len(p.src) && strings.ContainsRune("<>=!", rune(p.src[p.pos])) {
		return e, p.fail(opAt, "unknown operator %q (accepted: >, >=, <, <=)", p.src[opAt:p.pos+1])
	}
	p.skipSpace()
	vstart := p.pos
	raw := strings.TrimSpace(p.src[p.pos:])
	if raw == "" {
		return e, p.fail(p.pos, "expected a value after %s (%s)", e.Op, e.kind.example())
	}
	if strings.ContainsAny(raw, " \t") {
		first := strings.Fields(raw)[0]
		extra := strings.Index(raw[len(first):], strings.Fields(raw)[1]) + len(first)
		return e, p.fail(vstart+extra, "unexpected text after the value %q", first)
	}
	if err := e.parseValue(raw); err != nil {
		return e, p.fail(vstart, "value %q: %v", raw, err)
	}
	return e, nil
}

// classify sets the metric's kind from its name. Names that are not built
// in are counters, checked against the workload once it is set up.
func (e *Expr) classify() error {
	switch m := e.Metric; m {
	case "throughput":
		e.kind, e.Unit = kindThroughput, bench.UnitPerSecond
	case "error_rate":
		e.kind, e.Unit = kindErrorRate, bench.UnitRatio
	case "check_rate":
		e.kind, e.Unit = kindCheckRate, bench.UnitRatio
	case "mean", "min", "max":
		e.kind, e.Unit = kindLatency, bench.UnitNanoseconds
	case "rss":
		e.kind, e.Unit = kindRSS, bench.UnitBytes
	case "cpu":
		e.kind, e.Unit = kindCPU, bench.UnitRatio
	default:
		if q, ok, err := percentile(m); ok {
			if err != nil {
				return err
			}
			e.kind, e.Unit, e.quantile = kindLatency, bench.UnitNanoseconds, q
			return nil
		}
		if m[0] >= '0' && m[0] <= '9' {
			return fmt.Errorf("expected a metric name, found the number %q (write METRIC OP VALUE)", m)
		}
		e.kind, e.Unit = kindCounter, bench.UnitCount
	}
	return nil
}

// percentile reads pNN: the first two digits are the integer part, the rest
// the fraction (p50 → 50, p999 → 99.9, p9999 → 99.99). ok is false for
// names that are not p followed by digits only.
func percentile(m string) (q float64, ok bool, err error) {
	digits, isP := strings.CutPrefix(m, "p")
	if !isP || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false, nil
	}
	if len(digits) < 2 {
		return 0, true, fmt.Errorf("percentile %q: write two digits or more (p50, p90, p99, p999)", m)
	}
	v, _ := strconv.ParseFloat(digits[:2]+"."+digits[2:], 64)
	if v <= 0 || v >= 100 {
		return 0, true, fmt.Errorf("percentile %q: must be above p00 and below p100 (use max for the largest value)", m)
	}
	return v, true, nil
}

func (k kind) example() string {
	switch k {
	case kindLatency:
		return "a duration such as 50ms, 2ms, 1.5s"
	case kindThroughput:
		return "ops per second such as 500/s"
	case kindErrorRate, kindCPU, kindCheckRate:
		return "a percentage such as 1% (or a fraction, 0.01)"
	case kindRSS:
		return "a size such as 512MiB, 2GiB"
	}
	return "a count such as 100, or a rate such as 100/s"
}

// parseValue reads the bound in the unit the metric's kind calls for.
func (e *Expr) parseValue(s string) error {
	if strings.HasPrefix(s, "-") {
		return errors.New("must not be negative")
	}
	var v float64
	var err error
	switch e.kind {
	case kindLatency:
		var d time.Duration
		if d, err = time.ParseDuration(s); err != nil {
			if _, nerr := number(s); nerr == nil {
				return fmt.Errorf("needs a unit: %s", e.kind.example())
			}
			return fmt.Errorf("not a duration (%s)", e.kind.example())
		}
		v = float64(d)
	case kindThroughput:
		if v, err = number(strings.TrimSuffix(s, "/s")); err != nil {
			return fmt.Errorf("not a rate (%s)", e.kind.example())
		}
	case kindErrorRate, kindCPU, kindCheckRate:
		if v, err = share(s); err != nil {
			return fmt.Errorf("%v (%s)", err, e.kind.example())
		}
	case kindRSS:
		if v, err = size(s); err != nil {
			return fmt.Errorf("not a size (%s)", e.kind.example())
		}
	case kindCounter:
		num, rate := strings.CutSuffix(s, "/s")
		if v, err = number(num); err != nil {
			return fmt.Errorf("not a number: %s is not a built-in metric (%s), so it names a workload counter, which takes %s",
				e.Metric, strings.Join(builtinMetrics(), ", "), e.kind.example())
		}
		if rate {
			e.Unit = bench.UnitCountPerSec
		}
	}
	e.Value = v
	return nil
}

// number parses a finite, non-negative decimal, with an optional k or M
// multiplier (2k = 2000).
func number(s string) (float64, error) {
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mul, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mul, s = 1e6, strings.TrimSuffix(s, "M")
	}
	if s == "" || strings.Trim(s, "0123456789.") != "" {
		return 0, errors.New("not a number")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || v < 0 {
		return 0, errors.New("not a number")
	}
	return v * mul, nil
}

// share parses 1% or 0.01 into a ratio between 0 and 1.
func share(s string) (float64, error) {
	num, pct := strings.CutSuffix(s, "%")
	v, err := number(num)
	if err != nil {
		return 0, errors.New("not a percentage")
	}
	if pct {
		v /= 100
	}
	if v > 1 {
		return 0, errors.New("must be at most 100%")
	}
	return v, nil
}

// size parses bytes: 512MiB, 1GiB, 64KiB, 500MB, 1024 (bytes), 12B.
func size(s string) (float64, error) {
	units := []struct {
		suffix string
		mul    float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := number(num)
			return v * u.mul, err
		}
	}
	return number(s)
}

// Check reports whether a scenario produces the expression's metric and
// label, naming what it does produce when not.
func (e Expr) Check(info *bench.ScenarioInfo) error {
	counters := "records no counters"
	if len(info.Counters) > 0 {
		counters = "counters: " + strings.Join(info.Counters, ", ")
	}
	switch {
	case e.kind == kindCounter:
		if !slices.Contains(info.Counters, e.counter()) {
			return fmt.Errorf("unknown metric %q: not a built-in metric (%s) nor a counter of workload %s (%s)",
				e.counter(), strings.Join(builtinMetrics(), ", "), info.Workload, counters)
		}
	case e.kind == kindCheckRate:
		if !slices.Contains(info.Counters, bench.LabelCounter(bench.ChecksCounter, e.Label)) {
			return fmt.Errorf("check %q: workload %s runs no such check (checks: %s)", e.Label, info.Workload, labelsOf(info.Counters, bench.ChecksCounter))
		}
	case e.kind == kindErrorRate && e.Label != "":
		if !slices.Contains(info.Counters, bench.LabelCounter(bench.ErrorsCounter, e.Label)) {
			return fmt.Errorf("error_rate{%s}: workload %s does not count errors of label %q (labels it does: %s)", e.Label, info.Workload, e.Label, labelsOf(info.Counters, bench.ErrorsCounter))
		}
	case e.Label != "":
		if !slices.Contains(info.LatencyKeys, e.Label) {
			return fmt.Errorf("label %q: workload %s does not record it (labels: %s)", e.Label, info.Workload, strings.Join(info.LatencyKeys, ", "))
		}
	}
	return nil
}

// labelsOf lists the labels a counter is kept for, from the counters
// NAME{LABEL} among counters ("none" when there are none).
func labelsOf(counters []string, name string) string {
	var out []string
	for _, c := range counters {
		if l, ok := strings.CutPrefix(c, name+"{"); ok && strings.HasSuffix(l, "}") {
			out = append(out, strings.TrimSuffix(l, "}"))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
