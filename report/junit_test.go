package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/perfkit/perfkit/bench/stats"
)

// junitRules is the JUnit XML schema CI systems read (Jenkins'
// junit-10.xsd, with the attributes Ant's DTD requires as well): for each
// element, the attributes it must have, those it may have, and the child
// elements it may hold, in order (a child may repeat only where marked).
var junitRules = map[string]struct {
	required, optional []string
	children           []string // in this order; "*" suffix: may repeat
}{
	"testsuites": {nil, []string{"name", "time", "tests", "failures", "disabled", "errors", "skipped"}, []string{"testsuite*"}},
	"testsuite": {[]string{"name", "tests", "failures", "errors", "time"},
		[]string{"disabled", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url", "version", "group"},
		[]string{"properties", "testcase*", "system-out", "system-err"}},
	"properties": {nil, nil, []string{"property*"}},
	"property":   {[]string{"name", "value"}, nil, nil},
	"testcase": {[]string{"name", "classname"}, []string{"assertions", "time", "status", "class", "file", "line", "log", "group", "url"},
		[]string{"skipped", "error*", "failure*", "system-out*", "system-err*"}},
	"failure":    {nil, []string{"message", "type"}, nil},
	"error":      {nil, []string{"message", "type"}, nil},
	"skipped":    {nil, []string{"message"}, nil},
	"system-out": {nil, nil, nil},
	"system-err": {nil, nil, nil},
}

// numericAttrs must be integers (counts) or decimals (time) in the XSD.
var numericAttrs = map[string]bool{"tests": true, "failures": true, "errors": true, "skipped": true, "disabled": true, "time": true}

type node struct {
	name     string
	attrs    map[string]string
	children []*node
}

func parseXML(t *testing.T, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			n := &node{name: e.Name.Local, attrs: map[string]string{}}
			for _, a := range e.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					t.Fatal("two root elements")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return root
}

// validateJUnit checks n and its descendants against junitRules.
func validateJUnit(errorf func(string, ...any), n *node, path string) {
	rule, ok := junitRules[n.name]
	if !ok {
		errorf("%s: element <%s> is not in the schema", path, n.name)
		return
	}
	for _, a := range rule.required {
		if _, ok := n.attrs[a]; !ok {
			errorf("%s: <%s> lacks required attribute %s", path, n.name, a)
		}
	}
	for a, v := range n.attrs {
		if !slices.Contains(rule.required, a) && !slices.Contains(rule.optional, a) {
			errorf("%s: <%s> has attribute %s, not in the schema", path, n.name, a)
		}
		if numericAttrs[a] && n.name != "testcase" || a == "time" {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				errorf("%s: <%s %s=%q> is not a number", path, n.name, a, v)
			}
		}
	}
	pos := 0 // index into rule.children
	var last string
	for _, c := range n.children {
		for pos < len(rule.children) && strings.TrimSuffix(rule.children[pos], "*") != c.name {
			pos++
		}
		if pos == len(rule.children) {
			errorf("%s: <%s> may not hold <%s> here (allowed, in order: %v)", path, n.name, c.name, rule.children)
			break
		}
		if c.name == last && !strings.HasSuffix(rule.children[pos], "*") {
			errorf("%s: <%s> holds <%s> twice", path, n.name, c.name)
		}
		last = c.name
		validateJUnit(errorf, c, path+"/"+c.name)
	}
}

func countElems(n *node, name string) int {
	k := 0
	for _, c := range n.children {
		if c.name == name {
			k++
		}
		k += countElems(c, name)
	}
	return k
}

// TestJUnitSchema: the document validates against the JUnit schema's
// structure, its counts add up, a case per scenario × metric, failures for
// the regressions and the invalid scenario, skipped for the inconclusive.
func TestJUnitSchema(t *testing.T) {
	c := sampleComparison(t)
	var buf bytes.Buffer
	if err := WriteComparison(&buf, c, JUnit, CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "compare_junit.golden"), buf.Bytes())
	root := parseXML(t, buf.Bytes())
	if root.name != "testsuites" {
		t.Fatalf("root <%s>, want <testsuites>", root.name)
	}
	validateJUnit(t.Errorf, root, "testsuites")

	if got := countElems(root, "testcase"); got != len(c.Outcomes) {
		t.Errorf("%d test cases, want %d (one per scenario × metric)", got, len(c.Outcomes))
	}
	wantFail := c.Count(stats.Regressed) + c.Count(stats.Invalid)
	if got := countElems(root, "failure"); got != wantFail || wantFail == 0 {
		t.Errorf("%d failures, want %d (regressions and invalid)", got, wantFail)
	}
	if got := countElems(root, "skipped"); got != c.Count(stats.Inconclusive) {
		t.Errorf("%d skipped, want %d (inconclusive)", got, c.Count(stats.Inconclusive))
	}
	// Each suite's counts are its cases; the root's are the suites'.
	var tests, failures, skipped int
	for _, s := range root.children {
		n := func(a string) int { v, _ := strconv.Atoi(s.attrs[a]); return v }
		if n("tests") != countElems(s, "testcase") || n("failures") != countElems(s, "failure") || n("skipped") != countElems(s, "skipped") {
			t.Errorf("suite %s: counts %v do not match its cases", s.attrs["name"], s.attrs)
		}
		tests, failures, skipped = tests+n("tests"), failures+n("failures"), skipped+n("skipped")
	}
	if root.attrs["tests"] != strconv.Itoa(tests) || root.attrs["failures"] != strconv.Itoa(failures) || root.attrs["skipped"] != strconv.Itoa(skipped) {
		t.Errorf("testsuites counts %v, suites add up to tests %d failures %d skipped %d", root.attrs, tests, failures, skipped)
	}

	// --fail-on inconclusive: the inconclusive case fails instead of skipping.
	buf.Reset()
	all := func(v stats.Verdict) bool {
		return v == stats.Regressed || v == stats.Invalid || v == stats.Inconclusive
	}
	if err := WriteComparison(&buf, c, JUnit, CompareOptions{Fails: all}); err != nil {
		t.Fatal(err)
	}
	root = parseXML(t, buf.Bytes())
	if got := countElems(root, "failure"); got != wantFail+c.Count(stats.Inconclusive) || countElems(root, "skipped") != 0 {
		t.Errorf("fail-on inconclusive: %d failures, %d skipped", got, countElems(root, "skipped"))
	}
}

// TestJUnitValidatorCatches: the validator is not vacuous.
func TestJUnitValidatorCatches(t *testing.T) {
	for _, bad := range []string{
		`<testsuites><testsuite name="a" tests="1" failures="0" errors="0" time="0"><testcase name="x"/></testsuite></testsuites>`,                            // no classname
		`<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><properties/></testsuite></testsuites>`,                                            // no time
		`<testsuites><testsuite name="a" tests="1" failures="0" errors="0" time="0"><testcase name="x" classname="c"/><properties/></testsuite></testsuites>`, // order
		`<testsuites><testsuite name="a" tests="x" failures="0" errors="0" time="0"/></testsuites>`,                                                           // not a number
		`<testsuites><testsuite name="a" tests="1" failures="0" errors="0" time="0"><testcase name="x" classname="c"><oops/></testcase></testsuite></testsuites>`,
	} {
		failed := false
		validateJUnit(func(string, ...any) { failed = true }, parseXML(t, []byte(bad)), "testsuites")
		if !failed {
			t.Errorf("validator passed %s", bad)
		}
	}
}
