package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// asPerfkitEnv makes the test binary act as the perfkit binary (see
// TestMain), so the CI recipe's script runs the code under test without a
// separate build.
const asPerfkitEnv = "CMD_TEST_RUN_AS_PERFKIT"

func TestMain(m *testing.M) {
	if os.Getenv(asPerfkitEnv) == "1" {
		os.Exit(Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// The CI recipe: docs/ci/github-actions.yml, whose shell steps live in
// docs/ci/perf-gate.sh, shown verbatim in docs/ci.md.
const (
	recipeWorkflow = "docs/ci/github-actions.yml"
	recipeScript   = "docs/ci/perf-gate.sh"
	recipeDoc      = "docs/ci.md"
)

type workflow struct {
	Name string `yaml:"name"`
	Jobs map[string]struct {
		Steps []workflowStep `yaml:"steps"`
	} `yaml:"jobs"`
}

type workflowStep struct {
	Name string `yaml:"name"`
	Uses string `yaml:"uses"`
	If   string `yaml:"if"`
	Run  string `yaml:"run"`
}

func loadRecipe(t *testing.T) (root string, raw []byte, steps []workflowStep) {
	t.Helper()
	root = filepath.Join(pkgDir, "..")
	raw, err := os.ReadFile(filepath.Join(root, recipeWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s: %v", recipeWorkflow, err)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("%s: want one job, got %d", recipeWorkflow, len(wf.Jobs))
	}
	for _, j := range wf.Jobs {
		steps = j.Steps
	}
	return root, raw, steps
}

// TestCIRecipeFiles checks the workflow parses, every step's shell is a
// command that exists, and docs/ci.md shows the workflow as it is.
func TestCIRecipeFiles(t *testing.T) {
	root, raw, steps := loadRecipe(t)
	if len(steps) == 0 {
		t.Fatalf("%s: no steps", recipeWorkflow)
	}
	st, err := os.Stat(filepath.Join(root, recipeScript))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", recipeScript)
	}
	script, _ := os.ReadFile(filepath.Join(root, recipeScript))
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	built := false
	for i, s := range steps {
		if (s.Uses == "") == (s.Run == "") {
			t.Errorf("step %d (%q): want exactly one of uses and run", i+1, s.Name)
		}
		if s.Uses != "" && !strings.HasPrefix(s.Uses, "actions/") {
			t.Errorf("step %d uses %q: only GitHub's own actions", i+1, s.Uses)
		}
		if s.If != "" {
			if _, err := evalIf(s.If, "push", "refs/heads/main"); err != nil {
				t.Errorf("step %d: %v", i+1, err)
			}
		}
		if strings.Contains(s.Run, "go install") {
			t.Errorf("step %d installs a published module (%q): build from the checkout", i+1, s.Run)
		}
		switch f := strings.Fields(s.Run); {
		case s.Run == "":
		case s.Run == "make build":
			// The binary comes from this checkout, where the script looks.
			if !regexp.MustCompile(`(?m)^build:`).Match(makefile) || !strings.Contains(string(makefile), "-o bin/perfkit") {
				t.Errorf("step %d runs make build, but the Makefile has no build target writing bin/perfkit", i+1)
			}
			built = true
		case len(f) == 2 && f[0] == recipeScript:
			if !strings.Contains(string(script), "\n"+f[1]+")\n") {
				t.Errorf("step %d: %s has no subcommand %q", i+1, recipeScript, f[1])
			}
			if !built {
				t.Errorf("step %d runs %s before make build", i+1, recipeScript)
			}
		default:
			t.Errorf("step %d runs %q: want make build or %s SUBCOMMAND (the shell lives in the script, which the tests run)", i+1, s.Run, recipeScript)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, recipeDoc))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(raw)+"```\n") {
		t.Errorf("%s does not show %s verbatim: copy it into the CI recipe section", recipeDoc, recipeWorkflow)
	}
}

// evalIf evaluates the few GitHub expressions the recipe's conditions use.
func evalIf(expr, event, ref string) (bool, error) {
	m := regexp.MustCompile(`^github\.(event_name|ref) == '([^']*)'$`).FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return false, fmt.Errorf("condition %q: the test knows only github.event_name == '…' and github.ref == '…'; teach evalIf", expr)
	}
	if m[1] == "event_name" {
		return event == m[2], nil
	}
	return ref == m[2], nil
}

// TestCIRecipe runs the workflow's shell steps, as GitHub would, in a
// directory laid out like the checkout: first a push to main (run, save the
// baseline), then a pull request of the same code (run, compare: passes).
// Runs are short; nothing asserts a speed.
func TestCIRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs perfkit several times")
	}
	root, _, steps := loadRecipe(t)
	dir := sandbox(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The checkout: the script, and bin/perfkit as `make build` leaves it
	// (here this test binary acting as perfkit).
	if err := os.MkdirAll(filepath.Join(dir, "docs", "ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, recipeScript), filepath.Join(dir, recipeScript)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", asPerfkitEnv, self)
	if err := os.WriteFile(filepath.Join(dir, "bin", "perfkit"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(dir, "summary.md")
	env := append(os.Environ(),
		"PERF_GATE_RUN_ARGS=fetch --count 3 -d 200ms --warmup 50ms",
		"PERF_GATE_BIN=", "PERF_GATE_BASELINE=", "PERF_GATE_RESULT=", // the defaults
		"GITHUB_STEP_SUMMARY="+summary,
	)

	// job runs the steps for one event until one fails, like Actions does;
	// it returns the failed step's name and exit code, and what they printed.
	job := func(event, ref string, extra ...string) (failed string, code int, out string) {
		t.Helper()
		var log strings.Builder
		for _, s := range steps {
			if s.Run == "" || s.Run == "make build" {
				continue
			}
			if s.If != "" {
				if ok, err := evalIf(s.If, event, ref); err != nil {
					t.Fatal(err)
				} else if !ok {
					continue
				}
			}
			c := exec.Command("bash", "-eo", "pipefail", "-c", s.Run)
			c.Dir = dir
			c.Env = append(append(env[:len(env):len(env)], "GITHUB_EVENT_NAME="+event, "GITHUB_REF="+ref), extra...)
			b, err := c.CombinedOutput()
			fmt.Fprintf(&log, "$ %s\n%s", s.Run, b)
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return s.Name, ee.ExitCode(), log.String()
			} else if err != nil {
				t.Fatalf("%s: %v", s.Run, err)
			}
		}
		return "", 0, log.String()
	}

	// A pull request before main has a baseline: nothing to compare, pass.
	c := exec.Command(filepath.Join(dir, recipeScript), "compare")
	c.Dir, c.Env = dir, env
	if b, err := c.CombinedOutput(); err != nil || !strings.Contains(string(b), "no baseline") {
		t.Fatalf("compare with no baseline: %v\n%s", err, b)
	}

	if failed, code, out := job("push", "refs/heads/main"); failed != "" {
		t.Fatalf("push to main: step %q exited %d\n%s", failed, code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".perfkit", "baselines", "default.json")); err != nil {
		t.Fatalf("push to main saved no baseline: %v", err)
	}

	if err := os.Remove(summary); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	failed, code, out := job("pull_request", "refs/pull/1/merge")
	if failed != "" {
		t.Fatalf("A/A pull request: step %q exited %d, want every step to pass\n%s", failed, code, out)
	}
	if !strings.Contains(out, "docs/ci/perf-gate.sh compare") {
		t.Fatalf("the pull request ran no compare step:\n%s", out)
	}
	if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), "fetch") {
		t.Errorf("job summary: %v\n%s", err, b)
	}

	// A pull request that breaks the service (half the responses fail) must
	// fail the job: its run step exits 3 (every run invalid) or, when some
	// runs were valid, its compare step exits 1 (invalid runs, error_rate).
	failed, code, out = job("pull_request", "refs/pull/2/merge",
		"PERF_GATE_RUN_ARGS=fetch --count 3 -d 200ms --warmup 50ms --server-error-rate 50%")
	if failed == "" || (code != ExitGate && code != ExitMeasure) {
		t.Fatalf("broken pull request: failed step %q, exit %d; want the run (exit %d) or compare (exit %d) step to fail\n%s",
			failed, code, ExitMeasure, ExitGate, out)
	}

	// An unknown step is a usage error, not a silent pass.
	c = exec.Command(filepath.Join(dir, recipeScript), "deploy")
	c.Dir, c.Env = dir, env
	var ee *exec.ExitError
	if err := c.Run(); !errors.As(err, &ee) || ee.ExitCode() != ExitUsage {
		t.Errorf("perf-gate.sh deploy: %v, want exit %d", err, ExitUsage)
	}
}
