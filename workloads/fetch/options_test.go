package fetch

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// withOpts returns p with extra's entries added.
func withOpts(p map[string]any, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// optsOneOp builds fetch from p, runs one op and returns its error kind.
func optsOneOp(t *testing.T, p map[string]any) string {
	t.Helper()
	f := build(t, p)
	s := start(t, f, 1, opTimeout)
	return kindOf(op(f, bench.NewTestWorker(0, s), opTimeout))
}

// Mutual TLS: a server that requires a client certificate answers with one
// (verified with the CA bundle, not insecure) and refuses without, over
// HTTP/1.1 and HTTP/2.
func TestMTLS(t *testing.T) {
	pki := newTestPKI(t)
	both(t, func(t *testing.T, h2 bool) {
		var peer, proto atomic.Value
		srv := pki.newTLSServer(t, h2, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
			proto.Store(r.Proto)
		}))
		p := map[string]any{"url": srv.URL + "/x", "http2": h2, "cacert": pki.caFile}
		if got := optsOneOp(t, withOpts(p, map[string]any{"cert": pki.clientCert, "key": pki.clientKey})); got != "" {
			t.Fatalf("with the client certificate: kind %q, want success", got)
		}
		if got := peer.Load(); got != "perfkit test client" {
			t.Errorf("server saw client %v, want perfkit test client", got)
		}
		if want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]; proto.Load() != want {
			t.Errorf("server saw %v, want %s", proto.Load(), want)
		}
		// The key may be in the certificate's file.
		if got := optsOneOp(t, withOpts(p, map[string]any{"cert": pki.clientBoth})); got != "" {
			t.Errorf("cert holding its key: kind %q, want success", got)
		}
		// Under TLS 1.3 the server refuses after the client's handshake;
		// whether the request or HTTP/2's connection sees it first is a
		// race, which the kind must not depend on.
		for range 10 {
			if got := optsOneOp(t, p); got != KindTLS {
				t.Fatalf("without a client certificate: kind %q, want %q", got, KindTLS)
			}
		}
	})
}

// A CA bundle verifies a server whose certificate the system does not
// trust, without insecure; without it the same server fails as tls.
func TestCustomCA(t *testing.T) {
	pki := newTestPKI(t)
	both(t, func(t *testing.T, h2 bool) {
		srv := pki.newTLSServer(t, h2, false, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		p := map[string]any{"url": srv.URL + "/x", "http2": h2}
		if got := optsOneOp(t, withOpts(p, map[string]any{"cacert": pki.caFile})); got != "" {
			t.Errorf("cacert: kind %q, want success", got)
		}
		if got := optsOneOp(t, p); got != KindTLS {
			t.Errorf("no cacert: kind %q, want %q", got, KindTLS)
		}
	})
}

func TestRedirects(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var otherAuth, otherHost atomic.Value
		other := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			otherAuth.Store(r.Header.Get("Authorization"))
			otherHost.Store(r.Host)
			io.WriteString(w, "elsewhere")
		}))
		var seen atomic.Value // method and body of the last request for /end
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/x": // two hops to /end
				http.Redirect(w, r, "/hop", http.StatusFound)
			case "/hop":
				http.Redirect(w, r, "/end", http.StatusTemporaryRedirect)
			case "/see-other":
				http.Redirect(w, r, "/end", http.StatusSeeOther)
			case "/away":
				http.Redirect(w, r, other.URL+"/there", http.StatusFound)
			case "/end":
				b, _ := io.ReadAll(r.Body)
				seen.Store(r.Method + " " + string(b))
				io.WriteString(w, "the end")
			}
		}))
		// redirects=0: not followed, the 302 is the answer (as before).
		f := build(t, params(srv, h2, nil))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		if err := op(f, w, opTimeout); err != nil {
			t.Fatalf("redirects=0: %v", err)
		}
		// Two hops followed, op after op (the second from the hop cache).
		f = build(t, params(srv, h2, map[string]any{"redirects": 2}))
		s = start(t, f, 1, opTimeout)
		w = bench.NewTestWorker(0, s)
		for range 3 {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatalf("redirects=2, a chain of 2: %v", err)
			}
		}
		if in := w.TestCounter(f.bytesIn); in != 3*int64(len("the end")) {
			t.Errorf("bytes_in %d, want the last response's body, %d per op", in, len("the end"))
		}
		// One too few: kind redirect.
		if got := optsOneOp(t, params(srv, h2, map[string]any{"redirects": 1})); got != KindRedirect {
			t.Errorf("redirects=1, a chain of 2: kind %q, want %q", got, KindRedirect)
		}
		// 303 after a POST continues with a GET without the body; 307
		// repeats the POST with it.
		for path, want := range map[string]string{"/see-other": "GET ", "/hop": "POST hello"} {
			p := params(srv, h2, map[string]any{"redirects": 1, "method": "POST", "body": "hello"})
			p["url"] = srv.URL + path
			if got := optsOneOp(t, p); got != "" {
				t.Fatalf("POST %s: kind %q", path, got)
			}
			if got := seen.Load(); got != want {
				t.Errorf("POST %s: the redirect's request was %q, want %q", path, got, want)
			}
		}
		// Credentials stay with their host.
		p := params(srv, h2, map[string]any{"redirects": 1, "header": "Authorization: Bearer abc"})
		p["url"] = srv.URL + "/away"
		if got := optsOneOp(t, p); got != "" {
			t.Fatalf("redirect to another host: kind %q", got)
		}
		if got := otherAuth.Load(); got != "" {
			t.Errorf("another host got Authorization %q, want none", got)
		}
		if got, want := otherHost.Load(), strings.TrimPrefix(strings.TrimPrefix(other.URL, "https://"), "http://"); got != want {
			t.Errorf("another host saw Host %v, want %s", got, want)
		}
	})
}

