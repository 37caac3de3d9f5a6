// Package fetch is perfkit's HTTP load workload: concurrent requests to one or
// more URLs (or a vegeta-style targets file) under the engine's concurrency
// limit, or, given no target, to an embedded server with a configurable
// latency and error rate.
//
// HTTP/1.1 (plain and TLS) goes through fasthttp, whose client reuses request
// and response buffers, so the per-op path allocates nothing and perfkit keeps
// up with wrk on one machine; http2=true goes through net/http, the only
// client here that speaks HTTP/2 (over TLS, or h2c with prior knowledge for
// http:// URLs). By default redirects are not followed: a 3xx is a success,
// as in wrk. Client options (options.go) apply to both clients: mutual TLS
// and a CA bundle, redirects, connect-timeout, connect-to, unix-socket and
// per-request phases.
//
// Each op counts bytes_in and bytes_out, the response and request body sizes
// (as vegeta counts them). A failed op is counted under timeout,
// connect_timeout, conn_refused, conn_reset, tls, decode, redirect, http_NNN
// for a status code ≥ 400, check_NAME for a failed response check
// (checks.go), data_exhausted (data-mode once), or error. Targets may be
// named and weighted (tags.go): a label per name. URLs, header values and
// bodies may be templates filled per op from a sequence, random values and
// a data file's rows (template.go, data.go, templated.go).
package fetch

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// Name is the workload's name on the command line and in results.
const Name = "fetch"

// DefaultPayloadBytes is the embedded server's document size: the size of a
// small JSON API response, and of the peer comparison's nginx document.
const DefaultPayloadBytes = 200

// Bounds of payload-bytes: the smallest document that is still JSON with
// padding, and a size that keeps a worker's response buffer reasonable.
const (
	minPayloadBytes = 16
	maxPayloadBytes = 64 << 20
)

// methodList names the request methods accepted.
const methodList = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE"

func validMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// Definition declares the fetch workload: its parameters and constructor.
func Definition() bench.Definition {
	return bench.Definition{
		Name: Name,
		Help: "HTTP requests to url(s) or a targets file; no target: an embedded JSON server",
		Params: []bench.Param{
			{Name: "url", Kind: bench.Strings, Help: "target URL, http:// or https:// (repeat for several, used round-robin); NAME=URL or NAME:WEIGHT=URL names it (a label per name) and weights it; none: the embedded server", Redact: redactTaggedURL, Check: checkEach(checkURL)},
			{Name: "targets", Kind: bench.String, Help: "targets file: METHOD URL lines, then Header: value lines and an @body-file line; a blank line ends a target (vegeta's http format); \"> name: NAME\", \"> weight: N\" and \"> check-…: …\" lines name, weight and check a target", Check: checkString(checkTargetsPath)},
			{Name: "method", Kind: bench.String, Default: "GET", Help: "request method for url targets (" + methodList + ")", Check: checkString(checkMethod)},
			{Name: "header", Kind: bench.Strings, Help: `request header "Name: value" (repeatable; added to every target)`, Redact: redactHeader, Check: checkEach(checkHeader)},
			{Name: "body", Kind: bench.String, Help: "request body; @FILE reads it from a file (for targets without their own @body)", Check: checkString(checkBody)},
			{Name: "data", Kind: bench.String, Help: "data file for {{row.COLUMN}} in url, header and body templates: .csv (first line names the columns) or .ndjson/.jsonl (see docs/templates.md)", Check: checkString(checkDataPath)},
			{Name: "data-mode", Kind: bench.String, Help: "which data file row a request uses: " + dataModeList + " (unset: sequential); once sends each row at most once and needs --iterations ≤ rows and --warmup 0", Check: checkString(checkDataMode)},
			{Name: "decode-json", Kind: bench.Bool, Default: "false", Help: "parse each successful response body as JSON; failures count as kind decode"},
			{Name: "keepalive", Kind: bench.Bool, Default: "true", Help: "reuse connections; false opens a connection per request"},
			{Name: "http2", Kind: bench.Bool, Default: "false", Help: "speak HTTP/2: over TLS for https://, h2c with prior knowledge for http://"},
			{Name: "insecure", Kind: bench.Bool, Default: "false", Help: "skip TLS certificate verification"},
			{Name: "cert", Kind: bench.String, Help: "client certificate (PEM file) for mutual TLS; its key from key, or from this file"},
			{Name: "key", Kind: bench.String, Help: "private key (PEM file) of the client certificate cert"},
			{Name: "cacert", Kind: bench.String, Help: "CA certificates (PEM file) to verify servers with, instead of the system's"},
			{Name: "redirects", Kind: bench.Int, Default: "0", Help: "redirects to follow per request (0: none, a 3xx is the answer); a longer chain fails as kind redirect", Check: bench.CheckIntRange("redirects", 0, maxRedirects)},
			{Name: "connect-timeout", Kind: bench.Duration, Default: "0s", Help: "time to open a connection (DNS, TCP, TLS); past it the op fails as kind connect_timeout; 0: only the op's timeout", Check: checkConnectTimeout},
			{Name: "connect-to", Kind: bench.String, Help: "HOST:PORT to connect to instead of the URL's host; the Host header and TLS name stay the URL's", Check: checkString(checkConnectTo)},
			{Name: "unix-socket", Kind: bench.String, Help: "path of a unix socket to connect to instead of the URL's host; the URL still gives Host, path and http/https", Check: checkString(checkUnixSocket)},
			{Name: "phases", Kind: bench.Bool, Default: "false", Help: "time each request's phases: dns, connect, tls (new connections only), ttfb, body"},
			{Name: "payload-bytes", Kind: bench.Int, Default: fmt.Sprint(DefaultPayloadBytes), Help: "embedded server: size of the JSON document it serves", Check: checkPayloadBytes},
			{Name: "server-latency", Kind: bench.DistKind, Default: "0s", Help: "embedded server: latency added to each response (e.g. lognormal:p50=2ms,p99=20ms)"},
			{Name: "server-error-rate", Kind: bench.Float, Default: "0", Help: "embedded server: share of responses that are 500s (e.g. 0.05 or 5%)", Check: checkErrorRate},
			{Name: "check-status", Kind: bench.String, Help: "response check: expected status codes, e.g. 200,204 or 2xx,404 or 200-299 (default: below 400 succeeds); others fail as check_status (≥ 400: http_NNN)", Check: checkString(checkStatusSpec)},
			{Name: "check-body-contains", Kind: bench.Strings, Help: "response check: the body contains this text, else kind check_body_contains (repeatable)", Check: checkEach(checkNonEmpty("check-body-contains"))},
			{Name: "check-body-not-contains", Kind: bench.Strings, Help: "response check: the body does not contain this text, else kind check_body_not_contains (repeatable)", Check: checkEach(checkNonEmpty("check-body-not-contains"))},
			{Name: "check-json", Kind: bench.Strings, Help: `response check on the JSON body: PATH (exists), PATH == VALUE or PATH != VALUE (gjson paths: "ok == true", "items.#"), else kind check_json (repeatable)`, Check: checkEach(checkJSONSpec)},
			{Name: "check-max-body-bytes", Kind: bench.Int, Default: "0", Help: "response check: a body larger than this fails as check_body_size (0: no limit)", Check: checkMaxBody},
		},
		Memory:        memory,
		CheckSettings: checkSettings,
		New: func(v bench.Values) (bench.Workload, error) {
			cfg, err := newConfig(v)
			if err != nil {
				return nil, err
			}
			return newFetch(cfg), nil
		},
	}
}

// clientConnBytes is an HTTP/1.1 connection's client side beyond the
// engine's worker: the socket, fasthttp's bookkeeping and the stack an op
// grows. A worker waiting on the server holds no buffer, request or
// response (see h1Client.do); BenchmarkWorkerMemory measures it.
const clientConnBytes = 4 << 10

