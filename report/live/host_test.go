package live

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// get sends a real request to s with the Host header host.
func getHost(t *testing.T, s *Server, path, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL()+strings.TrimPrefix(path, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func serveOn(t *testing.T, addr string, allowRemote bool, h http.Handler) *Server {
	t.Helper()
	ln, err := Listen(addr, allowRemote)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// DNS rebinding: a page from evil.example whose name resolves to 127.0.0.1
// reaches the port, but its requests say Host: evil.example. The dashboard
// and /metrics answer only the names they were bound to.
func TestHostChecked(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", NewMetrics().Handler())
	mux.Handle("/", NewDashboard(0).Handler())
	s := serveOn(t, "127.0.0.1:0", false, mux)
	_, port, _ := net.SplitHostPort(s.Addr().String())
	for _, path := range []string{"/metrics", "/"} {
		for host, want := range map[string]int{
			"127.0.0.1:" + port:        200,
			"localhost:" + port:        200,
			"LocalHost.:" + port:       200,
			"[::1]:" + port:            200,
			"evil.example:" + port:     421,
			"evil.example":             421,
			"127.0.0.1":                421, // port 80 is not where it listens
			"127.0.0.1:1":              421,
			"10.0.0.5:" + port:         421, // not loopback without --allow-remote
			"localhost.evil.example:1": 421,
		} {
			code, body := getHost(t, s, path, host)
			if code != want {
				t.Errorf("GET %s Host %q: %d, want %d", path, host, code, want)
			}
			if code == 421 && (strings.Contains(body, "perfkit_") || !strings.Contains(body, "not this server")) {
				t.Errorf("GET %s Host %q: refusal body %q", path, host, body)
			}
		}
	}
}

// With --allow-remote other machines may use the name or address the user
// bound, the machine's name, or an IP address; another name still fails.
func TestHostCheckedRemote(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	s := serveOn(t, "127.0.0.1:0", true, ok)
	_, port, _ := net.SplitHostPort(s.Addr().String())
	for host, want := range map[string]int{
		"127.0.0.1:" + port:    200,
		"10.0.0.5:" + port:     200,
		"[fd00::1]:" + port:    200,
		"evil.example:" + port: 421,
	} {
		if code, _ := getHost(t, s, "/", host); code != want {
			t.Errorf("Host %q: %d, want %d", host, code, want)
		}
	}
	// The exact name bound, and the machine's name.
	h := HostGuard(ok, s.Addr(), "metrics.internal", true, "box1")
	for host, want := range map[string]bool{
		"metrics.internal:" + port: true, "box1:" + port: true, "box1.corp.example:" + port: true,
		"metrics.internal:1": false, "box10:" + port: false, "attacker.example:" + port: false,
	} {
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Code == 200; got != want {
			t.Errorf("bound metrics.internal, hostname box1: Host %q answered %v, want %v", host, got, want)
		}
	}
}
