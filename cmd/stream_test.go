package cmd

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/report/stream"
)

func tickDefs() []bench.Definition {
	return []bench.Definition{{Name: "tick", Help: "ticks", New: func(bench.Values) (bench.Workload, error) {
		return &fakeWorkload{}, nil
	}}}
}

// TestRunStream: --stream FILE writes one JSON line per interval, the
// intervals the result file records; --stream - gives stdout to the lines
// alone and the report goes to stderr.
func TestRunStream(t *testing.T) {
	sandbox(t)
	adjust := func(f *Factory) { f.Workloads = tickDefs() }
	code, _, errOut := cliWith(t, context.Background(), adjust, "run", "tick", "-d", "300ms", "--interval", "100ms", "--warmup", "0s", "-c", "1", "--count", "2", "-o", "r.json", "--stream", "s.ndjson")
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("s.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []stream.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r stream.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	var want []stream.Record
	for _, run := range res.Scenarios[0].Runs {
		for _, iv := range run.Intervals {
			want = append(want, stream.Record{Scenario: "tick", Run: run.Index, IntervalSummary: iv})
		}
	}
	if len(recs) != len(want) || len(want) < 2 {
		t.Fatalf("streamed %d lines, the result has %d intervals", len(recs), len(want))
	}
	for i := range want {
		if recs[i].Scenario != want[i].Scenario || recs[i].Run != want[i].Run || recs[i].IntervalSummary != want[i].IntervalSummary {
			t.Errorf("line %d: %+v, want %+v", i+1, recs[i], want[i])
		}
	}

	code, out, errOut := cliWith(t, context.Background(), adjust, "run", "tick", "-d", "200ms", "--interval", "100ms", "--warmup", "0s", "-c", "1", "--no-save", "--stream", "-")
	if !measuredOK(code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("stdout %q: want a line per interval", out)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("stdout line %q is not JSON", l)
		}
	}
	if !strings.Contains(errOut, "SCENARIO") {
		t.Errorf("the report is not on stderr: %s", errOut)
	}
}

func TestRunStreamBadPath(t *testing.T) {
	sandbox(t)
	code, _, errOut := cliWith(t, context.Background(), func(f *Factory) { f.Workloads = tickDefs() }, "run", "tick", "-n", "10", "--stream", "nodir/s.ndjson")
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	oneErrorLine(t, errOut, "--stream: output nodir/s.ndjson: directory nodir does not exist")
}

