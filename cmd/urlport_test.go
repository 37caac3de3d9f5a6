package cmd

import (
	"os"
	"strings"
	"testing"
)

// A URL with port 0 or above 65535 is an input error (exit 2, naming the
// port) before anything runs, wherever the URL comes from; it used to be a
// failed run (exit 3).
func TestURLPortOutOfRange(t *testing.T) {
	sandbox(t)
	os.WriteFile("targets.txt", []byte("GET http://127.0.0.1:8080/ok\nGET http://127.0.0.1:80000/bad\n"), 0o644)
	os.WriteFile("hook.yaml", []byte("notify:\n  - type: webhook\n    url: http://127.0.0.1:0/hook\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "fetch", "--url", "http://127.0.0.1:0/"}, []string{`"http://127.0.0.1:0/"`, "port 0 is not a port number from 1 to 65535"}},
		{[]string{"run", "fetch", "--url", "https://user:s3cret@127.0.0.1:65536/"}, []string{"port 65536"}},
		{[]string{"run", "fetch", "--targets", "targets.txt"}, []string{"targets.txt:2", "port 80000"}},
		{[]string{"run", "cache", "--redis", "redis://127.0.0.1:70000/0"}, []string{`"redis://127.0.0.1:70000/0"`, "port 70000"}},
		{[]string{"run", "pool", "--target", "tcp://127.0.0.1:0"}, []string{`"tcp://127.0.0.1:0"`, "port 0"}},
		{[]string{"run", "pool", "--target", "redis://127.0.0.1:99999"}, []string{"port 99999"}},
		{[]string{"run", "fetch", "--profile", "cpu", "--pprof-url", "http://127.0.0.1:99999/debug/pprof"}, []string{"pprof-url", "port 99999"}},
		{[]string{"run", "fetch", "--config", "hook.yaml"}, []string{"webhook url", "port 0"}},
	} {
		args := append(tc.args, "-d", "100ms", "--warmup", "0s", "--no-save")
		code, _, errOut := cli(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", tc.args, code, errOut)
			continue
		}
		oneErrorLine(t, errOut, tc.want...)
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%v: password printed: %s", tc.args, errOut)
		}
	}
}
