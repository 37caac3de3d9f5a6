package profiles

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzProfile: any bytes read as a profile or fail in one line; a profile
// that reads can be ranked, and diffed against itself and a real one.
func FuzzProfile(f *testing.F) {
	real := synth("cpu", "nanoseconds", 100, map[string]int64{"main;a;b": 30, "main;c": 70})
	var buf bytes.Buffer
	if err := real.Write(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	var raw bytes.Buffer
	if err := real.WriteUncompressed(&raw); err != nil {
		f.Fatal(err)
	}
	f.Add(raw.Bytes())
	f.Add([]byte{})
	f.Add([]byte("not a profile"))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for _, s := range []Sort{SortCum, SortFlat} {
			if _, err := Top(p, TopOptions{N: 5, Sort: s}); err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line top error: %q", err)
			}
		}
		if _, err := Diff(p, p, DiffOptions{N: 5}); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line diff error: %q", err)
		}
		if _, err := Diff(real, p, DiffOptions{N: 5}); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line diff error: %q", err)
		}
		_ = Coverage(p)
	})
}
