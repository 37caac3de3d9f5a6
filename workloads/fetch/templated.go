package fetch

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Templated requests: how a target whose URL, headers or body hold actions
// is compiled at Setup and filled per op (docs/templates.md). A static
// target keeps its pre-serialized request (preparedTarget.raw); a
// templated one is rendered op by op into its worker's buffers.

// KindDataExhausted counts an op that found every row of a data-mode once
// data file already sent (the run refuses more iterations than rows, so it
// takes a sharded or otherwise unforeseen run to see it).
const KindDataExhausted = "data_exhausted"

// compileURL compiles a URL template. The scheme and host must be literal
// (they choose the connection); the actions fill the path and query. It
// returns the URL with each action replaced by "0", which is the target's
// URL for everything but the request line, and the path-and-query template.
func compileURL(s string, pos position) (*url.URL, *tmpl, error) {
	s = strings.TrimSpace(s)
	t, err := parseTemplate(s, pos, true)
	if err != nil {
		return nil, nil, err
	}
	first := ""
	if len(t.segs) > 0 && t.segs[0].kind == segLit {
		first = string(t.segs[0].lit)
	}
	_, rest, ok := strings.Cut(first, "://")
	cut := strings.IndexAny(rest, "/?")
	if !ok || cut < 0 {
		return nil, nil, fmt.Errorf("bad url %q: the scheme and host must be written out, actions go in the path or query (e.g. http://127.0.0.1:8080/users/{{seq}})", redactURL(s))
	}
	var sample strings.Builder
	for _, sg := range t.segs {
		if sg.kind == segLit {
			sample.Write(sg.lit)
		} else {
			sample.WriteString("0")
		}
	}
	u, err := parseURL(sample.String())
	if err != nil {
		return nil, nil, err
	}
	// The path template: the URL without its scheme and host.
	p := &tmpl{segs: append([]segment(nil), t.segs...)}
	lit := rest[cut:]
	if strings.HasPrefix(lit, "?") {
		lit = "/" + lit
	}
	p.segs[0] = segment{kind: segLit, lit: []byte(lit)}
	return u, p, nil
}

// parseURLTemplate parses a url parameter or targets file URL, with or
// without actions.
func parseURLTemplate(s string, pos position) (*url.URL, *tmpl, error) {
	if !hasActions(s) {
		u, err := parseURL(s)
		return u, nil, err
	}
	return compileURL(s, pos)
}

// compileBody compiles the body parameter: literal text (positioned by
// column) or the contents of the @FILE it names (positioned by line).
func compileBody(spec string, body []byte) (*tmpl, error) {
	if path, ok := strings.CutPrefix(spec, "@"); ok {
		return compileText(string(body), linePos(path, 1, string(body)))
	}
	return compileText(string(body), paramPos("body", 1))
}

func checkDataPath(s string) error {
	if s == "" {
		return nil
	}
	if _, err := os.Stat(s); err != nil {
		return fmt.Errorf("data file: %w", err)
	}
	return nil
}

// redactTemplateURL redacts a URL template as bench.RedactURL redacts a
// URL, keeping its actions as written: each is swapped for a placeholder
// that URL escaping leaves alone, and back. An action that is a secret
// query value is redacted with it.
func redactTemplateURL(s string) string {
	var (
		b       strings.Builder
		actions []string
	)
	rest := s
	for {
		i := strings.Index(rest, "{{")
		j := strings.Index(rest[max(i, 0):], "}}")
		if i < 0 || j < 0 {
			b.WriteString(rest)
			break
		}
		j += i + 2
		b.WriteString(rest[:i])
		fmt.Fprintf(&b, "zzpkaction%dzz", len(actions))
		actions = append(actions, rest[i:j])
		rest = rest[j:]
	}
	out := bench.RedactURL(b.String())
	for k := len(actions) - 1; k >= 0; k-- { // from the last: action 1 is not a prefix of action 10
		out = strings.Replace(out, fmt.Sprintf("zzpkaction%dzz", k), actions[k], 1)
	}
	return out
}

