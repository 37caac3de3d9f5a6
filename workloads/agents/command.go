package agents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// StderrTailBytes is how much of a process agent's standard error its Result
// keeps: the end, where the error message usually is.
const StderrTailBytes = 1024

// DefaultWaitDelay bounds how long a process agent waits, after its process
// has exited or been killed, for descendants that escaped its process group
// to close its stderr.
const DefaultWaitDelay = time.Second

// Command is a process-mode agent: each Run starts the program as a new OS
// process in its own process group (on Unix), with stdin and stdout on the
// null device and stderr captured. When the agent's context is done the whole
// group is killed (SIGKILL), and when the program exits any process it left
// behind in its group is killed too, so no agent leaks processes. A Command is
// immutable once built and may be run by many agents at once.
type Command struct {
	// Path is the program; a name without a slash is looked up in PATH at
	// each start (ParseCommand resolves it once instead).
	Path string
	// Args are the arguments, without the program name.
	Args []string
	// Env is the environment; nil inherits perfkit's.
	Env []string
	// Dir is the working directory; "" is perfkit's.
	Dir string
	// WaitDelay bounds the wait for stderr to close once the process is
	// gone (0: DefaultWaitDelay); it is also exec.Cmd's WaitDelay.
	WaitDelay time.Duration

	line string // as the user wrote it, for messages
}

// ParseCommand splits a command line into words the way a POSIX shell does
// (single quotes, double quotes, backslashes) without expanding anything, and
// resolves the program in PATH, so a missing program is a configuration
// error before the run rather than a failure of every agent. Shell syntax
// (pipes, redirections, $, ;, &) is refused with a hint to wrap the line in
// sh -c '...'.
//
// Errors and String show the line with credentials masked (passwords in
// URLs, curl -u user:pass, Authorization headers, --token X).
func ParseCommand(line string) (*Command, error) {
	shown := redactCommand(line)
	words, err := splitWords(line)
	if err != nil {
		return nil, fmt.Errorf("cmd %q: %w", shown, err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("cmd %q: empty command (e.g. sh -c 'sleep 0.01')", shown)
	}
	path, err := exec.LookPath(words[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return nil, fmt.Errorf("cmd %q: program %q: %w", shown, words[0], err)
	}
	return &Command{Path: path, Args: words[1:], line: strings.TrimSpace(line)}, nil
}

// String returns the command line, with credentials masked.
func (c *Command) String() string {
	if c.line != "" {
		return redactCommand(c.line)
	}
	var sb strings.Builder
	sb.WriteString(c.Path)
	for _, a := range c.Args {
		sb.WriteByte(' ')
		sb.WriteString(a)
	}
	return redactCommand(sb.String())
}

// Run runs the command once, outside an executor: nil on exit status 0,
// otherwise an error carrying the status (an *exec.ExitError in its chain)
// and the last line of stderr.
func (c *Command) Run(ctx context.Context) error {
	var r Result
	return c.runProcess(ctx, &r)
}

func (c *Command) waitDelay() time.Duration {
	if c.WaitDelay > 0 {
		return c.WaitDelay
	}
	return DefaultWaitDelay
}

// runProcess runs the command, recording its exit status and stderr tail in
// res (whose Stderr buffer it reuses).
func (c *Command) runProcess(ctx context.Context, res *Result) error {
	res.ExitCode = -1
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	cmd.WaitDelay = c.waitDelay()
	tail := tailBuffer{b: res.Stderr[:0], max: StderrTailBytes}
	err := startAndWait(cmd, &tail, c.waitDelay())
	res.Stderr = tail.b
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
		return nil
	case cmd.ProcessState == nil:
		return fmt.Errorf("%s: start: %w", c.program(), err)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: killed: %w (%w)", c.program(), ctx.Err(), err)
	}
	return fmt.Errorf("%s: %w%s", c.program(), err, stderrHint(res.Stderr))
}

// program is the program's base name, for messages.
func (c *Command) program() string {
	p := c.Path
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// stderrHint is the last non-empty line of stderr, quoted, for an error
// message that must stay one line.
func stderrHint(stderr []byte) string {
	s := bytes.TrimRight(stderr, "\r\n\t ")
	if i := bytes.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) == 0 {
		return ""
	}
	const maxHint = 200
	if len(s) > maxHint {
		s = s[len(s)-maxHint:]
	}
	return " (stderr: " + strconv.Quote(string(s)) + ")"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if n >= t.max {
		t.b = append(t.b[:0], p[n-t.max:]...)
		return n, nil
	}
	if over := len(t.b) + n - t.max; over > 0 {
		t.b = t.b[:copy(t.b, t.b[over:])]
	}
	t.b = append(t.b, p...)
	return n, nil
}

// shellOperators are the characters that mean something to a shell and
// nothing to splitWords: unquoted, they are refused rather than passed to the
// program as literal arguments the user did not intend.
const shellOperators = "|&;<>()$`"

// splitWords splits a command line into words like a POSIX shell, without
// expansion: '...' is literal, "..." honours \" \\ \$ \`, a backslash outside
// quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New(`unterminated " quote`)
			}
			inWord = true
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte(shellOperators, c) >= 0:
			return nil, fmt.Errorf("unquoted %q needs a shell: run it as sh -c '...'", string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
