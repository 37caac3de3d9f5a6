package cmd

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// monWorkload labels its ops get or put, counts hits, and sleeps its
// "sleep" param per op.
type monWorkload struct {
	sleep time.Duration
	hits  bench.Counter
}

func (w *monWorkload) Setup(_ context.Context, s *bench.Setup) error {
	s.Label("get")
	s.Label("put")
	w.hits = s.Counter("hits")
	return nil
}
func (w *monWorkload) Teardown(context.Context) error { return nil }
func (w *monWorkload) Op(ctx context.Context, wk *bench.Worker) (bench.Label, error) {
	wk.Count(w.hits, 1)
	if w.sleep > 0 {
		t := time.NewTimer(w.sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return bench.Label(wk.ID % 2), nil
}

func monDefs() []bench.Definition {
	return []bench.Definition{{
		Name: "mon", Help: "test workload with labels and a counter",
		Params: []bench.Param{{Name: "sleep", Kind: bench.Duration, Default: "100us", Help: "per op"}},
		New: func(v bench.Values) (bench.Workload, error) {
			return &monWorkload{sleep: v.Duration("sleep")}, nil
		},
	}}
}

// monCLI runs perfkit with the mon workload in a sandbox holding config.
func monCLI(t *testing.T, config string, args ...string) (int, string, string) {
	t.Helper()
	if config != "" {
		writeFile(t, ConfigFileName, config)
	}
	return cliWith(t, context.Background(), func(f *Factory) { f.Workloads = monDefs() }, args...)
}

var monQuick = []string{"-d", "300ms", "--warmup", "0s", "-c", "2", "--interval", "100ms"}

func TestMonitorBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	scenario := func(extra string) string {
		return "scenarios:\n  - name: s\n    workload: mon\n" + extra
	}
	cases := []struct {
		name, config string
		args         []string
		want         []string
	}{
		{"expr does not parse", scenario("    alerts:\n      - {name: x, expr: \"p99 >> 5ms\"}\n"), nil,
			[]string{"perfkit.yaml:5: scenario s: alert x:", `expression "p99 >> 5ms": column 5: unknown operator ">>"`}},
		{"threshold does not parse", scenario("    thresholds:\n      - \"p99 < 5\"\n"), nil,
			[]string{"perfkit.yaml:5: scenario s: threshold:", `value "5": needs a unit`}},
		{"negative window", "alerts:\n  - {name: x, expr: \"p99 > 1ms\", window: -5s}\n" + scenario(""), nil,
			[]string{"perfkit.yaml:2: alert x: window -5s: must not be negative"}},
		{"bad severity", "alerts:\n  - {name: x, expr: \"p99 > 1ms\", severity: page}\n", []string{"mon"},
			[]string{`severity "page": accepted: info, warning, critical`}},
		{"unknown rule key", "alerts:\n  - {name: x, expr: \"p99 > 1ms\", windw: 5s}\n", []string{"mon"},
			[]string{`perfkit.yaml:2: alert: unknown key "windw" (accepted: name, expr, window, for, severity, message, abort)`}},
		{"webhook not http", "notify:\n  - {type: webhook, url: \"ftp://example.com/hook\"}\n", []string{"mon"},
			[]string{"perfkit.yaml:2: notify: webhook url", "must be http:// or https://"}},
		{"notifier type", "notify:\n  - {type: pager}\n", []string{"mon"},
			[]string{`perfkit.yaml:2: notify: type "pager": accepted: webhook, log`}},
		{"run key in scenario", scenario("    metrics-addr: 127.0.0.1:0\n"), nil,
			[]string{`key "metrics-addr" applies to the whole run`}},
		{"unknown label", scenario("    alerts:\n      - {name: x, expr: \"p99{hit} > 1ms\"}\n"), nil,
			[]string{"scenario s: alert x (p99{hit} > 1ms):", `label "hit": workload mon does not record it (labels: get, op, put)`}},
		{"unknown metric", scenario("    thresholds: [\"latency < 5\"]\n"), nil,
			[]string{`threshold "latency < 5": unknown metric "latency"`, "counters: hits"}},
		{"unknown metric with a duration", scenario("    thresholds: [\"latency < 5ms\"]\n"), nil,
			[]string{`value "5ms": not a number: latency is not a built-in metric (throughput, error_rate, p50`}},
		{"metrics-addr syntax", "", []string{"mon", "--metrics-addr", "9464"},
			[]string{`--metrics-addr: address "9464": expected HOST:PORT`}},
		{"dashboard not loopback", "", []string{"mon", "--dashboard", "0.0.0.0:0"},
			[]string{`--dashboard: address "0.0.0.0:0" is not a loopback address`, "--allow-remote"}},
		{"metrics-addr in use", "", []string{"mon", "--metrics-addr", busy.Addr().String()},
			[]string{"--metrics-addr: address", "address already in use", "pick another port"}},
		{"dashboard in use", "", []string{"mon", "--dashboard", busy.Addr().String()},
			[]string{"--dashboard: address", "address already in use"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sandbox(t)
			args := append([]string{"run"}, c.args...)
			args = append(args, "--no-save", "-d", "30s", "--warmup", "0s")
			start := time.Now()
			code, out, errOut := monCLI(t, c.config, args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
			}
			if time.Since(start) > 10*time.Second || out != "" {
				t.Errorf("it ran (%s, stdout %q)", time.Since(start), out)
			}
			oneErrorLine(t, lastLine(errOut), c.want...)
		})
	}
}

// lastLine is the last line of stderr (the URL lines of a started server
// come before an error found later).
func lastLine(s string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return strings.TrimSuffix(lines[len(lines)-1], "\n") + "\n"
}

func readResult(t *testing.T, path string) *bench.Result {
	t.Helper()
	r, err := bench.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestThresholdsGate: a failed threshold exits 1, names itself on stderr,
// is marked in the table and recorded in the result; passing ones exit 0.
func TestThresholdsGate(t *testing.T) {
	sandbox(t)
	cfg := "thresholds: [\"error_rate < 1%\"]\nscenarios:\n  - name: s\n    workload: mon\n    thresholds: [\"p99 < 1ns\", \"hits > 1\", \"p99{get} < 10s\"]\n"
	code, out, errOut := monCLI(t, cfg, append([]string{"run", "-o", "r.json"}, monQuick...)...)
	if code != ExitGate {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, `perfkit: scenario s: threshold "p99 < 1ns" failed (`) {
		t.Errorf("stderr %q", errOut)
	}
	if !strings.Contains(out, "s thresholds FAILED (1 of 4): error_rate < 1% passed (0%), p99 < 1ns FAILED (") {
		t.Errorf("table does not mark the thresholds:\n%s", out)
	}
	r := readResult(t, "r.json")
	th := r.Scenarios[0].Thresholds
	if len(th) != 4 || th[0].Expr != "error_rate < 1%" || !th[0].Passed || th[1].Passed || !th[2].Passed || !th[3].Passed {
		t.Errorf("thresholds %+v", th)
	}

	cfg = strings.Replace(cfg, "p99 < 1ns", "p99 < 10s", 1)
	code, _, errOut = monCLI(t, cfg, append([]string{"run", "--no-save"}, monQuick...)...)
	if code != ExitOK {
		t.Errorf("passing thresholds: exit %d, stderr %q", code, errOut)
	}
}

// TestCriticalAlertGate: a fired critical alert exits 1; a warning does
// not; both are printed on stderr and recorded.
func TestCriticalAlertGate(t *testing.T) {
	sandbox(t)
	cfg := "alerts:\n  - {name: busy, expr: \"throughput > 1/s\", severity: critical, message: too busy}\n  - {name: hot, expr: \"hits > 0\"}\n"
	code, out, errOut := monCLI(t, cfg, append([]string{"run", "mon", "-o", "r.json"}, monQuick...)...)
	if code != ExitGate {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	for _, want := range []string{
		"perfkit: alert: FIRING critical busy: mon throughput ",
		"(run 1, 0.1s): too busy\n",
		"perfkit: alert: FIRING warning hot: mon hits ",
		"perfkit: alert: RESOLVED critical busy: mon throughput ",
		"perfkit: scenario mon: critical alert busy (throughput > 1/s) fired\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "mon alert busy (critical, throughput > 1/s) fired: run 1 at 0.1s (") {
		t.Errorf("table:\n%s", out)
	}
	al := readResult(t, "r.json").Scenarios[0].Alerts
	if len(al) != 4 || al[0].Rule != "busy" || al[0].State != "firing" || al[3].Reason != "run ended" {
		t.Errorf("alerts %+v", al)
	}

	cfg = strings.Replace(cfg, "critical", "warning", 1)
	if code, _, errOut = monCLI(t, cfg, append([]string{"run", "mon", "--no-save"}, monQuick...)...); code != ExitOK {
		t.Errorf("warnings only: exit %d, stderr %q", code, errOut)
	}
}

// TestAlertAbort: an abort rule stops the run when it fires; the partial
// result is saved with the alert, and the run exits 1.
func TestAlertAbort(t *testing.T) {
	sandbox(t)
	cfg := "scenarios:\n  - name: s\n    workload: mon\n    alerts:\n      - {name: stop, expr: \"hits > 0\", abort: true}\n  - name: never\n    workload: mon\n"
	start := time.Now()
	code, _, errOut := monCLI(t, cfg, "run", "-o", "r.json", "-d", "30s", "--warmup", "0s", "--interval", "100ms")
	if code != ExitGate {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("the run took %s: not aborted", el)
	}
	if !strings.Contains(errOut, "stopped by alert stop: partial result saved to r.json") ||
		!strings.Contains(errOut, "perfkit: scenario s: alert stop (hits > 0) fired and aborted the run") {
		t.Errorf("stderr %q", errOut)
	}
	r := readResult(t, "r.json")
	if !r.Partial || len(r.Scenarios) != 1 {
		t.Fatalf("partial %v, %d scenarios", r.Partial, len(r.Scenarios))
	}
	if al := r.Scenarios[0].Alerts; len(al) == 0 || al[0].Rule != "stop" || !al[0].Abort {
		t.Errorf("alerts %+v", al)
	}
}

// TestWebhookDuringRun: the receiver gets the firing; one that hangs delays
// the run's end by at most the notifier's timeout.
func TestWebhookDuringRun(t *testing.T) {
	sandbox(t)
	var mu sync.Mutex
	var got []map[string]any
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer ok.Close()
	hang := hangingHTTP(t)

	const timeout = 2 * time.Second
	cfg := "notify:\n  - {type: webhook, url: \"" + ok.URL + "/hook\", slack: true}\n" +
		"  - {type: webhook, url: \"${HANG_URL}\", timeout: 2s, retries: 10}\n" +
		"  - {type: log, path: alerts.jsonl}\n" +
		"alerts:\n  - {name: hot, expr: \"hits > 0\"}\n"
	t.Setenv("HANG_URL", hang.URL)
	start := time.Now()
	code, _, errOut := monCLI(t, cfg, append([]string{"run", "mon", "--no-save"}, monQuick...)...)
	elapsed := time.Since(start)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// 300ms measured, then at most the 2s timeout for the hanging
	// receiver, plus setup and scheduling slack: 10s (a loaded machine
	// took 4s over). Waiting out the 10 retries would take over 22s.
	if elapsed > 300*time.Millisecond+timeout+10*time.Second {
		t.Errorf("the run took %s with a hanging receiver (timeout %s)", elapsed, timeout)
	}
	if !strings.Contains(errOut, "perfkit: warning: webhook "+strings.TrimSuffix(hang.URL, "/")) || !strings.Contains(errOut, "dropped") {
		t.Errorf("no warning about the hanging receiver: %q", errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0]["scenario"] != "mon" || got[0]["state"] != "firing" || got[1]["state"] != "resolved" ||
		!strings.HasPrefix(got[0]["text"].(string), "FIRING warning hot: mon hits ") {
		t.Errorf("receiver got %v", got)
	}
	log, err := os.ReadFile("alerts.jsonl")
	if err != nil || strings.Count(string(log), "\n") != 2 || !strings.Contains(string(log), `"expr":"hits > 0"`) {
		t.Errorf("log %q, %v", log, err)
	}
}

// TestRunServesMetricsAndDashboard: the URLs are printed and answer while
// the run goes on.
func TestRunServesMetricsAndDashboard(t *testing.T) {
	sandbox(t)
	r, w := io.Pipe()
	defer r.Close()
	done := make(chan int, 1)
	go func() {
		f := newFactory(io.Discard, w)
		f.Workloads = monDefs()
		done <- execute(context.Background(), []string{"run", "mon", "--no-save", "-d", "2s", "--warmup", "0s",
			"--metrics-addr", "127.0.0.1:0", "--dashboard", "localhost:0"}, f)
		w.Close()
	}()
	urls := map[string]string{}
	buf := make([]byte, 4096)
	var text string
	for len(urls) < 2 {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("stderr ended: %q", text)
		}
		text += string(buf[:n])
		for _, line := range strings.Split(text, "\n") {
			if u, ok := strings.CutPrefix(line, "perfkit: metrics: "); ok {
				urls["metrics"] = u
			}
			if u, ok := strings.CutPrefix(line, "perfkit: dashboard: "); ok {
				urls["dashboard"] = u
			}
		}
	}
	for name, u := range urls {
		want := map[string]string{"metrics": `perfkit_ops_total{label="op",scenario="mon"}`, "dashboard": "perfkit"}[name]
		var body []byte
		for range 50 { // the scenario's series appear once it is set up
			resp, err := http.Get(u)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %s", name, u, resp.Status)
			}
			if strings.Contains(string(body), want) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s %s lacks %q", name, u, want)
		}
		// DNS rebinding: the same socket, another site's name.
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = "rebind.example:" + req.URL.Port()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s with Host %s: %s, want 421", name, req.Host, resp.Status)
		}
	}
	go io.Copy(io.Discard, r)
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestReportCommand(t *testing.T) {
	sandbox(t)
	cfg := "scenarios:\n  - name: s\n    workload: mon\n    thresholds: [\"p99 < 10s\"]\n    alerts: [\"hits > 0\"]\n"
	if code, _, errOut := monCLI(t, cfg, append([]string{"run", "-o", "r.json", "--count", "2"}, monQuick...)...); code != 0 {
		t.Fatalf("run: exit %d, %q", code, errOut)
	}
	code, out, errOut := cli(t, "report", "r.json", "--format", "html", "-o", "report.html")
	if code != 0 || out != "" || errOut != "report: report.html\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	page, _ := os.ReadFile("report.html")
	for _, want := range []string{"<!doctype html>", "Latency by percentile", "<svg", `class="series"`, "p99 &lt; 10s", "Spread across runs", "FIRING"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, no := range []string{"<script", `src="`, `href="http`, "url(", "@import"} {
		if strings.Contains(string(page), no) {
			t.Errorf("report.html is not self-contained: %q", no)
		}
	}
	for _, f := range []string{"table", "markdown", "json"} {
		code, out, errOut = cli(t, "report", "r.json", "--format", f)
		if code != 0 || out == "" || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q", f, code, errOut)
		}
	}
	// No RESULT: the newest in .perfkit/results.
	if code, _, errOut = cli(t, "report"); code != ExitUsage || !strings.Contains(errOut, "no results in .perfkit/results") {
		t.Errorf("no results: exit %d, %q", code, errOut)
	}

	writeFile(t, "bad.json", "{\"schema_version\": 1,\n \"scenarios\": [}\n")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"report", "bad.json"}, []string{"result bad.json: not a perfkit result: line 2"}},
		{[]string{"report", "missing.json"}, []string{"result missing.json: no such file or directory"}},
		{[]string{"report", "r.json", "--format", "yaml"}, []string{`--format: format "yaml": accepted: table, json, markdown, csv, html`}},
		{[]string{"report", "r.json", "-o", "nodir/x.html"}, []string{"output nodir/x.html: directory nodir does not exist"}},
		{[]string{"report", "a.json", "b.json"}, []string{"expected at most one result file"}},
	} {
		code, _, errOut := cli(t, c.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		oneErrorLine(t, errOut, c.want...)
	}
}
