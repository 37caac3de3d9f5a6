package profiles

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
)

// ServeWeb runs pprof's web UI for p on ln until ctx ends, through
// the pprof driver with perfkit's own flags, fetcher, server and no binary
// tools.
func ServeWeb(ctx context.Context, ln net.Listener, name string, p *profile.Profile, stderr io.Writer, browser bool) error {
	args := []string{"-http=" + ln.Addr().String()}
	if !browser {
		args = append(args, "-no_browser")
	}
	args = append(args, name)
	err := driver.PProf(&driver.Options{
		Flagset: newWebFlags(args),
		Fetch:   webFetcher{p},
		Sym:     noSymbolizer{},
		Obj:     noObjTool{},
		UI:      &webUI{w: stderr, browser: browser},
		HTTPServer: func(a *driver.HTTPServerArgs) error {
			return serveHandlers(ctx, ln, a.Handlers)
		},
	})
	if err != nil {
		return fmt.Errorf("profile web: %w", err)
	}
	return nil
}

// serveHandlers serves pprof's handlers under /ui/ (as pprof does) on ln
// until ctx ends.
func serveHandlers(ctx context.Context, ln net.Listener, handlers map[string]http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handlers[r.URL.Path]
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})))
	mux.Handle("/", http.RedirectHandler("/ui/", http.StatusTemporaryRedirect))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// webFlags is the pprof driver's FlagSet over a standard one, parsing the
// arguments perfkit chose.
type webFlags struct {
	fs    *flag.FlagSet
	args  []string
	extra []string
}

func newWebFlags(args []string) *webFlags {
	fs := flag.NewFlagSet("pprof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &webFlags{fs: fs, args: args}
}

func (w *webFlags) Bool(name string, def bool, usage string) *bool {
	return w.fs.Bool(name, def, usage)
}
func (w *webFlags) Int(name string, def int, usage string) *int { return w.fs.Int(name, def, usage) }
func (w *webFlags) Float64(name string, def float64, usage string) *float64 {
	return w.fs.Float64(name, def, usage)
}
func (w *webFlags) String(name string, def string, usage string) *string {
	return w.fs.String(name, def, usage)
}
func (w *webFlags) StringList(name string, def string, usage string) *[]*string {
	return &[]*string{w.fs.String(name, def, usage)}
}
func (w *webFlags) ExtraUsage() string      { return strings.Join(w.extra, "\n") }
func (w *webFlags) AddExtraUsage(eu string) { w.extra = append(w.extra, eu) }
func (w *webFlags) Parse(usage func()) []string {
	if err := w.fs.Parse(w.args); err != nil {
		usage()
		return nil
	}
	return w.fs.Args()
}

var _ driver.FlagSet = (*webFlags)(nil)

// webFetcher hands the driver the profile perfkit already read and checked.
// It names no source URL: the driver takes a profile with one for a remote
// fetch and keeps a copy of it in $PPROF_TMPDIR or ~/pprof/, which for a
// local file would only litter the user's home.
type webFetcher struct{ p *profile.Profile }

func (f webFetcher) Fetch(string, time.Duration, time.Duration) (*profile.Profile, string, error) {
	return f.p.Copy(), "", nil
}

// noSymbolizer leaves profiles as they are: Go writes them symbolized.
type noSymbolizer struct{}

func (noSymbolizer) Symbolize(string, driver.MappingSources, *profile.Profile) error { return nil }

// noObjTool runs no binary tools (objdump, addr2line).
type noObjTool struct{}

var errNoObjTool = errors.New("perfkit profile web runs no binary tools: use 'go tool pprof' for disassembly")

func (noObjTool) Open(string, uint64, uint64, uint64, string) (driver.ObjFile, error) {
	return nil, errNoObjTool
}
func (noObjTool) Disasm(string, uint64, uint64, bool) ([]driver.Inst, error) {
	return nil, errNoObjTool
}

// webUI prints the driver's messages on stderr and never reads input.
type webUI struct {
	mu      sync.Mutex
	w       io.Writer
	browser bool
}

func (u *webUI) ReadLine(string) (string, error) { return "", io.EOF }
func (u *webUI) Print(args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	msg := fmt.Sprint(args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	io.WriteString(u.w, msg)
}
func (u *webUI) PrintErr(args ...any)                { u.Print(args...) }
func (u *webUI) IsTerminal() bool                    { return false }
func (u *webUI) WantBrowser() bool                   { return u.browser }
func (u *webUI) SetAutoComplete(func(string) string) {}
