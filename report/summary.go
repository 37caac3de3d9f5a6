package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// columns are the table's headers, shared by the table and markdown renderers.
func columns() []string {
	return []string{"SCENARIO", "MODEL", "RUNS", "OPS", "OPS/S", "ERR %", "P50", "P90", "P99", "P99.9", "MAX", "VALID"}
}

// numeric reports whether column i holds numbers (aligned right).
func numeric(i int) bool { return i >= 2 && i <= 10 }

// row is one table row: a scenario, or one latency label under it.
type row struct {
	sub   bool     // a label row; cells[0] is the label's name
	cells []string // one per column
}

// view is what every text renderer shows: the rows and, below them, the
// notes (invalid runs, errors, schedule, workload notes, the knee of each
// sweep, partial results).
type view struct {
	rows  []row
	notes []string
}

// newView aggregates r. It is deterministic: scenarios keep the result's
// order and everything drawn from a map is sorted.
func newView(r *bench.Result) view {
	var v view
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		for _, rw := range scenarioRows(s) {
			for j, c := range rw.cells {
				rw.cells[j] = oneLine(c)
			}
			v.rows = append(v.rows, rw)
		}
		for _, n := range scenarioNotes(s) {
			v.notes = append(v.notes, oneLine(n))
		}
	}
	for _, steps := range sweepGroups(r.Scenarios) {
		v.notes = append(v.notes, oneLine(kneeLine(steps)))
	}
	if len(r.Scenarios) == 0 {
		v.notes = append(v.notes, "no scenarios in this result")
	}
	if r.Partial {
		v.notes = append(v.notes, "partial result ("+r.PartialReason()+")")
	}
	return v
}

