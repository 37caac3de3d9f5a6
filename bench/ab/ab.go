// Package ab runs two variants of a scenario interleaved on one machine —
// A, B, B, A, A, B... — so that drift over time (thermal throttling, noisy
// neighbours, a cache warming) weighs on both alike: the library behind
// perfkit ab. The runs come back as two scenario results, one run per
// sample, for bench/compare to decide exactly as perfkit compare does.
package ab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/perfkit/perfkit/bench"
)

// Side is one variant: A (the reference, compare's old side) or B.
type Side string

// The two sides.
const (
	A Side = "A"
	B Side = "B"
)

// Order returns count runs of each side in count pairs, each pair AB or BA
// as the seeded generator draws it: after every pair both sides have run
// equally often, and neither always goes first. The same seed gives the
// same order.
func Order(count int, seed uint64) []Side {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	out := make([]Side, 0, 2*count)
	for range count {
		if rng.IntN(2) == 0 {
			out = append(out, A, B)
		} else {
			out = append(out, B, A)
		}
	}
	return out
}

// Options configure Run.
type Options struct {
	// Count is the number of runs of each side (at least 1).
	Count int
	// Seed draws the order (see Order).
	Seed uint64
	// Run measures one run of a scenario whose Count is 1 (nil: bench.Run
	// without observers).
	Run func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error)
	// OnRun, if set, sees each run as it finishes: its place in the order
	// (from 0) and its side.
	OnRun func(i int, side Side, run bench.RunResult)
}

// Run measures a and b interleaved in Order(opts.Count, opts.Seed), each run
// a single run of its scenario (its own setup, warmup and measured part),
// and returns each side's runs as one scenario result with Count runs,
// indexed in the order they ran. A cancelled ctx stops between runs, and
// the results come back marked partial; the error is non-nil only when a
// run could not be set up.
func Run(ctx context.Context, a, b bench.Scenario, opts Options) (ra, rb bench.ScenarioResult, err error) {
	if opts.Count < 1 {
		return ra, rb, fmt.Errorf("count %d: must be at least 1", opts.Count)
	}
	if a.New == nil || b.New == nil {
		return ra, rb, errors.New("ab: a scenario has no workload")
	}
	run := opts.Run
	if run == nil {
		run = func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) { return bench.Run(ctx, sc) }
	}
	sides := map[Side]*struct {
		sc  bench.Scenario
		res *bench.ScenarioResult
		n   int
	}{A: {sc: a, res: &ra}, B: {sc: b, res: &rb}}
	for i, side := range Order(opts.Count, opts.Seed) {
		s := sides[side]
		if ctx.Err() != nil {
			ra.Partial, rb.Partial = true, true
			break
		}
		sc := s.sc
		sc.Settings.Count = 1
		sr, err := run(ctx, sc)
		if err != nil {
			return ra, rb, fmt.Errorf("%s (%s) run %d: %w", side, sc.Name, s.n+1, err)
		}
		if s.n == 0 {
			runs := s.res.Runs
			*s.res = sr
			s.res.Runs = runs
			s.res.Settings.Count = opts.Count
		}
		for _, r := range sr.Runs {
			r.Index = s.n
			s.n++
			s.res.Runs = append(s.res.Runs, r)
			if opts.OnRun != nil {
				opts.OnRun(i, side, r)
			}
		}
		if sr.Partial {
			ra.Partial, rb.Partial = true, true
			break
		}
	}
	return ra, rb, nil
}
