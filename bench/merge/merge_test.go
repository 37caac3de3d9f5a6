package merge

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perfkit/perfkit/bench"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// shardResult builds shard index/count's result: scenarios named names,
// each with runs runs of ops latencies drawn from a lognormal around 1ms.
func shardResult(index, count int, names []string, runs, ops int) *bench.Result {
	rng := rand.New(rand.NewPCG(uint64(index), 42))
	r := &bench.Result{
		SchemaVersion: bench.SchemaVersion,
		ID:            fmt.Sprintf("shard%d", index),
		CreatedAt:     t0,
		Env:           bench.Env{GoVersion: "go1.26", CPUModel: "cpu", NumCPU: 4, GOMAXPROCS: 4, Hostname: fmt.Sprintf("host-%d", index)},
	}
	for _, name := range names {
		set := bench.DefaultSettings()
		set.Rate, set.Concurrency = 1000, 16
		sc := bench.ScenarioResult{
			Name: name, Workload: "fetch", Model: bench.ModelOpen, Settings: set,
			Params: map[string]any{"url": []any{"http://target/"}},
			Labels: []string{bench.OverallKey},
			Target: bench.TargetExternal,
			Shard:  &bench.Shard{Index: index, Count: count},
		}
		for i := range runs {
			lat, svc, lag := bench.NewHistogram(), bench.NewHistogram(), bench.NewHistogram()
			for range ops {
				v := int64(1e6 * (0.5 + rng.ExpFloat64()))
				lat.RecordValue(v)
				svc.RecordValue(v * 9 / 10)
				lag.RecordValue(v / 10)
			}
			start := t0.Add(time.Duration(i)*11*time.Second + time.Duration(index)*3*time.Millisecond)
			sc.Runs = append(sc.Runs, bench.RunResult{
				Index: i, StartedAt: start, ElapsedNs: int64(10 * time.Second),
				Ops: int64(ops), Errors: int64(index), ErrorRate: float64(index) / float64(ops),
				Throughput: float64(ops) / 10, Valid: true, InvalidReasons: []string{},
				Latency: map[string]bench.LatencySummary{
					bench.OverallKey: bench.Summarize(lat), bench.OverallKey + bench.ServiceSuffix: bench.Summarize(svc), bench.LagKey: bench.Summarize(lag),
				},
				ErrorsByKind: map[string]int64{"timeout": int64(index)},
				Counters:     map[string]int64{"bytes_in": int64(100 * ops)},
				Schedule:     &bench.ScheduleStats{TargetRate: 1000 / float64(count), AchievedRate: 1000 / float64(count), Late: 1},
				Intervals: []bench.IntervalSummary{
					{TMs: 0, Ops: int64(ops / 2), P50Ns: 1e6, P99Ns: 4e6, Target: 1000 / float64(count), Achieved: 990 / float64(count), Late: 2, GeneratorLate: 1},
					{TMs: 1000, Ops: int64(ops - ops/2), P50Ns: 1e6, P99Ns: int64(4e6 + index)},
				},
				Resources: bench.Resources{CPUUserS: 1, MaxRSSBytes: int64(index+1) << 20},
			})
		}
		r.Scenarios = append(r.Scenarios, sc)
	}
	return r
}

func shardInputs(count int, names []string, runs, ops int) []Input {
	var in []Input
	for i := range count {
		in = append(in, Input{Name: fmt.Sprintf("s%d.json", i), Result: shardResult(i, count, names, runs, ops)})
	}
	return in
}

// union merges the shards' histograms of a latency key into a fresh one.
func union(t *testing.T, in []Input, scenario, run int, key string) *hdrhistogram.Histogram {
	t.Helper()
	h := bench.NewHistogram()
	for _, s := range in {
		sh, err := s.Result.Scenarios[scenario].Runs[run].Latency[key].Histogram()
		if err != nil {
			t.Fatal(err)
		}
		h.Merge(sh)
	}
	return h
}

