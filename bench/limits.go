package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Bounds of the run settings (docs/design.md, "Run flags"). A value past
// them is refused before anything runs: such a value is a typo, and acting on
// it would exhaust the machine (the process dies out of memory, losing every
// result measured so far).
const (
	// MaxConcurrency bounds -c. A worker costs its state, a 512-byte
	// latency buffer and its goroutine's stack (WorkerBytes; histograms are
	// shared, see samples.go). Measured on a 2-CPU machine with ops that
	// sleep (BenchmarkStop): a million workers took 1.5 GiB and stopped
	// 1.9 s after the stop. The memory estimate (--max-memory) still
	// refuses what the machine cannot hold.
	MaxConcurrency = 1_000_000
	// MaxRate bounds -r, in ops per second. One generator schedules every
	// intended start; at 10M/s the gap between starts is 100 ns, about
	// what scheduling one op costs, so no machine keeps up with more (shard
	// the load across machines instead, --shard).
	MaxRate = 10_000_000
	// MaxCount bounds --count: every run's histograms stay in memory and in
	// the result until the end.
	MaxCount = 10_000
)

// WorkerBytes is the engine's memory per worker: its state, its 512-byte
// latency buffer (the histograms are shared, per CPU: see samples.go) and
// its goroutine's stack, which a workload's calls grow. Measured with
// BenchmarkEngineWorkerBytes at ~3.3 KiB for ops that only sleep; 8 KiB
// leaves room for a workload's deeper stacks.
const WorkerBytes = 8 << 10

// DefaultMemoryShare is the share of the machine's memory (MemTotal) a run
// may be estimated to need when --max-memory is not given: half, leaving
// the rest to the system and to the target, often on the same machine.
const DefaultMemoryShare = 0.5

// FallbackMemoryBudget is the budget where the machine's memory cannot be
// read (no /proc/meminfo).
const FallbackMemoryBudget = 4 << 30

// MemTotal reads the machine's memory from a /proc/meminfo reader, in
// bytes.
func MemTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, fmt.Errorf("meminfo: MemTotal %q: not a size", strings.TrimSpace(rest))
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("meminfo: %w", err)
	}
	return 0, fmt.Errorf("meminfo: no MemTotal line")
}

// MemoryBudget is what a run may be estimated to need when the user set no
// --max-memory: DefaultMemoryShare of MemTotal read from meminfo (nil or
// unreadable: FallbackMemoryBudget). It returns the budget and how it was
// chosen, for the error that refuses a run.
func MemoryBudget(meminfo io.Reader) (int64, string) {
	if meminfo != nil {
		if total, err := MemTotal(meminfo); err == nil {
			return int64(float64(total) * DefaultMemoryShare), "half of this machine's " + FormatBytes(float64(total))
		}
	}
	return FallbackMemoryBudget, "the default, this machine's memory being unknown"
}

// MemoryEstimate is what a scenario is expected to need: the engine's
// workers and the workload's own state (Definition.Memory).
type MemoryEstimate struct {
	Bytes float64
	// Parts says what the bytes are for, largest first where known.
	Parts []string
}

// EstimateMemory estimates what running sc needs before anything runs. It
// reasons in float64 so that absurd values cannot overflow into small ones.
func EstimateMemory(sc Scenario) MemoryEstimate {
	n := float64(sc.Settings.Concurrency)
	if sc.Settings.staged() && sc.Settings.Rate == 0 { // closed stages: up to the highest level
		n = float64(sc.Settings.stagedWorkers())
	}
	if sh := sc.Settings.Shard; sh != nil && sh.Count > 0 {
		n = math.Ceil(n / float64(sh.Count))
	}
	engine := n * WorkerBytes
	est := MemoryEstimate{Bytes: engine}
	est.Parts = append(est.Parts, fmt.Sprintf("%s for %g workers' state (about %s a worker)", FormatBytes(engine), n, FormatBytes(WorkerBytes)))
	if d := sc.Params.def; d != nil && d.Memory != nil {
		b, what := d.Memory(sc.Params, int(n))
		if b > 0 {
			est.Bytes += b
			est.Parts = append(est.Parts, FormatBytes(b)+" for "+what)
		}
	}
	return est
}

// CheckMemory refuses a scenario whose estimate exceeds budget, naming the
// estimate, what it is for and the bound (why: how the budget was chosen).
func CheckMemory(sc Scenario, budget int64, why string) error {
	est := EstimateMemory(sc)
	if est.Bytes <= float64(budget) {
		return nil
	}
	if !strings.Contains(why, "--max-memory") {
		why += "; --max-memory to change"
	}
	return fmt.Errorf("needs ~%s (%s); at most %s (%s)",
		FormatBytes(est.Bytes), strings.Join(est.Parts, " + "), FormatBytes(float64(budget)), why)
}

// FormatBytes prints a size with a binary unit: 512 B, 40 KiB, 3.6 TiB.
func FormatBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 || b >= 100 || b == math.Trunc(b) {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// ParseBytes reads a size such as 512MiB, 8GiB, 2G or 1048576 (bytes);
// K/M/G/T are binary too, as memory is counted.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'A' && r <= 'z' })
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	if err != nil || mult == 0 || !(f > 0) || f*mult > 1<<60 {
		return 0, fmt.Errorf("%q is not a memory size (e.g. 512MiB, 8GiB)", s)
	}
	return int64(f * mult), nil
}
