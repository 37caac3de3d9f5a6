package pool

import (
	"strings"
	"testing"
)

// secretMark is a password the fuzz targets plant in URLs.
const secretMark = "S3cr3tMark"

// FuzzParseTarget: any target gives a target or a one-line error, and an
// error never shows the password the target carried.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379", "redis://:pw@127.0.0.1:6379/0", "tcp://127.0.0.1:9", "echo://",
		"redis://h:0", "redis://h:70000", "127.0.0.1:6379", "user:pw@host", "redis://%zz", "unix:///tmp/x", "://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A password planted before whatever the fuzzer wrote never shows.
		for _, planted := range []string{"redis://u:" + secretMark + "@" + s, "redis://:" + secretMark + "@" + s, "u:" + secretMark + "@" + s} {
			if _, err := parseTarget(planted); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q shows the password: %q", planted, err)
			}
		}
		_, err := parseTarget(s)
		if err == nil {
			return
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q: %q", s, err)
		}
		if _, err := ParsePolicy(s); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line policy error for %q: %q", s, err)
		}
	})
}

// Credentials written before the scheme (u:PW@redis://host) are hidden like
// those of a target without one.
func TestRedactTargetCredentialsBeforeScheme(t *testing.T) {
	for _, s := range []string{"u:" + secretMark + "@://", "admin:" + secretMark + "@redis://127.0.0.1:6379", secretMark + "@tcp://h:1"} {
		if got := redactTarget(s); strings.Contains(got, secretMark) {
			t.Errorf("redactTarget(%q) = %q: shows the password", s, got)
		}
		if _, err := parseTarget(s); err == nil || strings.Contains(err.Error(), secretMark) {
			t.Errorf("parseTarget(%q) = %v: want an error without the password", s, err)
		}
	}
}
