package fetch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/perfkit/perfkit/internal/rawconn"
)

// userAgent is sent unless a header sets another.
const userAgent = "perfkit"

// readBufferSize is fasthttp's pooled read buffer, which also bounds a
// response's head (fasthttp's default, 4 KiB, is tight for cookies). Only
// ops parsing a response hold one (see h1Client.do), so its size doesn't
// grow with the number of connections.
const readBufferSize = 8 << 10

// maxIdleConn closes a pooled connection unused this long. It is long enough
// that a slow open-model rate doesn't pay a new connection per op (LIFO reuse
// keeps the busy connections busy and lets the rest expire), and short enough
// that fasthttp's idle-connection cleaner, which sleeps this long between
// scans and can't be stopped, exits soon after Teardown.
const maxIdleConn = 30 * time.Second

// h1Client sends HTTP/1.1 through fasthttp: one HostClient per scheme and
// host, each allowed as many connections as ops can be in flight, so no op
// waits for a connection and connections don't churn.
type h1Client struct {
	hosts     []*fasthttp.HostClient
	index     map[string]int // hosts by scheme://host:port; read-only after Setup
	keepalive bool
	conns     *connSet
	conc      int
	timeout   time.Duration

	// Redirects (see follow): the first hop of each target, and the hosts
	// redirects lead to that no target names.
	redirects int
	tooMany   error
	hops      []atomic.Pointer[redirectHop]
	mu        sync.Mutex
	extra     map[string]*fasthttp.HostClient
}

func newH1Client(cfg config, conc int, targets []preparedTarget, timeout time.Duration) (*h1Client, error) {
	c := &h1Client{
		keepalive: cfg.keepalive, conns: newConnSet(newDialer(cfg.client, nil)), conc: conc, timeout: timeout, index: map[string]int{},
		redirects: cfg.client.redirects, tooMany: tooManyRedirects(cfg.client.redirects), hops: make([]atomic.Pointer[redirectHop], len(targets)),
	}
	for i := range targets {
		t := &targets[i]
		isTLS := t.url.Scheme == "https"
		addr := fasthttp.AddMissingPort(t.url.Host, isTLS)
		key := t.url.Scheme + "://" + addr
		h, ok := c.index[key]
		if !ok {
			h = len(c.hosts)
			c.index[key] = h
			c.hosts = append(c.hosts, c.newHost(addr, isTLS))
		}
		t.host = h
		if err := c.prepare(t); err != nil {
			return nil, fmt.Errorf("target %s %s: %w", t.method, redactURL(t.uri), err)
		}
	}
	return c, nil
}

// newHost makes the HostClient of addr. Its connections are the
// client's dialer's: already past the TLS handshake with https, which
// fasthttp then leaves alone.
func (c *h1Client) newHost(addr string, isTLS bool) *fasthttp.HostClient {
	wait := c.timeout
	if wait <= 0 {
		wait = time.Hour // no per-op timeout: wait for a connection as long as it takes
	}
	return &fasthttp.HostClient{
		Addr:        addr,
		IsTLS:       isTLS,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) { return c.conns.dial(addr, isTLS, timeout) },
		MaxConns:    c.conc,
		// Under the engine's cap no op should wait; if one does (connections
		// closing with keepalive=false), it waits within its deadline.
		MaxConnWaitTimeout:  wait,
		MaxIdleConnDuration: maxIdleConn,
		ConnPoolStrategy:    fasthttp.LIFO,
		ReadBufferSize:      readBufferSize,
		// Requests go through h1Client.do, not HostClient.Do: the user agent,
		// retries and path options are set there and in h1Client.prepare.
	}
}

