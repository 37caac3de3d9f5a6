package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// quick are the settings that keep an end-to-end run short: a count of
// ops, not a time (a loaded machine may complete no op in 200ms).
var quick = []string{"-n", "200", "--warmup", "0s", "-c", "2"}

func args(a ...[]string) []string { return slices.Concat(a...) }

var (
	numberRe = regexp.MustCompile(`\d+(\.\d+)?(KiB|MiB|GiB|ns|µs|ms|s|k|M|G|B|%)?`)
	spacesRe = regexp.MustCompile(` {2,}`)
)

// normalizeTable keeps a table's shape and words, not its measurements:
// numbers (with their units) become N, column padding one space.
func normalizeTable(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i > 0 { // the header stays as is
			l = numberRe.ReplaceAllString(l, "N")
		}
		lines[i] = spacesRe.ReplaceAllString(l, " ")
	}
	return strings.Join(lines, "\n")
}

func TestRunTable(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"run", "fetch"}, quick)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	files := resultFiles(t)
	if len(files) != 1 || !regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{8}\.json$`).MatchString(files[0]) {
		t.Fatalf("result files %v, want one <UTC time>-<id>.json", files)
	}
	if want := "result: " + filepath.Join(ResultsDir, files[0]) + "\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	golden(t, "run_table.golden", normalizeTable(out))
}

func TestRunMarkdown(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"run", "fetch", "--format", "markdown", "--no-save"}, quick)...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "| fetch |") && !strings.Contains(out, "| fetch ") {
		t.Errorf("markdown output has no fetch row:\n%s", out)
	}
	if files := resultFiles(t); len(files) != 0 {
		t.Errorf("--no-save left %v", files)
	}
}

// shape lists the key paths of a JSON document with their types; arrays
// merge their elements' shapes.
func shape(v any, path string, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		if path != "" {
			out[path] = "object"
		}
		for k, e := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			shape(e, p, out)
		}
	case []any:
		out[path] = "array"
		for _, e := range t {
			shape(e, path+"[]", out)
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
}

func TestRunJSON(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"run", "fetch", "--format", "json", "-o", "r.json"}, quick)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if errOut != "result: r.json\n" {
		t.Errorf("stderr %q", errOut)
	}
	file, err := os.ReadFile("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(file) {
		t.Errorf("--format json printed a different document than the file")
	}
	var doc any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	shape(doc, "", paths)
	for _, must := range []string{"schema_version", "env.go_version", "scenarios[].runs[].latency.op.hdr",
		"scenarios[].runs[].latency.op.p99_ns", "scenarios[].runs[].errors_by_kind", "scenarios[].runs[].intervals",
		"scenarios[].settings.concurrency", "scenarios[].params.url"} {
		if _, ok := paths[must]; !ok {
			t.Errorf("JSON has no %s", must)
		}
	}
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, paths[k])
	}
	golden(t, "run_json_shape.golden", b.String())
}

func TestRunWritesReadableResult(t *testing.T) {
	sandbox(t)
	code, _, errOut := cli(t, "run", "fetch", "-d", "300ms", "--warmup", "0s", "-c", "2", "--count", "2", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if res.SchemaVersion != bench.SchemaVersion || res.ID == "" || res.Partial || res.CreatedAt.IsZero() {
		t.Errorf("result header: %+v", res)
	}
	if res.Env.GoVersion == "" || res.Env.NumCPU == 0 || res.Env.PerfkitVersion == "" {
		t.Errorf("env: %+v", res.Env)
	}
	if len(res.Scenarios) != 1 {
		t.Fatalf("%d scenarios", len(res.Scenarios))
	}
	sc := res.Scenarios[0]
	if sc.Name != "fetch" || sc.Workload != "fetch" || sc.Model != bench.ModelClosed || len(sc.Runs) != 2 {
		t.Errorf("scenario %s/%s model %s, %d runs", sc.Name, sc.Workload, sc.Model, len(sc.Runs))
	}
	if sc.Settings.Concurrency != 2 || sc.Settings.Duration != 300*time.Millisecond || sc.Settings.Warmup != 0 || sc.Settings.Count != 2 {
		t.Errorf("settings %+v", sc.Settings)
	}
	if sc.Params["payload-bytes"] != float64(200) {
		t.Errorf("params %v", sc.Params)
	}
	for _, r := range sc.Runs {
		if r.Ops == 0 || r.Errors != 0 || r.Latency[bench.OverallKey].Count != r.Ops {
			t.Errorf("run %d: ops %d errors %d latency count %d", r.Index, r.Ops, r.Errors, r.Latency[bench.OverallKey].Count)
		}
	}
	if files, _ := filepath.Glob(".r.json.tmp-*"); len(files) > 0 {
		t.Errorf("temp files left: %v", files)
	}
}

func TestRunIterations(t *testing.T) {
	sandbox(t)
	code, _, errOut := cli(t, "run", "fetch", "-n", "50", "--warmup", "0s", "-c", "2", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	s := res.Scenarios[0]
	if s.Settings.Duration != 0 || s.Settings.Iterations != 50 || s.Runs[0].Ops != 50 {
		t.Errorf("duration %s iterations %d ops %d", s.Settings.Duration, s.Settings.Iterations, s.Runs[0].Ops)
	}
}

// The default suite: no names and no config file run every built-in
// workload; PERFKIT_* variables keep it short.
func TestRunDefaultSuite(t *testing.T) {
	sandbox(t)
	t.Setenv("PERFKIT_DURATION", "200ms")
	t.Setenv("PERFKIT_WARMUP", "0s")
	t.Setenv("PERFKIT_CONCURRENCY", "2")
	code, out, errOut := cli(t, "run", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Scenarios {
		names = append(names, s.Name)
		if s.Settings.Duration != 200*time.Millisecond || s.Settings.Concurrency != 2 {
			t.Errorf("%s: settings %+v", s.Name, s.Settings)
		}
	}
	if want := registry(builtinWorkloads()).names(); !slices.Equal(names, want) {
		t.Errorf("ran %v, want every built-in workload %v", names, want)
	}
	if !strings.Contains(out, "fetch") {
		t.Errorf("table has no fetch row:\n%s", out)
	}
}

func TestRunConfigScenarios(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", `
duration: 200ms
warmup: 0s
concurrency: 2
scenarios:
  - name: small
    workload: fetch
    params: {payload-bytes: 100}
  - name: big
    workload: fetch
    params:
      payload-bytes: 4096
