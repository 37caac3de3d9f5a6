package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadConfig: any config file loads or fails in one line.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{precedenceConfig,
		"scenarios:\n  - {name: it, workload: fetch, iterations: 1000}\n  - {name: du, workload: fetch, duration: 3s}\n",
		"concurrency: -1\n", "scenarios: 3\n", "scenarios:\n  - name: x\n", "params: [1, 2]\n", "unknown: 1\n",
		"scenarios:\n  - {name: a, workload: nope}\n", "duration: ${NOPE}\n", "\t:", "{", "", "- a\n- b\n", "!!binary x\n",
		"a: &a [*a]\n", "scenarios:\n  - {name: a, workload: agents, params: {cmd: ls}}\n"} {
		f.Add(s)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "perfkit.yaml")
	reg := registry(builtinWorkloads())
	f.Fuzz(func(t *testing.T, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadConfig(path, reg); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q: %q", s, err)
		}
	})
}

// FuzzParseSweep: a sweep spec parses or fails in one line; what parses
// reads back from param=v1,v2 to the same sweep.
func FuzzParseSweep(f *testing.F) {
	for _, s := range []string{"concurrency=1,2,4", "rate=100,200", "payload-bytes=1, 2 ,3", "c=", "=1", "x", "a=1,,2", "a==1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sw, err := parseSweep(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		again := sw.param + "=" + strings.Join(sw.values, ",")
		back, err := parseSweep(again)
		if err != nil {
			t.Fatalf("parseSweep(%q) accepted, but %q does not read back: %v", s, again, err)
		}
		if back.param != sw.param || !slices.Equal(back.values, sw.values) {
			t.Fatalf("round trip of %q: %+v then %+v", s, sw, back)
		}
	})
}

// FuzzShardSpec: --shard and --shards resolve or fail in one line, and an
// accepted shard reads back from its String.
func FuzzShardSpec(f *testing.F) {
	for _, s := range [][2]string{{"0/4", ""}, {"3/4", "4"}, {"4/4", ""}, {"-1/4", ""}, {"0/0", ""}, {"1/2", "3"}, {"", "0"},
		{"a/b", ""}, {"0/99999999999999999999", ""}, {"0/4/5", ""}, {" 1 / 2 ", ""}} {
		f.Add(s[0], s[1])
	}
	dir := f.TempDir()
	f.Chdir(dir)
	f.Setenv("JOB_COMPLETION_INDEX", "")
	f.Fuzz(func(t *testing.T, shard, shards string) {
		args := []string{"fetch", "-n", "10"}
		if shard != "" {
			args = append(args, "--shard", shard)
		}
		if shards != "" {
			args = append(args, "--shards", shards)
		}
		o, err := resolveRun(t, nil, args...)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q %q: %q", shard, shards, err)
			}
			return
		}
		if sh := o.Scenarios[0].Settings.Shard; sh != nil && shard != "" {
			if _, err := resolveRun(t, nil, "fetch", "-n", "10", "--shard", sh.String()); err != nil {
				t.Fatalf("--shard %q accepted, but its String %q is refused: %v", shard, sh.String(), err)
			}
		}
	})
}
