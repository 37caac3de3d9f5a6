// Package stream writes a run's intervals while it happens, one JSON object
// per line (NDJSON), for tools that tail a run: `perfkit run --stream FILE`
// or `--stream -` (stdout). Each line is one interval of one run, with the
// same fields the result file records for it (bench.IntervalSummary), plus
// the scenario and run it belongs to.
//
// The engine's collector must never wait on a slow reader (bench.Observer
// says observers return quickly), so a Writer hands each line to a goroutine
// of its own through a bounded queue; a line that finds the queue full is
// dropped and counted, and Close reports the drops and the first write
// error. Lines reach the writer one Write call each and, when the writer
// buffers (it has Flush), are flushed one by one.
package stream

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Record is one line of the stream.
type Record struct {
	Scenario string    `json:"scenario"`
	Run      int       `json:"run"`
	Time     time.Time `json:"time"` // when the interval began (UTC)
	bench.IntervalSummary
	// Final marks the last interval of a run (possibly shorter than one).
	Final bool `json:"final,omitempty"`
}

// NewRecord is the record of snapshot s.
func NewRecord(s *bench.Snapshot) Record {
	return Record{Scenario: s.Scenario, Run: s.Run, Time: s.Start.UTC(), IntervalSummary: s.Point, Final: s.Final}
}

// DefaultQueue is how many lines may wait for a slow writer before new
// ones are dropped: over an hour of one-second intervals.
const DefaultQueue = 4096

// Writer is a bench.Observer that writes each interval as a line of NDJSON.
// Create it with New; Close it after the run.
type Writer struct {
	name  string
	w     io.Writer
	queue chan []byte
	done  chan struct{}

	mu      sync.Mutex
	closed  bool
	dropped int64
	lines   int64
	err     error // the first write error, set by the writing goroutine
}

var _ bench.Observer = (*Writer)(nil)

// flusher is a writer that buffers (bufio.Writer and the like).
type flusher interface{ Flush() error }

// New starts a Writer that writes to w, named name in errors ("-" for
// stdout, else the file). queue bounds the lines waiting to be written
// (DefaultQueue when ≤ 0).
func New(w io.Writer, name string, queue int) *Writer {
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &Writer{name: name, w: w, queue: make(chan []byte, queue), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *Writer) loop() {
	defer close(s.done)
	f, _ := s.w.(flusher)
	for line := range s.queue {
		s.mu.Lock()
		failed := s.err != nil
		s.mu.Unlock()
		if failed {
			continue // said once by Close; the run goes on
		}
		_, err := s.w.Write(line)
		if err == nil && f != nil {
			err = f.Flush()
		}
		s.mu.Lock()
		if err != nil {
			s.err = err
		} else {
			s.lines++
		}
		s.mu.Unlock()
	}
}

// Interval queues the snapshot's line; it never blocks.
func (s *Writer) Interval(snap *bench.Snapshot) {
	line, err := json.Marshal(NewRecord(snap))
	if err != nil { // a Record holds only numbers, strings and a time
		line = fmt.Appendf(nil, `{"scenario":%q,"error":%q}`, snap.Scenario, err.Error())
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.dropped++
		return
	}
	select {
	case s.queue <- line:
	default:
		s.dropped++
	}
}

// Stats say what became of the stream's lines.
type Stats struct {
	// Written lines reached the writer; Dropped found the queue full (the
	// reader was too slow) and were never written.
	Written, Dropped int64
	// Err is the first write error; lines after it were not written.
	Err error
}

// Close writes the lines still queued and returns what was written,
// dropped and the first write error. It waits for a writer that blocks.
func (s *Writer) Close() Stats {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Written: s.lines, Dropped: s.dropped}
	if s.err != nil {
		st.Err = fmt.Errorf("stream %s: %w", s.name, s.err)
	}
	return st
}

// Warnings are the lines a command prints about st: drops and the write
// error, nothing when every line was written.
func (st Stats) Warnings(name string) []string {
	var out []string
	if st.Dropped > 0 {
		out = append(out, fmt.Sprintf("stream %s: %d interval line(s) dropped (the reader was too slow)", name, st.Dropped))
	}
	if st.Err != nil {
		out = append(out, st.Err.Error())
	}
	return out
}
