package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/perfkit/perfkit/bench"
)

// Response checks: what makes an answered request a success beyond "the
// server sent a status below 400". Each check has a name; a response that
// fails one is an error of kind check_NAME (a status ≥ 400 outside the
// expected set keeps its http_NNN kind), and each check counts the
// responses it judged and those that failed it in the counters
// checks{NAME} and checks_failed{NAME}, which alert rules and thresholds
// read as check_rate{NAME} (and, for a named target, also under
// checks{TAG:NAME}: check_rate{login:json}). Checks run in a fixed order (status, body
// size, body contains, body does not contain, JSON) and an op fails on
// the first it fails: later checks do not judge it.
//
// Checks are parsed when the parameters are (bad spec: exit 2 before
// anything runs) and bound to counters in Setup; the per-op path reads the
// response already in memory and allocates nothing.

// Check names: the kind of a failure is "check_" + name.
const (
	checkStatus      = "status"
	checkBodySize    = "body_size"
	checkContains    = "body_contains"
	checkNotContains = "body_not_contains"
	checkJSON        = "json"
)

// checkSpecs are the checks of a target as parsed, not yet bound to
// counters: the globals from the parameters, or a target's own merged with
// them (see merge).
type checkSpecs struct {
	status      *statusSet // nil: status ≥ 400 fails as http_NNN (the default)
	maxBody     int64      // 0: no limit
	contains    []string
	notContains []string
	json        []jsonSpec
}

func (c *checkSpecs) empty() bool {
	return c.status == nil && c.maxBody == 0 && len(c.contains) == 0 && len(c.notContains) == 0 && len(c.json) == 0
}

// merge returns the globals g with a target's own checks o: o's status and
// size limit replace g's, its body and JSON checks add to g's.
func (g checkSpecs) merge(o checkSpecs) checkSpecs {
	out := g
	if o.status != nil {
		out.status = o.status
	}
	if o.maxBody != 0 {
		out.maxBody = o.maxBody
	}
	out.contains = append(append([]string(nil), g.contains...), o.contains...)
	out.notContains = append(append([]string(nil), g.notContains...), o.notContains...)
	out.json = append(append([]jsonSpec(nil), g.json...), o.json...)
	return out
}

// statusSet is a set of status codes 100..599, one bit each.
type statusSet struct {
	bits [10]uint64
	text string // as written, for errors
}

func (s *statusSet) add(code int) { code -= 100; s.bits[code/64] |= 1 << (code % 64) }
func (s *statusSet) has(code int) bool {
	if code < 100 || code > 599 {
		return false
	}
	code -= 100
	return s.bits[code/64]&(1<<(code%64)) != 0
}

const statusHelp = "codes, ranges or classes such as 200, 200,204, 200-299, 2xx,404"

// parseStatusSet reads "200,204,300-399,2xx".
func parseStatusSet(spec string) (*statusSet, error) {
	s := &statusSet{text: strings.TrimSpace(spec)}
	if s.text == "" {
		return nil, fmt.Errorf("bad check-status %q: empty (want %s)", spec, statusHelp)
	}
	for part := range strings.SplitSeq(s.text, ",") {
		part = strings.TrimSpace(part)
		lo, hi, err := statusRange(part)
		if err != nil {
			return nil, fmt.Errorf("bad check-status %q: %q %v (want %s)", spec, part, err, statusHelp)
		}
		for c := lo; c <= hi; c++ {
			s.add(c)
		}
	}
	return s, nil
}

func statusRange(p string) (lo, hi int, err error) {
	if len(p) == 3 && (p[1:] == "xx" || p[1:] == "XX") && p[0] >= '1' && p[0] <= '5' {
		lo = int(p[0]-'0') * 100
		return lo, lo + 99, nil
	}
	a, b, isRange := strings.Cut(p, "-")
	if lo, err = statusCode(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = statusCode(b); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, errors.New("is a range that ends before it starts")
	}
	return lo, hi, nil
}

func statusCode(s string) (int, error) {
	c, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || c < 100 || c > 599 {
		return 0, errors.New("is not a status code from 100 to 599")
	}
	return c, nil
}

// jsonSpec is a check on the value at a JSON path (gjson syntax: a.b,
// items.0.id, items.#): that it exists, equals a value or does not.
type jsonSpec struct {
	text string // as written
	path string
	op   jsonOp
	want gjson.Result // the value compared with (jsonEqual, jsonNotEqual)
}

