package fetch

import (
	"context"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// build resolves raw params as the command line would and builds the workload.
func build(tb testing.TB, raw map[string]any) *fetch {
	tb.Helper()
	def := Definition()
	w, err := def.Build(raw)
	if err != nil {
		tb.Fatalf("Build(%v): %v", raw, err)
	}
	return w.(*fetch)
}

// buildErr returns the error that resolving or building raw params gives.
func buildErr(raw map[string]any) error {
	def := Definition()
	_, err := def.Build(raw)
	return err
}

// start sets f up as the engine would and tears it down at the end of the test.
func start(tb testing.TB, f *fetch, conc int, timeout time.Duration) *bench.Setup {
	tb.Helper()
	s := &bench.Setup{Concurrency: conc, Model: bench.ModelClosed, Timeout: timeout}
	if err := f.Setup(context.Background(), s); err != nil {
		tb.Fatalf("Setup: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Teardown(ctx); err != nil {
			tb.Errorf("Teardown: %v", err)
		}
	})
	return s
}

// op runs one op under a deadline, as the engine would.
func op(f *fetch, w *bench.Worker, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := f.Op(ctx, w)
	return err
}

func ctxWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// A url (or targets file) puts the system under test outside perfkit's
// process; the embedded server keeps it inside.
func TestTargetExternalWithURL(t *testing.T) {
	if s := start(t, build(t, nil), 1, time.Second); s.External || !s.Embedded {
		t.Errorf("embedded server: External %v Embedded %v, want false, true", s.External, s.Embedded)
	}
	if s := start(t, build(t, map[string]any{"url": []string{"http://127.0.0.1:1/"}}), 1, time.Second); !s.External || s.Embedded {
		t.Errorf("url given: External %v Embedded %v, want true, false", s.External, s.Embedded)
	}
}
