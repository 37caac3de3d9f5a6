package profiles

import (
	"bytes"
	"math"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// profilingFrames are frames that only perfkit's profiling puts on a
// stack: runtime/pprof's writers, the gzip they use, and this package's
// captures. An allocs profile of a workload must have none of them.
var profilingFrames = regexp.MustCompile(`^runtime/pprof\.|^compress/(flate|gzip)\.|^github\.com/perfkit/perfkit/profiles\.(Start|snapshot|delta|startMemWindow|\(\*(Capture|memWindow)\))`)

// framesIn lists the functions of p's samples (with a value) that
// match re.
func framesIn(p *profile.Profile, re *regexp.Regexp) []string {
	var out []string
	for _, s := range p.Sample {
		if !slices.ContainsFunc(s.Value, func(v int64) bool { return v != 0 }) {
			continue
		}
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if ln.Function != nil && re.MatchString(ln.Function.Name) && !slices.Contains(out, ln.Function.Name) {
					out = append(out, ln.Function.Name)
				}
			}
		}
	}
	return out
}

// The allocs delta counts none of the capture's own work: the start is
// kept as raw records, not encoded into a profile whose encoding the end
// would count (issue 10, item 3: 51–100% of the profile was
// runtime/pprof.writeHeapProto and compress/flate under profiles.snapshot).
func TestMemWindowCountsNoneOfItsOwnWork(t *testing.T) {
	allocateBuffers(50)
	w := startMemWindow()
	allocateBuffers(500)
	p := w.stop() // no ExcludeOwn: the delta itself must be clean
	if got := framesIn(p, profilingFrames); len(got) > 0 {
		t.Errorf("the window's allocations include the capture's own work: %v", got)
	}
	top, err := Top(p, TopOptions{Sort: SortFlat})
	if err != nil {
		t.Fatal(err)
	}
	i := rowIndex(top.Rows, ".allocateBuffers")
	if i < 0 {
		t.Fatalf("allocateBuffers is not in the window's profile: %+v", top.Rows)
	}
	// 500 × 64 KiB in the window, sampled: about 32 MiB.
	if got, want := top.Rows[i].Flat, int64(500*64<<10); got < want/2 || got > want*3/2 {
		t.Errorf("allocateBuffers allocated %d bytes in the window, want about %d", got, want)
	}
}

