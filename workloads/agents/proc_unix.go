//go:build unix

package agents

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// startAndWait runs cmd in a process group of its own with stderr on a pipe
// that it drains into tail. The process group is what makes kills complete:
// on cancellation (exec's Cancel) and again once the program has exited, the
// whole group gets SIGKILL, so a shell's background children die with it
// instead of running on and holding the pipe open.
//
// The pipe is an *os.File handed to the child, not an io.Writer, so that
// exec.Cmd.Wait returns as soon as the program exits rather than when the
// last descendant closes stderr; the drain after the group kill is bounded by
// waitDelay, for descendants that left the group (setsid).
func startAndWait(cmd *exec.Cmd, tail io.Writer, waitDelay time.Duration) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stderr = pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	err = cmd.Start()
	_ = pw.Close() // the child has its copy
	if err != nil {
		_ = pr.Close()
		return err
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(tail, pr)
	}()
	err = cmd.Wait()
	_ = killGroup(cmd.Process.Pid)
	_ = pr.SetReadDeadline(time.Now().Add(waitDelay))
	<-drained
	_ = pr.Close()
	return err
}

// killGroup sends SIGKILL to the process group led by pid. The group's id
// cannot be reused while any of its members lives, so after the leader has
// been reaped this reaches only processes the agent started.
func killGroup(pid int) error {
	if pid <= 0 {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