// oneLine keeps a name or note from a config file or a workload on one
// line, so it cannot break a table row or the notes' one-line-each layout.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// labelsOf returns the scenario's labels: as the result declares them, or,
// for a result without the declaration, every latency key that is not the
// overall one, a phase, a service time or the schedule lag, sorted.
func labelsOf(s *bench.ScenarioResult) []string {
	if len(s.Labels) > 0 {
		return s.Labels
	}
	var labels []string
	for _, run := range s.Runs {
		for l := range run.Latency {
			if l == bench.OverallKey || l == bench.LagKey || strings.HasSuffix(l, bench.ServiceSuffix) ||
				slices.Contains(s.Phases, l) || slices.Contains(labels, l) {
				continue
			}
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	return labels
}

func scenarioRows(s *bench.ScenarioResult) []row {
	var ops, errs int64
	var invalid int
	tputs := make([]float64, 0, len(s.Runs))
	for _, run := range s.Runs {
		ops += run.Ops
		errs += run.Errors
		tputs = append(tputs, run.Throughput)
		if !run.Valid {
			invalid++
		}
	}
	labels := labelsOf(s)
	main := []string{s.Name, modelOf(s), strconv.Itoa(len(s.Runs)), count(ops), "-", "-"}
	if len(s.Runs) > 0 {
		main[4] = Rate(stats.Median(tputs))
		main[5] = percent(errs, ops)
	}
	main = append(main, latencyCells(s.Runs, bench.OverallKey)...)
	switch {
	case len(s.Runs) == 0:
		main = append(main, "-")
	case invalid == 0:
		main = append(main, "yes")
	default:
		main = append(main, fmt.Sprintf("NO (%d/%d)", invalid, len(s.Runs)))
	}
	rows := []row{{cells: main}}
	sub := func(name, key string) {
		var n int64
		for _, run := range s.Runs {
			n += run.Latency[key].Count
		}
		if n == 0 {
			return
		}
		cells := append([]string{name, "", "", count(n), "", ""}, latencyCells(s.Runs, key)...)
		rows = append(rows, row{sub: true, cells: append(cells, "")})
	}
	if s.Model == bench.ModelOpen {
		sub("service time", bench.OverallKey+bench.ServiceSuffix)
	}
	rows = append(rows, stageRows(s)...)
	if len(labels) > 1 {
		for _, l := range labels {
			sub(l, l)
		}
	}
	for _, p := range s.Phases {
		sub(p+" (phase)", p)
	}
	return rows
}

// latencyCells are the P50, P90, P99, P99.9 and MAX cells of a label: the
// median across runs of each percentile, and the largest maximum. Runs that
// recorded nothing under the label are left out.
func latencyCells(runs []bench.RunResult, label string) []string {
	var p50, p90, p99, p999 []int64
	var maxNs int64
	for _, run := range runs {
		l, ok := run.Latency[label]
		if !ok || l.Count == 0 {
			continue
		}
		p50 = append(p50, l.P50Ns)
		p90 = append(p90, l.P90Ns)
		p99 = append(p99, l.P99Ns)
		p999 = append(p999, l.P999Ns)
		maxNs = max(maxNs, l.MaxNs)
	}
	if len(p50) == 0 {
		return []string{"-", "-", "-", "-", "-"}
	}
	return []string{
		Duration(stats.MedianInt(p50)), Duration(stats.MedianInt(p90)), Duration(stats.MedianInt(p99)),
		Duration(stats.MedianInt(p999)), Duration(maxNs),
	}
}

func scenarioNotes(s *bench.ScenarioResult) []string {
	var notes []string
	n := len(s.Runs)
	for i, run := range s.Runs {
		if run.Valid {
			continue
		}
		reasons := strings.Join(run.InvalidReasons, "; ")
		if reasons == "" {
			reasons = "no reason recorded"
		}
		notes = append(notes, fmt.Sprintf("%s run %d/%d invalid: %s", s.Name, i+1, n, reasons))
	}
	if line := errorsLine(s); line != "" {
		notes = append(notes, line)
	}
	if line := scheduleLine(s); line != "" {
		notes = append(notes, line)
	}
	notes = append(notes, stageNotes(s)...)
	if line := countersLine(s); line != "" {
		notes = append(notes, line)
	}
	if line := derivedLine(s); line != "" {
		notes = append(notes, line)
	}
	if line := ownLine(s); line != "" {
		notes = append(notes, line)
	}
	if s.Model == bench.ModelOpen {
		notes = append(notes, s.Name+": open model: latency from each op's intended start (coordinated omission corrected); service time from its actual start")
	}
	for _, note := range s.Notes {
		notes = append(notes, s.Name+": "+note)
	}
	notes = append(notes, monitorNotes(s)...)
	if sh := s.Shard; sh != nil {
		notes = append(notes, fmt.Sprintf("%s: shard %s: its share of the load above (settings are the whole load's); combine the shards with perfkit merge", s.Name, sh))
	}
	if st := s.Search; st != nil {
		line := fmt.Sprintf("%s: capacity search step %d: %s", s.Name, st.Index+1, st.Outcome)
		if st.Best {
			line += " (the answer: the highest rate that met " + strings.Join(st.SLOs, ", ") + ")"
		} else if len(st.Reasons) > 0 {
			line += " (" + strings.Join(st.Reasons, "; ") + ")"
		}
		notes = append(notes, line)
	}
	if why := s.PartialReason(); why != "" {
		notes = append(notes, s.Name+": partial ("+why+")")
	}
	return notes
}

// errorsLine lists a scenario's errors by kind, most frequent first.
func errorsLine(s *bench.ScenarioResult) string {
	var total, kinds int64
	byKind := map[string]int64{}
	for _, run := range s.Runs {
		total += run.Errors
		for k, c := range run.ErrorsByKind {
			byKind[k] += c
			kinds += c
		}
	}
	if total == 0 && kinds == 0 {
		return ""
	}
	type kc struct {
		kind string
		n    int64
	}
	var list []kc
	for k, c := range byKind {
		if c > 0 {
			list = append(list, kc{k, c})
		}
	}
	slices.SortFunc(list, func(a, b kc) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.kind, b.kind))
	})
	parts := make([]string, 0, len(list)+1)
	var abandoned int64
	for _, run := range s.Runs {
		abandoned += run.AbandonedOps
	}
	for _, e := range list {
		p := e.kind + " " + grouped(e.n)
		if e.kind == bench.KindCanceled && abandoned > 0 { // never returned, so the run ended without them
			p += " (" + grouped(abandoned) + " abandoned)"
		}
		parts = append(parts, p)
	}
	if total > kinds {
		parts = append(parts, "unclassified "+grouped(total-kinds))
	}
	return s.Name + " errors: " + strings.Join(parts, ", ")
}

// scheduleLine says how well an open-model scenario kept its schedule: the
// median target and achieved rates across runs, and total late and dropped
// ops.
func scheduleLine(s *bench.ScenarioResult) string {
	var target, achieved, lagP99 []float64
	var late, dropped, genLate, lagMax int64
	for _, run := range s.Runs {
		st := run.Schedule
		if st == nil {
			continue
		}
		target = append(target, st.TargetRate)
		achieved = append(achieved, st.AchievedRate)
		lagP99 = append(lagP99, float64(st.LagP99Ns))
		late += st.Late
		dropped += st.Dropped
		genLate += st.GeneratorLate
		lagMax = max(lagMax, st.LagMaxNs)
	}
	if len(target) == 0 {
		return ""
	}
	t, a := stats.Median(target), stats.Median(achieved)
	var b strings.Builder
	fmt.Fprintf(&b, "%s schedule: target %s/s, achieved %s/s", s.Name, Rate(t), Rate(a))
	if t > 0 {
		fmt.Fprintf(&b, " (%s%%)", Rate(a/t*100))
	}
	fmt.Fprintf(&b, ", late %s, dropped %s", grouped(late), grouped(dropped))
	if genLate > 0 {
		fmt.Fprintf(&b, " (generator late %s)", grouped(genLate))
	}
	if lagMax > 0 {
		fmt.Fprintf(&b, ", lag p99 %s max %s", Duration(int64(stats.Median(lagP99))), Duration(lagMax))
	}
	if len(target) > 1 {
		fmt.Fprintf(&b, " (%d runs: median rates, total counts)", len(target))
	}
	return b.String()
}