// compileText compiles a header value or body that holds actions; static
// text (no "{{") gives nil.
func compileText(s string, pos position) (*tmpl, error) {
	if !hasActions(s) {
		return nil, nil
	}
	return parseTemplate(s, pos, false)
}

// templated reports whether target t has an action anywhere.
func (t *target) templated() bool {
	if t.urlTpl != nil || t.bodyTpl != nil {
		return true
	}
	for _, h := range t.headers {
		if h.tpl != nil {
			return true
		}
	}
	return false
}

// templates lists target t's compiled templates, and those of its header
// values apart.
func (t *target) templates() (all, headers []*tmpl) {
	for _, h := range t.headers {
		if h.tpl != nil {
			headers = append(headers, h.tpl)
		}
	}
	all = append(all, headers...)
	if t.urlTpl != nil {
		all = append(all, t.urlTpl)
	}
	if t.bodyTpl != nil {
		all = append(all, t.bodyTpl)
	}
	return all, headers
}

// bindData loads the data file (when given) with the columns the targets'
// templates use and binds every {{row.COLUMN}} to it.
func bindData(ts []target, path string) (*table, error) {
	var all, headers []*tmpl
	for i := range ts {
		a, h := ts[i].templates()
		all, headers = append(all, a...), append(headers, h...)
	}
	var cols, hcols []string
	for _, t := range all {
		cols = t.columns(cols)
	}
	for _, t := range headers {
		hcols = t.columns(hcols)
	}
	var d *table
	if path != "" {
		if len(cols) == 0 {
			return nil, errors.New("param data: no template uses a column of it (write {{row.COLUMN}} in the url, a header or the body)")
		}
		var err error
		if d, err = loadData(path, cols); err != nil {
			return nil, fmt.Errorf("param data: %w", err)
		}
	}
	for _, t := range all {
		if err := t.bind(d); err != nil {
			return nil, err
		}
	}
	if d != nil {
		if err := d.checkHeaderValues(hcols); err != nil {
			return nil, fmt.Errorf("param data: %w", err)
		}
	}
	return d, nil
}

// prepareTemplates compiles the templated targets' requests and, when
// there is one, the plan their ops share.
func (f *fetch) prepareTemplates() {
	for i := range f.targets {
		if t := &f.targets[i]; t.templated() {
			t.tpl = compileRequest(t, f.cfg.keepalive)
		}
	}
	for i := range f.targets {
		if f.targets[i].tpl != nil {
			f.plan = newTplPlan(f.targets, f.cfg.data, f.cfg.dataMode)
			return
		}
	}
}

// reqTemplate is a templated target's HTTP/1.1 request: its head up to the
// Content-Length, which follows from the filled body, then tail and body.
type reqTemplate struct {
	head     *tmpl
	body     *tmpl // nil: the target's static body
	tail     []byte
	alwaysCL bool // send Content-Length: 0 for an empty body (as fasthttp does for POST, PUT, PATCH)
}

