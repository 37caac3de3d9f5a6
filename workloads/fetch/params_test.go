package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/payload"
)

func TestDefinition(t *testing.T) {
	def := Definition()
	if def.Name != "fetch" || def.Help == "" || strings.Contains(def.Help, "\n") || def.New == nil {
		t.Errorf("Definition() = %q, %q: want name fetch, a one-line help and New", def.Name, def.Help)
	}
	want := []string{"url", "targets", "method", "header", "body", "data", "data-mode", "decode-json", "keepalive", "http2", "insecure", "cert", "key", "cacert", "redirects", "connect-timeout", "connect-to", "unix-socket", "phases", "payload-bytes", "server-latency", "server-error-rate", "check-status", "check-body-contains", "check-body-not-contains", "check-json", "check-max-body-bytes"}
	if got := def.ParamNames(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("params %q, want %q", got, want)
	}
	for _, p := range def.Params {
		if p.Help == "" {
			t.Errorf("param %s has no help", p.Name)
		}
	}
	v, err := def.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := v.Record()
	for k, want := range map[string]any{"method": "GET", "keepalive": true, "http2": false, "payload-bytes": int64(DefaultPayloadBytes), "server-latency": "0s", "server-error-rate": 0.0} {
		if rec[k] != want {
			t.Errorf("default %s = %#v, want %#v", k, rec[k], want)
		}
	}
	if f := build(t, map[string]any{"server-error-rate": "5%"}); f.cfg.serverErrorRate != 0.05 {
		t.Errorf("server-error-rate 5%% = %v, want 0.05", f.cfg.serverErrorRate)
	}
}

