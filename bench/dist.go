package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Dist is a latency distribution, written the same way everywhere in perfkit:
//
//	5ms                            fixed (also fixed:5ms)
//	uniform:1ms..10ms              uniform between two bounds
//	lognormal:p50=50ms,p99=800ms   log-normal fixed by its median and 99th percentile
//	exp:mean=10ms                  exponential with that mean
//
// The zero Dist is always 0.
type Dist struct {
	kind   distKind
	a, b   float64 // fixed: a; uniform: [a,b]; lognormal: mu, sigma; exp: mean (ns)
	source string
}

type distKind uint8

const (
	distZero distKind = iota
	distFixed
	distUniform
	distLognormal
	distExp
)

// z99 is the standard normal quantile at 0.99.
const z99 = 2.3263478740408408

const distForms = "accepted: 5ms, fixed:5ms, uniform:1ms..10ms, lognormal:p50=50ms,p99=800ms, exp:mean=10ms"

// ParseDist parses a distribution; errors name the input and the accepted forms.
func ParseDist(s string) (Dist, error) {
	src := strings.TrimSpace(s)
	bad := func(why string) (Dist, error) {
		return Dist{}, fmt.Errorf("bad distribution %q: %s (%s)", s, why, distForms)
	}
	dur := func(x string) (float64, bool) {
		d, err := time.ParseDuration(strings.TrimSpace(x))
		return float64(d), err == nil && d >= 0
	}
	kind, args, hasKind := strings.Cut(src, ":")
	if !hasKind {
		kind, args = "fixed", src
	}
	switch kind {
	case "fixed":
		v, ok := dur(args)
		if !ok {
			return bad("not a duration")
		}
		if v == 0 {
			return Dist{source: src}, nil
		}
		return Dist{kind: distFixed, a: v, source: src}, nil
	case "uniform":
		lo, hi, ok := strings.Cut(args, "..")
		a, ok1 := dur(lo)
		b, ok2 := dur(hi)
		if !ok || !ok1 || !ok2 || b < a {
			return bad("want uniform:MIN..MAX with MIN ≤ MAX")
		}
		return Dist{kind: distUniform, a: a, b: b, source: src}, nil
	case "lognormal":
		kv := keyvals(args)
		p50, ok1 := dur(kv["p50"])
		p99, ok2 := dur(kv["p99"])
		if !ok1 || !ok2 || len(kv) != 2 || p50 <= 0 || p99 < p50 {
			return bad("want lognormal:p50=D,p99=D with 0 < p50 ≤ p99")
		}
		mu := math.Log(p50)
		return Dist{kind: distLognormal, a: mu, b: (math.Log(p99) - mu) / z99, source: src}, nil
	case "exp":
		kv := keyvals(args)
		mean, ok := dur(kv["mean"])
		if !ok || len(kv) != 1 || mean <= 0 {
			return bad("want exp:mean=D with D > 0")
		}
		return Dist{kind: distExp, a: mean, source: src}, nil
	}
	return bad(fmt.Sprintf("unknown kind %q", kind))
}

func keyvals(s string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		m[strings.TrimSpace(k)] = v
	}
	return m
}

// Sample draws one duration. r is the caller's own generator (one per worker),
// so sampling takes no lock.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.kind {
	case distFixed:
		return time.Duration(d.a)
	case distUniform:
		return time.Duration(d.a + r.Float64()*(d.b-d.a))
	case distLognormal:
		return time.Duration(math.Exp(d.a + d.b*r.NormFloat64()))
	case distExp:
		return time.Duration(r.ExpFloat64() * d.a)
	}
	return 0
}

// Mean is the distribution's expected value.
func (d Dist) Mean() time.Duration {
	switch d.kind {
	case distFixed:
		return time.Duration(d.a)
	case distUniform:
		return time.Duration((d.a + d.b) / 2)
	case distLognormal:
		return time.Duration(math.Exp(d.a + d.b*d.b/2))
	case distExp:
		return time.Duration(d.a)
	}
	return 0
}

// IsZero reports whether the distribution is always 0.
func (d Dist) IsZero() bool { return d.kind == distZero }

// String returns the distribution as it was written.
func (d Dist) String() string {
	if d.source == "" && d.kind == distZero {
		return "0s"
	}
	return d.source
}
