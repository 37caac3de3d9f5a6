package cmd

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/perfkit/perfkit/profiles"
)

func newCmdProfileWeb(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "web FILE",
		Short: "Browse a profile in pprof's web UI on 127.0.0.1",
		Long: `Serve pprof's web UI for a profile on a loopback address until interrupted:
flame graph (the default view), top, peek and source need nothing else; the
graph view needs Graphviz's dot. perfkit runs no other tool (no disassembly).
A browser is opened when stderr is a terminal, unless --no-browser.`,
		Example: "  perfkit profile web .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz\n  perfkit profile web cpu.pb.gz --http 127.0.0.1:8081 --no-browser",
		Args:    exactArgs(1, "FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			addr, _ := c.Flags().GetString("http")
			noBrowser, _ := c.Flags().GetBool("no-browser")
			if err := checkLoopback(addr); err != nil {
				return err
			}
			p, err := profiles.ReadFile(args[0])
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--http %s: %w", addr, err)
			}
			defer ln.Close()
			ctx, stop := interruptible(c.Context(), f)
			defer stop()
			return profiles.ServeWeb(ctx, ln, args[0], p, f.IO.ErrOut, !noBrowser && f.IO.IsStderrTTY())
		},
	}
	c.Flags().String("http", "127.0.0.1:0", "loopback address to serve on (port 0: any free one)")
	c.Flags().Bool("no-browser", false, "do not open a browser")
	return c
}

// checkLoopback accepts host:port on a loopback host only: the UI shows
// the profile to anyone who can reach it.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--http %q: want HOST:PORT, e.g. 127.0.0.1:8081", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--http %q: the web UI serves on a loopback address only (127.0.0.1, ::1, localhost)", addr)
}

// interruptible is ctx, also cancelled by SIGINT or SIGTERM. stop waits
// for the goroutine that watches for them.
func interruptible(parent context.Context, f *Factory) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	if f.Notify == nil {
		return ctx, cancel
	}
	ch := make(chan os.Signal, 1)
	unsubscribe := f.Notify(ch)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx, func() {
		unsubscribe()
		cancel()
		wg.Wait()
	}
}
