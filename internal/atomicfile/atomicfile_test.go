package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	for _, data := range []string{"first", "second"} {
		if err := Write(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left in dir: %v", ents)
	}
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the rename fails after the
	// temporary file was written.
	path := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("data")); err == nil {
		t.Fatal("write over a non-empty directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "out" {
		t.Errorf("left in dir: %v", ents)
	}
	if err := Write(filepath.Join(dir, "missing", "r.json"), nil); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// Leftovers of a writer that is gone, and old ones, are removed; a live
// writer's fresh file and files that are not atomic-write temporaries stay.
func TestCleanStale(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := filepath.Join(dir, ".r1.json.tmp-123")
	gone := filepath.Join(dir, ".r2.json.tmp-2147483646-9")
	live := filepath.Join(dir, fmt.Sprintf(".r3.json.tmp-%d-9", os.Getpid()))
	user := filepath.Join(dir, "notes.tmp-1-2")
	for _, p := range []string{old, gone, live, user} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := now.Add(-2 * StaleAge)
	for _, p := range []string{old, user} {
		if err := os.Chtimes(p, longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := CleanStale(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("removed %v, want the old and the gone writer's", removed)
	}
	for p, want := range map[string]bool{old: false, gone: false, live: true, user: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	if r, err := CleanStale(filepath.Join(dir, "missing"), now); err != nil || r != nil {
		t.Errorf("missing dir: %v, %v", r, err)
	}
}
