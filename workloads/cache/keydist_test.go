package cache

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseKeyDist(t *testing.T) {
	for in, want := range map[string]float64{"uniform": 0, "zipf": DefaultZipfS, "zipf:s=1.5": 1.5, " zipf:s = 2 ": 2} {
		d, err := ParseKeyDist(in)
		if err != nil || d.S != want {
			t.Errorf("ParseKeyDist(%q) = %v, %v; want s=%v", in, d, err, want)
		}
	}
	for in, want := range map[string]string{
		"zipf:s=1":   "greater than 1",
		"zipf:s=0.5": "greater than 1",
		"zipf:s=-3":  "greater than 1",
		"zipf:s=abc": "not a number",
		"zipf:s=NaN": "not a number",
		"zipf:x=2":   "want zipf:s=S",
		"uniform:3":  "no arguments",
		"pareto":     "unknown distribution",
		"":           "unknown distribution",
	} {
		_, err := ParseKeyDist(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "accepted: uniform") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseKeyDist(%q) error %v, want one line containing %q and the accepted forms", in, err, want)
		}
	}
}

func TestZipfSampler(t *testing.T) {
	const n = 1000
	r := rand.New(rand.NewPCG(1, 2))
	s := KeyDist{S: 1.1}.sampler(r, n)
	counts := make([]int, n)
	const draws = 200_000
	for range draws {
		k := s.next()
		if k < 0 || k >= n {
			t.Fatalf("key %d out of [0,%d)", k, n)
		}
		counts[k]++
	}
	if counts[0] < counts[1] || counts[1] < counts[10] || counts[10] < counts[500] {
		t.Errorf("not decreasing: counts[0,1,10,500] = %d %d %d %d", counts[0], counts[1], counts[10], counts[500])
	}
	top := 0
	for _, c := range counts[:n/10] {
		top += c
	}
	if share := float64(top) / draws; share < 0.6 {
		t.Errorf("top 10%% of keys drew %.0f%% of draws; zipf s=1.1 should concentrate more", 100*share)
	}
	u := KeyDist{}.sampler(r, n)
	for range 10_000 {
		if k := u.next(); k < 0 || k >= n {
			t.Fatalf("uniform key %d out of range", k)
		}
	}
}
