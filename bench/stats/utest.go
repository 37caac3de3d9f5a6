package stats

import (
	"math"
	"slices"
)

// exactLimit is the largest sample size for which the U distribution is
// computed exactly; above it the normal approximation is within a rank.
const exactLimit = 50

// minP is the smallest two-sided p-value the Mann-Whitney U test can give
// for samples of n1 and n2 distinct values: both samples completely
// separated, 2 / C(n1+n2, n1). Ties only make it larger. It is what decides
// whether a comparison could ever be significant.
func minP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	return math.Min(1, 2/binom(n1+n2, n1))
}

// binom is C(n, k) as a float64 (exact for the sizes that matter here, and
// finite up to n ≈ 1000).
func binom(n, k int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Round(math.Exp(lg(n) - lg(k) - lg(n-k)))
}

// RunsNeeded returns the smallest number of runs per side with which the
// two-sided U test can reach p ≤ level: 4 at 0.05, 6 at 0.05/7 (seven
// metrics under Holm), 7 at 0.05/40. It is 0 when level is not positive.
func RunsNeeded(level float64) int {
	if !(level > 0) {
		return 0
	}
	for n := 1; n <= 1000; n++ {
		if minP(n, n) <= level {
			return n
		}
	}
	return 1000
}

// uCDF returns P(U ≤ u) for each u = 0..n1·n2 under the null hypothesis, for
// samples without ties: the coefficients of the Gaussian binomial
// [n1+n2 choose n1]_q, by the recurrence on the largest value (it is from
// the first sample, beating all n2 of the second, or from the second).
func uCDF(n1, n2 int) []float64 {
	f := make([][]float64, n1+1)
	for i := range f {
		f[i] = []float64{1} // j = 0: U is 0 in one way
	}
	for j := 1; j <= n2; j++ {
		for i := 1; i <= n1; i++ {
			next := make([]float64, i*j+1)
			copy(next, f[i]) // (i, j-1): the largest value is from sample 2
			for u, c := range f[i-1] {
				next[u+j] += c // (i-1, j): from sample 1, above all j of sample 2
			}
			f[i] = next
		}
	}
	counts := f[n1]
	cdf := make([]float64, len(counts))
	var acc float64
	for u, c := range counts {
		acc += c
		cdf[u] = acc
	}
	for u := range cdf {
		cdf[u] /= acc // acc is C(n1+n2, n1)
	}
	return cdf
}

// criticalRank returns the largest k with 2·P(U ≤ k−1) ≤ gamma under the
// null: the order statistics D(k) and D(n1·n2+1−k) of the pairwise
// differences bound a confidence interval of level at least 1−gamma for the
// shift (Moses' interval, the one that inverts the U test). 0 means no
// finite interval reaches that level with these sample sizes.
func criticalRank(n1, n2 int, gamma float64, cache map[[2]int][]float64) int {
	if n1 == 0 || n2 == 0 {
		return 0
	}
	if n1 <= exactLimit && n2 <= exactLimit {
		key := [2]int{n1, n2}
		cdf, ok := cache[key]
		if !ok {
			cdf = uCDF(n1, n2)
			cache[key] = cdf
		}
		k := 0
		for k < len(cdf) && 2*cdf[k] <= gamma*(1+1e-12) {
			k++
		}
		return min(k, (n1*n2+1)/2)
	}
	// Normal approximation with continuity correction.
	mean := float64(n1*n2) / 2
	sd := math.Sqrt(float64(n1*n2) * float64(n1+n2+1) / 12)
	z := math.Sqrt2 * math.Erfinv(1-gamma) // upper gamma/2 quantile
	k := int(math.Floor(mean + 0.5 - z*sd))
	return max(0, min(k, (n1*n2+1)/2))
}

// shiftInterval returns Moses' distribution-free interval for the shift of
// y against x at level 1−gamma: the k-th smallest and k-th largest of the
// pairwise differences y[j]−x[i]. It is exact for a pure shift and needs no
// other assumption; ±Inf when the sample sizes cannot reach the level.
func shiftInterval(x, y []float64, gamma float64, cache map[[2]int][]float64) (lo, hi float64) {
	k := criticalRank(len(x), len(y), gamma, cache)
	if k == 0 {
		return math.Inf(-1), math.Inf(1)
	}
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, b-a)
		}
	}
	slices.Sort(d)
	return d[k-1], d[len(d)-k]
}
