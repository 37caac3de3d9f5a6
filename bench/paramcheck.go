package bench

import "fmt"

// Typed helpers for Param.Check, which receives the parsed value as any: a
// workload writes its checks on the typed value and adapts them here, rather
// than asserting types itself.

// Check adapts a check of a param's typed value to Param.Check:
// Check(checkURL) for a String param, Check(checkTTL) for a Duration. A
// value of another type is checked as T's zero value: Param.Parse hands
// Check only values of the declared kind, and a check must never panic.
func Check[T any](f func(T) error) func(any) error {
	return func(v any) error {
		t, _ := v.(T)
		return f(t)
	}
}

// CheckEach adapts a check of one string to a Strings param: every value is
// checked, and the first error is returned.
func CheckEach(f func(string) error) func(any) error {
	return func(v any) error {
		l, _ := v.([]string)
		for _, s := range l {
			if err := f(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// CheckIntRange checks that an Int param named name is within lo..hi:
// "batch 0: want 1..10000".
func CheckIntRange(name string, lo, hi int64) func(any) error {
	return func(v any) error {
		n, _ := v.(int64)
		if n < lo || n > hi {
			return fmt.Errorf("%s %v: want %d..%d", name, v, lo, hi)
		}
		return nil
	}
}

// CheckRatio checks that a Float param named name is a share, 0..1 (a
// percentage was already turned into one by Param.Parse).
func CheckRatio(name string) func(any) error {
	return func(v any) error {
		f, _ := v.(float64)
		if !(f >= 0 && f <= 1) {
			return fmt.Errorf("%s %v: want 0..1 (or 0%%..100%%)", name, v)
		}
		return nil
	}
}
