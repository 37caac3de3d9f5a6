package fetch

import (
	"math/rand/v2"
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

// FuzzTemplate: any template text gives a template or a one-line error,
// and a template without rows fills without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/u/{{seq}}", "{{randInt 1 9}}{{uuid}}", `{{choice a "b c"}}`, "{{row.id}}", "{{", "}}{{}}",
		`{{"{{"}}`, "{{randInt 9 1}}", "{{randInt -9223372036854775808 9223372036854775807}}", `{{choice "x}}`, "a{{seq}}b{{nope}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, esc := range []bool{false, true} {
			tp, err := parseTemplate(s, paramPos("body", 1), esc)
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("multi-line error for %q: %q", s, err)
				}
				continue
			}
			if tp.uses(segRow) {
				if err := tp.bind(nil); err == nil {
					t.Fatalf("%q: row without data bound", s)
				}
				continue
			}
			var rng rand.PCG
			r := renderer{seq: 7, rng: &rng}
			_ = r.appendTo(nil, tp)
		}
	})
}

// FuzzReadData: any data file gives a table or a one-line error that
// never quotes a value (data files may hold credentials).
func FuzzReadData(f *testing.F) {
	for _, s := range []string{"id,name\n1,a\n2,b\n", "id\n", "", "id,name\n1\n", "\"a\nb\",c\n1,2\n", "\ufeffid\n1\n",
		`{"id":1,"name":"a"}` + "\n" + `{"id":2}` + "\n", `{"id":`, "[1,2]\n", "null\n", "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		planted := s + "\n" + secretMark + "\n"
		for _, read := range []func(string) (*table, error){
			func(in string) (*table, error) {
				return readCSV(strings.NewReader(in), "d.csv", []string{"id", "name"})
			},
			func(in string) (*table, error) {
				return readNDJSON(strings.NewReader(in), "d.ndjson", []string{"id", "name"})
			},
		} {
			if _, err := read(planted); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q quotes a value: %q", planted, err)
			}
			d, err := read(s)
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("multi-line error for %q: %q", s, err)
				}
				continue
			}
			for r := 0; r < d.rows; r++ {
				for c := range d.cols {
					_ = d.value(r, c)
				}
			}
		}
	})
}
