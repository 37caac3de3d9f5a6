//go:build !linux

package pool

import "time"

// holdTimer falls back to the runtime's timers on this platform.
type holdTimer struct{}

func newHoldTimer() *holdTimer { return nil }

func (*holdTimer) sleep(d time.Duration) { time.Sleep(d) }

func (*holdTimer) close() {}
