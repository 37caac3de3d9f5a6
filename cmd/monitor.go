package cmd

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
	"github.com/perfkit/perfkit/bench/monitor"
	"github.com/perfkit/perfkit/report/live"
	"github.com/perfkit/perfkit/report/push"
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

// resolveMonitor reads monitoring from the flags, PERFKIT_* variables and
// the config file, for the scenarios about to run, and checks it all:
// expressions, windows, severities, webhook URLs and listen addresses.
// Labels and counters are checked once each workload is set up.
func (r *resolver) resolveMonitor(scenarios []bench.Scenario) (*monitor.Options, error) {
	mo := &monitor.Options{Rules: map[string][]alert.Rule{}, Thresholds: map[string][]alert.Expr{}}
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
	for _, sc := range scenarios {
		base := sc.Name
		if sc.Sweep != nil {
			base = sc.Sweep.Base
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
func (cf *configFile) parseNotify(cv configValue) ([]monitor.Notifier, error) {
	items, ok := cv.raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%snotify: expected a list of notifiers (- {type: webhook, url: https://...}, - {type: log})", cf.prefix(cv.line, ""))
	}
	lines := itemLines(cv, len(items))
	var out []monitor.Notifier
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
		ns := monitor.Notifier{Kind: fmt.Sprint(m["type"]), Timeout: alert.DefaultWebhookTimeout, Retries: alert.DefaultWebhookRetries}
		switch ns.Kind {
		case "webhook":
			ns.URL, _ = m["url"].(string)
			if err := alert.CheckWebhookURL(ns.URL); err != nil {
				return nil, fmt.Errorf("%s%w", at, err)
			}
			if v, ok := m["slack"]; ok {
				b, isBool := v.(bool)
				if !isBool {
					return nil, fmt.Errorf("%sslack %v: expected true or false", at, v)
				}
				ns.Slack = b
			}
			if _, ok := m["timeout"]; ok {
				d, err := configDuration(m, "timeout")
				if err != nil {
					return nil, fmt.Errorf("%s%w", at, err)
				}
				if d <= 0 {
					return nil, fmt.Errorf("%stimeout %s: must be positive", at, d)
				}
				ns.Timeout = d
			}
			if v, ok := m["retries"]; ok {
				n, isInt := v.(int)
				if !isInt || n < 0 || n > 10 {
					return nil, fmt.Errorf("%sretries %v: expected a number from 0 to 10", at, v)
				}
				ns.Retries = n
			}
		case "log":
			if p, ok := m["path"]; ok {
				ns.Path = strings.TrimSpace(fmt.Sprint(p))
			}
		case "<nil>":
			return nil, fmt.Errorf("%sno type (accepted: webhook, log)", at)
		default:
			return nil, fmt.Errorf("%stype %q: accepted: webhook, log", at, ns.Kind)
		}
		out = append(out, ns)
	}
	return out, nil
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
