package cmd

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/report"
)

// serialTarget serves one request at a time, each holding the lock for
// service: its capacity is 1/service requests per second. capacity reports
// it as measured (the lock's hold times, sleeps overshoot).
func serialTarget(t *testing.T, service time.Duration) (url string, capacity func() float64) {
	t.Helper()
	var mu sync.Mutex
	var held, served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		t0 := time.Now()
		time.Sleep(service)
		held.Add(int64(time.Since(t0)))
		served.Add(1)
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() float64 { return float64(served.Load()) / (float64(held.Load()) / 1e9) }
}

// stepModel scripts the steps of a capacity search: p99 5ms up to
// capacity, 80ms above; perfkit saturated at or above saturateAt (if set);
// other processes holding the CPUs for the first contended[rate] attempts.
type stepModel struct {
	capacity, saturateAt float64
	contended            map[float64]int
}

func (m *stepModel) run(_ context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
	rate := sc.Settings.Rate
	h := bench.NewHistogram()
	lat := 5 * time.Millisecond
	if rate > m.capacity {
		lat = 80 * time.Millisecond
	}
	for range 100 {
		h.RecordValue(int64(lat))
	}
	run := bench.RunResult{
		Ops: 100, ElapsedNs: int64(time.Second), Valid: true, InvalidReasons: []string{},
		Latency:   map[string]bench.LatencySummary{bench.OverallKey: bench.Summarize(h)},
		Schedule:  &bench.ScheduleStats{TargetRate: rate, AchievedRate: rate},
		Resources: bench.Resources{CPUUserS: 0.05},
		// A machine that is quiet apart from the contended steps.
		Contention: &bench.Contention{HasRunqueue: true, HasPressure: true, RunqueueWaitS: 0.001, CPUPressureSomePct: 2},
	}
	switch {
	case m.saturateAt > 0 && rate >= m.saturateAt:
		run.Schedule.GeneratorLate, run.Schedule.Late, run.Schedule.AchievedRate = 50, 50, 0.8*rate
		run.Resources.CPUUserS = 1.9
	case m.contended[rate] > 0:
		m.contended[rate]--
		run.Schedule.GeneratorLate, run.Schedule.Late = 30, 30
		run.Contention = &bench.Contention{HasRunqueue: true, HasPressure: true, RunqueueWaitS: 0.3, CPUPressureSomePct: 65}
	}
	bench.Validate(&run, sc.Settings, 2, 2, false)
	return bench.ScenarioResult{Name: sc.Name, Workload: "fetch", Model: bench.ModelOpen, Settings: sc.Settings, Runs: []bench.RunResult{run}}, nil
}

// searchWith runs `perfkit run fetch --find-max-rate ARGS` with its steps
// scripted by m: no load, no timing.
func searchWith(t *testing.T, m *stepModel, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	opts := mustResolve(t, nil, append([]string{"fetch", "--url", "http://127.0.0.1:9/", "--find-max-rate", "-d", "1s"}, args...)...)
	var out, errb bytes.Buffer
	opts.IO = NewIOStreams(&out, &errb)
	opts.Search.run = m.run
	err := runSearch(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(&errb, "perfkit: %v\n", err)
	}
	return exitCode(err), out.String(), errb.String()
}

