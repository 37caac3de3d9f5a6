package fetch

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/perfkit/perfkit/bench"
	"github.com/valyala/fasthttp"
)

// fetch is the workload: the targets it sends to, the client it sends with
// (fasthttp for HTTP/1.1, net/http for HTTP/2) and, given no target, the
// embedded server it sends to.
type fetch struct {
	cfg  config
	errs *errTable

	// Set by Setup.
	targets  []preparedTarget
	order    []int32 // cfg.order: the weighted order of targets, or nil
	cycle    int     // len(order), or len(targets) without weights
	bytesIn  bench.Counter
	bytesOut bench.Counter
	h1       *h1Client // nil with http2
	h2       *h2Client // nil without http2
	srv      *server   // nil with a url or targets
	phases   *phaseSet // nil without phases

	plan *tplPlan // nil: no target is templated (templated.go)
}

// preparedTarget is a target in the forms the clients need, built once.
type preparedTarget struct {
	target
	uri  string // absolute URL as sent
	host int    // index of its HostClient (HTTP/1.1)

	// HTTP/1.1 (see h1Client.prepare).
	raw        []byte // the request as sent: head and body
	head       bool   // a HEAD request: the response has no body
	closeConn  bool   // Connection: close (keepalive=false)
	retryStale bool   // may be sent again on a stale keep-alive connection

	tagState           // label and error counter of a named target (tags.go)
	checks   *checkSet // response checks (checks.go)

	tpl *reqTemplate // the request's template; nil: static, raw (templated.go)
}

// worker is the per-worker state kept in bench.Worker.State: the
// round-robin position and, for HTTP/2, a body buffer reused op after op.
// HTTP/1.1 requests are the targets' (preparedTarget.raw), shared by all
// workers, and responses are pooled, taken only once one has begun to
// arrive (h1Client.do): a worker waiting on the server holds neither.
type worker struct {
	next int          // index of the next target
	buf  bytes.Buffer // HTTP/2: the response body
	tpl  *tplState    // templated targets: the worker's RNG, sequence and request buffers
	ph   *phaseClock  // nil without phases
	h2   h2Worker     // HTTP/2: the connection of the op (see h2Worker)
}

func newFetch(cfg config) *fetch { return &fetch{cfg: cfg, errs: newErrTable()} }

var _ bench.Workload = (*fetch)(nil)

// Setup starts the embedded server when no target was given, declares the
// byte counters and builds a client sized to the concurrency.
func (f *fetch) Setup(ctx context.Context, s *bench.Setup) error {
	f.bytesIn = s.Counter("bytes_in")
	f.bytesOut = s.Counter("bytes_out")
	conc := s.Concurrency
	if conc <= 0 {
		conc = bench.DefaultConcurrency
	}

	targets := f.cfg.targets
	// A url or targets file: the service runs elsewhere, and perfkit's own
	// CPU and allocations per op are the client's, not the service's.
	s.External = len(targets) > 0
	if len(targets) == 0 {
		srv, err := startServer(serverConfig{
			payloadBytes: f.cfg.payloadBytes,
			latency:      f.cfg.serverLatency,
			errorRate:    f.cfg.serverErrorRate,
			h2c:          f.cfg.http2,
		})
		if err != nil {
			return fmt.Errorf("embedded server: %w", err)
		}
		f.srv = srv
		targets = []target{{method: f.cfg.method, url: srv.url, headers: f.cfg.headers, body: f.cfg.body, bodyTpl: f.cfg.bodyTpl}}
		s.Embedded = true
		s.Notes = append(s.Notes, fmt.Sprintf("embedded target %s (no url given)", srv.url))
	}

	if f.cfg.client.phases {
		f.phases = declarePhases(s)
	}
	f.targets = make([]preparedTarget, len(targets))
	for i, t := range targets {
		f.targets[i] = preparedTarget{target: t, uri: t.url.String()}
	}
	f.bindTags(s)
	f.bindChecks(s)
	f.order, f.cycle = f.cfg.order, len(f.targets)
	if f.order != nil {
		f.cycle = len(f.order)
	}
	f.prepareTemplates()
	if f.cfg.http2 {
		f.h2 = newH2Client(f.cfg, conc, f.targets)
	} else {
		h1, err := newH1Client(f.cfg, conc, f.targets, s.Timeout)
		if err != nil {
			return err // Teardown stops the embedded server
		}
		f.h1 = h1
	}
	return nil
}