// prepare writes target t's request once, as fasthttp would send it, into
// t.raw: every op on t sends these bytes, so no worker holds a request of
// its own and no op serializes one.
func (c *h1Client) prepare(t *preparedTarget) error {
	var req fasthttp.Request
	req.Header.SetNoDefaultContentType(true)
	req.Header.SetMethod(t.method)
	req.SetRequestURI(t.uri)
	req.URI().DisablePathNormalizing = true // paths exactly as given
	for _, h := range t.headers {
		if strings.EqualFold(h.name, "Host") {
			req.Header.SetHost(h.value)
			req.UseHostHeader = true
			continue
		}
		req.Header.Add(h.name, h.value)
	}
	if len(req.Header.UserAgent()) == 0 {
		req.Header.SetUserAgent(userAgent)
	}
	if len(t.body) > 0 {
		req.SetBodyRaw(t.body)
	}
	if !c.keepalive {
		req.SetConnectionClose()
	}
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	if err := req.Write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	t.raw = b.Bytes()
	t.head = req.Header.IsHead()
	t.closeConn = req.ConnectionClose()
	// A load generator must not hide failures: an op is sent again only when
	// a pooled keep-alive connection turned out to be closed, and never a
	// POST or PATCH, which the server may have acted on.
	t.retryStale = !req.Header.IsPost() && !req.Header.IsPatch()
	return nil
}

// maxAttempts is how many times an op may be sent: once more when a pooled
// keep-alive connection turned out to be closed (see retryStale).
const maxAttempts = 2

// do sends target t on hc and reads the answer before deadline (zero:
// none) into a pooled response, which the caller releases with
// fasthttp.ReleaseResponse. It is fasthttp's HostClient.Do with three
// differences that make a connection cheap: a worker waiting for its answer
// holds neither a read buffer nor a response (fasthttp takes both before it
// blocks, so every op in flight holds them; do waits for the socket to
// become readable first, see waitReadable, so only ops actually parsing an
// answer hold them, about one per CPU), and the request is raw: t.raw,
// written once at Setup, so a worker holds no request and an op serializes
// none, or a templated target's request filled into the worker's buffer.
// pc, when not nil, times the request's phases.
func (c *h1Client) do(hc *fasthttp.HostClient, t *preparedTarget, raw []byte, deadline time.Time, pc *phaseClock) (*fasthttp.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, retry, err := roundTrip(hc, t, raw, deadline, pc)
		if err == nil {
			return resp, nil
		}
		if err == io.EOF {
			err = fasthttp.ErrConnectionClosed // as HostClient.Do reports it
		}
		if !retry || attempt >= maxAttempts || !t.retryStale || !errors.Is(err, fasthttp.ErrConnectionClosed) {
			return nil, err
		}
	}
}

// roundTrip is one attempt of do, after fasthttp's default transport (the
// same steps, with the read buffer and response taken after the wait).
// retry reports whether the attempt failed on its connection, so that
// another might not. pc, when not nil, times the request's phases.
func roundTrip(hc *fasthttp.HostClient, t *preparedTarget, raw []byte, deadline time.Time, pc *phaseClock) (resp *fasthttp.Response, retry bool, err error) {
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil, false, fasthttp.ErrTimeout
		}
	}
	cc, err := hc.AcquireConn(timeout, t.closeConn)
	if err != nil {
		return nil, false, err
	}
	conn := cc.Conn()
	tc, plain := tracked(conn)
	if pc != nil {
		pc.connected(tc)
	}
	if err = setDeadline(conn, tc, deadline); err == nil {
		err = send(conn, tc, plain, raw)
	}
	if err != nil {
		hc.CloseConn(cc)
		if te, ok := err.(interface{ Timeout() bool }); ok && te.Timeout() {
			err = fasthttp.ErrTimeout
		}
		return nil, true, err
	}

	resp = fasthttp.AcquireResponse()
	resp.SkipBody = t.head
	br := hc.AcquireReader(conn)
	if !plain {
		// The response's first byte, decrypted: read here because fasthttp
		// reports any error on it as io.EOF, and a TLS alert (a server
		// refusing the client's certificate) must count as tls. Other
		// errors stay as fasthttp has them: io.EOF sends the op again on a
		// fresh connection (see do).
		if _, err = br.Peek(1); err != nil && !isTLSError(err) {
			if te, ok := err.(interface{ Timeout() bool }); ok && te.Timeout() {
				err = fasthttp.ErrTimeout
			} else {
				err = io.EOF
			}
		}
	}
	if pc != nil {
		pc.firstByte()
	}
	if err == nil {
		err = resp.ReadLimitBody(br, 0)
	}
	hc.ReleaseReader(br)
	if err == nil && pc != nil {
		pc.bodyRead()
	}
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		hc.CloseConn(cc)
		return nil, err != fasthttp.ErrBodyTooLarge, err
	}
	if t.closeConn || resp.ConnectionClose() {
		hc.CloseConn(cc)
	} else {
		hc.ReleaseConn(cc)
	}
	return resp, false, nil
}

