package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench/stats"
)

// JUnit is JUnit XML, for CI systems that render test reports (Jenkins,
// GitLab, Azure Pipelines, CircleCI, test-reporter actions): `perfkit
// compare --format junit`. Only comparisons are written in it.
const JUnit Format = "junit"

// The document follows the structure of the JUnit XML schema these systems
// read (Jenkins' junit-10.xsd, after Ant's XMLJUnitResultFormatter):
// <testsuites> holds one <testsuite> per scenario, each with <properties>
// and one <testcase> per metric; a failing metric holds <failure>, an
// undecided one <skipped>. Every count and time attribute that either the
// XSD or Ant's DTD requires is written.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

// junitText is element text written as CDATA, so its lines stay lines.
type junitText struct {
	Text string `xml:",cdata"`
}

func cdata(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")}
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// WriteComparisonJUnit writes c as JUnit XML: a test suite per scenario, a
// test case per metric (its Threshold, medians, change and p-value in the
// case's output). A metric whose verdict fails (regressed and invalid;
// fails, when not nil, decides instead, as --fail-on does) is a failure; an
// inconclusive one that does not fail is skipped; informational and
// passing ones pass. Durations are 0: a case is a decision, not a test that
// took time.
func WriteComparisonJUnit(w io.Writer, c *stats.Comparison, fails func(stats.Verdict) bool) error {
	if c == nil {
		return errors.New("report: no comparison to render (nil)")
	}
	if fails == nil {
		fails = func(v stats.Verdict) bool { return v == stats.Regressed || v == stats.Invalid }
	}
	doc := junitSuites{Name: "perfkit compare", Time: "0"}
	index := map[string]int{}
	for _, o := range c.Outcomes {
		i, ok := index[o.Scenario]
		if !ok {
			i = len(doc.Suites)
			index[o.Scenario] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: o.Scenario, Time: "0", Properties: []junitProperty{
				{"old", c.Old}, {"new", c.New}, {"alpha", strconv.FormatFloat(c.Alpha, 'g', -1, 64)},
			}})
		}
		s := &doc.Suites[i]
		tc := junitCase{Name: metricLabel(o), Classname: o.Scenario, Time: "0", SystemOut: cdata(junitDetail(o))}
		switch {
		case fails(o.Verdict):
			msg := fmt.Sprintf("%s %s: %s", o.Scenario, metricLabel(o), o.Verdict.Symbol())
			if o.Verdict != stats.Invalid && o.Old.N > 0 && o.New.N > 0 {
				msg += " " + formatDelta(o.Delta.Kind, o.Delta.Estimate) + " (threshold " + o.Threshold.String() + ")"
			}
			tc.Failure = &junitMessage{Message: flatten(msg), Type: string(o.Verdict), Text: flatten(o.Reason)}
			s.Failures++
		case o.Verdict == stats.Inconclusive:
			tc.Skipped = &junitMessage{Message: flatten("inconclusive: " + o.Reason)}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	var notes []string
	if len(c.Added) > 0 {
		notes = append(notes, "added (new only, not compared): "+strings.Join(c.Added, ", "))
	}
	if len(c.Removed) > 0 {
		notes = append(notes, "removed (old only, not compared): "+strings.Join(c.Removed, ", "))
	}
	for _, wn := range c.Warnings {
		notes = append(notes, "warning: "+wn)
	}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		if i == 0 && len(notes) > 0 { // said once, for the whole comparison
			s.SystemOut = cdata(strings.Join(notes, "\n"))
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitDetail is a case's output: what a table row says.
func junitDetail(o stats.Outcome) string {
	v := string(o.Verdict) // "unchanged", not the table's "~"

	if o.Verdict == stats.Info {
		v = infoText(o)
	}
	if o.Verdict == stats.Invalid {
		return "verdict: " + v + "\nreason: " + flatten(o.Reason)
	}
	return strings.Join([]string{
		"verdict: " + v,
		"old: " + sideCell(o.Old, o.Unit),
		"new: " + sideCell(o.New, o.Unit),
		"delta: " + deltaCell(o) + " (threshold " + o.Threshold.String() + ")",
		pCell(o),
		"reason: " + flatten(o.Reason),
	}, "\n")
}
