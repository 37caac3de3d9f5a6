package bench

import (
	"bytes"
	"os"
	"runtime"
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
// It runs twice an interval while observers watch a run, so it reads into a
// buffer on the stack and parses in place: a line scanner's buffer and
// strings were ~8 KiB of garbage a second, enough to make a long run's RSS
// creep up to the GC's heap goal.
func procStatusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	var buf [8 << 10]byte // the file is ~1.5 KiB
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	return statusKB(buf[:n], key)
}

// statusKB finds the line starting with key in a /proc status file and
// returns its number ("VmRSS:   1234 kB" → 1234); 0 when absent.
func statusKB(data []byte, key string) int64 {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if !bytes.HasPrefix(line, []byte(key)) {
			continue
		}
		var v int64
		digits := false
		for _, c := range bytes.TrimLeft(line[len(key):], " \t") {
			if c < '0' || c > '9' {
				break
			}
			v = v*10 + int64(c-'0')
			digits = true
		}
		if !digits {
			return 0
		}
		return v
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
