package fetch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// workerBytes is what one fetch worker costs while its op waits on the
// server: the heap it holds (request, response, read buffer, connection) and
// the growth of its goroutine's stack beyond an idle goroutine's.
type workerBytes struct{ heap, stack float64 }

func (b workerBytes) total() float64 { return b.heap + b.stack }

// measureWorkers runs n workers against a server in another process that
// answers every worker's first request and then holds its second, so that
// every worker is caught where a closed-model worker spends its life against
// a slow target: a response read, its buffers warm, the next request in
// flight. The engine's own per-worker state (its Worker, an idle goroutine)
// is allocated before the baseline and not counted; the server's memory is
// the other process's.
func measureWorkers(tb testing.TB, n int) workerBytes {
	tb.Helper()
	srv := startHoldServer(tb)
	f := build(tb, map[string]any{"url": []string{srv.url + "/data.json"}})
	s := start(tb, f, n, time.Hour)

	workers := make([]*bench.Worker, n)
	for i := range workers {
		workers[i] = bench.NewTestWorker(i, s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release, hold := make(chan struct{}), make(chan struct{})
	var parked, answered, done sync.WaitGroup
	parked.Add(n)
	answered.Add(n)
	for _, w := range workers {
		done.Go(func() {
			parked.Done()
			<-release // an idle goroutine: the baseline
			_, err := f.Op(ctx, w)
			answered.Done()
			if err != nil {
				tb.Errorf("first op: %v", err)
				return
			}
			<-hold
			_, _ = f.Op(ctx, w) // fails once the server exits
		})
	}
	defer func() {
		srv.stop()
		f.Abort()
		done.Wait()
	}()
	parked.Wait()
	before := memNow()

	close(release)
	answered.Wait()
	srv.hold(tb)
	close(hold)
	deadline := time.Now().Add(time.Minute)
	for srv.held.Load() < int64(n) {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d requests held after a minute", srv.held.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the last workers from their writes to their reads
	after := memNow()
	return workerBytes{
		heap:  (after.heap - before.heap) / float64(n),
		stack: (after.stack - before.stack) / float64(n),
	}
}

type memSample struct{ heap, stack float64 }

// memNow is the goroutine stacks in use, read first since a GC shrinks
// stacks that grew in an op and were not needed at the moment (an op grows
// them again, so the size before the GC is what a run holds), and the live
// heap after a GC.
func memNow() memSample {
	stacks := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(stacks)
	runtime.GC()
	runtime.GC()
	heap := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(heap)
	return memSample{heap: float64(heap[0].Value.Uint64()), stack: float64(stacks[0].Value.Uint64())}
}

// holdResponse is the server's answer: nginx's headers and a 200-byte JSON
// body, the peer comparison's document.
const holdResponse = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 04 Dec 2026 23:00:00 GMT\r\n" +
	"Content-Type: application/json\r\nContent-Length: 200\r\nLast-Modified: Fri, 04 Dec 2026 22:00:00 GMT\r\n" +
	"Connection: keep-alive\r\nETag: \"6751e8f0-c8\"\r\nAccept-Ranges: bytes\r\n\r\n" +
	`{"id": 1, "items": [{"k": "v0"}, {"k": "v1"}, {"k": "v2"}, {"k": "v3"}, {"k": "v4"}, {"k": "v5"}, {"k": "v6"}, {"k": "v7"}], "ok": true, "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`

const holdServerEnv = "PERFKIT_FETCH_HOLD_SERVER"

// holdServer is TestHoldServerProcess running in a child process.
type holdServer struct {
	url   string
	stdin io.WriteCloser
	cmd   *exec.Cmd
	once  sync.Once
	held  atomic.Int64  // requests the server received and did not answer
	acked chan struct{} // the server holds from now on
}

func startHoldServer(tb testing.TB) *holdServer {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldServerProcess$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), holdServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s := &holdServer{stdin: stdin, cmd: cmd, acked: make(chan struct{})}
	tb.Cleanup(s.stop)
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		tb.Fatalf("hold server: no URL (%v)", sc.Err())
	}
	s.url = strings.TrimSpace(sc.Text())
	go func() {
		for sc.Scan() {
			switch sc.Text() {
			case "held":
				s.held.Add(1)
			case "holding":
				close(s.acked)
			}
		}
	}()
	return s
}

// hold makes the server answer no more requests.
func (s *holdServer) hold(tb testing.TB) {
	_, _ = io.WriteString(s.stdin, "hold\n")
	select {
	case <-s.acked:
	case <-time.After(time.Minute):
		tb.Fatal("hold server: no answer to hold")
	}
}

// stop ends the server process, which closes its connections.
func (s *holdServer) stop() {
	s.once.Do(func() {
		_ = s.stdin.Close()
		_ = s.cmd.Wait()
	})
}

// TestHoldServerProcess is the server of measureWorkers, run in a child
// process: it prints its URL, answers each request with holdResponse until
// a line on stdin says hold (then prints "held" for each request it does
// not answer), and exits when stdin closes.
func TestHoldServerProcess(t *testing.T) {
	if os.Getenv(holdServerEnv) != "1" {
		t.Skip("the server of measureWorkers, run in a child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("http://" + ln.Addr().String())
	var holding atomic.Bool
	held := make(chan struct{}, 1024)
	go func() {
		for range held {
			fmt.Println("held")
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
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
						n = copy(buf, buf[end+4:n])
						if holding.Load() {
							held <- struct{}{}
						} else {
							_, _ = c.Write([]byte(holdResponse))
						}
					}
					if n == len(buf) {
						return
					}
				}
			}()
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		holding.Store(true)
		fmt.Println("holding")
	}
	os.Exit(0)
}

// BenchmarkWorkerMemory reports what a fetch worker holds with its request
// in flight (see measureWorkers): bytes of heap and of goroutine stack per
// worker. The engine's recording state is not included. The stack figure
// counts stacks the runtime keeps for reuse, among them those of the
// maxDialing dial goroutines (about 2 KiB a worker at 2,000 workers).
func BenchmarkWorkerMemory(b *testing.B) {
	const n = 2000
	var m workerBytes
	for range b.N { // not b.Loop: each call's connections are closed by its cleanups
		m = measureWorkers(b, n)
	}
	b.ReportMetric(m.heap, "heap-B/worker")
	b.ReportMetric(m.stack, "stack-B/worker")
	b.ReportMetric(m.total(), "B/worker")
}