// h2ConnBytes is a connection's client side over net/http's HTTP/2
// transport, whose framer and stream buffers are per connection.
const h2ConnBytes = 32 << 10

// serverConnBytes is the embedded server's side of a connection: net/http's
// goroutine and its read and write buffers.
const serverConnBytes = 24 << 10

// memory estimates fetch's own memory: a connection per engine worker, and
// with the embedded server its side of each connection and a response of
// payload-bytes in flight on each side of it.
func memory(v bench.Values, engineWorkers int) (float64, string) {
	per := float64(clientConnBytes)
	if v.Bool("http2") {
		per = h2ConnBytes
	}
	what := fmt.Sprintf("%d connections", engineWorkers)
	if len(v.Strings("url")) == 0 && v.String("targets") == "" {
		per += serverConnBytes + 2*float64(v.Int("payload-bytes"))
		what += fmt.Sprintf(" to the embedded server carrying payload-bytes %d", v.Int("payload-bytes"))
	}
	b, dataWhat := dataMemory(v.String("data"))
	return float64(engineWorkers)*per + b, what + dataWhat
}

// config is the validated form of the parameters.
type config struct {
	targets []target // empty: the embedded server
	// The embedded server's target is sent with these.
	method  string
	headers []header
	body    []byte
	bodyTpl *tmpl // body holds actions (see template.go)

	data     *table // the data file's rows, nil: none
	dataMode dataMode

	decodeJSON bool
	keepalive  bool
	http2      bool
	insecure   bool
	client     clientOptions // connections, TLS, redirects, phases (options.go)

	payloadBytes    int
	serverLatency   bench.Dist
	serverErrorRate float64

	checks checkSpecs // response checks of every target (see checks.go)
	order  []int32    // weighted order of targets; nil: round-robin (see tags.go)
}

// target is one request the workload sends, round-robin with the others.
type target struct {
	method  string
	url     *url.URL
	headers []header
	body    []byte
	opts    targetOpts // tag, weight, own checks (see tags.go)
	// Templates (nil: static): the path and query, and the body.
	urlTpl, bodyTpl *tmpl
}

type header struct {
	name, value string
	tpl         *tmpl // the value holds actions; nil: static
}

