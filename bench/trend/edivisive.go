// Package trend finds change points in a history of measurements: where a
// metric of a scenario shifted, by how much, and how sure that is. It is the
// library behind `perfkit history`.
//
// Change points come from E-divisive means (Matteson & James, "A
// Nonparametric Approach for Multiple Change Point Analysis of Multivariate
// Data", JASA 109(505), 2014), the method Hunter and Apache Otava apply to
// performance histories: a hierarchical bisection on the energy distance
// between the points before and after a split, each new split kept only
// when a permutation test finds it significant. It assumes nothing about
// the distribution of the noise. See docs/history.md.
package trend

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Defaults of Options.
const (
	// DefaultAlpha is the significance level of each split's permutation
	// test: in a series of pure noise, the chance of reporting any change
	// point at all.
	DefaultAlpha = 0.01
	// DefaultPermutations is the number of permutations per test: enough
	// to resolve p down to 1/500.
	DefaultPermutations = 499
	// DefaultMinSize is the fewest points a segment may have: a change is
	// found once this many points follow it.
	DefaultMinSize = 3
)

// Options configure Detect. Zero fields take the defaults; Rand is
// required, so that a result is reproducible from its seed.
type Options struct {
	Alpha        float64
	Permutations int
	MinSize      int
	// Rand draws the permutations.
	Rand *rand.Rand
}

// ChangePoint is where a series shifted: Index is the first point of the
// new segment; P is its permutation test's p-value ((k+1)/(R+1), k of R
// permutations scoring at least as high); Q is its E-divisive statistic.
type ChangePoint struct {
	Index int
	P     float64
	Q     float64
}

func (o Options) withDefaults() (Options, error) {
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Permutations == 0 {
		o.Permutations = DefaultPermutations
	}
	if o.MinSize == 0 {
		o.MinSize = DefaultMinSize
	}
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, fmt.Errorf("alpha %v: accepted: a significance level between 0 and 1 (0.01)", o.Alpha)
	case o.Permutations < 1 || o.Permutations > 100000:
		return o, fmt.Errorf("permutations %d: accepted: 1 to 100000", o.Permutations)
	case o.MinSize < 2:
		return o, fmt.Errorf("minimum segment size %d: accepted: 2 or more (a segment of one point has no spread)", o.MinSize)
	case o.Rand == nil:
		return o, errors.New("no random source: pass a seeded *rand.Rand so results are reproducible")
	}
	return o, nil
}

// Detect returns the change points of xs, in index order. Each round
// splits, among the current segments, the one whose best split scores the
// highest energy statistic, if a permutation test (points shuffled within
// each segment, the best split over all segments rescored) finds that
// score significant at Alpha; the first split that is not ends the search.
// Cost: (Permutations+1) × O(n²) per change point found, plus one test.
func Detect(xs []float64, opts Options) ([]ChangePoint, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("point %d: value %v is not a finite number", i, x)
		}
	}
	bounds := []int{0, len(xs)} // segment boundaries
	var found []ChangePoint
	scratch := make([]float64, len(xs))
	for {
		best, bestQ, seg := -1, math.Inf(-1), -1
		for s := 0; s+1 < len(bounds); s++ {
			tau, q := bestSplit(xs[bounds[s]:bounds[s+1]], o.MinSize)
			if tau >= 0 && q > bestQ {
				best, bestQ, seg = bounds[s]+tau, q, s
			}
		}
		if best < 0 || !(bestQ > 0) {
			break
		}
		// Permutation test: shuffle within every segment (the null is
		// "no further change in any of them"), rescore the best split.
		exceed := 0
		limit := int(o.Alpha * float64(o.Permutations+1)) // more than this many: not significant
		perms := 0
		for range o.Permutations {
			perms++
			copy(scratch, xs)
			maxQ := math.Inf(-1)
			for s := 0; s+1 < len(bounds); s++ {
				part := scratch[bounds[s]:bounds[s+1]]
				o.Rand.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
				if _, q := bestSplit(part, o.MinSize); q > maxQ {
					maxQ = q
				}
			}
			if maxQ >= bestQ {
				exceed++
				if exceed > limit {
					break // cannot be significant any more
				}
			}
		}
		p := float64(exceed+1) / float64(o.Permutations+1)
		if exceed > limit || p > o.Alpha {
			break
		}
		found = append(found, ChangePoint{Index: best, P: p, Q: bestQ})
		bounds = slices.Insert(bounds, seg+1, best)
	}
	slices.SortFunc(found, func(a, b ChangePoint) int { return a.Index - b.Index })
	return found, nil
}

// bestSplit returns the split τ of xs (xs[:τ] against xs[τ:], each at
// least minSize long) with the largest E-divisive statistic
//
//	Q(τ) = m·n/(m+n) · ( 2/(m·n)·Σ|Xi−Yj| − Σ_{i<k}|Xi−Xk|/C(m,2) − Σ_{j<k}|Yj−Yk|/C(n,2) )
//
// with α = 1 (Matteson & James 2014, eq. 5), and that statistic; τ is −1
// when xs is too short to split. The three sums are updated as τ moves, so
// the whole scan costs O(len(xs)²) and no memory.
func bestSplit(xs []float64, minSize int) (int, float64) {
	n := len(xs)
	if n < 2*minSize {
		return -1, 0
	}
	var between, withinX, withinY float64
	for j := 0; j < n; j++ { // τ = 0: everything is Y
		for k := j + 1; k < n; k++ {
			withinY += math.Abs(xs[j] - xs[k])
		}
	}
	best, bestQ := -1, math.Inf(-1)
	for tau := 0; tau < n-minSize; tau++ {
		// Move xs[tau] from Y to X.
		var toX, toY float64
		v := xs[tau]
		for i := 0; i < tau; i++ {
			toX += math.Abs(v - xs[i])
		}
		for j := tau + 1; j < n; j++ {
			toY += math.Abs(v - xs[j])
		}
		withinX += toX
		withinY -= toY
		between += toY - toX
		m, k := float64(tau+1), float64(n-tau-1)
		if tau+1 < minSize {
			continue
		}
		e := 2/(m*k)*between - withinX/(m*(m-1)/2) - withinY/(k*(k-1)/2)
		if q := m * k / (m + k) * e; q > bestQ {
			best, bestQ = tau+1, q
		}
	}
	return best, bestQ
}
