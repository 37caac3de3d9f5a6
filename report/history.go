package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/bench/trend"
)

// WriteHistory renders a history line and its change points (`perfkit
// history`): a table, markdown, JSON, or an HTML page that plots every
// scenario × metric over the points with the change points marked.
func WriteHistory(w io.Writer, a *trend.Analysis, f Format) error {
	if a == nil {
		return errors.New("report: no history to render (nil)")
	}
	switch f {
	case Table:
		return writeHistoryText(w, a, false)
	case Markdown:
		return writeHistoryText(w, a, true)
	case JSON:
		return writeHistoryJSON(w, a)
	case HTML:
		return writeHistoryHTML(w, a)
	}
	p, err := ParseHistoryFormat(string(f))
	if err != nil {
		return err
	}
	return WriteHistory(w, a, p)
}

// HistoryFormats are the outputs of `perfkit history`.
func HistoryFormats() []Format { return []Format{Table, Markdown, JSON, HTML} }

// ParseHistoryFormat is ParseReportFormat for `perfkit history`: a history
// has no CSV form.
func ParseHistoryFormat(s string) (Format, error) {
	f, err := ParseReportFormat(s)
	if err != nil || !slices.Contains(HistoryFormats(), f) {
		return "", errors.New("format " + strconv.Quote(s) + ": accepted: table, markdown, json, html")
	}
	return f, nil
}