// Following a redirect op after op allocates nothing (HTTP/1.1): the hop's
// request is written once. Nor do phases.
func TestRedirectAndPhasesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	base := newRawServer(t)
	for _, p := range []map[string]any{
		{"url": base + "/moved", "redirects": 1},
		{"url": base + "/ok", "phases": true},
		{"url": base + "/moved", "redirects": 1, "phases": true, "keepalive": true},
	} {
		f := build(t, p)
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		ctx, cancel := ctxWithTimeout(opTimeout)
		defer cancel()
		if err := op(f, w, opTimeout); err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if in := w.TestCounter(f.bytesIn); in != int64(len(`{"ok":true}`)) {
			t.Fatalf("%v: bytes_in %d: the redirect was not followed", p, in)
		}
		if allocs := testing.AllocsPerRun(100, func() { _, _ = f.Op(ctx, w) }); allocs != 0 {
			t.Errorf("%v: %v allocs per op, want 0", p, allocs)
		}
	}
}

// connect-to sends the connection elsewhere; the Host header and the name
// TLS checks stay the URL's.
func TestConnectTo(t *testing.T) {
	pki := newTestPKI(t)
	both(t, func(t *testing.T, h2 bool) {
		var host, sni atomic.Value
		srv := pki.newTLSServer(t, h2, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host.Store(r.Host)
			sni.Store(r.TLS.ServerName)
		}))
		addr := strings.TrimPrefix(srv.URL, "https://")
		p := map[string]any{"url": "https://example.test/x", "connect-to": addr, "cacert": pki.caFile, "http2": h2}
		if got := optsOneOp(t, p); got != "" {
			t.Fatalf("kind %q, want success", got)
		}
		if host.Load() != "example.test" || sni.Load() != "example.test" {
			t.Errorf("server saw Host %v and SNI %v, want example.test for both", host.Load(), sni.Load())
		}
		// Plain HTTP too.
		plain := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { host.Store(r.Host) }))
		p = map[string]any{"url": "http://example.test:81/x", "connect-to": strings.TrimPrefix(plain.URL, "http://")}
		if h2 {
			return // plain h2c is TestH2C's; the dialer is the same
		}
		if got := optsOneOp(t, p); got != "" || host.Load() != "example.test:81" {
			t.Errorf("plain http: kind %q, Host %v; want success, example.test:81", got, host.Load())
		}
	})
}

