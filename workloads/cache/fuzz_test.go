package cache

import (
	"strings"
	"testing"
)

// secretMark is a password the fuzz targets plant in URLs.
const secretMark = "S3cr3tMark"

// FuzzRedisURL: any redis URL is accepted or refused in one line.
func FuzzRedisURL(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379/0", "rediss://u:pw@h:6380/1", "unix:///tmp/redis.sock", "redis://h:0",
		"redis://h:99999", "redis://", "http://h", "redis://h/abc", "redis://h:6379/?dial_timeout=x", "%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A password planted before whatever the fuzzer wrote never shows.
		for _, planted := range []string{"redis://u:" + secretMark + "@" + s, "rediss://:" + secretMark + "@" + s} {
			if err := checkRedisURL(planted); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q shows the password: %q", planted, err)
			}
			if strings.Contains(RedactURL(planted), secretMark) {
				t.Fatalf("RedactURL(%q) shows the password", planted)
			}
		}
		if err := checkRedisURL(s); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q: %q", s, err)
		}
		_ = RedactURL(s)
	})
}

// FuzzParseKeyDist: a key distribution or a one-line error; an accepted one
// reads back from its String.
func FuzzParseKeyDist(f *testing.F) {
	for _, s := range []string{"uniform", "zipf", "zipf:1.1", "zipf:0.5", "hotset:0.1:0.9", "zipf:NaN", "zipf:", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseKeyDist(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		back, err := ParseKeyDist(d.String())
		if err != nil {
			t.Fatalf("ParseKeyDist(%q) accepted, but its String %q does not read back: %v", s, d.String(), err)
		}
		if back.String() != d.String() {
			t.Fatalf("round trip of %q: %q then %q", s, d.String(), back.String())
		}
	})
}
