//go:build linux

package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// contentionMark is the machine's contention counters at one moment.
type contentionMark struct {
	at time.Time
	// waitNs: run-queue wait summed over perfkit's threads; hasWait when
	// any thread's schedstat could be read.
	waitNs  int64
	hasWait bool
	// psiUs: PSI cpu "some" total, microseconds.
	psiUs  int64
	hasPSI bool
	// steal, busy and total: /proc/stat's aggregate CPU line, in ticks.
	steal, busy, total int64
}

// readContention reads the counters. Per thread, because /proc/self/schedstat
// is the main thread's alone and the Go runtime runs ops on many threads; a
// thread that exits during the run takes its wait with it (rare: the runtime
// keeps its threads).
func readContention() contentionMark {
	m := contentionMark{at: time.Now()}
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, p := range tasks {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) >= 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m.waitNs += n
				m.hasWait = true
			}
		}
	}
	if data, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		m.psiUs, m.hasPSI = parsePSISomeTotal(string(data))
	}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		m.steal, m.busy, m.total = parseStat(string(data))
	}
	return m
}

// loadAvg1m is the one-minute load average now; 0 when unreadable.
func loadAvg1m() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	return parseLoadAvg(string(data))
}

// since is the contention between start and m, perfkitCPU the CPU perfkit
// used in between; nil when nothing could be read.
func (m contentionMark) since(start contentionMark, perfkitCPU time.Duration) *Contention {
	if !m.hasWait && !m.hasPSI && m.total == 0 {
		return nil
	}
	c := &Contention{HasRunqueue: m.hasWait && start.hasWait, HasPressure: m.hasPSI && start.hasPSI, LoadAvg1m: loadAvg1m()}
	if c.HasRunqueue {
		c.RunqueueWaitS = float64(max(m.waitNs-start.waitNs, 0)) / 1e9
	}
	if wall := m.at.Sub(start.at); c.HasPressure && wall > 0 {
		c.CPUPressureSomePct = min(100, 100*float64(max(m.psiUs-start.psiUs, 0))/float64(wall.Microseconds()))
	}
	if dt := m.total - start.total; dt > 0 {
		c.StealPct = 100 * float64(max(m.steal-start.steal, 0)) / float64(dt)
		// Ticks are USER_HZ (100/s on every Linux ABI) summed over CPUs.
		if wall := m.at.Sub(start.at); wall > 0 {
			busy := float64(max(m.busy-start.busy, 0)) / float64(dt)
			ours := perfkitCPU.Seconds() / (wall.Seconds() * float64(runtime.NumCPU()))
			c.OthersCPUPct, c.HasOthers = max(0, min(100, 100*(busy-ours))), true
		}
	}
	return c
}
