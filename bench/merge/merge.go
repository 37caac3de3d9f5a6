// Package merge combines the results of the shards of one sharded run
// (perfkit run --shard I/N on several machines) into one result that every
// other command treats like a single run: the library behind perfkit merge.
//
// The merge is exact where the result keeps what it needs: HDR histograms
// are decoded, merged and summarised again, so the merged p99 is the p99 of
// every op of every shard; ops, errors, counters and schedule counts add up.
// Runs are paired by index across shards. What the shards only kept as
// summaries is combined as documented on Merge.
package merge

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Input is one shard's result and the name it goes by in messages (its
// path).
type Input struct {
	Name   string
	Result *bench.Result
}

// Options configure Merge.
type Options struct {
	// AllowPartial merges the shards given even when some are missing (or
	// stopped before all their runs); the result is marked partial.
	AllowPartial bool
	// ID and Now stamp the merged result (defaults: the first shard's ID
	// with "-merged", time.Now).
	ID  string
	Now time.Time
}

// MismatchError says why results cannot be merged: they are not shards of
// one run, a shard is given twice, or (without AllowPartial) one is missing.
type MismatchError struct {
	Msg string
}

func (e *MismatchError) Error() string { return e.Msg }

func mismatch(format string, args ...any) error {
	return &MismatchError{Msg: fmt.Sprintf(format, args...)}
}

// Merge checks that the inputs are the shards of one run — the same
// scenarios in the same order with the same workload, params and settings,
// the same shard count, each index once — and combines them:
//
//   - latency: each key's histograms merged exactly and summarised again;
//   - ops, errors, errors by kind, counters, late and dropped ops, CPU
//     time, GC counts and bytes allocated: summed; max RSS: the largest;
//   - throughput, and the open model's target and achieved rates: summed
//     (the shards ran side by side); elapsed: the span from the first
//     shard's measured start to the last one's end;
//   - validity: valid when every shard's run is, with each shard's reasons
//     prefixed "shard I: ";
//   - intervals: aligned by wall-clock time (a run's started_at + t_ms,
//     rounded to the nearest interval of the earliest start); ops and
//     errors summed, p50 and p99 the largest of the shards' (an upper bound:
//     intervals keep no histogram);
//   - derived figures: the ops-weighted mean of the shards';
//   - env: the first shard's, with the CPU and GOMAXPROCS counts summed and
//     distinct hostnames and CPU models joined, so compare warns when a
//     merged result meets one from a different number of machines;
//   - alerts: every shard's events; thresholds are left for the caller to
//     check again on the merged scenario.
//
// Missing shards are an error unless opts.AllowPartial. Errors are
// *MismatchError for inputs that do not belong together, and name the
// input and scenario for data that cannot be merged (a histogram missing).
func Merge(inputs []Input, opts Options) (*bench.Result, error) {
	if len(inputs) == 0 {
		return nil, mismatch("no results to merge")
	}
	shards, count, err := order(inputs)
	if err != nil {
		return nil, err
	}
	var missing []bench.Shard
	present := map[int]bool{}
	for _, s := range shards {
		present[s.index] = true
	}
	for i := range count {
		if !present[i] {
			missing = append(missing, bench.Shard{Index: i, Count: count})
		}
	}
	if len(missing) > 0 && !opts.AllowPartial {
		return nil, mismatch("missing shard %s of %d (have %s; --allow-partial merges the shards given and marks the result partial)",
			strings.Join(indices(missing), ", "), count, haveList(shards))
	}
	first := shards[0].in.Result
	out := &bench.Result{
		SchemaVersion: bench.SchemaVersion,
		ID:            cmp.Or(opts.ID, first.ID+"-merged"),
		CreatedAt:     opts.Now,
		Partial:       len(missing) > 0,
		Env:           mergeEnv(shards),
		Scenarios:     make([]bench.ScenarioResult, 0, len(first.Scenarios)),
	}
	if out.CreatedAt.IsZero() {
		out.CreatedAt = time.Now().UTC()
	}
	for _, s := range shards {
		out.Partial = out.Partial || s.in.Result.Partial
	}
	for k := range first.Scenarios {
		sr, err := mergeScenario(shards, k, count, missing)
		if err != nil {
			return nil, err
		}
		out.Partial = out.Partial || sr.Partial
		out.Scenarios = append(out.Scenarios, sr)
	}
	return out, nil
}

// indices lists the shards' indices, as the merge's errors and notes name them.
func indices(shards []bench.Shard) []string {
	out := make([]string, len(shards))
	for i, sh := range shards {
		out[i] = strconv.Itoa(sh.Index)
	}
	return out
}

// shard is one input with its place.
type shard struct {
	in    Input
	index int
}

