package bench

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// hangingWorkload's ops never return on their own: with honour set they
// return when their context is cancelled; otherwise only when Abort (if
// abortable) or release unblocks them, as an HTTP/1.1 client without a
// context would.
type hangingWorkload struct {
	testWorkload
	honour  bool
	release chan struct{}
	once    sync.Once
}

func newHanging(honour bool) *hangingWorkload {
	h := &hangingWorkload{honour: honour, release: make(chan struct{})}
	h.op = func(ctx context.Context, _ *Worker) (Label, error) {
		if h.honour {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-h.release:
				return 0, errors.New("released")
			}
		}
		<-h.release
		return 0, errors.New("connection closed")
	}
	return h
}

func (h *hangingWorkload) unblock() { h.once.Do(func() { close(h.release) }) }

// abortableHanging ignores its context but returns on Abort, as fetch's
// HTTP/1.1 client does when its connections are closed.
type abortableHanging struct{ *hangingWorkload }

func (a abortableHanging) Abort() { a.unblock() }

// runBounded runs sc and fails if it has not ended within a generous bound
// (the point is that it ends at all; the machine may be slow).
func runBounded(t *testing.T, ctx context.Context, sc Scenario) ScenarioResult {
	t.Helper()
	type out struct {
		res ScenarioResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := Run(ctx, sc)
		ch <- out{res, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			t.Fatal(o.err)
		}
		return o.res
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end within 30s")
	}
	return ScenarioResult{}
}

func TestHangingOpsCanceledAtEndOfWindow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wl        func() (Workload, *hangingWorkload)
		abandoned bool
	}{
		{"honours context", func() (Workload, *hangingWorkload) { h := newHanging(true); return h, h }, false},
		{"ignores context, aborter", func() (Workload, *hangingWorkload) { h := newHanging(false); return abortableHanging{h}, h }, false},
		{"ignores context", func() (Workload, *hangingWorkload) { h := newHanging(false); return h, h }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wl, h := tc.wl()
			defer h.unblock()
			sc := scenario(wl, func(s *Settings) {
				s.Timeout = 0
				s.Concurrency = 3
				s.Grace = 50 * time.Millisecond
			})
			res := runBounded(t, context.Background(), sc)
			run := res.Runs[0]
			// Each worker started one op, unless the machine was so slow
			// that the window was over before it could.
			if run.Ops < 1 || run.Ops > 3 || run.Errors != run.Ops || run.ErrorsByKind[KindCanceled] != run.Ops {
				t.Fatalf("ops %d, errors %d, by kind %v: want up to 3 ops, all canceled", run.Ops, run.Errors, run.ErrorsByKind)
			}
			want := int64(0)
			if tc.abandoned {
				want = run.Ops
			}
			if run.AbandonedOps != want {
				t.Fatalf("abandoned %d, want %d", run.AbandonedOps, want)
			}
			if run.Partial {
				t.Fatal("a run that reached its end is not partial")
			}
		})
	}
}

// An op started in the warmup that hangs through the window still counts,
// whether it returns when cut or is abandoned: it held its worker the whole
// time.
func TestHangingOpFromWarmupCounts(t *testing.T) {
	for _, honour := range []bool{true, false} {
		h := newHanging(honour)
		sc := scenario(h, func(s *Settings) {
			s.Timeout = 0
			s.Concurrency = 2
			s.Warmup = 50 * time.Millisecond
			s.Grace = 10 * time.Millisecond
		})
		for _, rate := range []float64{0, 1000} {
			sc.Settings.Rate = rate
			run := runBounded(t, context.Background(), sc).Runs[0]
			want := int64(0)
			if !honour {
				want = run.Ops
			}
			if run.Ops < 1 || run.Ops > 2 || run.AbandonedOps != want || run.ErrorsByKind[KindCanceled] != run.Ops {
				t.Errorf("honour ctx %v, rate %v: ops %d, abandoned %d, by kind %v", honour, rate, run.Ops, run.AbandonedOps, run.ErrorsByKind)
			}
		}
		h.unblock()
	}
}

