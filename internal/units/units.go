// Package units formats measured values for people, in one way everywhere
// perfkit shows them: report tables, alert text and profile tables.
// Durations and rates get three significant digits; sizes get binary units
// (KiB, MiB, GiB: 1024-based values never say "MB"). It imports only the
// standard library, so every perfkit package may use it.
package units

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Duration formats nanoseconds for people: three significant digits in the
// largest unit that keeps the value at least 1 (850ns, 812µs, 1.25ms, 12.3ms,
// 1.50s, 999s), rounded half up, so 999.5µs is 1.00ms. From 999.5s on it
// switches to minutes and seconds (16m40s), and from an hour on to hours and
// minutes (1h05m). Every output parses with time.ParseDuration.
func Duration(ns int64) string {
	switch {
	case ns < 0:
		if ns == math.MinInt64 {
			ns++ // -MinInt64 overflows; 1ns less is invisible at this precision
		}
		return "-" + Duration(-ns)
	case ns == 0:
		return "0s"
	case ns < 1000:
		return strconv.FormatInt(ns, 10) + "ns"
	case ns < 999_500_000_000:
		m, exp := sig3Int(uint64(ns))
		switch {
		case exp < 6:
			return mantissa(m, exp-3+1) + "µs"
		case exp < 9:
			return mantissa(m, exp-6+1) + "ms"
		default:
			return mantissa(m, exp-9+1) + "s"
		}
	}
	u := uint64(ns) // ns > 0 here; uint64 keeps the rounding below from overflowing
	if secs := (u + 500_000_000) / 1_000_000_000; secs < 3600 {
		return strconv.FormatUint(secs/60, 10) + "m" + pad2(secs%60) + "s"
	}
	mins := (u + 30_000_000_000) / 60_000_000_000
	return strconv.FormatUint(mins/60, 10) + "h" + pad2(mins%60) + "m"
}

// Rate formats a per-second rate (or any count) with three significant
// digits and a k, M, G, T, P or E suffix from a thousand on: 0.500, 12.3,
// 812, 41.2k, 1.23M. It carries no unit: the column header or the caller adds
// "/s".
func Rate(perSec float64) string {
	switch {
	case math.IsNaN(perSec) || math.IsInf(perSec, 0):
		return strconv.FormatFloat(perSec, 'g', -1, 64)
	case perSec < 0:
		return "-" + Rate(-perSec)
	case perSec == 0:
		return "0"
	}
	// FormatFloat rounds correctly to three significant digits, carry
	// included (999.6 becomes 1.00e+03): read mantissa and exponent off it.
	e := strconv.FormatFloat(perSec, 'e', 2, 64) // d.dde±XX
	m := int(e[0]-'0')*100 + int(e[2]-'0')*10 + int(e[3]-'0')
	exp, err := strconv.Atoi(e[5:])
	if err != nil {
		return e // unreachable: FormatFloat always writes an exponent
	}
	const suffixes = "kMGTPE"
	switch {
	case exp >= 3*(len(suffixes)+1):
		return e
	case exp >= 3:
		g := exp / 3
		return mantissa(m, exp-3*g+1) + suffixes[g-1:g]
	case exp >= 0:
		return mantissa(m, exp+1)
	}
	return "0." + strings.Repeat("0", -exp-1) + strconv.Itoa(m)
}

// Bytes formats a byte count in binary units: 512B, 1.50KiB, 12.3MiB,
// 1000MiB, 1.00GiB (three significant digits, rounded half up, never 1024 of
// a unit).
func Bytes(n int64) string {
	if n < 0 {
		if n == math.MinInt64 {
			n++
		}
		return "-" + Bytes(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	const units = "KMGTPE"
	k := 1
	for k < len(units) && uint64(n) >= 1<<(10*(k+1)) {
		k++
	}
	d := 2 // decimals: 2 below 10 of the unit, 1 below 100, 0 above
	switch q := uint64(n) >> (10 * k); {
	case q >= 100:
		d = 0
	case q >= 10:
		d = 1
	}
	for {
		scaled := roundDiv(uint64(n), pow10(d), 1<<(10*k))
		switch {
		case d > 0 && scaled >= 1000: // 9.995 rounds to 10.0: one decimal less
			d--
			continue
		case d == 0 && scaled >= 1024 && k < len(units): // 1023.6KiB is 1.00MiB
			k, d = k+1, 2
			continue
		}
		return decimal(scaled, d) + units[k-1:k] + "iB"
	}
}

// sig3Int rounds n ≥ 100 half up to three significant digits: it returns the
// digits m (100 ≤ m ≤ 999) and the power of ten of the first one.
func sig3Int(n uint64) (m int, exp int) {
	exp = len(strconv.FormatUint(n, 10)) - 1
	s := pow10(exp - 2)
	r := (n + s/2) / s
	if r == 1000 {
		r, exp = 100, exp+1
	}
	return int(r), exp
}

// mantissa writes the three digits of m with intDigits (1 to 3) of them
// before the decimal point.
func mantissa(m, intDigits int) string {
	s := strconv.Itoa(m)
	if intDigits >= len(s) {
		return s
	}
	return s[:intDigits] + "." + s[intDigits:]
}

// decimal writes v/10^d with d decimals.
func decimal(v uint64, d int) string {
	s := strconv.FormatUint(v, 10)
	if d == 0 {
		return s
	}
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	return s[:len(s)-d] + "." + s[len(s)-d:]
}

// roundDiv returns n*mul/div rounded half up, without overflowing.
func roundDiv(n, mul, div uint64) uint64 {
	hi, lo := bits.Mul64(n, mul)
	lo, carry := bits.Add64(lo, div/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, div)
	return q
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

func pad2(v uint64) string {
	if v < 10 {
		return "0" + strconv.FormatUint(v, 10)
	}
	return strconv.FormatUint(v, 10)
}

// BytesFloat is Bytes for a size that may be fractional, such as a mean per
// op: under 1 KiB a fraction keeps three significant digits (48.5B); from
// 1 KiB on it is Bytes of the nearest whole byte.
func BytesFloat(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v < 0:
		return "-" + BytesFloat(-v)
	case v >= 1024:
		if v >= math.MaxInt64 {
			return Bytes(math.MaxInt64)
		}
		return Bytes(int64(math.Round(v)))
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64) + "B"
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + "B"
}

// TrimZeros drops the trailing zeros of the number a formatted value starts
// with, for text that reads shorter: "1.50MiB" → "1.5MiB", "2.00s" → "2s".
func TrimZeros(s string) string {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || (end == 0 && s[end] == '-')) {
		end++
	}
	num := s[:end]
	if !strings.Contains(num, ".") {
		return s
	}
	num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	return num + s[end:]
}
