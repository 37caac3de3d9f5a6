//go:build !unix

package agents

import (
	"io"
	"os/exec"
	"time"
)

// startAndWait runs cmd with stderr copied into tail. Without Unix process
// groups only the program itself is killed on cancellation; WaitDelay bounds
// the wait for descendants that keep stderr open.
func startAndWait(cmd *exec.Cmd, tail io.Writer, _ time.Duration) error {
	cmd.Stderr = tail
	return cmd.Run()
}
