// Package baseline keeps named perfkit results to compare new runs against:
// DIR/NAME.json (default .perfkit/baselines), each written atomically, and a
// copy of every save in a history directory beside it, named by time and git
// commit, so trends can be drawn later.
package baseline

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Defaults of the store's places, relative to the working directory.
const (
	// DefaultDir holds the current baselines, one NAME.json each.
	DefaultDir = ".perfkit/baselines"
	// DefaultName is the baseline `perfkit baseline save` and `perfkit
	// compare` use when none is named.
	DefaultName = "default"
	// ext is the baselines' file extension.
	ext = ".json"
)

// Store is a directory of baselines and its history.
type Store struct {
	// Dir holds NAME.json files.
	Dir string
	// HistoryDir keeps every save as NAME/<UTC time>-<commit>.json; empty
	// means "history" beside Dir (.perfkit/history for the default).
	HistoryDir string
	// Now stamps history entries; nil means time.Now.
	Now func() time.Time
}

// Open returns the store in dir (DefaultDir when empty).
func Open(dir string) Store {
	return Store{Dir: cmp.Or(dir, DefaultDir)}
}

func (s Store) historyDir() string {
	if s.HistoryDir != "" {
		return s.HistoryDir
	}
	return filepath.Join(filepath.Dir(filepath.Clean(s.Dir)), "history")
}

func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Path is where baseline name is stored.
func (s Store) Path(name string) string { return filepath.Join(s.Dir, name+ext) }

// ValidateName accepts names that are one plain file name: letters, digits,
// and . _ - (not leading), so "main", "pr-123", "go1.26" but never a path
// ("../x", "a/b") or a hidden file.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("baseline name is empty")
	}
	if name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("baseline name %q: must start with a letter or digit", name)
	}
	if len(name) > 128 {
		return fmt.Errorf("baseline name %q: longer than 128 characters", name[:32]+"...")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("baseline name %q: only letters, digits, '.', '_' and '-' (no path separators)", name)
		}
	}
	return nil
}

// NotFoundError reports a baseline that does not exist, with those that do.
type NotFoundError struct {
	Name string
	Dir  string
	Have []string
}

func (e *NotFoundError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("baseline %q not found in %s (no baselines saved yet: 'perfkit baseline save %s' saves the newest result)", e.Name, e.Dir, e.Name)
	}
	return fmt.Sprintf("baseline %q not found in %s (baselines: %s)", e.Name, e.Dir, strings.Join(e.Have, ", "))
}

func (e *NotFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// Entry describes a saved baseline, for listings.
type Entry struct {
	Name string
	Path string
	// Saved is when the baseline was saved: the saved_at the file holds, or
	// the file's time for baselines saved before perfkit recorded it.
	Saved time.Time
	// Result is the baseline itself.
	Result *bench.Result
}

// Save stores r as baseline name, atomically: a reader (or a racing save)
// sees the old file or a new one, whole. A copy goes to the history, named
// by the save time and the result's git commit. The save time is recorded
// in the file (saved_at). A result without a single run is refused: it
// could never be compared against. It returns the entry saved.
func (s Store) Save(name string, r *bench.Result) (Entry, error) {
	r, now, err := s.stamp("baseline", "save", name, r)
	if err != nil {
		return Entry{}, err
	}
	for _, d := range []string{s.Dir, filepath.Join(s.historyDir(), name)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Entry{}, fmt.Errorf("baseline %s: %w", name, err)
		}
	}
	path := s.Path(name)
	if err := r.WriteFile(path); err != nil {
		return Entry{}, fmt.Errorf("baseline %s: %w", name, err)
	}
	if _, err := s.writeHistory(name, r, now); err != nil {
		return Entry{}, err
	}
	return Entry{Name: name, Path: path, Saved: now, Result: r}, nil
}

// Append adds r to the history of baseline name without replacing the
// baseline itself (`perfkit baseline save NAME --append`): the nightly runs
// of a line that `perfkit history` reads. It returns the history entry.
func (s Store) Append(name string, r *bench.Result) (Entry, error) {
	r, now, err := s.stamp("history", "append", name, r)
	if err != nil {
		return Entry{}, err
	}
	if err := os.MkdirAll(filepath.Join(s.historyDir(), name), 0o755); err != nil {
		return Entry{}, fmt.Errorf("history %s: %w", name, err)
	}
	path, err := s.writeHistory(name, r, now)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: name, Path: path, Saved: now, Result: r}, nil
}

// stamp checks a result that Save or Append (verb) is about to write, what
// naming it in errors (baseline or history), and returns a copy stamped
// with the save time.
func (s Store) stamp(what, verb, name string, r *bench.Result) (*bench.Result, time.Time, error) {
	if err := ValidateName(name); err != nil {
		return nil, time.Time{}, err
	}
	if r == nil {
		return nil, time.Time{}, errors.New("no result to " + verb)
	}
	if err := CheckRuns(r); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s %s: %w", what, name, err)
	}
	now := s.now().UTC()
	saved := *r
	saved.SavedAt = now
	return &saved, now, nil
}

