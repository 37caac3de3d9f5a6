package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/perfkit/perfkit/internal/atomicfile"
)

// MaxProfileBytes bounds what Read accepts: a profile is rarely over a few
// MiB, and a runaway response must not exhaust memory.
const MaxProfileBytes = 256 << 20

// Comment keys perfkit writes into the profiles it saves ("perfkit-ops=1234");
// `go tool pprof -comments` shows them.
const (
	// CommentOps is the number of ops measured over the profile's window.
	CommentOps = "perfkit-ops"
	// CommentRuns is the number of runs merged into the profile.
	CommentRuns = "perfkit-runs"
	// CommentKind is the kind of profile.
	CommentKind = "perfkit-kind"
	// CommentScenario is the scenario profiled.
	CommentScenario = "perfkit-scenario"
	// CommentSource is where the profile was taken: "perfkit" or the target's
	// URL (credentials redacted).
	CommentSource = "perfkit-source"
	// CommentExcluded says what was left out of the profile: "profiling",
	// perfkit's own profiling work (ExcludeOwn).
	CommentExcluded = "perfkit-excluded"
)

// Parse reads a profile (gzipped protobuf, as `go tool pprof` writes, or a
// legacy text format pprof understands) and rejects anything else: an HTML
// page, a JSON file, a truncated download.
func Parse(data []byte) (*profile.Profile, error) {
	if len(data) == 0 {
		return nil, errors.New("not a profile: empty")
	}
	if looksHTML(data) {
		return nil, errors.New("not a profile: an HTML page")
	}
	p, err := profile.ParseData(data)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "unexpected EOF") {
			return nil, fmt.Errorf("not a profile: truncated (%w)", err)
		}
		return nil, fmt.Errorf("not a profile: %w", err)
	}
	if len(p.SampleType) == 0 {
		return nil, errors.New("not a profile: no sample types")
	}
	return p, nil
}

// Read parses the profile r holds (see Parse).
func Read(r io.Reader) (*profile.Profile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxProfileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxProfileBytes {
		return nil, fmt.Errorf("not a profile: over %d MiB", MaxProfileBytes>>20)
	}
	return Parse(data)
}

// ReadFile reads a profile file; errors name the file.
func ReadFile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a profile", path)
	}
	p, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WriteFile writes p gzipped, as `go tool pprof` reads it, atomically: a
// temporary file in the same directory, fsynced, then renamed over path
// (internal/atomicfile, shared with results and baselines).
func WriteFile(path string, p *profile.Profile) error {
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		return fmt.Errorf("encoding profile: %w", err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// Comment returns the value of a "key=value" comment of p.
func Comment(p *profile.Profile, key string) (string, bool) {
	for _, c := range p.Comments {
		if v, ok := strings.CutPrefix(c, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// SetComment sets the "key=value" comment of p, replacing any other value.
func SetComment(p *profile.Profile, key, value string) {
	DeleteComment(p, key)
	p.Comments = append(p.Comments, key+"="+value)
}

// DeleteComment removes the "key=value" comments of p.
func DeleteComment(p *profile.Profile, key string) {
	out := p.Comments[:0]
	for _, c := range p.Comments {
		if !strings.HasPrefix(c, key+"=") {
			out = append(out, c)
		}
	}
	p.Comments = out
}

// SetOps records how many ops were measured over p's window.
func SetOps(p *profile.Profile, ops int64) { SetComment(p, CommentOps, strconv.FormatInt(ops, 10)) }

// Ops returns the op count recorded in p, false when there is none (a profile
// perfkit did not write, or a snapshot).
func Ops(p *profile.Profile) (int64, bool) {
	v, ok := Comment(p, CommentOps)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// MergeRuns merges the profiles of one kind taken over several runs into
// one. Windowed kinds add up, and so do their op counts (recorded only when
// every profile carries one); snapshots (heap, goroutine) are averaged, so
// the result reads like one run's.
func MergeRuns(kind Kind, ps []*profile.Profile) (*profile.Profile, error) {
	if len(ps) == 0 {
		return nil, errors.New("no profiles to merge")
	}
	var ops int64
	allOps := true
	srcs := make([]*profile.Profile, len(ps))
	for i, p := range ps {
		n, ok := Ops(p)
		ops += n
		allOps = allOps && ok
		c := p.Copy()
		DeleteComment(c, CommentOps)
		DeleteComment(c, CommentRuns)
		srcs[i] = c
	}
	m, err := profile.Merge(srcs)
	if err != nil {
		return nil, fmt.Errorf("merging %s profiles: %w", kind, err)
	}
	if !kind.Windowed() && len(ps) > 1 {
		m.Scale(1 / float64(len(ps)))
	}
	if allOps && kind.Windowed() {
		SetOps(m, ops)
	}
	SetComment(m, CommentRuns, strconv.Itoa(len(ps)))
	return m, nil
}

// looksHTML reports whether data starts like an HTML document (an error page
// where a profile was expected).
func looksHTML(data []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(data[:min(len(data), 512)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")) ||
		bytes.HasPrefix(head, []byte("<head")) || bytes.HasPrefix(head, []byte("<body")) ||
		bytes.HasPrefix(head, []byte("<pre")) || bytes.HasPrefix(head, []byte("<?xml"))
}

// Coverage says, for people, what a profile perfkit took holds: its kind's
// window, the runs, time and ops it spans, and whether perfkit's own
// profiling was left out, e.g. "allocations during the measured window
// (3.00s, 7782 ops), perfkit's profiling excluded". "" for a profile
// without perfkit's comments.
func Coverage(p *profile.Profile) string {
	k, ok := Comment(p, CommentKind)
	if !ok {
		return ""
	}
	kind, err := ParseKind(k)
	if err != nil {
		return ""
	}
	s := kind.covers()
	var span []string
	runs, _ := Comment(p, CommentRuns)
	if n, err := strconv.Atoi(runs); err == nil && n > 1 {
		if kind.Windowed() {
			span = append(span, fmt.Sprintf("%d runs", n))
		} else {
			span = append(span, fmt.Sprintf("mean of %d runs", n))
		}
	}
	if kind.Windowed() && p.DurationNanos > 0 {
		span = append(span, FormatValue(float64(p.DurationNanos), "nanoseconds"))
	}
	if n, ok := Ops(p); ok {
		span = append(span, fmt.Sprintf("%d ops", n))
	}
	if len(span) > 0 {
		s += " (" + strings.Join(span, ", ") + ")"
	}
	if v, _ := Comment(p, CommentExcluded); v == "profiling" {
		s += ", perfkit's profiling excluded"
	}
	return s
}
