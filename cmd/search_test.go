package cmd

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
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

// A capacity search against a target of known capacity finds it to the
// stated precision, and keeps every step in the result.
func TestFindMaxRate(t *testing.T) {
	sandbox(t)
	url, capacity := serialTarget(t, 2*time.Millisecond)
	args := []string{"run", "fetch", "--url", url, "--find-max-rate", "--slo", "p99<20ms", "--slo", "error_rate<1%",
		"-r", "100", "-d", "500ms", "--warmup", "200ms", "--precision", "10%", "--timeout", "2s", "-o", "search.json"}
	code, out, errOut := cli(t, args...)
	for try := 1; code == ExitMeasure && strings.Contains(errOut, "perfkit itself could not drive"); try++ {
		// The machine is too busy for perfkit to keep its schedule (other
		// processes hold the CPUs): the search says so, as it should, and
		// says nothing about the target. Try again; then give up.
		if try == 3 {
			if os.Getenv("CI") != "" {
				t.Fatalf("perfkit saturated under CI: %s", errOut)
			}
			t.Skipf("machine too loaded: %s", errOut)
		}
		code, out, errOut = cli(t, args...)
	}
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, errOut, out)
	}
	r := readShardFile(t, "search.json")
	var best *bench.ScenarioResult
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		st := s.Search
		if st == nil || st.Index != i || st.Base != "fetch" || st.Param != "rate" || s.Name != "fetch[rate="+st.Value+"]" || s.Settings.Rate != st.Rate {
			t.Fatalf("step %d: %s %+v", i, s.Name, st)
		}
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
	c := capacity()
	t.Logf("found %g/s, capacity %.0f/s, in %d steps", best.Search.Rate, c, len(r.Scenarios))
	// The answer may pass a little above the sustained capacity: within a
	// short step the queue has not yet grown past the SLO; and the measured
	// capacity moves with sleep overshoot under load. ±20% still tells a
	// search that found the capacity from one that did not.
	if got := best.Search.Rate; got < 0.8*c || got > 1.2*c {
		t.Errorf("found %g/s, capacity %.0f/s: not within the precision\n%s", got, c, errOut)
	}
	if !strings.Contains(out, "capacity: max rate") || !strings.Contains(out, "meets p99<20ms, error_rate<1%") {
		t.Errorf("stdout has no answer:\n%s", out)
	}
}
