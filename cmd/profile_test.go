package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/profiling"
	"github.com/perfkit/perfkit/profiles"
)

// spin burns CPU in this one function for about d.
//
//go:noinline
func spin(d time.Duration) (x uint64) {
	x = 88172645463325252
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 1 << 12 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	return x
}

// hotBurnOp is the known hot function of the cpu workload below.
//
//go:noinline
func hotBurnOp() uint64 { return spin(200 * time.Microsecond) }

// injectedSlowdown is what a "regression" adds to each op: work of its own
// (not in spin, which the fast path shares).
//
//go:noinline
func injectedSlowdown() (x uint64) {
	x = 2463534242
	for end := time.Now().Add(300 * time.Microsecond); time.Now().Before(end); {
		for range 1 << 12 {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
		}
	}
	return x
}

var allocSink = make(chan []byte, 1)

// allocSiteOp is the known allocation site of the allocs workload.
//
//go:noinline
func allocSiteOp() {
	b := make([]byte, 32<<10)
	select {
	case allocSink <- b:
	default:
		<-allocSink
	}
}

// burnWorkload spends its ops in hotBurnOp (and, with slow, also in
// injectedSlowdown), or allocating in allocSiteOp.
type burnWorkload struct {
	alloc, slow bool
}

// Setup says the code under test runs in perfkit's process: its ops keep
// the CPUs busy, and that is not a saturated load generator (an allocs
// run was marked invalid for it, exit 3, under a CPU hog).
func (w *burnWorkload) Setup(_ context.Context, s *bench.Setup) error {
	s.Embedded = true
	return nil
}
func (w *burnWorkload) Teardown(context.Context) error { return nil }
func (w *burnWorkload) Op(context.Context, *bench.Worker) (bench.Label, error) {
	if w.alloc {
		allocSiteOp()
		return 0, nil
	}
	hotBurnOp()
	if w.slow {
		injectedSlowdown()
	}
	return 0, nil
}

// withBurn adds the "burn" and "allocate" workloads to the registry.
func withBurn(f *Factory) {
	f.Workloads = append(f.Workloads,
		bench.Definition{Name: "burn", Help: "burns CPU", Params: []bench.Param{
			{Name: "slow", Kind: bench.Bool, Default: "false", Help: "inject a slowdown"},
		}, New: func(v bench.Values) (bench.Workload, error) { return &burnWorkload{slow: v.Bool("slow")}, nil }},
		bench.Definition{Name: "allocate", Help: "allocates", New: func(bench.Values) (bench.Workload, error) {
			return &burnWorkload{alloc: true}, nil
		}},
	)
}

func burnCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return cliWith(t, context.Background(), withBurn, args...)
}

// readResultFile reads the one result in ResultsDir.
func readResultFile(t *testing.T) *bench.Result {
	t.Helper()
	files := resultFiles(t)
	if len(files) != 1 {
		t.Fatalf("result files %v, want one", files)
	}
	r, err := bench.ReadResult(filepath.Join(ResultsDir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// parseProfile opens a written profile with pprof's own parser.
func parseProfile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("profile.Parse(%s): %v", path, err)
	}
	return p
}

var viaSuffix = regexp.MustCompile(`\s+\(via [^ ]+\)$`)

// viaRows match a diff table's rows in order: the function and, when the
// row has one, its "(via caller)".
var viaRows = regexp.MustCompile(`(?m)^\s+[-+].*?\s(\S+)(?:\s+\(via ([^ ]+)\))?$`)

// topRows are the function names of a top table's rows, in order (without
// a diff's "(via caller)").
func topRows(out string) []string {
	var names []string
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "flat" || len(f) > 0 && f[0] == "Δflat":
			inTable = true
		case len(f) == 0:
			inTable = false
		case inTable:
			l = viaSuffix.ReplaceAllString(l, "")
			f = strings.Fields(l)
			names = append(names, f[len(f)-1])
		}
	}
	return names
}

func hasSuffixIn(names []string, suffix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, suffix) })
}