func TestBadParams(t *testing.T) {
	dir := t.TempDir()
	targets := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(targets, []byte("GET http://127.0.0.1:1/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  map[string]any
		want []string // substrings of the error
	}{
		{map[string]any{"url": "ftp://host/x"}, []string{`bad url "ftp://host/x"`, "http:// or https://"}},
		{map[string]any{"url": "http:///nohost"}, []string{`bad url "http:///nohost"`}},
		{map[string]any{"url": "127.0.0.1:8080"}, []string{`bad url "127.0.0.1:8080"`}},
		{map[string]any{"url": "http://u:hunter2@h:1/x%zz"}, []string{"bad url", "xxxxx"}},
		{map[string]any{"url": "http://h/", "targets": targets}, []string{"url and targets both given"}},
		{map[string]any{"method": "GTE"}, []string{`bad method "GTE"`, "GET, HEAD, POST"}},
		{map[string]any{"header": "NoColon"}, []string{`bad header "NoColon"`, `"Name: value"`}},
		{map[string]any{"header": "Authorization Bearer hunter2"}, []string{"bad header", "REDACTED"}},
		{map[string]any{"header": "Bad Name: v"}, []string{`bad header "Bad Name: v"`}},
		{map[string]any{"header": "Content-Length: 5"}, []string{"set from the body"}},
		{map[string]any{"body": "@"}, []string{`bad body "@"`}},
		{map[string]any{"body": "@" + filepath.Join(dir, "missing.json")}, []string{"body file", "missing.json"}},
		{map[string]any{"targets": filepath.Join(dir, "nope.txt")}, []string{"targets file", "nope.txt"}},
		{map[string]any{"payload-bytes": 3}, []string{"payload-bytes 3", "16.."}},
		{map[string]any{"server-error-rate": "150%"}, []string{"server-error-rate 1.5", "0..1"}},
		{map[string]any{"server-latency": "lognormal:p50=2ms"}, []string{"bad distribution"}},
		{map[string]any{"keepalive": "maybe"}, []string{`"maybe" is not a bool`}},
	} {
		err := buildErr(tc.raw)
		if err == nil {
			t.Errorf("%v: no error", tc.raw)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || strings.Contains(msg, "hunter2") {
			t.Errorf("%v: error %q is not one line without secrets", tc.raw, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not contain %q", tc.raw, msg, w)
			}
		}
	}
}

func TestRedaction(t *testing.T) {
	def := Definition()
	v, err := def.Resolve(map[string]any{
		"url": []any{"http://alice:hunter2@127.0.0.1:8080/x?q=1", "https://h/p?api_key=hunter2&page=2", "http://h/plain"},
		"header": []any{
			"Authorization: Bearer hunter2", "cookie: sid=hunter2", "Proxy-Authorization: Basic hunter2",
			"X-Api-Key: hunter2", "X-Auth-Token: hunter2", "X-Client-Secret: hunter2", "Accept: application/json",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := v.Record()
	b, _ := json.Marshal(rec)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("record leaks a secret: %s", b)
	}
	wantURLs := []string{"http://alice:xxxxx@127.0.0.1:8080/x?q=1", "https://h/p?api_key=REDACTED&page=2", "http://h/plain"}
	if got := rec["url"].([]string); strings.Join(got, " ") != strings.Join(wantURLs, " ") {
		t.Errorf("urls recorded as %q, want %q", got, wantURLs)
	}
	wantHeaders := []string{
		"Authorization: REDACTED", "cookie: REDACTED", "Proxy-Authorization: REDACTED",
		"X-Api-Key: REDACTED", "X-Auth-Token: REDACTED", "X-Client-Secret: REDACTED", "Accept: application/json",
	}
	if got := rec["header"].([]string); strings.Join(got, "|") != strings.Join(wantHeaders, "|") {
		t.Errorf("headers recorded as %q, want %q", got, wantHeaders)
	}
	// The workload itself still sends the real values.
	f := build(t, map[string]any{"url": "http://alice:hunter2@127.0.0.1:1/", "header": "Authorization: Bearer hunter2"})
	if got := f.cfg.targets[0].url.String(); !strings.Contains(got, "hunter2") {
		t.Errorf("target url %q lost its password", got)
	}
}

func TestTargetsFile(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" a="+r.Header.Get("X-A")+" g="+r.Header.Get("X-Global")+" ct="+r.Header.Get("Content-Type")+" body="+string(b))
		mu.Unlock()
	}))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"x":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "targets.txt")
	content := "# users\n" +
		"GET " + srv.URL + "/users?id=1\n" +
		"X-A: one\n" +
		"\n\n" +
		"  POST " + srv.URL + "/users  \n" +
		"# a comment inside a target\n" +
		"Content-Type: application/json\n" +
		"X-Global: mine\n" +
		"@body.json\n" +
		"DELETE " + srv.URL + "/users/1\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f := build(t, map[string]any{"targets": file, "header": "X-Global: all", "body": "dflt"})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	for range 3 {
		if err := op(f, w, opTimeout); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"GET /users?id=1 a=one g=all ct= body=dflt",
		`POST /users a= g=mine ct=application/json body={"x":1}`,
		"DELETE /users/1 a= g=all ct= body=dflt",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTargetsFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"GET http://h/\n\n# c\nGTE http://h/\n", `targets.txt:4: bad method "GTE" (accepted: GET`},
		{"GET http://h/\nGTE http://h/x\n", `targets.txt:2: bad method "GTE"`},
		{"GET ftp://h/\n", `targets.txt:1: bad url "ftp://h/"`},
		{"GET\n", `targets.txt:1: bad request line "GET": want "METHOD URL"`},
		{"GET http://h/\nNoColonHere\n", `targets.txt:2: bad header "NoColonHere"`},
		{"\nX-A: b\n", `targets.txt:2: bad request line "X-A: b"`},
		{"GET http://h/\n@missing.json\n", `targets.txt:2: body: open `},
		{"GET http://h/\n@\n", `targets.txt:2: bad body line "@"`},
		{"# nothing\n\n", `targets.txt: no targets`},
	} {
		file := filepath.Join(dir, "targets.txt")
		if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := buildErr(map[string]any{"targets": file})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("targets %q: error %v, want one line containing %q", tc.content, err, tc.want)
		}
	}
	// A second body line is an error too.
	if err := os.WriteFile(filepath.Join(dir, "b"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := parseTargets(strings.NewReader("GET http://h/\n@b\n@b\n"), "t", dir)
	if err == nil || !strings.Contains(err.Error(), "t:3: second body line") {
		t.Errorf("two bodies: %v", err)
	}
	var se *syntaxError
	if !errors.As(err, &se) || se.line != 3 {
		t.Errorf("error %v is not a syntaxError at line 3", err)
	}
}

func TestEmbeddedServer(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		f := build(t, map[string]any{"payload-bytes": 300, "decode-json": true, "http2": h2})
		s := start(t, f, 4, opTimeout)
		if !s.Embedded || len(s.Notes) != 1 || !strings.HasPrefix(s.Notes[0], "embedded target http://127.0.0.1:") || !strings.HasSuffix(s.Notes[0], "/ (no url given)") {
			t.Errorf("Embedded = %v, Notes = %q", s.Embedded, s.Notes)
		}
		w := bench.NewTestWorker(0, s)
		for range 10 {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatal(err)
			}
		}
		if in := w.TestCounter(f.bytesIn); in != 3000 {
			t.Errorf("bytes_in = %d, want 3000", in)
		}
	})
}

