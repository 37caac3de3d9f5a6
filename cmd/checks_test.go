package cmd

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// tenthFails serves 200 {"ok":true}, and 200 {"ok":false} to every tenth
// request: a fast success that only a response check catches.
func tenthFails(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			io.WriteString(w, `{"ok":false}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A JSON check catches the error bodies (kind check_json, error rate 10%),
// tags split latency and errors, and a threshold on check_rate gates the
// exit code.
func TestChecksGateExitCode(t *testing.T) {
	sandbox(t)
	srv := tenthFails(t)
	run := []string{"run", "fetch", "--url", "login=" + srv.URL + "/login", "--url", "search=" + srv.URL + "/search",
		"--check-json", "ok == true", "--max-error-rate", "50%", "-n", "200", "--warmup", "0s", "-c", "1"}

	if err := os.WriteFile(ConfigFileName, []byte("thresholds: [\"check_rate{json} > 99.9%\", \"error_rate{login} < 1%\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, append(run, "-o", "r.json")...)
	if code != ExitGate {
		t.Fatalf("check_rate 90%% under a 99.9%% threshold: exit %d, want 1\n%s%s", code, errOut, out)
	}
	if !strings.Contains(errOut, `threshold "check_rate{json} > 99.9%" failed (90`) {
		t.Errorf("stderr %q", errOut)
	}
	r, err := bench.ReadResult("r.json")
	if err != nil {
		t.Fatal(err)
	}
	sr := r.Scenarios[0]
	run0 := sr.Runs[0]
	if run0.ErrorsByKind["check_json"] != 20 || run0.ErrorRate != 0.1 {
		t.Errorf("errors %v rate %v, want 20 check_json, 10%%", run0.ErrorsByKind, run0.ErrorRate)
	}
	if run0.Latency["login"].Count != 100 || run0.Latency["search"].Count != 100 {
		t.Errorf("labels %v: want 100 ops each of login and search", sr.Labels)
	}
	// Round-robin on one worker: the server's tenth, twentieth... requests
	// are all search's.
	if th := sr.Thresholds; len(th) != 2 || th[0].Passed || !th[1].Passed {
		t.Errorf("thresholds %+v: want check_rate failed, error_rate{login} passed", th)
	}

	if err := os.WriteFile(ConfigFileName, []byte("thresholds: [\"check_rate{json} > 80%\", \"error_rate{search} < 25%\", \"check_rate{login:json} > 99.9%\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, append(run, "--no-save")...); code != ExitOK {
		t.Errorf("passing thresholds: exit %d\n%s%s", code, errOut, out)
	}

	// A threshold on a check the run does not make is refused before it runs.
	if err := os.WriteFile(ConfigFileName, []byte("thresholds: [\"check_rate{status} > 80%\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, append(run, "--no-save")...)
	if code != ExitUsage {
		t.Errorf("unknown check: exit %d, want 2", code)
	}
	oneErrorLine(t, errOut, `check "status": workload fetch runs no such check (checks: json, login:json, search:json)`)
}
