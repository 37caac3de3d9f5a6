package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench/ab"
)

// abQuick keeps each interleaved run short; eight runs a side leave room
// for an outlier run on a loaded machine while the U test still reaches
// significance after Holm's correction.
var abQuick = []string{"--count", "8", "-d", "150ms", "--warmup", "50ms", "-c", "2", "--seed", "7"}

func TestABFlagsARegression(t *testing.T) {
	sandbox(t)
	// B is 10x slower: a loaded machine adds scheduling delays of several
	// milliseconds to a run's latency (and swings its throughput 2x), which
	// hide a 30% step; it cannot lift A's 2ms to B's 20ms floor.
	code, out, errOut := cli(t, args([]string{"ab", "fetch", "--a-set", "server-latency=2ms", "--b-set", "server-latency=20ms"}, abQuick)...)
	if code != ExitGate {
		t.Fatalf("10x slower B: exit %d, want 1\n%s%s", code, errOut, out)
	}
	order := make([]string, 0, 16)
	for _, s := range ab.Order(8, 7) {
		order = append(order, string(s))
	}
	if !strings.Contains(errOut, "order "+strings.Join(order, " ")+" (seed 7: --seed 7 repeats it)") {
		t.Errorf("stderr does not print the order and seed:\n%s", errOut)
	}
	if !strings.Contains(out, "old: A: fetch server-latency=2ms") || !strings.Contains(out, "new: B: fetch server-latency=20ms") ||
		!strings.Contains(out, "regressed") || !strings.Contains(errOut, "fetch p50 +") {
		t.Errorf("the comparison does not name the sides and the regression:\n%s\n%s", out, errOut)
	}
	if strings.Count(errOut, "\nrun ") != 16 {
		t.Errorf("want a line per run:\n%s", errOut)
	}
}

func TestABSameConfigIsNotARegression(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, args([]string{"ab", "fetch", "--a-set", "server-latency=2ms", "--b-set", "server-latency=2ms", "--format", "json"}, abQuick)...)
	var doc struct {
		Counts map[string]int
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Counts["regressed"] != 0 {
		t.Fatalf("identical sides: exit %d, json: %v %+v\n%s%s", code, err, doc, errOut, out)
	}
	// On a machine other jobs load, a 150ms run may measure nothing: the gate
	// then refuses the invalid run (exit 1), rightly. What must never happen is
	// a regression found between identical sides.
	if code != ExitOK && (code != ExitGate || doc.Counts["invalid"] == 0) {
		t.Fatalf("identical sides: exit %d, want 0 (or 1 for invalid runs only)\n%s%s", code, errOut, out)
	}
}

func TestABBadInput(t *testing.T) {
	dir := sandbox(t)
	writeFile(t, dir+"/perfkit.yaml", "scenarios:\n  - name: api\n    workload: fetch\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"ab", "api", "nope"}, []string{`unknown scenario or workload "nope"`, "configured: api"}},
		{[]string{"ab", "nope"}, []string{`unknown scenario or workload "nope"`}},
		{[]string{"ab"}, []string{"expected A and B"}},
		{[]string{"ab", "fetch", "--a-set", "bogus=1"}, []string{"--a-set bogus: not a run setting or a param of fetch"}},
		{[]string{"ab", "fetch", "--b-set", "concurrency=many"}, []string{"--b-set concurrency"}},
		{[]string{"ab", "fetch", "--a-set", "noequals"}, []string{`--a-set "noequals": want PARAM=VALUE`}},
		{[]string{"ab", "fetch", "--count", "0"}, []string{"count 0"}},
	} {
		code, out, errOut := cli(t, tc.args...)
		if code != ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2", tc.args, code, out)
			continue
		}
		oneErrorLine(t, errOut, tc.want...)
	}
}
