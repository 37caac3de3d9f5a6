package trend

import (
	"fmt"
	"strings"

	"github.com/perfkit/perfkit/bench/baseline"
)

// NoHistoryError reports a line with no saved results, with the lines that
// have some.
type NoHistoryError struct {
	Name string
	Have []string
}

func (e *NoHistoryError) Error() string {
	hint := "'perfkit baseline save " + e.Name + " --append' adds the newest result to it"
	if len(e.Have) == 0 {
		return fmt.Sprintf("no history for baseline %q (no history saved yet; %s)", e.Name, hint)
	}
	return fmt.Sprintf("no history for baseline %q (lines with history: %s; %s)", e.Name, strings.Join(e.Have, ", "), hint)
}

// Load reads the history line of baseline name from store, oldest first.
// Files that cannot be read are left out and named in broken. A line with
// nothing in it is a *NoHistoryError.
func Load(store baseline.Store, name string) (points []Point, broken []error, err error) {
	entries, broken, err := store.HistoryEntries(name)
	if err != nil {
		return nil, nil, err
	}
	if len(entries) == 0 && len(broken) == 0 {
		have, _ := store.HistoryNames()
		return nil, nil, &NoHistoryError{Name: name, Have: have}
	}
	for _, e := range entries {
		points = append(points, Point{Saved: e.Saved, Commit: CommitOf(e.Result.Env), Path: e.Path, Result: e.Result})
	}
	return points, broken, nil
}
