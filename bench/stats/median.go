package stats

import (
	"slices"

	mstats "github.com/montanaflynn/stats"
)

// Median is the middle value of xs, the mean of the middle two for an even
// count, and 0 for none; xs is left as it was. It is perfkit's one median:
// compare's ratio of medians, the report's per-scenario figures and the
// capacity search's steps all use it.
func Median(xs []float64) float64 {
	m, err := mstats.Median(xs) // sorts a copy
	if err != nil {
		return 0 // empty
	}
	return m
}

// MedianInt is Median of integers (nanoseconds, counts): the mean of the
// middle two is rounded down, and computed without overflow.
func MedianInt(xs []int64) int64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n%2 == 1 {
		return s[n/2]
	}
	a, b := s[n/2-1], s[n/2]
	return a + (b-a)/2
}
