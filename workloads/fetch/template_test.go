package fetch

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// seen is one request a recording server received.
type seen struct {
	path, header, body string
}

// recorder is a server on 127.0.0.1 that records every request it
// receives (path with query, the X-T header, the body), in arrival order.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, seen{r.URL.RequestURI(), r.Header.Get("X-T"), string(b)})
	rc.mu.Unlock()
	io.WriteString(w, "ok")
}

func (rc *recorder) all() []seen {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// writeTemp writes a file in a test's temporary directory.
func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runOps runs n ops on worker w, failing the test on an error.
func runOps(t *testing.T, f *fetch, w *bench.Worker, n int) {
	t.Helper()
	for i := range n {
		if err := op(f, w, opTimeout); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

// One worker's requests carry 0, 1, 2… in the URL, a header and the body,
// the same number in all three.
func TestTemplateSeq(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		rc := &recorder{}
		srv := newServer(t, h2, rc)
		f := build(t, map[string]any{
			"url": srv.URL + "/u/{{seq}}?q={{seq}}", "http2": h2, "insecure": true,
			"method": "POST", "header": []any{"X-T: n={{seq}}"}, "body": `{"n":{{seq}}}`,
		})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		const n = 70 // more than one chunk of the sequence
		runOps(t, f, w, n)
		got := rc.all()
		if len(got) != n {
			t.Fatalf("server saw %d requests, want %d", len(got), n)
		}
		for i, r := range got {
			want := seen{fmt.Sprintf("/u/%d?q=%d", i, i), fmt.Sprintf("n=%d", i), fmt.Sprintf(`{"n":%d}`, i)}
			if r != want {
				t.Fatalf("request %d: %+v, want %+v", i, r, want)
			}
		}
		var out int64
		for i := range n {
			out += int64(len(fmt.Sprintf(`{"n":%d}`, i)))
		}
		if got := w.TestCounter(f.bytesOut); got != out {
			t.Errorf("bytes_out %d, want %d (the filled bodies)", got, out)
		}
	})
}

const usersCSV = "user_id,name,city\n1,ann,Paris\n2,bob,New York\n3,\"c, d\",Oslo\n"

// data-mode sequential sends the rows in file order and wraps; a value
// with a space or comma is percent-encoded in the URL and sent as is in a
// header or body.
func TestTemplateCSVSequential(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		rc := &recorder{}
		srv := newServer(t, h2, rc)
		f := build(t, map[string]any{
			"url": srv.URL + "/users/{{row.user_id}}?city={{row.city}}", "http2": h2, "insecure": true,
			"header": []any{"X-T: {{row.name}}"}, "method": "PUT", "body": "{{row.city}}",
			"data": writeTemp(t, "users.csv", usersCSV),
		})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		runOps(t, f, w, 7)
		want := []seen{
			{"/users/1?city=Paris", "ann", "Paris"},
			{"/users/2?city=New%20York", "bob", "New York"},
			{"/users/3?city=Oslo", "c, d", "Oslo"},
		}
		got := rc.all()
		for i, r := range got {
			if r != want[i%3] {
				t.Errorf("request %d: %+v, want %+v", i, r, want[i%3])
			}
		}
		if len(got) != 7 {
			t.Errorf("server saw %d requests, want 7", len(got))
		}
	})
}

