package units

import (
	"math"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, "0s"},
		{1, "1ns"},
		{999, "999ns"},
		{1000, "1.00µs"},
		{1004, "1.00µs"},
		{1005, "1.01µs"}, // half up
		{9_994, "9.99µs"},
		{9_995, "10.0µs"}, // carry changes the decimals
		{99_950, "100µs"},
		{812_000, "812µs"},
		{999_499, "999µs"},
		{999_500, "1.00ms"}, // carry changes the unit
		{1_250_000, "1.25ms"},
		{1_255_000, "1.26ms"},
		{12_340_000, "12.3ms"},
		{999_500_000, "1.00s"},
		{1_500_000_000, "1.50s"},
		{999_499_999_999, "999s"},
		{999_500_000_000, "16m40s"},
		{int64(59*time.Minute + 59*time.Second), "59m59s"},
		{int64(59*time.Minute + 59*time.Second + 500*time.Millisecond), "1h00m"},
		{int64(time.Hour + 5*time.Minute + 29*time.Second), "1h05m"},
		{int64(100*time.Hour + 30*time.Second), "100h01m"},
		{math.MaxInt64, "2562047h47m"},
		{-1_250_000, "-1.25ms"},
		{math.MinInt64, "-2562047h47m"},
	} {
		if got := Duration(tc.ns); got != tc.want {
			t.Errorf("Duration(%d) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{0.5, "0.500"},
		{0.001234, "0.00123"},
		{1, "1.00"},
		{12.34, "12.3"},
		{812, "812"},
		{999.4, "999"},
		{999.6, "1.00k"},
		{1000, "1.00k"},
		{41_234.5, "41.2k"},
		{999_999, "1.00M"},
		{1_234_567, "1.23M"},
		{2.5e9, "2.50G"},
		{-1500, "-1.50k"},
		{1e21, "1.00e+21"},
		{math.Inf(1), "+Inf"},
		{math.NaN(), "NaN"},
	} {
		if got := Rate(tc.v); got != tc.want {
			t.Errorf("Rate(%g) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0B"},
		{1023, "1023B"},
		{1024, "1.00KiB"},
		{1536, "1.50KiB"},
		{10_235, "10.0KiB"}, // 9.995KiB rounds up to 10.0
		{1023 * 1024, "1023KiB"},
		{1024*1024 - 1, "1.00MiB"}, // never 1024KiB
		{12_900_000, "12.3MiB"},
		{1 << 30, "1.00GiB"},
		{1 << 40, "1.00TiB"},
		{1 << 50, "1.00PiB"},
		{1 << 60, "1.00EiB"},
		{math.MaxInt64, "8.00EiB"},
		{-2048, "-2.00KiB"},
		{math.MinInt64, "-8.00EiB"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// FuzzDuration checks that every output parses back as a Go duration within
// the rounding its format promises.
func FuzzDuration(f *testing.F) {
	for _, ns := range []int64{0, 1, 999, 1000, 999_500, 1_250_000, 999_500_000_000, math.MaxInt64, math.MinInt64} {
		f.Add(ns)
	}
	f.Fuzz(func(t *testing.T, ns int64) {
		s := Duration(ns)
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("Duration(%d) = %q does not parse: %v", ns, s, err)
		}
		diff := math.Abs(float64(d) - float64(ns))
		// Three significant digits: within half a unit of the third digit
		// (0.5%), or within 30s once minutes are the smallest unit shown.
		if limit := math.Max(math.Abs(float64(ns))*0.005, 1); diff > limit && diff > 30e9 {
			t.Fatalf("Duration(%d) = %q, off by %g ns", ns, s, diff)
		}
	})
}

func TestBytesFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0B"},
		{48, "48B"},
		{48.5, "48.5B"},
		{0.25, "0.25B"},
		{1536, "1.50KiB"},
		{64 << 20, "64.0MiB"},
		{1.5 * (1 << 30), "1.50GiB"},
		{-2048, "-2.00KiB"},
	} {
		if got := BytesFloat(tc.v); got != tc.want {
			t.Errorf("BytesFloat(%g) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestTrimZeros(t *testing.T) {
	for in, want := range map[string]string{
		"1.50MiB": "1.5MiB", "2.00s": "2s", "512MiB": "512MiB", "10.0KiB": "10KiB",
		"-1.20ms": "-1.2ms", "100ns": "100ns", "0.250": "0.25",
	} {
		if got := TrimZeros(in); got != want {
			t.Errorf("TrimZeros(%q) = %q, want %q", in, got, want)
		}
	}
}
