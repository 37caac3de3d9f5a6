package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// everyTenth answers 200 {"ok":true}, and 200 {"ok":false} to every tenth
// request: the fast "success" with an error body that only a check catches.
func everyTenth(n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1)%10 == 0 {
			io.WriteString(w, `{"ok":false,"error":"backend down"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"items":[1,2,3]}`)
	})
}

// counter reads a test worker's counter by name (Setup returns the handle
// a name was declared with).
func counter(s *bench.Setup, w *bench.Worker, name string) int64 {
	return w.TestCounter(s.Counter(name))
}

func TestJSONCheckCatchesErrorBodies(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var n atomic.Int64
		srv := newServer(t, h2, everyTenth(&n))
		f := build(t, params(srv, h2, map[string]any{"check-json": []string{"ok == true"}}))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		kinds := map[string]int{}
		for range 200 {
			kinds[kindOf(op(f, w, opTimeout))]++
		}
		if kinds["check_json"] != 20 || kinds[""] != 180 || len(kinds) != 2 {
			t.Errorf("kinds %v, want 20 check_json and 180 successes", kinds)
		}
		if j, fl := counter(s, w, "checks{json}"), counter(s, w, "checks_failed{json}"); j != 200 || fl != 20 {
			t.Errorf("checks{json} %d, checks_failed{json} %d, want 200 and 20", j, fl)
		}
	})
}

func TestBodyChecks(t *testing.T) {
	var n atomic.Int64
	srv := newServer(t, false, everyTenth(&n))
	cases := []struct {
		extra map[string]any
		kind  string // of every tenth op; "" none fails
	}{
		{map[string]any{"check-body-contains": []string{`"ok":true`}}, "check_body_contains"},
		{map[string]any{"check-body-not-contains": []string{"backend down"}}, "check_body_not_contains"},
		{map[string]any{"check-json": []string{"error"}}, ""}, // exists: only on the tenth; every other fails
		{map[string]any{"check-json": []string{"ok != false"}}, "check_json"},
		{map[string]any{"check-json": []string{"items.# == 3"}}, "check_json"},
		{map[string]any{"check-max-body-bytes": int64(30)}, "check_body_size"},
	}
	for _, c := range cases {
		n.Store(0)
		f := build(t, params(srv, false, c.extra))
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		kinds := map[string]int{}
		for range 20 {
			kinds[kindOf(op(f, w, opTimeout))]++
		}
		want := map[string]int{"": 18, c.kind: 2}
		if c.kind == "" {
			want = map[string]int{"": 2, "check_json": 18}
		}
		if !sameCounts(kinds, want) {
			t.Errorf("%v: kinds %v, want %v", c.extra, kinds, want)
		}
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestStatusCheck(t *testing.T) {
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		switch r.URL.Path {
		case "/201":
			code = 201
		case "/302":
			code = 302
		case "/404":
			code = 404
		default:
			code = 200
		}
		w.WriteHeader(code)
	}))
	cases := []struct {
		spec string // "": the default
		path string
		kind string
	}{
		{"", "/302", ""},         // today's behaviour: below 400 succeeds
		{"", "/404", "http_404"}, //
		{"200", "/201", "check_status"},
		{"200,201", "/201", ""},
		{"200-204", "/201", ""},
		{"2xx", "/302", "check_status"},
		{"2xx,404", "/404", ""},     // an expected 404 is a success
		{"200", "/404", "http_404"}, // unexpected ≥ 400 keeps its code
		{"300-399", "/302", ""},
	}
	for _, c := range cases {
		f := build(t, map[string]any{"url": []string{srv.URL + c.path}, "check-status": c.spec})
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		if got := kindOf(op(f, w, opTimeout)); got != c.kind {
			t.Errorf("check-status %q, %s: kind %q, want %q", c.spec, c.path, got, c.kind)
		}
		if c.spec != "" {
			failed := counter(s, w, "checks_failed{status}")
			if want := int64(0); c.kind != "" && failed != 1 || c.kind == "" && failed != want {
				t.Errorf("check-status %q, %s: checks_failed{status} %d", c.spec, c.path, failed)
			}
		}
	}
}

