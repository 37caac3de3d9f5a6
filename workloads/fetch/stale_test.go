package fetch

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// newOneShotServer answers one request per connection, as keep-alive (no
// "Connection: close"), then closes the connection: every pooled connection
// the client reuses has gone stale by the time the next op takes it. how
// closes it: "close" fully; "halfclose" shuts only the server's writing
// side and keeps reading, so the client's next request gets no answer and
// no reset.
func newOneShotServer(tb testing.TB, how string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = c.Write([]byte(rawOK))
				if how == "halfclose" {
					_ = c.(*net.TCPConn).CloseWrite()
					select { // hold the reading side open, answer nothing
					case <-done:
					case <-time.After(5 * time.Second):
					}
				}
			})
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		close(done)
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// A keep-alive connection the server closed while it sat in the pool is
// found stale when the next op sends on it, and the op is sent once more on
// a fresh connection: the user sees no error, whether the server closed the
// connection fully (the send is answered by a reset) or only its writing
// side (the send is answered by nothing; the end of stream is already in
// the socket).
func TestStaleKeepAliveRetried(t *testing.T) {
	for _, how := range []string{"close", "halfclose"} {
		t.Run(how, func(t *testing.T) {
			f := build(t, map[string]any{"url": newOneShotServer(t, how) + "/"})
			s := start(t, f, 1, opTimeout)
			w := bench.NewTestWorker(0, s)
			for i := range 5 {
				if err := op(f, w, 3*time.Second); err != nil {
					t.Fatalf("op %d: %v (kind %q)", i, err, kindOf(err))
				}
				time.Sleep(20 * time.Millisecond) // let the server's close reach the pooled connection
			}
		})
	}
}

// Ops sent back to back reuse their connection, and every one gets its
// own answer.
func TestBackToBackOps(t *testing.T) {
	f := build(t, map[string]any{"url": newRawServer(t) + "/ok"})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	for i := range 200 {
		if err := op(f, w, opTimeout); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}
