package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// dialer opens every connection of a client, HTTP/1.1 and HTTP/2 alike: to
// the URL's host, or to connect-to's address or the unix socket instead;
// within connect-timeout; and for https with the TLS handshake done here,
// so that connect-timeout covers it (as curl's --connect-timeout does) and
// the connection's phases are timed (connTimes).
type dialer struct {
	network        string // "tcp", or "unix" with unix-socket
	override       string // the address dialed instead of the URL's; "" none
	connectTimeout time.Duration
	tls            *tls.Config // every TLS connection's settings but the name
	alpn           []string    // the protocols offered in the TLS handshake
	timeoutErr     *bench.KindError
}

func newDialer(o clientOptions, alpn []string) *dialer {
	d := &dialer{
		network:        "tcp",
		override:       o.connectTo,
		connectTimeout: o.connectTimeout,
		tls:            o.tls,
		alpn:           alpn,
		timeoutErr:     &bench.KindError{Kind: KindConnectTimeout, Err: errors.New("connection not open within connect-timeout " + o.connectTimeout.String())},
	}
	if d.tls == nil {
		d.tls = &tls.Config{}
	}
	if o.unixSocket != "" {
		d.network, d.override = "unix", o.unixSocket
	}
	return d
}

// connTimes are how long a new connection's phases took. The first op to
// get the connection records them (claimed), so a connection's phases are
// counted once and ops on a reused connection record none.
type connTimes struct {
	dns, connect, tls time.Duration
	hasDNS, hasTLS    bool // a name was looked up; a handshake was made
	claimed           atomic.Bool

	// certAsked: the server asked for a client certificate in the
	// handshake. Under TLS 1.3 a server refuses the certificate (or its
	// absence) after the client's handshake is done, and HTTP/2 may then
	// lose the alert and report only a closed connection (see
	// h2Client.refusedCert).
	certAsked bool
}

// dial opens a connection to addr (the URL's host:port), over TLS when
// isTLS, and registers it with track before the handshake (so an abort
// closes a handshake under way). ctx bounds it, and connect-timeout too.
func (d *dialer) dial(ctx context.Context, addr string, isTLS bool, track func(net.Conn) *trackedConn) (net.Conn, error) {
	byConnect := false
	if d.connectTimeout > 0 {
		dl := time.Now().Add(d.connectTimeout)
		if old, ok := ctx.Deadline(); !ok || dl.Before(old) {
			byConnect = true
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	conn, err := d.open(ctx, addr, isTLS, track)
	if err != nil && byConnect && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, d.timeoutErr
	}
	return conn, err
}

func (d *dialer) open(ctx context.Context, addr string, isTLS bool, track func(net.Conn) *trackedConn) (net.Conn, error) {
	network, to := "tcp", addr
	if d.override != "" {
		network, to = d.network, d.override
	}
	start := time.Now()
	var nd net.Dialer
	var resolved atomic.Int64 // when the first address was dialed: the lookup's end
	lookup := network == "tcp" && net.ParseIP(hostOnly(to)) == nil
	if lookup {
		nd.ControlContext = func(context.Context, string, string, syscall.RawConn) error {
			resolved.CompareAndSwap(0, int64(time.Since(start)))
			return nil
		}
	}
	raw, err := nd.DialContext(ctx, network, to)
	if err != nil {
		return nil, err
	}
	tc := track(raw)
	t := &tc.times
	if lookup {
		t.dns, t.hasDNS = time.Duration(resolved.Load()), true
	}
	t.connect = time.Since(start) - t.dns
	if !isTLS {
		return tc, nil
	}
	hs := time.Now()
	cfg := serverTLS(d.tls, addr, d.alpn)
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		t.certAsked = true
		return clientCertFor(d.tls.Certificates, cri), nil
	}
	conn := tls.Client(tc, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = tc.Close()
		return nil, err
	}
	t.tls, t.hasTLS = time.Since(hs), true
	return conn, nil
}

// clientCertFor is the certificate crypto/tls would send when asked for
// one: the first that suits the request, else none.
func clientCertFor(certs []tls.Certificate, cri *tls.CertificateRequestInfo) *tls.Certificate {
	for i := range certs {
		if cri.SupportsCertificate(&certs[i]) == nil {
			return &certs[i]
		}
	}
	return &tls.Certificate{}
}

// hostOnly is the host of host:port, or s itself without a port.
func hostOnly(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// trackedOf finds the tracked connection under conn (TLS, or net/http's
// wrappers of it); nil if there is none.
func trackedOf(conn net.Conn) *trackedConn {
	for range 4 {
		switch c := conn.(type) {
		case *trackedConn:
			return c
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil
		}
	}
	return nil
}
