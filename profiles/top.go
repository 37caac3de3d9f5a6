package profiles

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// Sort orders the rows of a top or diff table.
type Sort string

// Sort orders.
const (
	// SortCum ranks functions by their cumulative cost: their own and their
	// callees'.
	SortCum Sort = "cum"
	// SortFlat ranks functions by their own cost.
	SortFlat Sort = "flat"
)

// DefaultTop is how many rows a top table shows unless told.
const DefaultTop = 20

// ParseSort parses "cum" or "flat".
func ParseSort(s string) (Sort, error) {
	switch Sort(strings.ToLower(strings.TrimSpace(s))) {
	case SortCum:
		return SortCum, nil
	case SortFlat:
		return SortFlat, nil
	}
	return "", fmt.Errorf("sort %q: accepted: cum, flat", s)
}

// TopOptions select and order the rows of a top table.
type TopOptions struct {
	// N is how many rows to keep; 0 keeps them all.
	N int
	// Sort is SortCum (the default) or SortFlat.
	Sort Sort
	// Focus keeps only samples with a frame matching it (function name or
	// file), Ignore drops those with one; as pprof's -focus and -ignore.
	// Percentages stay relative to the whole profile.
	Focus, Ignore *regexp.Regexp
	// SampleType is the value to rank by (pprof's -sample_index, by name:
	// "alloc_objects"); "" takes the profile's default.
	SampleType string
}

// TopRow is one function of a top table. Flat is what the function itself
// cost, Cum what it and its callees did; the percentages are of the whole
// profile's total, and SumPct the running total of FlatPct down the table.
type TopRow struct {
	Function string  `json:"function"`
	Flat     int64   `json:"flat"`
	FlatPct  float64 `json:"flat_pct"`
	SumPct   float64 `json:"sum_pct"`
	Cum      int64   `json:"cum"`
	CumPct   float64 `json:"cum_pct"`
}

// TopReport is a top table and what it was made of.
type TopReport struct {
	// Title names what was profiled (a scenario, a file); set by the caller.
	Title string `json:"title,omitempty"`
	// File is the profile's path, when it came from one.
	File       string `json:"file,omitempty"`
	SampleType string `json:"sample_type"`
	Unit       string `json:"unit"`
	Sort       Sort   `json:"sort"`
	// Total is the sum of the sample type over the whole profile; Shown the
	// part of it left after Focus and Ignore.
	Total int64 `json:"total"`
	Shown int64 `json:"shown"`
	// DurationNs is the profile's window, 0 when it has none (a snapshot).
	DurationNs int64 `json:"duration_ns,omitempty"`
	// Ops is the op count perfkit recorded in the profile, 0 when none.
	Ops int64 `json:"ops,omitempty"`
	// Covers says what the profile holds, when perfkit took it (Coverage).
	Covers string `json:"covers,omitempty"`
	// Functions is how many functions the (focused) profile has; Rows the
	// first N of them.
	Functions int      `json:"functions"`
	Rows      []TopRow `json:"rows"`
}

