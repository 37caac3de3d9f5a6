package compare

import (
	"regexp"
	"strings"
	"testing"
)

// A negative Go benchmark value is invalid input, refused with file:line,
// never compared.
func TestGoBenchNegativeRefused(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"neg-time", "BenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 -12 ns/op\n", `/neg-time:2: BenchmarkX-8: -12 ns/op: a benchmark value must not be negative$`},
		{"neg-allocs", "BenchmarkX-8 100 12 ns/op -3 allocs/op\n", `/neg-allocs:1: BenchmarkX-8: -3 allocs/op: a benchmark value must not be negative$`},
	} {
		_, err := Load(writeTemp(t, tc.name, tc.content))
		if err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error()) {
			t.Errorf("%s: error %v, want match of %s", tc.name, err, tc.want)
		}
	}
}

// A UTF-8 byte order mark before a result or Go benchmark text is skipped
// (it used to give "no benchmark results" for a perfectly good JSON file).
func TestDecodeSkipsBOM(t *testing.T) {
	bom := "\ufeff"
	src, err := Load(writeTemp(t, "bench.txt", bom+"goos: linux\nBenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 13 ns/op\n"))
	if err != nil || len(src.Scenarios) != 1 || len(src.Scenarios[0].Runs) != 2 {
		t.Errorf("go bench text with a BOM: %v, %+v", err, src)
	}
	if err == nil && src.Env.OS != "linux" {
		t.Errorf("the first line after the BOM was lost: env %+v", src.Env)
	}
	valid := `{"schema_version": 1, "scenarios": [{"name": "api", "runs": [{"ops": 10, "valid": true}]}]}`
	src, err = Load(writeTemp(t, "r.json", bom+valid))
	if err != nil || len(src.Scenarios) != 1 {
		t.Errorf("result JSON with a BOM: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "no benchmark results") {
		t.Errorf("misleading message for a BOM: %v", err)
	}
}
