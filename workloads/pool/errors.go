package pool

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/perfkit/perfkit/bench"
)

// Error kinds of the pool workload, besides bench's timeout and canceled.
const (
	KindExhausted      = "exhausted"       // fail-fast policy: every connection in use
	KindAcquireTimeout = "acquire_timeout" // waited past acquire-timeout (or the op's deadline)
	KindPoolClosed     = "pool_closed"
	KindConnRefused    = "conn_refused"
	KindConnReset      = "conn_reset"
	KindProtocol       = "protocol" // a reply that is not the echo, or not +PONG
	KindIO             = "io"
)

// errTable holds the errors Op returns, built once, so that failing ops (an
// exhausted pool shedding thousands of acquires a second) allocate nothing.
// Shared by every worker; never written after newErrTable.
type errTable struct {
	exhausted      *bench.KindError
	acquireTimeout *bench.KindError
	closed         *bench.KindError
	timeout        *bench.KindError
	canceled       *bench.KindError
	refused        *bench.KindError
	reset          *bench.KindError
	protocol       *bench.KindError
}

func newErrTable() *errTable {
	return &errTable{
		exhausted:      &bench.KindError{Kind: KindExhausted, Err: ErrExhausted},
		acquireTimeout: &bench.KindError{Kind: KindAcquireTimeout, Err: ErrAcquireTimeout},
		closed:         &bench.KindError{Kind: KindPoolClosed, Err: ErrClosed},
		timeout:        &bench.KindError{Kind: bench.KindTimeout, Err: context.DeadlineExceeded},
		canceled:       &bench.KindError{Kind: bench.KindCanceled, Err: context.Canceled},
		refused:        &bench.KindError{Kind: KindConnRefused, Err: syscall.ECONNREFUSED},
		reset:          &bench.KindError{Kind: KindConnReset, Err: errors.New("connection reset or closed by the peer")},
		protocol:       &bench.KindError{Kind: KindProtocol, Err: errProtocol},
	}
}

// classify maps an error of Acquire, a dial or a round trip to its kind.
func (t *errTable) classify(err error) error {
	switch {
	case err == ErrExhausted: // as Acquire returns them: no chain to walk
		return t.exhausted
	case err == ErrAcquireTimeout:
		return t.acquireTimeout
	case errors.Is(err, ErrExhausted):
		return t.exhausted
	case errors.Is(err, ErrAcquireTimeout):
		return t.acquireTimeout
	case errors.Is(err, ErrClosed):
		return t.closed
	case errors.Is(err, context.Canceled):
		return t.canceled
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return t.timeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return t.refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return t.reset
	case errors.Is(err, errProtocol):
		return t.protocol
	}
	return &bench.KindError{Kind: KindIO, Err: err}
}

// isTimeout reports a net.Error-style timeout anywhere in err's chain.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