// writeHistory writes r into the history of name as <UTC time>-<commit>-<id>.json.
func (s Store) writeHistory(name string, r *bench.Result, now time.Time) (string, error) {
	commit := "nocommit"
	if c := r.Env.GitCommit; c != "" {
		commit = c[:min(len(c), 12)]
		if r.Env.GitDirty {
			commit += "-dirty"
		}
	}
	id := r.ID
	if len(id) > 8 {
		id = id[:8]
	}
	hist := filepath.Join(s.historyDir(), name, fmt.Sprintf("%s-%s-%s.json", now.Format("20060102T150405.000000000Z"), commit, cmp.Or(id, "noid")))
	if err := r.WriteFile(hist); err != nil {
		return "", fmt.Errorf("baseline %s: history: %w", name, err)
	}
	return hist, nil
}

// Load reads baseline name. A missing one is a *NotFoundError listing those
// that exist.
func (s Store) Load(name string) (*bench.Result, error) {
	e, err := s.Get(name)
	if err != nil {
		return nil, err
	}
	return e.Result, nil
}

// Get reads baseline name with its file time.
func (s Store) Get(name string) (Entry, error) {
	if err := ValidateName(name); err != nil {
		return Entry{}, err
	}
	path := s.Path(name)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		have, _ := s.Names()
		return Entry{}, &NotFoundError{Name: name, Dir: s.Dir, Have: have}
	}
	if err != nil {
		return Entry{}, fmt.Errorf("baseline %s: %w", name, err)
	}
	r, err := bench.ReadResult(path)
	if err != nil {
		return Entry{}, fmt.Errorf("baseline %s: %w", name, err)
	}
	saved := st.ModTime()
	if !r.SavedAt.IsZero() {
		saved = r.SavedAt
	}
	return Entry{Name: name, Path: path, Saved: saved, Result: r}, nil
}

// CheckRuns refuses a result that holds no run at all: Save does, and
// callers that prepare a save (copying its profiles) check first.
func CheckRuns(r *bench.Result) error {
	for _, sc := range r.Scenarios {
		if len(sc.Runs) > 0 {
			return nil
		}
	}
	if len(r.Scenarios) == 0 {
		return errors.New("the result has no scenarios: nothing was measured, so there is nothing to compare against")
	}
	return fmt.Errorf("the result has no runs (%d scenarios, none measured): a baseline needs at least one run", len(r.Scenarios))
}

// Names lists the saved baselines, sorted.
func (s Store) Names() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ext)
		if ok && e.Type().IsRegular() && ValidateName(name) == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// List reads every baseline. One that cannot be read does not hide the
// others: it is left out of the entries and reported in broken, an error
// naming it, for the caller to warn about. Leftovers of killed saves in the
// store are removed first (bench.CleanStaleTemps).
func (s Store) List() (entries []Entry, broken []error, err error) {
	_, _ = bench.CleanStaleTemps(s.Dir, time.Now()) // best effort; file times are real, so is this clock
	names, err := s.Names()
	if err != nil {
		return nil, nil, err
	}
	entries = make([]Entry, 0, len(names))
	for _, n := range names {
		e, err := s.Get(n)
		if err != nil {
			broken = append(broken, err)
			continue
		}
		entries = append(entries, e)
	}
	return entries, broken, nil
}

// Remove deletes baseline name; its history stays.
func (s Store) Remove(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	err := os.Remove(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		have, _ := s.Names()
		return &NotFoundError{Name: name, Dir: s.Dir, Have: have}
	}
	if err != nil {
		return fmt.Errorf("baseline %s: %w", name, err)
	}
	return nil
}

// History lists the saved copies of baseline name, oldest first.
func (s Store) History(name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.historyDir(), name)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ext) && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// HistoryEntries reads the saved copies of baseline name, oldest first
// (by file name: the save time). One that cannot be read does not hide the
// others: it is left out and reported in broken. Saved is the saved_at the
// copy holds, else the time in its name.
func (s Store) HistoryEntries(name string) (entries []Entry, broken []error, err error) {
	paths, err := s.History(name)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		r, err := bench.ReadResult(p)
		if err != nil {
			broken = append(broken, fmt.Errorf("history %s: %w", name, err))
			continue
		}
		saved := r.SavedAt
		if saved.IsZero() {
			stamp, _, _ := strings.Cut(filepath.Base(p), "-")
			saved, _ = time.Parse("20060102T150405.000000000Z", stamp)
		}
		entries = append(entries, Entry{Name: name, Path: p, Saved: saved, Result: r})
	}
	return entries, broken, nil
}

// HistoryNames lists the baselines that have a history, sorted.
func (s Store) HistoryNames() ([]string, error) {
	ents, err := os.ReadDir(s.historyDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && ValidateName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Newest returns the most recently written result file in dir (by
// modification time, then name): what `baseline save` and `compare` use
// when not told which result.
func Newest(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no results in %s: run 'perfkit run' first, or name a result file", dir)
	}
	if err != nil {
		return "", err
	}
	var best string
	var bestTime time.Time
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ext) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		t := info.ModTime()
		if best == "" || t.After(bestTime) || t.Equal(bestTime) && e.Name() > filepath.Base(best) {
			best, bestTime = filepath.Join(dir, e.Name()), t
		}
	}
	if best == "" {
		return "", fmt.Errorf("no results in %s: run 'perfkit run' first, or name a result file", dir)
	}
	return best, nil
}
