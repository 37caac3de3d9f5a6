package bench

import (
	"strings"
	"testing"
	"unicode"
)

func TestRedactText(t *testing.T) {
	const s = "SEKRET"
	for _, tc := range []struct{ in, want string }{
		{"http://u:SEKRET@h:1/p", "http://u:xxxxx@h:1/p"},
		{"redis://:SEKRET@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"https://SEKRET@host/", "https://xxxxx@host/"},
		{`bad url "u:SEKRET@127.0.0.1:1/": want`, `bad url "u:xxxxx@127.0.0.1:1/": want`},
		{"redis//:SEKRET@127.0.0.1:1/0", "redis//:xxxxx@127.0.0.1:1/0"},
		{"127.0.0.1:1/?token=SEKRET&n=2", "127.0.0.1:1/?token=REDACTED&n=2"},
		{"http://h/?a=1&api_key=SEKRET#access_token=SEKRET", "http://h/?a=1&api_key=REDACTED#access_token=REDACTED"},
		{"http://h/?X-Amz-Signature=SEKRET&sig=SEKRET", "http://h/?X-Amz-Signature=REDACTED&sig=REDACTED"},
		{"header=Authorization: Bearer SEKRET url=http://h/", "header=Authorization: REDACTED url=http://h/"},
		{`bad header "X-Api-Key: SEKRET": want`, `bad header "X-Api-Key: REDACTED": want`},
		{"Cookie: a=SEKRET; b=SEKRET", "Cookie: REDACTED"},
		{"Proxy-Authorization:Basic SEKRET", "Proxy-Authorization:REDACTED"},
		{"param header: map[Authorization:Bearer SEKRET] is not", "param header: map[Authorization:REDACTED] is not"},
		{"c.yaml:4: header: x-auth-token: SEKRET", "c.yaml:4: header: x-auth-token: REDACTED"},
		// Not secrets: left as they are.
		{"p99: 12ms, url: http://h:8080/x?n=1", "p99: 12ms, url: http://h:8080/x?n=1"},
		{"A: fetch concurrency=16 keys=1000", "A: fetch concurrency=16 keys=1000"},
		{"at 12:30:01 user@example.com", "at 12:30:01 user@example.com"},
		{"unlink 5 keys: dial tcp: refused", "unlink 5 keys: dial tcp: refused"},
		{"unknown-key.yaml:4: scenario api", "unknown-key.yaml:4: scenario api"},
		{"http://h/?keys=100&keyspace=x", "http://h/?keys=100&keyspace=x"},
	} {
		got := RedactText(tc.in)
		if got != tc.want {
			t.Errorf("RedactText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, s) {
			t.Errorf("RedactText(%q) leaks: %q", tc.in, got)
		}
		if again := RedactText(got); again != got {
			t.Errorf("RedactText is not idempotent on %q: %q", got, again)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://u:SEKRET@h/?token=SEKRET&n=1", "http://u:xxxxx@h/?n=1&token=REDACTED"},
		{"http://h/", "http://h/"},
		{"u:SEKRET@127.0.0.1:1/", "u:xxxxx@127.0.0.1:1/"},
		{"127.0.0.1:1/?password=SEKRET", "127.0.0.1:1/?password=REDACTED"},
		{"http://h/#id_token=SEKRET", "http://h/#id_token=REDACTED"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSecretName(t *testing.T) {
	for _, n := range []string{"Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "access_token", "password", "PWD", "sig", "X-Amz-Credential", "session_id", "key", "api_key", "apikey", "key_id", "X-Goog-Api-Key"} {
		if !SecretName(n) {
			t.Errorf("SecretName(%q) = false", n)
		}
	}
	for _, n := range []string{"Content-Type", "Accept", "id", "page", "url", "signal", "keys", "keyspace"} {
		if SecretName(n) {
			t.Errorf("SecretName(%q) = true", n)
		}
	}
}

func FuzzRedactText(f *testing.F) {
	f.Add("http://u:p@h/?token=t")
	f.Add("Authorization: Bearer x")
	f.Fuzz(func(t *testing.T, s string) {
		got := RedactText(s)
		if again := RedactText(got); again != got {
			t.Errorf("not idempotent: %q → %q → %q", s, got, again)
		}
	})
}

// FuzzRedactHidesSecrets: whatever a password, token or header value is
// made of, it does not survive RedactURL or RedactText in the places they
// recognise.
func FuzzRedactHidesSecrets(f *testing.F) {
	f.Add("hunter2!x")
	f.Add("p%zzass")
	f.Add("a:b:c")
	f.Fuzz(func(t *testing.T, secret string) {
		// A secret must be findable: long enough, and made of what a
		// userinfo, query value or header word can hold unescaped.
		if len(secret) < 6 || strings.ContainsAny(secret, "/?#@&;=:% \t\r\n\"'`[]()<>{},\\") || strings.Contains(strings.ToLower(secret), "xxxxx") ||
			strings.IndexFunc(secret, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
			return
		}
		for _, in := range []string{
			"http://u:" + secret + "@h:1/p",
			"u:" + secret + "@127.0.0.1:1/",
			"http://h/?token=" + secret,
			"127.0.0.1:1/?api_key=" + secret + "&n=1",
		} {
			if got := RedactURL(in); strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q", in, got)
			}
			if got := RedactText("bad url " + in + ": want"); strings.Contains(got, secret) {
				t.Errorf("RedactText(%q) = %q", in, got)
			}
		}
		for _, in := range []string{"Authorization: Bearer " + secret, "X-Api-Key: " + secret, "Cookie: a=" + secret} {
			if got := RedactText(`bad header "` + in + `"`); strings.Contains(got, secret) {
				t.Errorf("RedactText(%q) = %q", in, got)
			}
		}
	})
}
