// Package redistest gives tests a real redis-server: one it starts on a free
// loopback port, or the one PERFKIT_TEST_REDIS_URL names.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server for one test.
type Server struct {
	// URL is redis://127.0.0.1:PORT/0 (or PERFKIT_TEST_REDIS_URL).
	URL string
	// Addr is host:port.
	Addr string

	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

// Start returns a running redis-server, stopped when the test ends. Without
// redis-server on PATH the test is skipped, or fails when CI is set: CI must
// never pass by skipping the tests that need Redis.
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv("PERFKIT_TEST_REDIS_URL"); u != "" {
		addr := strings.TrimPrefix(strings.TrimPrefix(u, "redis://"), "rediss://")
		if i := strings.IndexAny(addr, "/?"); i >= 0 {
			addr = addr[:i]
		}
		if at := strings.LastIndex(addr, "@"); at >= 0 {
			addr = addr[at+1:]
		}
		return &Server{URL: u, Addr: addr}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not found and CI is set: install it (apt-get install -y redis-server) or set PERFKIT_TEST_REDIS_URL")
		}
		t.Skip("redis-server not found (install it, or set PERFKIT_TEST_REDIS_URL)")
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := launch(t, bin)
		if err == nil {
			t.Cleanup(s.Kill)
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func launch(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return launchOn(t, bin, fmt.Sprint(port))
}

func launchOn(t testing.TB, bin, port string) (*Server, error) {
	addr := "127.0.0.1:" + port
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: "redis://" + addr + "/0", Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("redis-server on %s exited at start (port taken?)", addr)
		default:
		}
		if ping(addr) == nil {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return nil, fmt.Errorf("redis-server on %s did not answer PING within 10s", addr)
}

// Kill stops the server at once (SIGKILL), as a crash would; tests use it to
// take Redis away mid-run. It is safe to call twice.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Restart starts a new redis-server on the port of s, which must have been
// killed: tests use it to bring Redis back mid-run on the address the
// workload keeps dialling. The new server is empty (nothing is persisted)
// and stopped when the test ends.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	if s.cmd == nil {
		t.Skip("external server: cannot restart it")
	}
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// The old socket may linger a moment after the kill (redis-server sets
	// SO_REUSEADDR, but the kernel may still be closing it): retry.
	var lastErr error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := launchOn(t, s.cmd.Path, port)
		if err == nil {
			t.Cleanup(n.Kill)
			return n
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restarting redis-server on %s: %v", s.Addr, lastErr)
	return nil
}
