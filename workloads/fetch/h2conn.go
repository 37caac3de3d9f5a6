package fetch

import (
	"context"
	"errors"
	"io"
	"net/http/httptrace"
	"syscall"

	"github.com/perfkit/perfkit/bench"
)

// h2Worker is a worker's HTTP/2 state: the connection its op got, which
// net/http tells only through a trace (GotConn, called on the op's own
// goroutine), for the op's phases and to name a refused client
// certificate.
type h2Worker struct {
	trace *httptrace.ClientTrace // GotConn bound once
	conn  *trackedConn           // the op's connection; nil before it has one
	fresh bool                   // conn is new: the op is its first
	ph    *phaseClock
}

// traced returns ctx with the worker's trace, and forgets the last op's
// connection. Without phases or TLS (h2c) the op needs no trace.
func (h *h2Worker) traced(ctx context.Context, c *h2Client, ph *phaseClock) context.Context {
	h.conn, h.ph = nil, ph
	if ph == nil && !c.anyTLS {
		return ctx
	}
	if h.trace == nil {
		h.trace = &httptrace.ClientTrace{GotConn: h.gotConn}
	}
	return httptrace.WithClientTrace(ctx, h.trace)
}

func (h *h2Worker) gotConn(info httptrace.GotConnInfo) {
	h.conn, h.fresh = trackedOf(info.Conn), !info.Reused
	if h.ph != nil {
		h.ph.connected(h.conn)
	}
}

// errNotEstablished is how net/http's HTTP/2 client reports a connection
// closed before its first request could use it (the error is unexported).
const errNotEstablished = "http2: client conn could not be established"

// refusedCert names the likely cause of an HTTP/2 op that lost the new
// connection it was the first to use, right after a handshake in which the server asked for a
// client certificate: under TLS 1.3 the server refuses the certificate
// (or its absence) only after the client's handshake is done, and HTTP/2
// may close the connection before the request sees the server's alert.
// Such an op counts as tls, as it does over HTTP/1.1; other errors are
// returned as they are.
func (c *h2Client) refusedCert(h *h2Worker, err error) error {
	tc := h.conn
	if tc == nil || !h.fresh || !tc.times.certAsked || !tc.times.hasTLS {
		return err
	}
	var ke *bench.KindError
	if errors.As(err, &ke) || isTLSError(err) {
		return err
	}
	if err.Error() != errNotEstablished && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) &&
		!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return c.certRefused
}

func newCertRefused() error {
	return &bench.KindError{Kind: KindTLS, Err: errors.New(
		"the server closed the connection after asking for a client certificate: it refused the one given (param cert), or its absence")}
}