// data-mode once: workers in parallel send every row exactly once; an op
// past the last row sends nothing and fails as data_exhausted.
func TestTemplateOncePerRow(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		const rows, workers = 200, 8
		var csv strings.Builder
		csv.WriteString("id\n")
		for i := range rows {
			fmt.Fprintf(&csv, "%d\n", i*10)
		}
		rc := &recorder{}
		srv := newServer(t, h2, rc)
		f := build(t, map[string]any{
			"url": srv.URL + "/item/{{row.id}}", "http2": h2, "insecure": true,
			"data": writeTemp(t, "ids.csv", csv.String()), "data-mode": "once",
		})
		s := start(t, f, workers, opTimeout)
		var wg sync.WaitGroup
		for id := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := bench.NewTestWorker(id, s)
				for range rows / workers {
					if err := op(f, w, opTimeout); err != nil {
						t.Errorf("op: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		count := map[string]int{}
		for _, r := range rc.all() {
			count[r.path]++
		}
		for i := range rows {
			if p := fmt.Sprintf("/item/%d", i*10); count[p] != 1 {
				t.Errorf("row %d sent %d times, want once", i, count[p])
			}
		}
		if len(count) != rows {
			t.Errorf("%d distinct rows sent, want %d", len(count), rows)
		}
		w := bench.NewTestWorker(workers, s)
		if err := op(f, w, opTimeout); kindOf(err) != KindDataExhausted {
			t.Errorf("op past the last row: %v, want kind %s", err, KindDataExhausted)
		}
		if n := len(rc.all()); n != rows {
			t.Errorf("server saw %d requests, want %d (nothing sent past the last row)", n, rows)
		}
	})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// uuid, randInt, choice and data-mode random give well-formed values in
// range, and not all the same.
func TestTemplateRandom(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		rc := &recorder{}
		srv := newServer(t, h2, rc)
		f := build(t, map[string]any{
			"url": srv.URL + "/r/{{randInt -5 5}}", "http2": h2, "insecure": true,
			"header": []any{"X-T: {{uuid}}"}, "method": "POST",
			"body": `{{choice red "light green" blue}} {{row.name}}`,
			"data": writeTemp(t, "users.ndjson", `{"name":"ann","n":1}`+"\n\n"+`{"name":"bob","n":2}`+"\n"+`{"name":"c\"d","n":3}`+"\n"), "data-mode": "random",
		})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		const n = 300
		runOps(t, f, w, n)
		ints, uuids, bodies := map[int]bool{}, map[string]bool{}, map[string]bool{}
		for _, r := range rc.all() {
			v, err := strconv.Atoi(strings.TrimPrefix(r.path, "/r/"))
			if err != nil || v < -5 || v > 5 {
				t.Errorf("randInt -5 5 gave %q", r.path)
			}
			ints[v] = true
			if !uuidRE.MatchString(r.header) {
				t.Errorf("uuid %q is not a version 4 UUID", r.header)
			}
			uuids[r.header] = true
			bodies[r.body] = true
		}
		if len(ints) != 11 {
			t.Errorf("randInt -5 5 gave %d distinct values in %d requests, want all 11", len(ints), n)
		}
		if len(uuids) != n {
			t.Errorf("%d distinct UUIDs in %d requests", len(uuids), n)
		}
		var want []string
		for _, c := range []string{"red", "light green", "blue"} {
			for _, name := range []string{"ann", "bob", `c"d`} {
				want = append(want, c+" "+name)
			}
		}
		for b := range bodies {
			if !slices.Contains(want, b) {
				t.Errorf("body %q is no choice and row", b)
			}
		}
		if len(bodies) != len(want) {
			t.Errorf("%d distinct bodies, want all %d combinations", len(bodies), len(want))
		}
	})
}