// compileRequest builds target t's HTTP/1.1 request template, writing what
// fasthttp would write for the same request: the request line, Host, the
// headers in order, User-Agent unless one is set, Content-Length,
// Connection: close without keepalive, and the body.
func compileRequest(t *preparedTarget, keepalive bool) *reqTemplate {
	head := &tmpl{}
	lit := func(s string) {
		if n := len(head.segs); n > 0 && head.segs[n-1].kind == segLit {
			head.segs[n-1].lit = append(head.segs[n-1].lit, s...)
			return
		}
		head.segs = append(head.segs, segment{kind: segLit, lit: []byte(s)})
	}
	add := func(tp *tmpl) {
		for _, s := range tp.segs {
			if s.kind == segLit {
				lit(string(s.lit))
			} else {
				head.segs = append(head.segs, s)
			}
		}
	}
	lit(t.method + " ")
	if t.urlTpl != nil {
		add(t.urlTpl)
	} else {
		lit(t.url.RequestURI())
	}
	lit(" HTTP/1.1\r\n")
	host, ua := t.url.Host, false
	var hostTpl *tmpl
	for _, h := range t.headers {
		if strings.EqualFold(h.name, "Host") {
			host, hostTpl = h.value, h.tpl
		}
	}
	lit("Host: ")
	if hostTpl != nil {
		add(hostTpl)
	} else {
		lit(host)
	}
	lit("\r\n")
	for _, h := range t.headers {
		if strings.EqualFold(h.name, "Host") {
			continue
		}
		ua = ua || strings.EqualFold(h.name, "User-Agent")
		lit(h.name + ": ")
		if h.tpl != nil {
			add(h.tpl)
		} else {
			lit(h.value)
		}
		lit("\r\n")
	}
	if !ua {
		lit("User-Agent: " + userAgent + "\r\n")
	}
	rt := &reqTemplate{head: head, body: t.bodyTpl}
	switch t.method {
	case "POST", "PUT", "PATCH":
		rt.alwaysCL = true
	}
	if !keepalive {
		rt.tail = append(rt.tail, "Connection: close\r\n"...)
	}
	rt.tail = append(rt.tail, "\r\n"...)
	return rt
}

// seqChunk is how many sequence numbers a worker takes from the shared
// counter at once: one atomic add per seqChunk requests. data-mode once
// takes them one by one, so that the rows a run sends are exactly the
// first ones, whichever worker sends them.
const seqChunk = 32

// seqSource hands out sequence numbers; padded to a cache line of its own.
type seqSource struct {
	_ [64]byte
	n atomic.Uint64
	_ [56]byte
}

// tplState is a worker's template state: its RNG, its share of the
// sequence and the buffers its requests are filled into, reused op after
// op.
type tplState struct {
	rng       rand.PCG
	next, end uint64 // sequence numbers claimed and not yet used
	req, body []byte
	path      []byte // HTTP/2: the request's path and query
}

// tplPlan is what every templated op of a run shares, fixed at Setup.
type tplPlan struct {
	seq   *seqSource
	chunk uint64
	// needSeq: the templates use {{seq}}, or rows in order.
	needSeq bool
	data    *table
	mode    dataMode
	seed    uint64
	// exhausted is the error of an op with no row left (data-mode once).
	exhausted *bench.KindError
}

func newTplPlan(ts []preparedTarget, data *table, mode dataMode) *tplPlan {
	p := &tplPlan{seq: &seqSource{}, chunk: seqChunk, data: data, mode: mode, seed: uint64(time.Now().UnixNano()),
		exhausted: &bench.KindError{Kind: KindDataExhausted, Err: errors.New("every row of the data file was sent (data-mode once)")}}
	if mode == modeOnce {
		p.chunk = 1
	}
	for i := range ts {
		all, _ := ts[i].templates()
		for _, t := range all {
			p.needSeq = p.needSeq || t.uses(segSeq) || (t.uses(segRow) && mode != modeRandom)
		}
	}
	return p
}

func (p *tplPlan) newState(id int) *tplState {
	st := &tplState{}
	st.rng.Seed(p.seed, uint64(id)+1)
	return st
}

// start returns the renderer of a worker's next request; ok is false when
// data-mode once has no row left.
func (p *tplPlan) start(st *tplState) (r renderer, ok bool) {
	r = renderer{rng: &st.rng, data: p.data}
	if p.needSeq {
		if st.next == st.end {
			st.end = p.seq.n.Add(p.chunk)
			st.next = st.end - p.chunk
		}
		r.seq = st.next
		st.next++
	}
	if p.data != nil {
		switch p.mode {
		case modeSequential:
			r.row = int(r.seq % uint64(p.data.rows))
		case modeRandom:
			r.row = int(st.rng.Uint64() % uint64(p.data.rows))
		case modeOnce:
			if r.seq >= uint64(p.data.rows) {
				return r, false
			}
			r.row = int(r.seq)
		}
	}
	return r, true
}

