package cmd

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// One broken baseline file does not hide the others: they are listed, the
// broken one is named on stderr, and the listing exits 0.
func TestBaselineListSkipsBroken(t *testing.T) {
	sandbox(t)
	res := writeResult(t, "r.json", synthResult(3, 1, synthEnv))
	for _, n := range []string{"main", "pr"} {
		if code, _, errOut := cli(t, "baseline", "save", n, "--from", res); code != ExitOK {
			t.Fatalf("save %s: exit %d: %s", n, code, errOut)
		}
	}
	os.WriteFile(".perfkit/baselines/broken.json", []byte(`{"schema_version": 1, "scen`), 0o644)
	code, out, errOut := cli(t, "baseline", "list")
	if code != ExitOK {
		t.Errorf("list: exit %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "main ") || !strings.HasPrefix(lines[2], "pr ") {
		t.Errorf("list must show the readable baselines:\n%s", out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "warning: baseline broken: ") || !strings.Contains(errOut, "broken.json") {
		t.Errorf("stderr %q: want one warning naming the broken baseline", errOut)
	}
}

// The SAVED column is the save time the file records, not its mtime.
func TestBaselineListSavedFromFile(t *testing.T) {
	sandbox(t)
	at := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	res := writeResult(t, "r.json", synthResult(3, 1, synthEnv))
	code, _, errOut := cliWith(t, context.Background(), func(f *Factory) { f.Now = func() time.Time { return at } }, "baseline", "save", "--from", res)
	if code != ExitOK {
		t.Fatalf("save: exit %d: %s", code, errOut)
	}
	later := time.Now().Add(48 * time.Hour)
	os.Chtimes(".perfkit/baselines/default.json", later, later)
	_, out, _ := cli(t, "baseline", "list")
	if want := at.Local().Format("2006-01-02 15:04"); !strings.Contains(out, want) {
		t.Errorf("list does not show the saved time %s:\n%s", want, out)
	}
	_, _, errOut = cli(t, "baseline", "show", "default")
	if want := at.Local().Format("2006-01-02 15:04"); !strings.Contains(errOut, "saved "+want) {
		t.Errorf("show: %q, want saved %s", errOut, want)
	}
}

// A result with no runs is refused: a baseline could never be compared
// against; nothing is written.
func TestBaselineSaveRefusesNoRuns(t *testing.T) {
	sandbox(t)
	r := synthResult(1, 1, synthEnv)
	r.Scenarios[0].Runs = nil
	res := writeResult(t, "empty.json", r)
	code, _, errOut := cli(t, "baseline", "save", "--from", res)
	if code != ExitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	oneErrorLine(t, errOut, "empty.json", "no runs")
	if _, err := os.Stat(".perfkit/baselines/default.json"); !os.IsNotExist(err) {
		t.Errorf("a baseline was written: %v", err)
	}
}

// A result file that starts with a UTF-8 byte order mark is a result all
// the same: saved, compared and reported.
func TestResultWithBOM(t *testing.T) {
	sandbox(t)
	res := writeResult(t, "r.json", synthResult(3, 1, synthEnv))
	data, _ := os.ReadFile(res)
	os.WriteFile("bom.json", append([]byte("\ufeff"), data...), 0o644)
	if code, _, errOut := cli(t, "baseline", "save", "--from", "bom.json"); code != ExitOK {
		t.Errorf("baseline save: exit %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "compare", "bom.json", res); code != ExitOK {
		t.Errorf("compare: exit %d: %s", code, errOut)
	}
	if code, out, errOut := cli(t, "report", "bom.json"); code != ExitOK || !strings.Contains(out, "api") {
		t.Errorf("report: exit %d: %s", code, errOut)
	}
}

// Overwriting a baseline that kept profiles with a result that has none
// leaves no empty NAME.profiles/ behind.
func TestBaselineOverwriteDropsProfilesDir(t *testing.T) {
	sandbox(t)
	prof := filepath.Join(t.TempDir(), "heap.pb.gz")
	f, err := os.Create(prof)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	with := synthResult(3, 1, synthEnv)
	with.Scenarios[0].Profiles = map[string]string{"heap": prof}
	resWith := writeResult(t, "with.json", with)
	if code, _, errOut := cli(t, "baseline", "save", "--from", resWith); code != ExitOK || strings.Contains(errOut, "warning") {
		t.Fatalf("save with profiles: exit %d: %s", code, errOut)
	}
	dir := ".perfkit/baselines/default.profiles"
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("profiles kept: %v", ents)
	}
	resWithout := writeResult(t, "without.json", synthResult(3, 1, synthEnv))
	if code, _, errOut := cli(t, "baseline", "save", "--from", resWithout); code != ExitOK {
		t.Fatalf("save without profiles: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}
