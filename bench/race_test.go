//go:build race

package bench

// raceEnabled: the race detector makes buffers that would stay on the stack
// escape (it instruments the syscalls that fill them), so allocation bounds
// are checked only without it.
const raceEnabled = true
