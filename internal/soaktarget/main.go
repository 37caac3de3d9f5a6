// Command soaktarget is the HTTP target of the soak (.ci/soak.sh): a
// keep-alive server on a loopback port that answers every request with the
// same small JSON document. It runs as its own process so that the RSS the
// soak samples is perfkit's alone, and so that it needs nothing installed
// (nginx is not on every machine).
//
// It prints its URL on the first line of stdout, then serves until SIGINT
// or SIGTERM.
//
//	go build -o /tmp/soaktarget ./internal/soaktarget
//	/tmp/soaktarget -addr 127.0.0.1:0 -size 200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/perfkit/perfkit/internal/payload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soaktarget:", err)
		os.Exit(2)
	}
}

// run serves until ctx is done; the URL goes to out first.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("soaktarget", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	size := fs.Int("size", 200, "response body bytes (at least 11)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *size < 11 {
		return fmt.Errorf("-size %d: want at least 11 bytes (a JSON document)", *size)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: handler(payload.JSON(*size)), ReadHeaderTimeout: 10 * time.Second}
	if _, err := fmt.Fprintf(out, "http://%s/data.json\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("print url: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// The clients are gone by now; do not wait long for stragglers.
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// handler answers every request with body; the header values are shared
// (net/http only reads them), so a response allocates nothing of its own.
func handler(body []byte) http.Handler {
	length := []string{strconv.Itoa(len(body))}
	ctype := []string{"application/json"}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = ctype
		h["Content-Length"] = length
		_, _ = w.Write(body)
	})
}
