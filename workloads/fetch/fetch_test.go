package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/perfkit/perfkit/bench"
)

const opTimeout = 5 * time.Second

// kindOf is the kind the engine counts an op's error under ("" for success).
func kindOf(err error) string {
	if err == nil {
		return ""
	}
	return bench.ErrorKind(err)
}

// both runs a test over the HTTP/1.1 (fasthttp) and the HTTP/2 (net/http)
// path; newServer must return a server that speaks h2 when asked.
func both(t *testing.T, f func(t *testing.T, h2 bool)) {
	t.Run("http1", func(t *testing.T) { f(t, false) })
	t.Run("http2", func(t *testing.T) { f(t, true) })
}

// newServer starts an httptest server; with h2, a TLS one with HTTP/2 on.
func newServer(t *testing.T, h2 bool, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func params(srv *httptest.Server, h2 bool, extra map[string]any) map[string]any {
	p := map[string]any{"url": srv.URL + "/x"}
	if h2 {
		p["http2"] = true
		p["insecure"] = true
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestSuccessCountsBytes(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		const payload = `{"ok":true,"n":12345}`
		var got sync.Map
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got.Store("body", string(b))
			got.Store("method", r.Method)
			got.Store("proto", r.ProtoMajor)
			got.Store("auth", r.Header.Get("Authorization"))
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, payload)
		}))
		f := build(t, params(srv, h2, map[string]any{
			"method": "post", "body": "hello", "header": []any{"Authorization: Bearer s3cret"}, "decode-json": true,
		}))
		s := start(t, f, 2, opTimeout)
		w := bench.NewTestWorker(0, s)
		const n = 5
		for range n {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatalf("op: %v", err)
			}
		}
		if in := w.TestCounter(f.bytesIn); in != n*int64(len(payload)) {
			t.Errorf("bytes_in = %d, want %d", in, n*len(payload))
		}
		if out := w.TestCounter(f.bytesOut); out != n*int64(len("hello")) {
			t.Errorf("bytes_out = %d, want %d", out, n*len("hello"))
		}
		wantProto := 1
		if h2 {
			wantProto = 2
		}
		for k, want := range map[string]any{"body": "hello", "method": "POST", "proto": wantProto, "auth": "Bearer s3cret"} {
			if v, _ := got.Load(k); v != want {
				t.Errorf("server saw %s %v, want %v", k, v, want)
			}
		}
		if s.Embedded || len(s.Notes) != 0 {
			t.Errorf("Embedded = %v, Notes = %q with a url given", s.Embedded, s.Notes)
		}
	})
}

func TestStatusKinds(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var code atomic.Int64
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(code.Load()))
			io.WriteString(w, "nope")
		}))
		f := build(t, params(srv, h2, nil))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		for c, want := range map[int]string{200: "", 204: "", 302: "", 404: "http_404", 500: "http_500", 503: "http_503", 599: "http_599", 799: "http_799"} {
			code.Store(int64(c))
			if got := kindOf(op(f, w, opTimeout)); got != want {
				t.Errorf("status %d: kind %q, want %q", c, got, want)
			}
		}
	})
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConnRefused(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		p := map[string]any{"url": "http://" + closedPort(t) + "/", "http2": h2}
		f := build(t, p)
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		if got := kindOf(op(f, w, opTimeout)); got != KindConnRefused {
			t.Errorf("http2=%v: kind %q, want %q", h2, got, KindConnRefused)
		}
	}
}

func TestConnReset(t *testing.T) {
	// The server reads the request and closes the connection without a word.
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	f := build(t, params(srv, false, nil))
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	if got := kindOf(op(f, w, opTimeout)); got != KindConnReset {
		t.Errorf("kind %q, want %q", got, KindConnReset)
	}
}