func TestEmbeddedServerErrorsAndLatency(t *testing.T) {
	f := build(t, map[string]any{"server-error-rate": "100%"})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	for range 5 {
		if got := kindOf(op(f, w, opTimeout)); got != "http_500" {
			t.Fatalf("kind %q, want http_500", got)
		}
	}

	f = build(t, map[string]any{"server-error-rate": "50%"})
	s = start(t, f, 1, opTimeout)
	w = bench.NewTestWorker(0, s)
	fails := 0
	for range 200 {
		switch kind := kindOf(op(f, w, opTimeout)); kind {
		case "http_500":
			fails++
		case "":
		default:
			t.Fatalf("kind %q", kind)
		}
	}
	if fails < 50 || fails > 150 { // 50% of 200: p < 1e-12 outside
		t.Errorf("%d of 200 failed at 50%%", fails)
	}

	f = build(t, map[string]any{"server-latency": "uniform:5s..6s"})
	s = start(t, f, 1, 50*time.Millisecond)
	w = bench.NewTestWorker(0, s)
	if got := kindOf(op(f, w, 50*time.Millisecond)); got != bench.KindTimeout {
		t.Errorf("slow embedded server: kind %q, want timeout", got)
	}
	// Teardown (at cleanup) must not wait out the 5s handler.
}

func TestEmbeddedServerTeardown(t *testing.T) {
	f := build(t, map[string]any{"server-latency": "2ms"})
	s := &bench.Setup{Concurrency: 4, Timeout: time.Second}
	if err := f.Setup(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	addr := f.srv.url.Host
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			w := bench.NewTestWorker(i, s)
			for range 20 {
				if err := op(f, w, time.Second); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("embedded server %s still accepts connections after Teardown", addr)
	}
}

func TestMakePayload(t *testing.T) {
	for n := minPayloadBytes; n < 300; n++ {
		p := payload.JSON(n)
		if len(p) != n || !json.Valid(p) {
			t.Fatalf("payload.JSON(%d) = %q (%d bytes)", n, p, len(p))
		}
	}
}

// TestMalformedHeaderHidesSecrets: a header or request line that cannot be
// parsed is quoted in its error with anything that may be a secret hidden.
func TestMalformedHeaderHidesSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bearer s3cr3t", "Bearer REDACTED"},
		{"s3cr3t", "REDACTED"},
		{"abc123def456", "REDACTED"},
		{"NoColon", "NoColon"},
		{"Authorization Bearer s3cr3t", "Authorization REDACTED"},
		{"X-Api-Key: s3cr3t", "X-Api-Key: REDACTED"},
		{"Bad Name: v", "Bad Name: v"},
		{"not a header", "not a header"},
		{"Bearer hunter", "Bearer REDACTED"},
		{"X-Api-Key hunter", "X-Api-Key REDACTED"},
		{"Foo abc123", "Foo REDACTED"},
	} {
		if got := redactHeaderLoose(tc.in); got != tc.want {
			t.Errorf("redactHeaderLoose(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"GET http://u:s3cr3t@h/ extra", "GET http://u:xxxxx@h/ extra"},
		{"GET /path?token=s3cr3t extra", "GET /path?token=REDACTED extra"},
		{"Authorization Bearer s3cr3t", "Authorization REDACTED"},
		{"s3cr3t", "REDACTED"},
		{"GET", "GET"},
	} {
		if got := shownRequestLine(tc.in); got != tc.want {
			t.Errorf("shownRequestLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
