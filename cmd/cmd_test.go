package cmd

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

func TestVersion(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, "version")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	norm := strings.NewReplacer(runtime.Version(), "GOVERSION", runtime.GOOS+"/"+runtime.GOARCH, "OS/ARCH").Replace(out)
	golden(t, "version.golden", norm)

	code, out2, _ := cli(t, "--version")
	if code != 0 || out2 != out {
		t.Errorf("--version: exit %d, %q; want %q", code, out2, out)
	}
}

func TestVersionFromLdflags(t *testing.T) {
	oldV, oldC := version, commit
	t.Cleanup(func() { version, commit = oldV, oldC })
	version, commit = "v1.2.3", "abc1234"
	want := fmt.Sprintf("perfkit v1.2.3 (commit abc1234, %s %s/%s)", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if got := versionString(); got != want {
		t.Errorf("versionString() = %q, want %q", got, want)
	}
}

func TestWorkloads(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, "workloads")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "workloads.golden", out)

	code, out, errOut = cli(t, "workloads", "fetch")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "workloads_fetch.golden", out)
}

func TestWorkloadsBadInput(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, "workloads", "nope")
	if code != ExitUsage || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	oneErrorLine(t, errOut, `unknown workload "nope"`, "workloads: ", "fetch")

	code, _, errOut = cli(t, "workloads", "a", "b")
	if code != ExitUsage {
		t.Errorf("two names: exit %d", code)
	}
	oneErrorLine(t, errOut, "accepts at most 1 arg", "run 'perfkit workloads --help'")
}

func TestRunHelp(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, "run", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "run_help.golden", out)
}

func TestCompletion(t *testing.T) {
	sandbox(t)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := cli(t, "completion", sh)
		if code != 0 || errOut != "" || !strings.Contains(out, "perfkit") {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes", sh, code, errOut, len(out))
		}
	}
	code, _, errOut := cli(t, "completion", "tcsh")
	if code != ExitUsage {
		t.Errorf("completion tcsh: exit %d", code)
	}
	oneErrorLine(t, errOut, "tcsh")
}

func TestUsageErrors(t *testing.T) {
	sandbox(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--frobnicate"}, []string{"unknown flag: --frobnicate", "run 'perfkit run --help'"}},
		{[]string{"run", "-c", "many"}, []string{`"many"`, "-c, --concurrency", "run 'perfkit run --help'"}},
		{[]string{"rn"}, []string{`unknown command "rn"`, "did you mean run", "run 'perfkit --help'"}},
		{[]string{"version", "extra"}, []string{`unknown command "extra"`, "run 'perfkit version --help'"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			if code != ExitUsage || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			oneErrorLine(t, errOut, tc.want...)
		})
	}
}

func TestExitCode(t *testing.T) {
	setup := &bench.SetupError{Scenario: "x", Err: errors.New("boom")}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{gateErr(errors.New("p99 regressed")), ExitGate},
		{errors.New("bad flag"), ExitUsage},
		{&usageError{err: errors.New("x")}, ExitUsage},
		{measureErr(errors.New("every op failed")), ExitMeasure},
		{setup, ExitMeasure},
		{fmt.Errorf("wrapped: %w", setup), ExitMeasure},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestPanicIsOneLine(t *testing.T) {
	sandbox(t)
	defs := []bench.Definition{{Name: "boom", Help: "panics", New: func(bench.Values) (bench.Workload, error) {
		panic("kaboom\nwith a second line")
	}}}
	code, _, errOut := cliWith(t, t.Context(), func(f *Factory) { f.Workloads = defs }, "run", "boom", "-d", "100ms")
	if code != ExitMeasure {
		t.Errorf("exit %d, want %d", code, ExitMeasure)
	}
	if errOut != "perfkit: internal error: kaboom with a second line\n" {
		t.Errorf("stderr %q", errOut)
	}
}

func TestParamClashingWithRunFlag(t *testing.T) {
	sandbox(t)
	defs := []bench.Definition{{Name: "bad", New: func(bench.Values) (bench.Workload, error) { return &fakeWorkload{}, nil },
		Params: []bench.Param{{Name: "timeout", Kind: bench.Duration}}}}
	if _, err := registry(defs).paramFlags(); err == nil || !strings.Contains(err.Error(), `"timeout" clashes with the run flag --timeout`) {
		t.Errorf("paramFlags() error = %v", err)
	}
	if _, err := registry(builtinWorkloads()).paramFlags(); err != nil {
		t.Errorf("built-in workloads: %v", err)
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "plain",
		"a\nb\r\n c ": "a b c",
		"unknown command \"rn\" for \"perfkit\"\n\nDid you mean this?\n\trun\n\trunx\n": `unknown command "rn" for "perfkit" (did you mean run, runx?)`,
		"keeps  inner  spaces": "keeps  inner  spaces",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cret", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		in, want string
		unset    []string
	}{
		{"Bearer ${TOKEN}", "Bearer s3cret", nil},
		{"${TOKEN}${TOKEN}", "s3cret" + "s3cret", nil},
		{"$TOKEN and pa$$word stay", "$TOKEN and pa$$word stay", nil},
		{"$${TOKEN} is literal", "${TOKEN} is literal", nil},
		{"${MISSING}x", "x", []string{"MISSING"}},
		{"${MISSING:-dflt}", "dflt", nil},
		{"${EMPTY:-dflt}", "dflt", nil},
		{"${EMPTY}", "", nil},
		{"${unterminated", "${unterminated", nil},
	} {
		got, unset := expandEnv(tc.in, lookup)
		if got != tc.want || fmt.Sprint(unset) != fmt.Sprint(tc.unset) {
			t.Errorf("expandEnv(%q) = %q, %v; want %q, %v", tc.in, got, unset, tc.want, tc.unset)
		}
	}
}
