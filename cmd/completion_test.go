package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// complete asks perfkit for completions as a shell does (cobra's hidden
// __complete command) and returns the values offered, without descriptions.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := cli(t, append([]string{"__complete"}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, errOut)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || strings.HasPrefix(line, ":") { // the directive
			continue
		}
		name, _, _ := strings.Cut(line, "\t")
		got = append(got, name)
	}
	return got
}

func TestCompletionValues(t *testing.T) {
	dir := sandbox(t)
	writeFile(t, ConfigFileName, "baseline-dir: bl\nscenarios:\n  - {name: api, workload: fetch}\n  - {name: hot-cache, workload: cache}\n")
	if err := os.MkdirAll(filepath.Join(dir, "bl"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main", "release-1.2"} {
		writeFile(t, filepath.Join("bl", name+".json"), "{}")
	}
	writeFile(t, filepath.Join("bl", "notes.txt"), "not a baseline")
	workloads := []string{"agents", "cache", "fetch", "pool"}
	baselines := []string{"main", "release-1.2"}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		// Arguments: the config's scenarios, then the workloads; those given are left out.
		{[]string{"run", ""}, append([]string{"api", "hot-cache"}, workloads...)},
		{[]string{"run", "api", ""}, append([]string{"hot-cache"}, workloads...)},
		{[]string{"profile", "cpu", ""}, append([]string{"api", "hot-cache"}, workloads...)},
		{[]string{"ab", ""}, append([]string{"api", "hot-cache"}, workloads...)},
		{[]string{"ab", "api", "fetch", ""}, nil},
		// Baselines, from the config's baseline-dir.
		{[]string{"baseline", "show", ""}, baselines},
		{[]string{"baseline", "rm", ""}, baselines},
		{[]string{"baseline", "rm", "main", ""}, nil},
		{[]string{"compare", "--baseline", ""}, baselines},
		{[]string{"run", "--compare", ""}, baselines},
		// Flags with fixed values.
		{[]string{"run", "--format", ""}, []string{"table", "json", "markdown", "csv"}},
		{[]string{"compare", "--format", ""}, []string{"table", "json", "markdown", "csv", "html", "junit"}},
		{[]string{"report", "--format", ""}, []string{"table", "json", "markdown", "csv", "html"}},
		{[]string{"profile", "top", "--format", ""}, []string{"table", "markdown", "json"}},
		{[]string{"run", "--arrival", ""}, []string{"constant", "poisson"}},
		{[]string{"compare", "--fail-on", ""}, []string{"regression", "invalid", "inconclusive", "never"}},
		{[]string{"ab", "--fail-on", ""}, []string{"regression", "invalid", "inconclusive", "never"}},
		{[]string{"profile", "top", "--sort", ""}, []string{"cum", "flat"}},
		{[]string{"profile", "heap", "--sort", ""}, []string{"cum", "flat"}},
		{[]string{"run", "--profile", ""}, []string{"cpu", "heap", "allocs", "mutex", "block", "goroutine"}},
		{[]string{"run", "--profile", "cpu,"}, []string{"cpu,heap", "cpu,allocs", "cpu,mutex", "cpu,block", "cpu,goroutine"}},
	} {
		if got := complete(t, tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}

	// --sweep offers PARAM= for the run settings and the workloads' params.
	sweep := complete(t, "run", "fetch", "--sweep", "")
	for _, want := range []string{"concurrency=", "rate=", "server-latency=", "max-open="} {
		if !slices.Contains(sweep, want) {
			t.Errorf("--sweep offers %q, not %q", sweep, want)
		}
	}

	// --baseline-dir given on the line wins over the config's.
	if err := os.MkdirAll(filepath.Join(dir, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join("other", "nightly.json"), "{}")
	if got := complete(t, "baseline", "show", "--baseline-dir", "other", ""); !slices.Equal(got, []string{"nightly"}) {
		t.Errorf("baseline show --baseline-dir other: %q, want [nightly]", got)
	}
	// A broken config file offers the workloads, and prints no error.
	writeFile(t, ConfigFileName, "scenarios: [\n")
	if got := complete(t, "run", ""); !slices.Equal(got, workloads) {
		t.Errorf("with a broken config: %q, want the workloads %q", got, workloads)
	}
}
