package fetch

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// A response much larger than a read buffer, or arriving in pieces after
// the op began waiting for it, is read whole: the op waits for the first
// byte without a buffer, then reads the rest with one (see h1Client.do).
func TestLargeAndSlowResponses(t *testing.T) {
	big := `{"data":"` + strings.Repeat("x", 3<<20) + `"}`
	bigHeader := strings.Repeat("v", readBufferSize-1024) // fits the read buffer with the rest of the head
	cases := []struct {
		name    string
		handler http.HandlerFunc
		body    int
	}{
		{"content-length body of 3 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = w.Write([]byte(big))
		}, len(big)},
		{"chunked body of 3 MiB", func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			for i := 0; i < len(big); i += 64 << 10 {
				_, _ = w.Write([]byte(big[i:min(i+64<<10, len(big))]))
				_ = rc.Flush()
			}
		}, len(big)},
		{"head and body late and apart", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond)
			w.Header().Set("Content-Length", "11")
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			time.Sleep(20 * time.Millisecond)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}, 11},
		{"headers near the read buffer's size", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Big", bigHeader)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, false, tc.handler)
			f := build(t, params(srv, false, map[string]any{"decode-json": true}))
			s := start(t, f, 2, opTimeout)
			w := bench.NewTestWorker(0, s)
			const n = 3
			for range n {
				if err := op(f, w, opTimeout); err != nil {
					t.Fatalf("op: %v", err)
				}
			}
			if in := w.TestCounter(f.bytesIn); in != n*int64(tc.body) {
				t.Errorf("bytes_in = %d, want %d", in, n*tc.body)
			}
		})
	}
}

// A response head larger than the read buffer fails the op with an error
// that says so; it neither hangs nor takes the worker down.
func TestHeadLargerThanReadBuffer(t *testing.T) {
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("v", 2*readBufferSize))
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	f := build(t, params(srv, false, nil))
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	err := op(f, w, opTimeout)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("small read buffer")) {
		t.Fatalf("op: %v, want an error about the read buffer", err)
	}
}

// A fetch worker's own state, with its request in flight, stays small: a
// worker waiting on the server holds no read buffer, request or response
// (with fasthttp's Do it held all three, 11 KiB; now about 600 bytes, its
// connection). BenchmarkWorkerMemory reports the stack too. Memory figures
// differ under the race detector, so they are checked only without it.
func TestWorkerHeapBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	if testing.Short() {
		t.Skip("starts hundreds of connections")
	}
	const limit = 1536
	m := measureWorkers(t, 500)
	t.Logf("per worker: heap %.0f B, stack growth %.0f B", m.heap, m.stack)
	if m.heap > limit {
		t.Errorf("a worker holds %.0f bytes of heap with its request in flight, want at most %d", m.heap, limit)
	}
}

// The memory estimate follows what a connection costs: a few KiB on the
// client side of an HTTP/1.1 connection (no buffers held while waiting),
// more with HTTP/2 or with the embedded server's side of each connection.
func TestMemoryEstimate(t *testing.T) {
	def := Definition()
	est := func(raw map[string]any) float64 {
		t.Helper()
		v, err := def.Resolve(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := memory(v, 1000)
		return b
	}
	url := map[string]any{"url": []string{"http://127.0.0.1:1/"}}
	if got := est(url); got != 1000*clientConnBytes {
		t.Errorf("url, 1000 workers: %.0f bytes, want %d", got, 1000*clientConnBytes)
	}
	if h1, h2 := est(url), est(map[string]any{"url": []string{"http://127.0.0.1:1/"}, "http2": true}); h2 <= h1 {
		t.Errorf("http2 %.0f bytes, not more than HTTP/1.1's %.0f", h2, h1)
	}
	if emb := est(nil); emb <= est(url) {
		t.Errorf("embedded server %.0f bytes, not more than a url's %.0f", emb, est(url))
	}
}
