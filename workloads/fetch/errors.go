package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/perfkit/perfkit/bench"
	"github.com/valyala/fasthttp"
)

// Error kinds of the fetch workload, besides bench's timeout, canceled and
// error, and http_NNN for each status code ≥ 400.
const (
	KindConnRefused = "conn_refused"
	KindConnReset   = "conn_reset"
	KindTLS         = "tls"
	KindDecode      = "decode"
)

// Status codes with a preallocated error: every code a server sends in
// practice. Others (nonstandard codes ≥ 600) allocate.
const (
	minErrStatus = 400
	maxErrStatus = 599
)

// errTable holds the errors Op returns, built once, so that failing ops (a
// server shedding load with 503s, a timeout storm) allocate nothing. The
// values are shared by every worker and never written after newErrTable.
type errTable struct {
	byStatus [maxErrStatus - minErrStatus + 1]*bench.KindError
	timeout  *bench.KindError
	canceled *bench.KindError
	refused  *bench.KindError
	reset    *bench.KindError
	decode   *bench.KindError
}

func newErrTable() *errTable {
	t := &errTable{
		timeout:  &bench.KindError{Kind: bench.KindTimeout, Err: context.DeadlineExceeded},
		canceled: &bench.KindError{Kind: bench.KindCanceled, Err: context.Canceled},
		refused:  &bench.KindError{Kind: KindConnRefused, Err: syscall.ECONNREFUSED},
		reset:    &bench.KindError{Kind: KindConnReset, Err: errors.New("connection reset or closed by the server")},
		decode:   &bench.KindError{Kind: KindDecode, Err: errors.New("response body is not valid JSON")},
	}
	for i := range t.byStatus {
		t.byStatus[i] = statusError(minErrStatus + i)
	}
	return t
}

func statusError(code int) *bench.KindError {
	msg := "status " + strconv.Itoa(code)
	if txt := http.StatusText(code); txt != "" {
		msg += " " + txt
	}
	return &bench.KindError{Kind: "http_" + strconv.Itoa(code), Err: errors.New(msg)}
}

// status returns the error of a response with status code ≥ 400.
func (t *errTable) status(code int) error {
	if code >= minErrStatus && code <= maxErrStatus {
		return t.byStatus[code-minErrStatus]
	}
	return statusError(code)
}

// classify maps a transport error to its kind.
func (t *errTable) classify(err error) error {
	var te interface{ Timeout() bool } // net.Error's, and fasthttp.ErrTimeout's
	var ke *bench.KindError            // the dialer's connect_timeout, a redirect's
	switch {
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout), errors.As(err, &te) && te.Timeout():
		return t.timeout
	case errors.Is(err, context.Canceled):
		return t.canceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return t.refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return t.reset
	case isTLSError(err):
		return &bench.KindError{Kind: KindTLS, Err: err}
	}
	return &bench.KindError{Kind: bench.KindOther, Err: err}
}

func isTLSError(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" { // an alert from the server
		return true
	}
	var (
		rh  tls.RecordHeaderError
		al  tls.AlertError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		inv x509.CertificateInvalidError
	)
	return errors.As(err, &rh) || errors.As(err, &al) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &inv)
}