func TestProfileCPUShowsHotFunction(t *testing.T) {
	sandbox(t)
	code, out, errOut := burnCLI(t, "profile", "cpu", "burn", "-d", "700ms", "--warmup", "100ms", "-c", "1", "--top", "5", "--sort", "flat")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rows := topRows(out); len(rows) != 5 || !hasSuffixIn(rows, ".spin") {
		t.Errorf("top 5 by flat %v: want spin, where the workload burns its CPU:\n%s", rows, out)
	}
	// By cum (the default), the engine's own frames, which every sample
	// passes through, come first, as in pprof -top -cum.
	code, out, _ = burnCLI(t, "profile", "cpu", "burn", "-d", "700ms", "--warmup", "100ms", "-c", "1", "--top", "10", "--no-save")
	if code != ExitOK || !hasSuffixIn(topRows(out), ".hotBurnOp") {
		t.Errorf("top 10 by cum misses hotBurnOp:\n%s", out)
	}
	if !strings.Contains(out, "Profile: burn (perfkit)\nFile: "+ProfilesDir+"/burn-cpu-") || !strings.Contains(out, "Type: cpu\n") {
		t.Errorf("header:\n%s", out)
	}

	// The first run's result names its profile, a file pprof reads, whose
	// comments carry the op count of the run.
	r := readResultFile(t)
	path := r.Scenarios[0].Profiles["cpu"]
	if !regexp.MustCompile(`^\.perfkit/profiles/burn-cpu-\d{8}T\d{6}Z\.pb\.gz$`).MatchString(path) {
		t.Fatalf("profiles %v", r.Scenarios[0].Profiles)
	}
	if !strings.Contains(errOut, "profile cpu: "+path+"\n") {
		t.Errorf("stderr %q does not name the profile", errOut)
	}
	p := parseProfile(t, path)
	// The ops of the run that fell in the profile's window (see opsIn).
	if ops, ok := profiles.Ops(p); !ok || ops != profiling.OpsIn(r.Scenarios[0].Runs[0], p) || ops > r.Scenarios[0].Runs[0].Ops {
		t.Errorf("profile ops %d, result ops %d, in the window %d", ops, r.Scenarios[0].Runs[0].Ops, profiling.OpsIn(r.Scenarios[0].Runs[0], p))
	}
	if sc, _ := profiles.Comment(p, profiles.CommentScenario); sc != "burn" {
		t.Errorf("scenario comment %q", sc)
	}
	// The profile covers the measured part, not the warmup: it starts once
	// the measured window has begun and ends once it is over. (How late
	// after either it starts or stops is up to the machine's load.)
	window := r.Scenarios[0].Runs[0].StartedAt
	began, ended := time.Unix(0, p.TimeNanos), time.Unix(0, p.TimeNanos+p.DurationNanos)
	if began.Before(window.Add(-5 * time.Millisecond)) {
		t.Errorf("profile began at %s, before the measured part began at %s: it covers the warmup", began, window)
	}
	if ended.Before(window.Add(700 * time.Millisecond)) {
		t.Errorf("profile ended at %s, before the 700ms measured part ended at %s", ended, window.Add(700*time.Millisecond))
	}
}

func TestProfileAllocsShowsAllocationSite(t *testing.T) {
	sandbox(t)
	code, out, errOut := burnCLI(t, "profile", "allocs", "allocate", "-d", "1s", "--warmup", "0s", "-c", "2", "--top", "5", "--sort", "flat", "--no-save") // 1s: a loaded machine runs few ops in less
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rows := topRows(out); !hasSuffixIn(rows, ".allocSiteOp") {
		t.Errorf("top 5 allocation sites %v miss allocSiteOp:\n%s", rows, out)
	}
	if !strings.Contains(out, "Type: alloc_space") {
		t.Errorf("not alloc_space:\n%s", out)
	}
}

// profilingFrames only perfkit's profiling puts on a stack: runtime/pprof's
// writers, the gzip they use, the profiles package's captures and the
// profiler wrapping the run. An allocs profile (the window's allocations)
// must have none of them.
var profilingFrames = regexp.MustCompile(`^runtime/pprof\.|^compress/(flate|gzip)\.|^github\.com/perfkit/perfkit/profiles\.|^github\.com/perfkit/perfkit/bench/profiling\.\(\*Profiler\)`)

// captureFrames are the captures' own: a heap profile (all that is live,
// earlier tests' leftovers included) must not hold what they keep.
var captureFrames = regexp.MustCompile(`^github\.com/perfkit/perfkit/profiles\.(Start|SetAllocsSampling|snapshot|delta|startMemWindow|\(\*(Capture|memWindow)\))`)

