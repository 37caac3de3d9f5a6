package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// stageView is one stage of a staged scenario across its runs: ops and
// errors summed, rates the median of the runs'.
type stageView struct {
	fig              bench.StageFigure // the first run's: bounds and targets
	ops, errs, late  int64
	genLate          int64
	target, achieved float64
	p99Ns            int64 // highest interval p99 in the stage
	runs             int
}

// stagesOf splits a staged scenario's runs by stage (nil without stages).
func stagesOf(s *bench.ScenarioResult) []stageView {
	var out []stageView
	var target, achieved [][]float64
	for _, run := range s.Runs {
		figs := run.Stages(s.Settings)
		if len(figs) == 0 {
			continue
		}
		if out == nil {
			out = make([]stageView, len(figs))
			target, achieved = make([][]float64, len(figs)), make([][]float64, len(figs))
		}
		for k, f := range figs {
			if k >= len(out) {
				break
			}
			v := &out[k]
			if v.runs == 0 {
				v.fig = f
			}
			v.runs++
			v.ops += f.Ops
			v.errs += f.Errors
			v.late += f.Late
			v.genLate += f.GeneratorLate
			v.p99Ns = max(v.p99Ns, f.P99Ns)
			target[k] = append(target[k], f.Target)
			achieved[k] = append(achieved[k], f.Achieved)
		}
	}
	for k := range out {
		out[k].target, out[k].achieved = stats.Median(target[k]), stats.Median(achieved[k])
	}
	return out
}

// stageName names a stage by its place, length and ramp: "stage 2/3 (10s,
// 2000→8000/s)", or workers in the closed model.
func stageName(s *bench.ScenarioResult, v stageView, n int) string {
	unit := "/s"
	if s.Model != bench.ModelOpen {
		unit = " workers"
	}
	f := v.fig
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	return fmt.Sprintf("stage %d/%d (%s, %s→%s%s)", f.Index+1, n, f.End-f.Start, num(f.From), num(f.To), unit)
}

// stageRows are a staged scenario's rows, one per stage when there are
// several: its ops, their rate and error rate (latencies are per run, not
// per stage: see the stage notes and the time series).
func stageRows(s *bench.ScenarioResult) []row {
	st := stagesOf(s)
	if len(st) < 2 {
		return nil
	}
	rows := make([]row, 0, len(st))
	for _, v := range st {
		rate := "-"
		if secs := (v.fig.End - v.fig.Start).Seconds(); secs > 0 && v.runs > 0 {
			rate = Rate(float64(v.ops) / float64(v.runs) / secs)
		}
		cells := []string{stageName(s, v, len(st)), "", "", count(v.ops), rate, percent(v.errs, v.ops), "-", "-", "-", "-", "-", ""}
		rows = append(rows, row{sub: true, cells: cells})
	}
	return rows
}

// stageNotes say, stage by stage, what the load asked and got: the target
// and achieved rate (open model) or active workers and ops in flight
// (closed), late ops, and the highest interval p99.
func stageNotes(s *bench.ScenarioResult) []string {
	st := stagesOf(s)
	notes := make([]string, 0, len(st))
	for _, v := range st {
		var b strings.Builder
		b.WriteString(s.Name + " " + stageName(s, v, len(st)) + ": ")
		if s.Model == bench.ModelOpen {
			fmt.Fprintf(&b, "target %s/s, achieved %s/s", Rate(v.target), Rate(v.achieved))
			if v.target > 0 {
				fmt.Fprintf(&b, " (%s%%)", Rate(v.achieved/v.target*100))
			}
			fmt.Fprintf(&b, ", late %s", grouped(v.late))
			if v.genLate > 0 {
				fmt.Fprintf(&b, " (generator late %s)", grouped(v.genLate))
			}
		} else {
			fmt.Fprintf(&b, "target %s workers, %s ops in flight", Rate(v.target), Rate(v.achieved))
		}
		if v.p99Ns > 0 {
			fmt.Fprintf(&b, ", interval p99 up to %s", Duration(v.p99Ns))
		}
		if v.runs > 1 {
			fmt.Fprintf(&b, " (%d runs: median rates, total counts)", v.runs)
		}
		notes = append(notes, b.String())
	}
	return notes
}
