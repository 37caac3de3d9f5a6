package cmd

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfkit/perfkit/internal/redistest"
)

// secretsProbe plants secrets, each a unique value holding one marker, and
// greps outputs for the marker.
type secretsProbe struct {
	t       *testing.T
	marker  string
	mu      sync.Mutex
	planted map[string]string // secret → where it was planted
	checked int               // outputs grepped
	names   []string          // their names
	found   int               // secrets seen in them
}

func newSecretsProbe(t *testing.T) *secretsProbe {
	var b [4]byte
	_, _ = crand.Read(b[:])
	return &secretsProbe{t: t, marker: "SEKRET" + hex.EncodeToString(b[:]), planted: map[string]string{}}
}

// secret returns a new secret to plant in the input described by where.
func (p *secretsProbe) secret(where string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("%sx%02d", p.marker, len(p.planted))
	p.planted[s] = where
	return s
}

// check greps one output for the marker and names every secret it holds.
func (p *secretsProbe) check(output, text string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checked++
	p.names = append(p.names, output)
	for rest := text; ; {
		i := strings.Index(rest, p.marker)
		if i < 0 {
			return
		}
		p.found++
		end := min(len(rest), i+len(p.marker)+3)
		secret := rest[i:end]
		from, to := max(0, i-80), min(len(rest), i+60)
		p.t.Errorf("%s shows the secret planted in %s: …%s…", output, p.planted[secret], rest[from:to])
		rest = rest[end:]
	}
}