// Issue 10, item 3: the allocs profile held perfkit's own snapshots (51–100%
// in compress/flate and runtime/pprof.writeHeapProto under profiles.snapshot)
// and its B/op changed with the duration. It must hold what the measured
// window allocated, say so, and give about what an op allocates; the heap
// profile beside it must not hold the captures' buffers either.
func TestProfileAllocsExcludesPerfkitsProfiling(t *testing.T) {
	sandbox(t)
	code, out, errOut := burnCLI(t, "profile", "allocs", "allocate", "--profile", "heap", "-d", "1s", "--warmup", "0s", "-c", "2", "--top", "5", "--sort", "flat")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sr := readResultFile(t).Scenarios[0]
	for kind, re := range map[string]*regexp.Regexp{"allocs": profilingFrames, "heap": captureFrames} {
		p := parseProfile(t, sr.Profiles[kind])
		for _, s := range p.Sample {
			if !slices.ContainsFunc(s.Value, func(v int64) bool { return v != 0 }) {
				continue
			}
			for _, l := range s.Location {
				for _, ln := range l.Line {
					if re.MatchString(ln.Function.Name) {
						t.Fatalf("the %s profile holds perfkit's profiling: a sample under %s", kind, ln.Function.Name)
					}
				}
			}
		}
	}
	p := parseProfile(t, sr.Profiles["allocs"])
	ops, ok := profiles.Ops(p)
	if !ok {
		t.Fatal("the allocs profile carries no op count")
	}
	top, err := profiles.Top(p, profiles.TopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// allocSiteOp allocates 32 KiB an op; sampled, with the engine's few
	// bytes beside it: a loose band, no timing.
	if perOp := top.Total / ops; perOp < 16<<10 || perOp > 96<<10 {
		t.Errorf("%d B/op over %d ops, want about %d:\n%s", perOp, ops, 32<<10, out)
	}
	for _, want := range []string{
		"Covers: allocations during the measured window (",
		" ops), perfkit's profiling excluded",
		"Covers: memory in use at the end of the measured window, after a GC, perfkit's profiling excluded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	if a, h := strings.Index(out, "Covers: alloc"), strings.Index(out, "Covers: memory"); a > h {
		t.Errorf("the command's own kind (allocs) is not shown first:\n%s", out)
	}
}

func TestRunProfileMergesCount(t *testing.T) {
	sandbox(t)
	code, out, errOut := burnCLI(t, "run", "burn", "--profile", "cpu,goroutine", "--count", "2", "-d", "200ms", "--warmup", "0s", "-c", "1")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "burn") || strings.Contains(out, "flat%") {
		t.Errorf("run prints its result table, not top tables:\n%s", out)
	}
	r := readResultFile(t)
	sr := r.Scenarios[0]
	if len(sr.Profiles) != 2 || sr.Profiles["cpu"] == "" || sr.Profiles["goroutine"] == "" {
		t.Fatalf("profiles %v", sr.Profiles)
	}
	p := parseProfile(t, sr.Profiles["cpu"])
	if runs, _ := profiles.Comment(p, profiles.CommentRuns); runs != "2" {
		t.Errorf("runs comment %q, want 2", runs)
	}
	// The two runs' ops inside their windows (see opsIn): their sum, less
	// any part of a run a late capture missed.
	if ops, _ := profiles.Ops(p); ops <= 0 || ops > sr.Runs[0].Ops+sr.Runs[1].Ops {
		t.Errorf("ops %d, want at most the two runs' %d+%d", ops, sr.Runs[0].Ops, sr.Runs[1].Ops)
	}
	g := parseProfile(t, sr.Profiles["goroutine"])
	if _, ok := profiles.Ops(g); ok {
		t.Error("a goroutine snapshot carries an op count")
	}
	if top, _ := profiles.Top(g, profiles.TopOptions{}); !slices.ContainsFunc(top.Rows, func(r profiles.TopRow) bool { return strings.HasSuffix(r.Function, "workerState).loop") }) {
		t.Error("the goroutine snapshot, taken mid-window, misses the engine's workers")
	}
}

