package alert

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

func sampleEvent() bench.AlertEvent {
	return bench.AlertEvent{
		Rule: "p99-high", Expr: "p99 > 50ms", Severity: "critical", State: bench.AlertFiring,
		Run: 0, TMs: 3000, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Value: 61.2e6, Threshold: 50e6, Unit: bench.UnitNanoseconds, Message: "check the cache",
	}
}

// receiver records the bodies POSTed to it.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	ctypes []string
}

func (r *receiver) handler(status func(n int) int) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.ctypes = append(r.ctypes, req.Header.Get("Content-Type"))
		r.mu.Unlock()
		w.WriteHeader(status(int(n.Add(1))))
	}
}

// TestWebhookExactJSON: the receiver gets exactly this body, with "text"
// only when Slack is set.
func TestWebhookExactJSON(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec.handler(func(int) int { return http.StatusNoContent }))
	defer srv.Close()
	n := NewNotification("api", "fetch", sampleEvent())
	d := NewDispatcher(0, &Webhook{URL: srv.URL + "/hook"}, &Webhook{URL: srv.URL + "/slack", Slack: true})
	d.Send(n)
	stats := d.Close(context.Background())
	for _, st := range stats {
		if st.Sent != 1 || st.Dropped != 0 || st.Failed != 0 {
			t.Errorf("%+v", st)
		}
	}
	const plain = `{"scenario":"api","workload":"fetch","rule":"p99-high","expr":"p99 > 50ms","severity":"critical","state":"firing","run":0,"t_ms":3000,"time":"2026-01-02T03:04:05Z","value":61200000,"threshold":50000000,"unit":"ns","message":"check the cache"}` + "\n"
	const slack = `{"scenario":"api","workload":"fetch","rule":"p99-high","expr":"p99 > 50ms","severity":"critical","state":"firing","run":0,"t_ms":3000,"time":"2026-01-02T03:04:05Z","value":61200000,"threshold":50000000,"unit":"ns","message":"check the cache","text":"FIRING critical p99-high: api p99 61.2ms > 50ms (run 1, 3.0s): check the cache"}` + "\n"
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) != 2 {
		t.Fatalf("bodies %q", rec.bodies)
	}
	got := map[string]bool{rec.bodies[0]: true, rec.bodies[1]: true}
	if !got[plain] || !got[slack] {
		t.Errorf("bodies:\n%s\nwant:\n%s%s", strings.Join(rec.bodies, ""), plain, slack)
	}
	for _, ct := range rec.ctypes {
		if ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

// TestWebhookRetries: 5xx answers are retried (bounded), 4xx are final.
func TestWebhookRetries(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec.handler(func(n int) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Retries: 2, Backoff: time.Millisecond}
	if err := w.Notify(context.Background(), NewNotification("s", "w", sampleEvent())); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	w.Retries = 1
	err := w.Notify(context.Background(), NewNotification("s", "w", sampleEvent()))
	if err != nil {
		t.Fatalf("fourth call: %v", err)
	}

	bad := httptest.NewServer(rec.handler(func(int) int { return http.StatusNotFound }))
	defer bad.Close()
	before := len(rec.bodies)
	w = &Webhook{URL: bad.URL + "/secret-token", Retries: 3, Backoff: time.Millisecond}
	err = w.Notify(context.Background(), NewNotification("s", "w", sampleEvent()))
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("got %v, want a 404 error without the URL's path", err)
	}
	if n := len(rec.bodies) - before; n != 1 {
		t.Errorf("a 404 was tried %d times", n)
	}
}

// TestHangingReceiver: a receiver that never answers delays Close by no
// more than the deadline given (the notifier timeout), and the run's
// Send never blocks.
func TestHangingReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	// A Send that blocked would wait out the 1s timeout at least; the
	// bounds leave a loaded machine half a second, and Close 2s, of slack.
	const timeout = time.Second
	d := NewDispatcher(4, &Webhook{URL: srv.URL, Timeout: timeout, Retries: 5})
	start := time.Now()
	for range 10 { // more than the queue holds: the rest are dropped
		d.Send(NewNotification("s", "w", sampleEvent()))
	}
	if el := time.Since(start); el > timeout/2 {
		t.Errorf("Send blocked for %s", el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stats := d.Close(ctx)
	if el := time.Since(start); el > timeout+2*time.Second {
		t.Errorf("Close took %s with a notifier timeout of %s", el, timeout)
	}
	if len(stats) != 1 || stats[0].Sent != 0 || stats[0].Dropped+stats[0].Failed != 10 || stats[0].Dropped < 5 {
		t.Errorf("stats %+v", stats)
	}
	d.Send(NewNotification("s", "w", sampleEvent())) // after Close: ignored, no panic
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	d := NewDispatcher(0, &Log{W: &buf})
	ev := sampleEvent()
	d.Send(NewNotification("api", "fetch", ev))
	ev.State, ev.Reason = bench.AlertResolved, ReasonCleared
	d.Send(NewNotification("api", "fetch", ev))
	d.Close(context.Background())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"state":"firing"`) || !strings.Contains(lines[1], `"reason":"cleared"`) ||
		!strings.Contains(lines[1], `"text":"RESOLVED critical p99-high: api p99 61.2ms <= 50ms (run 1, 3.0s): check the cache"`) {
		t.Errorf("log:\n%s", buf.String())
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:9/x", "https://hooks.example.com/services/T/B/secret"} {
		if err := CheckWebhookURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"ftp://example.com/x":            "must be http:// or https://",
		"hooks.example.com/services/a/b": "must be http:// or https://",
		"https:///path":                  "no host",
		"":                               "must be http:// or https://",
	} {
		err := CheckWebhookURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
	if err := CheckWebhookURL("ftp://example.com/services/secret"); strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the secret path: %v", err)
	}
}
