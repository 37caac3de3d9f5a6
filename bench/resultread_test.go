package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readerSample(t *testing.T) *Result {
	t.Helper()
	h := NewHistogram()
	for i := int64(1); i <= 100; i++ {
		h.RecordValue(i * 1000)
	}
	return &Result{
		SchemaVersion: SchemaVersion, ID: "x", CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Scenarios: []ScenarioResult{{Name: "api", Runs: []RunResult{
			{Ops: 100, Latency: map[string]LatencySummary{"op": Summarize(h)}},
			{Ops: 100, Latency: map[string]LatencySummary{"op": Summarize(h)}},
		}}},
	}
}

func encode(t *testing.T, r *Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A corrupt hdr is refused when the file is read, naming scenario, run and
// label, as merge refuses it: compare and report used to take the
// summaries beside it silently.
func TestDecodeRejectsCorruptHdr(t *testing.T) {
	r := readerSample(t)
	if _, err := DecodeResult(encode(t, r)); err != nil {
		t.Fatalf("valid result refused: %v", err)
	}
	for _, bad := range []string{"not base64!", "SGVsbG8gd29ybGQ=", r.Scenarios[0].Runs[1].Latency["op"].Hdr[:20]} {
		r := readerSample(t)
		ls := r.Scenarios[0].Runs[1].Latency["op"]
		ls.Hdr = bad
		r.Scenarios[0].Runs[1].Latency["op"] = ls
		_, err := DecodeResult(encode(t, r))
		if err == nil || !strings.Contains(err.Error(), "scenario api run 1: latency op: hdr") {
			t.Errorf("hdr %q: %v", bad, err)
		}
	}
}

// A UTF-8 byte order mark before the JSON is skipped.
func TestDecodeSkipsBOM(t *testing.T) {
	data := append([]byte("\ufeff"), encode(t, readerSample(t))...)
	r, err := DecodeResult(data)
	if err != nil {
		t.Fatalf("result with a BOM: %v", err)
	}
	if r.Scenarios[0].Name != "api" {
		t.Errorf("decoded %+v", r)
	}
	// The JSON decoder would otherwise say "invalid character 'ï'".
	if err := json.Unmarshal(data, new(map[string]any)); err == nil {
		t.Fatal("test premise: encoding/json refuses a BOM")
	}
}

// Every atomic write (results, baselines, their history) removes the
// leftovers of killed writers in its directory: old ones, and those whose
// writer's pid is gone; a fresh one of a live writer stays.
func TestWriteFileAtomicCleansStaleTemps(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, ".r1.json.tmp-123")
	gone := filepath.Join(dir, ".r2.json.tmp-2147483646-9")
	live := filepath.Join(dir, fmt.Sprintf(".r3.json.tmp-%d-9", os.Getpid()))
	user := filepath.Join(dir, "notes.tmp-1-2")
	for _, p := range []string{old, gone, live, user} {
		os.WriteFile(p, []byte("partial"), 0o644)
	}
	hourAgo := time.Now().Add(-time.Hour)
	os.Chtimes(old, hourAgo, hourAgo)
	os.Chtimes(user, hourAgo, hourAgo)
	if err := readerSample(t).WriteFile(filepath.Join(dir, "new.json")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{old: false, gone: false, live: true, user: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("left: %v", ents)
	}
}