// order checks each input is a shard result whose scenarios all carry the
// same shard, that the inputs agree on the shard count and the scenarios,
// and that no index is given twice; it returns them by index.
func order(inputs []Input) ([]shard, int, error) {
	var shards []shard
	seen := map[int]string{}
	count := 0
	for _, in := range inputs {
		r := in.Result
		if r == nil {
			return nil, 0, mismatch("%s: no result", in.Name)
		}
		if r.SchemaVersion != bench.SchemaVersion {
			return nil, 0, mismatch("%s: schema_version %d, this perfkit merges %d", in.Name, r.SchemaVersion, bench.SchemaVersion)
		}
		if len(r.Scenarios) == 0 {
			return nil, 0, mismatch("%s: no scenarios", in.Name)
		}
		var sh *bench.Shard
		for _, sc := range r.Scenarios {
			switch {
			case sc.Shard == nil:
				return nil, 0, mismatch("%s: scenario %s is not a shard's result (run it with --shard I/N)", in.Name, sc.Name)
			case sh == nil:
				sh = sc.Shard
			case *sc.Shard != *sh:
				return nil, 0, mismatch("%s: scenario %s is shard %s, scenario %s shard %s: one file holds one shard", in.Name, sc.Name, sc.Shard, r.Scenarios[0].Name, sh)
			}
		}
		if count == 0 {
			count = sh.Count
		} else if sh.Count != count {
			return nil, 0, mismatch("%s: shard %s of %d shards, %s: of %d: the results are not shards of one run", in.Name, sh, sh.Count, inputs[0].Name, count)
		}
		if sh.Index < 0 || sh.Index >= sh.Count {
			return nil, 0, mismatch("%s: shard %s: the index must be 0 to %d", in.Name, sh, sh.Count-1)
		}
		if prev, dup := seen[sh.Index]; dup {
			return nil, 0, mismatch("shard %s given twice: %s and %s", sh, prev, in.Name)
		}
		seen[sh.Index] = in.Name
		shards = append(shards, shard{in: in, index: sh.Index})
	}
	slices.SortFunc(shards, func(a, b shard) int { return cmp.Compare(a.index, b.index) })
	ref := shards[0]
	for _, s := range shards[1:] {
		if err := sameScenarios(ref, s); err != nil {
			return nil, 0, err
		}
	}
	return shards, count, nil
}

// sameScenarios checks two shards ran the same scenarios the same way.
func sameScenarios(a, b shard) error {
	as, bs := a.in.Result.Scenarios, b.in.Result.Scenarios
	names := func(ss []bench.ScenarioResult) string {
		n := make([]string, len(ss))
		for i, s := range ss {
			n[i] = s.Name
		}
		return strings.Join(n, ", ")
	}
	if len(as) != len(bs) || names(as) != names(bs) {
		return mismatch("scenarios differ: %s has %s, %s has %s", a.in.Name, names(as), b.in.Name, names(bs))
	}
	for k := range as {
		x, y := &as[k], &bs[k]
		where := func(what string, vx, vy any) error {
			return mismatch("scenario %s: %s: %v in %s, %v in %s", x.Name, what, vx, a.in.Name, vy, b.in.Name)
		}
		sx, sy := x.Settings, y.Settings
		sx.Shard, sy.Shard, sx.StartAt, sy.StartAt = nil, nil, time.Time{}, time.Time{}
		switch {
		case x.Workload != y.Workload:
			return where("workload differs", x.Workload, y.Workload)
		case x.Model != y.Model:
			return where("model differs", x.Model, y.Model)
		case !reflect.DeepEqual(normalize(x.Params), normalize(y.Params)):
			return where("params differ", paramDiff(x.Params, y.Params), paramDiff(y.Params, x.Params))
		case sx != sy:
			return where("settings differ", settingsDiff(sx, sy), settingsDiff(sy, sx))
		}
	}
	return nil
}

// normalize treats a nil and an empty params map alike.
func normalize(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// paramDiff lists a's params that b does not have the same.
func paramDiff(a, b map[string]any) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, fmt.Sprintf("%s=%v", k, a[k]))
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, " ")
}

// settingsDiff lists the settings of a that differ from b's, by JSON name.
func settingsDiff(a, b bench.Settings) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || va.Field(i).Interface() == vb.Field(i).Interface() {
			continue
		}
		out = append(out, fmt.Sprintf("%s=%v", strings.TrimSuffix(name, "_ns"), va.Field(i).Interface()))
	}
	return strings.Join(out, " ")
}

func haveList(shards []shard) string {
	var out []string
	for _, s := range shards {
		out = append(out, strconv.Itoa(s.index))
	}
	return strings.Join(out, ", ")
}

