package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
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

// Listen checks addr and binds it. The listener remembers what was asked
// for, so that Serve answers only requests addressed to it (HostGuard).
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
	b := &boundListener{Listener: ln, allowRemote: allowRemote}
	b.host, _, _ = net.SplitHostPort(addr)
	if allowRemote {
		b.hostname, _ = os.Hostname()
	}
	return b, nil
}

// boundListener is a listener with what the user bound it to.
type boundListener struct {
	net.Listener
	host        string // as given: "127.0.0.1", "localhost", "metrics.internal", ""
	allowRemote bool
	hostname    string // the machine's name, with allowRemote
}

// HostGuard answers only requests whose Host header names this server: a
// loopback name or address (localhost, 127.0.0.1, [::1]) with the port it
// listens on, or, when the user let remote machines in (allowRemote), also
// the host they bound, the machine's hostname or any IP address. Anything
// else gets 421 Misdirected Request. This stops DNS rebinding: a web page
// from another site whose name was made to resolve to 127.0.0.1 reaches
// the port, but its requests carry its own name as Host. A request without
// Host (HTTP/1.0, no browser sends one) is answered.
func HostGuard(h http.Handler, bound net.Addr, boundHost string, allowRemote bool, hostname string) http.Handler {
	_, port, _ := net.SplitHostPort(bound.String())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" || hostAllowed(r.Host, port, boundHost, allowRemote, hostname) {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, fmt.Sprintf("perfkit: Host %q is not this server: open http://127.0.0.1:%s/ (perfkit answers only the names it was bound to)", r.Host, port), http.StatusMisdirectedRequest)
	})
}

func hostAllowed(hostport, port, boundHost string, allowRemote bool, hostname string) bool {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		host, p = hostport, "" // no port: the scheme's default
	}
	if p != port && !(p == "" && port == "80") {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if isLoopback(host) {
		return true
	}
	if !allowRemote {
		return false
	}
	if boundHost != "" && strings.EqualFold(host, strings.Trim(boundHost, "[]")) {
		return true
	}
	if net.ParseIP(host) != nil {
		return true // an address is no rebinding: the page's origin is then this server
	}
	hostname = strings.ToLower(hostname)
	return hostname != "" && (host == hostname || strings.HasPrefix(host, hostname+"."))
}

// Server serves a handler on a listener until Close; it owns its goroutine.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve starts serving h on ln, behind HostGuard: with what Listen was
// asked for, or loopback names only for another listener.
func Serve(ln net.Listener, h http.Handler) *Server {
	if b, ok := ln.(*boundListener); ok {
		h = HostGuard(h, ln.Addr(), b.host, b.allowRemote, b.hostname)
	} else {
		h = HostGuard(h, ln.Addr(), "", false, "")
	}
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
