package cache

import (
	"slices"
	"testing"
)

func TestGraphClosureWithCycle(t *testing.T) {
	g := NewGraph()
	// a → b → c → a (a cycle), c → d, b → e; x is unrelated.
	g.Depend("b", "a")
	g.Depend("c", "b")
	g.Depend("a", "c")
	g.Depend("d", "c")
	g.Depend("e", "b")
	g.Depend("e", "b") // twice is once
	g.Depend("y", "x")
	if n := g.Edges(); n != 6 {
		t.Errorf("%d edges, want 6", n)
	}
	got := g.Closure("a")
	if got[0] != "a" {
		t.Errorf("closure %q does not start with its source", got)
	}
	slices.Sort(got)
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("Closure(a) = %q, want %q", got, want)
	}
	deps := g.Dependents("b")
	slices.Sort(deps)
	if want := []string{"a", "c", "d", "e"}; !slices.Equal(deps, want) {
		t.Errorf("Dependents(b) = %q, want %q (the cycle leads back to a, not to b itself)", deps, want)
	}
	if got := g.Closure("d", "d"); !slices.Equal(got, []string{"d"}) {
		t.Errorf("Closure(d, d) = %q, want [d]", got)
	}
	g.Forget("c")
	got = g.Closure("a")
	slices.Sort(got)
	if want := []string{"a", "b", "c", "e"}; !slices.Equal(got, want) {
		t.Errorf("after Forget(c): Closure(a) = %q, want %q", got, want)
	}
}
