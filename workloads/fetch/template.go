package fetch

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Request templates (docs/templates.md): a URL, header value or body may
// hold actions in double braces, filled per request:
//
//	{{seq}}            the request's sequence number: 0, 1, 2…
//	{{randInt LO HI}}  a random integer in [LO, HI]
//	{{uuid}}           a random UUID (version 4)
//	{{choice A B …}}   one of the words, at random ("quoted" for spaces)
//	{{row.COLUMN}}     COLUMN of the request's row of the data file
//
// A template is compiled once into segments (literal bytes and actions);
// per request it is appended into a worker's reused buffer, so filling one
// costs no allocation and no lock (see renderer).

// actionList is what the error for an unknown action lists.
const actionList = "seq, randInt LO HI, uuid, choice A B…, row.COLUMN"

// segKind is what a segment appends.
type segKind uint8

const (
	segLit     segKind = iota // lit
	segSeq                    // the sequence number
	segRandInt                // lo + a random value below span
	segUUID                   // a random version 4 UUID
	segChoice                 // one of choices
	segRow                    // column col of the request's row
)

// segment is one piece of a compiled template.
type segment struct {
	kind    segKind
	escape  bool   // percent-encode the value (it goes into a URL)
	lit     []byte // segLit
	lo      int64  // segRandInt
	span    uint64 // segRandInt: HI-LO+1; 0 stands for 2^64
	choices [][]byte
	col     int    // segRow: index into the data table's columns
	colName string // segRow, until bound
	where   string // position of the action, for errors found later
}

// tmpl is a compiled template.
type tmpl struct {
	segs []segment
}

// uses reports whether the template holds an action of kind k.
func (t *tmpl) uses(k segKind) bool {
	if t == nil {
		return false
	}
	for i := range t.segs {
		if t.segs[i].kind == k {
			return true
		}
	}
	return false
}

// hasActions reports whether s holds something that looks like an action:
// text without "{{" is static and keeps the pre-serialized path.
func hasActions(s string) bool { return strings.Contains(s, "{{") }

// templateError is a template or data file error with its position: a
// file:line, or a parameter and column.
type templateError struct {
	where string
	err   error
}

func (e *templateError) Error() string { return e.where + ": " + e.err.Error() }
func (e *templateError) Unwrap() error { return e.err }

// position says where in its parameter or file a template's text is, for
// errors: a parameter's value starts at column col0 (errors found while
// parsing the parameter are prefixed with its name by the caller); a
// file's text starts at line line0.
type position struct {
	param string
	col0  int
	file  string
	line0 int
	text  string
}

// paramPos positions a parameter's value that starts at column col0.
func paramPos(param string, col0 int) position { return position{param: param, col0: col0} }

// linePos positions text that starts at line line0 of file.
func linePos(file string, line0 int, text string) position {
	return position{file: file, line0: line0, text: text}
}

// at is offset off as a parse error shows it: "column 12" (the caller
// names the parameter) or "file:line".
func (p position) at(off int) string {
	if p.file == "" {
		return fmt.Sprintf("column %d", p.col0+off)
	}
	return fmt.Sprintf("%s:%d", p.file, p.line0+strings.Count(p.text[:min(off, len(p.text))], "\n"))
}

// full is offset off as a later error shows it: "param url, column 12".
func (p position) full(off int) string {
	if p.file == "" {
		return "param " + p.param + ", " + p.at(off)
	}
	return p.at(off)
}

// parseTemplate compiles text. escape marks values that go into a URL (row
// and choice values are percent-encoded there).
func parseTemplate(text string, pos position, escape bool) (*tmpl, error) {
	t := &tmpl{}
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(t.segs); n > 0 && t.segs[n-1].kind == segLit {
			t.segs[n-1].lit = append(t.segs[n-1].lit, s...)
			return
		}
		t.segs = append(t.segs, segment{kind: segLit, lit: []byte(s)})
	}
	rest, off := text, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			lit(rest)
			return t, nil
		}
		lit(rest[:i])
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &templateError{pos.at(off + i), errors.New(`"{{" opens an action that is never closed with "}}" (a literal "{{" is written {{"{{"}})`)}
		}
		body := rest[i+2 : i+2+j]
		s, err := parseAction(body, escape)
		if err != nil {
			return nil, &templateError{pos.at(off + i), fmt.Errorf("%q: %w", "{{"+clip(body)+"}}", err)}
		}
		if s.kind == segLit {
			lit(string(s.lit))
		} else {
			s.where = pos.full(off + i)
			t.segs = append(t.segs, s)
		}
		adv := i + 2 + j + 2
		rest, off = rest[adv:], off+adv
	}
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func parseAction(body string, escape bool) (segment, error) {
	words, err := splitWords(body)
	if err != nil {
		return segment{}, err
	}
	if len(words) == 0 {
		return segment{}, fmt.Errorf("empty action (accepted: %s)", actionList)
	}
	if len(words) == 1 && strings.HasPrefix(strings.TrimSpace(body), `"`) {
		return segment{kind: segLit, lit: []byte(words[0])}, nil // {{"{{"}}: literal text
	}
	name, args := words[0], words[1:]
	noArgs := func(k segKind) (segment, error) {
		if len(args) > 0 {
			return segment{}, fmt.Errorf("%s takes no arguments", name)
		}
		return segment{kind: k}, nil
	}
	switch {
	case name == "seq":
		return noArgs(segSeq)
	case name == "uuid":
		return noArgs(segUUID)
	case name == "randInt":
		if len(args) != 2 {
			return segment{}, errors.New("randInt takes two integers, LO and HI (e.g. {{randInt 1 100}})")
		}
		lo, err1 := strconv.ParseInt(args[0], 10, 64)
		hi, err2 := strconv.ParseInt(args[1], 10, 64)
		if err1 != nil || err2 != nil {
			return segment{}, fmt.Errorf("randInt %q %q: want two integers, LO and HI", args[0], args[1])
		}
		if lo > hi {
			return segment{}, fmt.Errorf("randInt %d %d: LO is above HI", lo, hi)
		}
		return segment{kind: segRandInt, lo: lo, span: uint64(hi-lo) + 1}, nil
	case name == "choice":
		if len(args) == 0 {
			return segment{}, errors.New("choice needs at least one value (e.g. {{choice red green blue}})")
		}
		s := segment{kind: segChoice, escape: escape}
		for _, a := range args {
			if strings.ContainsAny(a, "\r\n") {
				return segment{}, fmt.Errorf("choice value %q holds a line break", a)
			}
			s.choices = append(s.choices, []byte(a))
		}
		return s, nil
	case strings.HasPrefix(name, "row."):
		col := strings.TrimPrefix(name, "row.")
		if col == "" || len(args) > 0 {
			return segment{}, errors.New("want row.COLUMN, a column of the data file (e.g. {{row.user_id}})")
		}
		return segment{kind: segRow, colName: col, escape: escape}, nil
	}
	return segment{}, fmt.Errorf("unknown action %q (accepted: %s)", name, actionList)
}

