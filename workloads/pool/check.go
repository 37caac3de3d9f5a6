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
// which sees a peer's close or reset without a round trip. Where a
// connection has no raw form (rawconn) it passes; a dead connection then
// fails its round trip and is discarded.
func (c *conn) check(context.Context) error {
	if c.raw == nil {
		return nil
	}
	n, err := c.raw.Peek()
	switch {
	case errors.Is(err, syscall.EAGAIN):
		return nil // nothing to read: alive and idle
	case err != nil:
		return fmt.Errorf("health check: %w", err)
	case n == 0:
		return fmt.Errorf("health check: %w (closed by the peer)", io.EOF)
	}
	return errPendingData
}
