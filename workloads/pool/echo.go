package pool

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// echoServer is the embedded target: it writes back whatever it reads, on a
// loopback port. It counts the connections open on its side, so tests can
// check a pool's bound from the server's point of view. It owns its
// goroutines; close waits for all of them.
type echoServer struct {
	ln   net.Listener
	addr string
	done chan struct{} // closed by close: stops the accept loop's backoff
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	open     atomic.Int64 // connections open now
	peak     atomic.Int64 // most open at once
	accepted atomic.Int64
}

// echoBuffer is a connection's read buffer: any round trip of the workload
// fits in one read.
const echoBuffer = 4 << 10

// acceptBackoff is the pause after a failed Accept (out of descriptors).
const acceptBackoff = 10 * time.Millisecond

func startEcho() (*echoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("echo server: listen: %w", err)
	}
	s := &echoServer{ln: ln, addr: ln.Addr().String(), done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.serve)
	return s, nil
}

func (s *echoServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.done:
				return
			case <-time.After(acceptBackoff):
			}
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Go(func() { s.handle(c) })
	}
}

// track registers a connection, unless the server is closing.
func (s *echoServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.accepted.Add(1)
	n := s.open.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return true
}

func (s *echoServer) handle(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.open.Add(-1)
	}()
	buf := make([]byte, echoBuffer)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// dropAll closes the server's side of every connection, as a server restart
// or a firewall dropping idle connections would.
func (s *echoServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// close stops accepting, closes every connection and waits for the server's
// goroutines.
func (s *echoServer) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
