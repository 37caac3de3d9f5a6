package pool

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/redistest"
)

// A default run through the engine: 8 borrowers on the embedded echo server
// with max-open 4 record every phase, derive utilisation and peak, count the
// connections opened, and leave no connection behind.
func TestRunEmbedded(t *testing.T) {
	raw := map[string]any{}
	wl := build(t, raw)
	run := runOps(t, wl, raw, 8, 1000)

	if run.Ops == 0 || run.Errors != 0 {
		t.Fatalf("ops %d errors %d (%v), want ops and no errors", run.Ops, run.Errors, run.ErrorsByKind)
	}
	for _, k := range []string{bench.OverallKey, PhaseAcquireWait, PhaseRoundTrip, PhaseHold} {
		if l, ok := run.Latency[k]; !ok || l.Count != run.Ops {
			t.Errorf("latency %q: %+v, want %d values", k, l, run.Ops)
		}
	}
	if h := run.Latency[PhaseHold]; h.P50Ns < int64(150*time.Microsecond) {
		t.Errorf("hold p50 %v, want about the default 200µs", time.Duration(h.P50Ns))
	}
	u := run.Derived[DerivedUtilisation]
	if u <= 0 || u > 1 {
		t.Errorf("utilisation %v, want in (0, 1]", u)
	}
	if got := run.Derived[DerivedPeakInUse]; got != DefaultMaxOpen {
		t.Errorf("peak in use %v, want %d (8 borrowers on max-open %d)", got, DefaultMaxOpen, DefaultMaxOpen)
	}
	if got := run.Counters[CounterOpened]; got < 1 || got > DefaultMaxOpen {
		t.Errorf("conns_opened %d, want 1..%d", got, DefaultMaxOpen)
	}
	if run.Counters[CounterExhaust] != 0 || run.Counters[CounterTimeouts] != 0 {
		t.Errorf("counters %v: no exhausted or timed-out acquires expected", run.Counters)
	}
	if got := wl.srv.peak.Load(); got > DefaultMaxOpen {
		t.Errorf("echo server saw %d connections at once, want at most %d", got, DefaultMaxOpen)
	}
	if got := wl.srv.open.Load(); got != 0 {
		t.Errorf("echo server has %d connections open after teardown", got)
	}
	if st := wl.pool.Stats(); st.Open != 0 || st.Closed != st.Opened {
		t.Errorf("pool after teardown: %+v", st)
	}
}

// fail-fast on a pool too small for the borrowers: refusals are errors of
// kind exhausted, and counted.
func TestRunFailFast(t *testing.T) {
	// min-idle 0: with 1, the pool's maintainer dials the only connection
	// itself, and on a loaded machine that dial can outlast the run while
	// every borrower is refused ('no op got a connection'); here the first
	// borrower dials it. Timed, not counted: refusals are instant, so a
	// count of ops can be spent on them while one borrower holds it.
	raw := map[string]any{"policy": "fail-fast", "max-open": 1, "min-idle": 0, "hold": "1ms"}
	run := runScenario(t, build(t, raw), raw, 8, 100*time.Millisecond)
	n := run.ErrorsByKind[KindExhausted]
	if n == 0 || n != run.Counters[CounterExhaust] {
		t.Errorf("exhausted: %d errors, counter %d; want equal and > 0", n, run.Counters[CounterExhaust])
	}
	if run.Ops == n {
		t.Error("no op got a connection")
	}
}

func TestRunAcquireTimeout(t *testing.T) {
	raw := map[string]any{"max-open": 1, "hold": "20ms", "acquire-timeout": "2ms"}
	run := runOps(t, build(t, raw), raw, 4, 40)
	n := run.ErrorsByKind[KindAcquireTimeout]
	if n == 0 || n != run.Counters[CounterTimeouts] {
		t.Errorf("acquire_timeout: %d errors, counter %d; want equal and > 0 (%v)", n, run.Counters[CounterTimeouts], run.ErrorsByKind)
	}
}

