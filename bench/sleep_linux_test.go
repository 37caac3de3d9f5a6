package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// An open-model worker waits on its timer before every op: the wait must
// not allocate (a closure over locals passed to the poller did, three
// allocations a wait).
func TestPreciseSleepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector moves values to the heap")
	}
	p := newPreciseTimer()
	if p == nil {
		t.Skip("no timerfd")
	}
	defer p.close()
	var stop atomic.Bool
	if n := testing.AllocsPerRun(50, func() { p.sleep(10*time.Microsecond, &stop) }); n != 0 {
		t.Fatalf("a wait allocated %.1f times, want 0", n)
	}
}
