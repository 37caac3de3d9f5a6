package report

import (
	"bytes"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// steps builds a sweep of base over param: one step per value, each with one
// run of the given throughput (ops/s over 10s) and p99 (µs). A step whose
// throughput is 0 measured nothing.
func steps(base, param string, values []string, tput []float64, p99 []float64) []bench.ScenarioResult {
	out := make([]bench.ScenarioResult, len(values))
	for i, v := range values {
		s := bench.ScenarioResult{
			Name: base + "[" + param + "=" + v + "]", Workload: "fetch", Model: bench.ModelClosed,
			Settings: bench.DefaultSettings(),
			Sweep:    &bench.SweepStep{Param: param, Value: v, Base: base, Index: i},
			Runs:     []bench.RunResult{},
		}
		if ops := int64(tput[i] * 10); ops > 0 {
			s.Runs = append(s.Runs, run(0, ops, 0, 10*time.Second, map[string]bench.LatencySummary{
				"op": lat(ops, p99[i]/4, p99[i]/2, p99[i], p99[i]*2, p99[i]*3),
			}))
		}
		out[i] = s
	}
	return out
}

func conc(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(1 << i)
	}
	return out
}

func TestKnee(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tput, p99  []float64
		want       bool
		at, next   string  // the knee, or the last pair without one
		tputChange float64 // from at to next
	}{
		{
			name: "rising then flat",
			tput: []float64{10_000, 19_500, 38_000, 41_000, 41_500, 41_200},
			p99:  []float64{100, 105, 120, 400, 900, 1_900},
			want: true, at: "8", next: "16", tputChange: 41_500.0/41_000 - 1,
		},
		{
			name: "always rising",
			tput: []float64{10_000, 19_000, 36_000, 60_000},
			p99:  []float64{100, 110, 130, 180},
			want: false, at: "4", next: "8", tputChange: 60_000.0/36_000 - 1,
		},
		{
			// A dip at 4 (throughput -2.6%, p99 +14%) is noise: throughput
			// rises well above it again at 8, so the knee is the later
			// plateau. Past it, throughput wobbles within 5%.
			name: "noisy",
			tput: []float64{10_000, 19_500, 19_000, 37_000, 38_200, 37_400, 38_700},
			p99:  []float64{100, 105, 120, 125, 260, 500, 1_050},
			want: true, at: "8", next: "16", tputChange: 38_200.0/37_000 - 1,
		},
		{
			// Level from the start, but p99 is level too: a param that does
			// not matter has no knee.
			name: "flat throughput, flat p99",
			tput: []float64{40_000, 40_500, 39_800},
			p99:  []float64{500, 510, 505},
			want: false, at: "2", next: "4", tputChange: 39_800.0/40_500 - 1,
		},
		{
			// Throughput falls once the system saturates: the knee is the
			// peak.
			name: "collapse",
			tput: []float64{10_000, 20_000, 30_000, 22_000},
			p99:  []float64{100, 110, 150, 4_000},
			want: true, at: "4", next: "8", tputChange: 22_000.0/30_000 - 1,
		},
		{
			// p99 must rise more than 5%: +4% is within the noise.
			name: "p99 within noise, then rising",
			tput: []float64{10_000, 20_000, 20_400, 20_500},
			p99:  []float64{100, 110, 114, 300},
			want: true, at: "4", next: "8", tputChange: 20_500.0/20_400 - 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := steps("fetch", "concurrency", conc(len(tc.tput)), tc.tput, tc.p99)
			k, ok := Knee(ss)
			if ok != tc.want {
				t.Fatalf("Knee found %v, want %v (%+v)", ok, tc.want, k)
			}
			if k.Base != "fetch" || k.Param != "concurrency" || k.Step.Value != tc.at || k.Next.Value != tc.next {
				t.Errorf("knee %+v, want at %s next %s", k, tc.at, tc.next)
			}
			if math.Abs(k.ThroughputChange-tc.tputChange) > 1e-9 {
				t.Errorf("throughput change %v, want %v", k.ThroughputChange, tc.tputChange)
			}
		})
	}
}