// A connection the server dropped fails its op as conn_reset and is
// discarded; with health-check, the borrower gets a fresh one instead.
func TestOpDiscardsBrokenConn(t *testing.T) {
	for _, check := range []bool{false, true} {
		t.Run(fmt.Sprint("health-check=", check), func(t *testing.T) {
			wl := build(t, map[string]any{"max-open": 1, "min-idle": 0, "hold": "0s", "health-check": check})
			s := setup(t, wl, 1)
			w := bench.NewTestWorker(0, s)
			ctx := context.Background()
			if _, err := wl.Op(ctx, w); err != nil {
				t.Fatal(err)
			}
			wl.srv.dropAll()
			waitFor(t, "server to drop its side", func() bool { return wl.srv.open.Load() == 0 })
			_, err := wl.Op(ctx, w)
			switch {
			case check && err != nil:
				t.Fatalf("op after a drop, with health check: %v", err)
			case !check && bench.ErrorKind(err) != KindConnReset:
				t.Fatalf("op after a drop: %v, want kind %s", err, KindConnReset)
			}
			if _, err := wl.Op(ctx, w); err != nil {
				t.Fatalf("op after the discard: %v", err)
			}
			if st := wl.pool.Stats(); st.Discarded != 1 || st.Opened != 2 {
				t.Errorf("discarded %d opened %d, want 1, 2", st.Discarded, st.Opened)
			}
			if _, err := wl.Op(ctx, w); err != nil { // the last events are counted on the next op
				t.Fatal(err)
			}
			if o, c := w.TestCounter(wl.count.opened), w.TestCounter(wl.count.closed); o != 2 || c != 1 {
				t.Errorf("conns_opened %d conns_closed %d, want 2, 1", o, c)
			}
		})
	}
}

// The redis:// target makes PING round trips against a real redis-server.
func TestRunRedis(t *testing.T) {
	rs := redistest.Start(t)
	raw := map[string]any{"target": rs.URL, "max-open": 2, "hold": "0s"}
	wl := build(t, raw)
	run := runOps(t, wl, raw, 4, 200)
	if run.Ops == 0 || run.Errors != 0 {
		t.Fatalf("ops %d errors %d (%v)", run.Ops, run.Errors, run.ErrorsByKind)
	}
	if l := run.Latency[PhaseRoundTrip]; l.Count != run.Ops {
		t.Errorf("round_trip count %d, want %d", l.Count, run.Ops)
	}
	if _, ok := run.Latency[PhaseHold]; ok {
		t.Error("hold 0s still recorded a hold phase")
	}
	if got := run.Counters[CounterOpened]; got < 1 || got > 2 {
		t.Errorf("conns_opened %d, want 1..2", got)
	}
}

// A password-protected Redis: the password authenticates each connection, is
// redacted from the recorded params, and its absence is a one-line error at
// start.
func TestRedisAuth(t *testing.T) {
	if os.Getenv("PERFKIT_TEST_REDIS_URL") != "" {
		t.Skip("would set a password on a shared redis-server")
	}
	rs := redistest.Start(t)
	c, err := net.DialTimeout("tcp", rs.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprint(c, "CONFIG SET requirepass s3cret\r\n")
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	c.Close()
	if err != nil || !strings.HasPrefix(string(buf[:n]), "+OK") {
		t.Fatalf("CONFIG SET requirepass: %q %v", buf[:n], err)
	}

	err = buildErr(map[string]any{"target": "redis://" + rs.Addr})
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("no password: %v, want a NOAUTH error", err)
	}
	err = buildErr(map[string]any{"target": "redis://:wrong@" + rs.Addr})
	if err == nil || strings.Contains(err.Error(), "wrong@") {
		t.Errorf("wrong password: %v, want an error that does not show the password", err)
	}

	target := "redis://:s3cret@" + rs.Addr + "/0"
	wl := build(t, map[string]any{"target": target, "hold": "0s"})
	s := setup(t, wl, 1)
	if _, err := wl.Op(context.Background(), bench.NewTestWorker(0, s)); err != nil {
		t.Fatalf("op with the password: %v", err)
	}
	def := Definition()
	v, _ := def.Resolve(map[string]any{"target": target})
	if got := v.Record()["target"].(string); strings.Contains(got, "s3cret") {
		t.Errorf("recorded target %q shows the password", got)
	}
}

