package bench

// MeasureObserver is an Observer that is also told when the measured part of
// each run begins and ends, so that what it records covers that part and not
// the warmup: a profiler is the case in point (cmd wraps runs with one; the
// engine knows nothing of profiles).
//
// Both calls come from the engine's collector goroutine, in order with the
// run's Intervals: MeasureStart as the warmup ends, before the first
// Interval and just before the run's resource usage is first read;
// MeasureEnd once every worker has stopped, just after that usage is read
// last and before the final Interval, so the observer's own work is not
// counted in the run's resources. A run stopped during its warmup gets
// neither call. They may take a moment (a profiler may run a GC) but must
// not block.
type MeasureObserver interface {
	Observer
	MeasureStart(scenario string, run int)
	MeasureEnd(scenario string, run int)
}

// notifyMeasureStart tells the observers that care that the measured part began.
func (r *runner) notifyMeasureStart() {
	for _, o := range r.obs {
		if m, ok := o.(MeasureObserver); ok {
			m.MeasureStart(r.sc.Name, r.index)
		}
	}
}

// notifyMeasureEnd tells them it ended.
func (r *runner) notifyMeasureEnd() {
	for _, o := range r.obs {
		if m, ok := o.(MeasureObserver); ok {
			m.MeasureEnd(r.sc.Name, r.index)
		}
	}
}