// Top summarises p by function, as `go tool pprof -top` does; a profile
// perfkit took of itself is read without its own profiling (ExcludeOwn).
func Top(p *profile.Profile, opts TopOptions) (*TopReport, error) {
	p = withoutOwn(p)
	idx, err := sampleIndex(p, opts.SampleType)
	if err != nil {
		return nil, err
	}
	sortBy := opts.Sort
	if sortBy == "" {
		sortBy = SortCum
	}
	st := p.SampleType[idx]
	r := &TopReport{SampleType: st.Type, Unit: st.Unit, Sort: sortBy, DurationNs: p.DurationNanos, Rows: []TopRow{}}
	if n, ok := Ops(p); ok {
		r.Ops = n
	}
	r.Covers = Coverage(p)
	for _, s := range p.Sample {
		r.Total += abs(s.Value[idx])
	}
	fp := filtered(p, opts.Focus, opts.Ignore)
	flat, cum, depth := byFunction(fp, idx)
	for _, s := range fp.Sample {
		r.Shown += s.Value[idx]
	}
	names := make([]string, 0, len(cum))
	for name := range cum {
		names = append(names, name)
	}
	r.Functions = len(names)
	slices.SortFunc(names, func(a, b string) int {
		ka, kb := cum[a], cum[b]
		sa, sb := flat[a], flat[b]
		if sortBy == SortFlat {
			ka, kb, sa, sb = sa, sb, ka, kb
		}
		// Ties (a caller that only calls one callee) list the callee first:
		// it is the more specific answer.
		return cmp.Or(cmp.Compare(abs(kb), abs(ka)), cmp.Compare(abs(sb), abs(sa)), cmp.Compare(depth[a], depth[b]), strings.Compare(a, b))
	})
	if opts.N > 0 && len(names) > opts.N {
		names = names[:opts.N]
	}
	var sum float64
	for _, name := range names {
		row := TopRow{Function: name, Flat: flat[name], Cum: cum[name]}
		row.FlatPct = pct(row.Flat, r.Total)
		row.CumPct = pct(row.Cum, r.Total)
		sum += row.FlatPct
		row.SumPct = sum
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}

// sampleIndex finds the sample type to use: the one named, else the
// profile's default, else the last (pprof's rule).
func sampleIndex(p *profile.Profile, name string) (int, error) {
	if len(p.SampleType) == 0 {
		return 0, fmt.Errorf("profile has no sample types")
	}
	want := name
	if want == "" {
		want = p.DefaultSampleType
	}
	if want == "" {
		return len(p.SampleType) - 1, nil
	}
	for i, st := range p.SampleType {
		if st.Type == want {
			return i, nil
		}
	}
	if name == "" { // a default naming no type: pprof falls back to the last
		return len(p.SampleType) - 1, nil
	}
	return 0, fmt.Errorf("sample type %q is not in the profile (it has: %s)", name, sampleTypeList(p))
}

func sampleTypeList(p *profile.Profile) string {
	var names []string
	for _, st := range p.SampleType {
		names = append(names, st.Type)
	}
	return strings.Join(names, ", ")
}

// filtered applies focus and ignore to a copy of p (p itself is left alone).
func filtered(p *profile.Profile, focus, ignore *regexp.Regexp) *profile.Profile {
	if focus == nil && ignore == nil {
		return p
	}
	c := p.Copy()
	c.FilterSamplesByName(focus, ignore, nil, nil)
	return c
}

// byFunction adds each sample's value to its leaf function (flat) and, once
// per sample, to every function on its stack (cum), so recursion does not
// count twice. Inlined frames count as the functions they came from. depth
// is how close to a leaf each function comes (0: a leaf).
func byFunction(p *profile.Profile, idx int) (flat, cum map[string]int64, depth map[string]int) {
	flat, cum, depth = map[string]int64{}, map[string]int64{}, map[string]int{}
	seen := map[string]bool{}
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v == 0 {
			continue
		}
		clear(seen)
		d := 0
		for _, loc := range s.Location {
			for _, name := range frameNames(loc) {
				if d == 0 {
					flat[name] += v
				}
				if !seen[name] {
					seen[name] = true
					cum[name] += v
				}
				if old, ok := depth[name]; !ok || d < old {
					depth[name] = d
				}
				d++
			}
		}
	}
	return flat, cum, depth
}

// frameNames are a location's functions, innermost (inlined) first; an
// unsymbolised location is its address.
func frameNames(loc *profile.Location) []string {
	if len(loc.Line) == 0 {
		return []string{fmt.Sprintf("0x%x", loc.Address)}
	}
	names := make([]string, 0, len(loc.Line))
	for _, ln := range loc.Line {
		if ln.Function != nil && ln.Function.Name != "" {
			names = append(names, ln.Function.Name)
		} else {
			names = append(names, fmt.Sprintf("0x%x", loc.Address))
		}
	}
	return names
}

func pct(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(v) / float64(total)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
