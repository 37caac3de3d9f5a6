package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

func TestParseExpr(t *testing.T) {
	cases := []struct {
		in     string
		metric string
		label  string
		op     Op
		value  float64
		unit   string
	}{
		{"p99 > 50ms", "p99", "", Greater, float64(50 * time.Millisecond), bench.UnitNanoseconds},
		{"p99{l2_hit} > 2ms", "p99", "l2_hit", Greater, float64(2 * time.Millisecond), bench.UnitNanoseconds},
		{"  p999{ op.service }>=1.5s ", "p999", "op.service", GreaterEqual, 1.5e9, bench.UnitNanoseconds},
		{"error_rate > 1%", "error_rate", "", Greater, 0.01, bench.UnitRatio},
		{"error_rate<=0.005", "error_rate", "", LessEqual, 0.005, bench.UnitRatio},
		{"throughput < 500/s", "throughput", "", Less, 500, bench.UnitPerSecond},
		{"throughput{miss} < 2k", "throughput", "miss", Less, 2000, bench.UnitPerSecond},
		{"rss > 512MiB", "rss", "", Greater, 512 << 20, bench.UnitBytes},
		{"rss > 1GB", "rss", "", Greater, 1e9, bench.UnitBytes},
		{"cpu > 90%", "cpu", "", Greater, 0.9, bench.UnitRatio},
		{"mean < 800us", "mean", "", Less, 800e3, bench.UnitNanoseconds},
		{"max < 1s", "max", "", Less, 1e9, bench.UnitNanoseconds},
		{"l2_miss > 100/s", "l2_miss", "", Greater, 100, bench.UnitCountPerSec},
		{"bytes_in < 1000", "bytes_in", "", Less, 1000, bench.UnitCount},
		{"p9999 > 10ms", "p9999", "", Greater, 1e7, bench.UnitNanoseconds},
	}
	for _, c := range cases {
		e, err := ParseExpr(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if e.Metric != c.metric || e.Label != c.label || e.Op != c.op || e.Value != c.value || e.Unit != c.unit {
			t.Errorf("%q: got %s{%s} %s %g %s, want %s{%s} %s %g %s", c.in, e.Metric, e.Label, e.Op, e.Value, e.Unit,
				c.metric, c.label, c.op, c.value, c.unit)
		}
		if e.Text != strings.TrimSpace(c.in) {
			t.Errorf("%q: text %q", c.in, e.Text)
		}
	}
	if q := MustParseExpr("p999 > 1ms").quantile; q != 99.9 {
		t.Errorf("p999 quantile %g", q)
	}
	if q := MustParseExpr("p9999 > 1ms").quantile; q != 99.99 {
		t.Errorf("p9999 quantile %g", q)
	}
}

// TestParseExprErrors: every error names the expression and the column
// where it goes wrong.
func TestParseExprErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "column 1: empty"},
		{"p99 >> 5ms", `column 5: unknown operator ">>"`},
		{"p99 => 5ms", `column 5: expected an operator (>, >=, <, <=), found "=> 5ms"`},
		{"p99 > ", "column 7: expected a value after >"},
		{"p99 > 50", `column 7: value "50": needs a unit`},
		{"p99 > fast", `column 7: value "fast": not a duration`},
		{"p99 > -5ms", "must not be negative"},
		{"p99{l2_hit > 2ms", "column 12: expected } to close the label opened at column 4"},
		{"p99{} > 2ms", "column 5: expected a label name"},
		{"rss{x} > 1GiB", "column 4: rss takes no label"},
		{"check_rate < 99%", "column 1: check_rate needs a check's name"},
		{"check_rate{json} < 101%", "must be at most 100%"},
		{"error_rate > 150%", "must be at most 100%"},
		{"throughput < fast/s", "not a rate"},
		{"rss > lots", "not a size"},
		{"p5 > 1ms", "column 1: percentile \"p5\": write two digits"},
		{"p00 > 1ms", "must be above p00"},
		{"p99 > 5ms extra", `column 11: unexpected text after the value "5ms"`},
		{"50ms < p99", "column 1: expected a metric name, found the number"},
		{"p99", "column 4: expected an operator (>, >=, <, <=) after p99"},
		{"> 5ms", "column 1: expected a metric name"},
	}
	for _, c := range cases {
		_, err := ParseExpr(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a *SyntaxError", c.in, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"`+c.in+`"`) {
			t.Errorf("%q: error %q does not contain %q and the expression", c.in, err, c.want)
		}
	}
}

