package fetch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// benchRows is the data file size of the template benchmarks.
const benchRows = 100_000

// writeUsersCSV writes a CSV of n rows (user_id, name, email) and returns
// its path and the bytes of its values.
func writeUsersCSV(tb testing.TB, n int) (string, int) {
	tb.Helper()
	var sb strings.Builder
	sb.WriteString("user_id,name,email\n")
	values := 0
	for i := range n {
		line := fmt.Sprintf("%d,user%d,user%d@example.com", 100000+i, i, i)
		values += len(line) - 2
		sb.WriteString(line + "\n")
	}
	p := filepath.Join(tb.TempDir(), "users.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p, values
}

// templateBenchParams are a request with URL, header and body templates
// filled from a 100,000-row CSV (and seq, uuid, randInt), or, static, the
// same request written out. GET with a body, so that a static file server
// (nginx, $PERFKIT_BENCH_URL) answers it too.
func templateBenchParams(b *testing.B, templated bool) map[string]any {
	base := benchParams(b)["url"].(string)
	if !templated {
		return map[string]any{
			"url":    base + "?user=100017&n=17",
			"header": []any{"X-User: user17", "X-Request-Id: 0b6f2f0e-5a43-4f4e-9f0e-3a1c2d9e8b7a"},
			"body":   `{"email":"user17@example.com","n":517}`,
		}
	}
	data, _ := writeUsersCSV(b, benchRows)
	return map[string]any{
		"url":    base + "?user={{row.user_id}}&n={{seq}}",
		"header": []any{"X-User: {{row.name}}", "X-Request-Id: {{uuid}}"},
		"body":   `{"email":"{{row.email}}","n":{{randInt 1 1000}}}`,
		"data":   data,
	}
}

// BenchmarkTemplate compares a templated request with a static one, in one
// run: render is the cost of producing the request's bytes (a static
// request's are written at Setup), op one worker's op after op (with the
// round trip), run the engine's cost per op over a whole closed-model run
// of 4 workers: wall time and this process's CPU per op. Run with a fixed
// count so every run has the same number of ops:
//
//	go test -run '^$' -bench BenchmarkTemplate -benchtime 200000x ./workloads/fetch
func BenchmarkTemplate(b *testing.B) {
	for _, kind := range []string{"static", "templated"} {
		templated := kind == "templated"
		b.Run("render/"+kind, func(b *testing.B) {
			f := build(b, templateBenchParams(b, templated))
			s := start(b, f, 1, 10*time.Second)
			w := bench.NewTestWorker(0, s)
			st := f.newWorker(0)
			w.State = st
			t := &f.targets[0]
			var n int
			b.ReportAllocs()
			for b.Loop() {
				raw := t.raw
				if t.tpl != nil {
					raw, _, _ = f.plan.render1(st.tpl, t)
				}
				n += len(raw)
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/req")
		})
		b.Run("op/"+kind, func(b *testing.B) {
			benchOps(b, build(b, templateBenchParams(b, templated)))
		})
		b.Run("run/"+kind, func(b *testing.B) {
			benchRun(b, templateBenchParams(b, templated))
		})
	}
}

// benchRun runs b.N ops through the engine (closed model, 4 workers, no
// warmup) and reports wall and CPU time per op.
func benchRun(b *testing.B, raw map[string]any) {
	def := Definition()
	v, err := def.Resolve(raw)
	if err != nil {
		b.Fatal(err)
	}
	wl, err := def.New(v)
	if err != nil {
		b.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Concurrency = 4
	set.Warmup = 0
	set.Duration = 0
	set.Iterations = int64(b.N)
	set.Timeout = 10 * time.Second
	sc := bench.Scenario{Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil }}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	res, err := bench.Run(context.Background(), sc)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r := res.Runs[0]; r.Errors > 0 {
		b.Fatalf("%d of %d ops failed: %v", r.Errors, r.Ops, r.ErrorsByKind)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// A 100,000-row data file is held compactly: the values of the columns
// used, plus 4 bytes a value.
func TestDataMemory(t *testing.T) {
	path, values := writeUsersCSV(t, benchRows)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := loadData(path, []string{"user_id", "name", "email"})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	want := int64(values + 4*(3*benchRows+1))
	t.Logf("%d rows: %d bytes of values, table %d bytes (%d+%d), heap grew %d bytes", d.rows, values, len(d.data)+4*len(d.offs), len(d.data), 4*len(d.offs), held)
	if d.rows != benchRows || len(d.data) != values {
		t.Fatalf("table: %d rows, %d bytes of values; want %d, %d", d.rows, len(d.data), benchRows, values)
	}
	if got := int64(cap(d.data) + 4*cap(d.offs)); got != want {
		t.Errorf("table holds %d bytes, want %d (values + 4 bytes a value)", got, want)
	}
	if held > 2*want {
		t.Errorf("heap grew %d bytes holding a %d-byte table", held, want)
	}
	runtime.KeepAlive(d)
}
