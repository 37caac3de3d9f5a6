//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fetch

import (
	"net"
	"os"
	"syscall"
)

// waitState lets an op send its request and wait for the response without a
// read buffer, in one poller wait on the connection's syscall.RawConn.
type waitState struct {
	rc    syscall.RawConn
	ready func(fd uintptr) bool // c.readyCheck, bound once per connection
	send  func(fd uintptr) bool // c.sendThenWait, bound once per connection
	calls int                   // calls of ready or send in this wait
	peek  [1]byte

	out  []byte // the request send writes
	sent int    // how much of out send wrote
	werr error  // send's write error, EAGAIN included
}

// initWait binds the wait to a TCP connection; on another kind, sendAndWait
// reports that it sent nothing and waitReadable returns at once, and the
// write and read that follow wait as usual.
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
	c.send = c.sendThenWait
}

// sendAndWait writes req and returns once the response has begun to arrive,
// with two system calls where a write then waitReadable take three: the
// write happens inside the readiness wait, after the poller has forgotten
// any earlier readiness of the connection and before the op parks, so the
// response's arrival is the event that wakes it and no peek is needed to
// learn that it has not come yet. It returns how much of req it wrote: when
// the socket took less than all of it (a body larger than its buffer), the
// caller writes the rest and waits with waitReadable. A write error is
// returned as net.Conn.Write would return it.
func (c *trackedConn) sendAndWait(req []byte) (int, error) {
	if c.rc == nil {
		return 0, nil
	}
	c.calls, c.out, c.sent, c.werr = 0, req, 0, nil
	err := c.rc.Read(c.send)
	c.out = nil
	if c.werr != nil && c.werr != syscall.EAGAIN {
		return c.sent, &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", c.werr)}
	}
	return c.sent, err
}

// sendThenWait is sendAndWait's RawConn.Read callback. Its first call writes
// the request; a complete write parks the op in the poller until the
// socket is readable. A later call follows the poller's word (see
// readyCheck).
func (c *trackedConn) sendThenWait(fd uintptr) bool {
	c.calls++
	if c.calls > 1 {
		return true
	}
	for c.sent < len(c.out) {
		n, err := syscall.Write(int(fd), c.out[c.sent:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			c.werr = err
			return true
		}
		if n <= 0 {
			c.werr = syscall.EAGAIN
			return true
		}
		c.sent += n
	}
	return false
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
