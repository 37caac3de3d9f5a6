//go:build !linux

package bench

import (
	"sync/atomic"
	"time"
)

// preciseTimer falls back to the runtime's timers on this platform.
type preciseTimer struct{}

func newPreciseTimer() *preciseTimer { return nil }

func (*preciseTimer) sleep(d time.Duration, _ *atomic.Bool) { time.Sleep(d) }

func (*preciseTimer) close() {}

func (*preciseTimer) wake() {}

func (*preciseTimer) arm(time.Duration) bool { return false }
