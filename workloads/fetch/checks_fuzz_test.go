package fetch

import (
	"strings"
	"testing"
)

// FuzzCheckSpecs: any check spec, tag or option line gives a one-line
// error or is accepted, and never panics; a password in a tagged URL never
// shows in an error.
func FuzzCheckSpecs(f *testing.F) {
	for _, s := range []string{"200", "2xx,404", "200-299", "299-200", "20x", "ok == true", "a.b != 3", "items.#(id==2).name",
		`x == "a == b"`, "== 1", "(", `"`, "login=http://127.0.0.1/", "a:3=https://h/", "op=http://h/", ":=http://h/",
		"name: login", "weight: 0", "check-json: ok ==", "check-max-body-bytes: -1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var o targetOpts
		_, statusErr := parseStatusSet(s)
		_, jsonErr := parseJSONSpec(s)
		_, _, urlErr := splitTaggedURL(s)
		for _, err := range []error{statusErr, jsonErr, urlErr, o.parseOption(s), checkURL(s)} {
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
		}
		if js, err := parseJSONSpec(s); err == nil {
			_ = js.holds([]byte(s))
		}
		for _, planted := range []string{"a=http://u:" + secretMark + "@h" + s, "a:2=https://u:" + secretMark + "@h/" + s} {
			if err := checkURL(planted); err != nil && strings.Contains(err.Error(), secretMark) {
				t.Fatalf("error for %q shows the password: %q", planted, err)
			}
			if r := redactTaggedURL(planted); strings.Contains(r, secretMark) {
				t.Fatalf("redacted %q shows the password: %q", planted, r)
			}
		}
	})
}
