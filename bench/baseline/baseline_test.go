package baseline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

func sample(id string) *bench.Result {
	return &bench.Result{
		SchemaVersion: bench.SchemaVersion, ID: id,
		CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Env:       bench.Env{GitCommit: "0123456789abcdef0123", CPUModel: "AMD EPYC", NumCPU: 2},
		Scenarios: []bench.ScenarioResult{{Name: "api", Runs: []bench.RunResult{{Ops: 10, Valid: true}, {Ops: 11, Valid: true}}}},
	}
}

func TestSaveLoadHistory(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 11, 2, 12, 30, 0, 5, time.UTC)
	s := Store{Dir: filepath.Join(root, ".perfkit", "baselines"), Now: func() time.Time { return at }}
	e, err := s.Save("main", sample("aaaaaaaaaaaa"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Path != filepath.Join(root, ".perfkit", "baselines", "main.json") {
		t.Errorf("path %s", e.Path)
	}
	r, err := s.Load("main")
	if err != nil || r.ID != "aaaaaaaaaaaa" {
		t.Fatalf("load: %v %v", r, err)
	}
	hist, err := s.History("main")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %v %v", hist, err)
	}
	want := filepath.Join(root, ".perfkit", "history", "main", "20261102T123000.000000005Z-0123456789ab-aaaaaaaa.json")
	if hist[0] != want {
		t.Errorf("history file %s, want %s", hist[0], want)
	}
	// A second save replaces the baseline and adds to the history.
	at = at.Add(time.Hour)
	if _, err := s.Save("main", sample("bbbbbbbb")); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Load("main"); r.ID != "bbbbbbbb" {
		t.Errorf("after the second save: %s", r.ID)
	}
	if hist, _ := s.History("main"); len(hist) != 2 {
		t.Errorf("history %v", hist)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"default", "main", "pr-123", "go1.26", "A_b"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "-x", "a b", "x\x00", strings.Repeat("x", 129), "ü"} {
		err := ValidateName(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: multi-line error", bad)
		}
	}
	s := Store{Dir: t.TempDir()}
	if _, err := s.Save("../escape", sample("x")); err == nil {
		t.Error("saved ../escape")
	}
	if _, err := s.Load("a/b"); err == nil {
		t.Error("loaded a/b")
	}
	if err := s.Remove(".."); err == nil {
		t.Error("removed ..")
	}
}

func TestMissingListsExisting(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "b")}
	_, err := s.Load("main")
	if err == nil || err.Error() != fmt.Sprintf(`baseline "main" not found in %s (no baselines saved yet: 'perfkit baseline save main' saves the newest result)`, s.Dir) {
		t.Errorf("no baselines: %v", err)
	}
	for _, n := range []string{"nightly", "default"} {
		if _, err := s.Save(n, sample(n)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Load("main")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, fs.ErrNotExist) || !strings.HasSuffix(err.Error(), "(baselines: default, nightly)") {
		t.Errorf("missing: %v", err)
	}
	if err := s.Remove("main"); err == nil || !strings.Contains(err.Error(), "(baselines: default, nightly)") {
		t.Errorf("remove missing: %v", err)
	}
}

func TestListRemove(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "baselines"))
	for _, n := range []string{"b", "a", "c"} {
		if _, err := s.Save(n, sample(n)); err != nil {
			t.Fatal(err)
		}
	}
	// Not baselines: a temp file of an interrupted save, another extension.
	os.WriteFile(filepath.Join(s.Dir, ".a.json.tmp-123"), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(s.Dir, "notes.txt"), []byte("x"), 0o644)
	list, broken, err := s.List()
	if err != nil || broken != nil {
		t.Fatal(err, broken)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name)
		if e.Result.ID != e.Name || e.Saved.IsZero() {
			t.Errorf("entry %+v", e)
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("list %v", names)
	}
	if err := s.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Names(); !slices.Equal(n, []string{"a", "c"}) {
		t.Errorf("after rm: %v", n)
	}
	if h, _ := s.History("b"); len(h) != 1 {
		t.Errorf("rm must keep the history: %v", h)
	}
	// A broken baseline is named, and does not hide the others.
	os.WriteFile(s.Path("broken"), []byte(`{"schema_version": 1, `), 0o644)
	list, broken, err = s.List()
	if err != nil || len(broken) != 1 || !strings.Contains(broken[0].Error(), "baseline broken") {
		t.Errorf("list with a broken baseline: %v, %v", err, broken)
	}
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "c" {
		t.Errorf("list with a broken baseline must keep the others: %+v", list)
	}
	if err := s.Remove("broken"); err != nil {
		t.Errorf("a broken baseline must still be removable: %v", err)
	}
}

