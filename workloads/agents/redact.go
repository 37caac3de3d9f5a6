package agents

import "regexp"

// Redaction: a command line can carry credentials (curl -u user:pass, an
// Authorization header, a password in a URL, --token X). Results, notes and
// error messages show it with those masked; the agents run it as given.
// Short flags (redis-cli -a PASS) are ambiguous and left alone: pass such
// secrets through the environment instead.

const redacted = "REDACTED"

// secretWords are parts of a name that say its value is a credential.
const secretWords = `auth|token|secret|key|cookie|passw|session|signature|credential`

// redactCommand masks the credentials in a command line.
func redactCommand(line string) string {
	if line == "" {
		return line
	}
	rules := []struct {
		re   string
		repl string
	}{
		// scheme://user:PASSWORD@host
		{`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:@/'"]*:)[^\s@/'"]+@`, "${1}xxxxx@"},
		// curl -u user:PASSWORD, --user user:PASSWORD
		{`((?:^|\s)(?:-u|--user|--proxy-user)\s*['"]?[^\s:'"]*:)[^\s'"]+`, "${1}xxxxx"},
		// Name: VALUE, name=VALUE (headers, query strings, --flag=value)
		{`(?i)([\w.-]*(?:` + secretWords + `)[\w.-]*)(\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?[^\s'"&;]+`, "${1}${2}" + redacted},
		// --password VALUE
		{`(?i)((?:^|\s)--?[\w-]*(?:` + secretWords + `)[\w-]*\s+)['"]?[^\s'"-][^\s'"]*['"]?`, "${1}" + redacted},
	}
	for _, r := range rules {
		line = regexp.MustCompile(r.re).ReplaceAllString(line, r.repl)
	}
	return line
}
