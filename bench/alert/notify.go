package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Notification is what notifiers deliver: one alert event of a scenario. Its
// JSON is the webhook body: the scenario, the workload, the event's fields,
// and, for Slack-compatible receivers, "text".
type Notification struct {
	Scenario string `json:"scenario"`
	Workload string `json:"workload"`
	bench.AlertEvent
	// Text is a one-line account of the event (Describe); a Webhook sends
	// it only with Slack set.
	Text string `json:"text,omitempty"`
}

// NewNotification wraps an event of scenario s.
func NewNotification(scenario, workload string, ev bench.AlertEvent) Notification {
	return Notification{Scenario: scenario, Workload: workload, AlertEvent: ev, Text: Describe(scenario, ev)}
}

// Notifier delivers notifications. Notify may block (a slow receiver); the
// Dispatcher calls it from a goroutine of its own and cancels ctx when it
// must stop.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
	// String names the notifier in warnings, without secrets.
	String() string
}

// Webhook defaults.
const (
	DefaultWebhookTimeout = 5 * time.Second
	DefaultWebhookRetries = 2
	defaultBackoff        = 250 * time.Millisecond
	maxBackoff            = 2 * time.Second
)

// Webhook POSTs each notification as JSON to URL. A failed attempt (no
// answer within Timeout, a network error, a 5xx or 429 answer) is retried
// up to Retries times with a doubling backoff; other 4xx answers are final.
type Webhook struct {
	URL string
	// Slack adds the "text" field Slack, Mattermost and Rocket.Chat
	// incoming webhooks display.
	Slack bool
	// Timeout bounds each attempt (0: DefaultWebhookTimeout).
	Timeout time.Duration
	// Retries is the number of attempts after the first (negative: none).
	Retries int
	// Client sends the requests (nil: a client of its own).
	Client *http.Client
	// Backoff is the wait before the first retry (0: 250ms), doubled each
	// time up to 2s.
	Backoff time.Duration
}

var _ Notifier = (*Webhook)(nil)

// CheckWebhookURL accepts absolute http and https URLs with a host.
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("webhook url %q: %w", redactURL(s), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook url %q: must be http:// or https://", redactURL(s))
	}
	if u.Host == "" {
		return fmt.Errorf("webhook url %q: no host", redactURL(s))
	}
	if err := bench.CheckURLPort(u); err != nil {
		return fmt.Errorf("webhook url %q: %w", redactURL(s), err)
	}
	return nil
}

// redactURL keeps a URL's scheme and host: webhook paths and queries carry
// tokens (hooks.slack.com/services/T…/B…/secret).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

func (w *Webhook) String() string { return "webhook " + redactURL(w.URL) }

// CloseTimeout is how long Dispatcher.Close waits for this webhook: one
// attempt's timeout.
func (w *Webhook) CloseTimeout() time.Duration {
	if w.Timeout <= 0 {
		return DefaultWebhookTimeout
	}
	return w.Timeout
}

// Notify delivers n, retrying as the Webhook says; ctx cancels it all.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	if !w.Slack {
		n.Text = ""
	}
	body, err := marshal(n)
	if err != nil {
		return err
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	client := w.Client
	if client == nil {
		client = &http.Client{}
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = defaultBackoff
	}
	var last error
	for attempt := 0; attempt <= max(w.Retries, 0); attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (after %v)", ctx.Err(), last)
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
		}
		retry, err := w.post(ctx, client, timeout, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return last
}

// post makes one attempt; retry says whether another may succeed.
func (w *Webhook) post(ctx context.Context, client *http.Client, timeout time.Duration, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: %w", w, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "perfkit")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, secrets and all
		}
		return true, fmt.Errorf("%s: %w", w, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return retry, fmt.Errorf("%s: answered %s", w, resp.Status)
}

// Log writes each notification as one line of JSON (JSON Lines) to W, for
// log shippers and CI artefacts.
type Log struct {
	W    io.Writer
	Name string // "log" or the file written
}