func TestMergeIsExact(t *testing.T) {
	in := shardInputs(4, []string{"a", "b"}, 2, 5000)
	// Out of order on purpose: shards are put in order.
	in[0], in[3] = in[3], in[0]
	out, err := Merge(in, Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if out.Partial || len(out.Scenarios) != 2 || out.Env.NumCPU != 16 || out.Env.Hostname != "host-0,host-1,host-2,host-3" {
		t.Fatalf("partial %v, %d scenarios, env %+v", out.Partial, len(out.Scenarios), out.Env)
	}
	for k, sc := range out.Scenarios {
		if sc.Shard != nil || sc.Settings.Rate != 1000 || len(sc.Runs) != 2 || sc.Target != bench.TargetExternal {
			t.Fatalf("scenario %s: shard %v, rate %g, %d runs, target %q", sc.Name, sc.Shard, sc.Settings.Rate, len(sc.Runs), sc.Target)
		}
		for i, run := range sc.Runs {
			if run.Ops != 20000 || run.Errors != 6 || run.ErrorsByKind["timeout"] != 6 || run.Counters["bytes_in"] != 4*100*5000 {
				t.Errorf("run %d: ops %d errors %d kinds %v counters %v", i, run.Ops, run.Errors, run.ErrorsByKind, run.Counters)
			}
			if run.Throughput != 2000 || run.Schedule.TargetRate != 1000 || run.Schedule.AchievedRate != 1000 || run.Schedule.Late != 4 {
				t.Errorf("run %d: throughput %g schedule %+v", i, run.Throughput, run.Schedule)
			}
			if run.Resources.CPUUserS != 4 || run.Resources.MaxRSSBytes != 4<<20 {
				t.Errorf("run %d: resources %+v", i, run.Resources)
			}
			for _, key := range []string{bench.OverallKey, bench.OverallKey + bench.ServiceSuffix, bench.LagKey} {
				want := union(t, in, k, i, key)
				got, err := run.Latency[key].Histogram()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Distribution(), want.Distribution()) {
					t.Errorf("run %d %s: merged histogram differs from the union of the shards'", i, key)
				}
				if l := run.Latency[key]; l.Count != want.TotalCount() || l.P99Ns != want.ValueAtQuantile(99) || l.MaxNs != want.Max() {
					t.Errorf("run %d %s: count %d p99 %d max %d, union %d %d %d", i, key, l.Count, l.P99Ns, l.MaxNs, want.TotalCount(), want.ValueAtQuantile(99), want.Max())
				}
			}
			if lag := run.Latency[bench.LagKey]; run.Schedule.LagP99Ns != lag.P99Ns {
				t.Errorf("run %d: lag p99 %d, merged histogram's %d", i, run.Schedule.LagP99Ns, lag.P99Ns)
			}
			// Shards started 0, 3, 6 and 9ms apart: their intervals line up.
			if len(run.Intervals) != 2 || run.Intervals[0].Ops != 4*2500 || run.Intervals[1].TMs != 1000 || run.Intervals[1].P99Ns != 4e6+3 {
				t.Errorf("run %d: intervals %+v", i, run.Intervals)
			}
			// each shard's share of the target and of what was achieved add up
			if iv := run.Intervals[0]; math.Abs(iv.Target-1000) > 1e-9 || math.Abs(iv.Achieved-990) > 1e-9 || iv.Late != 8 || iv.GeneratorLate != 4 {
				t.Errorf("run %d: merged interval target %g achieved %g late %d/%d, want 1000, 990, 8, 4", i, iv.Target, iv.Achieved, iv.Late, iv.GeneratorLate)
			}
			if want := sc.Runs[i].StartedAt.Add(10*time.Second + 9*time.Millisecond); !run.StartedAt.Add(time.Duration(run.ElapsedNs)).Equal(want) {
				t.Errorf("run %d: ends %s, want the last shard's end %s", i, run.StartedAt.Add(time.Duration(run.ElapsedNs)), want)
			}
		}
	}
	// The merged result is an ordinary result: it survives a round trip.
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.DecodeResult(data); err != nil {
		t.Fatalf("merged result does not read back: %v", err)
	}
}

func TestMergeRefusesWhatDoesNotBelongTogether(t *testing.T) {
	for _, tc := range []struct {
		name   string
		adjust func(in []Input) []Input
		want   string
	}{
		{"duplicate", func(in []Input) []Input {
			return append(in, Input{"again.json", shardResult(1, 4, []string{"a"}, 1, 10)})
		}, "shard 1/4 given twice: s1.json and again.json"},
		{"missing", func(in []Input) []Input { return in[:3] }, "missing shard 3 of 4"},
		{"count", func(in []Input) []Input { in[2].Result = shardResult(2, 5, []string{"a"}, 1, 10); return in }, "of 5 shards"},
		{"scenarios", func(in []Input) []Input { in[1].Result = shardResult(1, 4, []string{"b"}, 1, 10); return in }, "scenarios differ: s0.json has a, s1.json has b"},
		{"params", func(in []Input) []Input {
			in[1].Result.Scenarios[0].Params = map[string]any{"url": []any{"http://other/"}}
			return in
		}, "scenario a: params differ"},
		{"settings", func(in []Input) []Input { in[3].Result.Scenarios[0].Settings.Concurrency = 32; return in }, "scenario a: settings differ: concurrency=16 in s0.json, concurrency=32 in s3.json"},
		{"workload", func(in []Input) []Input { in[3].Result.Scenarios[0].Workload = "cache"; return in }, "workload differs"},
		{"not a shard", func(in []Input) []Input { in[0].Result.Scenarios[0].Shard = nil; return in }, "s0.json: scenario a is not a shard's result"},
		{"schema", func(in []Input) []Input { in[2].Result.SchemaVersion = 2; return in }, "s2.json: schema_version 2"},
		{"runs", func(in []Input) []Input {
			in[2].Result.Scenarios[0].Runs = in[2].Result.Scenarios[0].Runs[:0]
			return in
		}, "scenario a: run 0 is in shards 0, 1, 3 only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.adjust(shardInputs(4, []string{"a"}, 1, 10))
			_, err := Merge(in, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !IsMismatch(err) {
				t.Fatalf("error %v, want a mismatch naming %q", err, tc.want)
			}
		})
	}
}

