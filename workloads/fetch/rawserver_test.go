package fetch

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
)

// newRawServer starts a minimal HTTP/1.1 server on a loopback port that
// answers each request with a canned response (a 503 when the request line
// contains /fail) and allocates nothing per request, so an allocation count
// taken in this process is the client's alone. It returns the base URL.
func newRawServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				serveRaw(c)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			})
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

const (
	rawOK   = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
	rawFail = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
	// rawMoved answers a request for /moved: a redirect to /ok.
	rawMoved = "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n"
)

func serveRaw(c net.Conn) {
	ok, fail, moved := []byte(rawOK), []byte(rawFail), []byte(rawMoved)
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += m
		for {
			end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if end < 0 {
				break
			}
			head := buf[:end+4]
			size := end + 4 + rawContentLength(head)
			if size > n {
				break
			}
			resp := ok
			line, _, _ := bytes.Cut(head, []byte("\r\n"))
			switch {
			case bytes.Contains(line, []byte("/fail")):
				resp = fail
			case bytes.Contains(line, []byte("/moved")):
				resp = moved
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
			n = copy(buf, buf[size:n])
		}
		if n == len(buf) {
			return // a request larger than the buffer: not for this server
		}
	}
}

func rawContentLength(head []byte) int {
	i := bytes.Index(head, []byte("\r\nContent-Length: "))
	if i < 0 {
		return 0
	}
	v, _, _ := bytes.Cut(head[i+len("\r\nContent-Length: "):], []byte("\r\n"))
	l, _ := strconv.Atoi(string(v)) // no allocation: the conversion does not escape
	return l
}
