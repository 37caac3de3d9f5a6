package report

import (
	"fmt"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// maxEpisodes is how many firings of one alert rule a note spells out.
const maxEpisodes = 3

// monitorNotes mark a scenario's thresholds and alerts in the table's notes:
// one line for the thresholds, failed ones in capitals, and one per alert
// rule that fired, with its episodes.
func monitorNotes(s *bench.ScenarioResult) []string {
	var notes []string
	if len(s.Thresholds) > 0 {
		parts := make([]string, 0, len(s.Thresholds))
		failed := 0
		for _, t := range s.Thresholds {
			verdict, val := "passed", valueText(t.Value, t.Unit)
			if !t.Passed {
				verdict = "FAILED"
				failed++
			}
			if t.Note != "" {
				val = t.Note
			}
			parts = append(parts, fmt.Sprintf("%s %s (%s)", t.Expr, verdict, val))
		}
		head := "thresholds passed"
		if failed > 0 {
			head = fmt.Sprintf("thresholds FAILED (%d of %d)", failed, len(s.Thresholds))
		}
		notes = append(notes, s.Name+" "+head+": "+strings.Join(parts, ", "))
	}
	type episode struct{ fire, end *bench.AlertEvent }
	var order []string
	byRule := map[string][]*episode{}
	open := map[string]*episode{}
	for i := range s.Alerts {
		ev := &s.Alerts[i]
		key := ev.Rule + "\x00" + fmt.Sprint(ev.Run)
		if ev.State == bench.AlertFiring {
			if _, seen := byRule[ev.Rule]; !seen {
				order = append(order, ev.Rule)
			}
			ep := &episode{fire: ev}
			byRule[ev.Rule] = append(byRule[ev.Rule], ep)
			open[key] = ep
			continue
		}
		if ep := open[key]; ep != nil {
			ep.end = ev
			delete(open, key)
		}
	}
	for _, rule := range order {
		eps := byRule[rule]
		first := eps[0].fire
		var b strings.Builder
		fmt.Fprintf(&b, "%s alert %s (%s, %s) fired", s.Name, rule, first.Severity, first.Expr)
		if len(eps) > 1 {
			fmt.Fprintf(&b, " %d times", len(eps))
		}
		b.WriteString(":")
		for i, ep := range eps {
			if i == maxEpisodes {
				b.WriteString(" …")
				break
			}
			if i > 0 {
				b.WriteString(";")
			}
			f := ep.fire
			fmt.Fprintf(&b, " run %d at %s (%s)", f.Run+1, seconds(f.TMs), valueText(f.Value, f.Unit))
			switch {
			case ep.end == nil:
			case ep.end.Reason == "run ended":
				b.WriteString(" until the run ended")
			default:
				fmt.Fprintf(&b, ", resolved at %s", seconds(ep.end.TMs))
			}
			if f.Abort {
				b.WriteString(", aborted the run")
			}
		}
		notes = append(notes, b.String())
	}
	return notes
}

func seconds(ms int64) string { return fmt.Sprintf("%.1fs", float64(ms)/1000) }
