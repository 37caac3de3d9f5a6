package bench

// NewTestWorker returns a Worker that records into a private interval, for
// workload tests that call Op directly without the engine. s must have been
// passed to the workload's Setup first, so its declarations are known.
func NewTestWorker(id int, s *Setup) *Worker {
	lay := newLayout(s, s.Model)
	return &Worker{ID: id, iv: lay.newCounts(), rec: newShardSet(lay, 1), phase0: lay.phase0()}
}

// TestCounter returns the value a test worker's counter has reached.
func (w *Worker) TestCounter(c Counter) int64 { return w.iv.counters[c] }
