package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOversizedValuesAreRefusedBeforeAnythingRuns: every size past its bound
// or past the memory budget is a one-line exit 2 naming the value and the
// bound, and nothing is written. Before the bounds, -c 99999999999, a sweep
// step of it and --l1-size 99999999999 killed the process out of memory
// (the sweep after its first step had run, losing it).
func TestOversizedValuesAreRefusedBeforeAnythingRuns(t *testing.T) {
	_, noZero := os.Stat("/dev/zero")
	short := []string{"-n", "1", "--warmup", "0s"}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string // all in the one line
	}{
		{"concurrency", []string{"run", "agents", "-c", "99999999999"}, nil, []string{"concurrency 99999999999", "at most 1000000 ", "a worker"}},
		{"concurrency just over", []string{"run", "agents", "-c", "1000001", "--max-memory", "1TiB"}, nil, []string{"concurrency 1000001", "at most 1000000 "}},
		{"concurrency from env", []string{"run", "agents"}, map[string]string{"PERFKIT_CONCURRENCY": "99999999999"}, []string{"concurrency 99999999999", "at most 1000000 ", "PERFKIT_CONCURRENCY"}},
		{"concurrency over memory", []string{"run", "agents", "-c", "20000", "--max-memory", "256MiB"}, nil, []string{"needs ~", "20000 workers", "at most 256 MiB", "--max-memory"}},
		{"sweep step", []string{"run", "agents", "--sweep", "concurrency=1,99999999999"}, nil, []string{"concurrency=99999999999", "at most 1000000 "}},
		{"sweep step over memory", []string{"run", "agents", "--sweep", "concurrency=1,20000", "--max-memory", "256MiB"}, nil, []string{"agents[concurrency=20000]", "needs ~", "at most 256 MiB"}},
		{"l1-size", []string{"run", "cache", "--l1-size", "99999999999"}, nil, []string{"l1-size 99999999999", "at most 100000000"}},
		{"l1-size over memory", []string{"run", "cache", "--l1-size", "100000000", "--keys", "10000000", "--max-memory", "1GiB"}, nil, []string{"needs ~", "l1-size 100000000", "at most 1 GiB"}},
		{"value-bytes over memory", []string{"run", "cache", "--keys", "10000000", "--l1-size", "10000000", "--value-bytes", "4000000", "--max-memory", "1GiB"}, nil, []string{"needs ~", "value-bytes 4000000", "at most 1 GiB"}},
		{"deps", []string{"run", "cache", "--deps", "99999999999"}, nil, []string{"deps 99999999999", "at most 9999999"}},
		{"batch over memory", []string{"run", "agents", "--batch", "1048576", "--max-memory", "1GiB"}, nil, []string{"needs ~", "batches of 1048576 agents", "at most 1 GiB"}},
		{"batch", []string{"run", "agents", "--batch", "99999999999"}, nil, []string{"batch 99999999999", "1..1048576"}},
		{"workers", []string{"run", "agents", "--workers", "99999999999"}, nil, []string{"workers 99999999999", "1..65536"}},
		{"payload-bytes over memory", []string{"run", "fetch", "-c", "100", "--payload-bytes", "60000000", "--max-memory", "1GiB"}, nil, []string{"needs ~", "payload-bytes 60000000", "at most 1 GiB"}},
		{"max-open", []string{"run", "pool", "--max-open", "99999999999"}, nil, []string{"99999999999", "1..65536"}},
		{"count", []string{"run", "agents", "--count", "99999999999"}, nil, []string{"count", "at most 10000"}},
		{"rate", []string{"run", "agents", "-r", "1e300"}, nil, []string{"rate 1e+300", "at most 10000000"}},
		{"rate just over", []string{"run", "agents", "-r", "10000001"}, nil, []string{"rate 1.0000001e+07", "at most 10000000"}},
		{"rate NaN", []string{"run", "agents", "-r", "NaN"}, nil, []string{"rate", "NaN"}},
		{"rate Inf", []string{"run", "agents", "-r", "Inf"}, nil, []string{"rate", "Inf"}},
		{"rate from env", []string{"run", "agents"}, map[string]string{"PERFKIT_RATE": "1e300"}, []string{"rate 1e+300", "at most 10000000"}},
		{"sweep rate", []string{"run", "agents", "--sweep", "rate=100,1e300"}, nil, []string{"rate=1e300", "at most 10000000"}},
		{"ab side", []string{"ab", "agents", "--a-set", "concurrency=1", "--b-set", "concurrency=99999999999"}, nil, []string{"concurrency 99999999999", "at most 1000000 "}},
		{"search max-rate", []string{"run", "agents", "--find-max-rate", "--slo", "p99 < 10ms", "--max-rate", "1e300"}, nil, []string{"max-rate", "1e+300", "up to 10000000"}},
		{"body file", []string{"run", "fetch", "--body", "@/dev/zero"}, nil, []string{"/dev/zero", "larger than 64 MiB"}},
		{"targets body file", []string{"run", "fetch", "--targets", "targets.txt"}, nil, []string{"targets.txt:2", "/dev/zero", "larger than 64 MiB"}},
		{"concurrency from config", []string{"run", "agents", "--config", "big.yaml"}, nil, []string{"big.yaml:1", "concurrency 99999999999", "at most 1000000 "}},
		{"l1-size from config", []string{"run", "cache", "--config", "big.yaml"}, nil, []string{"big.yaml", "l1-size 99999999999", "at most 100000000"}},
		{"bad max-memory", []string{"run", "agents", "--max-memory", "lots"}, nil, []string{"--max-memory", `"lots"`, "8GiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.name, "body") && noZero != nil {
				t.Skip("no /dev/zero to read an endless body from")
			}
			dir := sandbox(t)
			if strings.Contains(tc.name, "config") {
				cfg := "concurrency: 99999999999\n"
				if strings.Contains(tc.name, "l1-size") {
					cfg = "params:\n  l1-size: 99999999999\n"
				}
				writeFile(t, "big.yaml", cfg)
			}
			writeFile(t, "targets.txt", "POST http://127.0.0.1:9/\n@/dev/zero\n")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			a := tc.args
			if a[0] == "run" {
				a = args(a, short)
			}
			code, out, errOut := cli(t, a...)
			if code != ExitUsage {
				t.Fatalf("%v: exit %d, want 2\n%s%s", a, code, errOut, out)
			}
			line := strings.TrimSuffix(errOut, "\n")
			if strings.Contains(line, "\n") || out != "" {
				t.Errorf("want one line on stderr and nothing on stdout, got:\n%s---\n%s", errOut, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("error does not say %q:\n%s", w, line)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ResultsDir)); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(filepath.Join(dir, ResultsDir))
				t.Errorf("something was written: %v", entries)
			}
		})
	}
}

// TestValuesAtTheBoundsAreAccepted: the bounds refuse only what is past
// them. Resolved only: nothing runs.
func TestValuesAtTheBoundsAreAccepted(t *testing.T) {
	for _, a := range [][]string{
		{"agents", "-c", "1000000", "--max-memory", "1TiB"},
		{"agents", "-r", "10000000"},
		{"agents", "--count", "10000"},
		{"agents", "--sweep", "concurrency=1,1000000", "--max-memory", "1TiB"},
		{"cache", "--l1-size", "100000000", "--keys", "10000000", "--deps", "9999999", "--max-memory", "1TiB"},
		{"agents", "-c", "1000", "--max-memory", "1GiB"},
	} {
		sandbox(t)
		if _, err := resolveRun(t, nil, a...); err != nil {
			t.Errorf("%v: %v", a, err)
		}
	}
}
