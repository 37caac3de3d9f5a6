package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
	"github.com/perfkit/perfkit/report/live"
	"github.com/perfkit/perfkit/report/push"
	"github.com/perfkit/perfkit/report/stream"
)

// Config keys and run flags of monitoring.
const (
	metricsAddrKey = "metrics-addr"
	dashboardKey   = "dashboard"
	allowRemoteKey = "allow-remote"
	alertsKey      = "alerts"
	thresholdsKey  = "thresholds"
	notifyKey      = "notify"
	streamKey      = "stream"
	pushRWKey      = "push-remote-write"
)

// monitorTopKeys are the top-level config keys of monitoring: alerts and
// thresholds there apply to every scenario.
func monitorTopKeys() []string {
	return []string{alertsKey, thresholdsKey, notifyKey, metricsAddrKey, dashboardKey, allowRemoteKey, streamKey, pushRWKey}
}

// monitorScenarioKeys are the scenario keys of monitoring.
func monitorScenarioKeys() []string { return []string{alertsKey, thresholdsKey} }

// monitorRunKeys are the whole-run keys: refused inside a scenario.
func monitorRunKeys() []string {
	return []string{notifyKey, metricsAddrKey, dashboardKey, allowRemoteKey, streamKey, pushRWKey}
}

func addMonitorFlags(fl *pflag.FlagSet) {
	fl.String(metricsAddrKey, "", "serve Prometheus metrics (perfkit_*) at http://ADDR/metrics during the run, e.g. 127.0.0.1:9464")
	fl.String(dashboardKey, "", "serve a live dashboard at http://ADDR/ during the run (port 0 picks one; the URL is printed), e.g. 127.0.0.1:0")
	fl.String(streamKey, "", "write one JSON line per interval to FILE as the run goes ('-': stdout, and the report goes to stderr)")
	fl.String(pushRWKey, "", "push each interval's metrics to this Prometheus remote-write URL during the run, e.g. http://127.0.0.1:9090/api/v1/write (a slow or dead endpoint never stalls the run: undelivered intervals are counted)")
	fl.Bool(allowRemoteKey, false, "let --metrics-addr and --dashboard bind a non-loopback address (other machines can read the run)")
}