func TestBadCheckSpecs(t *testing.T) {
	for _, c := range []struct {
		param string
		value any
		want  string
	}{
		{"check-status", "20x", `"20x"`},
		{"check-status", "600", "100 to 599"},
		{"check-status", "299-200", "ends before it starts"},
		{"check-status", "200,,204", "check-status"},
		{"check-json", []string{"== true"}, "no path"},
		{"check-json", []string{"ok =="}, "no value"},
		{"check-json", []string{"a b"}, "space"},
		{"check-body-contains", []string{""}, "non-empty"},
		{"check-max-body-bytes", int64(-1), "check-max-body-bytes"},
	} {
		err := buildErr(map[string]any{"url": []string{"http://127.0.0.1:1/"}, c.param: c.value})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %v: error %v, want one line with %q", c.param, c.value, err, c.want)
		}
	}
}

func TestParseJSONSpec(t *testing.T) {
	for _, c := range []struct {
		spec, path string
		op         jsonOp
		body       string
		holds      bool
	}{
		{"ok == true", "ok", jsonEqual, `{"ok":true}`, true},
		{"ok==true", "ok", jsonEqual, `{"ok":"true"}`, false}, // a string is not a bool
		{"user.name == alice", "user.name", jsonEqual, `{"user":{"name":"alice"}}`, true},
		{`user.name == "alice"`, "user.name", jsonEqual, `{"user":{"name":"alice"}}`, true},
		{"n == 3", "n", jsonEqual, `{"n":3.0}`, true},
		{"n != 3", "n", jsonNotEqual, `{"m":4}`, false}, // absent is not "not 3"
		{`items.#(id==2).name`, `items.#(id==2).name`, jsonExists, `{"items":[{"id":2,"name":"x"}]}`, true},
		{`items.#(id==2).name == x`, `items.#(id==2).name`, jsonEqual, `{"items":[{"id":2,"name":"x"}]}`, true},
		{"data", "data", jsonExists, `{"data":null}`, true},
		{"data == null", "data", jsonEqual, `{"data":null}`, true},
		{"data == null", "data", jsonEqual, `{}`, false}, // absent is not null
		{"data", "data", jsonExists, `not json`, false},
		{`a == {"b":1}`, "a", jsonEqual, `{"a":{"b":1}}`, true},
	} {
		js, err := parseJSONSpec(c.spec)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if js.path != c.path || js.op != c.op {
			t.Errorf("%q: path %q op %d, want %q %d", c.spec, js.path, js.op, c.path, c.op)
		}
		if got := js.holds([]byte(c.body)); got != c.holds {
			t.Errorf("%q on %s: holds %v, want %v", c.spec, c.body, got, c.holds)
		}
	}
}

func TestTaggedURLs(t *testing.T) {
	for _, c := range []struct {
		in, tag, url string
		weight       int
		err          string
	}{
		{in: "http://127.0.0.1:8080/a?x=1", url: "http://127.0.0.1:8080/a?x=1"},
		{in: "login=http://127.0.0.1:8080/a?x=1", tag: "login", url: "http://127.0.0.1:8080/a?x=1"},
		{in: "login:3=https://h/a", tag: "login", weight: 3, url: "https://h/a"},
		{in: "op=http://h/", err: "reserved"},
		{in: "a b=http://h/", err: "want NAME=URL"},
		{in: "login:0=http://h/", err: "weight"},
		{in: "login:x=http://h/", err: "weight"},
	} {
		opts, raw, err := splitTaggedURL(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case opts.tag != c.tag || opts.weight != c.weight || raw != c.url:
			t.Errorf("%q: tag %q weight %d url %q, want %q %d %q", c.in, opts.tag, opts.weight, raw, c.tag, c.weight, c.url)
		}
	}
	err := buildErr(map[string]any{"url": []string{"a=http://127.0.0.1:1/", "http://127.0.0.1:2/"}})
	if err == nil || !strings.Contains(err.Error(), "name them all") {
		t.Errorf("one url named, one not: %v", err)
	}
	var many []string
	for i := range maxTags + 1 {
		many = append(many, fmt.Sprintf("t%d=http://127.0.0.1:1/%d", i, i))
	}
	if err := buildErr(map[string]any{"url": many}); err == nil || !strings.Contains(err.Error(), "more than 100 target names") {
		t.Errorf("%d names: %v", len(many), err)
	}
	if err := buildErr(map[string]any{"url": many[:maxTags]}); err != nil {
		t.Errorf("%d names: %v", maxTags, err)
	}
	if got := redactTaggedURL("login=http://u:secret@127.0.0.1/"); strings.Contains(got, "secret") || !strings.HasPrefix(got, "login=") {
		t.Errorf("redacted %q", got)
	}
}