// countersLine lists a scenario's workload counters, summed over its runs.
// Counters named like byte counts (bytes_in, resp_bytes) print as sizes.
func countersLine(s *bench.ScenarioResult) string {
	sums := map[string]int64{}
	for _, run := range s.Runs {
		for k, c := range run.Counters {
			sums[k] += c
		}
	}
	if len(sums) == 0 {
		return ""
	}
	parts := make([]string, 0, len(sums))
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		v := grouped(sums[k])
		if k == "bytes" || strings.HasPrefix(k, "bytes_") || strings.HasSuffix(k, "_bytes") {
			v = Bytes(sums[k])
		}
		parts = append(parts, k+" "+v)
	}
	return s.Name + " counters: " + strings.Join(parts, ", ")
}

// derivedLine lists the figures a workload derived from its runs (hit
// ratios, speedup, utilisation): the median across runs of each.
func derivedLine(s *bench.ScenarioResult) string {
	vals := map[string][]float64{}
	for _, run := range s.Runs {
		for k, v := range run.Derived {
			vals[k] = append(vals[k], v)
		}
	}
	if len(vals) == 0 {
		return ""
	}
	parts := make([]string, 0, len(vals))
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		v := stats.Median(vals[k])
		var f string
		if strings.HasSuffix(k, "_ratio") || strings.HasSuffix(k, "_efficiency") || k == "efficiency" || k == "utilisation" {
			f = strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
		} else {
			f = strconv.FormatFloat(v, 'g', 3, 64)
		}
		parts = append(parts, k+" "+f)
	}
	return s.Name + ": " + strings.Join(parts, ", ")
}

// ownPerOp is perfkit's own CPU time (ns) and bytes allocated per op in a
// run: the figures compare calls cpu_per_op and alloc_per_op; ok is false
// when the run recorded neither.
func ownPerOp(run bench.RunResult) (cpu, alloc float64, ok bool) {
	if run.Ops <= 0 {
		return 0, 0, false
	}
	cpu = (run.Resources.CPUUserS + run.Resources.CPUSysS) / float64(run.Ops) * 1e9
	alloc = float64(run.Resources.AllocBytes) / float64(run.Ops)
	return cpu, alloc, cpu > 0 || alloc > 0
}

// ownLine shows perfkit's own CPU and allocations per op (medians across
// runs), saying whose they are: with an external target the load
// generator's, not the service's; in-process, they include the system
// under test's.
func ownLine(s *bench.ScenarioResult) string {
	var cpus, allocs []float64
	for _, run := range s.Runs {
		if cpu, alloc, ok := ownPerOp(run); ok {
			cpus, allocs = append(cpus, cpu), append(allocs, alloc)
		}
	}
	if len(cpus) == 0 {
		return ""
	}
	whose := "target in-process: they include the system under test's"
	if bench.TargetOf(s) == bench.TargetExternal {
		whose = "target external: the load generator's, not the service's"
	}
	return fmt.Sprintf("%s: perfkit cpu/op %s, perfkit alloc/op %s (perfkit's own process; %s)",
		s.Name, Value(stats.Median(cpus), "ns"), Value(stats.Median(allocs), "B"), whose)
}

func modelOf(s *bench.ScenarioResult) string {
	if s.Model != "" {
		return string(s.Model)
	}
	return string(s.Settings.Model())
}

// count formats an op count: exact up to 9999, then like Rate (12.3k).
func count(n int64) string {
	if n > -10000 && n < 10000 {
		return strconv.FormatInt(n, 10)
	}
	return Rate(float64(n))
}

// grouped writes n exactly, with thousands separators: 1,700,000.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// percent formats part/whole as a percentage with three significant digits.
func percent(part, whole int64) string {
	switch {
	case whole == 0:
		return "-"
	case part == 0:
		return "0%"
	}
	return Rate(float64(part)/float64(whole)*100) + "%"
}
