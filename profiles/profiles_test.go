package profiles

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// burnCPU is the known hot function of the CPU tests.
//
//go:noinline
func burnCPU(d time.Duration) (x uint64) {
	x = 88172645463325252
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 1 << 16 { // xorshift: all of it in this function
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	return x
}

var sink [][]byte

// allocateBuffers is the known allocation site of the allocs test.
//
//go:noinline
func allocateBuffers(n int) {
	for range n {
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) > 16 {
			sink = sink[:0]
		}
	}
}

func rowIndex(rows []TopRow, suffix string) int {
	for i, r := range rows {
		if strings.HasSuffix(r.Function, suffix) {
			return i
		}
	}
	return -1
}

func TestCaptureCPUShowsHotFunction(t *testing.T) {
	c, err := Start(CPU, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	burnCPU(700 * time.Millisecond)
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, sortBy := range []Sort{SortFlat, SortCum} {
		top, err := Top(p, TopOptions{N: 5, Sort: sortBy})
		if err != nil {
			t.Fatal(err)
		}
		if rowIndex(top.Rows, ".burnCPU") < 0 {
			var b bytes.Buffer
			WriteTop(&b, top, FormatTable)
			t.Errorf("by %s: burnCPU is not in the top 5:\n%s", sortBy, b.String())
		}
		if top.SampleType != "cpu" || top.Unit != "nanoseconds" {
			t.Errorf("sample type %s/%s, want cpu/nanoseconds", top.SampleType, top.Unit)
		}
	}
	if v, _ := Comment(p, CommentKind); v != "cpu" {
		t.Errorf("kind comment %q", v)
	}

	// The written file is one pprof reads.
	path := filepath.Join(t.TempDir(), "cpu.pb.gz")
	if err := WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("profile.Parse of the written file: %v", err)
	}
	if len(back.Sample) == 0 {
		t.Error("written profile has no samples")
	}
}

func TestCaptureCPUTwiceFails(t *testing.T) {
	c, err := Start(CPU, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := Start(CPU, CaptureOptions{}); err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Errorf("second cpu capture: %v, want an error", err)
	}
}

