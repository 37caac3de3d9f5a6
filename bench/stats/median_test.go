package stats

import (
	"math"
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(c.xs)
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %g, want %g", c.xs, got, c.want)
		}
		if !slices.Equal(in, c.xs) {
			t.Errorf("Median reordered its input: %v", c.xs)
		}
	}
}

func TestMedianInt(t *testing.T) {
	for _, c := range []struct {
		xs   []int64
		want int64
	}{
		{nil, 0},
		{[]int64{7}, 7},
		{[]int64{9, 1, 5}, 5},
		{[]int64{1, 2}, 1}, // rounded down
		{[]int64{math.MaxInt64, math.MaxInt64 - 2}, math.MaxInt64 - 1}, // no overflow
	} {
		if got := MedianInt(c.xs); got != c.want {
			t.Errorf("MedianInt(%v) = %d, want %d", c.xs, got, c.want)
		}
	}
}
