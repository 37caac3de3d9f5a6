package bench

import (
	"net/url"
	"regexp"
	"strings"
)

// Redaction shared by everything perfkit writes or prints. A workload's
// Param.Redact hides the secrets of a value it knows the shape of (a URL, a
// header); RedactURL and RedactText are what those fall back to, and what
// labels, warnings and error messages that quote user input go through.
// What counts as a secret (docs/design.md, "Secrets"):
//   - the password of a URL's userinfo (user:xxxxx@, as url.URL.Redacted);
//   - the value of a query (or fragment) parameter whose name SecretName
//     accepts (token, key, password, secret, signature, auth, session…);
//   - the value of a header whose name SecretName accepts (Authorization,
//     Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token…).

// Redacted replaces a secret value.
const Redacted = "REDACTED"

// secretWords are parts of a header or query parameter name that say its
// value is a credential.
var secretWords = [...]string{"auth", "token", "secret", "cookie", "passw", "session", "signature", "credential"}

// keyWord matches "key" as a name's last word or followed by a separator
// (key, api_key, X-Api-Key, apikey, key_id), not "keys" or "keyspace": a
// count of cache keys is no secret.
const keyWord = `key(?:[-_][A-Za-z0-9_-]*)?`

var reKeyName = regexp.MustCompile(`(?i)` + keyWord + `$`)

// secretNames are whole names that are credentials but hold none of
// secretWords (AWS-style sig=, pwd=, pass=, jwt=).
var secretNames = [...]string{"sig", "pwd", "pass", "jwt"}

// SecretName reports whether a header or query parameter name looks like it
// carries a credential.
func SecretName(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	for _, w := range secretNames {
		if n == w {
			return true
		}
	}
	return reKeyName.MatchString(n)
}

// RedactURL hides a URL's password ("user:xxxxx@", as url.URL.Redacted) and
// the values of secret query parameters. Anything that does not parse as a
// URL with a host (no scheme, a typo) goes through RedactText, so an error
// quoting a bad URL never shows its password.
func RedactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Opaque != "" || u.Host == "" {
		return RedactText(s)
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			if SecretName(k) {
				for i := range q[k] {
					q[k][i] = Redacted
				}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if u.Fragment != "" {
		u.Fragment = redactQueryText("#" + u.Fragment)[1:]
		u.RawFragment = ""
	}
	return u.Redacted()
}

var (
	// scheme://user:PASSWORD@ (the password may be empty-user: redis://:PW@)
	reURLPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:"'` + "`" + `]*:)[^\s/?#@"'` + "`" + `]*@`)
	// scheme://SECRET@ alone is redacted too: a lone userinfo is often a
	// token (https://TOKEN@host, redis://PASSWORD@host).
	reURLUser = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@:"'` + "`" + `]+@`)
	// user:PASSWORD@host without a scheme (a URL missing its http://).
	reBarePassword = regexp.MustCompile(`(^|[\s"'=(<\[/` + "`" + `])([^\s/?#@:"'=` + "`" + `]*:)[^\s/?#@"'` + "`" + `]+@([A-Za-z0-9\[])`)
	// ?name=VALUE, &name=VALUE, #name=VALUE, ;name=VALUE
	reQueryPair = regexp.MustCompile(`([?&#;])([^=&\s?#;"'` + "`" + `]+)=([^&\s#;"'` + "`" + `]*)`)
	// Name: VALUE (a header) where Name is a secret name (secretWords,
	// secretNames: only those may match, so a match on another name never
	// swallows a secret one after it), the value an optional scheme word then
	// one word, or cookie pairs "a=1; b=2".
	reHeader = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_-])([A-Za-z0-9_-]*(?:` + strings.Join(secretWords[:], "|") + `)[A-Za-z0-9_-]*|[A-Za-z0-9_-]*` + keyWord + `|` + strings.Join(secretNames[:], "|") + `)` +
		`([ \t]*:[ \t]*)((?:(?:bearer|basic|token|digest|negotiate|bot)\s+)?[^\s"'` + "`" + `;\])}>]+(?:;\s*[^\s"'` + "`" + `;=\])}>]+=[^\s"'` + "`" + `;\])}>]*)*)`)
)

// RedactText hides the secrets it can recognise in free text: a label, a
// warning, an error message quoting user input. It is the last line of
// defence; values whose shape is known go through their Param.Redact
// first.
func RedactText(s string) string {
	if s == "" {
		return s
	}
	s = reURLPassword.ReplaceAllString(s, "${1}xxxxx@")
	s = reURLUser.ReplaceAllString(s, "${1}xxxxx@")
	s = reBarePassword.ReplaceAllString(s, "${1}${2}xxxxx@${3}")
	s = redactQueryText(s)
	s = reHeader.ReplaceAllStringFunc(s, func(m string) string {
		sub := reHeader.FindStringSubmatch(m)
		if !SecretName(sub[2]) || strings.HasPrefix(sub[4], "//") {
			return m // not a credential, or scheme://: a URL, not a header
		}
		return sub[1] + sub[2] + sub[3] + Redacted
	})
	return s
}

// redactQueryText hides the values of secret name=value pairs that follow
// ?, &, # or ;.
func redactQueryText(s string) string {
	return reQueryPair.ReplaceAllStringFunc(s, func(m string) string {
		sub := reQueryPair.FindStringSubmatch(m)
		if !SecretName(sub[2]) || sub[3] == "" || sub[3] == Redacted {
			return m
		}
		return sub[1] + sub[2] + "=" + Redacted
	})
}
