package cmd

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// tiny keeps each sweep step short: a count of ops, not a time (a loaded
// machine may complete no op in 100ms).
var tiny = []string{"-n", "50", "--warmup", "0s"}

func stepNames(scs []bench.ScenarioResult) []string {
	var out []string
	for _, s := range scs {
		out = append(out, s.Name)
	}
	return out
}

func TestSweepConcurrency(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"run", "fetch", "--sweep", "concurrency=1,2,4", "-o", "r.json"}, tiny)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fetch[concurrency=1]", "fetch[concurrency=2]", "fetch[concurrency=4]"}
	if got := stepNames(res.Scenarios); !slices.Equal(got, want) {
		t.Fatalf("scenarios %v, want %v", got, want)
	}
	for i, s := range res.Scenarios {
		c := 1 << i
		wantStep := bench.SweepStep{Param: "concurrency", Value: []string{"1", "2", "4"}[i], Base: "fetch", Index: i}
		if s.Sweep == nil || *s.Sweep != wantStep {
			t.Errorf("%s: sweep %+v, want %+v", s.Name, s.Sweep, wantStep)
		}
		if s.Settings.Concurrency != c || s.Workload != "fetch" || len(s.Runs) != 1 || s.Runs[0].Ops == 0 {
			t.Errorf("%s: concurrency %d (want %d), workload %s, %d runs", s.Name, s.Settings.Concurrency, c, s.Workload, len(s.Runs))
		}
		if s.Settings.Iterations != 50 || s.Settings.Warmup != 0 {
			t.Errorf("%s: the other settings did not carry over: %+v", s.Name, s.Settings)
		}
	}
	for _, w := range want {
		if !strings.Contains(out, "\n"+w+" ") {
			t.Errorf("no table row for %s:\n%s", w, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "fetch sweep over concurrency: ") ||
		!(strings.Contains(last, ": knee at concurrency=") || strings.Contains(last, ": no knee: ")) {
		t.Errorf("the table does not end with the knee line:\n%s", out)
	}

	// The file's sweep object, as scripts read it.
	data, err := os.ReadFile("r.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenarios []struct {
			Sweep map[string]any `json:"sweep"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Scenarios[1].Sweep; len(got) != 4 || got["param"] != "concurrency" || got["value"] != "2" || got["base"] != "fetch" || got["index"] != float64(1) {
		t.Errorf("sweep object %v", got)
	}
}

// A sweep over a workload param applies each value to its step.
func TestSweepParam(t *testing.T) {
	sandbox(t)
	code, _, errOut := cli(t, args([]string{"run", "fetch", "--sweep", "payload-bytes=100, 1000", "-c", "2", "-o", "r.json"}, tiny)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(res.Scenarios); !slices.Equal(got, []string{"fetch[payload-bytes=100]", "fetch[payload-bytes=1000]"}) {
		t.Fatalf("scenarios %v", got)
	}
	for i, wantBytes := range []float64{100, 1000} {
		s := res.Scenarios[i]
		if s.Params["payload-bytes"] != wantBytes || s.Settings.Concurrency != 2 {
			t.Errorf("%s: payload-bytes %v, concurrency %d", s.Name, s.Params["payload-bytes"], s.Settings.Concurrency)
		}
		// The embedded server served documents of that size.
		run := s.Runs[0]
		if perOp := run.Counters["bytes_in"] / run.Ops; perOp < int64(wantBytes) {
			t.Errorf("%s: %d bytes in per op, want at least %v", s.Name, perOp, wantBytes)
		}
		if s.Sweep == nil || s.Sweep.Param != "payload-bytes" || s.Sweep.Index != i {
			t.Errorf("%s: sweep %+v", s.Name, s.Sweep)
		}
	}
}

func TestSweepJSON(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"run", "fetch", "--sweep", "concurrency=1,2", "--format", "json", "--no-save"}, tiny)...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.DecodeResult([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(res.Scenarios); !slices.Equal(got, []string{"fetch[concurrency=1]", "fetch[concurrency=2]"}) {
		t.Fatalf("scenarios %v", got)
	}
	for i, s := range res.Scenarios {
		if s.Sweep == nil || s.Sweep.Base != "fetch" || s.Sweep.Index != i {
			t.Errorf("%s: sweep %+v", s.Name, s.Sweep)
		}
	}
	if files := resultFiles(t); len(files) > 0 {
		t.Errorf("--no-save left %v", files)
	}
}

func TestSweepConfig(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", `
duration: 100ms
warmup: 0s
scenarios:
  - name: api
    workload: fetch
    concurrency: 2
    sweep: payload-bytes=100,1000
  - name: plain
    workload: fetch
    concurrency: 1
`)
	code, out, errOut := cli(t, "run", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(res.Scenarios); !slices.Equal(got, []string{"api[payload-bytes=100]", "api[payload-bytes=1000]", "plain"}) {
		t.Fatalf("scenarios %v", got)
	}
	if res.Scenarios[1].Params["payload-bytes"] != float64(1000) || res.Scenarios[1].Settings.Concurrency != 2 || res.Scenarios[2].Sweep != nil {
		t.Errorf("steps: %v %+v; plain sweep %+v", res.Scenarios[1].Params, res.Scenarios[1].Settings, res.Scenarios[2].Sweep)
	}
	if !strings.Contains(out, "\napi sweep over payload-bytes: ") || strings.Contains(out, "plain sweep") {
		t.Errorf("knee lines:\n%s", out)
	}
}

// Where a sweep comes from, and what it applies to, without running.
func TestSweepResolve(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", `
sweep: concurrency=3,6
scenarios:
  - name: api
    workload: fetch
    sweep: rate=100,200
  - name: bare
    workload: fetch
    iterations: 50
`)
	names := func(o *RunOptions) []string {
		var out []string
		for _, s := range o.Scenarios {
			out = append(out, s.Name)
		}
		return out
	}

	// The scenario's key beats the top level.
	o := mustResolve(t, nil, "api", "bare")
	if got := names(o); !slices.Equal(got, []string{"api[rate=100]", "api[rate=200]", "bare[concurrency=3]", "bare[concurrency=6]"}) {
		t.Fatalf("scenarios %v", got)
	}
	if s := o.Scenarios[1]; s.Settings.Rate != 200 || s.Settings.Model() != bench.ModelOpen || o.Scenarios[1].Sweep.Value != "200" {
		t.Errorf("rate step: %+v, sweep %+v", s.Settings, o.Scenarios[1].Sweep)
	}
	for _, s := range o.Scenarios {
		if s.Sweep == nil {
			t.Fatalf("step %s has no sweep", s.Name)
		}
	}

	// PERFKIT_SWEEP beats the config file; a flag beats PERFKIT_SWEEP.
	t.Setenv("PERFKIT_SWEEP", "warmup=0s,1s")
	o = mustResolve(t, nil, "api")
	if got := names(o); !slices.Equal(got, []string{"api[warmup=0s]", "api[warmup=1s]"}) || o.Scenarios[1].Settings.Warmup != time.Second {
		t.Errorf("from PERFKIT_SWEEP: %v", got)
	}
	o = mustResolve(t, nil, "api", "--sweep", "duration=1s,2s")
	if got := names(o); !slices.Equal(got, []string{"api[duration=1s]", "api[duration=2s]"}) {
		t.Errorf("from --sweep: %v", got)
	}
	t.Setenv("PERFKIT_SWEEP", "")

	// Sweeping duration clears iterations set at a lower layer, and back.
	o = mustResolve(t, nil, "bare", "--sweep", "duration=100ms,200ms")
	if s := o.Scenarios[1].Settings; s.Duration != 200*time.Millisecond || s.Iterations != 0 {
		t.Errorf("duration step: %+v", s)
	}
	o = mustResolve(t, nil, "api", "--sweep", "iterations=10,20")
	if s := o.Scenarios[1].Settings; s.Iterations != 20 || s.Duration != 0 {
		t.Errorf("iterations step: %+v", s)
	}

	// A secret in a swept value is redacted in the step's name and sweep.
	o = mustResolve(t, nil, "api", "--sweep", "url=http://u:hunter2@127.0.0.1:1/a,http://127.0.0.1:1/b")
	if s := o.Scenarios[0]; strings.Contains(s.Name, "hunter2") || strings.Contains(o.Scenarios[0].Sweep.Value, "hunter2") || !strings.HasPrefix(s.Name, "api[url=http://u:") {
		t.Errorf("secret in step %q, sweep %+v", s.Name, o.Scenarios[0].Sweep)
	}
	if got := o.Scenarios[0].Params.Strings("url"); len(got) != 1 || !strings.Contains(got[0], "hunter2") {
		t.Errorf("the step must still use the real URL: %v", got)
	}
}

// A sweep from the command line applies to the selected scenarios that take
// its param, as a param flag does.
func TestSweepSeveralWorkloads(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, fakeDefs(), "alpha", "beta", "--sweep", "only-alpha=true,false")
	var got []string
	for i, s := range o.Scenarios {
		got = append(got, s.Name)
		if (o.Scenarios[i].Sweep != nil) != strings.HasPrefix(s.Name, "alpha[") {
			t.Errorf("%s: sweep %+v", s.Name, o.Scenarios[i].Sweep)
		}
	}
	if !slices.Equal(got, []string{"alpha[only-alpha=true]", "alpha[only-alpha=false]", "beta"}) {
		t.Errorf("scenarios %v", got)
	}
	if o.Scenarios[1].Params.Bool("only-alpha") {
		t.Error("step only-alpha=false resolved to true")
	}

	// A param both declare, with different kinds: each parses its own.
	o = mustResolve(t, fakeDefs(), "alpha", "beta", "--sweep", "size=1,2")
	if len(o.Scenarios) != 4 || o.Scenarios[1].Params.Int("size") != 2 || o.Scenarios[3].Params.String("size") != "2" {
		t.Errorf("size sweep: %d scenarios", len(o.Scenarios))
	}

	_, err := resolveRun(t, fakeDefs(), "alpha", "beta", "--sweep", "colour=1,2")
	if err == nil || !strings.Contains(err.Error(), "not a run setting or a param of alpha or beta") {
		t.Errorf("a param no scenario takes: %v", err)
	}
}

// Every bad sweep: exit 2, one line naming the value and what is accepted,
// nothing written.
func TestSweepBadInput(t *testing.T) {
	dir := sandbox(t)
	writeFile(t, "list.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    sweep: [1, 2]\n")
	writeFile(t, "unknown.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    sweep: colour=red,blue\n")
	writeFile(t, "top.yaml", "sweep: concurrency=1,x\nscenarios:\n  - name: api\n    workload: fetch\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"no =", []string{"--sweep", "foo"}, nil, []string{`sweep "foo"`, "PARAM=v1,v2", "--sweep"}},
		{"no param", []string{"--sweep", "=1,2"}, nil, []string{`sweep "=1,2"`, "no param"}},
		{"empty list", []string{"--sweep", "concurrency="}, nil, []string{`sweep "concurrency="`, "no values"}},
		{"empty value", []string{"--sweep", "concurrency=1,,4"}, nil, []string{`sweep "concurrency=1,,4"`, "value 2 is empty"}},
		{"trailing comma", []string{"--sweep", "concurrency=1,2,"}, nil, []string{"value 3 is empty"}},
		{"unknown param", []string{"--sweep", "colour=1,2"}, nil, []string{"sweep colour", "not a run setting or a param of fetch", "concurrency, rate", "payload-bytes"}},
		{"setting not sweepable", []string{"--sweep", "max-error-rate=1%,5%"}, nil, []string{"sweep max-error-rate", "cannot be swept", "concurrency, rate"}},
		{"wrong type (setting)", []string{"--sweep", "concurrency=1,abc"}, nil, []string{"concurrency=abc", `"abc" is not an integer`}},
		{"wrong type (duration)", []string{"--sweep", "timeout=1s,soon"}, nil, []string{"timeout=soon", `"soon" is not a duration`}},
		{"wrong type (param)", []string{"--sweep", "payload-bytes=100,big"}, nil, []string{"payload-bytes=big", `"big" is not an integer`}},
		{"param out of range", []string{"--sweep", "payload-bytes=100,-1"}, nil, []string{"payload-bytes=-1"}},
		{"invalid setting", []string{"--sweep", "concurrency=0,1"}, nil, []string{"concurrency=0", "at least 1"}},
		{"duplicate", []string{"--sweep", "concurrency=1,2,1"}, nil, []string{"concurrency=1", "given twice"}},
		{"duplicate spelled differently", []string{"--sweep", "duration=1s,1000ms"}, nil, []string{"duration=1000ms", "same as 1s"}},
		{"dist with commas", []string{"--sweep", "server-latency=1ms,lognormal:p50=1ms,p99=5ms"}, nil, []string{"lognormal:p50=1ms", "split on commas"}},
		{"second --sweep", []string{"--sweep", "concurrency=1,2", "--sweep", "rate=10,20"}, nil, []string{"--sweep given twice", "grid is not supported"}},
		{"flag and sweep of it", []string{"--sweep", "concurrency=1,2", "-c", "4"}, nil, []string{"--concurrency 4 and a sweep over concurrency"}},
		{"duration flag and iterations sweep", []string{"--sweep", "iterations=10,20", "-d", "1s"}, nil, []string{"--duration 1s and a sweep over iterations"}},
		{"bad PERFKIT_SWEEP", nil, map[string]string{"PERFKIT_SWEEP": "concurrency"}, []string{`sweep "concurrency"`, "PERFKIT_SWEEP"}},
		{"not a string (YAML)", []string{"--config", "list.yaml"}, nil, []string{"list.yaml:4", "scenario api", "not a string"}},
		{"unknown param (YAML)", []string{"--config", "unknown.yaml"}, nil, []string{"unknown.yaml:4", "sweep colour", "payload-bytes"}},
		{"wrong type (top-level YAML)", []string{"--config", "top.yaml"}, nil, []string{"top.yaml:1", "concurrency=x", "not an integer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			a := tc.args
			if !slices.Contains(a, "--config") {
				a = append([]string{"fetch"}, a...)
			}
			before, _ := os.ReadDir(dir)
			code, out, errOut := cli(t, append([]string{"run", "-o", "r.json"}, a...)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			oneErrorLine(t, errOut, tc.want...)
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("files left behind: %v → %v", before, after)
			}
		})
	}
}

// Sweep values that differ only in a secret are named apart by position:
// one name for two steps would make compare refuse the result.
func TestSweepSecretStepsNamedApart(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "--sweep", "header=Authorization: Bearer s3cr3t1,Authorization: Bearer s3cr3t2,Accept: text/plain")
	var got, values []string
	for i, s := range o.Scenarios {
		got = append(got, s.Name)
		values = append(values, o.Scenarios[i].Sweep.Value)
	}
	want := []string{"fetch[header=Authorization: REDACTED #1]", "fetch[header=Authorization: REDACTED #2]", "fetch[header=Accept: text/plain]"}
	if !slices.Equal(got, want) || !slices.Equal(values, []string{"Authorization: REDACTED #1", "Authorization: REDACTED #2", "Accept: text/plain"}) {
		t.Errorf("steps %q, values %q, want %q", got, values, want)
	}
}