func TestProfileFromConfig(t *testing.T) {
	sandbox(t)
	writeFile(t, ConfigFileName, "profile: [cpu]\nscenarios:\n  - name: b\n    workload: burn\n    duration: 200ms\n    warmup: 0s\n")
	code, _, errOut := burnCLI(t, "run", "b")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if r := readResultFile(t); r.Scenarios[0].Profiles["cpu"] == "" {
		t.Errorf("profiles %v", r.Scenarios[0].Profiles)
	}
	writeFile(t, ConfigFileName, "scenarios:\n  - name: b\n    workload: burn\n    profile: cpu\n")
	code, _, errOut = burnCLI(t, "run", "b")
	if code != ExitUsage {
		t.Errorf("scenario-level profile: exit %d", code)
	}
	oneErrorLine(t, errOut, "perfkit.yaml:4", `key "profile" applies to the whole run`)
}

// targetHot is the known hot function of the target server.
//
//go:noinline
func targetHot(w http.ResponseWriter, r *http.Request) {
	spin(500 * time.Microsecond)
	w.Write([]byte("ok"))
}

// pprofTarget is a Go service under load: a handler and net/http/pprof.
// profileHandler replaces the CPU profile endpoint when not nil.
func pprofTarget(t *testing.T, profileHandler http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	if profileHandler == nil {
		profileHandler = pprof.Profile
	}
	mux.HandleFunc("/debug/pprof/profile", profileHandler)
	mux.HandleFunc("/work", targetHot)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRunPprofURLProfilesTheTarget(t *testing.T) {
	sandbox(t)
	srv := pprofTarget(t, nil)
	code, _, errOut := cli(t, "run", "fetch", "--url", srv.URL+"/work", "--pprof-url", srv.URL+"/debug/pprof", "-d", "1s", "--warmup", "100ms", "-c", "2")
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sr := readResultFile(t).Scenarios[0]
	path := sr.Profiles["target-cpu"]
	if path == "" || len(sr.Profiles) != 1 || !strings.Contains(path, "fetch-target-cpu-") {
		t.Fatalf("profiles %v: want the target's cpu only", sr.Profiles)
	}
	p := parseProfile(t, path)
	top, err := profiles.Top(p, profiles.TopOptions{N: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(top.Rows, func(r profiles.TopRow) bool { return strings.HasSuffix(r.Function, ".targetHot") }) {
		var b bytes.Buffer
		profiles.WriteTop(&b, top, profiles.FormatTable)
		t.Errorf("the target's profile misses its handler:\n%s", b.String())
	}
	if src, _ := profiles.Comment(p, profiles.CommentSource); src != srv.URL+"/debug/pprof" {
		t.Errorf("source %q", src)
	}
}

func TestProfilePprofURLKeepsBoth(t *testing.T) {
	sandbox(t)
	srv := pprofTarget(t, nil)
	code, out, errOut := cli(t, "profile", "allocs", "fetch", "--url", srv.URL+"/work", "--pprof-url", srv.URL+"/debug/pprof", "-d", "1s", "--warmup", "0s", "-c", "2", "--top", "3")
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sr := readResultFile(t).Scenarios[0]
	if sr.Profiles["allocs"] == "" || sr.Profiles["target-allocs"] == "" {
		t.Errorf("profiles %v: want perfkit's and the target's", sr.Profiles)
	}
	if !strings.Contains(out, "Profile: fetch (perfkit)") || !strings.Contains(out, "Profile: fetch (target "+srv.URL+"/debug/pprof)") {
		t.Errorf("want both top tables:\n%s", out)
	}
}

func TestPprofURLTargetGoneMidRun(t *testing.T) {
	sandbox(t)
	// The target answers the check and the load, then drops the profile
	// request without an answer.
	srv := pprofTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	})
	code, out, errOut := cli(t, "run", "fetch", "--url", srv.URL+"/work", "--pprof-url", srv.URL+"/debug/pprof", "-d", "300ms", "--warmup", "0s", "-c", "1")
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d: the run must complete: %s", code, errOut)
	}
	if !strings.Contains(errOut, "perfkit: warning: scenario fetch: run 0: target cpu profile: GET "+srv.URL+"/debug/pprof/profile?seconds=1: ") ||
		!strings.Contains(errOut, "no target cpu profile") {
		t.Errorf("stderr %q does not report the missing profile", errOut)
	}
	if !strings.Contains(out, "fetch") {
		t.Errorf("no result table:\n%s", out)
	}
	if sr := readResultFile(t).Scenarios[0]; len(sr.Profiles) != 0 || len(sr.Runs) != 1 || sr.Runs[0].Ops == 0 {
		t.Errorf("result: profiles %v, runs %d", sr.Profiles, len(sr.Runs))
	}
}

