package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// measureLog records what a MeasureObserver is told, in order.
type measureLog struct {
	mu     sync.Mutex
	start  time.Time
	events []string
	at     []time.Duration
}

func (m *measureLog) log(e string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	m.at = append(m.at, time.Since(m.start))
}

func (m *measureLog) Interval(s *Snapshot) {
	if s.Final {
		m.log(fmt.Sprintf("final %d", s.Run))
	}
}
func (m *measureLog) MeasureStart(sc string, run int) { m.log(fmt.Sprintf("start %s %d", sc, run)) }
func (m *measureLog) MeasureEnd(sc string, run int)   { m.log(fmt.Sprintf("end %s %d", sc, run)) }

var _ MeasureObserver = (*measureLog)(nil)

func TestMeasureObserverSkipsWarmup(t *testing.T) {
	wl := &testWorkload{op: func(ctx context.Context, w *Worker) (Label, error) {
		time.Sleep(time.Millisecond)
		return 0, nil
	}}
	log := &measureLog{start: time.Now()}
	sc := scenario(wl, func(s *Settings) {
		s.Warmup = 100 * time.Millisecond
		s.Duration = 100 * time.Millisecond
		s.Count = 2
	})
	mustRun(t, sc, log)
	want := []string{"start t 0", "end t 0", "final 0", "start t 1", "end t 1", "final 1"}
	if fmt.Sprint(log.events) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", log.events, want)
	}
	if log.at[0] < 100*time.Millisecond {
		t.Errorf("MeasureStart at %s, inside the 100ms warmup", log.at[0])
	}
	// The notice of the start may come late on a loaded machine; the end
	// may not come before the warmup and the duration have passed.
	if log.at[1] < 200*time.Millisecond {
		t.Errorf("MeasureEnd at %s, before the 100ms warmup and 100ms duration", log.at[1])
	}

	// Stopped in the warmup: neither call.
	log = &measureLog{start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	sc.Settings.Warmup = time.Second
	if _, err := Run(ctx, sc, log); err != nil {
		t.Fatal(err)
	}
	for _, e := range log.events {
		if e != "final 0" {
			t.Errorf("stopped in the warmup, got %q", e)
		}
	}
}