// TestNoSecretInAnyOutput plants a marker in every secret-bearing input
// perfkit takes — URL passwords, secret query parameters, credential
// headers, Redis passwords, the targets file, the config file (directly and
// through ${VAR}), ab's --a-set/--b-set, sweep values, an exec command line —
// and greps every output for it: stdout and stderr of run in each format, of
// ab, report, compare, baseline, errors on bad input, /metrics, the
// dashboard and its event stream, and every file perfkit wrote. It must find
// none.
func TestNoSecretInAnyOutput(t *testing.T) {
	dir := sandbox(t)
	p := newSecretsProbe(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/debug/pprof/", pprof.Index) // the target's profiles (--pprof-url)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	quick := []string{"-d", "100ms", "--warmup", "0", "--count", "1", "-c", "1"}

	// cli runs perfkit and checks both streams; wantErr says whether the
	// command must fail (a bad input) or must get past its input checks (so
	// that a secret accepted is one carried through to the outputs).
	cli := func(wantErr bool, args ...string) {
		t.Helper()
		code, out, errOut := cli(t, args...)
		name := strings.Join(args, " ")
		p.check("stdout of "+name, out)
		p.check("stderr of "+name, errOut)
		switch {
		case wantErr && code == ExitOK:
			t.Errorf("%s: exit 0, want an error", name)
		case !wantErr && code == ExitUsage:
			t.Errorf("%s: exit %d, the input was refused: %s", name, code, errOut)
		}
	}

	// Flags: a URL with a password and secret query parameters, every kind
	// of credential header; each output format.
	urlFlag := "http://user:" + p.secret("a URL password (--url)") + "@" + host + "/?n=1&token=" + p.secret("query token=") +
		"&api_key=" + p.secret("query api_key=") + "&X-Amz-Signature=" + p.secret("query X-Amz-Signature=") +
		"&password=" + p.secret("query password=") + "&sig=" + p.secret("query sig=")
	headers := []string{
		"Authorization: Bearer " + p.secret("header Authorization (--header)"),
		"Cookie: session=" + p.secret("header Cookie"),
		"X-Api-Key: " + p.secret("header X-Api-Key"),
		"Proxy-Authorization: Basic " + p.secret("header Proxy-Authorization"),
		"X-Auth-Token: " + p.secret("header X-Auth-Token"),
	}
	fetchFlags := []string{"--url", urlFlag}
	for _, h := range headers {
		fetchFlags = append(fetchFlags, "--header", h)
	}
	for _, f := range []string{"table", "json", "markdown"} {
		cli(false, append(append([]string{"run", "fetch", "--format", f, "-o", "res-" + f + ".json"}, fetchFlags...), quick...)...)
	}

	// The environment.
	t.Setenv("PERFKIT_HEADER", "Authorization: Bearer "+p.secret("PERFKIT_HEADER"))
	cli(false, append([]string{"run", "fetch", "--url", srv.URL, "-o", "res-env.json"}, quick...)...)
	if h := fmt.Sprint(readResult(t, "res-env.json").Scenarios[0].Params["header"]); h != "[Authorization: REDACTED]" {
		t.Errorf("PERFKIT_HEADER was not applied: header %s", h)
	}
	t.Setenv("PERFKIT_HEADER", "Bearer "+p.secret("PERFKIT_HEADER without its name"))
	cli(true, append([]string{"run", "fetch", "--url", srv.URL}, quick...)...)
	t.Setenv("PERFKIT_HEADER", "")

	// The targets file.
	targets := "GET http://u:" + p.secret("a URL password (targets file)") + "@" + host + "/a?access_token=" + p.secret("query access_token= (targets file)") + "\n" +
		"Authorization: Bearer " + p.secret("header Authorization (targets file)") + "\n" +
		"Cookie: sid=" + p.secret("header Cookie (targets file)") + "\n\n" +
		"POST http://" + host + "/b\nX-Api-Key: " + p.secret("header X-Api-Key (targets file)") + "\n"
	writeFile(t, "targets.txt", targets)
	cli(false, append([]string{"run", "fetch", "--targets", "targets.txt", "-o", "res-targets.json"}, quick...)...)

	// The config file: a param written in it, and one from ${VAR}.
	t.Setenv("API_TOKEN", p.secret("${API_TOKEN} in the config file"))
	config := "scenarios:\n  - name: api\n    workload: fetch\n    params:\n" +
		"      url: [\"http://cfg:" + p.secret("a URL password (config file)") + "@" + host + "/\"]\n" +
		"      header: [\"Authorization: Bearer ${API_TOKEN}\", \"X-Api-Key: " + p.secret("header X-Api-Key (config file)") + "\"]\n"
	writeFile(t, "secrets.yaml", config)
	cli(false, append([]string{"run", "api", "--config", "secrets.yaml", "-o", "res-config.json"}, quick...)...)

	// Sweeps over secret values: each step named apart, so compare takes them.
	sweepHeader := "header=Authorization: Bearer " + p.secret("sweep value 1 (header)") + ",Authorization: Bearer " + p.secret("sweep value 2 (header)")
	cli(false, append([]string{"run", "fetch", "--url", srv.URL, "--sweep", sweepHeader, "-o", "sweep.json"}, quick...)...)
	sweepURL := "url=http://u:" + p.secret("sweep value 1 (url)") + "@" + host + "/,http://" + host + "/?token=" + p.secret("sweep value 2 (url)")
	cli(false, append([]string{"run", "fetch", "--sweep", sweepURL, "-o", "sweep-url.json"}, quick...)...)

	// ab: secrets on each side, every format.
	aSet := "header=Authorization: Bearer " + p.secret("ab --a-set header")
	bSet := "url=http://u:" + p.secret("ab --b-set url password") + "@" + host + "/?token=" + p.secret("ab --b-set url token")
	for _, f := range formatNames() {
		cli(false, append([]string{"ab", "fetch", "--url", srv.URL, "--a-set", aSet, "--b-set", bSet, "--fail-on", "never", "--format", f}, quick...)...)
	}

	// An exec command line with a credential.
	cli(false, "run", "agents", "--kind", "exec", "--cmd", "true --token "+p.secret("agents --cmd --token"), "-n", "2", "-c", "1",
		"--batch", "1", "--workers", "1", "--warmup", "0", "-o", "res-agents.json")

	// Profiles: perfkit's own and the target's, from a --pprof-url with a
	// password and a token.
	pprofURL := "http://u:" + p.secret("--pprof-url password") + "@" + host + "/debug/pprof?token=" + p.secret("--pprof-url token")
	cli(false, append(append([]string{"run", "fetch", "--profile", "heap", "--pprof-url", pprofURL, "-o", "res-profile.json"}, fetchFlags...), quick...)...)

	cli(false, append(append([]string{"profile", "heap", "fetch", "--pprof-url", pprofURL, "--no-save"}, fetchFlags...), quick...)...)
	if profs, _ := filepath.Glob(filepath.Join(".perfkit", "profiles", "*.pb.gz")); len(profs) == 0 {
		t.Errorf("no profile written")
	} else {
		for _, f := range profs {
			cli(false, "profile", "top", f)
		}
	}

	// A capacity search, shards and their merge.
	cli(false, append([]string{"run", "fetch", "--find-max-rate", "--slo", "p99<1s", "--max-rate", "100", "--precision", "50%",
		"-d", "100ms", "--warmup", "0", "-o", "res-search.json"}, fetchFlags...)...)
	for i := range 2 {
		cli(false, append(append([]string{"run", "fetch", "--shard", fmt.Sprintf("%d/2", i), "-o", fmt.Sprintf("shard%d.json", i)}, fetchFlags...), append(quick, "-c", "2")...)...)
	}
	cli(false, "merge", "shard0.json", "shard1.json", "-o", "merged.json")
	cli(false, "report", "merged.json")

	// Alerts: the webhook receiving them (its URL carries a token), one that
	// hangs (the warning names it), the alert log.
	var hookMu sync.Mutex
	var hookBodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hookBodies = append(hookBodies, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()
	hang := hangingHTTP(t)
	monConfig := "notify:\n" +
		"  - {type: webhook, url: \"" + hook.URL + "/services/" + p.secret("webhook URL path") + "?token=" + p.secret("webhook URL token") + "\"}\n" +
		"  - {type: webhook, url: \"http://u:" + p.secret("hanging webhook password") + "@" + strings.TrimPrefix(hang.URL, "http://") + "/?key=" + p.secret("hanging webhook key") + "\", timeout: 300ms, retries: 0}\n" +
		"  - {type: log, path: alerts.jsonl}\n" +
		"alerts:\n  - {name: busy, expr: \"throughput > 0\"}\n" +
		"scenarios:\n  - name: mon\n    workload: fetch\n    params:\n" +
		"      url: [\"http://m:" + p.secret("a URL password (alerting run)") + "@" + host + "/?token=" + p.secret("query token (alerting run)") + "\"]\n" +
		"      header: [\"Authorization: Bearer " + p.secret("header Authorization (alerting run)") + "\"]\n"
	writeFile(t, "mon.yaml", monConfig)
	cli(false, "run", "mon", "--config", "mon.yaml", "-d", "1500ms", "--warmup", "0", "-c", "1", "-o", "res-mon.json")
	hookMu.Lock()
	if len(hookBodies) == 0 {
		t.Errorf("the webhook got no alert")
	}
	for i, b := range hookBodies {
		p.check(fmt.Sprintf("webhook body %d", i+1), b)
	}
	hookMu.Unlock()

	// What reads results: report, compare, baseline.
	for _, f := range formatNames() {
		cli(false, "report", "res-table.json", "--format", f)
		cli(false, "compare", "res-table.json", "res-json.json", "--format", f, "--fail-on", "never")
		cli(false, "compare", "sweep.json", "sweep.json", "--format", f, "--fail-on", "never")
		cli(false, "compare", "res-config.json", "res-targets.json", "--format", f, "--fail-on", "never")
	}
	cli(false, "report", "res-markdown.json", "--format", "html", "-o", "report.html")
	cli(false, "baseline", "save", "sec", "--from", "res-table.json")
	cli(false, "baseline", "list")
	cli(false, "baseline", "show", "sec", "--format", "json")
	cli(false, "compare", "--baseline", "sec", "res-json.json", "--fail-on", "never")

	// Bad inputs quoting a secret: the error must not.
	writeFile(t, "bad-targets.txt", "GET http://u:"+p.secret("a URL password (targets file syntax error)")+"@"+host+"/ extra\n")
	writeFile(t, "bad-header.txt", "GET http://"+host+"/\nAuthorization Bearer "+p.secret("header without a colon (targets file)")+"\n")
	writeFile(t, "bad-map.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    params: {header: {Authorization: \"Bearer "+p.secret("config header given as a map")+"\"}}\n")
	writeFile(t, "bad-token.txt", "GET http://"+host+"/\n\n"+p.secret("a bare token line (targets file)")+"\n")
	writeFile(t, "bad.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    params:\n      header: [\"Authorization: Bearer "+p.secret("config file syntax error")+"\"\n")
	for _, args := range [][]string{
		{"run", "fetch", "--url", "u:" + p.secret("URL without a scheme") + "@127.0.0.1:1/"},
		{"run", "fetch", "--url", "127.0.0.1:1/?token=" + p.secret("URL without a scheme, query token")},
		{"run", "fetch", "--url", "htp://u:" + p.secret("URL with a bad scheme") + "@127.0.0.1:1/"},
		{"run", "fetch", "--url", "http://u:" + p.secret("URL with a bad escape") + "@127.0.0.1:1/%zz"},
		{"run", "fetch", "--pprof-url", "http://u:" + p.secret("--pprof-url with a bad escape") + "@127.0.0.1:1/%zz"},
		{"run", "fetch", "--pprof-url", "htp://u:" + p.secret("--pprof-url with a bad scheme") + "@127.0.0.1:1/"},
		{"run", "fetch", "--targets", "bad-targets.txt"},
		{"run", "fetch", "--targets", "bad-header.txt"},
		{"run", "fetch", "--header", "Authorization Bearer " + p.secret("--header without a colon")},
		{"run", "fetch", "--header", "X-Api-Key " + p.secret("--header X-Api-Key without a colon")},
		{"run", "fetch", "--header", "Bearer " + p.secret("--header without its name")},
		{"run", "fetch", "--header", p.secret("--header that is a bare token")},
		{"run", "fetch", "--targets", "bad-token.txt"},
		{"ab", "fetch", "--b-set", "header=" + p.secret("ab --b-set header that is a bare token")},
		{"run", "api", "--config", "bad.yaml"},
		{"run", "api", "--config", "bad-map.yaml"},
		{"run", "fetch", "-c", "http://u:" + p.secret("a URL given to an int flag") + "@h/"},
		{"run", "fetch", "--sweep", "url=u:" + p.secret("bad sweep value") + "@h/,http://h/"},
		{"ab", "fetch", "--a-set", "Authorization: Bearer " + p.secret("ab --a-set without PARAM=")},
		{"ab", "fetch", "--a-set", "url=u:" + p.secret("ab --a-set bad url") + "@h/"},
		{"ab", "fetch", "--a-set", "header=Authorization Bearer " + p.secret("ab --a-set bad header")},
		{"run", "cache", "--redis", ":" + p.secret("Redis URL without a scheme") + "@127.0.0.1:1"},
		{"run", "cache", "--redis", "redis//:" + p.secret("Redis URL with a typo") + "@127.0.0.1:1/0"},
		{"run", "pool", "--target", ":" + p.secret("pool target without a scheme") + "@127.0.0.1:1"},
		{"run", "pool", "--target", p.secret("pool password without a scheme") + "@127.0.0.1:1"},
		{"run", "cache", "--redis", p.secret("Redis password without a scheme") + "@127.0.0.1:1"},
		{"run", "pool", "--target", "redis://:" + p.secret("pool target, port 0") + "@127.0.0.1:0"},
	} {
		cli(true, args...)
	}
	// Unreachable targets (setup errors, exit 3).
	closed := closedAddr(t)
	cli(true, append([]string{"run", "cache", "--redis", "redis://u:" + p.secret("Redis password, unreachable") + "@" + closed + "/0"}, quick...)...)
	cli(true, append([]string{"run", "pool", "--target", "redis://:" + p.secret("pool Redis password, unreachable") + "@" + closed}, quick...)...)
	cli(false, append([]string{"run", "fetch", "--url", "http://u:" + p.secret("a URL password, unreachable") + "@" + closed + "/", "-o", "res-refused.json"}, quick...)...)

	// /metrics, the dashboard and its event stream, during a run.
	t.Run("live", func(t *testing.T) { liveSecrets(t, p, srv) })
	// A real Redis that wants a password: cache and pool.
	redisRan := false // redistest skips without redis-server
	t.Run("redis", func(t *testing.T) { redisSecrets(t, p, cli, quick); redisRan = true })

	// Every file perfkit wrote: results, reports, baselines, history.
	inputs := map[string]bool{"targets.txt": true, "secrets.yaml": true, "bad-targets.txt": true, "bad-header.txt": true, "bad-token.txt": true, "bad.yaml": true, "bad-map.yaml": true, "mon.yaml": true}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || inputs[filepath.Base(path)] {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") { // profiles: grep what they hold
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		rel, _ := filepath.Rel(dir, path)
		p.check("file "+rel, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The outputs that only appear when a feature worked: grepping none of
	// them would pass for the wrong reason.
	wantChecked := []string{"file alerts.jsonl", "-heap-", "file report.html", "file .perfkit/baselines/sec.json", "events (", "metrics ("}
	if redisRan {
		wantChecked = append(wantChecked, "file res-cache.json", "file res-pool.json")
	}
	for _, want := range wantChecked {
		if !slices.ContainsFunc(p.names, func(n string) bool { return strings.Contains(n, want) }) {
			t.Errorf("no output %q was checked", want)
		}
	}
	t.Logf("secrets: %d planted, %d outputs checked, %d found", len(p.planted), p.checked, p.found)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// liveSecrets runs fetch with secrets while serving /metrics and the
// dashboard, and greps what they serve, the event stream included.
func liveSecrets(t *testing.T, p *secretsProbe, srv *httptest.Server) {
	host := strings.TrimPrefix(srv.URL, "http://")
	r, w := io.Pipe()
	defer r.Close()
	var out strings.Builder
	done := make(chan int, 1)
	go func() {
		f := newFactory(&out, w)
		done <- execute(context.Background(), []string{"run", "fetch", "--no-save", "-d", "3s", "--warmup", "0", "-c", "1",
			"--url", "http://u:" + p.secret("a URL password (live run)") + "@" + host + "/?token=" + p.secret("query token (live run)"),
			"--header", "Authorization: Bearer " + p.secret("header Authorization (live run)"),
			"--metrics-addr", "127.0.0.1:0", "--dashboard", "127.0.0.1:0"}, f)
		w.Close()
	}()
	urls := map[string]string{}
	var stderr strings.Builder
	sc := bufio.NewScanner(r)
	for (urls["metrics"] == "" || urls["dashboard"] == "") && sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(line, "perfkit: metrics: "); ok {
			urls["metrics"] = u
		}
		if u, ok := strings.CutPrefix(line, "perfkit: dashboard: "); ok {
			urls["dashboard"] = u
			urls["events"] = strings.TrimSuffix(u, "/") + "/events"
		}
	}
	rest := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		rest <- string(b)
	}()
	if urls["metrics"] == "" || urls["dashboard"] == "" {
		t.Fatalf("no metrics and dashboard URLs on stderr: %q", stderr.String())
	}
	time.Sleep(1200 * time.Millisecond) // a snapshot or more (--interval 1s)
	client := &http.Client{Timeout: 1500 * time.Millisecond}
	for name, u := range urls {
		resp, err := client.Get(u)
		if err != nil {
			t.Errorf("%s %s: %v", name, u, err)
			continue
		}
		// The event stream never ends: read what the client's timeout lets in.
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) == 0 {
			t.Errorf("%s %s: empty", name, u)
		}
		p.check(name+" ("+u+")", string(b))
	}
	code := <-done
	stderr.WriteString(<-rest)
	p.check("stderr of the live run", stderr.String())
	p.check("stdout of the live run", out.String())
	if code == ExitUsage {
		t.Errorf("live run: exit %d: %s", code, stderr.String())
	}
}

// redisSecrets runs cache and pool against a Redis that wants a password.
func redisSecrets(t *testing.T, p *secretsProbe, cli func(bool, ...string), quick []string) {
	r := redistest.Start(t)
	pass := p.secret("Redis password (cache --redis)")
	c, err := net.DialTimeout("tcp", r.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "CONFIG SET requirepass %s\r\n", pass); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "+OK\r\n" {
		t.Fatalf("CONFIG SET requirepass: %q, %v", line, err)
	}
	cli(false, append([]string{"run", "cache", "--redis", "redis://:" + pass + "@" + r.Addr + "/0", "-o", "res-cache.json"}, quick...)...)
	cli(false, append([]string{"run", "pool", "--target", "redis://:" + pass + "@" + r.Addr, "-o", "res-pool.json"}, quick...)...)
	cli(true, append([]string{"run", "cache", "--redis", "redis://:" + p.secret("wrong Redis password") + "@" + r.Addr + "/0"}, quick...)...)
}
