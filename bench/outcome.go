package bench

// MeasureError is a run that could not measure: every op failed, every run
// of a scenario was invalid, or the result could not be saved. The command
// line exits 3 on it (docs/design.md, "Exit codes").
type MeasureError struct{ Err error }

func (e *MeasureError) Error() string { return e.Err.Error() }
func (e *MeasureError) Unwrap() error { return e.Err }

// GateError is a gate that said no: a regression the gate policy fails on,
// a failed threshold or a critical alert. The command line exits 1 on it.
type GateError struct{ Err error }

func (e *GateError) Error() string { return e.Err.Error() }
func (e *GateError) Unwrap() error { return e.Err }