// writeSynth writes a profile of "leaf;…;root" stacks, with an op count.
func writeSynth(t *testing.T, path, typ, unit string, ops int64, stacks map[string]int64) string {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: typ, Unit: unit}},
		PeriodType: &profile.ValueType{Type: typ, Unit: unit},
		Period:     1,
	}
	locs := map[string]*profile.Location{}
	for stack, v := range stacks {
		s := &profile.Sample{Value: []int64{v}}
		for _, name := range strings.Split(stack, ";") {
			l, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name}
				p.Function = append(p.Function, fn)
				l = &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
				p.Location = append(p.Location, l)
				locs[name] = l
			}
			s.Location = append(s.Location, l)
		}
		p.Sample = append(p.Sample, s)
	}
	if ops > 0 {
		profiles.SetOps(p, ops)
	}
	if err := profiles.WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProfileDiffRanksInjectedFunctionFirst(t *testing.T) {
	sandbox(t)
	base := writeSynth(t, "base.pb.gz", "cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle": 4_000_000, "main.encode;main.handle": 2_000_000,
	})
	// Twice the ops, the same cost per op, and a new hot function.
	new := writeSynth(t, "new.pb.gz", "cpu", "nanoseconds", 2000, map[string]int64{
		"main.parse;main.handle": 8_000_000, "main.encode;main.handle": 4_000_000, "main.hot;main.handle": 3_000_000,
	})
	code, out, errOut := cli(t, "profile", "diff", base, new, "--top", "3")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rows := topRows(out); !slices.Equal(rows, []string{"main.hot"}) {
		t.Errorf("rows %v, want main.hot alone: per op, nothing else changed its own cost:\n%s", rows, out)
	}
	code, out, _ = cli(t, "profile", "diff", base, new, "--sort", "cum")
	if rows := topRows(out); code != ExitOK || !slices.Equal(rows, []string{"main.hot", "main.handle"}) {
		t.Errorf("by cum: rows %v, want main.hot, then its caller:\n%s", rows, out)
	}
	if !strings.Contains(out, "Type: cpu, per op: base 6.00µs/op, new 7.50µs/op (+25.0%)") || !strings.Contains(out, "+1.50µs") {
		t.Errorf("not per op:\n%s", out)
	}
	code, out, _ = cli(t, "profile", "diff", base, new, "--format", "json")
	var d profiles.DiffReport
	if code != ExitOK || json.Unmarshal([]byte(out), &d) != nil || d.Rows[0].Function != "main.hot" || !d.PerOp {
		t.Errorf("json: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "profile", "diff", base, new, "--format", "markdown")
	if code != ExitOK || !strings.Contains(out, "| +1.50µs | new | +1.50µs | new | 0 | 1.50µs | `main.hot` |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "profile", "top", new, "--top", "1", "--sort", "flat")
	if code != ExitOK || !slices.Equal(topRows(out), []string{"main.parse"}) {
		t.Errorf("top: exit %d\n%s", code, out)
	}
}

func TestProfileBadInput(t *testing.T) {
	sandbox(t)
	good := writeSynth(t, "cpu.pb.gz", "cpu", "nanoseconds", 10, map[string]int64{"main.a": 5})
	heap := writeSynth(t, "heap.pb.gz", "inuse_space", "bytes", 0, map[string]int64{"main.a": 5})
	data, _ := os.ReadFile(good)
	writeFile(t, "trunc.pb.gz", string(data[:len(data)/2]))
	writeFile(t, "notes.txt", "these are notes, not a profile\n")
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/debug/pprof"
	}()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>404</title></head><body>Page not found</body></html>\n")
	}))
	defer html.Close()
	quickBurn := []string{"burn", "-d", "100ms", "--warmup", "0s"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"profile", "cpux", "burn"}, []string{`unknown profile kind "cpux"`, "accepted: cpu, heap, allocs, mutex, block, goroutine"}},
		{args([]string{"run"}, quickBurn, []string{"--profile", "cpu,wall"}), []string{`unknown profile kind "wall"`, "--profile"}},
		{[]string{"profile", "top", "notes.txt"}, []string{"notes.txt: not a profile"}},
		{[]string{"profile", "diff", good, "trunc.pb.gz"}, []string{"trunc.pb.gz: not a profile: truncated"}},
		{[]string{"profile", "diff", good, heap}, []string{"different sample types", "cpu/nanoseconds", "inuse_space/bytes"}},
		{args([]string{"run"}, quickBurn, []string{"--pprof-url", refused}), []string{"--pprof-url " + refused, "connection refused"}},
		{args([]string{"profile", "cpu"}, quickBurn, []string{"--pprof-url", html.URL + "/debug/pprof"}), []string{"--pprof-url", "404 Not Found: an HTML page"}},
		{args([]string{"profile", "cpu"}, quickBurn, []string{"--top", "0"}), []string{"--top 0: must be at least 1"}},
		{[]string{"profile", "top", good, "--focus", "(oops"}, []string{`--focus "(oops"`, "missing closing )"}},
		{args([]string{"profile", "cpu"}, quickBurn, []string{"--ignore", "a[z-a]"}), []string{`--ignore "a[z-a]"`, "invalid character class range"}},
		{[]string{"profile", "diff", good}, []string{"expected BASE and NEW"}},
		{[]string{"profile", "top", good, "--sample-index", "alloc_space"}, []string{`sample type "alloc_space" is not in the profile`}},
	} {
		code, _, errOut := burnCLI(t, c.args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", c.args, code, errOut)
			continue
		}
		oneErrorLine(t, errOut, c.want...)
	}
	if files := resultFiles(t); len(files) != 0 {
		t.Errorf("bad input left results %v", files)
	}
}

