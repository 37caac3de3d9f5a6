package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// ownResult is a perfkit result of one fetch scenario "api" with 10 runs
// whose latencies and throughput stay put while perfkit's own CPU per op
// and allocations per op are scaled by cpu and alloc: the figures a slower
// external service gives the load generator (its fixed costs spread over
// fewer ops). target "" writes no target, as results did before it was
// recorded; url is the fetch param url then.
func ownResult(target, url string, cpu, alloc float64) *bench.Result {
	r := synthResult(10, 1, synthEnv)
	sr := &r.Scenarios[0]
	sr.Target = target
	sr.Params = map[string]any{"url": []string{}, "targets": ""}
	if url != "" {
		sr.Params["url"] = []string{url}
	}
	for i := range sr.Runs {
		run := &sr.Runs[i]
		noise := 1 + 0.01*float64(i%5-2)/2 + 0.0007*float64(i)
		run.Resources = bench.Resources{
			CPUUserS: 4 * cpu * noise, CPUSysS: 1 * cpu * noise,
			AllocBytes: uint64(float64(run.Ops) * 2 * alloc * noise),
		}
	}
	r.ID = fmt.Sprintf("own-%s-%g-%g", target, cpu, alloc)
	return r
}

// Perfkit's own CPU (+60%) and allocations (2B → 18B) per op rose; nothing
// the service is measured by changed. Against an external target that is
// information, not a regression; in-process, it is the system under test's
// own cost, and the gate says no.
func TestCompareOwnMetricsGateByTarget(t *testing.T) {
	dir := sandbox(t)
	type files struct{ old, new string }
	write := func(name, target, url string) files {
		return files{
			writeResult(t, dir+"/"+name+"-old.json", ownResult(target, url, 1, 1)),
			writeResult(t, dir+"/"+name+"-new.json", ownResult(target, url, 1.6, 9)),
		}
	}
	external := write("ext", bench.TargetExternal, "http://10.0.0.1/health")
	inProcess := write("in", bench.TargetInProcess, "")
	legacyExternal := write("legacy-ext", "", "http://10.0.0.1/health")
	legacyInProcess := write("legacy-in", "", "")

	for _, tc := range []struct {
		name  string
		f     files
		extra []string
		want  int
	}{
		{"external", external, nil, ExitOK},
		{"external, explicit threshold", external, []string{"--threshold", "cpu_per_op=20%"}, ExitOK},
		{"in-process", inProcess, nil, ExitGate},
		{"external --gate-own-metrics", external, []string{"--gate-own-metrics"}, ExitGate},
		{"old file, fetch with a url", legacyExternal, nil, ExitOK},
		{"old file, fetch without a url", legacyInProcess, nil, ExitGate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, append([]string{"compare", tc.f.old, tc.f.new}, tc.extra...)...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.want, out, errOut)
			}
			if !strings.Contains(out, "perfkit cpu/op") || !strings.Contains(out, "perfkit alloc/op") || strings.Contains(out, "cpu_per_op") {
				t.Errorf("the table does not name perfkit's own metrics as such:\n%s", out)
			}
			if tc.want == ExitOK {
				if !strings.HasPrefix(out, "0 regressions, 0 improvements, ") || strings.Count(out, "info: regressed (external target)") != 2 ||
					!strings.Contains(out, "--gate-own-metrics makes them gate") {
					t.Errorf("want both own metrics shown as info:\n%s", out)
				}
				return
			}
			if !strings.HasPrefix(out, "2 regressions") || !strings.Contains(errOut, "api cpu_per_op +60") || !strings.Contains(errOut, "api alloc_per_op +") {
				t.Errorf("want both own metrics regressed:\n%s%s", out, errOut)
			}
		})
	}

	// JSON keeps the metric keys and says whose they are and whether they gate.
	code, out, _ := cli(t, "compare", external.old, external.new, "--format", "json")
	var doc struct {
		InfoFamily  int `json:"info_family"`
		Counts      map[string]int
		Comparisons []struct {
			Metric, Verdict, Finding string
			Own, Gating              bool
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitOK {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if doc.InfoFamily != 2 || doc.Counts["info"] != 2 || doc.Counts["regressed"] != 0 {
		t.Errorf("info family %d, counts %v", doc.InfoFamily, doc.Counts)
	}
	for _, c := range doc.Comparisons {
		own := c.Metric == "cpu_per_op" || c.Metric == "alloc_per_op"
		if c.Own != own || c.Gating == own || own && (c.Verdict != "info" || c.Finding != "regressed") {
			t.Errorf("%+v", c)
		}
	}
}

// compare: {gate-own-metrics: true} in the config file does what the flag
// does; a value that is not a boolean is a usage error.
func TestCompareGateOwnMetricsConfig(t *testing.T) {
	dir := sandbox(t)
	old := writeResult(t, dir+"/old.json", ownResult(bench.TargetExternal, "http://10.0.0.1/", 1, 1))
	new := writeResult(t, dir+"/new.json", ownResult(bench.TargetExternal, "http://10.0.0.1/", 1.6, 9))
	writeFile(t, "perfkit.yaml", "compare:\n  gate-own-metrics: true\n")
	if code, out, errOut := cli(t, "compare", old, new); code != ExitGate {
		t.Errorf("config gate-own-metrics: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli(t, "compare", old, new, "--gate-own-metrics=false"); code != ExitOK {
		t.Errorf("--gate-own-metrics=false over the config: exit %d, want 0\n%s%s", code, out, errOut)
	}
	writeFile(t, "perfkit.yaml", "compare:\n  gate-own-metrics: maybe\n")
	code, out, errOut := cli(t, "compare", old, new)
	if code != ExitUsage || out != "" {
		t.Fatalf("bad value: exit %d, stdout %q", code, out)
	}
	oneErrorLine(t, errOut, "perfkit.yaml:1", "compare.gate-own-metrics maybe", "accepted: true or false")
}

// `perfkit run --compare` takes --gate-own-metrics too.
func TestRunCompareGateOwnMetricsFlag(t *testing.T) {
	dir := sandbox(t)
	writeResult(t, dir+"/.perfkit/baselines/main.json", ownResult(bench.TargetExternal, "http://10.0.0.1/", 1, 1))
	for _, gate := range []bool{false, true} {
		args := []string{"fetch", "--compare", "main"}
		if gate {
			args = append(args, "--gate-own-metrics")
		}
		o := mustResolve(t, nil, args...)
		if o.Compare == nil || o.Compare.options.GateOwnMetrics != gate {
			t.Errorf("%q: compare options %+v", args, o.Compare)
		}
	}
}

// `perfkit ab` against an external target: perfkit's own CPU and
// allocations per op are shown as info whatever they did, and never fail
// the gate.
func TestABOwnMetricsInfoForExternalTarget(t *testing.T) {
	sandbox(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	code, out, errOut := cli(t, args([]string{"ab", "fetch", "--a-set", "url=" + srv.URL + "/a", "--b-set", "url=" + srv.URL + "/b",
		"--format", "json", "--fail-on", "never"}, abQuick)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var doc struct {
		Comparisons []struct {
			Metric, Verdict string
			Own, Gating     bool
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	seen := 0
	for _, c := range doc.Comparisons {
		if c.Metric == "cpu_per_op" || c.Metric == "alloc_per_op" {
			seen++
			if c.Verdict != "info" || !c.Own || c.Gating {
				t.Errorf("%+v: want info, own, not gating", c)
			}
		}
	}
	if seen != 2 {
		t.Errorf("want cpu_per_op and alloc_per_op compared:\n%s", out)
	}
}