// HistorySummary is the line a reader needs first: the points, the change
// points, and what the check says.
func HistorySummary(a *trend.Analysis) string {
	s := fmt.Sprintf("history %s: %s, %s", a.Name, plural(len(a.Points), "point", "points"), plural(a.Changes(), "change point", "change points"))
	regs := a.Regressions()
	if len(regs) == 0 {
		return s + fmt.Sprintf("; no regression starts in the newest %s", plural(a.Recent, "point", "points"))
	}
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = fmt.Sprintf("%s %s at %s", r.Series.Scenario, r.Series.Metric, pointLabel(a, r.Change.At))
	}
	return s + fmt.Sprintf("; %s in the newest %s: %s", plural(len(regs), "regression starts", "regressions start"),
		plural(a.Recent, "point", "points"), strings.Join(names, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// pointLabel names point i (0-based) as tables do: "#3 (0123456789ab)".
func pointLabel(a *trend.Analysis, i int) string {
	l := "#" + strconv.Itoa(i+1)
	if c := a.Points[i].Commit; c != "" {
		l += " (" + c + ")"
	}
	return l
}

// headline are the metrics the points table shows, in its column order.
var headline = []struct{ metric, title string }{
	{"throughput", "THROUGHPUT"}, {"p50", "P50"}, {"p99", "P99"}, {"error_rate", "ERRORS"},
}

// pointValues maps scenario → metric → point → value.
func pointValues(a *trend.Analysis) map[string]map[string]map[int]float64 {
	out := map[string]map[string]map[int]float64{}
	for _, s := range a.Series {
		if out[s.Scenario] == nil {
			out[s.Scenario] = map[string]map[int]float64{}
		}
		m := map[int]float64{}
		for i, p := range s.Index {
			m[p] = s.Values[i]
		}
		out[s.Scenario][s.Metric] = m
	}
	return out
}

// unitOf is the unit of a metric's series in a.
func unitOf(a *trend.Analysis, metric string) string {
	for _, s := range a.Series {
		if s.Metric == metric {
			return s.Unit
		}
	}
	return ""
}

func writeHistoryText(w io.Writer, a *trend.Analysis, md bool) error {
	esc := func(s string) string { return flatten(s) }
	if md {
		esc = func(s string) string { return mdEscape(flatten(s)) }
	}
	var out bytes.Buffer
	out.WriteString(esc(HistorySummary(a)) + "\n\n")
	vals := pointValues(a)
	header := []string{"#", "SAVED (UTC)", "COMMIT", "SCENARIO", "RUNS"}
	right := []bool{true, false, false, false, true}
	for _, h := range headline {
		header = append(header, h.title)
		right = append(right, true)
	}
	var rows [][]string
	for i, p := range a.Points {
		for _, sc := range p.Result.Scenarios {
			row := []string{strconv.Itoa(i + 1), p.Saved.UTC().Format("2006-01-02 15:04"), orDash(p.Commit), esc(sc.Name), strconv.Itoa(len(sc.Runs))}
			for _, h := range headline {
				cell := "-"
				if v, ok := vals[sc.Name][h.metric][i]; ok {
					cell = Value(v, unitOf(a, h.metric))
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
	}
	if err := writeGrid(&out, header, right, rows, md); err != nil {
		return err
	}
	out.WriteByte('\n')
	var changes [][]string
	for _, s := range a.Series {
		for _, c := range s.Changes {
			verdict := string(c.Verdict)
			if md && (c.Verdict == stats.Regressed || c.Verdict == stats.Improved) {
				verdict = "**" + verdict + "**"
			}
			if c.Recent {
				verdict += " (newest " + strconv.Itoa(a.Recent) + ")"
			}
			changes = append(changes, []string{esc(s.Scenario), s.Metric, pointLabel(a, c.At),
				Value(c.Before, s.Unit), Value(c.After, s.Unit), changeCell(c), fmt.Sprintf("%.3f", c.P), verdict, esc(c.Reason)})
		}
	}
	if len(changes) > 0 {
		if md {
			out.WriteString("**Change points**\n\n")
		} else {
			out.WriteString("CHANGE POINTS\n")
		}
		if err := writeGrid(&out, []string{"SCENARIO", "METRIC", "STARTS AT", "BEFORE", "AFTER", "CHANGE [INTERVAL]", "P", "VERDICT", "REASON"},
			[]bool{false, false, false, true, true, true, true, false, false}, changes, md); err != nil {
			return err
		}
		out.WriteByte('\n')
	} else {
		out.WriteString(esc("No change points.") + "\n\n")
	}
	for _, n := range historyNotes(a) {
		if md {
			out.WriteString("- " + mdEscape(flatten(n)) + "\n")
		} else {
			out.WriteString(flatten(n) + "\n")
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

// ChangeText is "+12.0% [+9.8%, +14.1%]": a change point's shift and its
// interval, as tables show it.
func ChangeText(c trend.Change) string { return changeCell(c) }

func changeCell(c trend.Change) string {
	return formatDelta(c.Delta.Kind, c.Delta.Estimate) + " [" + formatDelta(c.Delta.Kind, c.Delta.Lo) + ", " + formatDelta(c.Delta.Kind, c.Delta.Hi) + "]"
}

func historyNotes(a *trend.Analysis) []string {
	notes := []string{
		fmt.Sprintf("values are medians of each point's valid runs; change points by E-divisive means (Matteson & James 2014), each kept when its permutation test (%d permutations) gives p ≤ %s; segments of at least %d points",
			a.Permutations, strconv.FormatFloat(a.Significance, 'g', -1, 64), a.MinSize),
		"CHANGE is the median after against the median before, with its interval; VERDICT holds it against the metric's threshold and direction, as compare does",
	}
	for _, wn := range a.Warnings {
		notes = append(notes, "warning: "+wn)
	}
	return notes
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type historyJSON struct {
	Name         string              `json:"name"`
	Significance float64             `json:"significance"`
	Permutations int                 `json:"permutations"`
	MinSize      int                 `json:"min_size"`
	Recent       int                 `json:"recent"`
	Points       []historyPointJSON  `json:"points"`
	Series       []historySeriesJSON `json:"series"`
	Regressions  []historyRegression `json:"regressions"`
	Warnings     []string            `json:"warnings"`
}

type historyPointJSON struct {
	Point   int       `json:"point"`
	SavedAt time.Time `json:"saved_at"`
	Commit  string    `json:"commit"`
	Path    string    `json:"path"`
	ID      string    `json:"id"`
}

type historySeriesJSON struct {
	Scenario     string              `json:"scenario"`
	Metric       string              `json:"metric"`
	Unit         string              `json:"unit"`
	Better       string              `json:"better"`
	Threshold    string              `json:"threshold"`
	Points       []int               `json:"points"`
	Values       []float64           `json:"values"`
	ChangePoints []historyChangeJSON `json:"change_points"`
}

type historyChangeJSON struct {
	Point   int       `json:"point"`
	Commit  string    `json:"commit"`
	P       float64   `json:"p"`
	Before  float64   `json:"before"`
	After   float64   `json:"after"`
	Delta   deltaJSON `json:"delta"`
	Verdict string    `json:"verdict"`
	Reason  string    `json:"reason"`
	Recent  bool      `json:"recent"`
}

type historyRegression struct {
	Scenario string `json:"scenario"`
	Metric   string `json:"metric"`
	Point    int    `json:"point"`
	Commit   string `json:"commit"`
}

// writeHistoryJSON writes the line as indented JSON; points are numbered
// from 1, as tables show them.
func writeHistoryJSON(w io.Writer, a *trend.Analysis) error {
	j := historyJSON{Name: a.Name, Significance: a.Significance, Permutations: a.Permutations, MinSize: a.MinSize, Recent: a.Recent,
		Points: []historyPointJSON{}, Series: []historySeriesJSON{}, Regressions: []historyRegression{}, Warnings: nonNil(a.Warnings)}
	for i, p := range a.Points {
		j.Points = append(j.Points, historyPointJSON{Point: i + 1, SavedAt: p.Saved.UTC(), Commit: p.Commit, Path: p.Path, ID: p.Result.ID})
	}
	for _, s := range a.Series {
		sj := historySeriesJSON{Scenario: s.Scenario, Metric: s.Metric, Unit: s.Unit, Better: s.Better.String(), Threshold: s.Threshold.String(),
			Values: s.Values, ChangePoints: []historyChangeJSON{}}
		for _, p := range s.Index {
			sj.Points = append(sj.Points, p+1)
		}
		for _, c := range s.Changes {
			d := c.Delta
			kind := "relative"
			if d.Kind == stats.Absolute {
				kind = "absolute"
			}
			sj.ChangePoints = append(sj.ChangePoints, historyChangeJSON{Point: c.At + 1, Commit: c.Commit, P: c.P, Before: c.Before, After: c.After,
				Delta:   deltaJSON{Kind: kind, Estimate: finite(d.Estimate), Lo: finite(d.Lo), Hi: finite(d.Hi), Confidence: d.Confidence},
				Verdict: string(c.Verdict), Reason: c.Reason, Recent: c.Recent})
		}
		j.Series = append(j.Series, sj)
	}
	for _, r := range a.Regressions() {
		j.Regressions = append(j.Regressions, historyRegression{Scenario: r.Series.Scenario, Metric: r.Series.Metric, Point: r.Change.At + 1, Commit: r.Change.Commit})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