func TestTimeout(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		release := make(chan struct{})
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer close(release) // before srv.Close (cleanups run after defers)
		f := build(t, params(srv, h2, nil))
		s := start(t, f, 1, 100*time.Millisecond)
		w := bench.NewTestWorker(0, s)
		if got := kindOf(op(f, w, 100*time.Millisecond)); got != bench.KindTimeout {
			t.Errorf("kind %q, want %q", got, bench.KindTimeout)
		}
	})
}

func TestDecodeJSON(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var body atomic.Value
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, body.Load().(string))
		}))
		f := build(t, params(srv, h2, map[string]any{"decode-json": "true"}))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		for b, want := range map[string]string{`{"a":[1,2]}`: "", `[]`: "", `{"a":`: KindDecode, `<html>`: KindDecode, ``: KindDecode} {
			body.Store(b)
			if got := kindOf(op(f, w, opTimeout)); got != want {
				t.Errorf("body %q: kind %q, want %q", b, got, want)
			}
		}
	})
}

func TestRoundRobinAndHostHeader(t *testing.T) {
	var hits [2]atomic.Int64
	var hosts sync.Map
	mk := func(i int) *httptest.Server {
		return newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			hosts.Store(r.Host, true)
		}))
	}
	a, b := mk(0), mk(1)
	f := build(t, map[string]any{"url": []any{a.URL + "/a", b.URL + "/b"}, "header": "Host: api.example"})
	s := start(t, f, 2, opTimeout)
	w0, w1 := bench.NewTestWorker(0, s), bench.NewTestWorker(1, s)
	for range 3 {
		for _, w := range []*bench.Worker{w0, w1} {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatal(err)
			}
		}
	}
	if hits[0].Load() != 3 || hits[1].Load() != 3 {
		t.Errorf("hits = %d, %d; want 3, 3", hits[0].Load(), hits[1].Load())
	}
	hosts.Range(func(k, _ any) bool {
		if k != "api.example" {
			t.Errorf("server saw Host %q, want api.example", k)
		}
		return true
	})
}

func TestKeepaliveOff(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		if h2 {
			srv.EnableHTTP2 = true
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		for _, ka := range []bool{true, false} {
			conns.Store(0)
			f := build(t, params(srv, h2, map[string]any{"keepalive": ka}))
			s := start(t, f, 1, opTimeout)
			w := bench.NewTestWorker(0, s)
			for range 4 {
				if err := op(f, w, opTimeout); err != nil {
					t.Fatal(err)
				}
			}
			want := int64(1)
			if !ka {
				want = 4
			}
			if got := conns.Load(); got != want {
				t.Errorf("keepalive=%v: %d connections for 4 requests, want %d", ka, got, want)
			}
		}
	})
}

func TestManyTargetsFile(t *testing.T) {
	// Many targets, each with its own request, round-robin.
	var mu sync.Mutex
	seen := map[string]int{}
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.URL.Path+" "+r.Header.Get("X-N")+" "+string(b)]++
		mu.Unlock()
	}))
	const n = 70
	dir := t.TempDir()
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "POST %s/t%d\nX-N: %d\n\n", srv.URL, i, i)
	}
	file := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f := build(t, map[string]any{"targets": file, "body": "b"})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	for range 2 * n {
		if err := op(f, w, opTimeout); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if k := fmt.Sprintf("POST /t%d %d b", i, i); seen[k] != 2 {
			t.Errorf("%q sent %d times, want 2", k, seen[k])
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct requests, want %d", len(seen), n)
	}
}

func TestOpAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	base := newRawServer(t) // allocation-free, unlike net/http
	for _, path := range []string{"/ok", "/fail"} {
		f := build(t, map[string]any{"url": base + path, "header": "X-A: b", "body": "x", "decode-json": true})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		ctx, cancel := ctxWithTimeout(opTimeout)
		defer cancel()
		want := map[string]string{"/ok": "", "/fail": "http_503"}[path]
		if got := kindOf(op(f, w, opTimeout)); got != want {
			t.Fatalf("%s: kind %q, want %q", path, got, want)
		}
		allocs := testing.AllocsPerRun(100, func() { _, _ = f.Op(ctx, w) })
		if allocs != 0 {
			t.Errorf("%s: %v allocs per op, want 0", path, allocs)
		}
	}
}