`)
	code, _, errOut := cli(t, "run", "-o", "all.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("all.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].Name != "small" || res.Scenarios[1].Name != "big" {
		t.Fatalf("scenarios %+v", res.Scenarios)
	}
	if res.Scenarios[1].Params["payload-bytes"] != float64(4096) {
		t.Errorf("big params %v", res.Scenarios[1].Params)
	}

	// A name picks a configured scenario; the workload name still works.
	code, _, errOut = cli(t, "run", "big", "fetch", "-o", "two.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err = bench.ReadResult("two.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].Name != "big" || res.Scenarios[1].Name != "fetch" {
		t.Fatalf("scenarios %v", res.Scenarios)
	}
	if res.Scenarios[1].Params["payload-bytes"] != float64(200) || res.Scenarios[1].Settings.Concurrency != 2 {
		t.Errorf("fetch by name: params %v settings %+v (top-level keys apply, scenario keys do not)", res.Scenarios[1].Params, res.Scenarios[1].Settings)
	}
}

// Every bad input: exit 2, one line naming the bad value, no result file.
func TestRunBadInput(t *testing.T) {
	dir := sandbox(t)
	writeFile(t, "targets.txt", "# comment\nGET http://127.0.0.1:1/\nX-Ok: yes\nnot a header\n")
	writeFile(t, "plain-file", "")
	writeFile(t, "users.csv", "user_id,name\n1,ann\n2,bob\n3,cid\n")
	writeFile(t, "bad.csv", "user_id,name\n1,ann\n2,bob,extra\n")
	writeFile(t, "bad.ndjson", "{\"user_id\": 1}\n{\"user_id\": \n")
	writeFile(t, "tpl-body.json", "{\n  \"id\": {{rowid}}\n}\n")
	writeFile(t, "tpl-targets.txt", "GET http://127.0.0.1:1/\n\nGET http://127.0.0.1:1/{{row.usr}}\n")
	writeFile(t, "unknown-param.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    params:\n      url: [http://127.0.0.1:1/]\n      colour: red\n")
	writeFile(t, "wrong-type.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    params:\n      payload-bytes: abc\n")
	writeFile(t, "wrong-setting.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    concurrency: lots\n")
	writeFile(t, "malformed.yaml", "scenarios:\n  - name: api\n    workload: fetch: x\n")
	writeFile(t, "unknown-key.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    threads: 4\n")
	writeFile(t, "unknown-workload.yaml", "scenarios:\n  - name: api\n    workload: fetc\n")
	writeFile(t, "scenario-format.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    format: json\n")
	writeFile(t, "top-unknown.yaml", "concurency: 4\n")
	writeFile(t, "dup.yaml", "scenarios:\n  - name: a\n    workload: fetch\n  - name: a\n    workload: fetch\n")
	writeFile(t, "zero.yaml", "scenarios:\n  - name: api\n    workload: fetch\n    concurrency: 0\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"zero concurrency", []string{"fetch", "-c", "0"}, nil, []string{"concurrency 0", "at least 1", "--concurrency"}},
		{"negative concurrency", []string{"fetch", "-c", "-4"}, nil, []string{"concurrency -4", "at least 1"}},
		{"zero duration", []string{"fetch", "-d", "0"}, nil, []string{"duration 0 and iterations 0"}},
		{"duration and iterations", []string{"fetch", "-d", "1s", "-n", "100"}, nil, []string{"duration 1s and iterations 100 both set", "--duration and --iterations"}},
		{"negative rate", []string{"fetch", "-r", "-5"}, nil, []string{"rate -5", "must be 0"}},
		{"unknown arrival", []string{"fetch", "--arrival", "burst"}, nil, []string{`arrival "burst"`, "constant, poisson"}},
		{"bad max-error-rate", []string{"fetch", "--max-error-rate", "lots"}, nil, []string{`"lots" is not a number`, "--max-error-rate"}},
		{"unknown name", []string{"nope"}, nil, []string{`unknown scenario or workload "nope"`, "configured: none", "workloads: ", "fetch"}},
		{"unknown format", []string{"fetch", "--format", "xml"}, nil, []string{`format "xml"`, "table, json, markdown"}},
		{"out and no-save", []string{"fetch", "-o", "r.json", "--no-save"}, nil, []string{"--out and --no-save"}},
		{"param of wrong type (flag)", []string{"fetch", "--payload-bytes", "abc"}, nil, []string{`"abc" is not an integer`, "--payload-bytes"}},
		{"setting of wrong type (flag)", []string{"fetch", "-c", "lots"}, nil, []string{`"lots" is not an integer`, "--concurrency"}},
		{"duration without a unit (flag)", []string{"fetch", "-d", "5"}, nil, []string{`"5" is not a duration (e.g. 250ms, 10s, 1m)`, "--duration"}},
		{"param out of range", []string{"fetch", "--payload-bytes", "-1"}, nil, []string{"payload-bytes", "-1"}},
		{"float param of wrong type", []string{"fetch", "--server-error-rate", "often"}, nil, []string{`"often" is not a number`, "--server-error-rate"}},
		{"bad distribution", []string{"fetch", "--server-latency", "gaussian:1ms"}, nil, []string{"gaussian:1ms", "--server-latency"}},
		{"malformed URL", []string{"fetch", "--url", "http://[::1"}, nil, []string{"http://[::1", "--url"}},
		{"URL without http", []string{"fetch", "--url", "ftp://example.com/"}, nil, []string{"ftp://example.com/"}},
		{"malformed targets file", []string{"fetch", "--targets", "targets.txt"}, nil, []string{"targets.txt:4", "not a header"}},
		{"missing targets file", []string{"fetch", "--targets", "missing.txt"}, nil, []string{"missing.txt"}},
		{"unknown template action", []string{"fetch", "--url", "http://127.0.0.1:1/{{nope}}"}, nil, []string{"param url", "column 20", `unknown action "nope"`, "randInt"}},
		{"unknown template column", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.usr}}", "--data", "users.csv"}, nil, []string{"param url, column 20", `unknown column "usr"`, "user_id, name"}},
		{"template action in a body file", []string{"fetch", "--url", "http://127.0.0.1:1/", "--body", "@tpl-body.json"}, nil, []string{"tpl-body.json:2", `unknown action "rowid"`}},
		{"template column in a targets file", []string{"fetch", "--targets", "tpl-targets.txt", "--data", "users.csv"}, nil, []string{"tpl-targets.txt:3", `unknown column "usr"`}},
		{"unparsable CSV data line", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "bad.csv"}, nil, []string{"bad.csv:3", "wrong number of fields"}},
		{"unparsable NDJSON data line", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "bad.ndjson"}, nil, []string{"bad.ndjson:2", "not a JSON object"}},
		{"missing data file", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "missing.csv"}, nil, []string{"missing.csv", "no such file"}},
		{"row without a data file", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}"}, nil, []string{"needs a data file"}},
		{"bad data-mode", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "users.csv", "--data-mode", "shuffle"}, nil, []string{`data-mode "shuffle"`, "sequential, random, once"}},
		{"data-mode once, more iterations than rows", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "users.csv", "--data-mode", "once", "-n", "4", "--warmup", "0"}, nil, []string{"--iterations 4", "users.csv has 3 rows"}},
		{"data-mode once, a duration", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "users.csv", "--data-mode", "once"}, nil, []string{"data-mode once", "--iterations, at most 3"}},
		{"data-mode once, a warmup", []string{"fetch", "--url", "http://127.0.0.1:1/{{row.user_id}}", "--data", "users.csv", "--data-mode", "once", "-n", "3"}, nil, []string{"data-mode once", "--warmup 0"}},
		{"unknown param in config", []string{"--config", "unknown-param.yaml"}, nil, []string{"unknown-param.yaml:6", `unknown param "colour"`, "url, targets"}},
		{"param of wrong type (YAML)", []string{"--config", "wrong-type.yaml"}, nil, []string{"wrong-type.yaml:5", "scenario api", "payload-bytes", `"abc" is not an integer`}},
		{"setting of wrong type (YAML)", []string{"--config", "wrong-setting.yaml"}, nil, []string{"wrong-setting.yaml:4", "concurrency", `"lots" is not an integer`}},
		{"invalid setting (YAML)", []string{"--config", "zero.yaml"}, nil, []string{"zero.yaml:4", "concurrency 0"}},
		{"missing config", []string{"--config", "nope.yaml"}, nil, []string{"config file nope.yaml: no such file"}},
		{"missing config (env)", nil, map[string]string{"PERFKIT_CONFIG": "gone.yaml"}, []string{"config file gone.yaml: no such file"}},
		{"malformed YAML", []string{"--config", "malformed.yaml"}, nil, []string{"malformed.yaml:3: mapping values are not allowed"}},
		{"unknown key in scenario", []string{"--config", "unknown-key.yaml"}, nil, []string{"unknown-key.yaml:4", `unknown key "threads"`, "concurrency"}},
		{"run-wide key in a scenario", []string{"--config", "scenario-format.yaml"}, nil, []string{"scenario-format.yaml:4", `key "format" applies to the whole run`}},
		{"unknown top-level key", []string{"--config", "top-unknown.yaml", "fetch"}, nil, []string{"top-unknown.yaml:1", `unknown key "concurency"`}},
		{"unknown workload in config", []string{"--config", "unknown-workload.yaml"}, nil, []string{"unknown-workload.yaml:2", `unknown workload "fetc"`}},
		{"duplicate scenario", []string{"--config", "dup.yaml"}, nil, []string{"dup.yaml:4", "scenario a", "line 2"}},
		{"env of wrong type", []string{"fetch"}, map[string]string{"PERFKIT_CONCURRENCY": "abc"}, []string{`"abc" is not an integer`, "PERFKIT_CONCURRENCY"}},
		{"env duration", []string{"fetch"}, map[string]string{"PERFKIT_DURATION": "soon"}, []string{`"soon" is not a duration`, "PERFKIT_DURATION"}},
		{"out in a missing directory", []string{"fetch", "-o", "missing/r.json"}, nil, []string{"missing/r.json", "does not exist"}},
		{"out under a regular file", []string{"fetch", "-o", "plain-file/r.json"}, nil, []string{"plain-file/r.json", "not a directory"}},
		{"out is a directory", []string{"fetch", "-o", "."}, nil, []string{"output .", "is a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before, _ := os.ReadDir(dir)
			code, out, errOut := cli(t, append([]string{"run"}, tc.args...)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			oneErrorLine(t, errOut, tc.want...)
			after, _ := os.ReadDir(dir)
			if len(after) != len(before) {
				t.Errorf("files left behind: %v → %v", before, after)
			}
			if files := resultFiles(t); len(files) > 0 {
				t.Errorf("result files left: %v", files)
			}
		})
	}
}

func TestRunOutReadOnlyDir(t *testing.T) {
	sandbox(t)
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories (the regular-file case covers this as root)")
	}
	if err := os.Mkdir("ro", 0o555); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "run", "fetch", "-o", "ro/r.json")
	if code != ExitUsage {
		t.Errorf("exit %d", code)
	}
	oneErrorLine(t, errOut, "ro/r.json", "not writable")
	if entries, _ := os.ReadDir("ro"); len(entries) > 0 {
		t.Errorf("left %v", entries)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRunEveryOpFailed(t *testing.T) {
	sandbox(t)
	url := "http://" + closedPort(t) + "/"
	code, out, errOut := cli(t, args([]string{"run", "fetch", "--url", url}, quick)...)
	if code != ExitMeasure {
		t.Errorf("exit %d, want %d", code, ExitMeasure)
	}
	// The failures are data: shown, saved, and the exit code says so.
	if !strings.Contains(out, "conn_refused") || !strings.Contains(out, "100%") {
		t.Errorf("stdout does not show the failures: %q", out)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(errOut, "\n"), "\n")
	oneErrorLine(t, lines[len(lines)-1]+"\n", "scenario fetch: every op failed (conn_refused ")
	files := resultFiles(t)
	if len(files) != 1 {
		t.Fatalf("result files %v, want one", files)
	}
	res, err := bench.ReadResult(filepath.Join(ResultsDir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	run := res.Scenarios[0].Runs[0]
	if run.Ops == 0 || run.Errors != run.Ops || run.Valid {
		t.Errorf("saved run: ops %d errors %d valid %v", run.Ops, run.Errors, run.Valid)
	}
}

func TestRunSomeServerErrors(t *testing.T) {
	sandbox(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	// A third of requests fail: over the default error bound, so allow it
	// (every run invalid would exit 3).
	code, _, errOut := cli(t, args([]string{"run", "fetch", "--url", srv.URL, "-o", "r.json", "--max-error-rate", "50%"}, quick)...)
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	r := res.Scenarios[0].Runs[0]
	var fiveHundreds int64
	for k, v := range r.ErrorsByKind {
		if strings.Contains(k, "500") || k == "http_5xx" {
			fiveHundreds += v
		}
	}
	if r.Errors == 0 || fiveHundreds != r.Errors || r.Errors >= r.Ops {
		t.Errorf("ops %d errors %d by kind %v", r.Ops, r.Errors, r.ErrorsByKind)
	}
	if p := res.Scenarios[0].Params["url"]; fmt.Sprint(p) != "["+srv.URL+"]" {
		t.Errorf("params url %v", p)
	}
}

// The stop comes once the run has made 20 ops (a timer could fire before a
// loaded machine has started the run).
func TestRunCancelled(t *testing.T) {
	sandbox(t)
	ctx, cancel := context.WithCancel(t.Context())
	defs := []bench.Definition{afterOps("tick", 20, cancel)}
	start := time.Now()
	code, out, errOut := cliWith(t, ctx, func(f *Factory) { f.Workloads = defs }, "run", "tick", "-d", "20s", "--warmup", "0s", "-c", "2", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a cancelled 20s run took %s", took)
	}
	if errOut != "stopped: partial result saved to r.json\n" {
		t.Errorf("stderr %q", errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || len(res.Scenarios) != 1 || res.Scenarios[0].Runs[0].Ops == 0 {
		t.Errorf("partial %v, scenarios %d", res.Partial, len(res.Scenarios))
	}
	if !strings.Contains(out, "partial") {
		t.Errorf("the table does not say partial:\n%s", out)
	}
}

// fakeSignals replaces signal.Notify and os.Exit: the test sends on sig, and
// exited records the code of an exit (-1: none).
func fakeSignals(f *Factory, sig <-chan os.Signal, exited *atomic.Int64) {
	exited.Store(-1)
	f.Notify = func(c chan<- os.Signal) func() {
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case s := <-sig:
					c <- s
				case <-stop:
					return
				}
			}
		}()
		return func() { close(stop) }
	}
	f.Exit = func(code int) { exited.Store(int64(code)) }
}

func TestRunSignal(t *testing.T) {
	sandbox(t)
	sig := make(chan os.Signal, 1)
	var exited atomic.Int64
	defs := []bench.Definition{afterOps("tick", 20, func() { sig <- syscall.SIGINT })}
	code, _, errOut := cliWith(t, t.Context(), func(f *Factory) { fakeSignals(f, sig, &exited); f.Workloads = defs },
		"run", "tick", "-d", "20s", "--warmup", "0s", "-c", "2", "-o", "r.json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.HasSuffix(errOut, "stopped by signal: partial result saved to r.json\n") {
		t.Errorf("stderr %q", errOut)
	}
	if exited.Load() != -1 {
		t.Errorf("one signal exited with %d", exited.Load())
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial {
		t.Error("result not partial")
	}
}

func TestRunSecondSignalExits(t *testing.T) {
	sandbox(t)
	sig := make(chan os.Signal, 1)
	var exited atomic.Int64
	// A slow op keeps the run in its graceful stop while the second signal
	// comes; the signals follow the op's start, not a guessed delay.
	var once sync.Once
	signals := func() {
		once.Do(func() {
			go func() {
				sig <- syscall.SIGTERM
				time.Sleep(100 * time.Millisecond)
				sig <- syscall.SIGTERM
			}()
		})
	}
	slow := bench.Definition{Name: "slow", New: func(bench.Values) (bench.Workload, error) {
		return &fakeWorkload{sleep: 2 * time.Second, onOp: signals}, nil
	}}
	cliWith(t, t.Context(), func(f *Factory) {
		fakeSignals(f, sig, &exited)
		f.Workloads = []bench.Definition{slow}
	}, "run", "slow", "-d", "20s", "--warmup", "0s", "-c", "1", "--no-save")
	if got := exited.Load(); got != 130 {
		t.Errorf("second signal: exit %d, want 130", got)
	}
}

// failingSetup is a workload whose Setup fails.
type failingSetup struct{ fakeWorkload }

func (*failingSetup) Setup(context.Context, *bench.Setup) error {
	return errors.New("no route to target")
}

// A scenario that cannot be set up is skipped: the others run and are saved,
// and the exit code is 3.
func TestRunSetupFailureKeepsOtherScenarios(t *testing.T) {
	sandbox(t)
	defs := []bench.Definition{
		{Name: "broken", Help: "fails setup", New: func(bench.Values) (bench.Workload, error) { return &failingSetup{}, nil }},
		{Name: "fine", Help: "works", New: func(bench.Values) (bench.Workload, error) { return &fakeWorkload{}, nil }},
	}
	code, out, errOut := cliWith(t, t.Context(), func(f *Factory) { f.Workloads = defs }, args([]string{"run", "broken", "fine"}, quick)...)
	if code != ExitMeasure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitMeasure, errOut)
	}
	if !strings.Contains(errOut, "scenario broken: setup: no route to target") || !strings.Contains(out, "fine") {
		t.Errorf("stderr %q, stdout %q", errOut, out)
	}
	files := resultFiles(t)
	if len(files) != 1 {
		t.Fatalf("result files %v, want one", files)
	}
	res, err := bench.ReadResult(filepath.Join(ResultsDir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 1 || res.Scenarios[0].Name != "fine" || res.Scenarios[0].Runs[0].Ops == 0 {
		t.Errorf("saved scenarios: %+v", res.Scenarios)
	}
}
