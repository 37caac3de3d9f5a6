package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/perfkit/perfkit/bench"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func TestMain(m *testing.M) {
	// tablewriter measures ambiguous-width runes (└, µ) as two columns under
	// a CJK locale or RUNEWIDTH_EASTASIAN=1, as such terminals draw them.
	// Goldens are written for the usual single width, whatever the locale.
	twwidth.SetEastAsian(false)
	os.Exit(m.Run())
}

// lat is a latency summary with percentiles from p50 (in µs) up.
func lat(count int64, p50, p90, p99, p999, maxUs float64) bench.LatencySummary {
	us := func(v float64) int64 { return int64(v * 1000) }
	return bench.LatencySummary{
		Count: count, MinNs: us(p50) / 4, MeanNs: float64(us(p50)) * 1.1,
		P50Ns: us(p50), P90Ns: us(p90), P95Ns: us(p90) + 1, P99Ns: us(p99), P999Ns: us(p999), MaxNs: us(maxUs),
	}
}

func run(i int, ops, errs int64, elapsed time.Duration, latency map[string]bench.LatencySummary) bench.RunResult {
	r := bench.RunResult{
		Index:     i,
		StartedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 12 * time.Second),
		ElapsedNs: int64(elapsed),
		Ops:       ops, Errors: errs,
		Throughput:     float64(ops) / elapsed.Seconds(),
		Valid:          true,
		InvalidReasons: []string{},
		Latency:        latency,
		ErrorsByKind:   map[string]int64{},
		Counters:       map[string]int64{},
		Intervals:      []bench.IntervalSummary{},
	}
	if ops > 0 {
		r.ErrorRate = float64(errs) / float64(ops)
	}
	return r
}

func result(partial bool, scenarios ...bench.ScenarioResult) *bench.Result {
	return &bench.Result{
		SchemaVersion: bench.SchemaVersion,
		ID:            "01JC0FFEE",
		CreatedAt:     time.Date(2026, 11, 2, 10, 1, 0, 0, time.UTC),
		Partial:       partial,
		Env:           bench.Env{},
		Scenarios:     scenarios,
	}
}

// cleanResult is one closed-model scenario, one run, nothing to note.
func cleanResult() *bench.Result {
	settings := bench.DefaultSettings()
	return result(false, bench.ScenarioResult{
		Name: "agents", Workload: "agents", Model: bench.ModelClosed,
		Params: map[string]any{"agents": 16}, Settings: settings,
		Runs: []bench.RunResult{run(0, 412_345, 0, 10*time.Second, map[string]bench.LatencySummary{
			"op": lat(412_345, 181.2, 240, 455, 999.5, 3_210),
		})},
	})
}

