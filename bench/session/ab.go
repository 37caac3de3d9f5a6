package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/ab"
)

// ABPlan is an interleaved A/B run of two variants of one scenario
// (`perfkit ab`).
type ABPlan struct {
	// A and B are the variants, ready to run; Name is what both results
	// call the scenario, so that compare pairs them.
	A, B bench.Scenario
	Name string
	// Options say how many runs, in which order, and who sees each run.
	Options ab.Options
	// Paths are where A's and B's results are written; "" writes none.
	Paths [2]string
	// Version is the perfkit version recorded in the environment; Now the
	// results' time.
	Version string
	Now     time.Time
}

// AB runs the two variants interleaved (bench/ab) and returns one result
// per side, each with the one scenario Name, partial when stopped, written
// to Paths. A side that cannot be set up is a *bench.SetupError, any other
// failure to run a *bench.MeasureError; a failed write is returned with the
// results.
func AB(ctx context.Context, p ABPlan) ([2]*bench.Result, error) {
	ra, rb, err := ab.Run(ctx, p.A, p.B, p.Options)
	if err != nil {
		var se *bench.SetupError
		if errors.As(err, &se) {
			return [2]*bench.Result{}, err
		}
		return [2]*bench.Result{}, &bench.MeasureError{Err: err}
	}
	env := CurrentEnv(ctx, p.Version)
	var out [2]*bench.Result
	for i, sr := range []bench.ScenarioResult{ra, rb} {
		sr.Name = p.Name
		out[i] = NewResult(NewID(), p.Now, env, sr)
		out[i].Partial = sr.Partial
	}
	for i, path := range p.Paths {
		if path == "" {
			continue
		}
		if err := out[i].WriteFile(path); err != nil {
			return out, fmt.Errorf("writing result %s: %w", path, unwrapPath(err))
		}
	}
	return out, nil
}

// ABPaths is where out puts the two sides of an A/B run: OUT-a.json and
// OUT-b.json, a .json suffix of OUT dropped ("ab.json" gives ab-a.json,
// ab-b.json).
func ABPaths(out string) [2]string {
	base := strings.TrimSuffix(out, ".json")
	return [2]string{base + "-a.json", base + "-b.json"}
}

// ABOut resolves, before anything runs, where the two results of an A/B run
// go: ABPaths(out), or, with out "", dir/<UTC time>-<id>-a.json and -b.json;
// none with noSave. Each path is checked as PrepareOut checks one.
func ABOut(out string, noSave bool, dir string, now time.Time) ([2]string, error) {
	if noSave {
		return [2]string{}, nil
	}
	if out == "" {
		base, err := PrepareOut("", false, dir, now, NewID())
		if err != nil {
			return [2]string{}, err
		}
		out = base
	}
	paths := ABPaths(out)
	for _, p := range paths {
		if _, err := PrepareOut(p, false, dir, now, ""); err != nil {
			return [2]string{}, err
		}
	}
	return paths, nil
}
