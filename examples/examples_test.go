// Package examples_test builds the example programs and runs them as a user
// would: short runs, then compare on their results. Nothing here depends on
// how fast the machine is: an A/A compare may find a "regression" by chance
// on a busy machine, so only the exit codes that mean "broken" (2, 3) fail.
package examples_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goTool is the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no go command to build the examples with")
	}
	return p
}

// build compiles ./NAME into dir and returns the binary's path.
func build(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(t.Context(), goTool(t), "build", "-o", bin, "./"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	return bin
}

// env is the test's environment without PERFKIT_* variables, with the
// config directory in dir: the runs see no perfkit.yaml but their own.
func env(dir string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PERFKIT_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
}

// run runs bin in dir and returns its exit code and output.
func run(t *testing.T, dir, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env(dir), &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return 0, out.String(), errb.String()
}

// gateOK fails the test unless compare's exit code is 0 (no regression)
// or 1 (a regression or invalid runs: the gate said no, which an A/A pair
// may do by chance), and its output names the scenarios.
func gateOK(t *testing.T, code int, out, errs string, scenarios ...string) {
	t.Helper()
	if code != 0 && code != 1 {
		t.Fatalf("compare: exit %d, want 0 or 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, sc := range scenarios {
		if !strings.Contains(out, sc) {
			t.Errorf("compare output does not name scenario %s:\n%s", sc, out)
		}
	}
}

// examples/lrucache: a user's workload run twice through the whole CLI,
// then compared.
func TestLRUCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	dir := t.TempDir()
	bin := build(t, dir, "lrucache")
	code, out, errs := run(t, dir, bin, "workloads")
	if code != 0 || !strings.Contains(out, "lru ") || !strings.Contains(out, "fetch") {
		t.Fatalf("workloads: exit %d, want 0 and lru beside the built-ins\n%s%s", code, out, errs)
	}
	for _, name := range []string{"a.json", "b.json"} {
		code, out, errs := run(t, dir, bin, "run", "lru", "--size", "1000", "--hit-ratio", "80%",
			"-d", "300ms", "--warmup", "0s", "--count", "6", "-c", "2", "-o", name)
		if code != 0 {
			t.Fatalf("run lru: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		for _, want := range []string{"lru", "hit", "miss", "evictions"} {
			if !strings.Contains(out, want) {
				t.Errorf("run lru: output lacks %q:\n%s", want, out)
			}
		}
	}
	code, out, errs = run(t, dir, bin, "compare", "--all", "a.json", "b.json")
	gateOK(t, code, out, errs, "lru")

	code, _, errs = run(t, dir, bin, "run", "lru", "--size", "0", "--no-save")
	if code != 2 || !strings.Contains(errs, "size 0: want 1..16777216") {
		t.Errorf("run lru --size 0: exit %d, stderr %q; want exit 2 naming the value", code, errs)
	}
}

// examples/embed: scenarios run with bench.Run, no command line; its
// result file is one perfkit reads.
func TestEmbed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	dir := t.TempDir()
	bin := build(t, dir, "embed")
	code, out, errs := run(t, dir, bin, "-d", "200ms", "-count", "2", "-o", "e.json")
	if code != 0 {
		t.Fatalf("embed: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, sc := range []string{"rwmutex-map", "sync-map"} {
		if !strings.Contains(out, sc+" ") || !strings.Contains(out, "p99 ") || !strings.Contains(out, "ops/s") {
			t.Errorf("embed output lacks %s's p99 and throughput:\n%s", sc, out)
		}
	}
	perfkit := build(t, dir, "lrucache") // any perfkit binary reads the file
	code, out, errs = run(t, dir, perfkit, "compare", "--all", "e.json", "e.json")
	gateOK(t, code, out, errs, "rwmutex-map", "sync-map")
}
