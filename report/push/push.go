// Package push sends a run's interval metrics, while it happens, to a
// Prometheus remote-write endpoint (Prometheus with
// --web.enable-remote-write-receiver, Mimir, Thanos Receive, VictoriaMetrics,
// Grafana Cloud...): `perfkit run --push-remote-write URL`.
//
// The transport is the Prometheus client library's remote-write client
// (github.com/prometheus/client_golang/exp/api/remote: snappy, the
// protocol's headers, retries with backoff). The message is Remote Write
// 1.0's prometheus.WriteRequest, which every receiver accepts; its four
// small message types are encoded here with protowire, because the only Go
// package that declares them (prompb) comes with the whole Prometheus
// server's module graph.
//
// A push endpoint that is slow or down never stalls or fails the run: each
// interval's samples are handed to a goroutine of its own through a bounded
// queue; a batch that finds the queue full is dropped and counted, a batch
// the endpoint refuses (after the client's retries) is counted as failed,
// the first of either is reported once through Options.Warn, and Close
// reports the totals.
package push

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"

	"github.com/perfkit/perfkit/bench"
)

// Options configure a RemoteWrite.
type Options struct {
	// Queue bounds the batches (one per interval) waiting to be sent;
	// DefaultQueue when ≤ 0.
	Queue int
	// Timeout bounds one write, retries included; DefaultTimeout when ≤ 0.
	Timeout time.Duration
	// Labels are added to every series (job="perfkit" unless set).
	Labels map[string]string
	// Warn is called once, from the sending goroutine, at the first batch
	// dropped or failed (nil: nothing is said until Close).
	Warn func(msg string)
	// Client is the HTTP client (nil: a client of its own).
	Client *http.Client
}

// Defaults of Options.
const (
	DefaultQueue   = 64
	DefaultTimeout = 5 * time.Second
)

// CheckURL says whether u can be a remote-write endpoint: an absolute
// http:// or https:// URL with a host.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("URL %q: accepted: an http:// or https:// URL of a remote-write receiver, e.g. http://127.0.0.1:9090/api/v1/write", u)
	}
	return nil
}

// RemoteWrite is a bench.Observer that pushes each interval's metrics.
type RemoteWrite struct {
	url    string
	api    *remote.API
	opts   Options
	labels [][2]string // sorted by name, job first when set by default
	queue  chan *writeRequest
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	warned  bool
	sent    int64
	dropped int64
	failed  int64
	lastErr error
}

var _ bench.Observer = (*RemoteWrite)(nil)

// NewRemoteWrite starts a pusher to the remote-write endpoint at u (the full
// URL, path included).
func NewRemoteWrite(u string, opts Options) (*RemoteWrite, error) {
	if err := CheckURL(u); err != nil {
		return nil, err
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: opts.Timeout}
	}
	api, err := remote.NewAPI(u,
		remote.WithAPIPath(""), // u is the whole endpoint
		remote.WithAPIHTTPClient(client),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 100 * time.Millisecond, Max: time.Second, MaxRetries: 2}),
	)
	if err != nil {
		return nil, fmt.Errorf("remote write %s: %w", u, err)
	}
	labels := map[string]string{"job": "perfkit"}
	for k, v := range opts.Labels {
		labels[k] = v
	}
	p := &RemoteWrite{url: u, api: api, opts: opts, queue: make(chan *writeRequest, opts.Queue), done: make(chan struct{})}
	for k, v := range labels {
		p.labels = append(p.labels, [2]string{k, v})
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.loop()
	return p, nil
}

// Interval turns the snapshot into samples and queues them; it never
// blocks.
func (p *RemoteWrite) Interval(s *bench.Snapshot) {
	req := p.samples(s)
	p.mu.Lock()
	warn := ""
	switch {
	case p.closed:
		p.dropped++
	default:
		select {
		case p.queue <- req:
		default:
			p.dropped++
			warn = p.warnOnce(fmt.Sprintf("push %s: the endpoint is too slow: interval metrics dropped (the run goes on; counted at the end)", p.url))
		}
	}
	p.mu.Unlock()
	p.say(warn)
}

