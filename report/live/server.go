package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// CheckAddr checks a listen address (HOST:PORT) without binding it. Only
// loopback hosts (127.0.0.0/8, ::1, localhost) are accepted unless
// allowRemote: a run's live data is nobody else's business by default.
// Port 0 picks a free port.
func CheckAddr(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: expected HOST:PORT, e.g. 127.0.0.1:9464", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	what := "binds every interface"
	if host != "" {
		what = "is not a loopback address"
	}
	return fmt.Errorf("address %q %s: use 127.0.0.1 or [::1], or pass --allow-remote to serve other machines", addr, what)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen checks addr and binds it.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	if err := CheckAddr(addr, allowRemote); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	return ln, nil
}

// Server serves a handler on a listener until Close; it owns its goroutine.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve starts serving h on ln.
func Serve(ln net.Listener, h http.Handler) *Server {
	s := &Server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// URL is the server's base URL (http://HOST:PORT/), with the port it got.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close shuts the server down, letting requests in progress finish until
// ctx is done, then closing their connections; it returns when the serving
// goroutine has ended.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.done; serr != nil {
		return serr
	}
	return err
}
