package fetch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// A targets file lists requests the way vegeta's http format does:
//
//	# comment
//	GET http://127.0.0.1:8080/users?id=1
//	Authorization: Bearer abc
//
//	POST http://127.0.0.1:8080/users
//	Content-Type: application/json
//	@body.json
//
// A target is a "METHOD URL" line, then its "Name: value" headers and at most
// one "@FILE" body line (relative paths are relative to the targets file). A
// blank line, or the next "METHOD URL" line, ends a target. Lines starting
// with ">" are perfkit's own options of the target: its name, weight and
// response checks (see tags.go).

// syntaxError is a targets file error positioned at a line.
type syntaxError struct {
	file string
	line int
	err  error
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err) }
func (e *syntaxError) Unwrap() error { return e.err }

// maxTargetsLine bounds one line of a targets file (a long URL).
const maxTargetsLine = 1 << 20

// Bounds of a targets file, read whole before the run: its targets and
// the sum of their bodies (each body at most maxBodyBytes).
const (
	maxTargets     = 1_000_000
	maxBodiesBytes = 1 << 30
)

func readTargetsFile(path string) ([]target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("targets file: %w", err)
	}
	defer f.Close()
	return parseTargets(f, path, filepath.Dir(path))
}

// parseTargets reads targets from r; name is the file's name in errors and
// dir the directory relative body paths are read from.
func parseTargets(r io.Reader, name, dir string) ([]target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTargetsLine)
	var (
		ts     []target
		cur    *target // the target being read; nil after a blank line
		line   int
		bodies int // bytes of the bodies read so far
	)
	bad := func(err error) error { return &syntaxError{file: name, line: line, err: err} }
	for sc.Scan() {
		line++
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff") // a byte order mark
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			cur = nil
			continue
		case strings.HasPrefix(s, "#"):
			continue
		}
		if opt, ok := strings.CutPrefix(s, ">"); ok {
			if cur == nil {
				return nil, bad(fmt.Errorf("option line %q before a request line: options follow their target's \"METHOD URL\"", s))
			}
			if err := cur.opts.parseOption(opt); err != nil {
				return nil, bad(err)
			}
			continue
		}
		if cur == nil || looksLikeRequestLine(s) {
			t, err := parseRequestLine(s, linePos(name, line, ""))
			if err != nil {
				return nil, bad(err)
			}
			if len(ts) == maxTargets {
				return nil, bad(fmt.Errorf("more than %d targets, the most a targets file may have (all are held in memory)", maxTargets))
			}
			t.opts.line = line
			ts = append(ts, t)
			cur = &ts[len(ts)-1]
			continue
		}
		if p, ok := strings.CutPrefix(s, "@"); ok {
			if cur.body != nil {
				return nil, bad(fmt.Errorf("second body line %q: a target has at most one @FILE", s))
			}
			if p == "" {
				return nil, bad(errors.New(`bad body line "@": want @FILE`))
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := readBodyFile(p)
			if err != nil {
				return nil, bad(fmt.Errorf("body: %w", err))
			}
			if bodies += len(b); bodies > maxBodiesBytes {
				return nil, bad(fmt.Errorf("bodies add up to more than %s, the most a targets file's bodies may be (they are held in memory)", bench.FormatBytes(maxBodiesBytes)))
			}
			cur.body = b
			if cur.bodyTpl, err = compileText(string(b), linePos(p, 1, string(b))); err != nil {
				return nil, err
			}
			continue
		}
		h, err := parseHeader(s)
		if err == nil {
			h.tpl, err = compileText(h.value, linePos(name, line, ""))
		}
		if err != nil {
			var te *templateError
			if errors.As(err, &te) {
				return nil, err // positioned already
			}
			return nil, bad(err)
		}
		cur.headers = append(cur.headers, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("%s: no targets (want lines like \"GET http://127.0.0.1:8080/\")", name)
	}
	return ts, nil
}

// looksLikeRequestLine tells a "METHOD URL" line inside a target (which
// starts the next target, as in vegeta) from a header: a word of letters,
// then a URL.
func looksLikeRequestLine(s string) bool {
	f := requestFields(s)
	return len(f) == 2 && isLetters(f[0]) && strings.Contains(f[1], "://")
}

// requestFields splits a request line into words as strings.Fields does,
// but keeps the spaces inside a URL's {{actions}}.
func requestFields(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out
		}
		i, depth := 0, 0
	scan:
		for ; i < len(s); i++ {
			switch {
			case strings.HasPrefix(s[i:], "{{"):
				depth++
				i++
			case strings.HasPrefix(s[i:], "}}") && depth > 0:
				depth--
				i++
			case (s[i] == ' ' || s[i] == '\t') && depth == 0:
				break scan
			}
		}
		i = min(i, len(s))
		out = append(out, s[:i])
		s = s[i:]
	}
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func parseRequestLine(s string, pos position) (target, error) {
	f := requestFields(s)
	if len(f) != 2 || !isLetters(f[0]) {
		return target{}, fmt.Errorf("bad request line %q: want \"METHOD URL\" (a blank line ends a target's headers)", shownRequestLine(s))
	}
	m, err := parseMethod(f[0])
	if err != nil {
		return target{}, err
	}
	u, ut, err := parseURLTemplate(f[1], pos)
	if err != nil {
		var te *templateError
		if errors.As(err, &te) {
			return target{}, te.err // bad() positions it
		}
		return target{}, err
	}
	return target{method: m, url: u, urlTpl: ut}, nil
}

// shownRequestLine is a bad request line as its error quotes it: secrets in
// a URL redacted; a line that does not start with a method may be a stray
// header or a bare token, redacted as a malformed header.
func shownRequestLine(s string) string {
	if f := strings.Fields(s); len(f) > 1 && isLetters(f[0]) && (strings.Contains(f[1], "://") || strings.HasPrefix(f[1], "/")) {
		return bench.RedactText(s)
	}
	return bench.RedactText(redactHeaderLoose(s))
}
