package profiling

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/profiles"
)

// AttributionTop is how many functions explain a regressed scenario.
const AttributionTop = 10

// WriteAttribution explains each regressed scenario with its profiles: for
// every kind both sides carry (perfkit's and the target's; windowed kinds,
// whose values divide by ops), the functions whose cost per op grew most,
// below the comparison, as a table or in markdown (pf). A profile that
// cannot be read is a warning on stderr, not a failed compare.
func WriteAttribution(w, stderr io.Writer, c *stats.Comparison, old, new *compare.Source, pf profiles.Format) error {
	var regressed []string
	for _, o := range c.Outcomes {
		if o.Verdict == stats.Regressed && !slices.Contains(regressed, o.Scenario) {
			regressed = append(regressed, o.Scenario)
		}
	}
	for _, name := range regressed {
		so, sn := sourceScenario(old, name), sourceScenario(new, name)
		if so == nil || sn == nil {
			continue
		}
		for _, key := range attributionKeys(so.Profiles, sn.Profiles) {
			d, err := attribute(so.Profiles[key], sn.Profiles[key])
			if err != nil {
				fmt.Fprintf(stderr, "perfkit: warning: scenario %s: cannot explain the regression with the %s profiles: %v\n", name, key, err)
				continue
			}
			if len(d.Rows) == 0 {
				continue
			}
			d.Title = fmt.Sprintf("why %s regressed: the functions whose %s cost per op grew most (%s profile)", name, d.SampleType, key)
			if !d.PerOp {
				d.Title = fmt.Sprintf("why %s regressed: the functions whose %s cost grew most (%s profile; no op counts: totals)", name, d.SampleType, key)
			}
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
			if err := profiles.WriteDiff(w, d, pf); err != nil {
				return err
			}
		}
	}
	return nil
}

// attribute diffs the two profiles of one kind, growth only.
func attribute(basePath, newPath string) (*profiles.DiffReport, error) {
	base, err := profiles.ReadFile(basePath)
	if err != nil {
		return nil, err
	}
	new, err := profiles.ReadFile(newPath)
	if err != nil {
		return nil, err
	}
	d, err := profiles.Diff(base, new, profiles.DiffOptions{N: AttributionTop, Sort: profiles.SortFlat, Grew: true})
	if err != nil {
		return nil, err
	}
	d.BaseFile, d.NewFile = basePath, newPath
	return d, nil
}

func sourceScenario(s *compare.Source, name string) *compare.Scenario {
	for i := range s.Scenarios {
		if s.Scenarios[i].Name == name {
			return &s.Scenarios[i]
		}
	}
	return nil
}

// attributionKeys are the profiles both sides have that can explain a cost
// per op: windowed kinds, perfkit's before the target's, in kind order.
func attributionKeys(old, new map[string]string) []string {
	var keys []string
	for _, target := range []bool{false, true} {
		for _, k := range profiles.Kinds() {
			if !k.Windowed() {
				continue
			}
			key := Key(k, target)
			if old[key] != "" && new[key] != "" {
				keys = append(keys, key)
			}
		}
	}
	return keys
}

// KeepForBaseline copies the profiles a result names beside baseline name
// (DIR/NAME.profiles/<scenario>-<kind>.pb.gz) and points the result at the
// copies, so the baseline keeps them when .perfkit/profiles is cleaned.
// Copies of an earlier save that the new one does not name are removed. A
// profile that cannot be copied is dropped with a warning.
func KeepForBaseline(store baseline.Store, name string, r *bench.Result) (warnings []string, err error) {
	dir := BaselineDir(store, name)
	kept := map[string]bool{}
	for i := range r.Scenarios {
		sr := &r.Scenarios[i]
		for _, key := range slices.Sorted(maps.Keys(sr.Profiles)) {
			src := sr.Profiles[key]
			dst := filepath.Join(dir, FileSafe(sr.Name)+"-"+key+".pb.gz")
			if src == dst {
				kept[dst] = true
				continue
			}
			data, rerr := os.ReadFile(src)
			if rerr == nil {
				_, rerr = profiles.Parse(data)
			}
			if rerr != nil {
				warnings = append(warnings, fmt.Sprintf("scenario %s: %s profile %s not kept: %v", sr.Name, key, src, unwrapPath(rerr)))
				delete(sr.Profiles, key)
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return warnings, fmt.Errorf("baseline %s: %w", name, err)
			}
			if err := bench.WriteFileAtomic(dst, data); err != nil {
				return warnings, fmt.Errorf("baseline %s: keeping %s: %w", name, src, err)
			}
			sr.Profiles[key] = dst
			kept[dst] = true
		}
		if len(sr.Profiles) == 0 {
			sr.Profiles = nil
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return warnings, nil
	}
	if err != nil {
		return warnings, fmt.Errorf("baseline %s: %w", name, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !kept[p] && strings.HasSuffix(e.Name(), ".pb.gz") {
			os.Remove(p)
		}
	}
	if len(kept) == 0 {
		os.Remove(dir) // only if empty: a save without profiles leaves no empty NAME.profiles/
	}
	return warnings, nil
}

// BaselineDir holds the profiles of baseline name.
func BaselineDir(store baseline.Store, name string) string {
	return filepath.Join(store.Dir, name+".profiles")
}