// fullResult exercises every part of the table: several runs, an invalid
// run, errors by kind, counters, several labels, the open model's schedule,
// workload notes and a partial scenario.
func fullResult() *bench.Result {
	fetch := bench.ScenarioResult{
		Name: "fetch", Workload: "fetch", Model: bench.ModelClosed, Settings: bench.DefaultSettings(),
		Target: bench.TargetExternal,
	}
	for i, ops := range []int64{120_400, 118_900, 64_000} {
		r := run(i, ops, 0, 10*time.Second, map[string]bench.LatencySummary{
			"op": lat(ops, 640+float64(i)*20, 1_100, 4_800+float64(i)*100, 12_300, 48_000*float64(i+1)),
		})
		r.Counters = map[string]int64{"bytes_in": ops * 1536, "redirects": 7}
		r.Resources = bench.Resources{CPUUserS: 1.2, CPUSysS: 0.3, AllocBytes: uint64(ops) * 16}
		fetch.Runs = append(fetch.Runs, r)
	}
	fetch.Runs[2].Errors = 123
	fetch.Runs[2].ErrorRate = 123.0 / 64_000
	fetch.Runs[2].ErrorsByKind = map[string]int64{"conn_refused": 120, "http_500": 3}
	fetch.Runs[2].Valid = false
	fetch.Runs[2].InvalidReasons = []string{"perfkit CPU saturated (98% of 2 cores)", "error rate 0.19% over bound 0.1%"}

	cacheRun := run(0, 2_000_000, 0, 5*time.Second, map[string]bench.LatencySummary{
		"op":           lat(2_000_000, 0.25, 110, 1_300, 9_000, 31_000),
		"l1_hit":       lat(1_700_000, 0.212, 0.380, 0.9, 2.4, 310),
		"l2_hit":       lat(260_000, 95, 130, 310, 820, 2_900),
		"miss":         lat(40_000, 1_250, 2_200, 9_990, 15_000, 31_000),
		"acquire_wait": lat(40_000, 0.1, 0.2, 0.3, 0.4, 0.5),
	})
	cacheRun.Counters = map[string]int64{"l1_hits": 1_700_000, "l2_hits": 260_000, "misses": 40_000}
	cacheRun.Derived = map[string]float64{"l1_hit_ratio": 0.85, "speedup": 7.234}
	cacheRun.Resources = bench.Resources{CPUUserS: 9.5, CPUSysS: 0.5, AllocBytes: 2_000_000 * 48}
	cache := bench.ScenarioResult{
		Name: "cache", Workload: "cache", Model: bench.ModelClosed, Settings: bench.DefaultSettings(),
		Labels: []string{"l1_hit", "l2_hit", "miss"}, Phases: []string{"acquire_wait"},
		Notes: []string{"l2 is an embedded redis-server on 127.0.0.1:42317"},
		Runs:  []bench.RunResult{cacheRun},
	}

	openSettings := bench.DefaultSettings()
	openSettings.Rate = 2000
	api := bench.ScenarioResult{Name: "api", Workload: "http", Model: bench.ModelOpen, Settings: openSettings}
	for i, achieved := range []float64{1999.8, 1_874.2} {
		r := run(i, int64(achieved*30), 0, 30*time.Second, map[string]bench.LatencySummary{
			"op":         lat(int64(achieved*30), 1_250, 3_400, 88_000, 1_500_000, 2_700_000),
			"op.service": lat(int64(achieved*30), 1_000, 2_000, 3_000, 4_000, 5_000),
		})
		r.Schedule = &bench.ScheduleStats{TargetRate: 2000, AchievedRate: achieved, Late: int64(i) * 3_100, Dropped: int64(i) * 3_774, LagP99Ns: 1_500_000 * int64(i+1), LagMaxNs: 41_000_000 * int64(i+1)}
		api.Runs = append(api.Runs, r)
	}
	api.Runs[1].Schedule.GeneratorLate = 12
	api.Runs[1].Valid = false
	api.Runs[1].InvalidReasons = []string{"achieved rate 1.87k/s under 99% of target 2.00k/s"}

	pool := bench.ScenarioResult{
		Name: "pool|tcp", Workload: "pool", Model: bench.ModelClosed, Settings: bench.DefaultSettings(), Partial: true,
		Runs: []bench.RunResult{run(0, 812, 0, 1_300*time.Millisecond, map[string]bench.LatencySummary{
			"acquire": lat(812, 2.1, 3.3, 7.7, 9.9, 10.2),
		})},
	}
	pool.Runs[0].Partial = true

	empty := bench.ScenarioResult{Name: "agents", Workload: "agents", Model: bench.ModelClosed, Runs: []bench.RunResult{}}

	return result(true, fetch, cache, api, pool, empty)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *bench.Result
		f    Format
	}{
		{"table_clean", cleanResult(), Table},
		{"table_full", fullResult(), Table},
		{"table_empty", result(false), Table},
		{"markdown_clean", cleanResult(), Markdown},
		{"markdown_full", fullResult(), Markdown},
		{"json_clean", cleanResult(), JSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.r, tc.f); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./report -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The output must not depend on map iteration order.
func TestDeterministic(t *testing.T) {
	for _, f := range Formats() {
		var first bytes.Buffer
		if err := Write(&first, fullResult(), f); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			var again bytes.Buffer
			if err := Write(&again, fullResult(), f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), again.Bytes()) {
				t.Fatalf("%s: two renderings of the same result differ", f)
			}
		}
	}
}

func TestTableRows(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, fullResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"fetch run 3/3 invalid: perfkit CPU saturated (98% of 2 cores); error rate 0.19% over bound 0.1%",
		"fetch errors: conn_refused 120, http_500 3",
		"api schedule: target 2.00k/s, achieved 1.94k/s (96.9%), late 3,100, dropped 3,774 (generator late 12)",
		"cache: l2 is an embedded redis-server on 127.0.0.1:42317",
		"pool|tcp: partial (stopped early)",
		"\npartial result (stopped early)\n",
		"  └ l1_hit",
		"NO (1/3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d ends with blanks: %q", i+1, line)
		}
	}
}

