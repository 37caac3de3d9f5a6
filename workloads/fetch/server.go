package fetch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/payload"
)

// serverConfig shapes the embedded server's responses.
type serverConfig struct {
	payloadBytes int
	latency      bench.Dist
	errorRate    float64
	h2c          bool // also serve HTTP/2 with prior knowledge
}

// server is the embedded target: a net/http server on a loopback port that
// serves a JSON document, late and failing as configured. It owns the
// goroutines serving it; close waits for all of them.
type server struct {
	url    *url.URL
	srv    *http.Server
	cancel context.CancelFunc // ends handlers still waiting out their latency
	served chan error         // Serve's result
	conns  sync.WaitGroup     // one per open connection
}

// readHeaderTimeout bounds a client that connects and sends nothing.
const readHeaderTimeout = 10 * time.Second

func startServer(cfg serverConfig) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &server{
		url:    &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"},
		cancel: cancel,
		served: make(chan error, 1),
	}
	s.srv = &http.Server{
		Handler:           newHandler(cfg),
		ReadHeaderTimeout: readHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.conns.Done()
			}
		},
	}
	if cfg.h2c {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.srv.Protocols = &p
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// shutdownGrace bounds a graceful shutdown, whatever ctx allows (the engine
// tears down with a context that has no deadline): then connections are
// closed outright.
const shutdownGrace = 5 * time.Second

// close stops accepting, ends waiting handlers, closes the connections once
// idle and waits for every goroutine the server started, within ctx.
func (s *server) close(ctx context.Context) error {
	s.cancel()
	sctx, cancel := context.WithTimeout(ctx, shutdownGrace)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	// Every connection is closed by now (by Shutdown, or else Close), and our
	// handlers return once base is canceled: their goroutines end promptly.
	s.conns.Wait()
	return err
}

// handler serves the document. Its random numbers come from the runtime's
// per-thread generator, so concurrent requests share no lock.
type handler struct {
	payload   []byte
	length    []string // Content-Length of payload
	errBody   []byte
	errLength []string
	jsonType  []string
	latency   bench.Dist
	errorRate float64
	rng       *rand.Rand
}

// runtimeSource is math/rand/v2's lock-free global generator as a Source:
// a Rand over it is safe for concurrent use.
type runtimeSource struct{}

func (runtimeSource) Uint64() uint64 { return rand.Uint64() }

func newHandler(cfg serverConfig) *handler {
	p := payload.JSON(cfg.payloadBytes)
	e := []byte(`{"error":"injected failure"}`)
	return &handler{
		payload:   p,
		length:    []string{strconv.Itoa(len(p))},
		errBody:   e,
		errLength: []string{strconv.Itoa(len(e))},
		jsonType:  []string{"application/json"},
		latency:   cfg.latency,
		errorRate: cfg.errorRate,
		rng:       rand.New(runtimeSource{}),
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.latency.IsZero() {
		if d := h.latency.Sample(h.rng); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	hdr := w.Header()
	// The header values are shared by every response: net/http only reads them.
	hdr["Content-Type"] = h.jsonType
	if h.errorRate > 0 && h.rng.Float64() < h.errorRate {
		hdr["Content-Length"] = h.errLength
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(h.errBody)
		return
	}
	hdr["Content-Length"] = h.length
	_, _ = w.Write(h.payload)
}
