package profiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

// RemoteGrace is how long a remote fetch may take beyond its window: the
// target writes the profile once the window is over, then it travels.
const RemoteGrace = 10 * time.Second

// ParseURL checks a --pprof-url: an http or https URL with a host, the base
// under which net/http/pprof serves its profiles (…/debug/pprof).
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: must be http:// or https://, the base of net/http/pprof (e.g. http://127.0.0.1:6060/debug/pprof)", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %s is not a port number from 1 to 65535", u.Redacted(), p)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// remoteName is the net/http/pprof endpoint of a kind: the CPU profile is
// served as "profile".
func remoteName(k Kind) string {
	if k == CPU {
		return "profile"
	}
	return string(k)
}

// endpoint is base/<name>?seconds=N (N ≤ 0: no seconds).
func endpoint(base *url.URL, k Kind, seconds int) *url.URL {
	u := *base
	u.Path = base.Path + "/" + remoteName(k)
	q := url.Values{}
	if seconds > 0 {
		q.Set("seconds", strconv.Itoa(seconds))
	}
	if k == Heap {
		q.Set("gc", "1")
	}
	u.RawQuery = q.Encode()
	return &u
}

// Fetch gets one profile of kind from a net/http/pprof base URL. With
// seconds > 0 the target profiles for that long (cpu), or returns what
// happened in that time (allocs, mutex, block); otherwise it returns its
// profile as it stands. An answer that is not a profile (an error status, an
// HTML page) is an error naming the URL and what came back.
func Fetch(ctx context.Context, client *http.Client, base *url.URL, kind Kind, seconds int) (*profile.Profile, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u := endpoint(base, kind, seconds)
	shown := u.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the unredacted URL
		}
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		what := firstLine(data)
		if looksHTML(data) {
			what = "an HTML page"
		}
		hint := ""
		if resp.StatusCode == http.StatusNotFound {
			hint = " (the base URL is net/http/pprof's, e.g. http://HOST:PORT/debug/pprof)"
		}
		if what == "" {
			return nil, fmt.Errorf("GET %s: %s%s", shown, resp.Status, hint)
		}
		return nil, fmt.Errorf("GET %s: %s: %s%s", shown, resp.Status, what, hint)
	}
	if looksHTML(data) {
		return nil, fmt.Errorf("GET %s: answered with an HTML page, not a profile (is it net/http/pprof's /debug/pprof?)", shown)
	}
	if len(data) > MaxProfileBytes {
		return nil, fmt.Errorf("GET %s: not a profile: over %d MiB", shown, MaxProfileBytes>>20)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	return p, nil
}

// CheckTarget makes sure something at base answers with profiles, before a
// run relies on it: it fetches the target's goroutine profile, the cheapest.
func CheckTarget(ctx context.Context, client *http.Client, base *url.URL) error {
	_, err := Fetch(ctx, client, base, Goroutine, 0)
	return err
}

// firstLine is the start of a short text answer, for an error message.
func firstLine(data []byte) string {
	s := strings.TrimSpace(string(data[:min(len(data), 200)]))
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(s)
	if !isPrintable(s) {
		return ""
	}
	return s
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0xfffd {
			return false
		}
	}
	return true
}

// Remote is a profile being fetched from a target over a window.
type Remote struct {
	parent context.Context
	client *http.Client
	base   *url.URL
	kind   Kind
	start  time.Time

	snap *snapshotTimer // goroutine: in the middle of the window
	done chan struct{}  // windowed kinds: the fetch in flight
	p    *profile.Profile
	err  error

	once sync.Once
}

// StartRemote begins fetching a profile of kind from the target at base over
// a window of the given length, which starts now. Windowed kinds (cpu,
// allocs, mutex, block) ask the target for that many whole seconds, rounded
// down so the profile stays inside the window (at least one: net/http/pprof
// counts in seconds), and must be done within the window and RemoteGrace. A
// goroutine snapshot is fetched in the middle of the window, heap at Stop,
// each within RemoteGrace. Nothing is fetched past ctx.
func StartRemote(ctx context.Context, client *http.Client, base *url.URL, kind Kind, window time.Duration) (*Remote, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if kind.Windowed() && window <= 0 {
		return nil, fmt.Errorf("a %s profile of the target needs a window of known length (a duration, not iterations)", kind)
	}
	r := &Remote{parent: ctx, client: client, base: base, kind: kind, start: time.Now()}
	switch {
	case kind.Windowed():
		seconds := max(1, int(window/time.Second))
		r.done = make(chan struct{})
		go func() {
			defer close(r.done)
			fctx, cancel := context.WithTimeout(ctx, max(window, time.Duration(seconds)*time.Second)+RemoteGrace)
			defer cancel()
			r.p, r.err = Fetch(fctx, client, base, kind, seconds)
		}()
	case kind == Goroutine:
		r.snap = newSnapshotTimer(window/2, r.fetchNow)
	}
	return r, nil
}

// Kind is the kind of profile being fetched.
func (r *Remote) Kind() Kind { return r.kind }

// fetchNow fetches the target's current profile, within RemoteGrace.
func (r *Remote) fetchNow() (*profile.Profile, error) {
	ctx, cancel := context.WithTimeout(r.parent, RemoteGrace)
	defer cancel()
	return Fetch(ctx, r.client, r.base, r.kind, 0)
}

// Stop waits for the fetch to finish (heap: fetches now) and returns the
// target's profile. Its error says why there is none: the target stopped
// answering, answered with something else, or ran out of time.
func (r *Remote) Stop() (*profile.Profile, error) {
	r.once.Do(func() {
		switch {
		case r.done != nil:
			<-r.done
		case r.snap != nil:
			r.p, r.err = r.snap.stop()
		default:
			r.p, r.err = r.fetchNow()
		}
		if r.err != nil {
			r.err = fmt.Errorf("target %s profile: %w", r.kind, r.err)
			return
		}
		if r.p.TimeNanos == 0 {
			r.p.TimeNanos = r.start.UnixNano()
		}
		excludeTargetProfiling(r.p)
		SetComment(r.p, CommentKind, string(r.kind))
		SetComment(r.p, CommentSource, r.base.Redacted())
	})
	return r.p, r.err
}