func newConfig(v bench.Values) (config, error) {
	cfg := config{
		decodeJSON:      v.Bool("decode-json"),
		keepalive:       v.Bool("keepalive"),
		http2:           v.Bool("http2"),
		insecure:        v.Bool("insecure"),
		serverLatency:   v.Dist("server-latency"),
		serverErrorRate: v.Float("server-error-rate"),
	}
	if err := checkPayloadBytes(v.Int("payload-bytes")); err != nil {
		return config{}, fmt.Errorf("param payload-bytes: %w", err)
	}
	cfg.payloadBytes = int(v.Int("payload-bytes"))
	if err := checkErrorRate(cfg.serverErrorRate); err != nil {
		return config{}, fmt.Errorf("param server-error-rate: %w", err)
	}

	var globals []header
	for _, h := range v.Strings("header") {
		hd, err := parseHeader(h)
		if err == nil {
			hd.tpl, err = compileText(hd.value, paramPos("header", strings.Index(h, hd.value)+1))
		}
		if err != nil {
			return config{}, fmt.Errorf("param header: %w", err)
		}
		globals = append(globals, hd)
	}
	body, err := readBody(v.String("body"))
	if err == nil {
		cfg.bodyTpl, err = compileBody(v.String("body"), body)
	}
	if err != nil {
		return config{}, fmt.Errorf("param body: %w", err)
	}
	if cfg.dataMode, err = parseDataMode(v.String("data-mode")); err != nil {
		return config{}, fmt.Errorf("param data-mode: %w", err)
	}

	urls, file := v.Strings("url"), v.String("targets")
	switch {
	case len(urls) > 0 && file != "":
		return config{}, errors.New("params url and targets both given: use one or the other")
	case file != "":
		ts, err := readTargetsFile(file)
		if err != nil {
			return config{}, fmt.Errorf("param targets: %w", err)
		}
		for _, t := range ts {
			if t.body == nil {
				t.body, t.bodyTpl = body, cfg.bodyTpl
			}
			t.headers = mergeHeaders(globals, t.headers)
			cfg.targets = append(cfg.targets, t)
		}
	default:
		m, err := parseMethod(v.String("method"))
		if err != nil {
			return config{}, fmt.Errorf("param method: %w", err)
		}
		cfg.method, cfg.headers, cfg.body = m, globals, body
		for _, s := range urls {
			opts, raw, err := splitTaggedURL(s)
			if err != nil {
				return config{}, fmt.Errorf("param url: %w", err)
			}
			u, ut, err := parseURLTemplate(raw, paramPos("url", len(s)-len(raw)+1))
			if err != nil {
				return config{}, fmt.Errorf("param url: %w", err)
			}
			cfg.targets = append(cfg.targets, target{method: m, url: u, headers: globals, body: body, opts: opts, urlTpl: ut, bodyTpl: cfg.bodyTpl})
		}
	}
	if err := cfg.checkTargets(v, file); err != nil {
		return config{}, err
	}
	// The embedded server's target is made at Setup from cfg's headers and
	// body: their templates are bound here with the targets'.
	embedded := []target{{headers: cfg.headers, bodyTpl: cfg.bodyTpl}}
	if len(cfg.targets) > 0 {
		embedded = nil
	}
	if cfg.data, err = bindData(append(cfg.targets, embedded...), v.String("data")); err != nil {
		return config{}, err
	}
	if cfg.client, err = newClientOptions(v, cfg.insecure, len(cfg.targets) > 0); err != nil {
		return config{}, err
	}
	if err := cfg.client.checkTags(cfg.targets); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// mergeHeaders returns the global headers followed by a target's own; a
// target's header replaces global ones of the same name.
func mergeHeaders(globals, own []header) []header {
	out := make([]header, 0, len(globals)+len(own))
	for _, g := range globals {
		if !slices.ContainsFunc(own, func(h header) bool { return strings.EqualFold(h.name, g.name) }) {
			out = append(out, g)
		}
	}
	return append(out, own...)
}

// parseURL accepts an absolute http or https URL with a host.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("bad url %q: want an http:// or https:// URL with a host (e.g. http://127.0.0.1:8080/health)", redactURL(s))
	}
	if err := bench.CheckURLPort(u); err != nil {
		return nil, fmt.Errorf("bad url %q: %w", redactURL(s), err)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func parseMethod(s string) (string, error) {
	m := strings.ToUpper(strings.TrimSpace(s))
	if !validMethod(m) {
		return "", fmt.Errorf("bad method %q (accepted: %s)", s, methodList)
	}
	return m, nil
}

// parseHeader accepts "Name: value" with a token name. Content-Length and
// Transfer-Encoding are refused: they follow from the body, and a wrong one
// would break the connection's framing.
func parseHeader(s string) (header, error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || !isToken(name) {
		return header{}, fmt.Errorf("bad header %q: want \"Name: value\"", redactHeaderLoose(s))
	}
	if strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") {
		return header{}, fmt.Errorf("bad header %q: %s is set from the body", redactHeaderLoose(s), name)
	}
	return header{name: name, value: strings.TrimSpace(value)}, nil
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// readBody returns a literal body, or a file's contents for "@FILE".
func readBody(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	path, isFile := strings.CutPrefix(s, "@")
	if !isFile {
		return []byte(s), nil
	}
	if path == "" {
		return nil, errors.New(`bad body "@": want @FILE, e.g. @payload.json`)
	}
	b, err := readBodyFile(path)
	if err != nil {
		return nil, fmt.Errorf("body file: %w", err)
	}
	return b, nil
}

// maxBodyBytes bounds a request body read from a file: bodies are held in
// memory for the whole run, and a path such as /dev/zero would otherwise
// be read until the process dies out of memory.
const maxBodyBytes = 64 << 20

// readBodyFile reads a body file of at most maxBodyBytes.
func readBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxBodyBytes {
		return nil, fmt.Errorf("%s: larger than %s, the most a request body may be (bodies are held in memory)", path, bench.FormatBytes(maxBodyBytes))
	}
	return b, nil
}

