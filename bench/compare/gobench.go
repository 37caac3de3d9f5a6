package compare

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/perfkit/perfkit/bench/stats"
)

// GoBenchThresholdPct is the default threshold, in percent, of every Go
// benchmark unit: Go benchmarks on a quiet machine vary by a few percent
// from run to run. Override it per unit (`--threshold sec/op=2%`,
// `allocs/op=0%`).
const GoBenchThresholdPct = 5

// decodeGoBench reads `go test -bench` output, keeping the results and
// units f matches (nil: all). Each result line is a run;
// lines of the same benchmark are its runs (-count). The "-N" GOMAXPROCS
// suffix is dropped from names when the whole input has one N, so inputs
// from machines with different CPU counts still match (the environment
// check reports the difference).
func decodeGoBench(data []byte, name string, f *Filter) (*Source, error) {
	rd := benchfmt.NewReader(bytes.NewReader(data), name)
	type line struct {
		pkg, full, where string
		procs            string
		values           map[string]float64
	}
	var lines []line
	var units []string
	filtered := false // some result lines were left out by f
	src := &Source{Label: name, Format: GoBench}
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			if !f.apply(rec) {
				filtered = true
				continue
			}
			file, ln := rec.Pos()
			l := line{pkg: rec.GetConfig("pkg"), where: fmt.Sprintf("%s:%d", file, ln), values: map[string]float64{}}
			full := rec.Name.Full()
			base, procs := splitProcs(string(full))
			l.full, l.procs = base, procs
			for _, v := range rec.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					val, unit := v.Value, v.Unit
					if v.OrigUnit != "" {
						val, unit = v.OrigValue, v.OrigUnit // as written
					}
					return nil, &benchfmt.SyntaxError{FileName: file, Line: ln,
						Msg: fmt.Sprintf("Benchmark%s: %v %s: %v", full, val, unit, stats.ErrNotFinite)}
				}
				if v.Value < 0 {
					// No go test measurement (time, bytes, allocs, a rate)
					// is negative: the line is corrupt or hand-edited.
					val, unit := v.Value, v.Unit
					if v.OrigUnit != "" {
						val, unit = v.OrigValue, v.OrigUnit // as written
					}
					return nil, &benchfmt.SyntaxError{FileName: file, Line: ln,
						Msg: fmt.Sprintf("Benchmark%s: %v %s: a benchmark value must not be negative", full, val, unit)}
				}
				if !slices.Contains(units, v.Unit) {
					units = append(units, v.Unit)
				}
				l.values[v.Unit] = v.Value
			}
			lines = append(lines, l)
			if src.Env.CPUModel == "" {
				src.Env.CPUModel = rec.GetConfig("cpu")
				src.Env.OS = rec.GetConfig("goos")
				src.Env.Arch = rec.GetConfig("goarch")
				src.Env.GoVersion = rec.GetConfig("go")
			}
		}
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 && filtered {
		return nil, fmt.Errorf("no benchmark matches --filter %q", f.query)
	}
	if len(lines) == 0 {
		return nil, errors.New("no benchmark results: expected a perfkit result (JSON) or `go test -bench` output (Benchmark... lines)")
	}

	// One GOMAXPROCS for the whole input: drop it from names, keep it as
	// the environment's.
	procs := map[string]bool{}
	for _, l := range lines {
		procs[l.procs] = true
	}
	uniform := len(procs) == 1
	if uniform && lines[0].procs != "" {
		src.Env.GOMAXPROCS, _ = strconv.Atoi(lines[0].procs)
	}
	// Package-qualify only names that two packages share.
	pkgsOf := map[string]map[string]bool{}
	for _, l := range lines {
		if pkgsOf[l.full] == nil {
			pkgsOf[l.full] = map[string]bool{}
		}
		pkgsOf[l.full][l.pkg] = true
	}
	for _, l := range lines {
		n := l.full
		if !uniform && l.procs != "" {
			n += "-" + l.procs
		}
		if len(pkgsOf[l.full]) > 1 {
			n = path.Base(l.pkg) + "." + n
		}
		sc := src.scenario(n)
		if sc == nil {
			src.Scenarios = append(src.Scenarios, Scenario{Name: n})
			sc = &src.Scenarios[len(src.Scenarios)-1]
		}
		sc.Runs = append(sc.Runs, Run{Where: l.where, Valid: true, Values: l.values})
	}

	meta := rd.Units()
	for _, u := range units {
		m := Metric{Name: u, Unit: u, Threshold: stats.Percent(GoBenchThresholdPct)}
		switch meta.GetBetter(u) {
		case 1:
			m.Better = stats.HigherIsBetter
		case -1:
			m.Better = stats.LowerIsBetter
		default:
			// A rate is better higher; most other custom units (bytes,
			// counts, durations) are costs.
			m.Better = stats.LowerIsBetter
			if strings.HasSuffix(u, "/s") {
				m.Better = stats.HigherIsBetter
			}
			src.Warnings = append(src.Warnings, fmt.Sprintf("%s: unit %s: %s is better is assumed; say so with a line \"Unit %s better=%s\" (or the other way) in the benchmark output",
				name, u, m.Better, u, m.Better))
		}
		src.Metrics = append(src.Metrics, m)
	}
	return src, nil
}

// splitProcs splits "Encode/size=1k-8" into "Encode/size=1k" and "8".
func splitProcs(full string) (name, procs string) {
	i := strings.LastIndexByte(full, '-')
	if i <= 0 || i == len(full)-1 {
		return full, ""
	}
	for _, c := range full[i+1:] {
		if c < '0' || c > '9' {
			return full, ""
		}
	}
	return full[:i], full[i+1:]
}
