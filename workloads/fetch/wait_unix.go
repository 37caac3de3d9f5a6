//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fetch

import (
	"io"
	"net"
	"os"
	"syscall"
)

// waitState lets an op wait for its response without a read buffer, and
// read and write its connection without the runtime's system-call
// bookkeeping: both through the connection's syscall.RawConn, so the
// poller's readiness wait, the fd's locking and deadlines stay the
// runtime's own.
//
// Why the calls are raw (linux; elsewhere they are the syscall package's):
// the socket is non-blocking, so read, write and the peek return at once,
// and a plain syscall.Syscall's entry and exit would only cost: each one
// that finds the program idle wakes the runtime's sysmon thread, which then
// polls every 20 µs for a millisecond before it sleeps again. In the open
// model the program is idle between ops, so that was every op: at 10k
// requests/s sysmon's wake-ups were a fifth of perfkit's CPU (perf record of
// `run fetch -r 10000`; docs/design.md, "The per-op path").
type waitState struct {
	rc    syscall.RawConn
	ready func(fd uintptr) bool // c.readyCheck, bound once per connection
	calls int                   // calls of ready in this wait
	peek  [1]byte

	// The read and the write in progress, each touched only by the
	// connection's one reader or one writer; their callbacks are bound once
	// so that a read or write allocates nothing.
	rbuf    []byte
	rn      int
	rerr    error
	readFn  func(fd uintptr) bool
	wbuf    []byte
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
}

// initWait binds the wait and the raw reads and writes to a TCP or unix
// connection; on another kind, waitReadable returns at once and reads and
// writes are the connection's own.
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
	c.readFn = c.readStep
	c.writeFn = c.writeStep
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
	return peekFd(fd, c.peek[:]) != syscall.EAGAIN
}

// Read is net.Conn's Read: one read that waits in the poller while the
// socket has nothing, with the connection's deadline.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.rbuf, c.rn, c.rerr = p, 0, nil
	err := c.rc.Read(c.readFn)
	n, rerr := c.rn, c.rerr
	c.rbuf, c.rerr = nil, nil
	if err != nil {
		return 0, err // the deadline, or the connection closed under it
	}
	return n, rerr
}

func (c *trackedConn) readStep(fd uintptr) bool {
	for {
		n, errno := readFd(fd, c.rbuf)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return false
		case errno != 0:
			c.rerr = c.opError("read", errno)
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rn = n
		}
		return true
	}
}

// Write is net.Conn's Write: all of p, waiting in the poller while the
// socket's buffer is full, with the connection's deadline.
func (c *trackedConn) Write(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.Conn.Write(p)
	}
	c.wbuf, c.wn, c.werr = p, 0, nil
	err := c.rc.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wbuf, c.werr = nil, nil
	if err == nil {
		err = werr
	}
	return n, err
}

func (c *trackedConn) writeStep(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		n, errno := writeFd(fd, c.wbuf[c.wn:])
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return false
		case errno != 0:
			c.werr = c.opError("write", errno)
			return true
		}
		c.wn += n
	}
	return true
}

// opError is the error net.Conn's Read or Write returns for errno.
func (c *trackedConn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}