// unix-socket connects to a unix socket; the URL gives the Host and path.
func TestUnixSocket(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		dir, err := os.MkdirTemp("", "pk") // a short path: sockets' are bounded
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		sock := filepath.Join(dir, "s.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		var host, path atomic.Value
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host.Store(r.Host)
			path.Store(r.URL.Path)
			io.WriteString(w, "over a socket")
		}))
		srv.Listener.Close()
		srv.Listener = ln
		scheme := "http"
		if h2 {
			srv.EnableHTTP2 = true
			srv.StartTLS()
			scheme = "https"
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		f := build(t, map[string]any{"url": scheme + "://api.test/v1", "unix-socket": sock, "http2": h2, "insecure": h2})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		for range 2 {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatal(err)
			}
		}
		if host.Load() != "api.test" || path.Load() != "/v1" {
			t.Errorf("server saw Host %v path %v, want api.test /v1", host.Load(), path.Load())
		}
		if in := w.TestCounter(f.bytesIn); in != 2*int64(len("over a socket")) {
			t.Errorf("bytes_in %d, want %d", in, 2*len("over a socket"))
		}
	})
}

// connect-timeout bounds opening a connection, TLS handshake included: a
// server that accepts and never answers fails the op as connect_timeout
// long before the op's own timeout.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	both(t, func(t *testing.T, h2 bool) {
		const opTimeout = 20 * time.Second
		f := build(t, map[string]any{"url": "https://" + ln.Addr().String() + "/", "connect-timeout": "100ms", "http2": h2, "insecure": true})
		s := start(t, f, 1, opTimeout)
		begin := time.Now()
		got := kindOf(op(f, bench.NewTestWorker(0, s), opTimeout))
		if got != KindConnectTimeout {
			t.Errorf("kind %q, want %q", got, KindConnectTimeout)
		}
		if d := time.Since(begin); d > opTimeout/2 {
			t.Errorf("the op took %s: connect-timeout did not end it", d)
		}
	})
}

