package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/workloads/agents"
	"github.com/perfkit/perfkit/workloads/cache"
	"github.com/perfkit/perfkit/workloads/fetch"
	"github.com/perfkit/perfkit/workloads/pool"
)

// builtinWorkloads is the registry of this build: every workload `perfkit
// run` accepts by name, and the default suite when no config file exists.
func builtinWorkloads() []bench.Definition {
	return []bench.Definition{agents.Definition(), cache.Definition(), fetch.Definition(), pool.Definition()}
}

// withWorkloads returns the registry builtin followed by a program's own
// workloads (the cli package's), refusing a definition perfkit could not
// offer by name: no name, no constructor, a name taken by a built-in or
// given twice, or a param no flag could set. Checked before any command
// runs, so a bad registration fails every command alike.
func withWorkloads(builtin, extra []bench.Definition) ([]bench.Definition, error) {
	reg := slices.Clip(slices.Clone(builtin))
	for _, d := range extra {
		switch {
		case !validName(d.Name):
			return nil, fmt.Errorf("workload name %q: want letters, digits, '-', '_' or '.', starting with a letter or digit", d.Name)
		case d.New == nil:
			return nil, fmt.Errorf("workload %s: Definition.New is nil: it must build the workload", d.Name)
		}
		if prev, ok := registry(reg).lookup(d.Name); ok {
			kind := "another workload given to the program"
			if slices.ContainsFunc(builtin, func(b bench.Definition) bool { return b.Name == prev.Name }) {
				kind = "a built-in workload (built-ins: " + strings.Join(registry(builtin).names(), ", ") + ")"
			}
			return nil, fmt.Errorf("workload %q is already defined by %s: give yours another name", d.Name, kind)
		}
		seen := map[string]bool{}
		for _, p := range d.Params {
			if p.Name == "" || seen[p.Name] {
				return nil, fmt.Errorf("workload %s: param name %q is empty or declared twice", d.Name, p.Name)
			}
			seen[p.Name] = true
		}
		reg = append(reg, d)
	}
	if _, err := registry(reg).paramFlags(); err != nil {
		return nil, err
	}
	return reg, nil
}

// validName reports whether name can be typed as an argument of `perfkit
// run` and a key of perfkit.yaml: letters, digits, '-', '_' and '.', not
// starting with '-' (a flag) or '.'.
func validName(name string) bool {
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return false
		}
	}
	return name != ""
}
