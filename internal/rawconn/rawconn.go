//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

// Package rawconn reads and writes a socket with system calls made inside
// its syscall.RawConn, raw where the platform allows: the poller's readiness
// wait, the fd's locking and deadlines stay the runtime's, but each read and
// write skips the runtime's system-call entry and exit.
//
// Why: the socket is non-blocking, so read and write return at once, and a
// plain syscall.Syscall's entry and exit only cost. Each one that finds the
// program idle wakes the runtime's sysmon thread, which then polls every
// 20 µs for a millisecond before it sleeps again. Under an open-model load
// the program is idle between ops, so that was every op: at 10k requests/s
// sysmon's wake-ups were a fifth of perfkit's CPU (perf record of `perfkit
// run fetch -r 10000`; docs/design.md, "The per-op path").
//
// Raw calls are used on linux outside the race detector. Under it (and on
// other systems) the callbacks call the syscall package, whose annotations
// tell the race detector that a server's write happens before the client's
// read.
package rawconn

import (
	"io"
	"net"
	"os"
	"syscall"
)

// Conn is a net.Conn whose Read and Write go through its RawConn. A Conn
// has one reader and one writer at a time, as net/http, fasthttp and
// go-redis use a connection; the read and the write may run at once.
//
// Conn deliberately does not implement syscall.Conn: go-redis checks a
// pooled connection that offers one with a peek before every command, a
// system call per op (a dead connection then fails the command itself, and
// go-redis drops it). A TLS connection has no raw form: New needs the
// socket itself.
type Conn struct {
	net.Conn
	rc syscall.RawConn
	// The read side's call in progress (a read, a wait or a peek) and the
	// write's, each with its callback bound once, so that none allocates.
	// A connection costs 144 bytes and two closures.
	r, w            call
	readFn, writeFn func(fd uintptr) bool
}

// call is one system call's state across the poller's callbacks.
type call struct {
	buf   []byte
	n     int
	errno syscall.Errno
	kind  uint8 // read side: kindRead, kindWait or kindPeek
	calls uint8 // callbacks so far in a wait
	peek  [1]byte
}

const (
	kindRead = iota
	kindWait
	kindPeek
)

// New returns c in its raw form, or nil when c is not a socket with a
// RawConn.
func New(c net.Conn) *Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Conn{Conn: c, rc: rc}
	r.readFn, r.writeFn = r.readStep, r.writeStep
	return r
}

// Wrap returns New(c), or c itself when it has no raw form.
func Wrap(c net.Conn) net.Conn {
	if r := New(c); r != nil {
		return r
	}
	return c
}

// NetConn returns the connection under c.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// WaitReadable returns once the socket has a byte, an EOF or an error to
// read, or with the connection's deadline error, consuming nothing: a
// caller can wait for an answer without holding a read buffer. Its first
// look asks the socket (MSG_PEEK); "not yet" parks the caller in the poller
// until it has. A later call follows the poller's word without a second
// look: were the wake-up spurious, the read that follows would simply wait
// as a plain read does.
func (c *Conn) WaitReadable() error {
	c.r = call{kind: kindWait}
	return c.rc.Read(c.readFn)
}

// Peek looks at the socket without consuming or waiting: n is 1 when a byte
// is there and 0 at an EOF; err is syscall.EAGAIN when nothing is there
// yet, another syscall.Errno on a socket error, and the connection's own
// error once it is closed.
func (c *Conn) Peek() (n int, err error) {
	c.r = call{kind: kindPeek}
	if err := c.rc.Read(c.readFn); err != nil {
		return 0, err
	}
	if c.r.errno != 0 {
		return 0, c.r.errno
	}
	return c.r.n, nil
}

// Read is net.Conn's Read: one read that waits in the poller while the
// socket has nothing, with the connection's deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.r = call{buf: p, kind: kindRead}
	err := c.rc.Read(c.readFn)
	r := c.r
	c.r.buf = nil
	switch {
	case err != nil:
		return 0, err // the deadline, or the connection closed under it
	case r.errno != 0:
		return 0, c.opError("read", r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// readStep is the read side's RawConn.Read callback: true ends the call,
// false waits in the poller for readability.
func (c *Conn) readStep(fd uintptr) bool {
	r := &c.r
	for {
		switch r.kind {
		case kindWait:
			if r.calls++; r.calls > 1 {
				return true
			}
			_, errno := peekFd(fd, r.peek[:])
			return errno != syscall.EAGAIN
		case kindPeek:
			r.n, r.errno = peekFd(fd, r.peek[:])
		default:
			r.n, r.errno = readFd(fd, r.buf)
			if r.errno == syscall.EAGAIN {
				return false
			}
		}
		if r.errno != syscall.EINTR {
			return true
		}
	}
}

// Write is net.Conn's Write: all of p, waiting in the poller while the
// socket's buffer is full, with the connection's deadline.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Write(p)
	}
	c.w = call{buf: p}
	err := c.rc.Write(c.writeFn)
	w := c.w
	c.w.buf = nil
	if err == nil && w.errno != 0 {
		err = c.opError("write", w.errno)
	}
	return w.n, err
}

func (c *Conn) writeStep(fd uintptr) bool {
	w := &c.w
	for w.n < len(w.buf) {
		n, errno := writeFd(fd, w.buf[w.n:])
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return false
		case errno != 0:
			w.errno = errno
			return true
		}
		w.n += n
	}
	return true
}

// opError is the error net.Conn's Read or Write returns for errno.
// Either address may be nil (an unnamed unix socket's, a closed
// connection's).
func (c *Conn) opError(op string, errno syscall.Errno) error {
	e := &net.OpError{Op: op, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
	for _, a := range []net.Addr{e.Source, e.Addr} {
		if a != nil && e.Net == "" {
			e.Net = a.Network()
		}
	}
	return e
}