// mergeScenario merges scenario k of every shard.
func mergeScenario(shards []shard, k, count int, missing []bench.Shard) (bench.ScenarioResult, error) {
	ref := shards[0].in.Result.Scenarios[k]
	sr := bench.ScenarioResult{
		Name:     ref.Name,
		Workload: ref.Workload,
		Model:    ref.Model,
		Params:   ref.Params,
		Settings: ref.Settings,
		Labels:   slices.Clone(ref.Labels),
		Phases:   slices.Clone(ref.Phases),
		Notes:    slices.Clone(ref.Notes),
		Target:   ref.Target,
		Partial:  len(missing) > 0,
		// Says why it is partial: the report reads "shard 3/4 missing",
		// not "stopped early".
		MissingShards: slices.Clone(missing),
		Runs:          []bench.RunResult{},
		Sweep:         ref.Sweep,
		Search:        ref.Search,
	}
	sr.Settings.Shard = nil
	note := fmt.Sprintf("merged from %d of %d shards", len(shards), count)
	if len(missing) > 0 {
		note += " (missing " + strings.Join(indices(missing), ", ") + ")"
	}
	sr.Notes = append(sr.Notes, note)
	runs := 0
	for _, s := range shards {
		sc := &s.in.Result.Scenarios[k]
		sr.Partial = sr.Partial || sc.Partial
		if len(missing) > 0 && sc.PartialReason() == "stopped early" {
			// The missing shards name why the merge is partial; this
			// shard's own early stop would go unsaid.
			sr.Notes = append(sr.Notes, fmt.Sprintf("shard %d/%d stopped early", s.index, count))
		}
		runs = max(runs, len(sc.Runs))
		for _, n := range sc.Notes {
			if !slices.Contains(sr.Notes, n) {
				sr.Notes = append(sr.Notes, n)
			}
		}
		for _, l := range sc.Labels {
			if !slices.Contains(sr.Labels, l) {
				sr.Labels = append(sr.Labels, l)
			}
		}
		sr.Alerts = append(sr.Alerts, sc.Alerts...)
	}
	slices.SortStableFunc(sr.Alerts, func(a, b bench.AlertEvent) int { return a.Time.Compare(b.Time) })
	for i := range runs {
		var parts []part
		for _, s := range shards {
			sc := &s.in.Result.Scenarios[k]
			if idx := slices.IndexFunc(sc.Runs, func(r bench.RunResult) bool { return r.Index == i }); idx >= 0 {
				parts = append(parts, part{s, &sc.Runs[idx]})
			}
		}
		if len(parts) < len(shards) {
			if len(missing) == 0 && !sr.Partial {
				var have []string
				for _, p := range parts {
					have = append(have, strconv.Itoa(p.shard.index))
				}
				return sr, mismatch("scenario %s: run %d is in shards %s only, not in all %d", sr.Name, i, strings.Join(have, ", "), len(shards))
			}
		}
		run, err := mergeRun(sr.Name, sr.Settings.Interval, parts)
		if err != nil {
			return sr, err
		}
		run.Index = i
		run.Partial = run.Partial || len(parts) < count
		sr.Partial = sr.Partial || run.Partial
		sr.Runs = append(sr.Runs, run)
	}
	return sr, nil
}

// part is one shard's run i.
type part struct {
	shard shard
	run   *bench.RunResult
}

// mergeRun merges the shards' run of one index.
func mergeRun(scenario string, interval time.Duration, parts []part) (bench.RunResult, error) {
	out := bench.RunResult{
		Valid:          true,
		InvalidReasons: []string{},
		Latency:        map[string]bench.LatencySummary{},
		ErrorsByKind:   map[string]int64{},
		Counters:       map[string]int64{},
		Intervals:      []bench.IntervalSummary{},
	}
	var end time.Time
	derived := map[string]float64{}
	var lagMax int64
	for i, p := range parts {
		r := p.run
		if i == 0 || r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		if e := r.StartedAt.Add(time.Duration(r.ElapsedNs)); e.After(end) {
			end = e
		}
		out.Ops += r.Ops
		out.Errors += r.Errors
		out.AbandonedOps += r.AbandonedOps
		out.Throughput += r.Throughput
		out.Partial = out.Partial || r.Partial
		if !r.Valid {
			out.Valid = false
			reasons := r.InvalidReasons
			if len(reasons) == 0 {
				reasons = []string{"marked invalid"}
			}
			for _, why := range reasons {
				out.InvalidReasons = append(out.InvalidReasons, fmt.Sprintf("shard %d: %s", p.shard.index, why))
			}
		}
		addAll(out.ErrorsByKind, r.ErrorsByKind)
		addAll(out.Counters, r.Counters)
		for k, v := range r.Derived {
			derived[k] += v * float64(r.Ops)
		}
		if st := r.Schedule; st != nil {
			if out.Schedule == nil {
				out.Schedule = &bench.ScheduleStats{}
			}
			o := out.Schedule
			o.TargetRate += st.TargetRate
			o.AchievedRate += st.AchievedRate
			o.Late += st.Late
			o.Dropped += st.Dropped
			o.GeneratorLate += st.GeneratorLate
			o.LagP99Ns = max(o.LagP99Ns, st.LagP99Ns)
			lagMax = max(lagMax, st.LagMaxNs)
		}
		res := &out.Resources
		res.CPUUserS += r.Resources.CPUUserS
		res.CPUSysS += r.Resources.CPUSysS
		res.MaxRSSBytes = max(res.MaxRSSBytes, r.Resources.MaxRSSBytes)
		res.GCCount += r.Resources.GCCount
		res.GCPauseTotalNs += r.Resources.GCPauseTotalNs
		res.AllocBytes += r.Resources.AllocBytes
	}
	out.ElapsedNs = max(int64(end.Sub(out.StartedAt)), 0)
	if out.Ops > 0 {
		out.ErrorRate = float64(out.Errors) / float64(out.Ops)
		if len(derived) > 0 {
			out.Derived = make(map[string]float64, len(derived))
			for k, v := range derived {
				out.Derived[k] = v / float64(out.Ops)
			}
		}
	}
	if err := mergeLatency(&out, scenario, parts); err != nil {
		return out, err
	}
	if st := out.Schedule; st != nil {
		st.LagMaxNs = lagMax
		if lag, ok := out.Latency[bench.LagKey]; ok {
			st.LagP99Ns, st.LagMaxNs = lag.P99Ns, lag.MaxNs
		}
	}
	out.Intervals = mergeIntervals(out.StartedAt, interval, parts)
	return out, nil
}

