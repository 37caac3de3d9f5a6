package profiling

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/profiles"
)

// A capture that began late (its GC, a late timer on a busy machine)
// divides its allocations by the ops of its part of the run only.
func TestOpsInCountsTheWindowsPartOfTheRun(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r := bench.RunResult{Ops: 1000, StartedAt: start, ElapsedNs: int64(time.Second)}
	for _, tc := range []struct {
		name        string
		from, until time.Duration // the profile's window, from the run's start
		want        int64
	}{
		{"whole window", 0, time.Second, 1000},
		{"begun 250ms late, ended after the workers", 250 * time.Millisecond, 1200 * time.Millisecond, 750},
		{"begun before, ended after", -10 * time.Millisecond, 1100 * time.Millisecond, 1000},
		{"no overlap known", 2 * time.Second, 3 * time.Second, 1000},
	} {
		p := &profile.Profile{TimeNanos: start.Add(tc.from).UnixNano(), DurationNanos: int64(tc.until - tc.from)}
		if got := OpsIn(r, p); got != tc.want {
			t.Errorf("%s: %d ops, want %d", tc.name, got, tc.want)
		}
	}
	if got := OpsIn(r, &profile.Profile{}); got != 1000 {
		t.Errorf("a profile without a window: %d ops, want the run's 1000", got)
	}
}

// TestProfilerIsOwnProfiling: the samples of the profiler's own work (its
// saves decode, merge and write profiles, and can land in another run's
// allocs window) are dropped as perfkit's profiling. profiles names the
// profiler by its path, so a move or a rename must be caught here: the
// pattern once named cmd.(*profiler) after the profiler had left cmd.
func TestProfilerIsOwnProfiling(t *testing.T) {
	name := runtime.FuncForPC(reflect.ValueOf((*Profiler).save).Pointer()).Name()
	fn := &profile.Function{ID: 1, Name: name}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}},
		Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{4096}}},
		Location:   []*profile.Location{loc},
		Function:   []*profile.Function{fn},
	}
	if profiles.ExcludeOwn(p); len(p.Sample) != 0 {
		t.Fatalf("a sample under %s is kept: profiles does not know the profiler as perfkit's own profiling", name)
	}
}
