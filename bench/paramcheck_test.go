package bench

import (
	"errors"
	"testing"
	"time"
)

func TestParamChecks(t *testing.T) {
	errBad := errors.New("bad")
	notEmpty := Check(func(s string) error {
		if s == "" {
			return errBad
		}
		return nil
	})
	positive := Check(func(d time.Duration) error {
		if d <= 0 {
			return errBad
		}
		return nil
	})
	each := CheckEach(func(s string) error {
		if s == "x" {
			return errBad
		}
		return nil
	})
	for _, c := range []struct {
		name  string
		check func(any) error
		v     any
		want  string // "" for no error
	}{
		{"string ok", notEmpty, "a", ""},
		{"string bad", notEmpty, "", "bad"},
		{"wrong type is the zero value, no panic", notEmpty, 12, "bad"},
		{"duration ok", positive, time.Second, ""},
		{"duration bad", positive, time.Duration(0), "bad"},
		{"each ok", each, []string{"a", "b"}, ""},
		{"each bad", each, []string{"a", "x"}, "bad"},
		{"range ok", CheckIntRange("batch", 1, 10), int64(10), ""},
		{"range low", CheckIntRange("batch", 1, 10), int64(0), "batch 0: want 1..10"},
		{"range high", CheckIntRange("batch", 1, 10), int64(11), "batch 11: want 1..10"},
		{"ratio ok", CheckRatio("fail-rate"), 0.5, ""},
		{"ratio bad", CheckRatio("fail-rate"), 1.5, "fail-rate 1.5: want 0..1 (or 0%..100%)"},
	} {
		err := c.check(c.v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: error %q, want %q", c.name, got, c.want)
		}
	}
}
