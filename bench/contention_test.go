package bench

import (
	"strings"
	"testing"
	"time"
)

// openRun is an open-model run of 10,000 ops in 5s at 2,000/s, measured
// on 2 CPUs: lateByGen ops started late with a worker free, lateByTarget
// with every worker busy, cpuS perfkit's CPU seconds.
func openRun(achieved float64, lateByGen, lateByTarget, dropped int64, cpuS float64, c *Contention) RunResult {
	return RunResult{
		Ops: 10000, ElapsedNs: int64(5 * time.Second), Valid: true, InvalidReasons: []string{},
		Schedule: &ScheduleStats{TargetRate: 2000, AchievedRate: achieved, GeneratorLate: lateByGen,
			Late: lateByGen + lateByTarget, Dropped: dropped},
		Resources:  Resources{CPUUserS: cpuS},
		Contention: c,
	}
}

// withService sets the run's mean service time.
func withService(run RunResult, mean time.Duration) RunResult {
	run.Latency = map[string]LatencySummary{OverallKey + ServiceSuffix: {MeanNs: float64(mean)}}
	return run
}

// busy is what a machine shared with CPU hogs shows: perfkit's threads
// waited for a CPU 0.4s in 5s (against 0.3s of CPU), and some task waited
// 60% of the time.
var busy = &Contention{HasRunqueue: true, HasPressure: true, HasOthers: true, RunqueueWaitS: 0.4, CPUPressureSomePct: 60, LoadAvg1m: 4.2, OthersCPUPct: 85}

// quiet is an idle machine's.
var quiet = &Contention{HasRunqueue: true, HasPressure: true, HasOthers: true, RunqueueWaitS: 0.002, CPUPressureSomePct: 1, LoadAvg1m: 0.3, OthersCPUPct: 3}

// selfBusy is perfkit waiting behind its own threads (and an embedded
// target): the wait and PSI are high, but nothing else used the CPUs.
var selfBusy = &Contention{HasRunqueue: true, HasPressure: true, HasOthers: true, RunqueueWaitS: 2, CPUPressureSomePct: 45, LoadAvg1m: 2.5, OthersCPUPct: 4}

func TestValidateTellsCausesApart(t *testing.T) {
	set := DefaultSettings()
	set.Rate = 2000
	for _, tc := range []struct {
		name  string
		run   RunResult
		cause Cause
		want  []string // in the reasons, in order
	}{
		{"perfkit saturated", openRun(1700, 3000, 0, 0, 9, quiet), CauseSaturated,
			[]string{"achieved rate 1700.0/s", "schedule lag: 3000 ops (30.0%, over --max-late 5%)", "perfkit itself is saturated (its CPU 90% of 2 CPUs): shard the load or give perfkit more CPUs"}},
		{"machine contended", openRun(1995, 800, 0, 0, 0.3, busy), CauseContended,
			[]string{"schedule lag: 800 ops (8.0%", "other processes took the CPUs (runqueue wait 8% of the run, PSI cpu some 60%, other processes used 85% of the CPUs; perfkit's CPU 3% of 2): rerun on a quieter machine or reserve CPUs"}},
		{"waiting behind itself", openRun(1990, 900, 0, 0, 6.5, selfBusy), CauseSaturated,
			[]string{"perfkit fell behind its schedule (its CPU 65% of 2 CPUs, no sign of other processes)"}},
		{"target slow", openRun(1500, 0, 4000, 2500, 0.3, busy), CauseTargetSlow,
			[]string{"achieved rate 1500.0/s is under 99% of the target 2000.0/s: the target could not keep up (4000 ops waited for a free worker, 2500 dropped, 0 in flight of the cap 8): raise --concurrency (in-flight cap) or lower the rate"}},
		{"target stuck: drops, workers full", withService(openRun(1800, 0, 0, 1000, 0.3, busy), 5*time.Millisecond), CauseTargetSlow,
			[]string{"the target could not keep up (0 ops waited for a free worker, 1000 dropped, 10 in flight of the cap 8)"}},
		{"drops with idle workers", withService(openRun(1900, 0, 0, 500, 0.3, quiet), 100*time.Microsecond), CauseSaturated,
			[]string{"achieved rate 1900.0/s is under 99% of the target 2000.0/s: perfkit fell behind its schedule"}},
		{"behind, no sign of others", openRun(1990, 900, 0, 0, 0.3, quiet), CauseSaturated,
			[]string{"perfkit fell behind its schedule (its CPU 3% of 2 CPUs, no sign of other processes): shard the load"}},
		{"behind, nothing measured (not Linux)", openRun(1990, 900, 0, 0, 0.3, nil), CauseSaturated,
			[]string{"perfkit fell behind its schedule"}},
		{"steal", openRun(1990, 900, 0, 0, 0.3, &Contention{StealPct: 12}), CauseContended,
			[]string{"other processes took the CPUs (steal 12%"}},
		{"load average only", openRun(1990, 900, 0, 0, 0.3, &Contention{LoadAvg1m: 5}), CauseContended,
			[]string{"load average 5.0 on 2 CPUs"}},
	} {
		run := tc.run
		if c, _ := DiagnoseRun(run, set, 2, 2); c != tc.cause {
			t.Errorf("%s: cause %s, want %s", tc.name, c, tc.cause)
		}
		Validate(&run, set, 2, 2, true)
		all := strings.Join(run.InvalidReasons, " | ")
		at := 0
		for _, w := range tc.want {
			i := strings.Index(all[at:], w)
			if i < 0 {
				t.Errorf("%s: reasons %q\nwant %q", tc.name, all, w)
				break
			}
			at += i + len(w)
		}
		if run.Valid {
			t.Errorf("%s: valid", tc.name)
		}
	}
}

