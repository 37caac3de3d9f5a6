package bench

import "fmt"

// SettingError is a run setting Settings.Validate refused: which setting,
// its value, and the message naming what is accepted. A program (perfkit's
// command line attributes the value to the flag, variable or config line it
// came from) reads the fields; a person reads Error.
type SettingError struct {
	// Setting is the refused setting's name: its flag and config key
	// (concurrency, rate, duration…; shard for --shard).
	Setting string
	// Value is the refused value.
	Value any
	// With names other settings the refusal is about, e.g. iterations
	// when duration and iterations are both set.
	With []string
	msg  string
}

func (e *SettingError) Error() string { return e.msg }

// settingErr is a SettingError whose message is format's, which starts with
// the setting's name and value, as every refusal does ("rate -1: must be …").
func settingErr(setting string, value any, with []string, format string, args ...any) error {
	return &SettingError{Setting: setting, Value: value, With: with, msg: fmt.Sprintf(format, args...)}
}

// ParamError is a workload param value Definition.Resolve refused (or a
// param the workload does not declare). Err names the value and what is
// accepted.
type ParamError struct {
	Workload string
	Param    string
	// Unknown marks a name the workload does not declare.
	Unknown bool
	Err     error
}

func (e *ParamError) Error() string {
	if e.Unknown {
		return e.Err.Error()
	}
	return "param " + e.Param + " of workload " + e.Workload + ": " + e.Err.Error()
}

func (e *ParamError) Unwrap() error { return e.Err }
