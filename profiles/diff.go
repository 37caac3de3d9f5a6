package profiles

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// DiffOptions select and order the rows of a diff.
type DiffOptions struct {
	// N is how many rows to keep; 0 keeps them all.
	N int
	// Sort is the cost that ranks functions: SortFlat (the default: the
	// function's own cost, so a hot leaf outranks the callers it makes
	// slower) or SortCum.
	Sort Sort
	// Focus and Ignore apply to both profiles, as in TopOptions.
	Focus, Ignore *regexp.Regexp
	// SampleType as in TopOptions; "" takes the base profile's default.
	SampleType string
	// Grew keeps only the functions whose cost grew (regression attribution);
	// otherwise the biggest changes either way come first.
	Grew bool
	// Raw compares totals even when both profiles carry op counts.
	Raw bool
}

// DiffRow is one function's cost in both profiles (per op when the report
// is PerOp), and the change: absolute, and relative to the base (+Inf when
// the base had none of it, -100 when the new profile has none).
type DiffRow struct {
	Function     string  `json:"function"`
	BaseFlat     float64 `json:"base_flat"`
	NewFlat      float64 `json:"new_flat"`
	FlatDelta    float64 `json:"flat_delta"`
	FlatDeltaPct float64 `json:"-"`
	BaseCum      float64 `json:"base_cum"`
	NewCum       float64 `json:"new_cum"`
	CumDelta     float64 `json:"cum_delta"`
	CumDeltaPct  float64 `json:"-"`
	// Via names, for a function whose own cost grew, the caller that growth
	// came through: the outermost of the new functions calling it (the new
	// code that brought it in), or, when it is not new, its nearest caller
	// outside the runtime, on the call path that grew most.
	Via string `json:"via,omitempty"`
}

// DiffReport is what changed between two profiles, function by function.
type DiffReport struct {
	// Title names what was compared; set by the caller.
	Title      string `json:"title,omitempty"`
	BaseFile   string `json:"base_file,omitempty"`
	NewFile    string `json:"new_file,omitempty"`
	SampleType string `json:"sample_type"`
	Unit       string `json:"unit"`
	Sort       Sort   `json:"sort"`
	// PerOp is true when every value is divided by its profile's op count
	// (both profiles carry one); otherwise values are the profiles' totals.
	PerOp   bool  `json:"per_op"`
	BaseOps int64 `json:"base_ops,omitempty"`
	NewOps  int64 `json:"new_ops,omitempty"`
	// BaseTotal and NewTotal are the whole profiles' totals (per op when
	// PerOp), before Focus and Ignore.
	BaseTotal float64 `json:"base_total"`
	NewTotal  float64 `json:"new_total"`
	// Grew is set when only functions whose cost grew are listed.
	Grew bool `json:"grew_only,omitempty"`
	// Changed is how many functions changed (grew, with Grew); Rows are the
	// first N of them.
	Changed int       `json:"changed"`
	Rows    []DiffRow `json:"rows"`
}

