package bench

import (
	"strconv"
	"strings"
)

// parsePSISomeTotal reads the "some" line's total (microseconds) of a
// /proc/pressure file.
func parsePSISomeTotal(s string) (int64, bool) {
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "some ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// parseStat reads the aggregate "cpu" line of /proc/stat: the steal ticks,
// the busy ones (all but idle and iowait) and the total of user..steal.
func parseStat(s string) (steal, busy, total int64) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0
	}
	for i := 1; i <= 8; i++ {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		total += n
		if i != 4 && i != 5 { // idle, iowait
			busy += n
		}
		if i == 8 {
			steal = n
		}
	}
	return steal, busy, total
}

// parseLoadAvg reads the one-minute figure of /proc/loadavg.
func parseLoadAvg(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
