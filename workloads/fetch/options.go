package fetch

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Client options: how connections are opened (connect-to, unix-socket,
// connect-timeout, TLS with a client certificate and a CA bundle), whether
// redirects are followed, and whether each request's phases are timed. They
// apply alike to the HTTP/1.1 and the HTTP/2 client; docs/http-client.md
// is the user's guide.

// maxRedirects bounds redirects: a chain longer than this is a loop.
const maxRedirects = 100

// KindRedirect is the error kind of a redirect not followed: the chain was
// longer than redirects, or its Location was not an http(s) URL.
const KindRedirect = "redirect"

// KindConnectTimeout is the error kind of a connection not opened within
// connect-timeout (DNS, TCP and TLS).
const KindConnectTimeout = "connect_timeout"

// clientOptions is the validated form of the client options.
type clientOptions struct {
	tls            *tls.Config // every TLS connection's settings but the server name
	redirects      int
	connectTimeout time.Duration
	connectTo      string // HOST:PORT, or ""
	unixSocket     string // a socket path, or ""
	phases         bool
}

// newClientOptions reads the client options. external says a url or a
// targets file was given: connect-to and unix-socket redirect those, and
// mean nothing for the embedded server.
func newClientOptions(v bench.Values, insecure, external bool) (clientOptions, error) {
	o := clientOptions{
		redirects:      int(v.Int("redirects")),
		connectTimeout: v.Duration("connect-timeout"),
		connectTo:      strings.TrimSpace(v.String("connect-to")),
		unixSocket:     v.String("unix-socket"),
		phases:         v.Bool("phases"),
	}
	if err := bench.CheckIntRange("redirects", 0, maxRedirects)(int64(o.redirects)); err != nil {
		return o, fmt.Errorf("param redirects: %w", err)
	}
	if err := checkConnectTimeout(o.connectTimeout); err != nil {
		return o, fmt.Errorf("param connect-timeout: %w", err)
	}
	if err := checkConnectTo(o.connectTo); err != nil {
		return o, fmt.Errorf("param connect-to: %w", err)
	}
	if err := checkUnixSocket(o.unixSocket); err != nil {
		return o, fmt.Errorf("param unix-socket: %w", err)
	}
	switch {
	case o.connectTo != "" && o.unixSocket != "":
		return o, errors.New("params connect-to and unix-socket both given: connections go to one or the other")
	case (o.connectTo != "" || o.unixSocket != "") && !external:
		return o, errors.New("params connect-to and unix-socket redirect a url or targets file's requests: give url or targets")
	}
	cfg, err := newTLSConfig(v.String("cert"), v.String("key"), v.String("cacert"), insecure)
	if err != nil {
		return o, err
	}
	o.tls = cfg
	return o, nil
}

// phaseNames are the latency keys phases=true records (phases.go).
func phaseNames() []string { return []string{"dns", "connect", "tls", "ttfb", "body"} }

// checkTags refuses, with phases, a target named like a phase: both would
// be one latency key of the result.
func (o clientOptions) checkTags(targets []target) error {
	if !o.phases {
		return nil
	}
	for _, t := range targets {
		if slices.Contains(phaseNames(), t.opts.tag) {
			return fmt.Errorf("target name %q is a phase's with phases=true (%s): rename the target", t.opts.tag, strings.Join(phaseNames(), ", "))
		}
	}
	return nil
}

func checkConnectTimeout(v any) error {
	if d, ok := v.(time.Duration); ok && d < 0 {
		return fmt.Errorf("connect-timeout %s: must not be negative (0: only the op's timeout)", d)
	}
	return nil
}

// checkConnectTo accepts HOST:PORT ("" for none).
func checkConnectTo(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad connect-to %q: want HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:8443)", s)
	}
	return nil
}

// checkUnixSocket accepts the path of an existing unix socket ("" for none):
// a typo is refused before the run rather than failing every op.
func checkUnixSocket(s string) error {
	if s == "" {
		return nil
	}
	fi, err := os.Stat(s)
	if err != nil {
		return fmt.Errorf("socket %q: %w", s, pathErr(err))
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%q: not a socket (want the path a server listens on)", s)
	}
	return nil
}

// pathErr is a file error without the path the caller already quotes: an
// error is printed through bench.RedactText, which would take the "key: no"
// of "open client.key: no such file" for a credential and hide it.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
