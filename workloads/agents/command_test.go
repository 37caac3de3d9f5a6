//go:build unix

package agents

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mustCommand(t *testing.T, line string) *Command {
	t.Helper()
	c, err := ParseCommand(line)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"true", []string{"true"}},
		{"  sleep\t0.01  ", []string{"sleep", "0.01"}},
		{`sh -c 'echo oops >&2; exit 3'`, []string{"sh", "-c", "echo oops >&2; exit 3"}},
		{`echo "a \"b\" \$HOME \\ \x" c`, []string{"echo", `a "b" $HOME \ \x`, "c"}},
		{`echo a\ b\|c`, []string{"echo", "a b|c"}},
		{`echo ''x'' "" ''`, []string{"echo", "x", "", ""}},
		{`echo it'"'s`, []string{"echo", `it"s`}},
		{"", nil},
	} {
		got, err := splitWords(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`sh -c 'exit 1`, "unterminated ' quote"},
		{`echo "x`, `unterminated " quote`},
		{`echo x\`, "trailing backslash"},
		{`ls | wc`, `unquoted "|" needs a shell: run it as sh -c '...'`},
		{`echo $HOME`, `unquoted "$"`},
		{`a; b`, `unquoted ";"`},
		{`sleep 1 &`, `unquoted "&"`},
		{`cat < f`, `unquoted "<"`},
	} {
		if _, err := splitWords(tc.in); err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("splitWords(%q): error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	c := mustCommand(t, `sh -c 'exit 0'`)
	if !filepath.IsAbs(c.Path) || filepath.Base(c.Path) != "sh" || strings.Join(c.Args, "|") != "-c|exit 0" {
		t.Errorf("ParseCommand: path %q args %q", c.Path, c.Args)
	}
	if c.String() != `sh -c 'exit 0'` {
		t.Errorf("String() = %q", c.String())
	}
	if s := (&Command{Path: "/bin/echo", Args: []string{"a", "b"}}).String(); s != "/bin/echo a b" {
		t.Errorf("literal Command String() = %q", s)
	}

	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"no-such-program-perfkit --x", `cmd "no-such-program-perfkit --x": program "no-such-program-perfkit": executable file not found in $PATH`},
		{"/no/such/dir/prog", `cmd "/no/such/dir/prog": program "/no/such/dir/prog": `},
		{notExec, "permission denied"},
		{"   ", `cmd "   ": empty command`},
		{"ls | wc -l", `cmd "ls | wc -l": unquoted "|" needs a shell`},
	} {
		_, err := ParseCommand(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseCommand(%q): %v, want one line containing %q", tc.line, err, tc.want)
		}
	}
	if _, err := ParseCommand("no-such-program-perfkit"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing program: %v does not wrap exec.ErrNotFound", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := tailBuffer{max: 8}
	for _, w := range []string{"abc", "defgh", "ij", "", "0123456789xyz", "Q"} {
		_, _ = tb.Write([]byte(w))
	}
	if string(tb.b) != "6789xyzQ" {
		t.Errorf("tail %q, want %q", tb.b, "6789xyzQ")
	}
}

// Exit status and stderr tail of a failing process agent are captured.
func TestProcessExitStatusAndStderr(t *testing.T) {
	agents := []Agent{
		mustCommand(t, `sh -c 'echo oops >&2; exit 3'`),
		mustCommand(t, `sh -c 'echo warning >&2'`),
		mustCommand(t, "true"),
	}
	res := New(Workers(2)).Run(context.Background(), agents)

	r := res[0]
	var ee *exec.ExitError
	if r.Outcome != Failed || r.ExitCode != 3 || string(r.Stderr) != "oops\n" || !errors.As(r.Err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("failing process: %v exit %d stderr %q err %v", r.Outcome, r.ExitCode, r.Stderr, r.Err)
	}
	if msg := r.Err.Error(); msg != `sh: exit status 3 (stderr: "oops")` {
		t.Errorf("error %q", msg)
	}
	if r := res[1]; r.Outcome != OK || r.ExitCode != 0 || string(r.Stderr) != "warning\n" || r.Err != nil {
		t.Errorf("successful process with stderr: %v exit %d stderr %q err %v", r.Outcome, r.ExitCode, r.Stderr, r.Err)
	}
	if r := res[2]; r.Outcome != OK || r.ExitCode != 0 || len(r.Stderr) != 0 || !r.Started() || r.Latency <= 0 {
		t.Errorf("true: %+v", r)
	}
}

// Only the last StderrTailBytes of a chatty process are kept.
func TestProcessStderrTail(t *testing.T) {
	c := mustCommand(t, `sh -c 'i=0; while [ $i -lt 300 ]; do echo "line $i of noise" >&2; i=$((i+1)); done; echo LAST >&2; exit 1'`)
	res := New().Run(context.Background(), []Agent{c})
	r := res[0]
	if r.Outcome != Failed || len(r.Stderr) != StderrTailBytes || !bytes.HasSuffix(r.Stderr, []byte("line 299 of noise\nLAST\n")) {
		t.Errorf("tail: %v, %d bytes ending %q", r.Outcome, len(r.Stderr), r.Stderr[max(0, len(r.Stderr)-40):])
	}
	if !strings.HasSuffix(r.Err.Error(), `(stderr: "LAST")`) {
		t.Errorf("error %q does not end with stderr's last line", r.Err)
	}
}

// A process that starts and then fails to exec, and one whose program
// vanished after parsing, fail without an exit status.
func TestProcessStartFailure(t *testing.T) {
	res := New().Run(context.Background(), []Agent{&Command{Path: "/no/such/program"}})
	r := res[0]
	if r.Outcome != Failed || r.ExitCode != -1 || r.Err == nil || !strings.Contains(r.Err.Error(), "program: start: ") {
		t.Errorf("missing program: %v exit %d err %v", r.Outcome, r.ExitCode, r.Err)
	}
}

// alive reports whether pid is a running process (not gone, not a zombie
// waiting for a reaper that may not exist in a container).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitDead waits up to 10s for pid to be gone.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("process %d still alive", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// grandchild parses the pid a test command printed on stderr.
func grandchild(t *testing.T, stderr []byte) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(string(stderr)))
	if err != nil || pid <= 0 {
		t.Fatalf("no grandchild pid on stderr: %q", stderr)
	}
	return pid
}

// A process agent that hangs past its timeout is killed with its whole
// process group (the grandchild too), counted as timed out, and the batch
// returns with its siblings' results.
func TestProcessTimeoutKillsGroup(t *testing.T) {
	hang := mustCommand(t, `sh -c 'sleep 60 & echo $! >&2; sleep 60'`)
	res := New(Workers(2), AgentTimeout(300*time.Millisecond)).Run(context.Background(), []Agent{hang, mustCommand(t, "true")})
	r := res[0]
	if r.Outcome != TimedOut || r.ExitCode != -1 || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("hung process: %v exit %d err %v", r.Outcome, r.ExitCode, r.Err)
	}
	if r.Latency > 30*time.Second {
		t.Errorf("hung process returned after %s: not killed", r.Latency)
	}
	if !strings.Contains(r.Err.Error(), "sh: killed: context deadline exceeded (signal: killed)") {
		t.Errorf("error %q", r.Err)
	}
	if res[1].Outcome != OK {
		t.Errorf("sibling: %v %v", res[1].Outcome, res[1].Err)
	}
	waitDead(t, grandchild(t, r.Stderr))
}

// The same under the batch's context instead of an agent timeout.
func TestProcessBatchDeadlineKillsGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := New().Run(ctx, []Agent{mustCommand(t, `sh -c 'sleep 60 & echo $! >&2; sleep 60'`)})
	if r := res[0]; r.Outcome != TimedOut || r.ExitCode != -1 {
		t.Errorf("hung process: %v exit %d err %v", r.Outcome, r.ExitCode, r.Err)
	}
	waitDead(t, grandchild(t, res[0].Stderr))
}

// A program that exits leaving a background child holding stderr open: the
// agent ends when the program does, and the straggler is killed, not left
// running (nor waited for).
func TestProcessStragglerKilled(t *testing.T) {
	c := mustCommand(t, `sh -c 'sleep 60 & echo $! >&2'`)
	res := New().Run(context.Background(), []Agent{c})
	r := res[0]
	if r.Outcome != OK || r.ExitCode != 0 {
		t.Errorf("program: %v exit %d err %v", r.Outcome, r.ExitCode, r.Err)
	}
	if r.Latency > DefaultWaitDelay/2 {
		t.Errorf("agent took %s: it waited for the straggler", r.Latency)
	}
	waitDead(t, grandchild(t, r.Stderr))
}

// A process agent that never started has no exit status.
func TestProcessNotStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := New().Run(ctx, []Agent{mustCommand(t, "true")})
	if r := res[0]; r.Outcome != Canceled || r.ExitCode != -1 || r.Started() {
		t.Errorf("not started: %+v", r)
	}
}

// Command.Run works outside an executor.
func TestCommandRun(t *testing.T) {
	if err := mustCommand(t, "true").Run(context.Background()); err != nil {
		t.Errorf("true: %v", err)
	}
	err := mustCommand(t, `sh -c 'echo bad input >&2; exit 2'`).Run(context.Background())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(err.Error(), `(stderr: "bad input")`) {
		t.Errorf("failing command: %v", err)
	}
	c := &Command{Path: "sh", Args: []string{"-c", "pwd >&2; echo $X >&2; exit 1"}, Dir: t.TempDir(), Env: []string{"X=from-env"}}
	res := New().Run(context.Background(), []Agent{c})
	if lines := strings.Split(strings.TrimSpace(string(res[0].Stderr)), "\n"); len(lines) != 2 || lines[1] != "from-env" || !strings.HasSuffix(lines[0], filepath.Base(c.Dir)) {
		t.Errorf("Dir and Env not applied: stderr %q", res[0].Stderr)
	}
}
