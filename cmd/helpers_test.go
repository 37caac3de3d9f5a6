package cmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sandbox moves the test into an empty directory with no config file to
// find and no PERFKIT_* variables, so results land in a temp .perfkit.
func sandbox(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("HOME", dir)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PERFKIT_") {
			t.Setenv(k, "") // empty counts as unset
		}
	}
	return dir
}

// cli runs perfkit in-process like main does.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return cliCtx(t, context.Background(), args...)
}

func cliCtx(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// cliWith runs perfkit with a factory the test adjusts (fake workloads,
// fake signals).
func cliWith(t *testing.T, ctx context.Context, adjust func(*Factory), args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	f := newFactory(&out, &errb)
	adjust(f)
	code := execute(ctx, args, f)
	return code, out.String(), errb.String()
}

// resolveRun parses a `perfkit run` command line and returns what it resolved
// to, without running anything.
func resolveRun(t *testing.T, defs []bench.Definition, args ...string) (*RunOptions, error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := newFactory(&out, &errb)
	if defs != nil {
		f.Workloads = defs
	}
	var got *RunOptions
	c := NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SilenceErrors, c.SilenceUsage = true, true
	if err := c.Execute(); err != nil {
		return nil, err
	}
	return got, nil
}

func mustResolve(t *testing.T, defs []bench.Definition, args ...string) *RunOptions {
	t.Helper()
	o, err := resolveRun(t, defs, args...)
	if err != nil {
		t.Fatalf("resolve %q: %v", args, err)
	}
	return o
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	// Tests chdir into a sandbox: resolve against the package directory.
	path := filepath.Join(pkgDir, "testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// pkgDir is the package directory, captured before any test changes it.
var pkgDir = func() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}()

// resultFiles lists the files of the default results directory.
func resultFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(ResultsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// oneErrorLine checks stderr is exactly one "perfkit: ..." line containing
// every want.
func oneErrorLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "perfkit: ") || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not one perfkit: line: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not name %q", stderr, w)
		}
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr has a stack trace: %q", stderr)
	}
}

// fakeWorkload is a trivial op for tests that need a workload other than
// fetch: it sleeps for the param "sleep", if any, and calls onOp, if set,
// as each op starts (so a test can act once the run is under way however
// slow the machine, not after a guessed delay).
type fakeWorkload struct {
	sleep time.Duration
	onOp  func()
}

func (w *fakeWorkload) Setup(context.Context, *bench.Setup) error { return nil }
func (w *fakeWorkload) Teardown(context.Context) error            { return nil }
func (w *fakeWorkload) Op(ctx context.Context, _ *bench.Worker) (bench.Label, error) {
	if w.onOp != nil {
		w.onOp()
	}
	if w.sleep > 0 {
		t := time.NewTimer(w.sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return 0, nil
}

// afterOps returns a fake workload definition, name, whose ops take a
// millisecond; once n ops have started it calls do, once.
func afterOps(name string, n int64, do func()) bench.Definition {
	var ops atomic.Int64
	wl := &fakeWorkload{sleep: time.Millisecond, onOp: func() {
		if ops.Add(1) == n {
			do()
		}
	}}
	return bench.Definition{Name: name, Help: "ticks", New: func(bench.Values) (bench.Workload, error) { return wl, nil }}
}

// fakeDefs are two workloads sharing the param name "size" with different
// kinds, and each with a param of its own.
func fakeDefs() []bench.Definition {
	newFake := func(v bench.Values) (bench.Workload, error) { return &fakeWorkload{}, nil }
	return []bench.Definition{
		{Name: "alpha", Help: "fake a", New: newFake, Params: []bench.Param{
			{Name: "size", Kind: bench.Int, Default: "1", Help: "an int"},
			{Name: "only-alpha", Kind: bench.Bool, Default: "false", Help: "alpha's"},
		}},
		{Name: "beta", Help: "fake b", New: newFake, Params: []bench.Param{
			{Name: "size", Kind: bench.String, Default: "small", Help: "a string"},
			{Name: "only-beta", Kind: bench.Strings, Help: "beta's"},
		}},
	}
}

// measuredOK accepts a run that exited 0, or 3 only because every run was
// judged invalid: a test whose target lives in the test process (an
// httptest server declared external) may find perfkit's CPU "saturated"
// when the machine is idle and fast, and its result is saved all the same.
// Tests of validity itself check exit codes exactly.
func measuredOK(code int, stderr string) bool {
	return code == ExitOK || code == ExitMeasure && strings.Contains(stderr, "could not measure: every run of") && strings.Contains(stderr, "invalid")
}

// hangingHTTP is a server that takes each request and never answers it
// (until the client gives up or the test ends): a webhook that hangs.
func hangingHTTP(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	// Cleanups run last-in first-out: release the handlers, then close.
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	return hang
}
