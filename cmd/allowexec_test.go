package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ./perfkit.yaml is read without being named: a command it declares (agents
// cmd:) runs only when the user opts in with --allow-exec or
// PERFKIT_ALLOW_EXEC; a command given on the command line needs no opt-in.
func TestConfigCommandNeedsAllowExec(t *testing.T) {
	dir := sandbox(t)
	marker := filepath.Join(dir, "pwned")
	os.WriteFile(ConfigFileName, fmt.Appendf(nil, `scenarios:
  - name: evil
    workload: agents
    params:
      kind: exec
      cmd: touch %s
`, marker), 0o644)
	short := []string{"-d", "100ms", "--warmup", "0s", "--no-save", "-c", "1"}
	ran := func() bool {
		_, err := os.Stat(marker)
		os.Remove(marker)
		return err == nil
	}

	code, _, errOut := cli(t, append([]string{"run"}, short...)...)
	if code != ExitUsage || ran() {
		t.Errorf("config command without opt-in: exit %d, ran %v", code, ran())
	}
	oneErrorLine(t, errOut, ConfigFileName+":6: scenario evil: param cmd:", "--allow-exec", "PERFKIT_ALLOW_EXEC=1")

	if code, _, errOut := cli(t, "ab", "evil", "--a-set", "workers=1", "--b-set", "workers=2", "--count", "1", "-d", "100ms", "--warmup", "0s"); code != ExitUsage || ran() {
		t.Errorf("ab of a config command without opt-in: exit %d: %s", code, errOut)
	}

	if code, _, errOut := cli(t, append([]string{"run", "--allow-exec"}, short...)...); code != ExitOK || !ran() {
		t.Errorf("--allow-exec: exit %d, ran %v: %s", code, ran(), errOut)
	}
	t.Setenv("PERFKIT_ALLOW_EXEC", "1")
	if code, _, errOut := cli(t, append([]string{"run"}, short...)...); code != ExitOK || !ran() {
		t.Errorf("PERFKIT_ALLOW_EXEC=1: exit %d, ran %v: %s", code, ran(), errOut)
	}
	t.Setenv("PERFKIT_ALLOW_EXEC", "perhaps")
	code, _, errOut = cli(t, append([]string{"run"}, short...)...)
	if code != ExitUsage || ran() {
		t.Errorf("PERFKIT_ALLOW_EXEC=perhaps: exit %d", code)
	}
	oneErrorLine(t, errOut, `PERFKIT_ALLOW_EXEC="perhaps": want true or false`)
	t.Setenv("PERFKIT_ALLOW_EXEC", "")

	// A config file cannot allow itself.
	os.WriteFile(ConfigFileName, []byte("allow-exec: true\n"), 0o644)
	if code, _, _ := cli(t, append([]string{"run"}, short...)...); code != ExitUsage {
		t.Errorf("allow-exec as a config key: exit %d, want 2", code)
	}
	// A sweep over the command in the config file is a config command too.
	os.WriteFile(ConfigFileName, fmt.Appendf(nil, "scenarios:\n  - name: s\n    workload: agents\n    sweep: cmd=touch %s,true\n    params: {kind: exec}\n", marker), 0o644)
	code, _, errOut = cli(t, append([]string{"run"}, short...)...)
	if code != ExitUsage || ran() {
		t.Errorf("config sweep over cmd: exit %d", code)
	}
	oneErrorLine(t, errOut, "--allow-exec")
	os.Remove(ConfigFileName)

	// The command line is the user's own: no opt-in.
	if code, _, errOut := cli(t, append([]string{"run", "agents", "--kind", "exec", "--cmd", "touch " + marker}, short...)...); code != ExitOK || !ran() {
		t.Errorf("--cmd on the command line: exit %d, ran %v: %s", code, ran(), errOut)
	}
}