func TestAggregation(t *testing.T) {
	r := fullResult()
	rows := scenarioRows(&r.Scenarios[0]) // fetch, 3 runs
	if len(rows) != 1 {
		t.Fatalf("fetch has one label, got %d rows", len(rows))
	}
	got := rows[0].cells
	want := []string{"fetch", "closed", "3", "303k", "11.9k", "0.0406%", "660µs", "1.10ms", "4.90ms", "12.3ms", "144ms", "NO (1/3)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fetch row\n got %q\nwant %q", got, want)
	}

	rows = scenarioRows(&r.Scenarios[1]) // cache: three labels
	if len(rows) != 5 || !rows[1].sub || rows[1].cells[0] != "l1_hit" || rows[3].cells[0] != "miss" || rows[4].cells[0] != "acquire_wait (phase)" {
		t.Fatalf("cache rows: %+v", rows)
	}
	if rows[0].cells[6] != "250ns" || rows[2].cells[3] != "260k" {
		t.Errorf("cache: scenario P50 %q (want all ops' 250ns), l2_hit count %q", rows[0].cells[6], rows[2].cells[3])
	}

	rows = scenarioRows(&r.Scenarios[4]) // no runs
	if got := strings.Join(rows[0].cells[2:], " "); got != "0 0 - - - - - - - -" {
		t.Errorf("scenario without runs: %q", got)
	}
}

func TestOneLine(t *testing.T) {
	r := cleanResult()
	r.Scenarios[0].Name = "two\nlines"
	r.Scenarios[0].Notes = []string{"first\r\nsecond\tthird"}
	var buf bytes.Buffer
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 4 {
		t.Errorf("want header, row, blank line and note; got %d lines:\n%s", lines, buf.String())
	}
	if !strings.Contains(buf.String(), "two lines: first second third\n") {
		t.Errorf("note not flattened:\n%s", buf.String())
	}
}

func TestLabelsOf(t *testing.T) {
	declared := &bench.ScenarioResult{Labels: []string{"b", "a"}}
	if got := labelsOf(declared); strings.Join(got, ",") != "b,a" {
		t.Errorf("declared labels: %q", got)
	}
	derived := &bench.ScenarioResult{Phases: []string{"wait"}, Runs: []bench.RunResult{{Latency: map[string]bench.LatencySummary{
		"op": {}, "op.service": {}, "schedule_lag": {}, "wait": {}, "miss": {}, "hit": {}, "hit.service": {},
	}}}}
	if got := labelsOf(derived); strings.Join(got, ",") != "hit,miss" {
		t.Errorf("derived labels: %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"table": Table, "json": JSON, "markdown": Markdown, "MD": Markdown, " Table ": Table} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "html", "yaml", "tabel"} {
		_, err := ParseFormat(in)
		if err == nil {
			t.Errorf("ParseFormat(%q): no error", in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+in+`"`) || !strings.Contains(msg, "table, json, markdown") || strings.Contains(msg, "\n") {
			t.Errorf("ParseFormat(%q) error %q: want one line naming the value and listing table, json, markdown", in, msg)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, cleanResult(), "yaml"); err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("Write with format yaml: %v", err)
	}
	if err := Write(&buf, cleanResult(), "MD"); err != nil || !strings.HasPrefix(buf.String(), "| SCENARIO") {
		t.Errorf("Write with format MD: %v, %q", err, buf.String())
	}
	for _, f := range Formats() {
		if err := Write(&buf, nil, f); err == nil {
			t.Errorf("%s: nil result: no error", f)
		}
		if err := Write(failWriter{}, cleanResult(), f); !errors.Is(err, errWrite) {
			t.Errorf("%s: write error %v not returned", f, err)
		}
	}
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestMarkdownEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, fullResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `| pool\|tcp `) {
		t.Errorf("pipe in a scenario name not escaped:\n%s", out)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			break
		}
		if got := strings.Count(line, "|") - strings.Count(line, `\|`); got != len(columns())+1 {
			t.Errorf("table line %d has %d cell borders, want %d: %q", i+1, got, len(columns())+1, line)
		}
	}
}

func TestErrorsLineSaysAbandoned(t *testing.T) {
	sc := &bench.ScenarioResult{Name: "fetch", Runs: []bench.RunResult{
		{Errors: 5, ErrorsByKind: map[string]int64{bench.KindCanceled: 4, "timeout": 1}, AbandonedOps: 3},
	}}
	if got, want := errorsLine(sc), "fetch errors: canceled 4 (3 abandoned), timeout 1"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
