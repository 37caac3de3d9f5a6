package fetch

import (
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Per-phase timings (phases=true). A request's time splits into:
//
//	dns      looking the host up (a host name, not an IP address)
//	connect  opening the TCP (or unix socket) connection
//	tls      the TLS handshake (https)
//	ttfb     from sending the request to the first byte of the response
//	         (HTTP/2: its headers)
//	body     from that first byte to the end of the body
//
// dns, connect and tls are the connection's: the op that opened it records
// them, and ops on a reused connection record none, so their counts are
// the connections opened. ttfb and body are recorded for each response an
// op counts (after redirects, the last one's). They cost three clock reads
// per op, which is why they are opt-in; docs/http-client.md gives the
// measured cost.

// phaseSet holds the handles of the declared phases.
type phaseSet struct{ dns, connect, tls, ttfb, body bench.Phase }

// declarePhases declares the phases and says what their counts mean.
func declarePhases(s *bench.Setup) *phaseSet {
	n := phaseNames()
	p := &phaseSet{
		dns: s.Phase(n[0]), connect: s.Phase(n[1]), tls: s.Phase(n[2]), ttfb: s.Phase(n[3]), body: s.Phase(n[4]),
	}
	s.Notes = append(s.Notes, "phases: dns, connect and tls once per connection opened while measuring (their count; "+
		"ops on a reused connection, or one opened in the warmup, have none); ttfb and body once per response")
	return p
}

// phaseClock times one worker's requests; only the worker's goroutine
// touches it (net/http calls GotConn on the goroutine of the request).
type phaseClock struct {
	set        *phaseSet
	w          *bench.Worker
	mark       time.Time // when the phase under way began
	ttfb, body time.Duration
}

func newPhaseClock(set *phaseSet, w *bench.Worker) *phaseClock {
	return &phaseClock{set: set, w: w}
}

// connected records the phases of tc if it is new and no op has yet, and
// starts the request's clock.
func (p *phaseClock) connected(tc *trackedConn) {
	if tc != nil && !tc.times.claimed.Load() && tc.times.claimed.CompareAndSwap(false, true) {
		t := &tc.times
		if t.hasDNS {
			p.w.Phase(p.set.dns, t.dns)
		}
		p.w.Phase(p.set.connect, t.connect)
		if t.hasTLS {
			p.w.Phase(p.set.tls, t.tls)
		}
	}
	p.mark = time.Now()
}

// firstByte ends ttfb: the response has begun to arrive.
func (p *phaseClock) firstByte() {
	now := time.Now()
	p.ttfb, p.mark = now.Sub(p.mark), now
}

// bodyRead ends body: the response has been read whole.
func (p *phaseClock) bodyRead() { p.body = time.Since(p.mark) }

// record records the response's ttfb and body.
func (p *phaseClock) record() {
	p.w.Phase(p.set.ttfb, p.ttfb)
	p.w.Phase(p.set.body, p.body)
}