func TestCaptureAllocsExcludesItsOwnWork(t *testing.T) {
	c, err := Start(Allocs, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allocateBuffers(300)
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := framesIn(p, profilingFrames); len(got) > 0 {
		t.Errorf("the allocs profile shows perfkit's profiling: %v", got)
	}
	if v, _ := Comment(p, CommentExcluded); v != "profiling" {
		t.Errorf("excluded comment %q, want profiling", v)
	}
	// runtime/pprof's own tooling must still read it.
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := profile.ParseData(b.Bytes()); err != nil {
		t.Fatalf("the profile does not parse back: %v", err)
	}
}

func TestExcludeOwnRule(t *testing.T) {
	p := synth("alloc_space", "bytes", 0, map[string]int64{
		// perfkit's profiling: dropped
		"compress/flate.NewWriter;runtime/pprof.(*Profile).WriteTo;github.com/perfkit/perfkit/profiles.snapshot;github.com/perfkit/perfkit/profiles.Start;main.main": 900,
		"runtime/pprof.(*profileBuilder).addCPUData;runtime/pprof.profileWriter":                                                                                     50,
		"net/http.(*Client).Do;github.com/perfkit/perfkit/profiles.Fetch;github.com/perfkit/perfkit/profiles.StartRemote.func1":                                      40,
		"github.com/perfkit/perfkit/profiles.(*Capture).Stop;main.main":                                                                                              30,
		"github.com/perfkit/perfkit/profiles.newSnapshotTimer.func1;time.goFunc":                                                                                     20,
		// the workload's, even when it uses runtime/pprof or lives in this package
		"main.alloc;runtime/pprof.Do;main.op":                            100,
		"github.com/perfkit/perfkit/profiles.allocateBuffers;main.main":  200,
		"github.com/HdrHistogram/hdrhistogram-go.New;main.newInterval":   10,
		"compress/flate.NewWriter;compress/gzip.(*Writer).Write;main.op": 5,
	})
	ExcludeOwn(p)
	var kept []string
	for _, s := range p.Sample {
		kept = append(kept, s.Location[0].Line[0].Function.Name)
	}
	slices.Sort(kept)
	want := []string{"compress/flate.NewWriter", "github.com/HdrHistogram/hdrhistogram-go.New", "github.com/perfkit/perfkit/profiles.allocateBuffers", "main.alloc"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if v, _ := Comment(p, CommentExcluded); v != "profiling" {
		t.Errorf("excluded comment %q", v)
	}
}

// The rule names real functions: a rename or a move of the module would
// otherwise let perfkit's profiling back into the profiles silently.
func TestOwnFramesNameRealFunctions(t *testing.T) {
	for _, f := range []any{Start, StartRemote, Fetch, SetAllocsSampling, snapshot, delta, newSnapshotTimer, startMemWindow, (*Capture).Stop, (*Remote).Stop, (*snapshotTimer).stop, (*memWindow).stop} {
		name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
		if !ownFrames.MatchString(name) {
			t.Errorf("ownFrames does not match %s", name)
		}
	}
	if !ownFrames.MatchString("runtime/pprof.profileWriter") {
		t.Error("ownFrames misses the CPU profile writer")
	}
	if ownFrames.MatchString(runtime.FuncForPC(reflect.ValueOf(allocateBuffers).Pointer()).Name()) {
		t.Error("ownFrames matches a test's function of this package")
	}
}

func TestCoverage(t *testing.T) {
	mk := func(kind Kind, runs string, durNs, ops int64, excluded bool) *profile.Profile {
		p := &profile.Profile{DurationNanos: durNs}
		SetComment(p, CommentKind, string(kind))
		if runs != "" {
			SetComment(p, CommentRuns, runs)
		}
		if ops > 0 {
			SetOps(p, ops)
		}
		if excluded {
			SetComment(p, CommentExcluded, "profiling")
		}
		return p
	}
	for _, c := range []struct {
		p    *profile.Profile
		want string
	}{
		{mk(Allocs, "1", 3e9, 7782, true), "allocations during the measured window (3.00s, 7782 ops), perfkit's profiling excluded"},
		{mk(CPU, "3", 9e9, 100, true), "on-CPU time during the measured window (3 runs, 9.00s, 100 ops), perfkit's profiling excluded"},
		{mk(Heap, "2", 0, 0, true), "memory in use at the end of the measured window, after a GC (mean of 2 runs), perfkit's profiling excluded"},
		{mk(Goroutine, "1", 0, 0, false), "goroutines in the middle of the measured window"},
		{mk(Mutex, "", 2e9, 0, true), "mutex contention during the measured window (2.00s), perfkit's profiling excluded"},
		{mk(Block, "", 1e9, 5, false), "time blocked during the measured window (1.00s, 5 ops)"},
		{&profile.Profile{}, ""},
	} {
		if got := Coverage(c.p); got != c.want {
			t.Errorf("Coverage = %q, want %q", got, c.want)
		}
	}
}

func TestSetAllocsSampling(t *testing.T) {
	prev := runtime.MemProfileRate
	defer func() { runtime.MemProfileRate = prev }()
	runtime.MemProfileRate = 512 << 10
	restore := SetAllocsSampling()
	if runtime.MemProfileRate != AllocsSampleRate {
		t.Errorf("rate %d during the run, want %d", runtime.MemProfileRate, AllocsSampleRate)
	}
	restore()
	if runtime.MemProfileRate != 512<<10 {
		t.Errorf("rate %d after, want it restored", runtime.MemProfileRate)
	}
	runtime.MemProfileRate = 1 // finer already (a test asking for every allocation): left alone
	SetAllocsSampling()()
	if runtime.MemProfileRate != 1 {
		t.Errorf("rate %d, want 1 left alone", runtime.MemProfileRate)
	}
}

func TestExcludeTargetProfiling(t *testing.T) {
	p := synth("alloc_space", "bytes", 0, map[string]int64{
		"compress/flate.NewWriter;runtime/pprof.(*Profile).WriteTo;net/http/pprof.collectProfile;net/http/pprof.handler.serveDeltaProfile": 900,
		"main.render;main.handler;net/http.HandlerFunc.ServeHTTP":                                                                          100,
	})
	excludeTargetProfiling(p)
	if len(p.Sample) != 1 || p.Sample[0].Location[0].Line[0].Function.Name != "main.render" {
		t.Errorf("kept %d samples, want only main.render's", len(p.Sample))
	}
	if v, _ := Comment(p, CommentExcluded); v != "profiling" {
		t.Errorf("excluded comment %q", v)
	}
}

//go:noinline
func stackHere() (stk [32]uintptr) {
	runtime.Callers(1, stk[:])
	return stk
}

// memDelta subtracts raw counts site by site and scales what is left by
// the sampling rate, as runtime/pprof scales a heap profile.
func TestMemDeltaSubtractsRawCountsAndScales(t *testing.T) {
	site := stackHere()
	other := stackHere() // another call site: another stack
	rec := func(stk [32]uintptr, objs, size, freed int64) runtime.MemProfileRecord {
		return runtime.MemProfileRecord{Stack0: stk, AllocObjects: objs, AllocBytes: objs * size, FreeObjects: freed, FreeBytes: freed * size}
	}
	base := []runtime.MemProfileRecord{rec(site, 10, 1024, 10), rec(other, 5, 64, 5)}
	end := []runtime.MemProfileRecord{rec(site, 30, 1024, 25), rec(other, 5, 64, 5), rec(site, 4, 8192, 0)}
	p := memDelta(base, end, 4096)
	if len(p.Sample) != 2 {
		t.Fatalf("%d samples, want 2 (the unchanged site dropped)", len(p.Sample))
	}
	scale := func(size int64) float64 { return 1 / (1 - math.Exp(-float64(size)/4096)) }
	want := [][]int64{
		{int64(20 * scale(1024)), int64(20 * 1024 * scale(1024)), int64(5 * scale(1024)), int64(5 * 1024 * scale(1024))},
		{int64(4 * scale(8192)), int64(4 * 8192 * scale(8192)), int64(4 * scale(8192)), int64(4 * 8192 * scale(8192))},
	}
	for i, s := range p.Sample {
		if !slices.Equal(s.Value, want[i]) {
			t.Errorf("sample %d: %v, want %v", i, s.Value, want[i])
		}
		if leaf := s.Location[0].Line[0].Function.Name; !strings.HasSuffix(leaf, ".stackHere") {
			t.Errorf("sample %d: leaf %s, want stackHere", i, leaf)
		}
	}
	if p.DefaultSampleType != "alloc_space" || p.Period != 4096 {
		t.Errorf("default %s, period %d", p.DefaultSampleType, p.Period)
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// A profile perfkit wrote before it left its own profiling out (an old
// baseline's copy) is read with the same rule, so a diff against a new one
// shows no fake improvement in compress/flate.
func TestOlderPerfkitProfilesAreReadWithoutOwnWork(t *testing.T) {
	old := synth("alloc_space", "bytes", 100, map[string]int64{
		"compress/flate.NewWriter;runtime/pprof.(*Profile).WriteTo;github.com/perfkit/perfkit/profiles.snapshot;github.com/perfkit/perfkit/profiles.Start": 900_000,
		"main.alloc;main.op": 100_000,
	})
	SetComment(old, CommentSource, "perfkit")
	new := synth("alloc_space", "bytes", 100, map[string]int64{"main.alloc;main.op": 100_000})
	SetComment(new, CommentSource, "perfkit")
	SetComment(new, CommentExcluded, "profiling")
	top, err := Top(old, TopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if top.Total != 100_000 || rowIndex(top.Rows, "flate.NewWriter") >= 0 {
		t.Errorf("top of an older perfkit profile: total %d, rows %+v", top.Total, top.Rows)
	}
	if len(old.Sample) != 2 {
		t.Error("Top changed the profile it was given")
	}
	d, err := Diff(old, new, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseTotal != d.NewTotal || len(d.Rows) != 0 {
		t.Errorf("diff shows a change: base %v new %v, rows %+v", d.BaseTotal, d.NewTotal, d.Rows)
	}
	// Someone else's profile is left as it is.
	other := synth("alloc_space", "bytes", 0, map[string]int64{"compress/flate.NewWriter;github.com/perfkit/perfkit/profiles.snapshot": 5})
	if top, _ := Top(other, TopOptions{}); top.Total != 5 {
		t.Errorf("a profile perfkit did not write was filtered: total %d", top.Total)
	}
}