// Tagged targets record their ops under their tag and count their failures
// in errors{TAG}.
func TestTagsLabelOpsAndErrors(t *testing.T) {
	both(t, func(t *testing.T, h2 bool) {
		var n atomic.Int64
		srv := newServer(t, h2, everyTenth(&n))
		p := params(srv, h2, map[string]any{"check-json": []string{"ok == true"}})
		p["url"] = []string{"login=" + srv.URL + "/login", "search=" + srv.URL + "/search"}
		f := build(t, p)
		s := start(t, f, 1, opTimeout)
		w := bench.NewTestWorker(0, s)
		login, search := s.Label("login"), s.Label("search")
		counts := map[bench.Label]int{}
		for range 40 {
			l, _ := f.Op(context.Background(), w)
			counts[l]++
		}
		if counts[login] != 20 || counts[search] != 20 {
			t.Errorf("ops by label %v, want 20 login (%d), 20 search (%d)", counts, login, search)
		}
		// Round-robin: the tenth, twentieth... requests are search's.
		if l, s := counter(s, w, "errors{login}"), counter(s, w, "errors{search}"); l != 0 || s != 4 {
			t.Errorf("errors{login} %d errors{search} %d, want 0 and 4", l, s)
		}
		if lj, sf := counter(s, w, "checks{login:json}"), counter(s, w, "checks_failed{search:json}"); lj != 20 || sf != 4 {
			t.Errorf("checks{login:json} %d checks_failed{search:json} %d, want 20 and 4", lj, sf)
		}
	})
}

func TestWeightedOrder(t *testing.T) {
	ts := []target{{opts: targetOpts{weight: 3}}, {opts: targetOpts{weight: 1}}}
	order, err := weightedOrder(ts)
	if err != nil || len(order) != 4 {
		t.Fatalf("order %v, %v", order, err)
	}
	if got := fmt.Sprint(order); got != "[0 0 1 0]" {
		t.Errorf("3:1 order %v: want the light target between heavy ones", order)
	}
	if order, _ := weightedOrder([]target{{}, {}}); order != nil {
		t.Errorf("even weights: order %v, want nil (round-robin)", order)
	}
	big := []target{{opts: targetOpts{weight: maxWeight}}, {opts: targetOpts{weight: maxWeight}}, {opts: targetOpts{weight: maxWeight}}, {opts: targetOpts{weight: maxWeight}}, {opts: targetOpts{weight: maxWeight}}}
	if _, err := weightedOrder(big); err == nil {
		t.Error("weights past the total: no error")
	}
}