// render1 fills target t's HTTP/1.1 request into the worker's buffer and
// returns it and its body's length.
func (p *tplPlan) render1(st *tplState, t *preparedTarget) (raw []byte, bodyLen int, ok bool) {
	r, ok := p.start(st)
	if !ok {
		return nil, 0, false
	}
	rt := t.tpl
	body := t.body
	if rt.body != nil {
		st.body = r.appendTo(st.body[:0], rt.body)
		body = st.body
	}
	b := r.appendTo(st.req[:0], rt.head)
	if len(body) > 0 || rt.alwaysCL {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, rt.tail...)
	b = append(b, body...)
	st.req = b
	return b, len(body), true
}

// fill2 fills target t's HTTP/2 request: req is the target's request
// already copied for this op. net/http allocates per request anyway; the
// body is a copy, since the transport may still be sending it when the
// response arrives.
func (p *tplPlan) fill2(req *http.Request, st *tplState, t *preparedTarget) (body []byte, err error) {
	r, ok := p.start(st)
	if !ok {
		return nil, p.exhausted
	}
	if t.urlTpl != nil {
		st.path = r.appendTo(st.path[:0], t.urlTpl)
		pu, err := url.ParseRequestURI(string(st.path))
		if err != nil {
			return nil, &bench.KindError{Kind: bench.KindOther, Err: fmt.Errorf("filled url: %w", err)}
		}
		u := *req.URL
		u.Path, u.RawPath, u.RawQuery = pu.Path, pu.RawPath, pu.RawQuery
		req.URL = &u
	}
	if hasHeaderTpl(t.headers) {
		h := make(http.Header, len(req.Header))
		for k, v := range req.Header {
			h[k] = v
		}
		for _, hd := range t.headers {
			if hd.tpl != nil && !strings.EqualFold(hd.name, "Host") {
				h.Del(hd.name)
			}
		}
		for _, hd := range t.headers {
			if hd.tpl == nil {
				continue
			}
			st.req = r.appendTo(st.req[:0], hd.tpl)
			if strings.EqualFold(hd.name, "Host") {
				req.Host = string(st.req)
			} else {
				h.Add(hd.name, string(st.req))
			}
		}
		req.Header = h
	}
	body = t.body
	if t.bodyTpl != nil {
		st.body = r.appendTo(st.body[:0], t.bodyTpl)
		body = bytes.Clone(st.body)
	}
	return body, nil
}

func hasHeaderTpl(hs []header) bool {
	for _, h := range hs {
		if h.tpl != nil {
			return true
		}
	}
	return false
}

// checkSettings refuses settings that data-mode once cannot honour: it
// sends each row at most once, so the run must ask for a number of ops
// (--iterations, times --count) no larger than the rows, and no warmup
// (whose ops would take rows). A shard cannot tell which rows are its own.
func checkSettings(v bench.Values, s bench.Settings) error {
	if v.String("data") == "" {
		return nil
	}
	if m, err := parseDataMode(v.String("data-mode")); err != nil || m != modeOnce {
		return nil // a bad mode is refused with the parameters
	}
	cfg, err := newConfig(v)
	if err != nil || cfg.data == nil {
		return nil // refused with the parameters
	}
	rows := int64(cfg.data.rows)
	count := int64(max(s.Count, 1))
	switch {
	case s.Iterations == 0:
		return fmt.Errorf("data-mode once sends each of the %d rows of %s at most once: run a number of requests (--iterations, at most %d) instead of a duration", rows, cfg.data.name, rows)
	case s.Warmup > 0:
		return fmt.Errorf("data-mode once: warmup requests would use rows of %s: set --warmup 0", cfg.data.name)
	case s.Shard != nil:
		return fmt.Errorf("data-mode once with --shard: every shard would send the same rows of %s", cfg.data.name)
	case s.Iterations*count > rows:
		return fmt.Errorf("data-mode once: --iterations %d × --count %d asks for %d requests, but %s has %d rows", s.Iterations, count, s.Iterations*count, cfg.data.name, rows)
	}
	return nil
}