// send writes req on conn and, on a plain TCP connection, waits until the
// response has begun to arrive (waitReadable). Writing inside the poller's
// wait instead, which saves the peek's system call, was measured slower: at
// saturation the answer is often there by the time of the peek, and an op
// that parks regardless costs a park and a wake-up (closed model, 64
// connections to a local nginx: 71k req/s against 77k).
func send(conn net.Conn, tc *trackedConn, plain bool, req []byte) error {
	if _, err := conn.Write(req); err != nil || !plain {
		return err
	}
	return tc.waitReadable()
}

// tracked returns the connSet connection under conn, and whether conn is
// that plain TCP connection (not TLS over it).
func tracked(conn net.Conn) (tc *trackedConn, plain bool) {
	switch c := conn.(type) {
	case *trackedConn:
		return c, true
	case *tls.Conn:
		tc, _ = c.NetConn().(*trackedConn)
	}
	return tc, false
}

// setDeadline sets the op's deadline on its connection, or clears one an
// earlier op left (a run's ops all have a deadline or none, so this is
// rare); without one to set or clear it costs nothing.
func setDeadline(conn net.Conn, tc *trackedConn, deadline time.Time) error {
	if tc == nil {
		return conn.SetDeadline(deadline)
	}
	if deadline.IsZero() && !tc.deadlineSet {
		return nil
	}
	tc.deadlineSet = !deadline.IsZero()
	return conn.SetDeadline(deadline)
}

func (c *h1Client) close() {
	for _, h := range c.hosts {
		h.CloseIdleConnections()
	}
	c.mu.Lock()
	for _, h := range c.extra {
		h.CloseIdleConnections()
	}
	c.mu.Unlock()
	c.conns.closeAll() // and any an abandoned op still waits on
}

// abort closes every connection, idle or busy: fasthttp's Do takes no
// context, so this is how an op waiting on a target that never answers
// returns when the engine cancels it. The client dials afresh afterwards.
func (c *h1Client) abort() { c.conns.closeAll() }

// connSet tracks the client's open connections so they can be closed under
// ops in flight, and opens them (see maxDialing). It is touched once per
// connection, never per op (with keepalive).
type connSet struct {
	d       *dialer
	dialing chan struct{} // a slot per dial under way
	mu      sync.Mutex
	open    map[*trackedConn]struct{}
}

// maxDialing bounds the connections being opened at once. Each dial runs
// on a goroutine of its own: the dialer's call chain doubles a goroutine's
// stack (to 8 KiB), which a worker dialing for itself would keep until a
// GC, and all workers dial at the start of a run (80 MiB at -c 10000); a
// dial goroutine's stack goes back to the runtime when it ends, so only
// maxDialing are deep at once. It also paces a run's opening burst:
// 10,000 connections to a server 50 ms away open in about a second.
const maxDialing = 512

type dialResult struct {
	conn net.Conn
	err  error
}