// A targets file's URL, header and @body file may hold actions.
func TestTemplateTargetsFile(t *testing.T) {
	rc := &recorder{}
	srv := newServer(t, false, rc)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"user":{{row.user_id}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	targets := filepath.Join(dir, "targets.txt")
	content := "POST " + srv.URL + "/a/{{seq}}?x={{choice \"a b\"}}\nX-T: {{row.name}}\n@body.json\n"
	if err := os.WriteFile(targets, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f := build(t, map[string]any{"targets": targets, "data": writeTemp(t, "u.csv", usersCSV)})
	s := start(t, f, 1, opTimeout)
	runOps(t, f, bench.NewTestWorker(0, s), 2)
	want := []seen{{"/a/0?x=a%20b", "ann", `{"user":1}`}, {"/a/1?x=a%20b", "bob", `{"user":2}`}}
	if got := rc.all(); !slices.Equal(got, want) {
		t.Errorf("server saw %+v, want %+v", got, want)
	}
}

// Static targets keep their pre-serialized request: no template, no plan.
func TestStaticTargetHasNoTemplate(t *testing.T) {
	f := build(t, map[string]any{"url": "http://127.0.0.1:1/x", "body": `{"a":{"b":1}}`, "header": []any{"X-A: {b}"}})
	start(t, f, 1, opTimeout)
	if f.plan != nil || f.targets[0].tpl != nil || len(f.targets[0].raw) == 0 {
		t.Errorf("static target: plan %v, tpl %v, raw %d bytes", f.plan, f.targets[0].tpl, len(f.targets[0].raw))
	}
}

// A literal "{{" is written {{"{{"}}.
func TestTemplateLiteralBraces(t *testing.T) {
	rc := &recorder{}
	srv := newServer(t, false, rc)
	f := build(t, map[string]any{"url": srv.URL + "/", "method": "POST", "body": `{{"{{"}}x}} {{seq}}`})
	s := start(t, f, 1, opTimeout)
	runOps(t, f, bench.NewTestWorker(0, s), 1)
	if got := rc.all(); len(got) != 1 || got[0].body != "{{x}} 0" {
		t.Errorf("server saw %+v, want body %q", got, "{{x}} 0")
	}
}

// Every template and data file mistake is refused before the run with
// its position.
func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csv := write("u.csv", usersCSV)
	badCSV := write("bad.csv", "id,name\n1,a\n2,b,extra\n")
	badJSON := write("bad.ndjson", `{"id":1}`+"\n"+`{"id":2`+"\n")
	missingKey := write("miss.ndjson", `{"id":1}`+"\n"+`{"other":2}`+"\n")
	crlf := write("crlf.csv", "name\n\"a\nb\"\n")
	empty := write("empty.csv", "id\n")
	txt := write("data.txt", "id\n1\n")
	body := write("body.json", "{\n  \"a\": {{nope}}\n}\n")
	targets := write("targets.txt", "GET http://127.0.0.1:1/\n\nGET http://127.0.0.1:1/{{row.nope}}\n")
	u := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want []string
	}{
		{"unknown action in url", map[string]any{"url": u + "{{rand}}"}, []string{"param url", "column 20", `unknown action "rand"`, "randInt"}},
		{"unknown action in header", map[string]any{"url": u, "header": []any{"X-A: {{sequence}}"}}, []string{"param header", "column 6", `"sequence"`}},
		{"unknown action in body", map[string]any{"url": u, "body": "ab{{uid}}"}, []string{"param body", "column 3", `"uid"`}},
		{"unknown action in body file", map[string]any{"url": u, "body": "@" + body}, []string{"body.json:2", `"nope"`}},
		{"unknown column", map[string]any{"url": u + "{{row.usr}}", "data": csv}, []string{"param url", "column 20", `unknown column "usr"`, "user_id, name, city"}},
		{"unknown column in targets file", map[string]any{"targets": targets, "data": csv}, []string{"targets.txt:3", `"nope"`}},
		{"row without data", map[string]any{"url": u + "{{row.id}}"}, []string{"column 20", "needs a data file", "param data"}},
		{"data unused", map[string]any{"url": u, "data": csv}, []string{"param data", "no template uses"}},
		{"wrong field count", map[string]any{"url": u + "{{row.id}}", "data": badCSV}, []string{"bad.csv:3", "wrong number of fields"}},
		{"bad ndjson line", map[string]any{"url": u + "{{row.id}}", "data": badJSON}, []string{"bad.ndjson:2", "not a JSON object"}},
		{"ndjson key missing", map[string]any{"url": u + "{{row.id}}", "data": missingKey}, []string{"miss.ndjson:2", `no key "id"`}},
		{"line break in a header value", map[string]any{"url": u, "header": []any{"X-A: {{row.name}}"}, "data": crlf}, []string{"crlf.csv", "row 1", "line break"}},
		{"no rows", map[string]any{"url": u + "{{row.id}}", "data": empty}, []string{"empty.csv", "no rows"}},
		{"unknown data format", map[string]any{"url": u + "{{row.id}}", "data": txt}, []string{"data.txt", ".csv", ".ndjson"}},
		{"missing data file", map[string]any{"url": u + "{{row.id}}", "data": filepath.Join(dir, "gone.csv")}, []string{"gone.csv", "no such file"}},
		{"unclosed action", map[string]any{"url": u + "{{seq"}, []string{"column 20", "never closed"}},
		{"randInt args", map[string]any{"url": u + "{{randInt 5}}"}, []string{"randInt takes two integers"}},
		{"randInt order", map[string]any{"url": u + "{{randInt 5 1}}"}, []string{"LO is above HI"}},
		{"seq with args", map[string]any{"url": u + "{{seq 1}}"}, []string{"seq takes no arguments"}},
		{"empty choice", map[string]any{"url": u + "{{choice}}"}, []string{"choice needs at least one value"}},
		{"templated host", map[string]any{"url": "http://{{choice a b}}:8080/"}, []string{"scheme and host must be written out"}},
		{"bad data-mode", map[string]any{"url": u + "{{row.id}}", "data": csv, "data-mode": "shuffle"}, []string{`data-mode "shuffle"`, "sequential, random, once"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := buildErr(tc.raw)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

// Through the engine: a run of -n ROWS --warmup 0 with data-mode once and
// several workers sends every row exactly once.
func TestTemplateOnceRun(t *testing.T) {
	const rows = 500
	var csv strings.Builder
	csv.WriteString("id\n")
	for i := range rows {
		fmt.Fprintf(&csv, "%d\n", i)
	}
	rc := &recorder{}
	srv := newServer(t, false, rc)
	def := Definition()
	v, err := def.Resolve(map[string]any{"url": srv.URL + "/i/{{row.id}}", "data": writeTemp(t, "ids.csv", csv.String()), "data-mode": "once"})
	if err != nil {
		t.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Concurrency, set.Warmup, set.Duration, set.Iterations = 4, 0, 0, rows
	set.Timeout = opTimeout
	sc := bench.Scenario{Name: Name, Workload: Name, Params: v, Settings: set, New: func() (bench.Workload, error) { return def.New(v) }}
	if err := bench.CheckSettings(sc); err != nil {
		t.Fatalf("CheckSettings: %v", err)
	}
	res, err := bench.Run(t.Context(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Runs[0]; r.Ops != rows || r.Errors != 0 {
		t.Fatalf("run: %d ops, %d errors %v; want %d, 0", r.Ops, r.Errors, r.ErrorsByKind, rows)
	}
	count := map[string]int{}
	for _, r := range rc.all() {
		count[r.path]++
	}
	for i := range rows {
		if p := fmt.Sprintf("/i/%d", i); count[p] != 1 {
			t.Errorf("row %d sent %d times, want once", i, count[p])
		}
	}
	set.Iterations = rows + 1
	sc.Settings = set
	if err := bench.CheckSettings(sc); err == nil || !strings.Contains(err.Error(), "has 500 rows") {
		t.Errorf("CheckSettings with one iteration more than rows: %v", err)
	}
}

// A URL template is recorded as written, with its secrets redacted.
func TestRedactTemplateURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1/u/{{randInt 1 5}}?x={{seq}}":                             "http://127.0.0.1:1/u/{{randInt 1 5}}?x={{seq}}",
		"http://u:pw@127.0.0.1:1/{{seq}}?access_token=abc&n={{row.id}}":              "http://u:xxxxx@127.0.0.1:1/{{seq}}?access_token=REDACTED&n={{row.id}}",
		"http://127.0.0.1:1/?access_token={{row.token}}":                             "http://127.0.0.1:1/?access_token=REDACTED",
		"http://127.0.0.1:1/{{a}}{{b}}{{c}}{{d}}{{e}}{{f}}{{g}}{{h}}{{i}}{{j}}{{k}}": "http://127.0.0.1:1/{{a}}{{b}}{{c}}{{d}}{{e}}{{f}}{{g}}{{h}}{{i}}{{j}}{{k}}",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A named target's URL may be a template; errors count columns from the
// start of the parameter, name included.
func TestTemplateNamedTarget(t *testing.T) {
	rc := &recorder{}
	srv := newServer(t, false, rc)
	f := build(t, map[string]any{"url": []any{"login=" + srv.URL + "/login/{{seq}}"}})
	s := start(t, f, 1, opTimeout)
	runOps(t, f, bench.NewTestWorker(0, s), 2)
	if got := rc.all(); len(got) != 2 || got[0].path != "/login/0" || got[1].path != "/login/1" {
		t.Errorf("server saw %+v", got)
	}
	err := buildErr(map[string]any{"url": []any{"login=http://127.0.0.1:1/{{nope}}"}})
	if err == nil || !strings.Contains(err.Error(), "column 26") {
		t.Errorf("error %v, want column 26", err)
	}
}