// MonitorOptions is a run's monitoring: alert rules and thresholds per
// scenario, notifiers, and the live endpoints.
type MonitorOptions struct {
	// Rules and Thresholds by scenario name (a sweep's steps share their
	// scenario's).
	Rules      map[string][]alert.Rule
	Thresholds map[string][]alert.Expr
	Notify     []notifySpec
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

// notifySpec is one entry of `notify:`.
type notifySpec struct {
	kind    string // webhook or log
	url     string
	slack   bool
	timeout time.Duration
	retries int
	path    string // log: a file to append to ("" = stderr)
}

// active reports whether anything needs watching.
func (mo *MonitorOptions) active() bool {
	return mo != nil && (len(mo.Rules) > 0 || len(mo.Thresholds) > 0 || mo.MetricsAddr != "" || mo.DashboardAddr != "" || mo.Stream != "" || mo.PushRemoteWrite != "")
}

// resolveMonitor reads monitoring from the flags, PERFKIT_* variables and
// the config file, for the scenarios about to run, and checks it all:
// expressions, windows, severities, webhook URLs and listen addresses.
// Labels and counters are checked once each workload is set up.
func (r *resolver) resolveMonitor(scenarios []bench.Scenario, sweeps []*bench.SweepStep) (*MonitorOptions, error) {
	mo := &MonitorOptions{Rules: map[string][]alert.Rule{}, Thresholds: map[string][]alert.Expr{}}
	raw, o := r.lookupSetting(allowRemoteKey, nil)
	allow, err := bench.Param{Kind: bench.Bool}.Parse(raw)
	if err != nil {
		return nil, o.wrapGlobal(fmt.Errorf("%s: %w", allowRemoteKey, err))
	}
	mo.AllowRemote = allow.(bool)
	if raw, o := r.lookupSetting(pushRWKey, nil); raw != nil {
		mo.PushRemoteWrite = strings.TrimSpace(fmt.Sprint(raw))
		if mo.PushRemoteWrite != "" {
			if err := push.CheckURL(mo.PushRemoteWrite); err != nil {
				return nil, o.wrapGlobal(fmt.Errorf("--%s: %w", pushRWKey, err))
			}
		}
	}
	if raw, o := r.lookupSetting(streamKey, nil); raw != nil {
		mo.Stream = strings.TrimSpace(fmt.Sprint(raw))
		if err := checkOutDir(mo.Stream); err != nil {
			return nil, o.wrapGlobal(fmt.Errorf("--%s: %w", streamKey, err))
		}
	}
	for _, key := range []string{metricsAddrKey, dashboardKey} {
		raw, o := r.lookupSetting(key, nil)
		addr := ""
		if raw != nil {
			addr = strings.TrimSpace(fmt.Sprint(raw))
		}
		if addr == "" {
			continue
		}
		if err := live.CheckAddr(addr, mo.AllowRemote); err != nil {
			return nil, o.wrapGlobal(fmt.Errorf("--%s: %w", key, err))
		}
		if key == metricsAddrKey {
			mo.MetricsAddr = addr
		} else {
			mo.DashboardAddr = addr
		}
	}
	cf := r.cfg
	if cf == nil {
		return mo, nil
	}
	var globalRules []alert.Rule
	var globalThresholds []alert.Expr
	if cv, ok := cf.top[alertsKey]; ok {
		if globalRules, err = cf.parseRules(cv, ""); err != nil {
			return nil, err
		}
	}
	if cv, ok := cf.top[thresholdsKey]; ok {
		if globalThresholds, err = cf.parseThresholds(cv, ""); err != nil {
			return nil, err
		}
	}
	if cv, ok := cf.top[notifyKey]; ok {
		if mo.Notify, err = cf.parseNotify(cv); err != nil {
			return nil, err
		}
	}
	for i, sc := range scenarios {
		base := sc.Name
		if i < len(sweeps) && sweeps[i] != nil {
			base = sweeps[i].Base
		}
		rules := slices.Clone(globalRules)
		thresholds := slices.Clone(globalThresholds)
		if scfg, ok := cf.scenario(base); ok {
			if cv, ok := scfg.settings[alertsKey]; ok {
				own, err := cf.parseRules(cv, base)
				if err != nil {
					return nil, err
				}
				rules = append(rules, own...)
			}
			if cv, ok := scfg.settings[thresholdsKey]; ok {
				own, err := cf.parseThresholds(cv, base)
				if err != nil {
					return nil, err
				}
				thresholds = append(thresholds, own...)
			}
		}
		seen := map[string]bool{}
		for _, rl := range rules {
			name := cmp.Or(rl.Name, rl.Expr.Text)
			if seen[name] {
				return nil, fmt.Errorf("scenario %s: alert %q defined twice (at the top level and in the scenario?): names must be unique", base, name)
			}
			seen[name] = true
		}
		if len(rules) > 0 {
			mo.Rules[sc.Name] = rules
		}
		if len(thresholds) > 0 {
			mo.Thresholds[sc.Name] = thresholds
		}
	}
	return mo, nil
}

// itemLines returns the line of each item of a config list.
func itemLines(cv configValue, n int) []int {
	lines := make([]int, n)
	for i := range lines {
		lines[i] = cv.line
		if cv.node != nil && cv.node.Kind == yaml.SequenceNode && i < len(cv.node.Content) {
			lines[i] = cv.node.Content[i].Line
		}
	}
	return lines
}

// prefix is "file:line: " or "file:line: scenario NAME: ".
func (cf *configFile) prefix(line int, scenario string) string {
	p := cf.where(line) + ": "
	if scenario != "" {
		p += "scenario " + scenario + ": "
	}
	return p
}

// ruleKeys are the keys of an alert rule.
func ruleKeys() []string {
	return []string{"name", "expr", "window", "for", "severity", "message", "abort"}
}

// parseRules reads an `alerts:` list: rules as mappings, or bare
// expressions.
func (cf *configFile) parseRules(cv configValue, scenario string) ([]alert.Rule, error) {
	items, ok := cv.raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%salerts: expected a list of rules (- {name: p99-high, expr: \"p99 > 50ms\", window: 10s})", cf.prefix(cv.line, scenario))
	}
	lines := itemLines(cv, len(items))
	var out []alert.Rule
	for i, it := range items {
		at := cf.prefix(lines[i], scenario)
		var rl alert.Rule
		var err error
		switch v := it.(type) {
		case string:
			rl.Expr, err = alert.ParseExpr(v)
			if err != nil {
				return nil, fmt.Errorf("%salert: %w", at, err)
			}
		case map[string]any:
			for k := range v {
				if !slices.Contains(ruleKeys(), k) {
					return nil, fmt.Errorf("%salert: unknown key %q (accepted: %s)", at, k, strings.Join(ruleKeys(), ", "))
				}
			}
			if n, ok := v["name"]; ok && n != nil {
				rl.Name = strings.TrimSpace(fmt.Sprint(n))
			}
			what := "alert"
			if rl.Name != "" {
				what += " " + rl.Name
			}
			expr, isStr := v["expr"].(string)
			if !isStr {
				return nil, fmt.Errorf("%s%s: no expr (e.g. expr: \"p99 > 50ms\")", at, what)
			}
			if rl.Expr, err = alert.ParseExpr(expr); err != nil {
				return nil, fmt.Errorf("%s%s: %w", at, what, err)
			}
			if rl.Window, err = configDuration(v, "window"); err != nil {
				return nil, fmt.Errorf("%s%s: %w", at, what, err)
			}
			if rl.For, err = configDuration(v, "for"); err != nil {
				return nil, fmt.Errorf("%s%s: %w", at, what, err)
			}
			sev, _ := v["severity"].(string)
			if v["severity"] != nil && sev == "" {
				sev = fmt.Sprint(v["severity"])
			}
			if rl.Severity, err = alert.ParseSeverity(sev); err != nil {
				return nil, fmt.Errorf("%s%s: %w", at, what, err)
			}
			if m, ok := v["message"]; ok {
				rl.Message = fmt.Sprint(m)
			}
			if a, ok := v["abort"]; ok {
				b, isBool := a.(bool)
				if !isBool {
					return nil, fmt.Errorf("%s%s: abort %v: expected true or false", at, what, a)
				}
				rl.Abort = b
			}
			if err := rl.Validate(); err != nil {
				return nil, fmt.Errorf("%s%s: %w", at, what, err)
			}
		default:
			return nil, fmt.Errorf("%salert: expected a rule ({name: ..., expr: ...}) or an expression, found %v", at, it)
		}
		out = append(out, rl)
	}
	return out, nil
}

// configDuration reads an optional duration key ("10s"); negative ones are
// left for Rule.Validate to name.
func configDuration(m map[string]any, key string) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	s, isStr := v.(string)
	if !isStr {
		if n, isInt := v.(int); isInt && n == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%s %v: expected a duration such as 10s", key, v)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q: expected a duration such as 10s", key, s)
	}
	return d, nil
}