func (s *connSet) dial(addr string, isTLS bool, timeout time.Duration) (net.Conn, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	select {
	case s.dialing <- struct{}{}:
	default: // maxDialing dials under way: wait for one to end
		if timeout <= 0 {
			s.dialing <- struct{}{}
			break
		}
		t := time.NewTimer(timeout)
		select {
		case s.dialing <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, fasthttp.ErrDialTimeout
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			<-s.dialing
			return nil, fasthttp.ErrDialTimeout
		}
	}
	done := make(chan dialResult, 1)
	go func() {
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		conn, err := s.d.dial(ctx, addr, isTLS, s.track)
		<-s.dialing
		done <- dialResult{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

// track adds a new connection to the set.
func (s *connSet) track(conn net.Conn) *trackedConn {
	tc := &trackedConn{Conn: conn, set: s, raw: rawconn.New(conn)}
	if tc.raw != nil {
		// Reads and writes go through the raw form (see rawconn: a plain
		// system call that finds the program idle wakes the runtime's
		// sysmon, which in the open model was a fifth of perfkit's CPU).
		tc.Conn = tc.raw
	}
	s.mu.Lock()
	s.open[tc] = struct{}{}
	s.mu.Unlock()
	return tc
}

func newConnSet(d *dialer) *connSet {
	return &connSet{d: d, dialing: make(chan struct{}, maxDialing), open: map[*trackedConn]struct{}{}}
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.open))
	for tc := range s.open {
		conns = append(conns, tc)
	}
	s.mu.Unlock()
	for _, tc := range conns {
		_ = tc.Close()
	}
}

// trackedConn leaves its set when closed. The fields after once belong to
// the op holding the connection.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once

	deadlineSet bool          // the connection has a deadline an op set
	raw         *rawconn.Conn // Conn's raw form, for waitReadable; nil if none
	times       connTimes     // how long opening it took (see dialer)
}

// waitReadable returns once the connection has a byte, an EOF or an error
// to read, or with the connection's deadline error. Its caller then takes a
// read buffer for a read that does not block (see h1Client.do). Without a
// raw form it returns at once, and the read waits holding the buffer, as
// fasthttp's own does.
func (c *trackedConn) waitReadable() error {
	if c.raw == nil {
		return nil
	}
	return c.raw.WaitReadable()
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.open, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}

// h2Client sends HTTP/2 through net/http: over TLS for https URLs, and h2c
// with prior knowledge for http URLs.
type h2Client struct {
	tr      *http.Transport
	reqs    []*http.Request // one template per target; shallow-copied per op
	conns   *connSet        // tracked for their phases (see dialer)
	client  *http.Client    // with redirects: follows them (see followRedirects)
	tooMany error

	certRefused error // see refusedCert
	anyTLS      bool  // an https target: ops learn their connection (see h2Worker)
}

func newH2Client(cfg config, conc int, targets []preparedTarget) *h2Client {
	var p http.Protocols
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	conns := newConnSet(newDialer(cfg.client, []string{"h2"}))
	c := &h2Client{conns: conns, certRefused: newCertRefused(), tr: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return conns.d.dial(ctx, addr, false, conns.track)
		},
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return conns.d.dial(ctx, addr, true, conns.track)
		},
		ForceAttemptHTTP2:   true,
		Protocols:           &p,
		MaxConnsPerHost:     conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     maxIdleConn,
		DisableKeepAlives:   !cfg.keepalive,
		DisableCompression:  true, // as the HTTP/1.1 path: bodies as the server sends them
	}}
	for _, t := range targets {
		r := &http.Request{
			Method:     t.method,
			URL:        t.url,
			Proto:      "HTTP/2.0",
			ProtoMajor: 2,
			Header:     make(http.Header, len(t.headers)+1),
			Host:       t.url.Host,
		}
		for _, h := range t.headers {
			if strings.EqualFold(h.name, "Host") {
				r.Host = h.value
				continue
			}
			r.Header.Add(h.name, h.value)
		}
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", userAgent)
		}
		c.reqs = append(c.reqs, r)
		c.anyTLS = c.anyTLS || t.url.Scheme == "https"
	}
	if cfg.client.redirects > 0 {
		c.followRedirects(cfg.client.redirects)
	}
	return c
}

func (c *h2Client) close() {
	c.tr.CloseIdleConnections()
	c.conns.closeAll()
}

// classifyCtx classifies a net/http error, which reports an expired context
// in many shapes (a read error, a canceled stream): the context decides.
func (t *errTable) classifyCtx(ctx context.Context, err error) error {
	switch ctx.Err() {
	case nil:
		return t.classify(err)
	case context.DeadlineExceeded:
		return t.timeout
	default:
		return t.canceled
	}
}
