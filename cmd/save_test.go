package cmd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// quickRun is a short run against the embedded target.
var quickRun = []string{"run", "fetch", "-d", "150ms", "--warmup", "0", "-c", "1"}

// fullDisk is a result writer that fails like a full disk for every path
// under one of the prefixes, and writes the others.
func fullDisk(prefixes ...string) func(*bench.Result, string) error {
	return func(res *bench.Result, path string) error {
		for _, p := range prefixes {
			if strings.HasPrefix(path, p) {
				return &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
			}
		}
		return res.WriteFile(path)
	}
}

var fallbackRE = regexp.MustCompile(`saved to (\S+perfkit-result-\S+\.json) instead`)

func TestFailedSavePrintsResultsThenFallsBack(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			sandbox(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			code, out, errOut := cliWith(t, context.Background(), func(f *Factory) { f.WriteResult = fullDisk("r.json") },
				args(quickRun, []string{"-o", "r.json", "--format", format})...)
			if code != ExitMeasure {
				t.Fatalf("exit %d, want 3\n%s%s", code, errOut, out)
			}
			if format == "table" && !strings.Contains(out, "SCENARIO") {
				t.Errorf("the table was not printed:\n%s", out)
			}
			if format == "json" {
				if _, err := bench.DecodeResult([]byte(out)); err != nil {
					t.Errorf("stdout is not the result: %v\n%s", err, out)
				}
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, "writing result r.json: no space left on device") {
				t.Errorf("error does not name the path and the cause: %q", last)
			}
			m := fallbackRE.FindStringSubmatch(last)
			if m == nil || filepath.Dir(m[1]) != tmp {
				t.Fatalf("error does not name a fallback in %s: %q", tmp, last)
			}
			res, err := bench.ReadResult(m[1])
			if err != nil || len(res.Scenarios) != 1 || res.Scenarios[0].Runs[0].Ops == 0 {
				t.Fatalf("fallback %s: %v", m[1], err)
			}
			if _, err := os.Stat("r.json"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("r.json: %v, want none", err)
			}
		})
	}
}

func TestFailedSaveAndFallbackSayResultLost(t *testing.T) {
	sandbox(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	code, out, errOut := cliWith(t, context.Background(), func(f *Factory) { f.WriteResult = fullDisk("r.json", tmp) },
		args(quickRun, []string{"-o", "r.json"})...)
	if code != ExitMeasure || !strings.Contains(out, "SCENARIO") {
		t.Fatalf("exit %d, want 3 with the table\n%s%s", code, errOut, out)
	}
	if !strings.Contains(errOut, "writing result r.json: no space left on device; the fallback in "+tmp+" failed too") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "perfkit-result-*")); len(left) != 0 {
		t.Errorf("fallback files left: %v", left)
	}
}

// TestFullTmpfs fills a real 64 KiB tmpfs, where the system allows mounting
// one (root on Linux), and saves a run, then a baseline, into it.
func TestFullTmpfs(t *testing.T) {
	dir := sandbox(t)
	mnt := filepath.Join(dir, "full")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s): the injected writer tests cover the logic", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	out := filepath.Join(mnt, "r.json")
	code, stdout, errOut := cli(t, args(quickRun, []string{"-o", out})...)
	if code != ExitMeasure || !strings.Contains(stdout, "SCENARIO") {
		t.Fatalf("exit %d, want 3 with the table\n%s%s", code, errOut, stdout)
	}
	m := fallbackRE.FindStringSubmatch(errOut)
	if !strings.Contains(errOut, "writing result "+out+": no space left on device") || m == nil {
		t.Fatalf("stderr:\n%s", errOut)
	}
	if _, err := bench.ReadResult(m[1]); err != nil {
		t.Fatalf("fallback: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(mnt, ".r.json.tmp-*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}

	// A baseline into the full disk: exit 3 naming its path; the result it
	// was read from stays.
	code, _, errOut = cli(t, "baseline", "save", "x", "--from", m[1], "--baseline-dir", filepath.Join(mnt, "baselines"))
	if code != ExitMeasure || !strings.Contains(errOut, "saving baseline x to "+filepath.Join(mnt, "baselines", "x.json")) ||
		!strings.Contains(errOut, "the result stays in "+m[1]) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("baseline save into a full disk: exit %d\n%s", code, errOut)
	}
}

// A sweep and a capacity search save through the same path: results first,
// then exit 3 naming the path and the fallback.
func TestFailedSaveSweepAndSearch(t *testing.T) {
	for name, extra := range map[string][]string{
		"sweep": append([]string{"--sweep", "concurrency=1,2"}, tiny...),
		// A search measures each step for a duration, never a count.
		"search": {"--find-max-rate", "--slo", "p99<1s", "-r", "50", "--max-rate", "100", "--timeout", "2s", "-d", "300ms", "--warmup", "0s"},
	} {
		t.Run(name, func(t *testing.T) {
			sandbox(t)
			t.Setenv("TMPDIR", t.TempDir())
			code, out, errOut := cliWith(t, context.Background(), func(f *Factory) { f.WriteResult = fullDisk("r.json") },
				args([]string{"run", "fetch", "-o", "r.json"}, extra)...)
			if code != ExitMeasure || !strings.Contains(out, "SCENARIO") {
				t.Fatalf("exit %d, want 3 with the table\n%s%s", code, errOut, out)
			}
			m := fallbackRE.FindStringSubmatch(errOut)
			if !strings.Contains(errOut, "writing result r.json: no space left on device") || m == nil {
				t.Fatalf("stderr:\n%s", errOut)
			}
			if _, err := bench.ReadResult(m[1]); err != nil {
				t.Fatalf("fallback: %v", err)
			}
		})
	}
}
