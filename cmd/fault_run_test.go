package cmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// hangingTarget accepts connections and never answers, until the test ends.
// accepted receives once per connection.
func hangingTarget(t *testing.T) (url string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 1024)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + "/", ch
}

// bounded is how long a run that must end may take on a loaded machine:
// far above what it needs, far below "never".
const bounded = 30 * time.Second

func cliBounded(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		code           int
		stdout, stderr string
	}
	ch := make(chan out, 1)
	go func() {
		var o, e bytes.Buffer
		code := Execute(ctx, args, &o, &e)
		ch <- out{code, o.String(), e.String()}
	}()
	select {
	case o := <-ch:
		return o.code, o.stdout, o.stderr
	case <-time.After(bounded):
		t.Fatalf("perfkit %v did not end within %s", args, bounded)
	}
	return 0, "", ""
}

func TestHangingTargetEnds(t *testing.T) {
	for _, tc := range []struct {
		timeout, kind string
	}{
		{"0", bench.KindCanceled},    // no timeout: cut at the end of the grace
		{"300ms", bench.KindTimeout}, // ops time out on their own
	} {
		t.Run("timeout="+tc.timeout, func(t *testing.T) {
			sandbox(t)
			url, _ := hangingTarget(t)
			code, out, errOut := cliBounded(t, "run", "fetch", "--url", url, "-d", "1s", "--warmup", "0", "--timeout", tc.timeout,
				"--grace", "200ms", "-c", "2", "-o", "r.json")
			if code != ExitMeasure { // every op failed (docs/run.md, "Exit codes")
				t.Fatalf("exit %d, want 3\n%s%s", code, errOut, out)
			}
			if !strings.Contains(out, "SCENARIO") {
				t.Errorf("no table:\n%s", out)
			}
			// Ops in flight at the end are cut after the grace (shorter than
			// the timeout here): canceled; the others failed by kind.
			run := readResult(t, "r.json").Scenarios[0].Runs[0]
			k := run.ErrorsByKind
			failed := k[bench.KindCanceled]
			if tc.kind != bench.KindCanceled {
				failed += k[tc.kind]
			}
			if run.Ops == 0 || k[tc.kind] == 0 || failed != run.Ops || run.Errors != run.Ops {
				t.Fatalf("ops %d, errors by kind %v: want every op %s or canceled", run.Ops, k, tc.kind)
			}
		})
	}
}

func TestAgentsIOLongerThanRunEnds(t *testing.T) {
	sandbox(t)
	code, out, errOut := cliBounded(t, "run", "agents", "--kind", "io", "--latency", "fixed:2m", "-d", "300ms",
		"--warmup", "0", "--grace", "100ms", "-c", "2", "-o", "r.json")
	if code != ExitMeasure {
		t.Fatalf("exit %d, want 3 (every op canceled)\n%s%s", code, errOut, out)
	}
	run := readResult(t, "r.json").Scenarios[0].Runs[0]
	if run.Ops == 0 || run.ErrorsByKind[bench.KindCanceled] != run.Ops {
		t.Fatalf("ops %d, errors by kind %v: want every op canceled", run.Ops, run.ErrorsByKind)
	}
}

// buildPerfkit builds the perfkit binary into dir.
func buildPerfkit(t *testing.T, dir string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "perfkit")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(pkgDir, "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSignalEndsHangingRun runs the real binary against a target that never
// answers and stops it with one signal: it must end within the grace (and a
// loaded machine's slack) and save the partial result.
func TestSignalEndsHangingRun(t *testing.T) {
	bin := buildPerfkit(t, t.TempDir())
	for _, tc := range []struct {
		sig    syscall.Signal
		warmup string
	}{
		{syscall.SIGINT, "0"},   // while measuring
		{syscall.SIGTERM, "0"},  // while measuring
		{syscall.SIGINT, "10m"}, // in the warmup: the cut ops still count
	} {
		sig := tc.sig
		t.Run(sig.String()+"/warmup="+tc.warmup, func(t *testing.T) {
			dir := sandbox(t)
			url, accepted := hangingTarget(t)
			out := filepath.Join(dir, "r.json")
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "run", "fetch", "--url", url, "-d", "10m", "--warmup", tc.warmup, "--timeout", "0",
				"--grace", "300ms", "-c", "2", "-o", out)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case <-accepted: // an op is in flight
			case err := <-waited:
				t.Fatalf("perfkit ended before any op: %v\n%s", err, stderr.String())
			case <-time.After(bounded):
				_ = cmd.Process.Kill()
				t.Fatal("no connection reached the target")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-waited:
			case <-time.After(bounded):
				_ = cmd.Process.Kill()
				<-waited
				t.Fatalf("one %s did not end the run within %s\n%s", sig, bounded, stderr.String())
			}
			// A stop whose only failures are the ops it cancelled is not
			// "every op failed": exit 0, the partial result saved.
			if code := cmd.ProcessState.ExitCode(); code != ExitOK {
				t.Fatalf("exit %d, want 0\n%s%s", code, stderr.String(), stdout.String())
			}
			res := readResult(t, out)
			run := res.Scenarios[0].Runs[0]
			if !res.Partial || run.Ops == 0 || run.ErrorsByKind[bench.KindCanceled] != run.Ops {
				t.Fatalf("partial %v, ops %d, errors by kind %v", res.Partial, run.Ops, run.ErrorsByKind)
			}
			if !bytes.Contains(stdout.Bytes(), []byte("SCENARIO")) {
				t.Errorf("no table on stdout:\n%s", stdout.String())
			}
		})
	}
}

func TestGraceBadInput(t *testing.T) {
	sandbox(t)
	for _, v := range []string{"-1s", "abc"} {
		code, out, errOut := cli(t, "run", "fetch", "-d", "100ms", "--grace", v, "-o", "r.json")
		if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, v) {
			t.Errorf("--grace %s: exit %d, stdout %q, stderr %q: want exit 2 and one line naming the value", v, code, out, errOut)
		}
	}
	if _, err := os.Stat("r.json"); err == nil {
		t.Error("a result was written")
	}
}
