package report

import (
	"encoding/csv"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// CSV is comma-separated values with a header row, for spreadsheets and
// data frames: raw numbers in the result file's units (nanoseconds, ops per
// second, fractions), no formatting.
const CSV Format = "csv"

// resultCSVHeader are the columns of WriteCSV: one row per scenario × run,
// latencies of the run's overall key ("op").
var resultCSVHeader = []string{
	"scenario", "workload", "model", "run", "valid", "partial", "elapsed_ns", "ops", "errors",
	"error_rate", "throughput", "mean_ns", "p50_ns", "p90_ns", "p95_ns", "p99_ns", "p999_ns", "max_ns", "invalid_reasons",
}

// WriteCSV writes r as CSV, one row per scenario × run (the sample unit of
// compare), with the latencies of all of the run's ops ("op"). Invalid
// runs are rows too, valid false, their reasons joined by "; ".
func WriteCSV(w io.Writer, r *bench.Result) error {
	if r == nil {
		return errNoResult()
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(resultCSVHeader)
	for _, sc := range r.Scenarios {
		for _, run := range sc.Runs {
			l := run.Latency[bench.OverallKey]
			_ = cw.Write([]string{
				sc.Name, sc.Workload, string(sc.Model), strconv.Itoa(run.Index),
				strconv.FormatBool(run.Valid), strconv.FormatBool(run.Partial || sc.Partial),
				i64(run.ElapsedNs), i64(run.Ops), i64(run.Errors), num(run.ErrorRate), num(run.Throughput),
				num(l.MeanNs), i64(l.P50Ns), i64(l.P90Ns), i64(l.P95Ns), i64(l.P99Ns), i64(l.P999Ns), i64(l.MaxNs),
				strings.Join(run.InvalidReasons, "; "),
			})
		}
	}
	cw.Flush()
	return cw.Error()
}

// comparisonCSVHeader are the columns of WriteComparisonCSV, the fields of
// `compare --format json` flattened.
var comparisonCSVHeader = []string{
	"scenario", "metric", "unit", "better", "threshold",
	"old_n", "old_median", "old_lo", "old_hi", "new_n", "new_median", "new_lo", "new_hi",
	"delta_kind", "delta", "delta_lo", "delta_hi", "p", "p_adjusted", "verdict", "finding", "gating", "reason",
}

// WriteComparisonCSV writes every outcome of c as a CSV row (whatever
// CompareOptions.All says, as JSON does). Unbounded or undefined numbers
// are empty cells.
func WriteComparisonCSV(w io.Writer, c *stats.Comparison) error {
	if c == nil {
		return errors.New("report: no comparison to render (nil)")
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(comparisonCSVHeader)
	for _, o := range c.Outcomes {
		kind := "relative"
		if o.Delta.Kind == stats.Absolute {
			kind = "absolute"
		}
		d, dlo, dhi := "", "", ""
		if o.Old.N > 0 && o.New.N > 0 {
			d, dlo, dhi = num(o.Delta.Estimate), num(o.Delta.Lo), num(o.Delta.Hi)
		}
		sideCells := func(s stats.Summary) []string {
			if s.N == 0 {
				return []string{"0", "", "", ""}
			}
			return []string{strconv.Itoa(s.N), num(s.Median), num(s.Lo), num(s.Hi)}
		}
		row := []string{o.Scenario, o.Metric, o.Unit, o.Better.String(), o.Threshold.String()}
		row = append(row, sideCells(o.Old)...)
		row = append(row, sideCells(o.New)...)
		p, pa := "", ""
		if o.Tested {
			p, pa = num(o.P), num(o.PAdjusted)
		}
		row = append(row, kind, d, dlo, dhi, p, pa, string(o.Verdict), string(o.Finding),
			strconv.FormatBool(o.Verdict != stats.Info), flatten(o.Reason))
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// num is v in the shortest decimal form that reads back exactly (no
// exponent); "" for NaN and
// infinities, which CSV readers would not agree on.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
