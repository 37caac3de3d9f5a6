package stats

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Threshold
	}{
		{"10%", Percent(10)},
		{" 2.5% ", Percent(2.5)},
		{"+5%", Percent(5)},
		{"0%", Percent(0)},
		{".5%", Percent(0.5)},
		{"1e1%", Percent(10)},
		{"0.5pp", Points(0.5)},
		{"+0.5pp", Points(0.5)},
		{"+ 1 pp", Points(1)},
	} {
		got, err := ParseThreshold(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseThreshold(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "accepted: a percentage"},
		{"10", "accepted: a percentage"},
		{"10ms", "accepted: a percentage"},
		{"%", "accepted: a percentage"},
		{"pp", "accepted: a percentage"},
		{"-5%", "must not be negative"},
		{"+-5%", "accepted"},
		{"++5%", "accepted"},
		{"NaN%", "accepted"},
		{"inf%", "accepted"},
		{"0x10%", "accepted"},
		{"1_0%", "accepted"},
		{"1e999%", "out of range"},
		{"1.2.3%", "accepted"},
	} {
		_, err := ParseThreshold(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.in+`"`) {
			t.Errorf("ParseThreshold(%q) error = %v; want one naming the value and %q", tc.in, err, tc.want)
		}
	}
}

func TestThresholdString(t *testing.T) {
	for _, th := range []Threshold{Percent(10), Percent(0.07), Points(0.5), Percent(0)} {
		back, err := ParseThreshold(th.String())
		if err != nil || back != th {
			t.Errorf("%v: String %q parses back to %v, %v", th, th.String(), back, err)
		}
	}
	if got := Points(0.5).Frac(); got != 0.005 {
		t.Errorf("0.5pp as a fraction = %v, want 0.005", got)
	}
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
	}{
		{"p99=15%", Rule{Metric: "p99", Threshold: Percent(15)}},
		{"api:throughput=3%", Rule{Scenario: "api", Metric: "throughput", Threshold: Percent(3)}},
		{"api:error_rate=+0.5pp", Rule{Scenario: "api", Metric: "error_rate", Threshold: Points(0.5)}},
		// Go benchmark names hold "=" and ":"; metrics hold "/".
		{"Encode/size=1k:sec/op=2%", Rule{Scenario: "Encode/size=1k", Metric: "sec/op", Threshold: Percent(2)}},
		{"a:b:p50=1%", Rule{Scenario: "a:b", Metric: "p50", Threshold: Percent(1)}},
	} {
		got, err := ParseRule(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := ParseRule(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q parses back to %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"p99", "expected METRIC=VALUE"},
		{"=10%", "no metric"},
		{":p99=10%", "empty scenario"},
		{"api:=10%", "no metric"},
		{"p99=ten", `value "ten": accepted`},
		{"p99=-3%", "must not be negative"},
		{"p99=", `value "": accepted`},
	} {
		_, err := ParseRule(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `threshold "`+tc.in+`"`) {
			t.Errorf("ParseRule(%q) error = %v; want one naming the spec and %q", tc.in, err, tc.want)
		}
	}
}

func TestThresholdsLookup(t *testing.T) {
	ts := Thresholds{
		{Metric: "p99", Threshold: Percent(10)},
		{Scenario: "api", Metric: "p99", Threshold: Percent(20)},
		{Metric: "p99", Threshold: Percent(15)}, // later, but less specific than api's
		{Metric: "throughput", Threshold: Percent(3)},
		{Metric: "throughput", Threshold: Percent(4)}, // later wins
	}
	for _, tc := range []struct {
		scenario, metric string
		want             Threshold
		ok               bool
	}{
		{"api", "p99", Percent(20), true},
		{"web", "p99", Percent(15), true},
		{"web", "throughput", Percent(4), true},
		{"web", "p50", Threshold{}, false},
	} {
		got, ok := ts.Lookup(tc.scenario, tc.metric)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%s, %s) = %v, %v; want %v, %v", tc.scenario, tc.metric, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseRule: never a panic; whatever parses writes back to itself.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"p99=10%", "api:error_rate=+0.5pp", "x", "=", "a:b=1e3%", "p=-1%", "p=1e999pp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Errorf("multi-line error for %q: %v", s, err)
			}
			return
		}
		if r.Metric == "" || r.Threshold.Value < 0 {
			t.Fatalf("ParseRule(%q) = %+v: empty metric or negative threshold", s, r)
		}
		back, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("ParseRule(%q) = %+v, whose String %q does not parse: %v", s, r, r.String(), err)
		}
		if back.Threshold != r.Threshold || strings.TrimSpace(back.Metric) != strings.TrimSpace(r.Metric) {
			t.Fatalf("round trip of %q: %+v became %+v", s, r, back)
		}
	})
}