func addAll(dst, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// mergeLatency merges each latency key's histograms across the parts.
func mergeLatency(out *bench.RunResult, scenario string, parts []part) error {
	keys := map[string]bool{}
	for _, p := range parts {
		for k := range p.run.Latency {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		ls := make([]bench.LatencySummary, len(parts))
		for i, p := range parts {
			ls[i] = p.run.Latency[k]
		}
		h, err := bench.MergeHistograms(ls)
		if he := (*bench.HistogramError)(nil); errors.As(err, &he) {
			p := parts[he.Index]
			return fmt.Errorf("%s: scenario %s run %d: latency %s: %w", p.shard.in.Name, scenario, p.run.Index, k, he)
		}
		if h == nil {
			h = bench.NewHistogram()
		}
		out.Latency[k] = bench.Summarize(h)
	}
	return nil
}

// mergeIntervals places every shard's intervals on one wall-clock axis that
// starts at the earliest measured start.
func mergeIntervals(start time.Time, interval time.Duration, parts []part) []bench.IntervalSummary {
	if interval <= 0 {
		interval = bench.DefaultInterval
	}
	byIdx := map[int64]*bench.IntervalSummary{}
	for _, p := range parts {
		off := p.run.StartedAt.Sub(start)
		for _, iv := range p.run.Intervals {
			at := off + time.Duration(iv.TMs)*time.Millisecond
			idx := int64(math.Round(float64(at) / float64(interval)))
			m := byIdx[idx]
			if m == nil {
				m = &bench.IntervalSummary{TMs: idx * interval.Milliseconds()}
				byIdx[idx] = m
			}
			m.Ops += iv.Ops
			m.Errors += iv.Errors
			m.P50Ns = max(m.P50Ns, iv.P50Ns)
			m.P99Ns = max(m.P99Ns, iv.P99Ns)
			// each shard's share of the target: they add up to the whole
			m.Target += iv.Target
			m.Achieved += iv.Achieved
			m.Late += iv.Late
			m.GeneratorLate += iv.GeneratorLate
		}
	}
	out := make([]bench.IntervalSummary, 0, len(byIdx))
	for _, k := range slices.Sorted(maps.Keys(byIdx)) {
		out = append(out, *byIdx[k])
	}
	return out
}

// mergeEnv describes the shards' machines together.
func mergeEnv(shards []shard) bench.Env {
	env := shards[0].in.Result.Env
	hosts, cpus := []string{}, []string{}
	env.NumCPU, env.GOMAXPROCS = 0, 0
	for _, s := range shards {
		e := s.in.Result.Env
		env.NumCPU += e.NumCPU
		env.GOMAXPROCS += e.GOMAXPROCS
		if e.Hostname != "" && !slices.Contains(hosts, e.Hostname) {
			hosts = append(hosts, e.Hostname)
		}
		if e.CPUModel != "" && !slices.Contains(cpus, e.CPUModel) {
			cpus = append(cpus, e.CPUModel)
		}
	}
	env.Hostname = strings.Join(hosts, ",")
	env.CPUModel = strings.Join(cpus, " + ")
	return env
}

// IsMismatch reports whether err says the inputs do not belong together.
func IsMismatch(err error) bool {
	var me *MismatchError
	return errors.As(err, &me)
}
