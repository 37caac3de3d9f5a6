package bench

import (
	"fmt"
	"strings"
)

// Contention is how busy the machine was during a run, from the kernel's
// own accounting (Linux; absent elsewhere). It tells a run that fell behind
// because other processes held the CPUs from one where perfkit itself was
// the bottleneck.
type Contention struct {
	// RunqueueWaitS is the time perfkit's threads spent runnable but waiting
	// for a CPU, summed over its threads (/proc/self/task/*/schedstat).
	RunqueueWaitS float64 `json:"runqueue_wait_s"`
	// CPUPressureSomePct is the share of the run during which some task on
	// the machine waited for a CPU (/proc/pressure/cpu "some"); 0 when the
	// kernel has no PSI.
	CPUPressureSomePct float64 `json:"cpu_pressure_some_pct"`
	// LoadAvg1m is the machine's one-minute load average at the run's end.
	LoadAvg1m float64 `json:"load_avg_1m"`
	// StealPct is the share of CPU time the hypervisor gave to other guests
	// during the run (/proc/stat).
	StealPct float64 `json:"steal_pct"`
	// OthersCPUPct is the share of the machine's CPU time that went to
	// anything but perfkit (/proc/stat's busy time less perfkit's own CPU).
	OthersCPUPct float64 `json:"others_cpu_pct"`
	// HasRunqueue, HasPressure and HasOthers say which sources could be
	// read.
	HasRunqueue bool `json:"-"`
	HasPressure bool `json:"-"`
	HasOthers   bool `json:"-"`
}

// Cause is why an open-model run fell behind its schedule.
type Cause string

// Causes of a run that could not keep its schedule (docs/models.md,
// "Validity").
const (
	// CauseSaturated: perfkit itself could not keep up (its own CPU, or no
	// sign of anything else).
	CauseSaturated Cause = "perfkit-saturated"
	// CauseContended: other processes held the CPUs perfkit needed.
	CauseContended Cause = "machine-contended"
	// CauseTargetSlow: every worker was busy with the target: the in-flight
	// cap was reached.
	CauseTargetSlow Cause = "target-slow"
)

// Bounds of the diagnosis. Each is far from what an idle machine shows and
// well inside what a busy one does.
const (
	// SaturatedCPUShare is perfkit's CPU, as a share of GOMAXPROCS, from
	// which lag is blamed on perfkit itself: beyond it the Go scheduler has
	// no idle P left to wake a timer on time.
	SaturatedCPUShare = 0.8
	// ContendedWaitRatio: perfkit's threads waited for a CPU at least half
	// as long as they ran. On an idle machine a wake-up waits microseconds
	// for a CPU, a few percent of the CPU it then uses.
	ContendedWaitRatio = 0.5
	// ContendedPressurePct: some task waited for a CPU during a fifth of the
	// run (PSI cpu "some"); an idle machine shows a few percent.
	ContendedPressurePct = 20
	// ContendedStealPct: the hypervisor withheld this share of the CPUs.
	ContendedStealPct = 5
	// ContendedOthersPct: other processes used at least a fifth of the
	// machine's CPU. Perfkit's threads also wait behind each other (and an
	// embedded target), which the wait and PSI figures cannot tell from
	// waiting behind others; this tells them apart where /proc/stat is read.
	ContendedOthersPct = 20
	// ContendedLoadPerCPU: the one-minute load average per CPU. It trails
	// the run and counts perfkit's own threads, so it decides only when
	// neither the run-queue wait nor PSI could be read.
	ContendedLoadPerCPU = 1.5
)

// LagFigures are what a schedule failure is diagnosed from: all measured
// over the run, so the diagnosis is a pure function of them.
type LagFigures struct {
	// CPUShare is perfkit's CPU over wall time × Procs (GOMAXPROCS).
	CPUShare float64
	Procs    int
	// GeneratorBehind: more ops than the bound started late while a worker
	// was free.
	GeneratorBehind bool
	// WorkerWaited ops started late because every worker was busy; Dropped
	// ops never started; Ops is the run's ops.
	WorkerWaited, Dropped, Ops int64
	// InFlight is the mean number of ops in flight (Little's law: the
	// target rate × the mean service time) and Cap the in-flight cap
	// (concurrency): a target as slow as rate/Cap per op fills every worker.
	InFlight float64
	Cap      int
	// ElapsedS is the measured wall time; CPUS perfkit's CPU in it.
	ElapsedS, CPUS float64
	// Contention is nil when nothing could be read.
	Contention *Contention
	// NumCPU is the machine's CPUs (the load average's scale).
	NumCPU int
}

// RunqueueWaitPct is perfkit's run-queue wait as a share of the run.
func (f LagFigures) RunqueueWaitPct() float64 {
	if f.Contention == nil || f.ElapsedS <= 0 {
		return 0
	}
	return 100 * f.Contention.RunqueueWaitS / f.ElapsedS
}

