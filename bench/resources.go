package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// resourceMark is the process's resource counters at one moment.
type resourceMark struct {
	user, sys  time.Duration
	rss        int64 // peak resident set since the last reset, bytes
	gcCount    uint32
	gcPause    uint64
	totalAlloc uint64
}

// readResources reads the counters; resetPeak first restarts the kernel's
// peak-RSS tracking (Linux), so a run's peak is its own, not the process's.
func readResources(resetPeak bool) resourceMark {
	var m resourceMark
	m.user, m.sys, m.rss = processUsage(resetPeak)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.gcCount = ms.NumGC
	m.gcPause = ms.PauseTotalNs
	m.totalAlloc = ms.TotalAlloc
	return m
}

// procStatusKB reads a "kB" field of /proc/self/status (Linux); 0 elsewhere.
func procStatusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// currentRSS is the resident set now (Linux), else the peak in m.
func currentRSS(m resourceMark) int64 {
	if kb := procStatusKB("VmRSS:"); kb > 0 {
		return kb * 1024
	}
	return m.rss
}

// since is the use between start and m (peak RSS: the peak seen by m).
func (m resourceMark) since(start resourceMark) Resources {
	return Resources{
		CPUUserS:       (m.user - start.user).Seconds(),
		CPUSysS:        (m.sys - start.sys).Seconds(),
		MaxRSSBytes:    m.rss,
		GCCount:        m.gcCount - start.gcCount,
		GCPauseTotalNs: m.gcPause - start.gcPause,
		AllocBytes:     m.totalAlloc - start.totalAlloc,
	}
}