// Saves racing each other leave one whole baseline, never a mix.
func TestConcurrentSaves(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "baselines")}
	// Large enough that a torn write would show.
	big := func(id string) *bench.Result {
		r := sample(id)
		for i := range 200 {
			r.Scenarios = append(r.Scenarios, bench.ScenarioResult{Name: fmt.Sprintf("%s-%d", id, i), Workload: strings.Repeat(id, 50)})
		}
		return r
	}
	ids := []string{"writer0", "writer1", "writer2", "writer3", "writer4", "writer5"}
	var wg sync.WaitGroup
	const saves = 5
	errs := make(chan error, len(ids)*saves)
	for _, id := range ids {
		wg.Go(func() {
			r := big(id)
			for range saves {
				if _, err := s.Save("shared", r); err != nil {
					errs <- err
				}
			}
		})
	}
	// Readers during the race see whole files only.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r, err := s.Load("shared"); err == nil {
				checkWhole(t, r, ids)
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("read during saves: %v", err)
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := s.Load("shared")
	if err != nil {
		t.Fatal(err)
	}
	checkWhole(t, r, ids)
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 1 {
		t.Errorf("baselines dir holds %d entries (temp files left?)", len(ents))
	}
	if h, _ := s.History("shared"); len(h) != len(ids)*saves {
		t.Errorf("history has %d saves, want %d", len(h), len(ids)*saves)
	}
}

func checkWhole(t *testing.T, r *bench.Result, ids []string) {
	t.Helper()
	if !slices.Contains(ids, r.ID) || len(r.Scenarios) != 201 {
		t.Errorf("baseline is not one writer's: id %q, %d scenarios", r.ID, len(r.Scenarios))
		return
	}
	for _, sc := range r.Scenarios[1:] {
		if !strings.HasPrefix(sc.Name, r.ID+"-") {
			t.Errorf("baseline %s holds scenario %s of another writer", r.ID, sc.Name)
			return
		}
	}
}

func TestNewest(t *testing.T) {
	dir := t.TempDir()
	if _, err := Newest(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "no results in") {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Newest(dir); err == nil {
		t.Error("empty dir gave a result")
	}
	base := time.Now().Add(-time.Hour)
	for i, n := range []string{"20260101T000000Z-b.json", "20260101T000000Z-a.json", "old.json", ".tmp.json", "x.txt"} {
		p := filepath.Join(dir, n)
		os.WriteFile(p, []byte("{}"), 0o644)
		mt := base.Add(time.Duration(i) * time.Minute)
		if n == "old.json" {
			mt = base.Add(-time.Hour)
		}
		if n == "20260101T000000Z-a.json" {
			mt = base.Add(time.Minute) // ties with b: the name decides
		}
		if n == "20260101T000000Z-b.json" {
			mt = base.Add(time.Minute)
		}
		os.Chtimes(p, mt, mt)
	}
	got, err := Newest(dir)
	if err != nil || filepath.Base(got) != "20260101T000000Z-b.json" {
		t.Errorf("newest %s %v", got, err)
	}
}

// A save killed mid-write leaves a temp file: the next save or listing of
// the store removes it, once its writer is gone or it is old; a live
// writer's fresh temp file stays.
func TestStaleTempsCleaned(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "baselines"))
	if _, err := s.Save("a", sample("a")); err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	old := filepath.Join(s.Dir, ".a.json.tmp-123456")
	gone := filepath.Join(s.Dir, fmt.Sprintf(".a.json.tmp-%d-42", dead.Process.Pid))
	live := filepath.Join(s.Dir, fmt.Sprintf(".a.json.tmp-%d-43", os.Getpid()))
	for _, p := range []string{old, gone, live} {
		if err := os.WriteFile(p, []byte(`{"schema_version": 1, "sce`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	os.Chtimes(old, hourAgo, hourAgo)
	if _, _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, gone} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: stale temp file left after list: %v", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live writer's temp file was removed: %v", err)
	}
	// The next save cleans too.
	os.WriteFile(old, []byte("x"), 0o644)
	os.Chtimes(old, hourAgo, hourAgo)
	if _, err := s.Save("b", sample("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file left after save: %v", err)
	}
}