type jsonOp uint8

const (
	jsonExists jsonOp = iota
	jsonEqual
	jsonNotEqual
)

const jsonHelp = `PATH (exists), PATH == VALUE or PATH != VALUE, e.g. "ok == true", "data.items.#", "user.name == alice"`

// parseJSONSpec reads "PATH", "PATH == VALUE" or "PATH != VALUE". VALUE is
// JSON (true, 3, "x", null, {"a":1}); anything else is taken as a string,
// so "status == ok" compares with "ok". The operator is found outside the
// brackets and quotes of a gjson query (items.#(id==3).name exists).
func parseJSONSpec(spec string) (jsonSpec, error) {
	s := strings.TrimSpace(spec)
	js := jsonSpec{text: s}
	path, value := s, ""
	depth, quoted := 0, false
	for i := 0; i+1 < len(s) && js.op == jsonExists; i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth == 0 && (c == '=' || c == '!') && s[i+1] == '=':
			js.op = jsonEqual
			if c == '!' {
				js.op = jsonNotEqual
			}
			path, value = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
		}
	}
	js.path = path
	switch {
	case path == "":
		return jsonSpec{}, fmt.Errorf("bad check-json %q: no path (want %s)", spec, jsonHelp)
	case strings.ContainsAny(path, " \t"):
		return jsonSpec{}, fmt.Errorf("bad check-json %q: path %q has a space (want %s)", spec, path, jsonHelp)
	case js.op != jsonExists && value == "":
		return jsonSpec{}, fmt.Errorf("bad check-json %q: no value after the operator (want %s)", spec, jsonHelp)
	}
	if js.op != jsonExists {
		if gjson.Valid(value) {
			js.want = gjson.Parse(value)
		} else {
			js.want = gjson.Result{Type: gjson.String, Str: value, Raw: strconv.Quote(value)}
		}
	}
	return js, nil
}

// holds reports whether the body passes the check. The body is read in
// place: gjson returns slices of it, used before the response is released.
func (j *jsonSpec) holds(body []byte) bool {
	r := gjson.Get(unsafe.String(unsafe.SliceData(body), len(body)), j.path)
	switch j.op {
	case jsonEqual:
		return r.Exists() && sameJSON(r, j.want)
	case jsonNotEqual:
		return r.Exists() && !sameJSON(r, j.want)
	}
	return r.Exists()
}

// sameJSON compares two JSON values: strings by content, numbers by value,
// objects and arrays as written (byte for byte).
func sameJSON(a, b gjson.Result) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case gjson.String:
		return a.Str == b.Str
	case gjson.Number:
		return a.Num == b.Num
	case gjson.JSON:
		return a.Raw == b.Raw
	}
	return true // true, false, null
}

// parseChecks reads the check parameters.
func parseChecks(status string, maxBody int64, contains, notContains, jsonSpecs []string) (checkSpecs, error) {
	var cs checkSpecs
	if status != "" {
		st, err := parseStatusSet(status)
		if err != nil {
			return checkSpecs{}, err
		}
		cs.status = st
	}
	if maxBody < 0 {
		return checkSpecs{}, fmt.Errorf("bad check-max-body-bytes %d: want a size in bytes > 0 (0: no limit)", maxBody)
	}
	cs.maxBody = maxBody
	for _, s := range contains {
		if s == "" {
			return checkSpecs{}, errors.New(`bad check-body-contains "": want the text a body must contain`)
		}
	}
	for _, s := range notContains {
		if s == "" {
			return checkSpecs{}, errors.New(`bad check-body-not-contains "": want the text a body must not contain`)
		}
	}
	cs.contains, cs.notContains = contains, notContains
	for _, s := range jsonSpecs {
		js, err := parseJSONSpec(s)
		if err != nil {
			return checkSpecs{}, err
		}
		cs.json = append(cs.json, js)
	}
	return cs, nil
}

// checkSet is a target's checks bound to their counters and errors, as the
// per-op path runs them. Targets with the same checks and tag share one.
type checkSet struct {
	status      *statusSet
	statusC     checkCounters
	maxBody     int
	bodySizeC   checkCounters
	contains    []bodyCheck
	notContains []bodyCheck
	json        []jsonCheck
	decode      *bench.KindError // decode-json: a body that is not JSON fails with it
}

