package pool

import "time"

// Bounds of the maintenance period: a quarter of the shortest of IdleTimeout
// and MaxLifetime, so a connection outlives them by at most a quarter, within
// these bounds.
const (
	minMaintainEvery = 5 * time.Millisecond
	maxMaintainEvery = time.Second
)

func maintainEvery[C any](cfg Config[C]) time.Duration {
	d := maxMaintainEvery
	if cfg.IdleTimeout > 0 {
		d = min(d, cfg.IdleTimeout/4)
	}
	if cfg.MaxLifetime > 0 {
		d = min(d, cfg.MaxLifetime/4)
	}
	return max(d, minMaintainEvery)
}

// maintain is the pool's own goroutine: it retires idle connections past
// MaxLifetime or IdleTimeout and dials up to MinIdle, on a ticker and
// whenever a borrower takes the idle count under MinIdle. After a failed dial
// it waits for the next tick, so a dead server is not hammered.
func (p *Pool[C]) maintain(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		poke := p.poke
		if p.maintainOnce() != nil {
			poke = nil
			select { // a poke from the failed dial itself
			case <-p.poke:
			default:
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
	}
}

// maintainOnce runs one round of maintenance and returns the error of a
// failed dial.
func (p *Pool[C]) maintainOnce() error {
	now := p.cfg.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	stale := p.sweepLocked(now)
	p.mu.Unlock()
	p.closeList(stale)

	for {
		p.mu.Lock()
		// With waiters queued the pool is at MaxOpen: nothing to warm.
		if p.closed || len(p.idle) >= p.cfg.MinIdle || p.numOpen >= p.cfg.MaxOpen || p.head != nil {
			p.mu.Unlock()
			return nil
		}
		p.numOpen++
		p.mu.Unlock()

		c, err := p.cfg.Dial(p.ctx)
		if err != nil {
			p.mu.Lock()
			p.st.dialErrors++
			p.freeSlotLocked()
			p.mu.Unlock()
			return err
		}
		e := &entry[C]{p: p, conn: c, created: p.cfg.Now()}
		p.mu.Lock()
		p.st.opened++
		if p.closed {
			p.numOpen--
			p.st.closed++
			p.mu.Unlock()
			p.closeEntry(e)
			return nil
		}
		p.putLocked(e, e.created)
		p.mu.Unlock()
	}
}

// sweepLocked unlinks the idle connections past MaxLifetime, and those past
// IdleTimeout while more than MinIdle are idle (the longest idle first), and
// returns them as a list to close once the lock is released.
func (p *Pool[C]) sweepLocked(now time.Time) *entry[C] {
	var stale *entry[C]
	n := len(p.idle)
	keep := p.idle[:0]
	for _, e := range p.idle { // bottom of the stack first: the longest idle
		old := p.lifetime && now.Sub(e.created) >= p.cfg.MaxLifetime
		idle := p.idleTO && n > p.cfg.MinIdle && now.Sub(e.idleSince) >= p.cfg.IdleTimeout
		if old || idle {
			n--
			p.numOpen--
			p.st.closed++
			e.next, stale = stale, e
			continue
		}
		keep = append(keep, e)
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	return stale
}
