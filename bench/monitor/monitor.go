// Package monitor is a run's monitoring while it happens: it evaluates the
// scenarios' alert rules on each interval, prints and sends their events,
// serves Prometheus /metrics and the live dashboard (report/live), writes
// the interval stream (report/stream) and pushes to remote write
// (report/push), stops the run when an abort rule fires, and at the end of each scenario records its
// alerts and checks its thresholds.
package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
	"github.com/perfkit/perfkit/report/live"
	"github.com/perfkit/perfkit/report/push"
	"github.com/perfkit/perfkit/report/stream"
)

// Options is a run's monitoring: alert rules and thresholds per
// scenario, notifiers, and the live endpoints.
type Options struct {
	// Rules and Thresholds by scenario name (a sweep's steps share their
	// scenario's).
	Rules      map[string][]alert.Rule
	Thresholds map[string][]alert.Expr
	Notify     []Notifier
	// MetricsAddr and DashboardAddr are checked HOST:PORTs, "" when off.
	MetricsAddr   string
	DashboardAddr string
	AllowRemote   bool
	// Stream is the file each interval is written to as a JSON line
	// (--stream), "" when off; StreamOut is the writer of "-".
	Stream    string
	StreamOut io.Writer
	// PushRemoteWrite is the remote-write URL interval metrics are pushed
	// to (--push-remote-write), "" when off.
	PushRemoteWrite string
}

// Notifier is one entry of `notify:`.
type Notifier struct {
	Kind    string // webhook or log
	URL     string
	Slack   bool
	Timeout time.Duration
	Retries int
	Path    string // log: a file to append to ("" = stderr)
}

// Active reports whether anything needs watching.
func (mo *Options) Active() bool {
	return mo != nil && (len(mo.Rules) > 0 || len(mo.Thresholds) > 0 || mo.MetricsAddr != "" || mo.DashboardAddr != "" || mo.Stream != "" || mo.PushRemoteWrite != "")
}

// Monitor watches a run: it evaluates alert rules, prints and sends their
// events, serves /metrics and the dashboard, checks thresholds, and can
// stop the run (abort). Its methods do nothing on a nil monitor.
type Monitor struct {
	opts    *Options
	stderr  io.Writer
	tty     bool
	metrics *live.Metrics
	dash    *live.Dashboard
	servers []*live.Server
	disp    *alert.Dispatcher
	files   []*os.File
	stream  *stream.Writer
	push    *push.RemoteWrite
	grace   time.Duration // how long Close lets notifiers finish
	abort   context.CancelCauseFunc

	mu        sync.Mutex
	abortedBy string
	eval      *alert.Evaluator // of the scenario running
}

// errAborted is the cause of a run stopped by an alert rule.
var errAborted = errors.New("stopped by an alert rule")

