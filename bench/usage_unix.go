//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// processUsage returns the process's CPU times and peak RSS. On Linux the
// peak can be reset (resetPeak), so a run's peak is its own.
func processUsage(resetPeak bool) (user, sys time.Duration, peakRSS int64) {
	if resetPeak {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		user = time.Duration(ru.Utime.Nano())
		sys = time.Duration(ru.Stime.Nano())
		peakRSS = int64(ru.Maxrss)
		if runtime.GOOS != "darwin" {
			peakRSS *= 1024 // kilobytes everywhere but macOS
		}
	}
	if hwm := procStatusKB("VmHWM:"); hwm > 0 {
		peakRSS = hwm * 1024
	}
	return user, sys, peakRSS
}