func TestTLS(t *testing.T) {
	// HTTP/1.1 over TLS goes through fasthttp.
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f := build(t, map[string]any{"url": srv.URL, "insecure": true})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	if err := op(f, w, opTimeout); err != nil {
		t.Fatalf("insecure=true: %v", err)
	}
	if p := proto.Load(); p != "HTTP/1.1" {
		t.Errorf("server saw %v, want HTTP/1.1", p)
	}
	h2srv := httptest.NewUnstartedServer(srv.Config.Handler)
	h2srv.Config.ErrorLog = srv.Config.ErrorLog
	h2srv.EnableHTTP2 = true
	h2srv.StartTLS()
	t.Cleanup(h2srv.Close)
	for _, tc := range []struct {
		url    string
		params map[string]any
		why    string
	}{
		{srv.URL, nil, "self-signed certificate"},
		{h2srv.URL, map[string]any{"http2": true}, "http2, self-signed certificate"},
		{srv.URL, map[string]any{"http2": true, "insecure": true}, "http2 to a server without it"},
	} {
		p := map[string]any{"url": tc.url}
		for k, v := range tc.params {
			p[k] = v
		}
		f = build(t, p)
		s = start(t, f, 1, opTimeout)
		w = bench.NewTestWorker(0, s)
		if got := kindOf(op(f, w, opTimeout)); got != KindTLS {
			t.Errorf("%s: kind %q, want %q", tc.why, got, KindTLS)
		}
	}
}

func TestH2C(t *testing.T) {
	// http2=true with an http:// URL speaks h2c with prior knowledge.
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	f := build(t, map[string]any{"url": srv.URL, "http2": true})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	if err := op(f, w, opTimeout); err != nil {
		t.Fatal(err)
	}
	if p := proto.Load(); p != "HTTP/2.0" {
		t.Errorf("server saw %v, want HTTP/2.0", p)
	}
}

func TestChunkedBody(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		srv := newServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			for i := range 5 {
				fmt.Fprintf(w, `%s"chunk%d"`, map[bool]string{true: "[", false: ","}[i == 0], i)
				_ = rc.Flush() // no Content-Length: chunked (HTTP/1.1) or DATA frames (h2)
			}
			io.WriteString(w, "]")
		}))
		f := build(t, params(srv, h2, map[string]any{"decode-json": true}))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		for range 3 {
			if err := op(f, w, opTimeout); err != nil {
				t.Fatal(err)
			}
		}
		want := int64(len(`["chunk0","chunk1","chunk2","chunk3","chunk4"]`))
		if in := w.TestCounter(f.bytesIn); in != 3*want {
			t.Errorf("bytes_in = %d, want %d", in, 3*want)
		}
	})
}

func TestClassify(t *testing.T) {
	errs := newErrTable()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fasthttp.ErrTimeout, bench.KindTimeout},
		{fasthttp.ErrDialTimeout, bench.KindTimeout},
		{fasthttp.ErrTLSHandshakeTimeout, bench.KindTimeout},
		{context.DeadlineExceeded, bench.KindTimeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, bench.KindTimeout},
		{context.Canceled, bench.KindCanceled},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, KindConnRefused},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, KindConnReset},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, KindConnReset},
		{fasthttp.ErrConnectionClosed, KindConnReset},
		{fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), KindConnReset},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, KindTLS},
		{fasthttp.ErrNoFreeConns, bench.KindOther},
		{errors.New("something else"), bench.KindOther},
	} {
		err := errs.classify(tc.err)
		if got := bench.ErrorKind(err); got != tc.want {
			t.Errorf("classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("classify(%v).Error() = %q: more than one line", tc.err, err)
		}
	}
}
