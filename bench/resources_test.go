package bench

import (
	"os"
	"runtime"
	"testing"
)

func TestStatusKB(t *testing.T) {
	status := []byte("Name:\tperfkit\nVmPeak:\t  812345 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   38012 kB\nRssAnon:\t   20000 kB\nThreads:\t12\n")
	for _, c := range []struct {
		key  string
		want int64
	}{
		{"VmRSS:", 38012},
		{"VmHWM:", 40960},
		{"RssAnon:", 20000},
		{"Threads:", 12},
		{"VmSwap:", 0}, // absent
		{"Name:", 0},   // not a number
	} {
		if got := statusKB(status, c.key); got != c.want {
			t.Errorf("statusKB(%q) = %d, want %d", c.key, got, c.want)
		}
	}
	if got := statusKB([]byte("VmRSS:\t 12 kB"), "VmRSS:"); got != 12 { // no final newline
		t.Errorf("last line without newline: %d, want 12", got)
	}
	if got := statusKB(nil, "VmRSS:"); got != 0 {
		t.Errorf("empty file: %d, want 0", got)
	}
}

// TestProcStatusKBAllocatesLittle guards a long run's memory: the collector
// reads the RSS every interval while observers watch, and garbage made there
// every second makes RSS creep over a 10-minute run (a line scanner made
// ~4 KiB and a string per line, twice an interval).
func TestProcStatusKBAllocatesLittle(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status")
	}
	if procStatusKB("VmRSS:") <= 0 {
		t.Fatal("procStatusKB(VmRSS:) = 0: want this process's RSS")
	}
	if raceEnabled {
		t.Skip("the race detector moves the read buffer to the heap")
	}
	const n = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		procStatusKB("VmRSS:")
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 1<<10 {
		t.Errorf("procStatusKB allocated %d bytes a call: want under 1 KiB (the open file only)", per)
	}
}