func TestKneeOrderAndGaps(t *testing.T) {
	ss := steps("api", "rate", []string{"100", "200", "400", "800", "1600"},
		[]float64{100, 200, 0, 400, 410}, []float64{50, 50, 0, 60, 600})
	// Given out of order, with an unmeasured step and a foreign entry.
	shuffled := []bench.ScenarioResult{ss[4], ss[1], {Name: "other"}, ss[3], ss[0], ss[2]}
	k, ok := Knee(shuffled)
	if !ok || k.Step.Value != "800" || k.Next.Value != "1600" || k.Step.Index != 3 {
		t.Fatalf("knee %+v, %v; want at rate=800 (index order, unmeasured step skipped)", k, ok)
	}
	if math.Abs(k.P99Change-9) > 1e-9 {
		t.Errorf("p99 change %v, want +900%%", k.P99Change)
	}

	k, ok = Knee(ss[:1])
	if ok || k.Base != "api" || k.Param != "rate" || k.Next.Param != "" {
		t.Errorf("one step: %+v, %v", k, ok)
	}
	if _, ok := Knee(nil); ok {
		t.Error("no steps: found a knee")
	}
}

func TestKneeLine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tput, p99 []float64
		want      string
	}{
		{"knee", []float64{10_000, 20_000, 20_420}, []float64{100, 120, 222},
			"fetch sweep over concurrency: knee at concurrency=2 (throughput +2.1% to 4 while p99 +85%)"},
		{"still rising", []float64{10_000, 20_000, 27_600}, []float64{100, 120, 150},
			"fetch sweep over concurrency: no knee: throughput still rising at the last step (+38% from 2 to 4)"},
		{"level, p99 not rising", []float64{10_000, 10_100}, []float64{100, 98},
			"fetch sweep over concurrency: no knee: throughput levels off but p99 does not rise more than 5% with it (last step: throughput +1.0%, p99 -2.0% from 1 to 2)"},
		{"one step", []float64{10_000}, []float64{100},
			"fetch sweep over concurrency: no knee: fewer than 2 steps measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kneeLine(steps("fetch", "concurrency", conc(len(tc.tput)), tc.tput, tc.p99))
			if got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSignedPercent(t *testing.T) {
	for x, want := range map[float64]string{0: "+0.0%", 0.021: "+2.1%", -0.004: "-0.4%", 0.0996: "+10%", 0.85: "+85%", 12: "+1200%", -0.5: "-50%"} {
		if got := signedPercent(x); got != want {
			t.Errorf("signedPercent(%v) = %q, want %q", x, got, want)
		}
	}
}

// sweepResult is two sweeps and a plain scenario: a concurrency sweep of
// fetch with a knee, and a payload-bytes sweep of api still rising.
func sweepResult() *bench.Result {
	var scenarios []bench.ScenarioResult
	scenarios = append(scenarios, steps("fetch", "concurrency", []string{"1", "4", "16", "64"},
		[]float64{11_200, 40_100, 61_300, 62_580}, []float64{95, 130, 410, 2_300})...)
	scenarios[3].Notes = []string{"embedded target"}
	scenarios = append(scenarios, cleanResult().Scenarios...)
	scenarios = append(scenarios, steps("api", "payload-bytes", []string{"100", "1000"},
		[]float64{30_000, 36_000}, []float64{300, 320})...)
	return result(false, scenarios...)
}

func TestSweepGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Format
	}{
		{"table_sweep", Table},
		{"markdown_sweep", Markdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, sweepResult(), tc.f); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

func TestSweepTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sweepResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"\nfetch[concurrency=1] ", "\nfetch[concurrency=64] ", "\napi[payload-bytes=1000] ",
		"\nfetch sweep over concurrency: knee at concurrency=16 (throughput +2.1% to 64 while p99 +461%)\n",
		"\napi sweep over payload-bytes: no knee: throughput still rising at the last step (+20% from 100 to 1000)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "agents sweep") {
		t.Errorf("a scenario outside any sweep got a knee line:\n%s", out)
	}
	// The knee lines come after every scenario's own notes.
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if n := len(lines); n < 3 || !strings.HasPrefix(lines[n-3], "fetch[concurrency=64]: embedded target") ||
		!strings.HasPrefix(lines[n-2], "fetch sweep over") || !strings.HasPrefix(lines[n-1], "api sweep over") {
		t.Errorf("the knee lines do not follow the scenarios' notes:\n%s", out)
	}
}