// parseThresholds reads a `thresholds:` list of expressions.
func (cf *configFile) parseThresholds(cv configValue, scenario string) ([]alert.Expr, error) {
	items, ok := cv.raw.([]any)
	if !ok {
		if s, isStr := cv.raw.(string); isStr {
			items = []any{s}
		} else {
			return nil, fmt.Errorf("%sthresholds: expected a list of expressions ([\"p99 < 100ms\", \"error_rate < 1%%\"])", cf.prefix(cv.line, scenario))
		}
	}
	lines := itemLines(cv, len(items))
	var out []alert.Expr
	for i, it := range items {
		s, isStr := it.(string)
		if !isStr {
			return nil, fmt.Errorf("%sthreshold: expected an expression such as \"p99 < 100ms\", found %v", cf.prefix(lines[i], scenario), it)
		}
		e, err := alert.ParseExpr(s)
		if err != nil {
			return nil, fmt.Errorf("%sthreshold: %w", cf.prefix(lines[i], scenario), err)
		}
		out = append(out, e)
	}
	return out, nil
}

// notifyKeys are the keys of a notifier.
func notifyKeys() []string { return []string{"type", "url", "slack", "timeout", "retries", "path"} }

// parseNotify reads the `notify:` list.
func (cf *configFile) parseNotify(cv configValue) ([]notifySpec, error) {
	items, ok := cv.raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%snotify: expected a list of notifiers (- {type: webhook, url: https://...}, - {type: log})", cf.prefix(cv.line, ""))
	}
	lines := itemLines(cv, len(items))
	var out []notifySpec
	for i, it := range items {
		at := cf.prefix(lines[i], "") + "notify: "
		m, isMap := it.(map[string]any)
		if !isMap {
			return nil, fmt.Errorf("%sexpected a notifier ({type: webhook, url: ...} or {type: log}), found %v", at, it)
		}
		for k := range m {
			if !slices.Contains(notifyKeys(), k) {
				return nil, fmt.Errorf("%sunknown key %q (accepted: %s)", at, k, strings.Join(notifyKeys(), ", "))
			}
		}
		ns := notifySpec{kind: fmt.Sprint(m["type"]), timeout: alert.DefaultWebhookTimeout, retries: alert.DefaultWebhookRetries}
		switch ns.kind {
		case "webhook":
			ns.url, _ = m["url"].(string)
			if err := alert.CheckWebhookURL(ns.url); err != nil {
				return nil, fmt.Errorf("%s%w", at, err)
			}
			if v, ok := m["slack"]; ok {
				b, isBool := v.(bool)
				if !isBool {
					return nil, fmt.Errorf("%sslack %v: expected true or false", at, v)
				}
				ns.slack = b
			}
			if _, ok := m["timeout"]; ok {
				d, err := configDuration(m, "timeout")
				if err != nil {
					return nil, fmt.Errorf("%s%w", at, err)
				}
				if d <= 0 {
					return nil, fmt.Errorf("%stimeout %s: must be positive", at, d)
				}
				ns.timeout = d
			}
			if v, ok := m["retries"]; ok {
				n, isInt := v.(int)
				if !isInt || n < 0 || n > 10 {
					return nil, fmt.Errorf("%sretries %v: expected a number from 0 to 10", at, v)
				}
				ns.retries = n
			}
		case "log":
			if p, ok := m["path"]; ok {
				ns.path = strings.TrimSpace(fmt.Sprint(p))
			}
		case "<nil>":
			return nil, fmt.Errorf("%sno type (accepted: webhook, log)", at)
		default:
			return nil, fmt.Errorf("%stype %q: accepted: webhook, log", at, ns.kind)
		}
		out = append(out, ns)
	}
	return out, nil
}

// monitor watches a run: it evaluates alert rules, prints and sends their
// events, serves /metrics and the dashboard, checks thresholds, and can
// stop the run (abort). Its methods do nothing on a nil monitor.
type monitor struct {
	opts    *MonitorOptions
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

// startMonitor binds the live endpoints and starts the notifiers. Nothing
// has run yet: a bad or busy address is a usage error (exit 2). The
// returned context is ctx, cancelled when an abort rule fires.
func startMonitor(ctx context.Context, mo *MonitorOptions, streams *IOStreams, stderr io.Writer) (*monitor, context.Context, error) {
	if !mo.active() {
		return nil, ctx, nil
	}
	m := &monitor{opts: mo, stderr: stderr, tty: streams.IsStderrTTY(), grace: time.Second}
	ok := false
	defer func() {
		if !ok {
			m.close()
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
			flag := metricsAddrKey
			if e.addr == mo.DashboardAddr {
				flag = dashboardKey
			}
			return nil, ctx, &usageError{err: fmt.Errorf("--%s: %w", flag, err), hint: "pick another port, or 0 for any free one"}
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
		switch ns.kind {
		case "webhook":
			notifiers = append(notifiers, &alert.Webhook{URL: ns.url, Slack: ns.slack, Timeout: ns.timeout, Retries: ns.retries})
			m.grace = max(m.grace, ns.timeout)
		case "log":
			if ns.path == "" {
				notifiers = append(notifiers, &alert.Log{W: stderr})
				continue
			}
			f, err := os.OpenFile(ns.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, ctx, fmt.Errorf("notify: log %s: %w", ns.path, unwrapPath(err))
			}
			m.files = append(m.files, f)
			notifiers = append(notifiers, &alert.Log{W: f, Name: ns.path})
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
				return nil, ctx, fmt.Errorf("--%s %s: %w", streamKey, mo.Stream, unwrapPath(err))
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
			return nil, ctx, &usageError{err: fmt.Errorf("--%s: %w", pushRWKey, err)}
		}
		m.push = p
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	m.abort = cancel
	ok = true
	return m, runCtx, nil
}

// observers are what watches scenario sc: its alert evaluator (also the
// checker of its rules and thresholds), /metrics and the dashboard.
func (m *monitor) observers(sc bench.Scenario) []bench.Observer {
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
func (m *monitor) onEvent(s *bench.Snapshot, ev bench.AlertEvent) {
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

// finish records the scenario's alerts and checks its thresholds.
func (m *monitor) finish(sr *bench.ScenarioResult) {
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

// abortReason names the rule that stopped the run, "" if none did.
func (m *monitor) abortReason() string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.abortedBy
}

// close ends the dashboard's streams, lets the notifiers deliver what is
// queued for at most their timeout, shuts the servers down, and warns
// about notifications that were dropped or failed.
func (m *monitor) close() {
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

// gate is the run's monitoring verdict: a failed threshold, a fired
// critical alert or an abort fails it (exit 1).
func monitorGate(res *bench.Result) error {
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
	return gateErr(errors.New(msg))
}

// streamToStdout gives stdout to `--stream -`: the NDJSON lines alone go
// there, and the report (and a --compare table) to stderr, so a pipe reads
// nothing but JSON lines.
func streamToStdout(f *Factory, opts *RunOptions) {
	if opts.Monitor == nil || opts.Monitor.Stream != "-" {
		return
	}
	opts.Monitor.StreamOut = f.IO.Out
	opts.IO = &IOStreams{Out: f.IO.ErrOut, ErrOut: f.IO.ErrOut, errTTY: f.IO.errTTY}
}
