//go:build unix

package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// errPendingData fails the health check of a connection with unread bytes:
// a late reply to an earlier request would be taken for the next one's.
var errPendingData = errors.New("unread data on an idle connection")

// check is the health check on borrow: a non-blocking peek at the socket,
// which sees a peer's close or reset without a round trip.
func (c *conn) check(context.Context) error {
	if err := c.raw.Read(c.peekFn); err != nil {
		return err
	}
	switch {
	case c.peekErr == syscall.EAGAIN || c.peekErr == syscall.EWOULDBLOCK:
		return nil // nothing to read: alive and idle
	case c.peekErr != nil:
		return fmt.Errorf("health check: %w", c.peekErr)
	case c.peekN == 0:
		return fmt.Errorf("health check: %w (closed by the peer)", io.EOF)
	}
	return errPendingData
}

// peek runs on the socket: Go's sockets are non-blocking, so a peek with
// nothing to read returns EAGAIN at once.
func (c *conn) peek(fd uintptr) bool {
	c.peekN, _, c.peekErr = syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK)
	return true
}