// Start binds the live endpoints and starts the notifiers, the interval
// stream and the remote-write push; nil when mo is not Active. Nothing has
// run yet: a bad or busy address is an input error. Alert events, endpoint
// URLs and warnings go to stderr (tty: it is a terminal with a progress line
// to write over). The returned context is ctx, cancelled when an abort rule
// fires.
func Start(ctx context.Context, mo *Options, stderr io.Writer, tty bool) (*Monitor, context.Context, error) {
	if !mo.Active() {
		return nil, ctx, nil
	}
	m := &Monitor{opts: mo, stderr: stderr, tty: tty, grace: time.Second}
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()
	type endpoint struct {
		addr string
		mux  *http.ServeMux
	}
	var eps []*endpoint
	mount := func(addr string) *http.ServeMux {
		for _, e := range eps {
			if e.addr == addr {
				return e.mux
			}
		}
		e := &endpoint{addr: addr, mux: http.NewServeMux()}
		eps = append(eps, e)
		return e.mux
	}
	if mo.MetricsAddr != "" {
		m.metrics = live.NewMetrics()
		mux := mount(mo.MetricsAddr)
		mux.Handle("GET /metrics", m.metrics.Handler())
		for name, rules := range mo.Rules {
			for _, rl := range rules {
				m.metrics.DeclareAlert(name, cmp.Or(rl.Name, rl.Expr.Text), string(cmp.Or(rl.Severity, alert.DefaultSeverity)))
			}
		}
	}
	if mo.DashboardAddr != "" {
		m.dash = live.NewDashboard(0)
		mount(mo.DashboardAddr).Handle("/", m.dash.Handler())
	}
	for _, e := range eps {
		ln, err := live.Listen(e.addr, mo.AllowRemote)
		if err != nil {
			flag := "metrics-addr"
			if e.addr == mo.DashboardAddr {
				flag = "dashboard"
			}
			return nil, ctx, fmt.Errorf("--%s: %w; pick another port, or 0 for any free one", flag, err)
		}
		srv := live.Serve(ln, e.mux)
		m.servers = append(m.servers, srv)
		if e.addr == mo.DashboardAddr {
			fmt.Fprintf(stderr, "perfkit: dashboard: %s\n", srv.URL())
		}
		if e.addr == mo.MetricsAddr {
			fmt.Fprintf(stderr, "perfkit: metrics: %smetrics\n", srv.URL())
		}
	}
	var notifiers []alert.Notifier
	for _, ns := range mo.Notify {
		switch ns.Kind {
		case "webhook":
			notifiers = append(notifiers, &alert.Webhook{URL: ns.URL, Slack: ns.Slack, Timeout: ns.Timeout, Retries: ns.Retries})
			m.grace = max(m.grace, ns.Timeout)
		case "log":
			if ns.Path == "" {
				notifiers = append(notifiers, &alert.Log{W: stderr})
				continue
			}
			f, err := os.OpenFile(ns.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, ctx, fmt.Errorf("notify: log %s: %w", ns.Path, unwrapPath(err))
			}
			m.files = append(m.files, f)
			notifiers = append(notifiers, &alert.Log{W: f, Name: ns.Path})
		}
	}
	if len(notifiers) > 0 {
		m.disp = alert.NewDispatcher(0, notifiers...)
	}
	if mo.Stream != "" {
		w := mo.StreamOut
		if mo.Stream != "-" {
			f, err := os.Create(mo.Stream)
			if err != nil {
				return nil, ctx, fmt.Errorf("--stream %s: %w", mo.Stream, unwrapPath(err))
			}
			m.files = append(m.files, f)
			w = f
		}
		m.stream = stream.New(w, mo.Stream, 0)
	}
	if mo.PushRemoteWrite != "" {
		p, err := push.NewRemoteWrite(mo.PushRemoteWrite, push.Options{Warn: func(msg string) {
			fmt.Fprintf(stderr, "perfkit: warning: %s\n", msg)
		}})
		if err != nil {
			return nil, ctx, fmt.Errorf("--push-remote-write: %w", err)
		}
		m.push = p
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	m.abort = cancel
	ok = true
	return m, runCtx, nil
}

// Observers are what watches scenario sc: its alert evaluator (also the
// checker of its rules and thresholds), /metrics and the dashboard.
func (m *Monitor) Observers(sc bench.Scenario) []bench.Observer {
	if m == nil {
		return nil
	}
	var obs []bench.Observer
	rules, thresholds := m.opts.Rules[sc.Name], m.opts.Thresholds[sc.Name]
	var ev *alert.Evaluator
	if len(rules) > 0 || len(thresholds) > 0 {
		ev = alert.NewEvaluator(rules, thresholds, alert.Options{OnEvent: m.onEvent})
		obs = append(obs, ev)
	}
	m.mu.Lock()
	m.eval = ev
	m.mu.Unlock()
	if m.metrics != nil {
		obs = append(obs, m.metrics)
	}
	if m.dash != nil {
		obs = append(obs, m.dash)
	}
	if m.stream != nil {
		obs = append(obs, m.stream)
	}
	if m.push != nil {
		obs = append(obs, m.push)
	}
	return obs
}

// onEvent prints an alert event, shows it live, sends it, and stops the run
// when the rule says so. It runs on the engine's collector goroutine and
// never blocks on a receiver.
func (m *Monitor) onEvent(s *bench.Snapshot, ev bench.AlertEvent) {
	clear := ""
	if m.tty {
		clear = "\r\x1b[K" // over the progress line, which the next interval redraws
	}
	fmt.Fprintf(m.stderr, "%sperfkit: alert: %s\n", clear, alert.Describe(s.Scenario, ev))
	if m.metrics != nil {
		m.metrics.Alert(s.Scenario, ev)
	}
	if m.dash != nil {
		m.dash.Alert(s.Scenario, ev)
	}
	if m.disp != nil {
		m.disp.Send(alert.NewNotification(s.Scenario, s.Workload, ev))
	}
	if ev.Abort {
		m.mu.Lock()
		if m.abortedBy == "" {
			m.abortedBy = ev.Rule
		}
		m.mu.Unlock()
		m.abort(errAborted)
	}
}

// Finish records the scenario's alerts and checks its thresholds.
func (m *Monitor) Finish(sr *bench.ScenarioResult) {
	if m == nil {
		return
	}
	m.mu.Lock()
	ev := m.eval
	m.eval = nil
	m.mu.Unlock()
	if ev != nil {
		sr.Alerts = ev.Events()
	}
	sr.Thresholds = alert.CheckThresholds(sr, m.opts.Thresholds[sr.Name], 0)
}

// AbortReason names the rule that stopped the run, "" if none did.
func (m *Monitor) AbortReason() string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.abortedBy
}

