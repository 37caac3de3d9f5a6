// Package cli is perfkit's whole command line as a library. A Go program
// that passes its own workloads to Main gets every perfkit command for
// them, beside the built-in workloads: run (closed and open models,
// sweeps, --count), compare and baselines, profile, ab, merge, report and
// monitoring. Results are the same files `perfkit` writes, so one compare
// reads both.
//
//	func main() { cli.Main(mycache.Definition()) }
//
// `run` given no names and no perfkit.yaml runs the program's own workloads;
// the built-ins run when named.
//
// A workload is a bench.Definition: its name, its params (each becomes a
// --flag of run, a key under params: in perfkit.yaml and a PERFKIT_*
// variable) and a constructor of a bench.Workload. examples/lrucache is a
// complete one; examples/embed runs scenarios without the command line.
package cli

import (
	"context"
	"io"
	"os"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/cmd"
)

// Exit codes of Run, the same as perfkit's (docs/design.md, "Exit codes").
const (
	ExitOK      = 0 // done; the gate passed
	ExitGate    = 1 // the gate said no: a regression, a failed threshold, a critical alert
	ExitUsage   = 2 // a usage, configuration or input error
	ExitMeasure = 3 // the run could not measure: setup failed, every op failed...
)

// Main runs the perfkit command line of os.Args with defs added to the
// built-in workloads, and exits the process with its exit code.
func Main(defs ...bench.Definition) {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, defs...))
}

// Run runs the perfkit command line args (without the program name) with
// defs added to the built-in workloads, and returns the exit code. Errors
// are one line on stderr. A definition perfkit cannot offer by name (a
// name a built-in or another definition has, no New, a param named like a
// run flag) is exit 2 whatever the command, so a program with a bad
// registration fails at its first use.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, defs ...bench.Definition) int {
	return cmd.ExecuteWith(ctx, args, stdout, stderr, defs)
}
