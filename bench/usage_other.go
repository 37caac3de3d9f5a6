//go:build !unix

package bench

import "time"

// processUsage is not measured on this platform: the run reports zeros.
func processUsage(bool) (user, sys time.Duration, peakRSS int64) { return 0, 0, 0 }