// Diff compares two profiles of the same sample type by function, the
// functions whose cost changed most first. Values are per op when both
// profiles carry their op counts (see SetOps), so runs of different lengths
// compare fairly.
// Profiles perfkit took of itself are read without its own profiling
// (ExcludeOwn), older files too.
func Diff(base, new *profile.Profile, opts DiffOptions) (*DiffReport, error) {
	base, new = withoutOwn(base), withoutOwn(new)
	bi, err := sampleIndex(base, opts.SampleType)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	st := base.SampleType[bi]
	ni := -1
	for i, t := range new.SampleType {
		if t.Type == st.Type && t.Unit == st.Unit {
			ni = i
			break
		}
	}
	if ni < 0 {
		return nil, fmt.Errorf("different sample types: base has %s, new has %s: diff two profiles of the same kind", typeUnits(base), typeUnits(new))
	}
	bk, bok := Comment(base, CommentKind)
	nk, nok := Comment(new, CommentKind)
	if bok && nok && bk != nk {
		return nil, fmt.Errorf("different kinds: base is a %s profile, new a %s profile: diff two profiles of the same kind", bk, nk)
	}
	sortBy := opts.Sort
	if sortBy == "" {
		sortBy = SortFlat
	}
	r := &DiffReport{SampleType: st.Type, Unit: st.Unit, Sort: sortBy, Grew: opts.Grew, Rows: []DiffRow{}}
	bscale, nscale := 1.0, 1.0
	if bops, ok := Ops(base); ok {
		if nops, ok := Ops(new); ok && !opts.Raw {
			r.PerOp, r.BaseOps, r.NewOps = true, bops, nops
			bscale, nscale = 1/float64(bops), 1/float64(nops)
		}
	}
	for _, s := range base.Sample {
		r.BaseTotal += float64(s.Value[bi]) * bscale
	}
	for _, s := range new.Sample {
		r.NewTotal += float64(s.Value[ni]) * nscale
	}
	fb, fn := filtered(base, opts.Focus, opts.Ignore), filtered(new, opts.Focus, opts.Ignore)
	bflat, bcum, depth := byFunction(fb, bi)
	nflat, ncum, ndepth := byFunction(fn, ni)
	for name, d := range ndepth {
		if old, ok := depth[name]; !ok || d < old {
			depth[name] = d
		}
	}
	names := map[string]bool{}
	for n := range bcum {
		names[n] = true
	}
	for n := range ncum {
		names[n] = true
	}
	for name := range names {
		row := DiffRow{
			Function: name,
			BaseFlat: float64(bflat[name]) * bscale, NewFlat: float64(nflat[name]) * nscale,
			BaseCum: float64(bcum[name]) * bscale, NewCum: float64(ncum[name]) * nscale,
		}
		row.FlatDelta, row.FlatDeltaPct = change(row.BaseFlat, row.NewFlat)
		row.CumDelta, row.CumDeltaPct = change(row.BaseCum, row.NewCum)
		key := row.key(sortBy)
		if key == 0 || opts.Grew && key < 0 {
			continue
		}
		r.Rows = append(r.Rows, row)
	}
	slices.SortFunc(r.Rows, func(a, b DiffRow) int {
		ka, kb := a.key(sortBy), b.key(sortBy)
		other := SortCum
		if sortBy == SortCum {
			other = SortFlat
		}
		return cmp.Or(cmp.Compare(math.Abs(kb), math.Abs(ka)), cmp.Compare(math.Abs(b.key(other)), math.Abs(a.key(other))),
			cmp.Compare(depth[a.Function], depth[b.Function]), strings.Compare(a.Function, b.Function))
	})
	r.Changed = len(r.Rows)
	if opts.N > 0 && len(r.Rows) > opts.N {
		r.Rows = r.Rows[:opts.N]
	}
	var bst, nst map[string]stack
	for i := range r.Rows {
		if r.Rows[i].FlatDelta <= 0 {
			continue
		}
		if nst == nil {
			bst, nst = stacks(fb, bi, bscale), stacks(fn, ni, nscale)
		}
		r.Rows[i].Via = growthVia(r.Rows[i].Function, bst, nst, bcum)
	}
	return r, nil
}

// stack is one call path (leaf first) and its value.
type stack struct {
	names []string
	v     float64
}

// stacks sums p's samples by call path of function names.
func stacks(p *profile.Profile, idx int, scale float64) map[string]stack {
	out := map[string]stack{}
	for _, s := range p.Sample {
		if s.Value[idx] == 0 {
			continue
		}
		var names []string
		for _, loc := range s.Location {
			names = append(names, frameNames(loc)...)
		}
		if len(names) == 0 {
			continue
		}
		k := strings.Join(names, "\x00")
		st := out[k]
		st.names = names
		st.v += float64(s.Value[idx]) * scale
		out[k] = st
	}
	return out
}

// growthVia finds, on the call path ending in fn that grew most, the caller
// the growth came through (see DiffRow.Via); "" when fn itself is the new
// code.
func growthVia(fn string, base, new map[string]stack, baseCum map[string]int64) string {
	var path []string
	var most float64
	var mostKey string
	for k, s := range new {
		if s.names[0] != fn {
			continue
		}
		if d := s.v - base[k].v; d > most || d == most && path != nil && k < mostKey {
			most, path, mostKey = d, s.names, k
		}
	}
	if path == nil {
		return ""
	}
	if baseCum[fn] == 0 {
		top := fn
		for _, name := range path[1:] {
			if baseCum[name] != 0 {
				break
			}
			top = name
		}
		if top == fn {
			return ""
		}
		return top
	}
	for _, name := range path[1:] {
		if name != fn && !runtimeFrame(name) {
			return name
		}
	}
	return ""
}

// runtimeFrame reports a function of the Go runtime or of a standard
// library internal package: not where a change in the code under test is.
func runtimeFrame(name string) bool {
	return strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/") || strings.Contains(name, "/internal/")
}

// key is the change a row is ranked by.
func (d DiffRow) key(s Sort) float64 {
	if s == SortCum {
		return d.CumDelta
	}
	return d.FlatDelta
}

// change is new-base, and that change in percent of base.
func change(base, new float64) (delta, pct float64) {
	delta = new - base
	switch {
	case base == 0 && delta == 0:
		return 0, 0
	case base == 0:
		return delta, math.Inf(int(math.Copysign(1, delta)))
	}
	return delta, 100 * delta / math.Abs(base)
}

func typeUnits(p *profile.Profile) string {
	var parts []string
	for _, st := range p.SampleType {
		parts = append(parts, st.Type+"/"+st.Unit)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