// TestCompareJUnitAndCSV: --format junit and csv through the command, the
// exit code unchanged (1 on the regression).
func TestCompareJUnitAndCSV(t *testing.T) {
	sandbox(t)
	old := writeResult(t, "old.json", synthResult(10, 1, synthEnv))
	slow := writeResult(t, "slow.json", synthResult(10, 1.3, synthEnv))
	code, out, errOut := cli(t, "compare", old, slow, "--format", "junit")
	if code != ExitGate {
		t.Fatalf("junit: exit %d, want 1: %s", code, errOut)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil || doc.Tests != 6 || doc.Failures != 5 {
		t.Errorf("junit: %v %+v\n%s", err, doc, out)
	}
	code, out, _ = cli(t, "compare", old, slow, "--format", "junit", "--fail-on", "never")
	if err := xml.Unmarshal([]byte(out), &doc); err != nil || code != ExitOK || doc.Failures != 0 {
		t.Errorf("junit --fail-on never: exit %d, %v %+v", code, err, doc)
	}
	code, out, _ = cli(t, "compare", old, slow, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != ExitGate || len(rows) != 7 || rows[0][0] != "scenario" {
		t.Errorf("csv: exit %d, %v\n%s", code, err, out)
	}
	if code, _, errOut := cli(t, "run", "--format", "junit", "-n", "1"); code != ExitUsage || !strings.Contains(errOut, `format "junit": accepted: table, json, markdown, csv`) {
		t.Errorf("run --format junit: exit %d, %s", code, errOut)
	}
}

// TestCompareFilter: --filter through the command, on Go benchmark input
// and on a baseline; a bad query is a usage error before anything is read.
func TestCompareFilter(t *testing.T) {
	sandbox(t)
	gob := "pkg: x\nBenchmarkEncode/size=1k-2 10 100 ns/op\nBenchmarkEncode/size=1M-2 10 9000 ns/op\nBenchmarkDecode-2 10 50 ns/op\n"
	var six strings.Builder
	for range 6 {
		six.WriteString(gob)
	}
	writeFile(t, "old.txt", six.String())
	writeFile(t, "new.txt", six.String())
	code, out, errOut := cli(t, "compare", "old.txt", "new.txt", "--filter", ".name:Encode", "--all")
	if code != ExitOK || strings.Contains(out, "Decode") || !strings.Contains(out, "Encode/size=1M") || !strings.Contains(out, "geomean") {
		t.Errorf("--filter .name:Encode: exit %d %s\n%s", code, errOut, out)
	}
	code, _, errOut = cli(t, "compare", "old.txt", "new.txt", "--filter", ".name:(Encode")
	if code != ExitUsage {
		t.Errorf("bad filter: exit %d", code)
	}
	oneErrorLine(t, errOut, `--filter ".name:(Encode"`)
	code, _, errOut = cli(t, "compare", "old.txt", "new.txt", "--filter", ".name:Nope")
	if code != ExitUsage || !strings.Contains(errOut, `no benchmark matches --filter ".name:Nope"`) {
		t.Errorf("no match: exit %d %s", code, errOut)
	}

	old := writeResult(t, "old.json", synthResult(10, 1, synthEnv))
	if code, _, errOut := cli(t, "baseline", "save", "main", "--from", old); code != ExitOK {
		t.Fatalf("save: %s", errOut)
	}
	slow := writeResult(t, "slow.json", synthResult(10, 1.3, synthEnv))
	code, out, _ = cli(t, "compare", "--baseline", "main", slow, "--filter", ".unit:p99", "--format", "csv")
	if code != ExitGate || strings.Count(out, "\n") != 2 || !strings.Contains(out, "api,p99,") {
		t.Errorf("baseline --filter .unit:p99: exit %d\n%s", code, out)
	}
}

// TestRunPushRemoteWrite: --push-remote-write sends the intervals to a
// receiver while the run goes; a dead endpoint leaves the run's outcome
// as it was (exit code, result), with one warning while it runs and the
// count at the end; a bad URL is refused before anything runs.
func TestRunPushRemoteWrite(t *testing.T) {
	sandbox(t)
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Encoding") == "snappy" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-protobuf") {
			posts.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	adjust := func(f *Factory) { f.Workloads = tickDefs() }
	args := []string{"run", "tick", "-d", "300ms", "--interval", "100ms", "--warmup", "0s", "-c", "1", "-o", "r.json"}
	code, _, errOut := cliWith(t, context.Background(), adjust, append(args, "--push-remote-write", srv.URL+"/api/v1/write")...)
	if !measuredOK(code, errOut) || strings.Contains(errOut, "push") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(len(res.Scenarios[0].Runs[0].Intervals)); posts.Load() != n {
		t.Errorf("%d pushes for %d intervals", posts.Load(), n)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/api/v1/write"
	ln.Close()
	code2, _, errOut := cliWith(t, context.Background(), adjust, append(args, "--push-remote-write", dead)...)
	if code2 != code {
		t.Errorf("dead endpoint: exit %d, without push %d: %s", code2, code, errOut)
	}
	if strings.Count(errOut, "the run goes on") != 1 || !strings.Contains(errOut, "interval batches not delivered") {
		t.Errorf("dead endpoint: want one warning during the run and the count at the end:\n%s", errOut)
	}
	if _, err := bench.ReadResult("r.json"); err != nil {
		t.Errorf("dead endpoint: no result: %v", err)
	}

	code, _, errOut = cliWith(t, context.Background(), adjust, "run", "tick", "-n", "5", "--push-remote-write", "localhost:9090")
	if code != ExitUsage {
		t.Fatalf("bad URL: exit %d: %s", code, errOut)
	}
	oneErrorLine(t, errOut, `--push-remote-write: URL "localhost:9090": accepted: an http:// or https:// URL`)
}