// The case: on a loaded machine, at 2-3% perfkit CPU, 1.1-1.6% of
// ops start over 1ms late because other processes delayed wake-ups. That is
// no reason to throw the run away (the 1% limit did); --max-late sets the
// bound, and past it the reason blames the machine, not perfkit.
func TestMaxLateDefaultToleratesABusyMachine(t *testing.T) {
	set := DefaultSettings()
	set.Rate = 2000
	run := openRun(1999, 160, 0, 0, 0.25, busy)
	Validate(&run, set, 2, 2, false)
	if !run.Valid {
		t.Errorf("1.6%% late at 2.5%% CPU on a busy machine: invalid %q", run.InvalidReasons)
	}
	set.MaxLate = 0.01
	run = openRun(1999, 160, 0, 0, 0.25, busy)
	Validate(&run, set, 2, 2, false)
	if run.Valid || !strings.Contains(run.InvalidReasons[0], "over --max-late 1%") || !strings.Contains(run.InvalidReasons[0], "other processes took the CPUs") ||
		strings.Contains(run.InvalidReasons[0], "shard") {
		t.Errorf("--max-late 1%%: valid %v, %q; want invalid, blaming other processes", run.Valid, run.InvalidReasons)
	}
	// A handful of late ops in a short run is never a reason.
	run = openRun(1999, MinGeneratorLate-1, 0, 0, 0.25, quiet)
	run.Ops = 100
	set.MaxLate = 0
	Validate(&run, set, 2, 2, false)
	if !run.Valid {
		t.Errorf("%d late ops: invalid %q", MinGeneratorLate-1, run.InvalidReasons)
	}
}

func TestSettingsValidateMaxLate(t *testing.T) {
	set := DefaultSettings()
	set.MaxLate = 1.5
	if err := set.Validate(); err == nil || !strings.Contains(err.Error(), "max-late 1.5: must be between 0 and 1") {
		t.Errorf("error %v", err)
	}
}

func TestParseContentionSources(t *testing.T) {
	if n, ok := parsePSISomeTotal("some avg10=81.75 avg60=43.23 avg300=16.66 total=68600200\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"); !ok || n != 68600200 {
		t.Errorf("psi: %d %v", n, ok)
	}
	if _, ok := parsePSISomeTotal("garbage"); ok {
		t.Error("psi: garbage parsed")
	}
	if steal, busy, total := parseStat("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n"); steal != 35 || busy != 190 || total != 1000 {
		t.Errorf("stat: steal %d busy %d total %d", steal, busy, total)
	}
	if steal, busy, total := parseStat("intr 1 2 3"); steal != 0 || busy != 0 || total != 0 {
		t.Errorf("stat garbage: %d %d %d", steal, busy, total)
	}
	if l := parseLoadAvg("2.99 1.08 0.42 6/115 11418\n"); l != 2.99 {
		t.Errorf("loadavg %g", l)
	}
}
