package bench

import (
	"strings"
	"testing"
	"time"
)

// stagedRun is an open staged run of 1s intervals at the given targets and
// achieved rates, with generator-late counts.
func stagedRun(target, achieved []float64, genLate []int64) RunResult {
	run := RunResult{Valid: true, InvalidReasons: []string{}, ElapsedNs: int64(len(target)) * 1e9, Schedule: &ScheduleStats{}}
	for i := range target {
		run.Intervals = append(run.Intervals, IntervalSummary{TMs: int64(i) * 1000, Ops: int64(achieved[i]), Target: target[i], Achieved: achieved[i], GeneratorLate: genLate[i], Late: genLate[i]})
		run.Ops += int64(achieved[i])
		run.Schedule.TargetRate += target[i] / float64(len(target))
		run.Schedule.AchievedRate += achieved[i] / float64(len(target))
		run.Schedule.GeneratorLate += genLate[i]
	}
	return run
}

func TestStagesSplitIntervalsByStage(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Stages, set.Interval = 100, "2s:300,1500ms:300", time.Second
	run := stagedRun([]float64{150, 250, 300, 300}, []float64{150, 250, 300, 290}, []int64{0, 1, 2, 4})
	run.ElapsedNs = 3.5e9 // the last interval is half long
	got := run.Stages(set)
	if len(got) != 2 {
		t.Fatalf("%d stages", len(got))
	}
	s1, s2 := got[0], got[1]
	if s1.Target != 200 || s1.Achieved != 200 || s1.Ops != 400 || s1.From != 100 || s1.To != 300 || s1.End != 2*time.Second {
		t.Errorf("stage 1: %+v", s1)
	}
	// 1s at 300 and 0.5s at 300 / 290
	if s2.Target != 300 || s2.Achieved != (300+290*0.5)/1.5 || s2.GeneratorLate != 6 || s2.Start != 2*time.Second {
		t.Errorf("stage 2: %+v", s2)
	}
}

// A staged run is judged stage by stage: a stage under its target is named
// even when the run as a whole achieved 99%, and one whose lag passes
// --max-late is too; the others are not.
func TestValidateJudgesEachStage(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Stages, set.Interval = 1, "2s:1000,2s:1000,2s:1000", time.Second
	// stage 2 gets 95% of its target; the run as a whole 98.3%
	run := stagedRun([]float64{250, 750, 1000, 1000, 1000, 1000}, []float64{250, 750, 950, 950, 1000, 1000}, []int64{0, 0, 0, 0, 0, 0})
	Validate(&run, set, 2, 2, false)
	if run.Valid || len(run.InvalidReasons) != 1 || !strings.HasPrefix(run.InvalidReasons[0], "stage 2/3 (2s, 1000→1000/s): achieved rate 950.0/s is under 99% of the target 1000.0/s") {
		t.Fatalf("reasons %q", run.InvalidReasons)
	}
	// stage 3 starts 6% of its ops late with a worker free
	run = stagedRun([]float64{250, 750, 1000, 1000, 1000, 1000}, []float64{250, 750, 1000, 1000, 1000, 1000}, []int64{0, 0, 0, 0, 60, 60})
	Validate(&run, set, 2, 2, false)
	if run.Valid || len(run.InvalidReasons) != 1 || !strings.HasPrefix(run.InvalidReasons[0], "stage 3/3 (2s, 1000→1000/s): schedule lag: 120 ops (6.0%") {
		t.Fatalf("reasons %q", run.InvalidReasons)
	}
	run = stagedRun([]float64{250, 750, 1000, 1000, 1000, 1000}, []float64{250, 750, 995, 1000, 1000, 1000}, []int64{0, 0, 0, 0, 40, 40})
	Validate(&run, set, 2, 2, false)
	if !run.Valid {
		t.Fatalf("a run within bounds in every stage is invalid: %q", run.InvalidReasons)
	}
}