// A capacity search finds the target's capacity to the stated precision,
// reports the bracket, runs a contended step again, and keeps every step in
// the result (the retried attempt is replaced by its retry).
func TestFindMaxRate(t *testing.T) {
	sandbox(t)
	m := &stepModel{capacity: 730, contended: map[float64]int{200: 1}}
	code, out, errOut := searchWith(t, m, "--slo", "p99<20ms", "--slo", "error_rate<1%", "-r", "100", "--precision", "10%", "-o", "search.json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, errOut, out)
	}
	r := readShardFile(t, "search.json")
	var best *bench.ScenarioResult
	rates := map[float64]bool{}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		st := s.Search
		if st == nil || st.Index != i || st.Base != "fetch" || st.Param != "rate" || s.Name != "fetch[rate="+st.Value+"]" || s.Settings.Rate != st.Rate || rates[st.Rate] {
			t.Fatalf("step %d: %s %+v", i, s.Name, st)
		}
		rates[st.Rate] = true
		if st.Best {
			if best != nil {
				t.Fatalf("two best steps: %s and %s", best.Name, s.Name)
			}
			best = s
		}
		if !strings.Contains(errOut, "step "+strconv.Itoa(i+1)+"  ") {
			t.Errorf("stderr does not print step %d:\n%s", i+1, errOut)
		}
	}
	if best == nil || best.Search.Outcome != bench.SearchPass || best.Settings.Concurrency != DefaultSearchConcurrency {
		t.Fatalf("no passing best step (%+v):\n%s", best, errOut)
	}
	if got := best.Search.Rate; got > 730 || got < 730*0.9 {
		t.Errorf("found %g/s, capacity 730/s: not within 10%%\n%s", got, errOut)
	}
	for _, want := range []string{
		"step 2  200/s  contended", "rq-wait 30%  psi 65%", "other processes took the CPUs", "retrying (1 of 2)",
		"step 2  200/s  pass",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr has no %q:\n%s", want, errOut)
		}
	}
	for _, want := range []string{
		"capacity: max rate " + report.Rate(best.Search.Rate) + "/s meets p99<20ms, error_rate<1%",
		"/s fails p99<20ms: 80", "precision 10%",
		"1 step(s) fell behind because other processes held the CPUs and were run again (retries: 1, at most 2 per step)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout has no %q:\n%s", want, out)
		}
	}
}

// The 51.2k/s step saturates perfkit after 25.6k/s passed: the search
// bisects below it and says perfkit bounds the answer (it used to stop at
// "at least 25.6k/s", exit 3).
func TestFindMaxRateBisectsBelowSaturation(t *testing.T) {
	sandbox(t)
	m := &stepModel{capacity: 1e9, saturateAt: 30001}
	code, out, errOut := searchWith(t, m, "--slo", "p99<20ms", "-r", "100", "--precision", "3%", "--no-save")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, errOut, out)
	}
	if !strings.Contains(errOut, "51.2k/s  saturated") || !strings.Contains(errOut, "perfkit itself is saturated") {
		t.Errorf("stderr:\n%s", errOut)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "capacity: ") {
			line = l
		}
	}
	if !strings.HasPrefix(line, "capacity: ≥ 29.") && !strings.HasPrefix(line, "capacity: ≥ 30.0k/s") ||
		!strings.Contains(line, ": perfkit saturated at 30.") || !strings.Contains(line, "shard the load") || !strings.Contains(line, "precision 3%") {
		t.Errorf("answer %q", line)
	}

	// Every step perfkit's fault, nothing passed: nothing learnt, exit 3.
	m = &stepModel{capacity: 1e9, saturateAt: 0.1}
	code, _, errOut = searchWith(t, m, "--slo", "p99<20ms", "-r", "100", "--no-save")
	if code != ExitMeasure || !strings.Contains(errOut, "capacity search: no rate down to") {
		t.Errorf("all saturated: exit %d\n%s", code, errOut)
	}
	// Nothing meets the SLO: the gate's exit 1.
	m = &stepModel{capacity: 0.5}
	code, _, errOut = searchWith(t, m, "--slo", "p99<20ms", "-r", "4", "--no-save")
	if code != ExitGate || !strings.Contains(errOut, "no rate down to") {
		t.Errorf("none met: exit %d\n%s", code, errOut)
	}
}

// The real thing, once, at a low rate and a loose SLO: it finishes with a
// result and an exit code a search may give. Nothing about speed: on a
// loaded machine any step may fail or be retried.
func TestFindMaxRateSmoke(t *testing.T) {
	sandbox(t)
	url, _ := serialTarget(t, time.Millisecond)
	code, out, errOut := cli(t, "run", "fetch", "--url", url, "--find-max-rate", "--slo", "p99<2s",
		"-r", "20", "--max-rate", "40", "-d", "300ms", "--warmup", "100ms", "--precision", "50%", "--timeout", "2s", "-o", "smoke.json")
	if code != ExitOK && code != ExitGate && code != ExitMeasure {
		t.Fatalf("exit %d\n%s%s", code, errOut, out)
	}
	if r := readShardFile(t, "smoke.json"); len(r.Scenarios) == 0 || r.Scenarios[0].Search == nil {
		t.Fatalf("no steps in the result:\n%s", errOut)
	}
	if code == ExitOK && !strings.Contains(out, "capacity: ") {
		t.Errorf("exit 0 without an answer:\n%s", out)
	}
}
