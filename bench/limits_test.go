package bench

import (
	"math"
	"strings"
	"testing"
)

func TestFormatAndParseBytes(t *testing.T) {
	for b, want := range map[float64]string{0: "0 B", 512: "512 B", 40 << 10: "40 KiB", 1.5 * (1 << 30): "1.5 GiB", 3.6 * (1 << 40): "3.6 TiB"} {
		if got := FormatBytes(b); got != want {
			t.Errorf("FormatBytes(%g) = %q, want %q", b, got, want)
		}
	}
	for s, want := range map[string]int64{"1048576": 1 << 20, "512MiB": 512 << 20, "8GiB": 8 << 30, "2G": 2 << 30, "1.5 KiB": 1536, "1TiB": 1 << 40} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "lots", "-1GiB", "0", "1XB", "NaN", "Inf", "1e300"} {
		if _, err := ParseBytes(s); err == nil {
			t.Errorf("ParseBytes(%q): no error", s)
		}
	}
}

func TestMemoryBudget(t *testing.T) {
	b, why := MemoryBudget(strings.NewReader("MemFree: 1 kB\nMemTotal:       24683792 kB\n"))
	if b != 24683792<<10/2 || !strings.Contains(why, "half of this machine's 23.5 GiB") {
		t.Errorf("budget %d (%s)", b, why)
	}
	for _, in := range []string{"", "MemTotal: lots kB\n", "MemFree: 5 kB\n"} {
		if b, _ := MemoryBudget(strings.NewReader(in)); b != FallbackMemoryBudget {
			t.Errorf("%q: budget %d, want the fallback", in, b)
		}
	}
}

func TestParamMax(t *testing.T) {
	p := Param{Name: "size", Kind: Int, Max: 100, MaxWhy: "entries"}
	if err := p.Validate(int64(100)); err != nil {
		t.Errorf("at the bound: %v", err)
	}
	err := p.Validate(int64(101))
	if err == nil || err.Error() != "size 101: at most 100 (entries)" {
		t.Errorf("past the bound: %v", err)
	}
	d := Definition{Name: "w", Params: []Param{p}}
	if _, err := d.Resolve(map[string]any{"size": "99999999999"}); err == nil || !strings.Contains(err.Error(), "size 99999999999: at most 100") {
		t.Errorf("Resolve: %v", err)
	}
}

func TestSettingsBounds(t *testing.T) {
	ok := DefaultSettings()
	for name, mut := range map[string]func(*Settings){
		"concurrency 1000001": func(s *Settings) { s.Concurrency = MaxConcurrency + 1 },
		"rate 1e+300":         func(s *Settings) { s.Rate = 1e300 },
		"rate NaN":            func(s *Settings) { s.Rate = math.NaN() },
		"rate +Inf":           func(s *Settings) { s.Rate = math.Inf(1) },
		"count 10001":         func(s *Settings) { s.Count = MaxCount + 1 },
	} {
		s := ok
		mut(&s)
		if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := ok
	s.Concurrency, s.Rate, s.Count = MaxConcurrency, MaxRate, MaxCount
	if err := s.Validate(); err != nil {
		t.Errorf("at the bounds: %v", err)
	}
}

func TestEstimateMemoryDoesNotOverflow(t *testing.T) {
	d := &Definition{Name: "w", Memory: func(Values, int) (float64, string) { return 1e30, "a lot" }}
	sc := Scenario{Settings: DefaultSettings(), Params: Values{def: d}}
	sc.Settings.Concurrency = math.MaxInt
	if err := CheckMemory(sc, 1<<30, "test"); err == nil || !strings.Contains(err.Error(), "a lot") || !strings.Contains(err.Error(), "at most 1 GiB") {
		t.Errorf("CheckMemory: %v", err)
	}
}