// Contended reports whether other processes held the CPUs, and the figures
// that say so.
func (f LagFigures) Contended() (bool, string) {
	c := f.Contention
	if c == nil {
		return false, ""
	}
	waitRatio := 0.0
	if f.CPUS > 0 {
		waitRatio = c.RunqueueWaitS / f.CPUS
	}
	var why []string
	if c.HasRunqueue {
		why = append(why, fmt.Sprintf("runqueue wait %.0f%% of the run", f.RunqueueWaitPct()))
	}
	if c.HasPressure {
		why = append(why, fmt.Sprintf("PSI cpu some %.0f%%", c.CPUPressureSomePct))
	}
	if c.StealPct >= ContendedStealPct {
		why = append(why, fmt.Sprintf("steal %.0f%%", c.StealPct))
	}
	if c.HasOthers {
		why = append(why, fmt.Sprintf("other processes used %.0f%% of the CPUs", c.OthersCPUPct))
	}
	loadHigh := f.NumCPU > 0 && c.LoadAvg1m >= ContendedLoadPerCPU*float64(f.NumCPU)
	if !c.HasRunqueue && !c.HasPressure && loadHigh {
		why = append(why, fmt.Sprintf("load average %.1f on %d CPUs", c.LoadAvg1m, f.NumCPU))
	}
	waited := (c.HasRunqueue && waitRatio >= ContendedWaitRatio) ||
		(c.HasPressure && c.CPUPressureSomePct >= ContendedPressurePct) ||
		(!c.HasRunqueue && !c.HasPressure && loadHigh)
	others := !c.HasOthers || c.OthersCPUPct >= ContendedOthersPct
	yes := c.StealPct >= ContendedStealPct || (waited && others)
	return yes, strings.Join(why, ", ")
}

// Diagnose tells apart the causes of a run that fell behind its schedule:
// perfkit's own CPU first (then the contention figures count its own
// threads), then a target that held the workers, then other processes, and
// last a generator behind with free workers and no sign of either
// (perfkit's doing).
func Diagnose(f LagFigures) Cause {
	if f.CPUShare >= SaturatedCPUShare {
		return CauseSaturated
	}
	if !f.GeneratorBehind && f.TargetHeldWorkers() {
		return CauseTargetSlow
	}
	if yes, _ := f.Contended(); yes {
		return CauseContended
	}
	// Behind with workers free and nothing else to blame: the generator.
	return CauseSaturated
}

// TargetHeldWorkers reports whether the target kept perfkit's workers busy:
// ops waited for a free worker, or ops were dropped while the ops in flight
// came near the cap (ops stuck until the end of the window start neither
// late nor at all, so they show only as drops and a long service time).
// Drops with idle workers are the generator's, not the target's.
func (f LagFigures) TargetHeldWorkers() bool {
	return f.WorkerWaited > 0 || (f.Dropped > 0 && f.Cap > 0 && f.InFlight >= 0.5*float64(f.Cap))
}

// Explain is the reason's second half for cause c: what happened, with the
// figures, and what to do.
func (f LagFigures) Explain(c Cause) string {
	switch c {
	case CauseSaturated:
		if f.CPUShare >= SaturatedCPUShare {
			return fmt.Sprintf("perfkit itself is saturated (its CPU %.0f%% of %d CPUs): shard the load or give perfkit more CPUs", 100*f.CPUShare, f.Procs)
		}
		return fmt.Sprintf("perfkit fell behind its schedule (its CPU %.0f%% of %d CPUs, no sign of other processes): shard the load or give perfkit more CPUs", 100*f.CPUShare, f.Procs)
	case CauseContended:
		_, why := f.Contended()
		return fmt.Sprintf("other processes took the CPUs (%s; perfkit's CPU %.0f%% of %d): rerun on a quieter machine or reserve CPUs", why, 100*f.CPUShare, f.Procs)
	}
	return fmt.Sprintf("the target could not keep up (%d ops waited for a free worker, %d dropped, %.0f in flight of the cap %d): raise --concurrency (in-flight cap) or lower the rate", f.WorkerWaited, f.Dropped, f.InFlight, f.Cap)
}

// lagFigures gathers a run's figures for Diagnose.
func lagFigures(run RunResult, set Settings, procs, numCPU int) LagFigures {
	f := LagFigures{Procs: procs, Ops: run.Ops, Contention: run.Contention, NumCPU: numCPU, Cap: set.ShardShare().Concurrency}
	f.CPUS = run.Resources.CPUUserS + run.Resources.CPUSysS
	f.ElapsedS = float64(run.ElapsedNs) / 1e9
	if f.ElapsedS > 0 && procs > 0 {
		f.CPUShare = f.CPUS / f.ElapsedS / float64(procs)
	}
	if st := run.Schedule; st != nil {
		f.GeneratorBehind = GeneratorBehind(st.GeneratorLate, run.Ops, set.MaxLate)
		f.WorkerWaited = max(st.Late-st.GeneratorLate, 0)
		f.Dropped = st.Dropped
		f.InFlight = st.TargetRate * run.Latency[OverallKey+ServiceSuffix].MeanNs / 1e9
	}
	return f
}

// DiagnoseRun is Diagnose over a run's recorded figures, with set the run's
// settings (--max-late, the in-flight cap), procs its GOMAXPROCS and numCPU
// the machine's CPUs.
func DiagnoseRun(run RunResult, set Settings, procs, numCPU int) (Cause, LagFigures) {
	f := lagFigures(run, set, procs, numCPU)
	return Diagnose(f), f
}

// GeneratorBehind reports whether late ops started while a worker was free
// pass the --max-late bound (and MinGeneratorLate).
func GeneratorBehind(generatorLate, ops int64, maxLate float64) bool {
	return generatorLate >= MinGeneratorLate && float64(generatorLate) > maxLate*float64(ops)
}

// ScheduleMissed reports whether an open-model run missed its schedule:
// the achieved rate under MinAchievedRatio of the target, or the generator
// behind past maxLate.
func ScheduleMissed(run RunResult, maxLate float64) bool {
	st := run.Schedule
	if st == nil {
		return false
	}
	return st.AchievedRate < MinAchievedRatio*st.TargetRate || GeneratorBehind(st.GeneratorLate, run.Ops, maxLate)
}
