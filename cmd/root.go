// Package cmd is perfkit's command line: cobra commands that turn flags, the
// PERFKIT_* environment and the config file into one call into a library.
// It is the only package that touches viper, os.Exit, signals and TTYs.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/perfkit/perfkit/bench"
)

// Set at link time: -ldflags "-X github.com/perfkit/perfkit/cmd.version=v1.2.3
// -X github.com/perfkit/perfkit/cmd.commit=abc1234". Empty means: ask the
// build info.
var (
	version string
	commit  string
)

// IOStreams are the writers a command prints to, and what they are attached to.
type IOStreams struct {
	Out    io.Writer // results: tables, JSON
	ErrOut io.Writer // diagnostics: errors, the result path, progress
	errTTY bool
}

// NewIOStreams wraps stdout and stderr; progress is drawn only when stderr is
// a terminal.
func NewIOStreams(stdout, stderr io.Writer) *IOStreams {
	return &IOStreams{Out: stdout, ErrOut: stderr, errTTY: isTerminal(stderr)}
}

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Factory holds what commands share: the streams, the one viper instance,
// the workload registry and the process hooks tests replace.
type Factory struct {
	IO        *IOStreams
	Viper     *viper.Viper
	Workloads []bench.Definition
	// Suite names the workloads `perfkit run` runs given no names and no
	// config file; nil: every one of Workloads. A program with workloads of
	// its own (ExecuteWith) runs those: the built-ins stay a name away.
	Suite []string
	// Notify subscribes c to SIGINT and SIGTERM; the returned func unsubscribes.
	Notify func(c chan<- os.Signal) (stop func())
	// Exit ends the process at once (a second signal during a run).
	Exit func(code int)
	// Now is the clock of result IDs, timestamps and file names.
	Now func() time.Time
	// WriteResult writes a result file (nil: atomically, to the disk);
	// tests inject one that fails like a full disk.
	WriteResult func(res *bench.Result, path string) error
}

func newFactory(stdout, stderr io.Writer) *Factory {
	return &Factory{
		IO:        NewIOStreams(stdout, stderr),
		Viper:     viper.New(),
		Workloads: builtinWorkloads(),
		Notify: func(c chan<- os.Signal) func() {
			signal.Notify(c, os.Interrupt, syscall.SIGTERM)
			return func() { signal.Stop(c) }
		},
		Exit: os.Exit,
		Now:  time.Now,
	}
}

// Execute runs the perfkit command line args (without the program name) and
// returns the process exit code. Errors are printed as one line on stderr.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ExecuteWith(ctx, args, stdout, stderr, nil)
}

// ExecuteWith is Execute with a program's own workloads added after the
// built-in ones (the cli package's entry). A definition perfkit cannot
// offer (a name a built-in has, no constructor...) is a usage error, exit 2,
// whatever the command.
func ExecuteWith(ctx context.Context, args []string, stdout, stderr io.Writer, extra []bench.Definition) int {
	// go-redis logs dial failures through a process-wide logger; a Redis
	// going away mid-run is counted (l2_errors), not sprayed on stderr.
	redis.SetLogger(&logging.VoidLogger{})
	f := newFactory(stdout, stderr)
	ws, err := withWorkloads(f.Workloads, extra)
	if err != nil {
		fmt.Fprintf(stderr, "perfkit: %s\n", oneLine(err.Error()))
		return ExitUsage
	}
	f.Workloads = ws
	if len(extra) > 0 {
		f.Suite = registry(extra).names()
	}
	return execute(ctx, args, f)
}

func execute(ctx context.Context, args []string, f *Factory) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(f.IO.ErrOut, "perfkit: internal error: %s\n", oneLine(bench.RedactText(fmt.Sprint(r))))
			code = ExitMeasure
		}
	}()
	root := NewCmdRoot(f)
	reached := false // flags and args parsed: errors from here on are perfkit's own
	root.PersistentPreRun = func(*cobra.Command, []string) { reached = true }
	root.SetArgs(args)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	if !reached && !errors.As(err, &ue) {
		// cobra's own: unknown command, wrong number of args.
		err = &usageError{err: err, hint: helpHint(c)}
	}
	// The last line of defence against a secret quoted in an error (cmd/redact.go).
	fmt.Fprintf(f.IO.ErrOut, "perfkit: %s\n", oneLine(bench.RedactText(err.Error())))
	return exitCode(err)
}

// NewCmdRoot builds the perfkit command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "perfkit",
		Short: "Benchmark concurrent systems: how fast is it, and did it just get slower?",
		Long: `perfkit drives workload scenarios through one engine, records latency and
throughput with HDR histograms, and saves each run as a JSON result.

Exit codes: 0 done; 1 the gate said no; 2 usage, configuration or input error;
3 the run could not measure.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err, hint: helpHint(c)}
	})
	cmds := []*cobra.Command{
		NewCmdRun(f, nil),
		NewCmdWorkloads(f, nil),
		NewCmdBaseline(f),
		NewCmdHistory(f),
		NewCmdCompare(f, nil),
		NewCmdMerge(f, nil),
		NewCmdAB(f, nil),
		NewCmdProfile(f, nil),
		NewCmdReport(f, nil),
		NewCmdVersion(f),
	}
	root.AddCommand(cmds...)
	registerCompletions(f, cmds...)
	root.InitDefaultCompletionCmd()
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp.Name() == "completion" {
		// cobra's completion shows help for any unknown shell and exits 0;
		// a typo in a CI script should fail instead.
		comp.Args = cobra.MaximumNArgs(1)
		comp.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return &usageError{err: fmt.Errorf("unknown shell %q (accepted: bash, zsh, fish, powershell)", args[0]), hint: helpHint(c)}
		}
	}
	return root
}

func helpHint(c *cobra.Command) string {
	if c == nil {
		return "run 'perfkit --help'"
	}
	return fmt.Sprintf("run '%s --help'", c.CommandPath())
}

// oneLine folds a multi-line message (cobra's "Did you mean this?") into one.
func oneLine(msg string) string {
	msg = strings.TrimSpace(msg)
	if head, sugg, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		msg = head + " (did you mean " + strings.Join(strings.Fields(sugg), ", ") + "?)"
	}
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}