// Close ends the dashboard's streams, lets the notifiers deliver what is
// queued for at most their timeout, shuts the servers down, and warns
// about notifications that were dropped or failed.
func (m *Monitor) Close() {
	if m == nil {
		return
	}
	if m.dash != nil {
		m.dash.Close()
	}
	if m.disp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.grace)
		stats := m.disp.Close(ctx)
		cancel()
		for _, st := range stats {
			if st.Dropped > 0 {
				fmt.Fprintf(m.stderr, "perfkit: warning: %s: %d alert notification(s) dropped (receiver too slow or down)\n", st.Notifier, st.Dropped)
			}
			if st.Failed > 0 {
				fmt.Fprintf(m.stderr, "perfkit: warning: %d alert notification(s) failed: %v\n", st.Failed, st.LastErr)
			}
		}
		m.disp = nil
	}
	for _, s := range m.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.Close(ctx)
		cancel()
	}
	m.servers = nil
	if m.push != nil {
		// What is queued gets a few seconds; an endpoint that is down
		// costs the run no more than that.
		if w := m.push.Close(5 * time.Second).Warning(m.opts.PushRemoteWrite); w != "" {
			fmt.Fprintf(m.stderr, "perfkit: warning: %s\n", w)
		}
		m.push = nil
	}
	if m.stream != nil {
		for _, w := range m.stream.Close().Warnings(m.opts.Stream) {
			fmt.Fprintf(m.stderr, "perfkit: warning: %s\n", w)
		}
		m.stream = nil
	}
	for _, f := range m.files {
		if err := f.Close(); err != nil {
			fmt.Fprintf(m.stderr, "perfkit: warning: %s: %v\n", f.Name(), err)
		}
	}
	m.files = nil
	if m.abort != nil {
		m.abort(nil)
	}
}

// Gate is the run's monitoring verdict: a failed threshold, a fired
// critical alert or an abort fails it (a *bench.GateError).
func Gate(res *bench.Result) error {
	var reasons []string
	for i := range res.Scenarios {
		reasons = append(reasons, alert.Failures(&res.Scenarios[i])...)
	}
	if len(reasons) == 0 {
		return nil
	}
	msg := reasons[0]
	if len(reasons) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(reasons)-1)
	}
	return &bench.GateError{Err: errors.New(msg)}
}

// unwrapPath drops the *PathError's path, which messages name already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
