//go:build !linux

package bench

// contentionMark is empty where the kernel's contention counters are not
// read: runs record no contention.
type contentionMark struct{}

func readContention() contentionMark { return contentionMark{} }

func (contentionMark) since(contentionMark) *Contention { return nil }