// Teardown closes the client's connections, then stops the embedded server
// and waits for its goroutines.
func (f *fetch) Teardown(ctx context.Context) error {
	if f.h1 != nil {
		f.h1.close()
	}
	if f.h2 != nil {
		f.h2.close()
	}
	if f.srv != nil {
		if err := f.srv.close(ctx); err != nil {
			return fmt.Errorf("embedded server: %w", err)
		}
	}
	return nil
}

var _ bench.Aborter = (*fetch)(nil)

// Abort makes HTTP/1.1 ops in flight return: fasthttp ignores the op's
// context, so the engine's cancel alone would not reach an op waiting on a
// target that accepted and never answers. HTTP/2 ops follow their context.
func (f *fetch) Abort() {
	if f.h1 != nil {
		f.h1.abort()
	}
}

// Op sends the worker's next target and reads the whole response.
func (f *fetch) Op(ctx context.Context, w *bench.Worker) (bench.Label, error) {
	st, _ := w.State.(*worker)
	if st == nil {
		st = f.newWorker(w.ID)
		if f.phases != nil {
			st.ph = newPhaseClock(f.phases, w)
		}
		w.State = st
	}
	i := f.pick(st)
	t := &f.targets[i]
	var err error
	if f.h2 != nil {
		err = f.op2(ctx, w, st, i)
	} else {
		err = f.op1(ctx, w, st, i)
	}
	return t.recordTag(w, err), err
}

// op1 is Op over fasthttp (HTTP/1.1).
func (f *fetch) op1(ctx context.Context, w *bench.Worker, st *worker, i int) error {
	t := &f.targets[i]
	raw := t.raw
	if t.tpl != nil {
		var bodyLen int
		var ok bool
		if raw, bodyLen, ok = f.plan.render1(st.tpl, t); !ok {
			return f.plan.exhausted
		}
		w.Count(f.bytesOut, int64(bodyLen-len(t.body))) // done counts len(t.body)
	}
	dl, _ := ctx.Deadline()
	resp, err := f.h1.send(i, t, raw, dl, st.ph)
	if err != nil {
		return f.errs.classify(err)
	}
	err = f.done(w, t, resp.StatusCode(), resp.Body())
	fasthttp.ReleaseResponse(resp)
	return err
}

// done counts a response's bytes and runs the target's checks: by
// default, a status ≥ 400 fails and, with decode-json, a body that is not
// JSON.
func (f *fetch) done(w *bench.Worker, t *preparedTarget, code int, body []byte) error {
	w.Count(f.bytesOut, int64(len(t.body)))
	w.Count(f.bytesIn, int64(len(body)))
	return t.checks.judge(w, f.errs, code, body)
}

func (f *fetch) newWorker(id int) *worker {
	st := &worker{next: id % f.cycle}
	if f.plan != nil {
		st.tpl = f.plan.newState(id)
	}
	return st
}

// op2 is Op over net/http (HTTP/2). It allocates (net/http does per request);
// the body goes into the worker's reused buffer.
func (f *fetch) op2(ctx context.Context, w *bench.Worker, st *worker, i int) error {
	t := &f.targets[i]
	req := f.h2.reqs[i].WithContext(st.h2.traced(ctx, f.h2, st.ph))
	body := t.body
	if t.tpl != nil {
		var err error
		if body, err = f.plan.fill2(req, st.tpl, t); err != nil {
			return err
		}
		w.Count(f.bytesOut, int64(len(body)-len(t.body))) // done counts len(t.body)
	}
	if len(body) > 0 {
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := f.h2.roundTrip(req)
	if err != nil {
		return f.errs.classifyCtx(ctx, f.h2.refusedCert(&st.h2, err))
	}
	if st.ph != nil {
		st.ph.firstByte()
	}
	st.buf.Reset()
	_, err = st.buf.ReadFrom(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f.errs.classifyCtx(ctx, err)
	}
	if st.ph != nil {
		st.ph.bodyRead()
		st.ph.record()
	}
	return f.done(w, t, resp.StatusCode, st.buf.Bytes())
}
