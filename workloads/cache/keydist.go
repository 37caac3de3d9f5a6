package cache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// DefaultZipfS is the skew of "zipf" given without s: close to the skew
// measured in web and key-value cache traces.
const DefaultZipfS = 1.1

// keyDistForms lists the accepted key distributions, for error messages.
const keyDistForms = "accepted: uniform, zipf, zipf:s=1.1 (s > 1)"

// KeyDist is how a workload picks keys: uniform, or Zipf (a few keys hot, a
// long tail cold, as real cache traffic is).
type KeyDist struct {
	// S is the Zipf exponent, > 1; 0 means uniform.
	S float64
}

// ParseKeyDist parses "uniform", "zipf" or "zipf:s=S" with S > 1.
func ParseKeyDist(s string) (KeyDist, error) {
	src := strings.TrimSpace(s)
	kind, args, hasArgs := strings.Cut(src, ":")
	switch kind {
	case "uniform":
		if hasArgs {
			return KeyDist{}, fmt.Errorf("dist %q: uniform takes no arguments (%s)", s, keyDistForms)
		}
		return KeyDist{}, nil
	case "zipf":
		if !hasArgs {
			return KeyDist{S: DefaultZipfS}, nil
		}
		k, v, ok := strings.Cut(args, "=")
		if !ok || strings.TrimSpace(k) != "s" {
			return KeyDist{}, fmt.Errorf("dist %q: want zipf:s=S (%s)", s, keyDistForms)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return KeyDist{}, fmt.Errorf("dist %q: s %q is not a number (%s)", s, v, keyDistForms)
		}
		if f <= 1 {
			return KeyDist{}, fmt.Errorf("dist %q: zipf s must be greater than 1, got %g (%s)", s, f, keyDistForms)
		}
		return KeyDist{S: f}, nil
	}
	return KeyDist{}, fmt.Errorf("dist %q: unknown distribution (%s)", s, keyDistForms)
}

// String is the form ParseKeyDist reads, as recorded in results.
func (d KeyDist) String() string {
	if d.S == 0 {
		return "uniform"
	}
	return "zipf:s=" + strconv.FormatFloat(d.S, 'g', -1, 64)
}

// keySampler draws key indexes in [0, n) from one worker's generator.
type keySampler struct {
	r    *rand.Rand
	n    uint64
	zipf *zipf // nil: uniform
}

func (d KeyDist) sampler(r *rand.Rand, n int) keySampler {
	ks := keySampler{r: r, n: uint64(n)}
	if d.S > 0 {
		ks.zipf = newZipf(r, d.S, 1, uint64(n-1))
	}
	return ks
}

func (k *keySampler) next() int {
	if k.zipf != nil {
		return int(k.zipf.next())
	}
	return int(k.r.Uint64N(k.n))
}

// zipf draws k ∈ [0, imax] with P(k) ∝ (v+k)^(-s), s > 1, v ≥ 1, by
// rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-Inversion to
// Generate Variates from Monotone Discrete Distributions", 1996). It is the
// algorithm of math/rand's Zipf, which math/rand/v2 does not have.
type zipf struct {
	r                 *rand.Rand
	imax, v, q, s     float64
	oneMinusQ, invOmq float64
	hxm, hx0MinusHxm  float64
}

func newZipf(r *rand.Rand, s, v float64, imax uint64) *zipf {
	z := &zipf{r: r, imax: float64(imax), v: v, q: s}
	z.oneMinusQ = 1 - z.q
	z.invOmq = 1 / z.oneMinusQ
	z.hxm = z.h(z.imax + 0.5)
	z.hx0MinusHxm = z.h(0.5) - math.Exp(math.Log(z.v)*(-z.q)) - z.hxm
	z.s = 1 - z.hinv(z.h(1.5)-math.Exp(-z.q*math.Log(z.v+1)))
	return z
}

func (z *zipf) h(x float64) float64 { return math.Exp(z.oneMinusQ*math.Log(z.v+x)) * z.invOmq }

func (z *zipf) hinv(x float64) float64 { return math.Exp(z.invOmq*math.Log(z.oneMinusQ*x)) - z.v }

func (z *zipf) next() uint64 {
	for {
		ur := z.hxm + z.r.Float64()*z.hx0MinusHxm
		x := z.hinv(ur)
		k := math.Floor(x + 0.5)
		if k-x <= z.s || ur >= z.h(k+0.5)-math.Exp(-math.Log(k+z.v)*z.q) {
			return min(uint64(k), uint64(z.imax))
		}
	}
}