// optsRunOps runs n ops of fetch with params p through the engine.
func optsRunOps(t *testing.T, p map[string]any, conc int, n int64) bench.RunResult {
	t.Helper()
	def := Definition()
	v, err := def.Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Warmup, set.Duration, set.Iterations, set.Concurrency, set.Timeout = 0, 0, n, conc, opTimeout
	res, err := bench.Run(context.Background(), bench.Scenario{
		Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return def.New(v) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 1 || res.Runs[0].Errors != 0 {
		t.Fatalf("runs %d, errors %v", len(res.Runs), res.Runs)
	}
	if !slicesContain(res.Phases, "ttfb") || len(res.Notes) == 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "phases:") {
		t.Errorf("phases %v, notes %q: want the phases declared and their note", res.Phases, res.Notes)
	}
	return res.Runs[0]
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Phases: a new connection records dns (for a name), connect and tls once;
// ops on a reused connection record none; ttfb and body every op.
func TestPhases(t *testing.T) {
	pki := newTestPKI(t)
	both(t, func(t *testing.T, h2 bool) {
		srv := pki.newTLSServer(t, h2, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"ok":true}`)
		}))
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
		const n = 20
		for _, tc := range []struct {
			url                string
			keepalive          bool
			dns, connect, tlsN int64
		}{
			{srv.URL + "/", true, 0, 1, 1},                     // an IP address: no lookup
			{"https://localhost:" + port + "/", true, 1, 1, 1}, // a name
			{srv.URL + "/", false, 0, n, n},                    // a connection per op
		} {
			if h2 && !tc.keepalive {
				continue // net/http's HTTP/2 keeps its connection regardless
			}
			run := optsRunOps(t, map[string]any{"url": tc.url, "http2": h2, "cacert": pki.caFile, "phases": true, "keepalive": tc.keepalive}, 1, n)
			got := func(k string) int64 { return run.Latency[k].Count }
			if got("dns") != tc.dns || got("connect") != tc.connect || got("tls") != tc.tlsN || got("ttfb") != n || got("body") != n {
				t.Errorf("%s keepalive=%v: counts dns %d connect %d tls %d ttfb %d body %d, want %d %d %d %d %d",
					tc.url, tc.keepalive, got("dns"), got("connect"), got("tls"), got("ttfb"), got("body"), tc.dns, tc.connect, tc.tlsN, n, n)
			}
		}
	})
}

// Bad client options are refused before anything runs, in one line that
// names the file (and survives redaction: "client.key: no such file" would
// otherwise read as a credential).
func TestBadClientOptions(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.key")
	sockDir, err := os.MkdirTemp("", "pk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	url := map[string]any{"url": "https://127.0.0.1:9/"}
	for _, tc := range []struct {
		p    map[string]any
		want []string
	}{
		{map[string]any{"cert": missing}, []string{"param cert", `"` + missing + `"`, "no such file"}},
		{map[string]any{"cert": garbage}, []string{`"` + garbage + `"`, "no PEM certificate"}},
		{map[string]any{"cert": dir}, []string{`"` + dir + `"`, "is a directory"}},
		{map[string]any{"cert": pki.clientCert}, []string{pki.clientCert, "holds no private key"}},
		{map[string]any{"cert": pki.clientCert, "key": missing}, []string{`"` + missing + `"`, "no such file"}},
		{map[string]any{"cert": pki.clientCert, "key": garbage}, []string{`"` + garbage + `"`, "no PEM private key"}},
		{map[string]any{"cert": pki.clientCert, "key": other.clientKey}, []string{pki.clientCert, other.clientKey, "does not match"}},
		{map[string]any{"key": pki.clientKey}, []string{pki.clientKey, "without cert"}},
		{map[string]any{"cacert": missing}, []string{"param cacert", `"` + missing + `"`, "no such file"}},
		{map[string]any{"cacert": garbage}, []string{`"` + garbage + `"`, "no PEM certificate"}},
		{map[string]any{"cacert": pki.caFile, "insecure": true}, []string{"cacert and insecure"}},
		{map[string]any{"redirects": -1}, []string{"redirects"}},
		{map[string]any{"redirects": 101}, []string{"redirects"}},
		{map[string]any{"connect-timeout": "-1s"}, []string{"connect-timeout", "negative"}},
		{map[string]any{"connect-to": "nohost"}, []string{`"nohost"`, "HOST:PORT"}},
		{map[string]any{"connect-to": "127.0.0.1:0"}, []string{"HOST:PORT"}},
		{map[string]any{"connect-to": ":80"}, []string{"HOST:PORT"}},
		{map[string]any{"unix-socket": missing}, []string{"param unix-socket", `"` + missing + `"`, "no such file"}},
		{map[string]any{"unix-socket": garbage}, []string{`"` + garbage + `"`, "not a socket"}},
		{map[string]any{"connect-to": "127.0.0.1:8080", "unix-socket": sock}, []string{"connect-to and unix-socket both given"}},
		{map[string]any{"url": []string{"ttfb=http://127.0.0.1:9/"}, "phases": true}, []string{`"ttfb"`, "phase"}},
	} {
		err := buildErr(withOpts(url, tc.p))
		if err == nil {
			t.Errorf("%v: no error", tc.p)
			continue
		}
		msg := bench.RedactText(err.Error()) // as cmd prints it
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not contain %q", tc.p, msg, w)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: error is not one line: %q", tc.p, msg)
		}
	}
	// connect-to and unix-socket redirect a url's requests, not the
	// embedded server's.
	if err := buildErr(map[string]any{"connect-to": "127.0.0.1:8080"}); err == nil || !strings.Contains(err.Error(), "give url or targets") {
		t.Errorf("connect-to without a url: %v", err)
	}
}
