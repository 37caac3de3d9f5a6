package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

func TestShardFlags(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "--shard", "1/4", "-c", "10")
	if s := o.Scenarios[0].Settings; s.Shard == nil || *s.Shard != (bench.Shard{Index: 1, Count: 4}) || s.Concurrency != 10 {
		t.Errorf("--shard 1/4: settings %+v shard %v", s, s.Shard)
	}
	t.Setenv("PERFKIT_SHARD", "3/4")
	if s := mustResolve(t, nil, "fetch").Scenarios[0].Settings; s.Shard == nil || *s.Shard != (bench.Shard{Index: 3, Count: 4}) {
		t.Errorf("PERFKIT_SHARD=3/4: shard %v", s.Shard)
	}
	t.Setenv("PERFKIT_SHARD", "")
	t.Setenv(jobIndexEnv, "2")
	if s := mustResolve(t, nil, "fetch", "--shards", "4").Scenarios[0].Settings; s.Shard == nil || *s.Shard != (bench.Shard{Index: 2, Count: 4}) {
		t.Errorf("--shards 4 with %s=2: shard %v", jobIndexEnv, s.Shard)
	}
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	o = mustResolve(t, nil, "fetch", "--start-at", at.Format(time.RFC3339), "-d", "2s", "--warmup", "1s", "--count", "2")
	if got := o.Scenarios[0].Settings.StartAt; !got.Equal(at) {
		t.Errorf("--start-at: %s, want %s", got, at)
	}
}

func TestScaleBadInput(t *testing.T) {
	sandbox(t)
	t.Setenv(jobIndexEnv, "") // as outside an Indexed Job
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--shard", "4/4"}, []string{"shard 4/4: the index must be 0 to 3", "--shard"}},
		{[]string{"--shard", "-1/2"}, []string{"shard -1/2: the index must be 0 to 1"}},
		{[]string{"--shards", "0"}, []string{"shards 0: must be at least 1", "--shards"}},
		{[]string{"--shard", "two/4"}, []string{`shard "two/4": want I/N`}},
		{[]string{"--shard", "1/4", "--shards", "8"}, []string{"disagree on the number of shards"}},
		{[]string{"--shards", "4"}, []string{"shards 4: no shard index", jobIndexEnv}},
		{[]string{"--shard", "0/16", "-c", "8"}, []string{"concurrency 8 leaves shards without a worker"}},
		{[]string{"--start-at", "tomorrow"}, []string{`start-at "tomorrow": not an RFC3339 time`}},
		{[]string{"--start-at", past, "--warmup", "1s"}, []string{"start-at " + past, "longer than the warmup (1s)"}},
		{[]string{"--find-max-rate"}, []string{"--find-max-rate needs an objective", `--slo "p99<20ms"`}},
		{[]string{"--find-max-rate", "--slo", "p99<<20ms"}, []string{`expression "p99<<20ms"`, "unknown operator"}},
		{[]string{"--find-max-rate", "--slo", "p99<20"}, []string{"needs a unit"}},
		{[]string{"--find-max-rate", "--slo", "bytes_in<20"}, []string{"an SLO takes p50"}},
		{[]string{"--slo", "p99<20ms"}, []string{"slo applies to a capacity search: add --find-max-rate"}},
		{[]string{"--find-max-rate", "--slo", "p99<20ms", "-n", "100"}, []string{"drop -n 100"}},
		{[]string{"--find-max-rate", "--slo", "p99<20ms", "--precision", "150%"}, []string{`precision "150%"`}},
		{[]string{"--find-max-rate", "--slo", "p99<20ms", "--shard", "0/2"}, []string{"--find-max-rate and --shard"}},
	} {
		code, out, errOut := cli(t, append([]string{"run", "fetch", "--no-save"}, tc.args...)...)
		if code != ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2", tc.args, code, out, errOut)
			continue
		}
		oneErrorLine(t, errOut, tc.want...)
	}
}

