// Package browsertest gives tests a headless Chromium driven over the
// DevTools protocol (chromedp), recording every console error, uncaught
// exception and browser-log error (a failed load, a refused script) of the
// pages it opens.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium tab for one test.
type Browser struct {
	// Ctx is the tab's context, for chromedp.Run and chromedp.Do.
	Ctx context.Context

	mu     sync.Mutex
	errors []string
}

// binaries are the names Chromium goes by, Debian's first.
var binaries = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Start launches Chromium headless with no background networking, component
// updates or sync, in a profile of its own, and stops it when the test
// ends. Without Chromium the test is skipped, or fails when CI is set: CI
// must never pass by skipping the browser tests.
func Start(t testing.TB) *Browser {
	t.Helper()
	var bin string
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found and CI is set: install it (apt-get install -y chromium)")
		}
		t.Skip("chromium not found (apt-get install -y chromium)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1024),
	)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{Ctx: ctx}
	// The first Do starts the browser; its life is bound to ctx, so it gets
	// no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting %s: %v", bin, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the test ended
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.record("%s (%s:%d)", m, m.URL, m.Line+1)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cancelAlloc()
	})
	return b
}

func (b *Browser) record(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, fmt.Sprintf(format, args...))
}

// Errors returns the console errors, exceptions and browser-log errors so
// far. Console messages arrive asynchronously: call it after an action that
// waited for the page.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// Do runs actions in the tab, bounded by timeout.
func (b *Browser) Do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Eval evaluates a JavaScript expression in the tab and decodes its value;
// a promise is awaited.
func Eval[T any](b *Browser, timeout time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}
