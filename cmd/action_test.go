package cmd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The GitHub Action: action.yml at the repository root, whose shell steps
// call docs/ci/perf-gate.sh.
const actionFile = "action.yml"

type action struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string  `yaml:"description"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

func loadAction(t *testing.T) (root string, a action) {
	t.Helper()
	root = filepath.Join(pkgDir, "..")
	raw, err := os.ReadFile(filepath.Join(root, actionFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: %v", actionFile, err)
	}
	return root, a
}

var exprRe = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// TestActionFile checks action.yml is a composite action GitHub will load:
// the required keys, steps with exactly one of uses and run, a shell on
// every run step, only GitHub's own actions, inputs and step ids that exist
// wherever an expression names them, and a perfkit flag for every flag the
// action and its script pass.
func TestActionFile(t *testing.T) {
	root, a := loadAction(t)
	if a.Name == "" || a.Description == "" {
		t.Errorf("%s: name and description are required", actionFile)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("%s: runs.using %q, want composite", actionFile, a.Runs.Using)
	}
	for _, in := range []string{"args", "baseline", "fail-on"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("%s: no input %q", actionFile, in)
		}
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("input %s: no description", name)
		}
	}
	var ids []string
	checkExprs := func(where, s string) {
		for _, m := range exprRe.FindAllStringSubmatch(s, -1) {
			for _, ref := range regexp.MustCompile(`\b(inputs|steps)\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(m[1], -1) {
				switch ref[1] {
				case "inputs":
					if _, ok := a.Inputs[ref[2]]; !ok {
						t.Errorf("%s: ${{ %s }} names input %q, which is not declared", where, m[1], ref[2])
					}
				case "steps":
					if !slices.Contains(ids, ref[2]) {
						t.Errorf("%s: ${{ %s }} names step %q, which is not an earlier step's id", where, m[1], ref[2])
					}
				}
			}
		}
	}
	scripts := []string{}
	for i, s := range a.Runs.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.Name)
		if (s.Uses == "") == (s.Run == "") {
			t.Errorf("%s: want exactly one of uses and run", where)
		}
		if s.Run != "" && s.Shell == "" {
			t.Errorf("%s: a composite action's run step needs a shell", where)
		}
		if s.Uses != "" && !strings.HasPrefix(s.Uses, "actions/") {
			t.Errorf("%s uses %q: only GitHub's own actions", where, s.Uses)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("%s: an expression inside run: (pass it through env: instead, so no input becomes shell code)", where)
		}
		if s.If != "" {
			checkExprs(where, "${{ "+s.If+" }}")
		}
		for _, v := range s.Env {
			checkExprs(where, v)
		}
		for _, v := range s.With {
			checkExprs(where, v)
		}
		if v, ok := s.Env["PERF_GATE_SCRIPT"]; ok {
			rel := strings.TrimPrefix(strings.TrimSpace(exprRe.ReplaceAllString(v, "")), "/")
			st, err := os.Stat(filepath.Join(root, rel))
			if err != nil || st.Mode()&0o111 == 0 {
				t.Errorf("%s: PERF_GATE_SCRIPT %s is not an executable file of the repository", where, v)
			}
			scripts = append(scripts, rel)
		}
		scripts = append(scripts, s.Run)
		if s.ID != "" {
			ids = append(ids, s.ID)
		}
	}
	for name, o := range a.Outputs {
		checkExprs("output "+name, o.Value)
	}
	if len(scripts) == 0 {
		t.Fatal("no run steps")
	}

	// Every perfkit flag the action's steps and the script pass exists.
	script, err := os.ReadFile(filepath.Join(root, recipeScript))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(scripts, "\n") + "\n" + string(script) + "\nperfkit run " + *a.Inputs["args"].Default
	var code []string // comments and messages say "perfkit" too
	for line := range strings.Lines(text) {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && !strings.Contains(l, "echo ") {
			code = append(code, line)
		}
	}
	text = strings.Join(code, "")
	call := regexp.MustCompile(`(?:\bperfkit|"\$bin"|/perfkit")\s+(baseline\s+[a-z]+|[a-z]+)\b([^\n|;&>]*)`)
	checked := 0
	for _, m := range call.FindAllStringSubmatch(text, -1) {
		sub := strings.Fields(m[1])
		exit, help, _ := cli(t, append(slices.Clone(sub), "--help")...)
		if exit != ExitOK {
			t.Errorf("perfkit %s: not a command (exit %d)", m[1], exit)
			continue
		}
		for _, fl := range regexp.MustCompile(`(?:^|\s)(--?[a-z][a-z-]*)`).FindAllStringSubmatch(m[2], -1) {
			f := fl[1]
			if !regexp.MustCompile(`(?m)^\s+(-[a-z], )?` + regexp.QuoteMeta(f) + `\b|, ` + regexp.QuoteMeta(f) + `\b`).MatchString(help) {
				t.Errorf("perfkit %s has no flag %s (used in the action or %s)", m[1], f, recipeScript)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("checked %d flags: the pattern finds no perfkit calls", checked)
	}
}

// evalExpr evaluates the GitHub expressions action.yml uses: ==, !=, &&,
// || (no parentheses), 'literals', always(), and the contexts in ctx.
func evalExpr(t *testing.T, expr string, ctx map[string]string) string {
	t.Helper()
	val := func(atom string) string {
		atom = strings.TrimSpace(atom)
		if strings.HasPrefix(atom, "'") && strings.HasSuffix(atom, "'") {
			return strings.Trim(atom, "'")
		}
		if atom == "always()" {
			return "true"
		}
		v, ok := ctx[atom]
		if !ok && !strings.HasPrefix(atom, "steps.") {
			t.Fatalf("expression %q: unknown %q: teach evalExpr", expr, atom)
		}
		return v // a step that did not run has no outputs: ''
	}
	truthy := func(s string) bool { return s != "" && s != "false" && s != "0" }
	anyTrue := false
	for _, or := range strings.Split(expr, "||") {
		all := true
		for _, and := range strings.Split(or, "&&") {
			var ok bool
			switch {
			case strings.Contains(and, "=="):
				l, r, _ := strings.Cut(and, "==")
				ok = val(l) == val(r)
			case strings.Contains(and, "!="):
				l, r, _ := strings.Cut(and, "!=")
				ok = val(l) != val(r)
			default:
				ok = truthy(val(and))
			}
			all = all && ok
		}
		anyTrue = anyTrue || all
	}
	if strings.ContainsAny(expr, "=!&|") || strings.Contains(expr, "()") {
		return fmt.Sprint(anyTrue)
	}
	return val(expr)
}

// TestAction runs the action's shell steps as GitHub would (the uses:
// steps stand in: the cache is the shared directory, Go and the build are
// this test binary): a push to main (nothing to compare yet, the baseline
// saved), a pull request of the same code (passes, a summary and JUnit
// written), a pull request that breaks the service (the job fails), and a
// push to a branch that is not the default (no baseline saved).
func TestAction(t *testing.T) {
	if testing.Short() {
		t.Skip("runs perfkit several times")
	}
	root, a := loadAction(t)
	dir := sandbox(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "runner-temp")
	if err := os.MkdirAll(filepath.Join(tmp, "perfkit-bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", asPerfkitEnv, self)
	if err := os.WriteFile(filepath.Join(tmp, "perfkit-bin", "perfkit"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(dir, "summary.md")

	// job runs the action for one event; it returns the step that failed
	// (GitHub stops there), its exit code, and the log.
	job := func(event, refName string, inputs map[string]string) (failed string, code int, log string) {
		t.Helper()
		ctx := map[string]string{
			"github.action_path":                     root,
			"github.event_name":                      event,
			"github.ref_name":                        refName,
			"github.event.repository.default_branch": "main",
			"github.run_id":                          "42",
			"runner.temp":                            tmp,
		}
		for name, in := range a.Inputs {
			ctx["inputs."+name] = *in.Default
		}
		for k, v := range inputs {
			ctx["inputs."+k] = v
		}
		var out strings.Builder
		for _, s := range a.Runs.Steps {
			if s.If != "" && evalExpr(t, s.If, ctx) != "true" {
				if s.ID != "" {
					ctx["steps."+s.ID+".outcome"] = "skipped"
				}
				continue
			}
			if s.Run == "" || strings.Contains(s.Run, "go build") {
				continue // actions/* and the build: stood in for above
			}
			outFile := filepath.Join(dir, "github-output")
			_ = os.Remove(outFile)
			env := append(os.Environ(), "GITHUB_OUTPUT="+outFile, "GITHUB_STEP_SUMMARY="+summary, "RUNNER_TEMP="+tmp, "GITHUB_PATH="+filepath.Join(dir, "github-path"))
			for k, v := range s.Env {
				env = append(env, k+"="+exprRe.ReplaceAllStringFunc(v, func(m string) string {
					return evalExpr(t, exprRe.FindStringSubmatch(m)[1], ctx)
				}))
			}
			c := exec.Command("bash", "-eo", "pipefail", "-c", s.Run)
			c.Dir, c.Env = dir, env
			b, err := c.CombinedOutput()
			fmt.Fprintf(&out, "--- %s\n%s", s.Name, b)
			if f, ferr := os.Open(outFile); ferr == nil {
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					if k, v, ok := strings.Cut(sc.Text(), "="); ok && s.ID != "" {
						ctx["steps."+s.ID+".outputs."+k] = v
					}
				}
				f.Close()
			}
			if s.ID != "" {
				ctx["steps."+s.ID+".outcome"] = "success"
			}
			if err != nil {
				code := -1
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				return s.Name, code, out.String()
			}
		}
		return "", 0, out.String()
	}
	args := map[string]string{"args": "fetch --count 3 -d 200ms --warmup 50ms"}
	baselineFile := filepath.Join(dir, ".perfkit", "baselines", "default.json")

	if failed, code, log := job("push", "main", args); failed != "" {
		t.Fatalf("push to main: step %q exited %d\n%s", failed, code, log)
	} else if !strings.Contains(log, "no baseline") {
		t.Errorf("the first push compared with something:\n%s", log)
	}
	if _, err := os.Stat(baselineFile); err != nil {
		t.Fatalf("push to main saved no baseline: %v", err)
	}

	_ = os.Remove(summary)
	failed, code, log := job("pull_request", "1/merge", args)
	if failed != "" {
		t.Fatalf("A/A pull request: step %q exited %d\n%s", failed, code, log)
	}
	if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), "fetch") {
		t.Errorf("job summary: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "perf-junit.xml")); err != nil || !strings.Contains(string(b), "<testsuites") {
		t.Errorf("junit: %v\n%s", err, b)
	}

	// Half the responses fail: the run exits 3 (every run invalid) or
	// compare 1 (invalid runs, error_rate); the Gate step fails the job.
	broken := map[string]string{"args": args["args"] + " --server-error-rate 50%"}
	failed, code, log = job("pull_request", "2/merge", broken)
	if failed != "Gate" || (code != ExitGate && code != ExitMeasure) {
		t.Fatalf("broken pull request: failed step %q exit %d, want Gate with %d or %d\n%s", failed, code, ExitGate, ExitMeasure, log)
	}

	// A push to another branch neither saves nor replaces main's baseline.
	before, _ := os.ReadFile(baselineFile)
	if failed, code, log := job("push", "feature", args); failed != "" {
		t.Fatalf("push to a branch: step %q exited %d\n%s", failed, code, log)
	}
	if after, _ := os.ReadFile(baselineFile); string(after) != string(before) {
		t.Error("a push to a branch that is not the default replaced the baseline")
	}
}