var _ Notifier = (*Log)(nil)

func (l *Log) String() string {
	if l.Name == "" {
		return "log"
	}
	return "log " + l.Name
}

// Notify writes n.
func (l *Log) Notify(_ context.Context, n Notification) error {
	line, err := marshal(n)
	if err != nil {
		return err
	}
	_, err = l.W.Write(line)
	return err
}

// marshal writes n as one line of JSON, ending in a newline, with "<" and
// ">" as they are (expressions are full of them).
func marshal(n Notification) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DefaultQueue is how many notifications wait for a notifier before new
// ones are dropped.
const DefaultQueue = 64

// Dispatcher hands notifications to notifiers without ever blocking the
// caller: each notifier has a bounded queue drained by a goroutine of its
// own, and a notification that finds the queue full is dropped and
// counted. A slow or dead receiver never slows or stops a run.
type Dispatcher struct {
	mu     sync.Mutex
	closed bool
	sinks  []*sink
}

type sink struct {
	n       Notifier
	q       chan Notification
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	sent    atomic.Int64
	dropped atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	lastErr error
}

// DeliveryStats say how a notifier fared.
type DeliveryStats struct {
	Notifier string
	Sent     int64
	// Dropped notifications found the queue full, or were still queued
	// when Close gave up.
	Dropped int64
	// Failed deliveries were attempted and failed (retries included).
	Failed  int64
	LastErr error
}

// NewDispatcher starts a goroutine per notifier, each with a queue of queue
// notifications (≤ 0: DefaultQueue). Close stops them.
func NewDispatcher(queue int, notifiers ...Notifier) *Dispatcher {
	if queue <= 0 {
		queue = DefaultQueue
	}
	d := &Dispatcher{}
	for _, n := range notifiers {
		ctx, cancel := context.WithCancel(context.Background())
		s := &sink{n: n, q: make(chan Notification, queue), ctx: ctx, cancel: cancel, done: make(chan struct{})}
		d.sinks = append(d.sinks, s)
		go s.loop()
	}
	return d
}

func (s *sink) loop() {
	defer close(s.done)
	for n := range s.q {
		if s.ctx.Err() != nil {
			s.dropped.Add(1)
			continue
		}
		if err := s.n.Notify(s.ctx, n); err != nil {
			if s.ctx.Err() != nil {
				s.dropped.Add(1)
				continue
			}
			s.failed.Add(1)
			s.mu.Lock()
			s.lastErr = err
			s.mu.Unlock()
			continue
		}
		s.sent.Add(1)
	}
}

// Send queues n for every notifier; it never blocks. After Close it does
// nothing.
func (d *Dispatcher) Send(n Notification) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	for _, s := range d.sinks {
		select {
		case s.q <- n:
		default:
			s.dropped.Add(1)
		}
	}
}

// Close lets the notifiers deliver what is queued until ctx is done (or,
// for a notifier with a CloseTimeout, until that much time has passed),
// then cancels what is in flight and drops the rest; it returns when every
// goroutine has ended. A run's end is delayed by ctx's deadline at most.
func (d *Dispatcher) Close(ctx context.Context) []DeliveryStats {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, s := range d.sinks {
			close(s.q)
		}
	}
	d.mu.Unlock()
	start := time.Now()
	out := make([]DeliveryStats, 0, len(d.sinks))
	for _, s := range d.sinks {
		var own <-chan time.Time
		if ct, ok := s.n.(interface{ CloseTimeout() time.Duration }); ok {
			t := time.NewTimer(max(ct.CloseTimeout()-time.Since(start), 0))
			defer t.Stop()
			own = t.C
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			s.cancel()
			<-s.done
		case <-own:
			s.cancel()
			<-s.done
		}
		s.cancel()
		s.mu.Lock()
		out = append(out, DeliveryStats{Notifier: s.n.String(), Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(), LastErr: s.lastErr})
		s.mu.Unlock()
	}
	return out
}