func checkPayloadBytes(v any) error {
	return bench.CheckIntRange("payload-bytes", minPayloadBytes, maxPayloadBytes)(v)
}

func checkErrorRate(v any) error { return bench.CheckRatio("server-error-rate")(v) }

func checkURL(s string) error {
	_, raw, err := splitTaggedURL(s)
	if err == nil {
		_, _, err = parseURLTemplate(raw, paramPos("url", len(s)-len(raw)+1))
	}
	return err
}
func checkMethod(s string) error { _, err := parseMethod(s); return err }
func checkHeader(s string) error { _, err := parseHeader(s); return err }

func checkBody(s string) error {
	if s == "@" {
		_, err := readBody(s)
		return err
	}
	return nil
}

func checkTargetsPath(s string) error {
	if s == "" {
		return nil
	}
	if _, err := os.Stat(s); err != nil {
		return fmt.Errorf("targets file: %w", err)
	}
	return nil
}

func checkEach(f func(string) error) func(any) error   { return bench.CheckEach(f) }
func checkString(f func(string) error) func(any) error { return bench.Check(f) }

// Redaction. Results and errors must never carry a secret: the password of
// a URL, secret-looking query values, and the values of credential headers.

const redacted = "REDACTED"

// sensitive reports whether a header or query parameter name looks like it
// carries a credential: one list for every workload (bench.SecretName).
func sensitive(name string) bool { return bench.SecretName(name) }

// redactURL hides a URL's password (as url.URL.Redacted does, "xxxxx") and
// the values of secret-looking query parameters; a URL that does not parse
// (no scheme) is redacted as text, so errors quoting it stay clean.
func redactURL(s string) string {
	if hasActions(s) {
		return redactTemplateURL(s)
	}
	return bench.RedactURL(s)
}

// redactHeader hides the value of a credential header ("Name: REDACTED").
func redactHeader(s string) string {
	name, _, ok := strings.Cut(s, ":")
	if ok && sensitive(strings.TrimSpace(name)) {
		return strings.TrimSpace(name) + ": " + redacted
	}
	if !ok {
		return redactHeaderLoose(s)
	}
	return s
}

// redactHeaderLoose redacts a malformed header. With a colon, a credential
// name keeps only its name. Without one it may be a value whose name was
// forgotten ("Bearer abc", a bare token): only a first word that looks like
// a name ("Bearer", "Content-Type") is kept.
func redactHeaderLoose(s string) string {
	if name, _, ok := strings.Cut(s, ":"); ok {
		if sensitive(name) {
			return strings.TrimSpace(name) + ": " + redacted
		}
		return bench.RedactText(s)
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return s
	}
	if !looksLikeName(f[0]) {
		return redacted
	}
	if len(f) == 1 {
		return s
	}
	hasToken := slices.ContainsFunc(f, func(w string) bool { return !looksLikeName(w) })
	if hasToken || slices.ContainsFunc(f, sensitive) || authScheme(f[0]) {
		return f[0] + " " + redacted
	}
	return s // words only ("not a header"): no token among them
}

// authScheme reports whether w starts an Authorization value.
func authScheme(w string) bool {
	switch strings.ToLower(w) {
	case "bearer", "basic", "token", "digest", "negotiate", "bot":
		return true
	}
	return false
}

// looksLikeName reports whether a word is letters and dashes, as header
// names and auth schemes are; a token or password almost never is.
func looksLikeName(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i] | 0x20; (c < 'a' || c > 'z') && w[i] != '-' {
			return false
		}
	}
	return w != "" && len(w) <= 40
}