func TestAbandonedOpFromWarmupCounts(t *testing.T) {
	h := newHanging(false)
	defer h.unblock()
	sc := scenario(h, func(s *Settings) {
		s.Timeout = 0
		s.Concurrency = 2
		s.Warmup = 50 * time.Millisecond
		s.Grace = 10 * time.Millisecond
	})
	run := runBounded(t, context.Background(), sc).Runs[0]
	if run.Ops < 1 || run.Ops > 2 || run.AbandonedOps != run.Ops || run.ErrorsByKind[KindCanceled] != run.Ops {
		t.Fatalf("ops %d, abandoned %d, by kind %v", run.Ops, run.AbandonedOps, run.ErrorsByKind)
	}
}

func TestStopEndsHangingRunWithinGrace(t *testing.T) {
	for _, iterations := range []bool{false, true} {
		h := newHanging(false)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		sc := scenario(h, func(s *Settings) {
			s.Timeout = 0
			s.Concurrency = 2
			s.Grace = 50 * time.Millisecond
			if iterations {
				s.Duration, s.Iterations = 0, 10
			} else {
				s.Duration = time.Hour
			}
		})
		res := runBounded(t, ctx, sc)
		h.unblock()
		cancel()
		run := res.Runs[0]
		if !res.Partial || run.Ops < 1 || run.AbandonedOps != run.Ops || run.ErrorsByKind[KindCanceled] != run.Ops {
			t.Fatalf("iterations %v: partial %v, abandoned %d, by kind %v", iterations, res.Partial, run.AbandonedOps, run.ErrorsByKind)
		}
	}
}

// The open model: a scheduled op that hangs is abandoned too.
func TestOpenModelHangingOpsAbandoned(t *testing.T) {
	h := newHanging(false)
	defer h.unblock()
	sc := scenario(h, func(s *Settings) {
		s.Timeout = 0
		s.Rate = 20
		s.Concurrency = 4
		s.Duration = time.Second
		s.Grace = 20 * time.Millisecond
	})
	run := runBounded(t, context.Background(), sc).Runs[0]
	if run.Ops < 1 || run.Ops > 4 || run.AbandonedOps != run.Ops || run.ErrorsByKind[KindCanceled] != run.Ops {
		t.Fatalf("ops %d, abandoned %d, by kind %v", run.Ops, run.AbandonedOps, run.ErrorsByKind)
	}
}

// Ops that finish within the grace after the window are recorded as usual.
func TestOpsFinishingWithinGraceRecorded(t *testing.T) {
	wl := &testWorkload{op: func(ctx context.Context, _ *Worker) (Label, error) {
		select {
		case <-time.After(20 * time.Millisecond):
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}}
	sc := scenario(wl, func(s *Settings) { s.Timeout = 0; s.Concurrency = 2; s.Grace = 10 * time.Second })
	run := runBounded(t, context.Background(), sc).Runs[0]
	if run.Errors != 0 || run.AbandonedOps != 0 || run.Ops == 0 {
		t.Fatalf("ops %d, errors %d (%v), abandoned %d", run.Ops, run.Errors, run.ErrorsByKind, run.AbandonedOps)
	}
}

func TestStopGrace(t *testing.T) {
	for _, tc := range []struct {
		grace, timeout, want time.Duration
	}{
		{0, 0, DefaultGrace},
		{0, time.Second, time.Second},
		{2 * time.Second, 0, 2 * time.Second},
		{2 * time.Second, 10 * time.Second, 2 * time.Second},
		{20 * time.Second, 10 * time.Second, 10 * time.Second},
	} {
		s := Settings{Grace: tc.grace, Timeout: tc.timeout}
		if got := s.StopGrace(); got != tc.want {
			t.Errorf("grace %v timeout %v: StopGrace %v, want %v", tc.grace, tc.timeout, got, tc.want)
		}
	}
	s := DefaultSettings()
	s.Grace = -time.Second
	if err := s.Validate(); err == nil {
		t.Error("negative grace accepted")
	}
}