// Killing redis-server mid-run: ops fail as connection errors, counted, and
// the run completes.
func TestRedisKilledMidRun(t *testing.T) {
	if os.Getenv("PERFKIT_TEST_REDIS_URL") != "" {
		t.Skip("would kill a shared redis-server")
	}
	rs := redistest.Start(t)
	raw := map[string]any{"target": rs.URL, "max-open": 2, "hold": "100us"}
	wl := build(t, raw)
	time.AfterFunc(150*time.Millisecond, rs.Kill)
	run := runScenario(t, wl, raw, 4, 400*time.Millisecond)
	if run.Ops == 0 || run.Errors == 0 {
		t.Fatalf("ops %d errors %d: want both", run.Ops, run.Errors)
	}
	for k := range run.ErrorsByKind {
		switch k {
		case KindConnReset, KindConnRefused, KindIO:
		default:
			t.Errorf("error kind %s after redis died, want connection errors (%v)", k, run.ErrorsByKind)
		}
	}
}

func TestBadParams(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	notEcho := newNotEcho(t)

	for _, tc := range []struct {
		raw  map[string]any
		want []string
	}{
		{map[string]any{"max-open": 0}, []string{"max-open", "0", "want 1.."}},
		{map[string]any{"max-open": -3}, []string{"max-open", "-3"}},
		{map[string]any{"min-idle": -1}, []string{"min-idle", "-1"}},
		{map[string]any{"policy": "lifo"}, []string{"policy", `"lifo"`, "wait, fail-fast"}},
		{map[string]any{"target": "http://127.0.0.1:80"}, []string{`unknown scheme "http"`, "tcp://", "redis://"}},
		{map[string]any{"target": "localhost:6379"}, []string{"no scheme", "tcp://HOST:PORT"}},
		{map[string]any{"target": "tcp://127.0.0.1"}, []string{"port is required"}},
		{map[string]any{"target": "redis://127.0.0.1:6379/x"}, []string{`database "x"`}},
		{map[string]any{"target": "tcp://" + deadAddr}, []string{"unreachable", deadAddr, "refused"}},
		{map[string]any{"target": "redis://:pw@" + deadAddr}, []string{"unreachable", "redis://:xxxxx@" + deadAddr}},
		{map[string]any{"target": "tcp://" + notEcho}, []string{"echo round trip failed", "unexpected reply"}},
		{map[string]any{"max-lifetime": "-1s"}, []string{"max-lifetime", "negative"}},
		{map[string]any{"acquire-timeout": "soon"}, []string{"acquire-timeout", "not a duration"}},
		{map[string]any{"hold": "lognormal:p50="}, []string{"hold", "bad distribution"}},
		{map[string]any{"workers": 4}, []string{`unknown param "workers"`, "max-open"}},
	} {
		err := buildErr(tc.raw)
		if err == nil {
			t.Errorf("%v: accepted", tc.raw)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: error is not one line: %q", tc.raw, msg)
		}
		if strings.Contains(msg, ":pw@") {
			t.Errorf("%v: error shows the password: %q", tc.raw, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not mention %q", tc.raw, msg, w)
			}
		}
	}
}

// newNotEcho is a TCP server that answers anything with the wrong bytes.
func newNotEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 64)
			c.Read(buf)
			fmt.Fprint(c, "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in               string
		proto            protocol
		addr, user, pass string
	}{
		{"tcp://127.0.0.1:7", protoEcho, "127.0.0.1:7", "", ""},
		{"tcp://[::1]:7/", protoEcho, "[::1]:7", "", ""},
		{"redis://cache", protoRedis, "cache:6379", "", ""},
		{"redis://:pw@cache:6380/2", protoRedis, "cache:6380", "", "pw"},
		{"redis://alice:pw@cache", protoRedis, "cache:6379", "alice", "pw"},
		{"redis://pw@cache", protoRedis, "cache:6379", "", "pw"},
	} {
		got, err := parseTarget(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.proto != tc.proto || got.addr != tc.addr || got.user != tc.user || got.pass != tc.pass {
			t.Errorf("%s: %+v", tc.in, got)
		}
		if tc.pass != "" && strings.Contains(got.shown, tc.pass+"@") {
			t.Errorf("%s: shown as %q, with the password", tc.in, got.shown)
		}
	}
}

func TestDefinitionListsParams(t *testing.T) {
	def := Definition()
	want := []string{"target", "max-open", "min-idle", "max-lifetime", "idle-timeout", "policy", "hold", "acquire-timeout", "health-check"}
	if got := def.ParamNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("params %v, want %v", got, want)
	}
	for _, p := range def.Params {
		if p.Help == "" {
			t.Errorf("param %s has no help", p.Name)
		}
	}
	if _, err := def.Resolve(map[string]any{}); err != nil {
		t.Errorf("defaults do not resolve: %v", err)
	}
}

