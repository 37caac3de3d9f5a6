//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package rawconn

import (
	"errors"
	"net"
)

// Conn is the raw form of a connection; there is none on this system (its
// RawConn's callbacks take handles, not file descriptors).
type Conn struct{ net.Conn }

// New returns nil: no connection has a raw form here.
func New(net.Conn) *Conn { return nil }

// Wrap returns c.
func Wrap(c net.Conn) net.Conn { return c }

// NetConn returns the connection under c.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// WaitReadable returns at once: the read that follows waits.
func (c *Conn) WaitReadable() error { return nil }

// Peek is never called: New returns no Conn here.
func (c *Conn) Peek() (int, error) { return 0, errors.ErrUnsupported }
