//go:build linux

package bench

import (
	"testing"
	"time"
)

// The counters are read on Linux: between two marks with CPU burnt in
// between, the wait cannot go backwards and the shares stay in range.
func TestReadContention(t *testing.T) {
	m0 := readContention()
	for t0 := time.Now(); time.Since(t0) < 20*time.Millisecond; {
	}
	c := readContention().since(m0, 10*time.Millisecond)
	if c == nil {
		t.Skip("no contention counters readable here")
	}
	if c.RunqueueWaitS < 0 || c.CPUPressureSomePct < 0 || c.CPUPressureSomePct > 100 || c.StealPct < 0 || c.StealPct > 100 || c.LoadAvg1m < 0 || c.OthersCPUPct < 0 || c.OthersCPUPct > 100 {
		t.Errorf("out of range: %+v", *c)
	}
}