// The listing shows when the baseline was saved, as the file says, not the
// file's time (a copy or a checkout changes that).
func TestSavedTimeFromFile(t *testing.T) {
	at := time.Date(2026, 11, 2, 12, 30, 0, 0, time.UTC)
	s := Store{Dir: filepath.Join(t.TempDir(), "baselines"), Now: func() time.Time { return at }}
	if _, err := s.Save("a", sample("a")); err != nil {
		t.Fatal(err)
	}
	later := at.Add(30 * 24 * time.Hour)
	os.Chtimes(s.Path("a"), later, later)
	list, _, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatal(err, list)
	}
	if !list[0].Saved.Equal(at) {
		t.Errorf("saved %v, want %v (the time in the file)", list[0].Saved, at)
	}
	if !list[0].Result.SavedAt.Equal(at) {
		t.Errorf("saved_at %v", list[0].Result.SavedAt)
	}
}

func TestSaveRefusesNoRuns(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "baselines"))
	empty := sample("e")
	empty.Scenarios[0].Runs = nil
	if _, err := s.Save("e", empty); err == nil || !strings.Contains(err.Error(), "no runs") {
		t.Errorf("save of a result without runs: %v", err)
	}
	none := sample("n")
	none.Scenarios = nil
	if _, err := s.Save("n", none); err == nil || !strings.Contains(err.Error(), "no scenarios") {
		t.Errorf("save of a result without scenarios: %v", err)
	}
	if n, _ := s.Names(); len(n) != 0 {
		t.Errorf("refused saves wrote %v", n)
	}
}

// Append adds to the history only: the baseline stays as it was, and the
// history reads back oldest first, with a broken copy reported, not hiding
// the others.
func TestAppendHistoryEntries(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 11, 2, 12, 30, 0, 0, time.UTC)
	s := Store{Dir: filepath.Join(root, "baselines"), Now: func() time.Time { at = at.Add(time.Hour); return at }}
	if _, err := s.Save("main", sample("base00000000")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"app100000000", "app200000000"} {
		e, err := s.Append("main", sample(id))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Path, filepath.Join(root, "history", "main")+string(filepath.Separator)) {
			t.Errorf("appended to %s", e.Path)
		}
	}
	if r, err := s.Load("main"); err != nil || r.ID != "base00000000" {
		t.Fatalf("baseline after appends: %v %v; want it unchanged", r, err)
	}
	if err := os.WriteFile(filepath.Join(root, "history", "main", "20261102T000000.000000000Z-broken-x.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, broken, err := s.HistoryEntries("main")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Result.ID)
		if e.Saved.IsZero() {
			t.Errorf("%s: no saved time", e.Path)
		}
	}
	if !slices.Equal(ids, []string{"base00000000", "app100000000", "app200000000"}) || len(broken) != 1 {
		t.Errorf("history %v, broken %v; want the save then the two appends, one broken", ids, broken)
	}
	if names, _ := s.HistoryNames(); !slices.Equal(names, []string{"main"}) {
		t.Errorf("history names %v", names)
	}
	if _, err := s.Append("../x", sample("a")); err == nil {
		t.Error("bad name accepted")
	}
	if _, err := s.Append("main", &bench.Result{}); err == nil {
		t.Error("a result without runs accepted")
	}
}