// checkCounters are a check's counters and its preallocated error. A check
// of a named target also counts under TAG:NAME (checks{login:json}), so
// check_rate{login:json} reads it for that target alone.
type checkCounters struct {
	judged, failed       bench.Counter
	tagJudged, tagFailed bench.Counter
	perTag               bool
	err                  *bench.KindError
}

// judge counts a response the check judged.
func (c *checkCounters) judge(w *bench.Worker) {
	w.Count(c.judged, 1)
	if c.perTag {
		w.Count(c.tagJudged, 1)
	}
}

// fail counts a response that failed the check and returns its error.
func (c *checkCounters) fail(w *bench.Worker) error {
	w.Count(c.failed, 1)
	if c.perTag {
		w.Count(c.tagFailed, 1)
	}
	return c.err
}

type bodyCheck struct {
	text []byte
	checkCounters
}

type jsonCheck struct {
	spec jsonSpec
	checkCounters
}

// checkCounterNames are the counters of check name.
func checkCounterNames(name string) (judged, failed string) {
	return bench.LabelCounter(bench.ChecksCounter, name), bench.LabelCounter(bench.ChecksFailedCounter, name)
}

func declareCheck(s *bench.Setup, name, tag string, err error) checkCounters {
	j, f := checkCounterNames(name)
	c := checkCounters{judged: s.Counter(j), failed: s.Counter(f), err: &bench.KindError{Kind: "check_" + name, Err: err}}
	if tag != "" {
		j, f = checkCounterNames(tag + ":" + name)
		c.tagJudged, c.tagFailed, c.perTag = s.Counter(j), s.Counter(f), true
	}
	return c
}

// bind declares the checks' counters (also per tag, for a named target's)
// and builds their errors.
func (c *checkSpecs) bind(s *bench.Setup, decode *bench.KindError, tag string) *checkSet {
	cs := &checkSet{maxBody: int(c.maxBody), decode: decode}
	if c.status != nil {
		cs.status = c.status
		cs.statusC = declareCheck(s, checkStatus, tag, fmt.Errorf("status not in %s", c.status.text))
	}
	if c.maxBody > 0 {
		cs.bodySizeC = declareCheck(s, checkBodySize, tag, fmt.Errorf("body larger than %d bytes", c.maxBody))
	}
	for _, t := range c.contains {
		cs.contains = append(cs.contains, bodyCheck{[]byte(t), declareCheck(s, checkContains, tag, fmt.Errorf("body does not contain %q", t))})
	}
	for _, t := range c.notContains {
		cs.notContains = append(cs.notContains, bodyCheck{[]byte(t), declareCheck(s, checkNotContains, tag, fmt.Errorf("body contains %q", t))})
	}
	for _, j := range c.json {
		cs.json = append(cs.json, jsonCheck{j, declareCheck(s, checkJSON, tag, fmt.Errorf("json %s does not hold", j.text))})
	}
	return cs
}

// judge runs the checks on an answered request (after its status, the
// decode-json check), counting each check that
// judged it and the one it failed, if any.
func (c *checkSet) judge(w *bench.Worker, errs *errTable, code int, body []byte) error {
	if c.status != nil {
		c.statusC.judge(w)
		if !c.status.has(code) {
			err := c.statusC.fail(w)
			if code >= 400 {
				return errs.status(code) // the code says more than check_status
			}
			return err
		}
	} else if code >= 400 {
		return errs.status(code)
	}
	if c.decode != nil && !json.Valid(body) {
		return c.decode
	}
	if c.maxBody > 0 {
		if c.bodySizeC.judge(w); len(body) > c.maxBody {
			return c.bodySizeC.fail(w)
		}
	}
	for i := range c.contains {
		k := &c.contains[i]
		if k.judge(w); !bytes.Contains(body, k.text) {
			return k.fail(w)
		}
	}
	for i := range c.notContains {
		k := &c.notContains[i]
		if k.judge(w); bytes.Contains(body, k.text) {
			return k.fail(w)
		}
	}
	for i := range c.json {
		k := &c.json[i]
		if k.judge(w); !k.spec.holds(body) {
			return k.fail(w)
		}
	}
	return nil
}