// executeAll runs perfkit command lines side by side in-process, each with a
// factory of its own (the shards of one sharded run).
func executeAll(t *testing.T, cmds [][]string) []string {
	t.Helper()
	errs := make([]string, len(cmds))
	codes := make([]int, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Go(func() {
			var out, errb bytes.Buffer
			codes[i] = execute(context.Background(), args, newFactory(&out, &errb))
			errs[i] = errb.String()
		})
	}
	wg.Wait()
	for i, c := range codes {
		// A run on a loaded machine may be invalid, and a gate may say so
		// with its exit code; a result file is what a shard must leave.
		if c != ExitOK && (c == ExitUsage || !wroteOut(cmds[i])) {
			t.Fatalf("%q: exit %d: %s", cmds[i], c, errs[i])
		}
	}
	return errs
}

// wroteOut reports whether the command line's -o file exists.
func wroteOut(args []string) bool {
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			_, err := os.Stat(args[i+1])
			return err == nil
		}
	}
	return false
}

func readShardFile(t *testing.T, path string) *bench.Result {
	t.Helper()
	r, err := bench.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Four shards on loopback against one target, begun at one instant, merge
// exactly: the merged numbers are the union of the shards'.
func TestShardedRunMergesExactly(t *testing.T) {
	sandbox(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	const rate = 400
	// Lead time for four in-process commands to set up under -race on a
	// loaded machine; a shard that misses the instant is refused.
	atTime := time.Now().Add(2 * time.Second).UTC()
	at := atTime.Format(time.RFC3339Nano)
	var cmds [][]string
	for i := range 4 {
		cmds = append(cmds, []string{"run", "fetch", "--url", srv.URL, "--shard", fmt.Sprintf("%d/4", i), "--start-at", at,
			"-r", fmt.Sprint(rate), "-d", "1s", "--warmup", "200ms", "-c", "8", "--interval", "250ms", "-o", fmt.Sprintf("s%d.json", i)})
	}
	executeAll(t, cmds)
	code, _, errOut := cli(t, "merge", "s0.json", "s1.json", "s2.json", "s3.json", "-o", "merged.json")
	if code != ExitOK || !strings.Contains(errOut, "result: merged.json (merged from 4 shards)") {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	var shards []*bench.Result
	for i := range 4 {
		shards = append(shards, readShardFile(t, fmt.Sprintf("s%d.json", i)))
	}
	merged := readShardFile(t, "merged.json")
	sc := merged.Scenarios[0]
	run := sc.Runs[0]
	if sc.Shard != nil || sc.Settings.Rate != rate || sc.Settings.Concurrency != 8 || merged.Partial {
		t.Fatalf("merged scenario: shard %v, settings %+v, partial %v", sc.Shard, sc.Settings, merged.Partial)
	}

	var ops, intervalOps int64
	var achieved float64
	union := bench.NewHistogram()
	for i, r := range shards {
		s := r.Scenarios[0]
		if s.Shard == nil || *s.Shard != (bench.Shard{Index: i, Count: 4}) || s.Settings.Rate != rate {
			t.Fatalf("shard %d: marked %v, settings %+v", i, s.Shard, s.Settings)
		}
		if st := s.Runs[0].Schedule; st.TargetRate != rate/4 {
			t.Errorf("shard %d: target %g/s, want its share %d/s", i, st.TargetRate, rate/4)
		}
		// No shard measures before the agreed instant; one the machine held
		// up past it (setup or its timer late) measures from when it began,
		// which is the engine's to report (bench's start-at tests), not an
		// error of the merge.
		if d := s.Runs[0].StartedAt.Sub(atTime); d < -time.Millisecond {
			t.Errorf("shard %d began measuring %s before the agreed instant", i, -d)
		} else if d > 10*time.Millisecond {
			t.Logf("shard %d began measuring %s after the agreed instant (a loaded machine)", i, d)
		}
		ops += s.Runs[0].Ops
		achieved += s.Runs[0].Schedule.AchievedRate
		h, err := s.Runs[0].Latency[bench.OverallKey].Histogram()
		if err != nil {
			t.Fatal(err)
		}
		union.Merge(h)
	}
	for _, iv := range run.Intervals {
		intervalOps += iv.Ops
	}
	if run.Ops != ops || intervalOps != ops || hits.Load() < ops {
		t.Errorf("merged ops %d (intervals %d), shards' sum %d, target saw %d", run.Ops, intervalOps, ops, hits.Load())
	}
	got, err := run.Latency[bench.OverallKey].Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Distribution(), union.Distribution()) {
		t.Error("merged histogram differs from the union of the shards' histograms")
	}
	if l := run.Latency[bench.OverallKey]; l.P99Ns != union.ValueAtQuantile(99) || l.Count != union.TotalCount() {
		t.Errorf("merged p99 %d (count %d), union's %d (%d)", l.P99Ns, l.Count, union.ValueAtQuantile(99), union.TotalCount())
	}
	// The shards' achieved rates add up; how close they come to the target
	// is the machine's business (a loaded one drops ops), not the merge's.
	if st := run.Schedule; st.TargetRate != rate || math.Abs(st.AchievedRate-achieved) > 1e-6*achieved || st.AchievedRate <= 0 {
		t.Errorf("merged schedule: target %g/s, achieved %g/s; want %d/s and the shards' sum %g/s", st.TargetRate, st.AchievedRate, rate, achieved)
	}

	// Every other command takes the merged result like a single run.
	if code, out, errOut := cli(t, "report", "merged.json"); code != ExitOK || !strings.Contains(out, "merged from 4 of 4 shards") {
		t.Errorf("report: exit %d %s\n%s", code, errOut, out)
	}
	// (--fail-on regression: a loaded machine may leave the shards invalid
	// for schedule lag, which is not what this checks.)
	if code, _, errOut := cli(t, "compare", "merged.json", "merged.json", "--fail-on", "regression"); code != ExitOK {
		t.Errorf("compare: exit %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "baseline", "save", "sharded", "--from", "merged.json"); code != ExitOK {
		t.Errorf("baseline save: exit %d %s", code, errOut)
	}

	// Shards that do not belong together, and missing ones.
	edit := func(name string, change func(m map[string]any)) string {
		data, _ := os.ReadFile("s2.json")
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		data, _ = json.Marshal(m)
		writeFile(t, name, string(data))
		return name
	}
	scenario0 := func(m map[string]any) map[string]any { return m["scenarios"].([]any)[0].(map[string]any) }
	otherURL := edit("url.json", func(m map[string]any) { scenario0(m)["params"].(map[string]any)["url"] = []any{"http://elsewhere/"} })
	renamed := edit("renamed.json", func(m map[string]any) { scenario0(m)["name"] = "other" })
	schema2 := edit("schema2.json", func(m map[string]any) { m["schema_version"] = 2 })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s0.json", "s1.json", otherURL, "s3.json"}, "scenario fetch: params differ: url=[" + srv.URL + "] in s0.json, url=[http://elsewhere/] in url.json"},
		{[]string{"s0.json", "s1.json", renamed, "s3.json"}, "scenarios differ: s0.json has fetch, renamed.json has other"},
		{[]string{"s0.json", "s1.json", schema2, "s3.json"}, "schema2.json: schema_version 2 is not supported"},
		{[]string{"s0.json", "s1.json", "s1.json", "s2.json", "s3.json"}, "shard 1/4 given twice: s1.json and s1.json"},
		{[]string{"s0.json", "s1.json", "s3.json"}, "missing shard 2 of 4 (have 0, 1, 3; --allow-partial"},
	} {
		code, out, errOut := cli(t, append([]string{"merge", "-o", "bad.json"}, tc.args...)...)
		if code != ExitUsage || out != "" {
			t.Errorf("merge %q: exit %d, stdout %q; want 2", tc.args, code, out)
		}
		oneErrorLine(t, errOut, tc.want)
	}
	if _, err := os.Stat("bad.json"); err == nil {
		t.Error("a refused merge wrote its output")
	}
	code, out, errOut := cli(t, "merge", "s0.json", "s1.json", "s3.json", "-o", "partial.json", "--allow-partial")
	if p := readShardFile(t, "partial.json"); code != ExitOK || !p.Partial || p.Scenarios[0].Runs[0].Schedule.TargetRate != 3*rate/4 {
		t.Errorf("--allow-partial: exit %d %s, partial %v", code, errOut, p.Partial)
	}
	// A missing shard is named as such: nothing stopped early.
	for _, want := range []string{"fetch: partial (shard 2/4 missing)", "partial result (shard 2/4 missing)"} {
		if !strings.Contains(out, want) {
			t.Errorf("--allow-partial table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "stopped early") {
		t.Errorf("--allow-partial says a shard stopped early; none did:\n%s%s", out, errOut)
	}
}
