package pool_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/perfkit/perfkit/workloads/pool"
)

// A pool of TCP connections used on its own, outside perfkit's engine.
func ExamplePool() {
	// An echo server stands in for a database or a cache.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var served sync.WaitGroup
	served.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	defer served.Wait()
	defer ln.Close()

	p, err := pool.New(pool.Config[net.Conn]{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		},
		Close:          net.Conn.Close,
		MaxOpen:        4,
		Policy:         pool.Wait,
		AcquireTimeout: time.Second,
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	for range 3 {
		lease, err := p.Acquire(context.Background())
		if err != nil {
			panic(err)
		}
		c := lease.Conn()
		buf := make([]byte, 5)
		if _, err := io.WriteString(c, "ping\n"); err == nil {
			_, err = io.ReadFull(c, buf)
		}
		if err != nil {
			lease.Discard() // broken: never lent again
			continue
		}
		lease.Release()
		fmt.Print(string(buf))
	}
	st := p.Stats()
	fmt.Println("opened", st.Opened, "idle", st.Idle)
	// Output:
	// ping
	// ping
	// ping
	// opened 1 idle 1
}
