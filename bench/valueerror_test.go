package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Every refusal of Settings.Validate is a *SettingError naming the setting
// its message starts with, so the command line can say which flag, variable
// or config line the value came from without reading the text.
func TestValidateRefusalsAreTyped(t *testing.T) {
	cases := []struct {
		set  func(*Settings)
		want string
		with string
	}{
		{func(s *Settings) { s.Concurrency = 0 }, "concurrency", ""},
		{func(s *Settings) { s.Concurrency = MaxConcurrency + 1 }, "concurrency", ""},
		{func(s *Settings) { s.Rate = -1 }, "rate", ""},
		{func(s *Settings) { s.Arrival = "burst" }, "arrival", ""},
		{func(s *Settings) { s.Duration, s.Iterations = 0, 0 }, "duration", "iterations"},
		{func(s *Settings) { s.Iterations = 5 }, "duration", "iterations"},
		{func(s *Settings) { s.Warmup = -time.Second }, "warmup", ""},
		{func(s *Settings) { s.Count = 0 }, "count", ""},
		{func(s *Settings) { s.Interval = time.Millisecond }, "interval", ""},
		{func(s *Settings) { s.MaxErrorRate = 2 }, "max-error-rate", ""},
		{func(s *Settings) { s.MaxLate = -1 }, "max-late", ""},
		{func(s *Settings) { s.Shard = &Shard{Index: 3, Count: 2} }, "shard", ""},
		{func(s *Settings) { s.Stages = "10s" }, "stages", ""},
		{func(s *Settings) { s.Stages = "10s:1e9" }, "stages", ""},
		{func(s *Settings) { s.Stages = "5s:1" }, "duration", "stages"},
		{func(s *Settings) { s.Stages, s.Duration, s.Iterations = "5s:1", 0, 9 }, "stages", "iterations"},
	}
	for _, c := range cases {
		s := DefaultSettings()
		c.set(&s)
		err := s.Validate()
		var se *SettingError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v (%T), want a *SettingError", c.want, err, err)
			continue
		}
		if se.Setting != c.want || !strings.HasPrefix(err.Error(), c.want+" ") {
			t.Errorf("Setting %q, message %q; want %q and a message starting with it", se.Setting, err, c.want)
		}
		if c.with != "" && (len(se.With) != 1 || se.With[0] != c.with) {
			t.Errorf("%s: With %v, want [%s]", c.want, se.With, c.with)
		}
	}
}

// Resolve parses and checks each value once and names the refused param
// in a *ParamError; Values.With changes one value the same way.
func TestResolveRefusalsAreTyped(t *testing.T) {
	d := &Definition{Name: "w", Params: []Param{
		{Name: "size", Kind: Int, Default: "1", Max: 10},
		{Name: "wait", Kind: Duration, Default: "1s"},
	}}
	_, err := d.Resolve(map[string]any{"size": "big"})
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "size" || pe.Unknown || !strings.Contains(pe.Err.Error(), `"big" is not an integer`) {
		t.Fatalf("Resolve(size=big) = %v, want a ParamError for size", err)
	}
	if _, err = d.Resolve(map[string]any{"nope": 1}); !errors.As(err, &pe) || !pe.Unknown || pe.Param != "nope" {
		t.Fatalf("Resolve(nope=1) = %v, want an unknown-param ParamError", err)
	}
	v, err := d.Resolve(map[string]any{"size": "3"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.With("wait", "250ms")
	if err != nil || w.Duration("wait") != 250*time.Millisecond || v.Duration("wait") != time.Second || w.Int("size") != 3 {
		t.Fatalf("With(wait=250ms) = %v (wait %v, size %v; original wait %v)", err, w.Duration("wait"), w.Int("size"), v.Duration("wait"))
	}
	if _, err := v.With("size", "11"); !errors.As(err, &pe) || pe.Param != "size" || !strings.Contains(err.Error(), "at most 10") {
		t.Fatalf("With(size=11) = %v, want a ParamError over the max", err)
	}
}