// Connections opened in the warmup are not in the window's conns_opened:
// conns_warm counts them, so the figures never contradict peak_in_use.
func TestWarmConnsCounted(t *testing.T) {
	raw := map[string]any{}
	def := Definition()
	v, err := def.Resolve(raw)
	if err != nil {
		t.Fatal(err)
	}
	wl := build(t, raw)
	set := bench.DefaultSettings()
	set.Duration, set.Warmup, set.Count = 100*time.Millisecond, 100*time.Millisecond, 2
	res, err := bench.Run(context.Background(), bench.Scenario{
		Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, run := range res.Runs {
		warm, opened, peak := run.Derived[DerivedWarm], run.Counters[CounterOpened], run.Derived[DerivedPeakInUse]
		if peak < 1 || warm+float64(opened) < peak {
			t.Errorf("run %d: conns_warm %v + conns_opened %d < peak_in_use %v", i+1, warm, opened, peak)
		}
		if warm+float64(opened) > DefaultMaxOpen {
			t.Errorf("run %d: conns_warm %v + conns_opened %d over max-open %d (no churn)", i+1, warm, opened, DefaultMaxOpen)
		}
	}
	// The second run begins with the first's connections open.
	if run := res.Runs[1]; run.Derived[DerivedWarm] < 1 || run.Counters[CounterOpened] != 0 {
		t.Errorf("run 2: conns_warm %v, conns_opened %d; want the first run's connections warm and none opened", run.Derived[DerivedWarm], run.Counters[CounterOpened])
	}
}

// Several runs of one scenario reuse each worker's state, and each run gets
// its own peak. Runs are counts of ops: a 60ms run on a loaded machine may
// start no op at all.
func TestRunCountAndOpenModel(t *testing.T) {
	raw := map[string]any{}
	def := Definition()
	v, err := def.Resolve(raw)
	if err != nil {
		t.Fatal(err)
	}
	wl := build(t, raw)
	set := bench.DefaultSettings()
	set.Duration, set.Iterations, set.Warmup, set.Count = 0, 400, 0, 3
	res, err := bench.Run(context.Background(), bench.Scenario{
		Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 3 {
		t.Fatalf("runs %d, want 3", len(res.Runs))
	}
	for i, run := range res.Runs {
		if run.Errors != 0 || run.Derived[DerivedPeakInUse] != DefaultMaxOpen {
			t.Errorf("run %d: errors %d peak %v", i, run.Errors, run.Derived[DerivedPeakInUse])
		}
	}
	if len(wl.workers) != set.Concurrency {
		t.Errorf("%d worker states after 3 runs of %d workers", len(wl.workers), set.Concurrency)
	}

	// The open model: -c caps the borrowers in flight.
	wl = build(t, raw)
	set = bench.DefaultSettings()
	set.Duration, set.Iterations, set.Warmup, set.Rate, set.Concurrency = 0, 400, 0, 2000, 16
	res, err = bench.Run(context.Background(), bench.Scenario{
		Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	if run.Ops == 0 || run.Errors != 0 || run.Latency[PhaseRoundTrip].Count == 0 {
		t.Errorf("open model: ops %d errors %d (%v)", run.Ops, run.Errors, run.ErrorsByKind)
	}
	if !strings.Contains(strings.Join(res.Notes, "; "), "up to 16 borrowers in flight") {
		t.Errorf("notes %q do not say how many borrowers", res.Notes)
	}
}

// A hold ends at the op's deadline, or when its context is canceled, rather
// than outliving the op.
func TestHoldEndsWithTheOp(t *testing.T) {
	st := &worker{precise: newHoldTimer()}
	defer st.precise.close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := st.sleep(ctx, time.Minute); err != context.DeadlineExceeded {
		t.Errorf("hold past the deadline: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hold past the deadline lasted %v", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if err := st.sleep(ctx, time.Minute); err != context.Canceled {
		t.Errorf("hold canceled: %v, want Canceled", err)
	}

	start = time.Now()
	if err := st.sleep(context.Background(), 3*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 3*time.Millisecond {
		t.Errorf("hold of 3ms ended after %v", d)
	}
}
