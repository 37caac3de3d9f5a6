package cmd

import (
	"errors"

	"github.com/perfkit/perfkit/bench"
)

// Exit codes: the one mapping from outcomes to process status (docs/design.md,
// "Exit codes"). CI scripts depend on these numbers.
const (
	// ExitOK: done; the gate passed.
	ExitOK = 0
	// ExitGate: the gate said no: a verdict --fail-on names (a regression,
	// invalid new runs by default), a failed threshold or a critical alert.
	ExitGate = 1
	// ExitUsage: a usage, configuration or input error.
	ExitUsage = 2
	// ExitMeasure: the run could not measure: setup failed, every op
	// failed, every run of a scenario was invalid (any, with --strict).
	ExitMeasure = 3
)

// usageError marks a command-line error: its message gets a hint naming the
// help of the command it came from.
type usageError struct {
	err  error
	hint string // e.g. "run 'perfkit run --help'"
}

func (e *usageError) Error() string {
	if e.hint == "" {
		return oneLine(e.err.Error())
	}
	return oneLine(e.err.Error()) + "; " + e.hint
}
func (e *usageError) Unwrap() error { return e.err }

// measureErr wraps err as a "could not measure" outcome (exit 3).
func measureErr(err error) error { return &bench.MeasureError{Err: err} }

// gateErr wraps err as "the gate said no" (exit 1): compare's gate,
// thresholds and alerts.
func gateErr(err error) error { return &bench.GateError{Err: err} }

// exitCode maps the outcome of a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ge *bench.GateError
	if errors.As(err, &ge) {
		return ExitGate
	}
	var me *bench.MeasureError
	if errors.As(err, &me) {
		return ExitMeasure
	}
	var se *bench.SetupError
	if errors.As(err, &se) {
		return ExitMeasure
	}
	// An alert rule or threshold on a label or counter the workload does
	// not record: a configuration error, found once the workload is set up.
	var ce *bench.CheckError
	if errors.As(err, &ce) {
		return ExitUsage
	}
	return ExitUsage
}