// samples are the interval's series at the interval's end.
func (p *RemoteWrite) samples(s *bench.Snapshot) *writeRequest {
	ts := s.Start.Add(s.Length).UnixMilli()
	base := append(slices.Clone(p.labels),
		[2]string{"scenario", s.Scenario}, [2]string{"workload", s.Workload}, [2]string{"run", strconv.Itoa(s.Run)})
	req := &writeRequest{}
	add := func(name string, v float64) {
		l := append(slices.Clone(base), [2]string{"__name__", name})
		slices.SortFunc(l, func(a, b [2]string) int {
			switch {
			case a[0] < b[0]:
				return -1
			case a[0] > b[0]:
				return 1
			}
			return 0
		})
		req.series = append(req.series, series{labels: l, value: v, ts: ts})
	}
	secs := s.Length.Seconds()
	tput := 0.0
	if secs > 0 {
		tput = float64(s.Ops) / secs
	}
	add("perfkit_interval_ops", float64(s.Point.Ops))
	add("perfkit_interval_errors", float64(s.Point.Errors))
	add("perfkit_ops_per_second", tput)
	add("perfkit_latency_p50_seconds", float64(s.Point.P50Ns)/1e9)
	add("perfkit_latency_p99_seconds", float64(s.Point.P99Ns)/1e9)
	add("perfkit_in_flight", s.InFlight)
	add("perfkit_run_ops_total", float64(s.TotalOps))
	add("perfkit_run_errors_total", float64(s.TotalErrors))
	if r := s.Settings.Rate; r > 0 {
		add("perfkit_target_ops_per_second", r)
	}
	return req
}

func (p *RemoteWrite) loop() {
	defer close(p.done)
	for req := range p.queue {
		if p.ctx.Err() != nil { // Close gave up: the rest are not sent
			p.mu.Lock()
			p.dropped++
			p.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
		_, err := p.api.Write(ctx, remote.WriteV1MessageType, req)
		cancel()
		warn := ""
		p.mu.Lock()
		switch {
		case err != nil && p.ctx.Err() != nil:
			p.dropped++
		case err != nil:
			p.failed++
			p.lastErr = err
			warn = p.warnOnce(fmt.Sprintf("push %s: %v (the run goes on; failures counted at the end)", p.url, err))
		default:
			p.sent++
		}
		p.mu.Unlock()
		p.say(warn)
	}
}

// warnOnce returns msg the first time anything goes wrong, "" after.
func (p *RemoteWrite) warnOnce(msg string) string {
	if p.warned {
		return ""
	}
	p.warned = true
	return msg
}

func (p *RemoteWrite) say(msg string) {
	if msg != "" && p.opts.Warn != nil {
		p.opts.Warn(msg)
	}
}

// Stats say what became of the pushed intervals.
type Stats struct {
	// Sent batches were accepted; Dropped never reached the endpoint (the
	// queue was full, or Close's grace ran out); Failed were refused or
	// could not be delivered after retries.
	Sent, Dropped, Failed int64
	// LastErr is the last delivery error.
	LastErr error
}

// Warning is the line a command prints about st, "" when every batch was
// sent.
func (st Stats) Warning(u string) string {
	if st.Dropped == 0 && st.Failed == 0 {
		return ""
	}
	msg := fmt.Sprintf("push %s: %d of %d interval batches not delivered (%d dropped, %d failed)", u, st.Dropped+st.Failed, st.Sent+st.Dropped+st.Failed, st.Dropped, st.Failed)
	if st.LastErr != nil {
		msg += ": " + st.LastErr.Error()
	}
	return msg
}

// Close sends what is queued, for at most grace, then gives up on the
// rest (counted as dropped) and returns the totals.
func (p *RemoteWrite) Close(grace time.Duration) Stats {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.cancel() // the write in flight fails; the rest are drained unsent
		<-p.done
	}
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Sent: p.sent, Dropped: p.dropped, Failed: p.failed, LastErr: p.lastErr}
}
