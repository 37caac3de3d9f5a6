package profiles

import (
	"fmt"
	"strings"
)

// Kind is a kind of profile, named as `go tool pprof` and net/http/pprof
// name them.
type Kind string

// The kinds perfkit captures.
const (
	// CPU samples on-CPU stacks over the window.
	CPU Kind = "cpu"
	// Heap is a snapshot of live memory at the end of the window (after a GC).
	Heap Kind = "heap"
	// Allocs are the allocations made during the window (a delta).
	Allocs Kind = "allocs"
	// Mutex is the contention on mutexes during the window (a delta).
	Mutex Kind = "mutex"
	// Block is the time goroutines spent blocked during the window (a delta).
	Block Kind = "block"
	// Goroutine is a snapshot of the goroutines in the middle of the window.
	Goroutine Kind = "goroutine"
)

// Kinds lists every kind, in the order the command line shows them.
func Kinds() []Kind { return []Kind{CPU, Heap, Allocs, Mutex, Block, Goroutine} }

// Windowed reports whether a profile of kind k measures the whole window
// (cpu, allocs, mutex, block): its values grow with the work done, so they
// can be divided by the ops of the window. Heap and goroutine profiles are
// snapshots of one moment.
func (k Kind) Windowed() bool { return k == CPU || k == Allocs || k == Mutex || k == Block }

// ParseKind parses a kind name.
func ParseKind(s string) (Kind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, k := range Kinds() {
		if string(k) == name {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown profile kind %q (accepted: %s)", s, kindList())
}

// ParseKinds parses a comma-separated list of kinds ("cpu,heap"), dropping
// repeats and keeping the order given. An empty list is an error.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKind(part)
		if err != nil {
			return nil, err
		}
		if !containsKind(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no profile kind in %q (accepted: %s)", s, kindList())
	}
	return out, nil
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// covers says what a profile of kind k holds.
func (k Kind) covers() string {
	switch k {
	case CPU:
		return "on-CPU time during the measured window"
	case Heap:
		return "memory in use at the end of the measured window, after a GC"
	case Allocs:
		return "allocations during the measured window"
	case Mutex:
		return "mutex contention during the measured window"
	case Block:
		return "time blocked during the measured window"
	case Goroutine:
		return "goroutines in the middle of the measured window"
	}
	return ""
}