func TestCaptureAllocsShowsAllocationSite(t *testing.T) {
	allocateBuffers(200) // before the window: must not count
	c, err := Start(Allocs, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allocateBuffers(2000)
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	top, err := Top(p, TopOptions{N: 5, Sort: SortFlat})
	if err != nil {
		t.Fatal(err)
	}
	if top.SampleType != "alloc_space" {
		t.Errorf("sample type %s, want alloc_space", top.SampleType)
	}
	i := rowIndex(top.Rows, ".allocateBuffers")
	if i < 0 {
		var b bytes.Buffer
		WriteTop(&b, top, FormatTable)
		t.Fatalf("allocateBuffers is not in the top 5:\n%s", b.String())
	}
	// 2000 × 64 KiB in the window; sampling makes it approximate, and the
	// 200 before the window are not in it.
	if got := top.Rows[i].Flat; got < 100<<20 || got > 160<<20 {
		t.Errorf("allocateBuffers allocated %d bytes in the window, want about %d", got, 2000*64<<10)
	}
}

func TestCaptureRestoresRates(t *testing.T) {
	prev := runtime.SetMutexProfileFraction(3)
	defer runtime.SetMutexProfileFraction(prev)
	c, err := Start(Mutex, CaptureOptions{MutexFraction: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != 1 {
		t.Errorf("mutex fraction during the window %d, want 1", got)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				mu.Lock()
				runtime.Gosched()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != 3 {
		t.Errorf("mutex fraction after %d, want 3 restored", got)
	}
	if _, err := Top(p, TopOptions{}); err != nil {
		t.Error(err)
	}

	b, err := Start(Block, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stop(); err == nil {
		t.Error("second Stop: no error")
	}
}

func TestCaptureGoroutineMidWindow(t *testing.T) {
	c, err := Start(Goroutine, CaptureOptions{Window: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { parkedWorker(stop) })
	// The snapshot is due at 50ms; a loaded machine may fire it late, so
	// wait for it (not a fixed 150ms) before the worker leaves. One taken
	// only at Stop never comes.
	select {
	case <-c.goroutines.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no goroutine snapshot mid-window: none 30s into a 100ms window")
	}
	close(stop)
	wg.Wait()
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	top, err := Top(p, TopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rowIndex(top.Rows, ".parkedWorker") < 0 {
		t.Errorf("the goroutine snapshot misses parkedWorker")
	}
}

//go:noinline
func parkedWorker(stop chan struct{}) { <-stop }

// synth builds a profile from "leaf;caller;…;root" stacks and their values.
func synth(typ, unit string, ops int64, stacks map[string]int64) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: typ, Unit: unit}},
		PeriodType: &profile.ValueType{Type: typ, Unit: unit},
		Period:     1,
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	loc := func(name string) *profile.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
		funcs[name] = f
		p.Function = append(p.Function, f)
		l := &profile.Location{ID: uint64(len(locs) + 1), Line: []profile.Line{{Function: f}}}
		locs[name] = l
		p.Location = append(p.Location, l)
		return l
	}
	for stack, v := range stacks {
		s := &profile.Sample{Value: []int64{v}}
		for _, name := range strings.Split(stack, ";") {
			s.Location = append(s.Location, loc(name))
		}
		p.Sample = append(p.Sample, s)
	}
	if ops > 0 {
		SetOps(p, ops)
	}
	return p
}

func TestTopFocusIgnoreAndSort(t *testing.T) {
	p := synth("cpu", "nanoseconds", 0, map[string]int64{
		"main.leafA;main.mid;main.root": 600,
		"main.leafB;main.mid;main.root": 300,
		"main.other;main.root":          100,
	})
	top, err := Top(p, TopOptions{Sort: SortFlat})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"main.leafA", "main.leafB", "main.other", "main.root", "main.mid"}
	var got []string
	for _, r := range top.Rows {
		got = append(got, r.Function)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("by flat: %v, want %v", got, want)
	}
	top, _ = Top(p, TopOptions{N: 2})
	if len(top.Rows) != 2 || top.Rows[0].Function != "main.root" || top.Rows[0].Cum != 1000 || top.Rows[1].Function != "main.mid" || top.Functions != 5 {
		t.Errorf("by cum, top 2: %+v", top)
	}
	top, _ = Top(p, TopOptions{Focus: regexp.MustCompile(`leafB`), Sort: SortFlat})
	if top.Shown != 300 || top.Total != 1000 || top.Rows[0].Function != "main.leafB" || top.Rows[0].FlatPct != 30 {
		t.Errorf("focus leafB: %+v", top)
	}
	top, _ = Top(p, TopOptions{Ignore: regexp.MustCompile(`mid`)})
	if top.Shown != 100 || len(top.Rows) != 2 {
		t.Errorf("ignore mid: %+v", top)
	}
	if _, err := Top(p, TopOptions{SampleType: "alloc_space"}); err == nil || !strings.Contains(err.Error(), `"alloc_space"`) {
		t.Errorf("unknown sample type: %v", err)
	}
}

func TestDiffRanksInjectedHotFunctionFirst(t *testing.T) {
	// New ran twice the ops of base: per op, only main.hot changed.
	base := synth("cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle;main.serve":  4000,
		"main.encode;main.handle;main.serve": 2000,
		"runtime.mallocgc;main.parse":        1000,
	})
	new := synth("cpu", "nanoseconds", 2000, map[string]int64{
		"main.parse;main.handle;main.serve":  8000,
		"main.encode;main.handle;main.serve": 4000,
		"runtime.mallocgc;main.parse":        2000,
		"main.hot;main.handle;main.serve":    3000,
	})
	d, err := Diff(base, new, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.PerOp || d.BaseOps != 1000 || d.NewOps != 2000 {
		t.Errorf("not per op: %+v", d)
	}
	if len(d.Rows) == 0 || d.Rows[0].Function != "main.hot" {
		t.Fatalf("first row %+v, want main.hot", d.Rows)
	}
	hot := d.Rows[0]
	if hot.FlatDelta != 1.5 || hot.BaseFlat != 0 || !math.IsInf(hot.FlatDeltaPct, 1) {
		t.Errorf("main.hot: %+v, want +1.5ns/op from nothing", hot)
	}
	for _, r := range d.Rows[1:] {
		if r.FlatDelta != 0 && r.Function != "main.hot" {
			t.Errorf("%s changed per op by %g, want 0", r.Function, r.FlatDelta)
		}
	}
	// By cum, the callers of main.hot grew as much as it did.
	d, _ = Diff(base, new, DiffOptions{Sort: SortCum, Grew: true})
	if d.Changed != 3 {
		t.Errorf("by cum, grew: %d rows, want main.hot, main.handle, main.serve: %+v", d.Changed, d.Rows)
	}
	// Without op counts the totals are compared.
	d, _ = Diff(base, new, DiffOptions{Raw: true, N: 1})
	if d.PerOp || d.Rows[0].Function != "main.parse" || d.Rows[0].FlatDelta != 4000 || d.Changed != 4 {
		t.Errorf("raw: %+v", d)
	}
}

func TestDiffRefusesDifferentSampleTypes(t *testing.T) {
	cpu := synth("cpu", "nanoseconds", 0, map[string]int64{"main.a": 1})
	heap := synth("inuse_space", "bytes", 0, map[string]int64{"main.a": 1})
	_, err := Diff(cpu, heap, DiffOptions{})
	if err == nil || !strings.Contains(err.Error(), "different sample types") || !strings.Contains(err.Error(), "cpu/nanoseconds") || !strings.Contains(err.Error(), "inuse_space/bytes") {
		t.Errorf("cpu vs heap: %v", err)
	}
	mutex := synth("delay", "nanoseconds", 0, map[string]int64{"main.a": 1})
	block := synth("delay", "nanoseconds", 0, map[string]int64{"main.a": 1})
	SetComment(mutex, CommentKind, "mutex")
	SetComment(block, CommentKind, "block")
	if _, err := Diff(mutex, block, DiffOptions{}); err == nil || !strings.Contains(err.Error(), "different kinds") {
		t.Errorf("mutex vs block: %v", err)
	}
}

func TestMergeRuns(t *testing.T) {
	a := synth("cpu", "nanoseconds", 100, map[string]int64{"main.a": 10})
	b := synth("cpu", "nanoseconds", 300, map[string]int64{"main.a": 30, "main.b": 5})
	m, err := MergeRuns(CPU, []*profile.Profile{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if ops, ok := Ops(m); !ok || ops != 400 {
		t.Errorf("merged ops %d %v, want 400", ops, ok)
	}
	if n := strings.Count(strings.Join(m.Comments, "\n"), CommentOps); n != 1 {
		t.Errorf("comments %q: want one op count", m.Comments)
	}
	top, _ := Top(m, TopOptions{Sort: SortFlat})
	if top.Total != 45 {
		t.Errorf("merged total %d, want 45", top.Total)
	}
	if _, ok := Ops(a); !ok {
		t.Error("MergeRuns changed its input")
	}
	// Snapshots average.
	g1 := synth("goroutine", "count", 0, map[string]int64{"main.w": 10})
	g2 := synth("goroutine", "count", 0, map[string]int64{"main.w": 20})
	m, _ = MergeRuns(Goroutine, []*profile.Profile{g1, g2})
	if top, _ := Top(m, TopOptions{}); top.Total != 15 {
		t.Errorf("goroutine mean %d, want 15", top.Total)
	}
	if _, ok := Ops(m); ok {
		t.Error("a snapshot carries an op count")
	}
	// A cpu profile and a goroutine profile do not merge.
	if _, err := MergeRuns(CPU, []*profile.Profile{a, g1}); err == nil {
		t.Error("merging different types: no error")
	}
}

func TestReadRejectsWhatIsNotAProfile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pb.gz")
	if err := WriteFile(good, synth("cpu", "nanoseconds", 7, map[string]int64{"main.a": 1})); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	cases := map[string]struct {
		content []byte
		want    string
	}{
		"text.txt":      {[]byte("hello, this is not a profile\n"), "not a profile"},
		"page.html":     {[]byte("<!DOCTYPE html><html><body>404</body></html>"), "HTML page"},
		"empty.pb.gz":   {nil, "empty"},
		"trunc.pb.gz":   {data[:len(data)/2], "truncated"},
		"result.json":   {[]byte(`{"schema_version": 1, "scenarios": []}`), "not a profile"},
		"garbage.pb.gz": {[]byte{0x1f, 0x8b, 1, 2, 3}, "not a profile"},
	}
	for name, c := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, c.content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming the file and %q", name, err, c.want)
		}
	}
	p, err := ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if ops, _ := Ops(p); ops != 7 {
		t.Errorf("ops after a round trip: %d", ops)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.pb.gz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// handlerHot is the known hot function of the target in the remote test.
//
//go:noinline
func handlerHot(w http.ResponseWriter, r *http.Request) {
	burnCPU(2 * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

// pprofServer is a target serving net/http/pprof beside a CPU-bound handler.
func pprofServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/work", handlerHot)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRemoteCPUProfileOfTheTarget(t *testing.T) {
	srv := pprofServer(t)
	base, err := ParseURL(srv.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := CheckTarget(ctx, srv.Client(), base); err != nil {
		t.Fatal(err)
	}
	r, err := StartRemote(ctx, srv.Client(), base, CPU, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Drive load at the target over the window.
	loadCtx, stop := context.WithTimeout(ctx, 1100*time.Millisecond)
	defer stop()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				req, _ := http.NewRequestWithContext(loadCtx, http.MethodGet, srv.URL+"/work", nil)
				if resp, err := srv.Client().Do(req); err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	p, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	top, err := Top(p, TopOptions{N: 10, Sort: SortCum})
	if err != nil {
		t.Fatal(err)
	}
	if rowIndex(top.Rows, ".handlerHot") < 0 {
		var b bytes.Buffer
		WriteTop(&b, top, FormatTable)
		t.Errorf("the target's profile misses handlerHot:\n%s", b.String())
	}
	if src, _ := Comment(p, CommentSource); src != base.String() {
		t.Errorf("source comment %q", src)
	}
	if v, _ := Comment(p, CommentExcluded); v != "profiling" {
		t.Errorf("excluded comment %q: the target's serving of profiles is not left out", v)
	}
}

func TestRemoteErrors(t *testing.T) {
	ctx := context.Background()
	// Refused: a port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/debug/pprof"
	l.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if strings.HasSuffix(r.URL.Path, "/goroutine") {
			w.Write([]byte("<html><body>welcome</body></html>"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<!DOCTYPE html>\n<html><body>Not here</body></html>"))
	}))
	defer html.Close()
	text := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Could not enable CPU profiling: cpu profiling already in use", http.StatusInternalServerError)
	}))
	defer text.Close()

	for _, c := range []struct {
		url  string
		kind Kind
		want string
	}{
		{refused, Goroutine, "connection refused"},
		{html.URL + "/debug/pprof", Goroutine, "HTML page"},
		{html.URL + "/debug/pprof", CPU, "404 Not Found: an HTML page"},
		{text.URL, CPU, "500 Internal Server Error: Could not enable CPU profiling"},
	} {
		base, err := ParseURL(c.url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Fetch(ctx, nil, base, c.kind, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %s: %v, want one line with %q", c.url, c.kind, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://x/debug/pprof", "127.0.0.1:6060", "http:///debug/pprof"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q): no error", bad)
		}
	}
	if u, _ := ParseURL("http://user:secret@127.0.0.1:1/debug/pprof"); u != nil {
		_, err := Fetch(ctx, nil, u, Heap, 0)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("credentials in %v", err)
		}
	}
}

func TestRemoteTargetGoneMidWindow(t *testing.T) {
	// The target accepts the profile request, then dies without answering.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		}
	}))
	defer srv.Close()
	base, _ := ParseURL(srv.URL)
	r, err := StartRemote(context.Background(), nil, base, CPU, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = r.Stop()
	if err == nil || !strings.Contains(err.Error(), "target cpu profile") {
		t.Errorf("Stop: %v, want the target's failure", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Stop took %s", time.Since(start))
	}
	if _, err := StartRemote(context.Background(), nil, base, Allocs, 0); err == nil {
		t.Error("a windowed remote kind without a window: no error")
	}
}

func TestParseKinds(t *testing.T) {
	ks, err := ParseKinds("cpu, heap,cpu,GOROUTINE")
	if err != nil || len(ks) != 3 || ks[2] != Goroutine {
		t.Errorf("ParseKinds: %v %v", ks, err)
	}
	for _, bad := range []string{"cpux", "cpu,wall", "", ","} {
		if _, err := ParseKinds(bad); err == nil {
			t.Errorf("ParseKinds(%q): no error", bad)
		}
	}
	_, err = ParseKind("cpux")
	if err == nil || err.Error() != `unknown profile kind "cpux" (accepted: cpu, heap, allocs, mutex, block, goroutine)` {
		t.Errorf("ParseKind: %v", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{0, "nanoseconds", "0"},
		{850, "nanoseconds", "850ns"},
		{1500, "nanoseconds", "1.50µs"},
		{12_340_000, "nanoseconds", "12.3ms"},
		{1_850_000_000, "nanoseconds", "1.85s"},
		{3600e9, "nanoseconds", "3600s"},
		{0.25, "nanoseconds", "0.25ns"},
		{-2500, "nanoseconds", "-2.50µs"},
		{48, "bytes", "48B"},
		{1536, "bytes", "1.50KiB"},
		{64 << 20, "bytes", "64.0MiB"},
		{12, "count", "12"},
		{0.0123, "count", "0.0123"},
		{12_345_678, "count", "12.3M"},
		{2.5, "count", "2.50"},
	} {
		if got := FormatValue(c.v, c.unit); got != c.want {
			t.Errorf("FormatValue(%g, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := FormatDelta(1500, "nanoseconds"); got != "+1.50µs" {
		t.Errorf("FormatDelta: %q", got)
	}
}

// TestRenderGolden pins the three formats of top and diff tables.
func TestRenderGolden(t *testing.T) {
	base := synth("cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle;main.serve":  4_000_000,
		"main.encode;main.handle;main.serve": 2_000_000,
	})
	base.DurationNanos = 2e9
	new := synth("cpu", "nanoseconds", 1000, map[string]int64{
		"main.parse;main.handle;main.serve":  3_000_000,
		"main.encode;main.handle;main.serve": 2_000_000,
		"main.hot|x;main.handle;main.serve":  1_500_000,
	})
	new.DurationNanos = 2e9
	SetComment(new, CommentKind, "cpu")
	SetComment(new, CommentExcluded, "profiling")
	top, err := Top(new, TopOptions{N: 4})
	if err != nil {
		t.Fatal(err)
	}
	top.Title, top.File = "api (perfkit)", "api-cpu.pb.gz"
	d, err := Diff(base, new, DiffOptions{N: 10})
	if err != nil {
		t.Fatal(err)
	}
	d.BaseFile, d.NewFile = "base.pb.gz", "new.pb.gz"
	var b bytes.Buffer
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatJSON} {
		b.WriteString("== top " + string(f) + "\n")
		if err := WriteTop(&b, top, f); err != nil {
			t.Fatal(err)
		}
		b.WriteString("== diff " + string(f) + "\n")
		if err := WriteDiff(&b, d, f); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "render.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./profiles -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./profiles -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestDiffViaNamesTheCallerGrowthCameThrough(t *testing.T) {
	base := synth("cpu", "nanoseconds", 100, map[string]int64{
		"main.parse;main.handle":                              4000,
		"runtime.memmove;bytes.Write;main.render;main.handle": 100,
	})
	new := synth("cpu", "nanoseconds", 100, map[string]int64{
		"main.parse;main.handle":                              4000,
		"runtime.memmove;bytes.Write;main.render;main.handle": 900,
		"sha.block;sha.Sum;main.etag;main.handle":             3000,
		"main.hot;main.handle":                                500,
	})
	d, err := Diff(base, new, DiffOptions{Grew: true})
	if err != nil {
		t.Fatal(err)
	}
	via := map[string]string{}
	for _, r := range d.Rows {
		via[r.Function] = r.Via
	}
	want := map[string]string{
		"sha.block":       "main.etag",   // new code brought it in
		"runtime.memmove": "bytes.Write", // an old leaf: its caller outside the runtime
		"main.hot":        "",            // the new code itself
	}
	for fn, w := range want {
		if got, ok := via[fn]; !ok || got != w {
			t.Errorf("%s via %q (listed %v), want %q", fn, got, ok, w)
		}
	}
	if d.Rows[0].Function != "sha.block" {
		t.Errorf("first row %s", d.Rows[0].Function)
	}
	var b bytes.Buffer
	WriteDiff(&b, d, FormatTable)
	if !strings.Contains(b.String(), "sha.block  (via main.etag)\n") {
		t.Errorf("table:\n%s", b.String())
	}
}

// WriteFile is the same atomic write as results and baselines: it removes
// the leftovers of a killed writer in its directory.
func TestWriteFileCleansStaleTemps(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, ".cpu.pb.gz.tmp-2147483646-9")
	if err := os.WriteFile(gone, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}}}
	path := filepath.Join(dir, "cpu.pb.gz")
	if err := WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gone); err == nil {
		t.Error("a dead writer's temporary file survived the write")
	}
	if _, err := ReadFile(path); err != nil {
		t.Errorf("reading back: %v", err)
	}
}