// splitWords splits an action into words: runs of non-space characters,
// or Go-quoted strings.
func splitWords(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return out, nil
		}
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("unterminated or bad quoted string %q", clip(s))
			}
			u, _ := strconv.Unquote(q)
			out = append(out, u)
			s = s[len(q):]
			continue
		}
		i := strings.IndexAny(s, " \t\r\n")
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

// bind resolves the template's row columns against the data table.
func (t *tmpl) bind(d *table) error {
	if t == nil {
		return nil
	}
	for i := range t.segs {
		s := &t.segs[i]
		if s.kind != segRow {
			continue
		}
		if d == nil {
			return &templateError{s.where, fmt.Errorf("{{row.%s}} needs a data file (param data)", s.colName)}
		}
		c := d.column(s.colName)
		if c < 0 {
			return &templateError{s.where, fmt.Errorf("unknown column %q in {{row.%s}} (%s has: %s)", s.colName, s.colName, d.name, showColumns(d.header))}
		}
		s.col = c
	}
	return nil
}

// showColumns lists column names for an error, one line: a name with a
// control character or a comma is quoted.
func showColumns(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if strings.ContainsFunc(n, func(r rune) bool { return r < ' ' || r == ',' || r == 0x7f }) {
			out[i] = strconv.Quote(n)
		}
	}
	return strings.Join(out, ", ")
}

// columns appends the row columns t names to cols.
func (t *tmpl) columns(cols []string) []string {
	if t == nil {
		return cols
	}
	for _, s := range t.segs {
		if s.kind == segRow && !contains(cols, s.colName) {
			cols = append(cols, s.colName)
		}
	}
	return cols
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// renderer is what one request's templates are filled from: its sequence
// number and row (the same for every template of the request) and the
// worker's RNG.
type renderer struct {
	seq  uint64
	row  int
	rng  *rand.PCG
	data *table
}

// appendTo appends t filled for this request to dst.
func (r *renderer) appendTo(dst []byte, t *tmpl) []byte {
	for i := range t.segs {
		s := &t.segs[i]
		switch s.kind {
		case segLit:
			dst = append(dst, s.lit...)
		case segSeq:
			dst = strconv.AppendUint(dst, r.seq, 10)
		case segRandInt:
			v := r.rng.Uint64()
			if s.span != 0 {
				v, _ = bits.Mul64(v, s.span) // uniform in [0, span)
			}
			dst = strconv.AppendInt(dst, s.lo+int64(v), 10)
		case segUUID:
			dst = appendUUID(dst, r.rng.Uint64(), r.rng.Uint64())
		case segChoice:
			hi, _ := bits.Mul64(r.rng.Uint64(), uint64(len(s.choices)))
			dst = appendValue(dst, s.choices[hi], s.escape)
		case segRow:
			dst = appendValue(dst, r.data.value(r.row, s.col), s.escape)
		}
	}
	return dst
}

func appendValue(dst, v []byte, escape bool) []byte {
	if !escape {
		return append(dst, v...)
	}
	return appendEscaped(dst, v)
}

const hexDigits = "0123456789abcdef"

// appendUUID appends a version 4 (random) UUID made of hi and lo.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000                    // version 4
	lo = lo&^(0xc<<60) | 0x8<<60                // RFC 9562 variant
	var b [36]byte                              // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
	put := func(at int, v uint64, digits int) { // digits hex digits of v's low bits
		for i := digits - 1; i >= 0; i-- {
			b[at+i] = hexDigits[v&0xf]
			v >>= 4
		}
	}
	put(0, hi>>32, 8)
	b[8] = '-'
	put(9, hi>>16, 4)
	b[13] = '-'
	put(14, hi, 4)
	b[18] = '-'
	put(19, lo>>48, 4)
	b[23] = '-'
	put(24, lo, 12)
	return append(dst, b[:]...)
}

// appendEscaped percent-encodes v as one URL path segment or query value:
// every byte but the unreserved ones (RFC 3986).
func appendEscaped(dst, v []byte) []byte {
	for _, c := range v {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
	}
	return dst
}