func TestExprCheck(t *testing.T) {
	info := &bench.ScenarioInfo{Workload: "cache", Counters: []string{"l2_miss"}, LatencyKeys: []string{"l1_hit", "l2_hit", "op"}}
	for _, ok := range []string{"p99 > 1ms", "p99{l2_hit} > 1ms", "l2_miss > 10/s", "throughput{l1_hit} < 5", "cpu > 50%"} {
		if err := MustParseExpr(ok).Check(info); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	bad := map[string]string{
		"p99{l3_hit} > 1ms": `label "l3_hit": workload cache does not record it (labels: l1_hit, l2_hit, op)`,
		"latency > 5":       `unknown metric "latency": not a built-in metric (throughput, error_rate, p50`,
		"l2_hits > 5":       "counters: l2_miss",
	}
	for in, want := range bad {
		err := MustParseExpr(in).Check(info)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

// Counters kept per label: errors{login}, error_rate{login} and
// check_rate{json} parse, and are checked against the counters a workload
// declares.
func TestLabelCounterExprs(t *testing.T) {
	info := &bench.ScenarioInfo{Workload: "fetch",
		Counters:    []string{"bytes_in", "errors{login}", "errors{search}", "checks{json}", "checks_failed{json}"},
		LatencyKeys: []string{"login", "search", "op"}}
	for _, ok := range []string{"errors{login} > 10", "error_rate{search} > 1%", "check_rate{json} < 99.9%", "error_rate > 1%", "errors{login} > 2/s"} {
		e, err := ParseExpr(ok)
		if err != nil {
			t.Errorf("%q: %v", ok, err)
			continue
		}
		if err := e.Check(info); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	bad := map[string]string{
		"check_rate{status} < 99%": `check "status": workload fetch runs no such check (checks: json)`,
		"error_rate{home} > 1%":    `does not count errors of label "home" (labels it does: login, search)`,
		"errors{home} > 1":         `unknown metric "errors{home}"`,
		"check_rate{json} < 99%x":  "",
	}
	for in, want := range bad {
		e, err := ParseExpr(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q: parsed", in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if err := e.Check(info); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	e := MustParseExpr("p99 > 1ms")
	cases := map[string]Rule{
		"window -1s: must not be negative":                    {Expr: e, Window: -time.Second},
		"for -1s: must not be negative":                       {Expr: e, For: -time.Second},
		`severity "fatal": accepted: info, warning, critical`: {Expr: e, Severity: "fatal"},
		"no expr": {},
	}
	for want, r := range cases {
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	if err := (Rule{Expr: e, Severity: Critical, Window: time.Second}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		v    float64
		unit string
		want string
	}{
		{61234567, bench.UnitNanoseconds, "61.2ms"},
		{1.5e9, bench.UnitNanoseconds, "1.5s"},
		{850, bench.UnitNanoseconds, "850ns"},
		{512.4, bench.UnitPerSecond, "512/s"},
		{0.0123, bench.UnitRatio, "1.23%"},
		{512 << 20, bench.UnitBytes, "512MiB"},
		{1200, bench.UnitCount, "1200"},
	}
	for _, c := range cases {
		if got := FormatValue(c.v, c.unit); got != c.want {
			t.Errorf("FormatValue(%g, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
