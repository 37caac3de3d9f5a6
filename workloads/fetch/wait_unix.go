//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fetch

import (
	"syscall"
)

// waitState lets an op wait for its response without a read buffer: the
// poller's readiness wait, through the connection's syscall.RawConn.
type waitState struct {
	rc    syscall.RawConn
	ready func(fd uintptr) bool // c.readyCheck, bound once per connection
	calls int                   // calls of ready in this wait
	peek  [1]byte
}

// initWait binds the wait to a TCP connection; on another kind, waitReadable
// returns at once and the read that follows waits as usual.
func (c *trackedConn) initWait() {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.rc = rc
	c.ready = c.readyCheck
}

// waitReadable returns once the connection has a byte, an EOF or an error to
// read, or with the connection's deadline error. Its caller then takes a
// read buffer for a read that does not block (see h1Client.do).
func (c *trackedConn) waitReadable() error {
	if c.rc == nil {
		return nil
	}
	c.calls = 0
	return c.rc.Read(c.ready)
}

// readyCheck is the RawConn.Read callback. Its first call asks the socket
// (MSG_PEEK: nothing is consumed) whether the response has begun to arrive;
// "not yet" parks the op in the poller until it has. A later call follows
// the poller's word without a second syscall: were the wake-up spurious,
// the read that follows would simply wait as a plain read does.
func (c *trackedConn) readyCheck(fd uintptr) bool {
	c.calls++
	if c.calls > 1 {
		return true
	}
	_, _, err := syscall.Recvfrom(int(fd), c.peek[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN
}
