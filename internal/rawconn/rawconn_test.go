//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package rawconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// tcpPair returns a client connection in raw form and the server's end of it.
func tcpPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	tc := New(c)
	if tc == nil {
		t.Fatal("a TCP connection has no raw form")
	}
	t.Cleanup(func() { tc.Close(); srv.Close() })
	return tc, srv
}

// TestConnIO: raw reads and writes keep net.Conn's contract: a write larger than the socket's buffers is
// written whole, a read returns what arrived, io.EOF after the peer closes,
// the deadline's timeout error, and the system's error on a reset.
func TestConnIO(t *testing.T) {
	t.Run("large write waits for room", func(t *testing.T) {
		tc, srv := tcpPair(t)
		big := bytes.Repeat([]byte("perfkit!"), 1<<20) // 8 MiB: more than the buffers hold
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(srv, int64(len(big))))
			got <- b
		}()
		n, err := tc.Write(big)
		if err != nil || n != len(big) {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(big))
		}
		if b := <-got; !bytes.Equal(b, big) {
			t.Fatalf("the server read %d bytes, not the %d written", len(b), len(big))
		}
	})
	t.Run("read then EOF", func(t *testing.T) {
		tc, srv := tcpPair(t)
		if _, err := srv.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		b, err := io.ReadAll(tc)
		if err != nil || string(b) != "hello" {
			t.Fatalf("ReadAll = %q, %v; want \"hello\", nil (io.EOF ends it)", b, err)
		}
		if n, err := tc.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
		}
	})
	t.Run("read waits for data", func(t *testing.T) {
		tc, srv := tcpPair(t)
		go func() {
			time.Sleep(20 * time.Millisecond)
			srv.Write([]byte("late"))
		}()
		if err := tc.WaitReadable(); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 8)
		n, err := tc.Read(b)
		if err != nil || string(b[:n]) != "late" {
			t.Fatalf("Read = %q, %v", b[:n], err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		tc, _ := tcpPair(t)
		if err := tc.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		_, err := tc.Read(make([]byte, 8))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline = %v; want a timeout", err)
		}
		if err := tc.WaitReadable(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("waitReadable past the deadline = %v; want a timeout", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		tc, srv := tcpPair(t)
		srv.(*net.TCPConn).SetLinger(0) // close sends RST
		srv.Close()
		var err error
		for i := 0; i < 100 && err == nil; i++ { // the first write may land before the RST
			_, err = tc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
			if err == nil {
				time.Sleep(time.Millisecond)
			}
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("Write to a reset connection = %v; want ECONNRESET or EPIPE", err)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" {
			t.Fatalf("Write's error %v is not net.Conn's *net.OpError for write", err)
		}
		var se *os.SyscallError
		if !errors.As(err, &se) || se.Syscall != "write" {
			t.Fatalf("Write's error %v does not carry the system call's error, as net.Conn's does", err)
		}
	})
	t.Run("closed under a read", func(t *testing.T) {
		tc, _ := tcpPair(t)
		go func() {
			time.Sleep(20 * time.Millisecond)
			tc.Close()
		}()
		if _, err := tc.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on a connection closed under it = %v; want net.ErrClosed", err)
		}
	})
}

// TestPeek: a look at the socket that neither consumes nor waits.
func TestPeek(t *testing.T) {
	tc, srv := tcpPair(t)
	if _, err := tc.Peek(); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Peek on an idle connection = %v; want EAGAIN", err)
	}
	srv.Write([]byte("x"))
	deadline := time.Now().Add(5 * time.Second)
	n, err := tc.Peek()
	for errors.Is(err, syscall.EAGAIN) && time.Now().Before(deadline) { // the byte is on its way
		time.Sleep(time.Millisecond)
		n, err = tc.Peek()
	}
	if n != 1 || err != nil {
		t.Fatalf("Peek with a byte waiting = %d, %v; want 1, nil", n, err)
	}
	b := make([]byte, 4)
	if n, err := tc.Read(b); n != 1 || b[0] != 'x' || err != nil {
		t.Fatalf("Read after Peek = %q, %v: the peek consumed the byte", b[:n], err)
	}
	srv.Close()
	n, err = tc.Peek()
	for errors.Is(err, syscall.EAGAIN) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		n, err = tc.Peek()
	}
	if n != 0 || err != nil {
		t.Fatalf("Peek after the peer closed = %d, %v; want 0, nil (EOF)", n, err)
	}
	tc.Close()
	if _, err := tc.Peek(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Peek on a closed connection = %v; want net.ErrClosed", err)
	}
}

// TestConnIOAllocatesNothing: a read, a write and a wait cost no
// allocation (their callbacks are bound once per connection).
func TestConnIOAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tc, srv := tcpPair(t)
	msg := []byte("ping")
	buf := make([]byte, 64)
	echo := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := tc.Write(msg); err != nil {
			t.Fatal(err)
		}
		n, _ := srv.Read(echo)
		srv.Write(echo[:n])
		if err := tc.WaitReadable(); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("a write, wait and read allocated %.1f times", allocs)
	}
}

// TestConnIsSmall: a connection's raw form is per connection, and perfkit
// holds thousands of them.
func TestConnIsSmall(t *testing.T) {
	if s := unsafe.Sizeof(Conn{}); s > 144 {
		t.Fatalf("a Conn is %d bytes, want at most 144", s)
	}
}

// TestUnixConn: a unix socket has a raw form too (fetch's unix-socket, a
// redis unix:// URL), and its errors name the network even though a
// client's local address is unnamed.
func TestUnixConn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	uc := New(c)
	if uc == nil {
		t.Fatal("a unix connection has no raw form")
	}
	defer uc.Close()
	srv := <-accepted
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(srv, b); err != nil || string(b) != "ping" {
		t.Fatalf("the server read %q, %v", b, err)
	}
	srv.Write([]byte("pong"))
	if _, err := io.ReadFull(uc, b); err != nil || string(b) != "pong" {
		t.Fatalf("the client read %q, %v", b, err)
	}
	srv.Close()
	if n, err := uc.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("Read after the server closed = %d, %v; want 0, io.EOF", n, err)
	}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = uc.Write([]byte("x"))
	}
	var oe *net.OpError
	if !errors.As(werr, &oe) || oe.Net != "unix" || !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("Write to a closed unix socket = %v; want an EPIPE *net.OpError on unix", werr)
	}
}