// syncBuffer is a buffer safe to write from one goroutine and read from
// another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProfileWeb(t *testing.T) {
	home := sandbox(t)
	t.Setenv("PPROF_TMPDIR", "")
	file := writeSynth(t, "cpu.pb.gz", "cpu", "nanoseconds", 10, map[string]int64{"main.webHot;main.main": 5_000_000})
	var out, errOut syncBuffer
	f := newFactory(&out, &errOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- execute(ctx, []string{"profile", "web", file, "--no-browser"}, f) }()

	serving := regexp.MustCompile(`Serving web UI on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := serving.FindStringSubmatch(errOut.String()); m != nil {
			base = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("profile web exited %d early: %s", code, errOut.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no 'Serving web UI' line: %q", errOut.String())
	}
	resp, err := http.Get(base + "/ui/top")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), "main.webHot") {
		t.Errorf("GET /ui/top: %s, body has main.webHot: %v", resp.Status, strings.Contains(body.String(), "main.webHot"))
	}
	// The flame graph needs no Graphviz; / leads to it.
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/flamegraph" {
		t.Errorf("GET /: %s at %s, want the flame graph", resp.Status, resp.Request.URL.Path)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("profile web did not stop with its context")
	}
	// pprof's driver keeps a copy of what it thinks was fetched in ~/pprof/:
	// a local file is not copied anywhere.
	if _, err := os.Stat(filepath.Join(home, "pprof")); !os.IsNotExist(err) || strings.Contains(errOut.String(), "Saved profile") {
		t.Errorf("profile web left a copy in ~/pprof: %v; stderr %q", err, errOut.String())
	}
}

// TestCompareAttributesRegression: a regression with profiles on both sides
// names the functions that grew, in the table and in markdown; JSON stays
// one document.
func TestCompareAttributesRegression(t *testing.T) {
	sandbox(t)
	base := writeSynth(t, "base-cpu.pb.gz", "cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle": 4_000_000, "main.encode;main.handle": 2_000_000,
	})
	slow := writeSynth(t, "new-cpu.pb.gz", "cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle": 4_100_000, "main.encode;main.handle": 1_900_000, "main.checksum;main.handle": 3_000_000,
	})
	old := synthResult(10, 1, synthEnv)
	old.Scenarios[0].Profiles = map[string]string{"cpu": base}
	new := synthResult(10, 1.5, synthEnv)
	new.Scenarios[0].Profiles = map[string]string{"cpu": slow}
	writeResult(t, "old.json", old)
	writeResult(t, "new.json", new)

	code, out, errOut := cli(t, "compare", "old.json", "new.json")
	if code != ExitGate {
		t.Fatalf("exit %d, want 1: %s\n%s", code, errOut, out)
	}
	_, why, ok := strings.Cut(out, "Profile: why api regressed: the functions whose cpu cost per op grew most (cpu profile)\n")
	if !ok {
		t.Fatalf("no attribution:\n%s", out)
	}
	if rows := topRows(why); len(rows) < 2 || rows[0] != "main.checksum" || rows[1] != "main.parse" || slices.Contains(rows, "main.encode") {
		t.Errorf("attribution rows %v, want main.checksum, then main.parse, and not main.encode (it shrank):\n%s", rows, why)
	}
	if !strings.Contains(why, "Base: base-cpu.pb.gz (1000 ops)") || !strings.Contains(why, "+3.00µs") {
		t.Errorf("attribution:\n%s", why)
	}

	code, out, _ = cli(t, "compare", "old.json", "new.json", "--format", "markdown")
	if code != ExitGate || !strings.Contains(out, "**why api regressed") || !strings.Contains(out, "| +3.00µs | new | +3.00µs | new | 0 | 3.00µs | `main.checksum` |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "compare", "old.json", "new.json", "--format", "json")
	var v map[string]any
	if code != ExitGate || json.Unmarshal([]byte(out), &v) != nil {
		t.Errorf("json: exit %d, not one JSON document:\n%s", code, out)
	}

	// A profile gone missing costs the explanation, not the compare.
	os.Remove(slow)
	code, out, errOut = cli(t, "compare", "old.json", "new.json")
	if code != ExitGate || strings.Contains(out, "why api") || !strings.Contains(errOut, "perfkit: warning: scenario api: cannot explain the regression with the cpu profiles: ") {
		t.Errorf("missing profile: exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// TestProfiledRegressionEndToEnd: a baseline with profiles, an injected
// slowdown, and compare naming the function that caused it.
func TestProfiledRegressionEndToEnd(t *testing.T) {
	sandbox(t)
	run := []string{"run", "burn", "--profile", "cpu", "--count", "8", "-d", "150ms", "--warmup", "0s", "-c", "1"}
	if code, _, errOut := burnCLI(t, run...); code != ExitOK {
		t.Fatalf("baseline run: exit %d: %s", code, errOut)
	}
	code, _, errOut := burnCLI(t, "baseline", "save")
	if code != ExitOK || strings.Contains(errOut, "warning") {
		t.Fatalf("baseline save: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(".perfkit/baselines/default.json")
	if err != nil {
		t.Fatal(err)
	}
	kept := ".perfkit/baselines/default.profiles/burn-cpu.pb.gz"
	if !strings.Contains(string(data), `"cpu": "`+kept+`"`) {
		t.Errorf("the baseline does not point at its own copy of the profile")
	}
	parseProfile(t, kept)
	os.RemoveAll(ProfilesDir) // make clean: the baseline keeps its copy
	for _, f := range resultFiles(t) {
		os.Remove(filepath.Join(ResultsDir, f))
	}

	code, out, errOut := burnCLI(t, append(run, "--slow", "--compare", "default")...)
	if code != ExitGate {
		t.Fatalf("slowed run: exit %d, want 1: %s\n%s", code, errOut, out)
	}
	_, why, ok := strings.Cut(out, "Profile: why burn regressed")
	if !ok {
		t.Fatalf("no attribution:\n%s", out)
	}
	// A spin loop on a loaded machine is preempted often; the preemption's
	// own CPU shows as runtime.asyncPreempt via the function it stopped, so
	// runtime rows may lead as long as they come via injectedSlowdown.
	rows := viaRows.FindAllStringSubmatch(why, -1)
	first := 0
	for first < len(rows) && strings.HasPrefix(rows[first][1], "runtime.") && strings.HasSuffix(rows[first][2], ".injectedSlowdown") {
		first++
	}
	if first == len(rows) || !strings.HasSuffix(rows[first][1], ".injectedSlowdown") {
		t.Errorf("attribution rows %q, want injectedSlowdown first (after runtime rows via it):\n%s", rows, why)
	}

	code, _, _ = burnCLI(t, "baseline", "rm", "default")
	if _, err := os.Stat(".perfkit/baselines/default.profiles"); code != ExitOK || !os.IsNotExist(err) {
		t.Errorf("baseline rm: exit %d, profiles left: %v", code, err)
	}
}