func TestMergeAllowPartial(t *testing.T) {
	in := shardInputs(4, []string{"a"}, 1, 100)
	out, err := Merge([]Input{in[0], in[2]}, Options{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	sc := out.Scenarios[0]
	if !out.Partial || !sc.Partial || !sc.Runs[0].Partial || sc.Runs[0].Ops != 200 {
		t.Fatalf("partial %v/%v/%v, ops %d; want partial everywhere and 200 ops", out.Partial, sc.Partial, sc.Runs[0].Partial, sc.Runs[0].Ops)
	}
	if !strings.Contains(strings.Join(sc.Notes, "; "), "merged from 2 of 4 shards (missing 1, 3)") {
		t.Errorf("notes %q do not say which shards are missing", sc.Notes)
	}
	const why = "shards 1/4, 3/4 missing"
	if got := sc.PartialReason(); got != why {
		t.Errorf("scenario partial reason %q, want %q (not stopped early)", got, why)
	}
	if got := out.PartialReason(); got != why {
		t.Errorf("result partial reason %q, want %q", got, why)
	}

	// One shard missing and another cut short: both are said.
	in = shardInputs(4, []string{"a"}, 1, 100)
	in[2].Result.Partial = true
	in[2].Result.Scenarios[0].Partial = true
	in[2].Result.Scenarios[0].Runs[0].Partial = true
	out, err = Merge(in[:3], Options{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	sc = out.Scenarios[0]
	if got := sc.PartialReason(); got != "shard 3/4 missing" {
		t.Errorf("partial reason %q, want shard 3/4 missing", got)
	}
	if !slices.Contains(sc.Notes, "shard 2/4 stopped early") {
		t.Errorf("notes %q do not say shard 2/4 stopped early", sc.Notes)
	}
	// A whole set of shards, one cut short: stopped early.
	in = shardInputs(2, []string{"a"}, 1, 100)
	in[1].Result.Scenarios[0].Runs[0].Partial = true
	if out, err = Merge(in, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := out.PartialReason(); got != "stopped early" {
		t.Errorf("partial reason %q, want stopped early", got)
	}
}

func TestMergeInvalidShardInvalidatesTheRun(t *testing.T) {
	in := shardInputs(2, []string{"a"}, 1, 100)
	r := &in[1].Result.Scenarios[0].Runs[0]
	r.Valid, r.InvalidReasons = false, []string{"schedule lag"}
	out, err := Merge(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run := out.Scenarios[0].Runs[0]; run.Valid || len(run.InvalidReasons) != 1 || run.InvalidReasons[0] != "shard 1: schedule lag" {
		t.Fatalf("valid %v, reasons %q", run.Valid, run.InvalidReasons)
	}
}

func TestMergeSumsAbandonedOps(t *testing.T) {
	in := shardInputs(2, []string{"a"}, 1, 100)
	in[0].Result.Scenarios[0].Runs[0].AbandonedOps = 2
	in[1].Result.Scenarios[0].Runs[0].AbandonedOps = 3
	out, err := Merge(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Scenarios[0].Runs[0].AbandonedOps; got != 5 {
		t.Fatalf("abandoned ops %d, want 5", got)
	}
}

// BenchmarkMerge16x10 merges 16 shard results of 10 scenarios (one run, three
// latency keys of 10k ops each).
func BenchmarkMerge16x10(b *testing.B) {
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("scenario-%d", i)
	}
	in := shardInputs(16, names, 1, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(in, Options{Now: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeFiles16x10 is BenchmarkMerge16x10 from and to JSON: what
// perfkit merge does besides reading and writing the files.
func BenchmarkMergeFiles16x10(b *testing.B) {
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("scenario-%d", i)
	}
	var files [][]byte
	for _, s := range shardInputs(16, names, 1, 10000) {
		data, err := json.Marshal(s.Result)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	b.ReportAllocs()
	for b.Loop() {
		in := make([]Input, len(files))
		for i, data := range files {
			r, err := bench.DecodeResult(data)
			if err != nil {
				b.Fatal(err)
			}
			in[i] = Input{Name: fmt.Sprint(i), Result: r}
		}
		out, err := Merge(in, Options{Now: t0})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}
