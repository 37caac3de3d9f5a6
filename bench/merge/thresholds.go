package merge

import (
	"fmt"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
)

// RecheckThresholds checks the shards' thresholds again on res, their
// merge: a shard's own verdict covers a part of the load only. Each
// scenario gets the union of its shards' threshold expressions, evaluated on
// the merged numbers with the merged result's GOMAXPROCS.
func RecheckThresholds(res *bench.Result, inputs []Input) error {
	for i := range res.Scenarios {
		sr := &res.Scenarios[i]
		var exprs []alert.Expr
		seen := map[string]bool{}
		for _, in := range inputs {
			for _, t := range in.Result.Scenarios[i].Thresholds {
				if seen[t.Expr] {
					continue
				}
				seen[t.Expr] = true
				e, err := alert.ParseExpr(t.Expr)
				if err != nil {
					return fmt.Errorf("%s: scenario %s: threshold: %w", in.Name, sr.Name, err)
				}
				exprs = append(exprs, e)
			}
		}
		sr.Thresholds = alert.CheckThresholds(sr, exprs, res.Env.GOMAXPROCS)
	}
	return nil
}
