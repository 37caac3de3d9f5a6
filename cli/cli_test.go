package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/cli"
	"github.com/perfkit/perfkit/cmd"
)

// counter is the smallest workload: every op adds step to a counter.
type counter struct {
	step int64
	n    bench.Counter
}

func (c *counter) Setup(_ context.Context, s *bench.Setup) error {
	s.Embedded = true // in-process: its CPU is not the load generator's
	c.n = s.Counter("ticks")
	return nil
}

func (c *counter) Op(_ context.Context, w *bench.Worker) (bench.Label, error) {
	w.Count(c.n, c.step)
	return 0, nil
}

func (c *counter) Teardown(context.Context) error { return nil }

func tick() bench.Definition {
	return bench.Definition{
		Name:   "tick",
		Help:   "count ticks",
		Params: []bench.Param{{Name: "step", Kind: bench.Int, Default: "1", Help: "ticks per op"}},
		New:    func(v bench.Values) (bench.Workload, error) { return &counter{step: v.Int("step")}, nil },
	}
}

func run(t *testing.T, defs []bench.Definition, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb, defs...)
	return code, out.String(), errb.String()
}

// A program's workload is listed and run beside the built-ins.
func TestRunOwnWorkload(t *testing.T) {
	code, out, errs := run(t, []bench.Definition{tick()}, "workloads")
	if code != cli.ExitOK || !strings.Contains(out, "tick") || !strings.Contains(out, "fetch") {
		t.Fatalf("workloads: exit %d, stdout %q, stderr %q; want tick beside the built-ins", code, out, errs)
	}
	path := t.TempDir() + "/r.json"
	code, out, errs = run(t, []bench.Definition{tick()}, "run", "tick", "-n", "200", "--warmup", "0s", "--count", "2", "-c", "1", "--step", "3", "-o", path)
	if code != cli.ExitOK {
		t.Fatalf("run tick: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	res, err := bench.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Scenarios[0]
	if sr.Workload != "tick" || len(sr.Runs) != 2 || sr.Params["step"] != float64(3) {
		t.Fatalf("result: workload %q, %d runs, params %v; want tick, 2 runs, step 3", sr.Workload, len(sr.Runs), sr.Params)
	}
	if got := sr.Runs[0].Counters["ticks"]; got != 3*sr.Runs[0].Ops || got == 0 {
		t.Errorf("ticks %d, ops %d: want three ticks per op (--step 3)", got, sr.Runs[0].Ops)
	}
}

// With no names and no config file, run runs the program's workloads, not
// the built-ins' default suite.
func TestRunDefaultSuiteIsTheProgramsOwn(t *testing.T) {
	t.Chdir(t.TempDir()) // no perfkit.yaml
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errs := run(t, []bench.Definition{tick()}, "run", "-n", "50", "--warmup", "0s", "--no-save", "--format", "json")
	if code != cli.ExitOK {
		t.Fatalf("run: exit %d, stderr %q", code, errs)
	}
	res, err := bench.DecodeResult([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Scenarios {
		got = append(got, s.Name)
	}
	if len(got) != 1 || got[0] != "tick" {
		t.Errorf("scenarios run: %v, want [tick]", got)
	}
}

// cli's exit codes are the command line's.
func TestExitCodes(t *testing.T) {
	for _, c := range [][2]int{{cli.ExitOK, cmd.ExitOK}, {cli.ExitGate, cmd.ExitGate}, {cli.ExitUsage, cmd.ExitUsage}, {cli.ExitMeasure, cmd.ExitMeasure}} {
		if c[0] != c[1] {
			t.Errorf("cli exit code %d, cmd's %d", c[0], c[1])
		}
	}
}

// A definition perfkit could not offer by name fails every command with
// exit 2 and one line naming it.
func TestRunRefusesBadDefinitions(t *testing.T) {
	mk := func(edit func(*bench.Definition)) bench.Definition {
		d := tick()
		edit(&d)
		return d
	}
	for _, c := range []struct {
		name string
		defs []bench.Definition
		want string
	}{
		{"builtin name", []bench.Definition{mk(func(d *bench.Definition) { d.Name = "cache" })}, `workload "cache" is already defined by a built-in workload`},
		{"twice", []bench.Definition{tick(), tick()}, `workload "tick" is already defined by another workload given to the program`},
		{"no name", []bench.Definition{mk(func(d *bench.Definition) { d.Name = "" })}, `workload name ""`},
		{"flag-like name", []bench.Definition{mk(func(d *bench.Definition) { d.Name = "-x" })}, `workload name "-x"`},
		{"no New", []bench.Definition{mk(func(d *bench.Definition) { d.New = nil })}, "workload tick: Definition.New is nil"},
		{"param twice", []bench.Definition{mk(func(d *bench.Definition) { d.Params = append(d.Params, d.Params[0]) })}, `param name "step" is empty or declared twice`},
		{"param is a run flag", []bench.Definition{mk(func(d *bench.Definition) { d.Params[0].Name = "duration" })}, `"duration" clashes with the run flag --duration`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, c.defs, "version")
			if code != cli.ExitUsage || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", code, out, errs, c.want)
			}
		})
	}
}

// A program's main adds its workloads to perfkit's command line: the
// program then takes every perfkit command (run tick -d 10s --count 5,
// compare, profile cpu tick...).
func ExampleMain() {
	cli.Main(tick()) // tick: a bench.Definition
}

// Run is Main with the arguments, writers and exit code in the caller's
// hands: for tests, or a program that does more around the command line.
func ExampleRun() {
	code := cli.Run(context.Background(), []string{"workloads", "tick"}, os.Stdout, os.Stderr, tick())
	fmt.Println("exit", code)
	// Output:
	// tick: count ticks
	//
	// PARAM  TYPE  DEFAULT  DESCRIPTION
	// step   int   1        ticks per op
	//
	// Set a param with --NAME on 'perfkit run tick', under params: in perfkit.yaml, or as PERFKIT_NAME.
	// exit 0
}