// Weights 3:1 send three quarters of the ops to the first target, across
// workers as within one.
func TestWeightsSplitOps(t *testing.T) {
	var a, b atomic.Int64
	srv := newServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			a.Add(1)
		} else {
			b.Add(1)
		}
	}))
	f := build(t, map[string]any{"url": []string{"a:3=" + srv.URL + "/a", "b=" + srv.URL + "/b"}})
	s := start(t, f, 3, opTimeout)
	for id := range 3 {
		w := bench.NewTestWorker(id, s)
		for range 101 { // not a whole number of cycles
			if err := op(f, w, opTimeout); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := float64(a.Load() + b.Load())
	if share := float64(a.Load()) / total; share < 0.73 || share > 0.77 {
		t.Errorf("a got %d of %v ops (%.3f), want 75%% ± 2%%", a.Load(), total, share)
	}
}

func TestTargetsFileOptions(t *testing.T) {
	var n atomic.Int64
	srv := newServer(t, false, everyTenth(&n))
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.txt")
	body := "GET " + srv.URL + "/login\n> name: login\n> weight: 2\n> check-json: ok == true\n\n" +
		"GET " + srv.URL + "/home\n> name: home\nAccept: text/html\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f := build(t, map[string]any{"targets": path})
	s := start(t, f, 1, opTimeout)
	w := bench.NewTestWorker(0, s)
	kinds := map[string]int{}
	for range 30 {
		kinds[kindOf(op(f, w, opTimeout))]++
	}
	// Order login home login: requests 10, 20, 30 are login, home, login
	// → two check_json on login; home has no check.
	if kinds["check_json"] != 2 {
		t.Errorf("kinds %v, want 2 check_json (login's own check)", kinds)
	}
	if got := counter(s, w, "checks{json}"); got != 20 {
		t.Errorf("checks{json} %d, want 20 (login's ops only)", got)
	}

	for _, c := range []struct{ file, want string }{
		{"> name: x\nGET http://127.0.0.1:1/\n", "targets.txt:1: option line"},
		{"GET http://127.0.0.1:1/\n> name: op\n", "targets.txt:2: name \"op\" is reserved"},
		{"GET http://127.0.0.1:1/\n> colour: red\n", "targets.txt:2: unknown option"},
		{"GET http://127.0.0.1:1/\n> check-status: 7xx\n", "targets.txt:2: bad check-status"},
		{"GET http://127.0.0.1:1/\n> weight: -1\n", "targets.txt:2: weight"},
		{"GET http://127.0.0.1:1/\n> name: a\n\nGET http://127.0.0.1:2/\n", "targets.txt:4: target has no name"},
	} {
		if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
			t.Fatal(err)
		}
		err := buildErr(map[string]any{"targets": path})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.file, err, c.want)
		}
	}
}

// A run through the engine reports each tag's latency under its label and
// its failures in errors{TAG}.
func TestTagsInResult(t *testing.T) {
	var n atomic.Int64
	srv := newServer(t, false, everyTenth(&n))
	def := Definition()
	raw := map[string]any{"url": []string{"login=" + srv.URL + "/login", "search=" + srv.URL + "/search"}, "check-json": []string{"ok == true"}}
	v, err := def.Resolve(raw)
	if err != nil {
		t.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Duration, set.Iterations, set.Concurrency, set.Warmup, set.Timeout = 0, 400, 1, 0, opTimeout
	res, err := bench.Run(context.Background(), bench.Scenario{Name: "api", Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return def.New(v) }})
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	if run.Latency["login"].Count != 200 || run.Latency["search"].Count != 200 || run.Latency["op"].Count != 400 {
		t.Errorf("latency counts login %d search %d op %d, want 200 200 400", run.Latency["login"].Count, run.Latency["search"].Count, run.Latency["op"].Count)
	}
	if run.ErrorsByKind["check_json"] != 40 || run.Errors != 40 || run.ErrorRate != 0.1 {
		t.Errorf("errors %d %v rate %v, want 40 check_json, rate 0.1", run.Errors, run.ErrorsByKind, run.ErrorRate)
	}
	if c := run.Counters; c["errors{login}"]+c["errors{search}"] != 40 || c["checks{json}"] != 400 || c["checks_failed{json}"] != 40 {
		t.Errorf("counters %v", c)
	}
}

// Checks read the response in place: judging a response allocates nothing,
// whether it passes or fails.
func TestChecksAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	f := build(t, map[string]any{"url": []string{"http://127.0.0.1:1/"}, "check-status": "2xx", "check-max-body-bytes": int64(1024),
		"check-body-contains": []string{`"ok"`}, "check-body-not-contains": []string{"error"}, "check-json": []string{"ok == true", "items.# == 3"}})
	s := start(t, f, 1, time.Second)
	w := bench.NewTestWorker(0, s)
	tg := &f.targets[0]
	pass, fail := []byte(`{"ok":true,"items":[1,2,3]}`), []byte(`{"ok":false,"items":[1,2,3]}`)
	if n := testing.AllocsPerRun(100, func() {
		if f.done(w, tg, 200, pass) != nil || f.done(w, tg, 200, fail) == nil {
			t.Fatal("check outcome")
		}
	}); n != 0 {
		t.Errorf("%v allocations judging two responses, want 0", n)
	}
}
