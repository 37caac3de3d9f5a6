package profiling

import (
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/perfkit/perfkit/bench"
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
