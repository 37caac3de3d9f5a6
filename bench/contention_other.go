//go:build !linux

package bench

import "time"

// contentionMark is empty where the kernel's contention counters are not
// read: runs record no contention.
type contentionMark struct{}

func readContention() contentionMark { return contentionMark{} }

func (contentionMark) since(contentionMark, time.Duration) *Contention { return nil }
