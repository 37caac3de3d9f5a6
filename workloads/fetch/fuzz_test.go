package fetch

import (
	"strings"
	"testing"
)

// secretMark is a password the fuzz targets plant in URLs.
const secretMark = "S3cr3tMark"

// FuzzParseTargets: any targets file gives targets or a one-line error.
func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		"GET http://127.0.0.1:8080/a\n\nPOST http://127.0.0.1:8080/b\nX-N: 1\n@body.json\n\n",
		"http://127.0.0.1/x\n",
		"GET http://u:secret@host:80/\nAuthorization: Bearer tok\n",
		"GET\n", "GET host/x\n", "FOO http://h/\n", "GET http://h:0/\n", "GET http://h:99999/\n",
		"GET http://h/\nbad header\n", "GET http://h/\n@\n", "\n\n\n", "",
		"GET http://h/\n" + strings.Repeat("X: y\n", 3),
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		// A password planted in the first request line never shows in an error.
		for _, planted := range []string{"GET http://u:" + secretMark + "@h" + s, "u:" + secretMark + "@h" + s} {
			if _, err := parseTargets(strings.NewReader(planted), "targets.txt", dir); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q shows the password: %q", planted, err)
			}
		}
		ts, err := parseTargets(strings.NewReader(s), "targets.txt", dir)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		_ = ts
	})
}

// FuzzParseURL: a URL or header value gives a one-line error or is accepted.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/x", "https://u:p@h/", "h:80", "http://h:0/", "http://h:65536/",
		"http://[::1]:80/", "ftp://h/", "://", "http://%zz", "Authorization: Bearer x", "X-A:", ": v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, planted := range []string{"http://u:" + secretMark + "@h" + s, "u:" + secretMark + "@h" + s} {
			if err := checkURL(planted); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q shows the password: %q", planted, err)
			}
		}
		for _, err := range []error{checkURL(s), checkHeader(s), checkMethod(s)} {
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
		}
	})
}
