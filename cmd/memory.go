package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
)

// maxMemoryKey is the flag, and as PERFKIT_MAX_MEMORY the variable, that
// sets the memory a run may be estimated to need (default: half of the
// machine's, see bench.MemoryBudget).
const maxMemoryKey = "max-memory"

// meminfoPath is where Linux reports the machine's memory.
const meminfoPath = "/proc/meminfo"

func addMaxMemoryFlag(fl *pflag.FlagSet) {
	fl.String(maxMemoryKey, "", "refuse a run estimated to need more memory than this, before it starts (e.g. 8GiB; default: half of the machine's memory) (env PERFKIT_MAX_MEMORY)")
}

// memoryBudget is --max-memory, or the default budget when it is not set.
func (r *resolver) memoryBudget() (int64, string, error) {
	raw, o := r.lookupSetting(maxMemoryKey, nil)
	if s := fmt.Sprint(raw); raw != nil && s != "" {
		b, err := bench.ParseBytes(s)
		if err != nil {
			return 0, "", o.wrapGlobal(fmt.Errorf("--%s: %w", maxMemoryKey, err))
		}
		return b, "set by --" + maxMemoryKey, nil
	}
	f, err := os.Open(meminfoPath)
	if err != nil {
		b, why := bench.MemoryBudget(nil)
		return b, why, nil
	}
	defer f.Close()
	b, why := bench.MemoryBudget(f)
	return b, why, nil
}

// checkMemory refuses, before anything runs, a scenario (every step of a
// sweep is one) estimated to need more memory than the budget: past it the
// process would die out of memory and lose what it measured.
func (r *resolver) checkMemory(scs []bench.Scenario) error {
	budget, why, err := r.memoryBudget()
	if err != nil {
		return err
	}
	for _, sc := range scs {
		if err := bench.CheckMemory(sc, budget, why); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		if err := bench.CheckSettings(sc); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	return nil
}
