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

// sendAndWait writes the whole request, returns once the answer has begun
// to arrive (not before: the answer comes 30 ms after the request), and
// leaves the answer unread for the read that follows.
func TestSendAndWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			got <- err.Error()
			return
		}
		got <- req.URL.Path
		time.Sleep(30 * time.Millisecond)
		_, _ = c.Write([]byte(rawOK))
		time.Sleep(time.Second)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := &trackedConn{Conn: c}
	tc.initWait()
	req := []byte("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if err := c.SetDeadline(time.Now().Add(opTimeout)); err != nil {
		t.Fatal(err)
	}
	n, err := tc.sendAndWait(req)
	if err != nil || n != len(req) {
		t.Fatalf("sendAndWait = %d, %v; want %d, nil", n, err, len(req))
	}
	if p := <-got; p != "/x" {
		t.Fatalf("server read %q, want /x", p)
	}
	// The answer is there: a read returns it without waiting.
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	m, err := c.Read(buf)
	if err != nil || string(buf[:m]) != rawOK[:m] || m == 0 {
		t.Fatalf("read after sendAndWait = %q, %v", buf[:m], err)
	}

	// Past the connection's deadline, the wait ends with a timeout.
	if err := c.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Read(buf) // the rest of the answer, if any
	if _, err := tc.sendAndWait(req); err == nil {
		t.Fatal("sendAndWait past the deadline: nil error, want a timeout")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("sendAndWait past the deadline: %v, want a timeout", err)
	}
}

// Ops sent back to back reuse their connection through sendAndWait, and
// every one gets its own answer.
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
