package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// precedenceConfig sets concurrency and payload-bytes at the top level (3,
// 300) and in scenario api (5, 500).
const precedenceConfig = `
concurrency: 3
params:
  payload-bytes: 300
scenarios:
  - name: api
    workload: fetch
    concurrency: 5
    params:
      payload-bytes: 500
  - name: bare
    workload: fetch
`

// Each level of precedence, for a run setting and a workload param:
// flag > PERFKIT_* > scenario key > top-level key > declared default.
func TestPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		config    bool
		env       map[string]string
		args      []string
		wantConc  int
		wantBytes int64
	}{
		{"declared default", false, nil, []string{"fetch"}, bench.DefaultConcurrency, 200},
		{"top-level config", true, nil, []string{"bare"}, 3, 300},
		{"top-level config for a workload run by name", true, nil, []string{"fetch"}, 3, 300},
		{"scenario config beats top level", true, nil, []string{"api"}, 5, 500},
		{"env beats config", true, map[string]string{"PERFKIT_CONCURRENCY": "7", "PERFKIT_PAYLOAD_BYTES": "700"}, []string{"api"}, 7, 700},
		{"env beats default", false, map[string]string{"PERFKIT_CONCURRENCY": "7", "PERFKIT_PAYLOAD_BYTES": "700"}, []string{"fetch"}, 7, 700},
		{"flag beats env", true, map[string]string{"PERFKIT_CONCURRENCY": "7", "PERFKIT_PAYLOAD_BYTES": "700"}, []string{"api", "-c", "9", "--payload-bytes", "900"}, 9, 900},
		{"flag beats config", true, nil, []string{"api", "--concurrency", "9", "--payload-bytes=900"}, 9, 900},
		{"empty env is unset", true, map[string]string{"PERFKIT_CONCURRENCY": ""}, []string{"api"}, 5, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sandbox(t)
			if tc.config {
				writeFile(t, "perfkit.yaml", precedenceConfig)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o := mustResolve(t, nil, tc.args...)
			if len(o.Scenarios) != 1 {
				t.Fatalf("%d scenarios", len(o.Scenarios))
			}
			sc := o.Scenarios[0]
			if sc.Settings.Concurrency != tc.wantConc {
				t.Errorf("concurrency %d, want %d", sc.Settings.Concurrency, tc.wantConc)
			}
			if got := sc.Params.Int("payload-bytes"); got != tc.wantBytes {
				t.Errorf("payload-bytes %d, want %d", got, tc.wantBytes)
			}
		})
	}
}

func TestDefaultsMatchBench(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch")
	if got, want := o.Scenarios[0].Settings, bench.DefaultSettings(); got != want {
		t.Errorf("settings with no input:\n got %+v\nwant %+v", got, want)
	}
	if o.Format != "table" || o.NoSave || o.Out != "" || o.ConfigFile != "" {
		t.Errorf("options %+v", o)
	}
}

func TestAllSettingsFromFlags(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "-c", "3", "-r", "250.5", "--arrival", "poisson", "-d", "2s", "--warmup", "0s",
		"--count", "4", "--timeout", "150ms", "--interval", "250ms", "--max-error-rate", "5%", "--max-late", "2%")
	want := bench.Settings{Concurrency: 3, Rate: 250.5, Arrival: "poisson", Duration: 2 * time.Second, Warmup: 0,
		Count: 4, Timeout: 150 * time.Millisecond, Interval: 250 * time.Millisecond, MaxErrorRate: 0.05, MaxLate: 0.02, Grace: bench.DefaultGrace}
	if got := o.Scenarios[0].Settings; got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestAllSettingsFromEnv(t *testing.T) {
	sandbox(t)
	for k, v := range map[string]string{"PERFKIT_CONCURRENCY": "3", "PERFKIT_RATE": "100", "PERFKIT_ARRIVAL": "poisson",
		"PERFKIT_ITERATIONS": "500", "PERFKIT_WARMUP": "0s", "PERFKIT_COUNT": "2", "PERFKIT_TIMEOUT": "1s",
		"PERFKIT_INTERVAL": "100ms", "PERFKIT_MAX_ERROR_RATE": "0.2", "PERFKIT_MAX_LATE": "0.03", "PERFKIT_FORMAT": "json", "PERFKIT_OUT": "x.json"} {
		t.Setenv(k, v)
	}
	o := mustResolve(t, nil, "fetch")
	want := bench.Settings{Concurrency: 3, Rate: 100, Arrival: "poisson", Iterations: 500, Count: 2,
		Timeout: time.Second, Interval: 100 * time.Millisecond, MaxErrorRate: 0.2, MaxLate: 0.03, Grace: bench.DefaultGrace}
	if got := o.Scenarios[0].Settings; got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if o.Format != "json" || o.Out != "x.json" {
		t.Errorf("format %q out %q", o.Format, o.Out)
	}
	t.Setenv("PERFKIT_NO_SAVE", "true")
	if o := mustResolve(t, nil, "fetch"); !o.NoSave || o.Out != "" {
		t.Errorf("PERFKIT_NO_SAVE: no-save %v out %q", o.NoSave, o.Out)
	}
}

// -n replaces the default or configured duration, and -d a configured
// iteration count: the value given at the higher level wins.
func TestDurationOrIterations(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "-n", "100")
	if s := o.Scenarios[0].Settings; s.Duration != 0 || s.Iterations != 100 {
		t.Errorf("-n 100: duration %s iterations %d", s.Duration, s.Iterations)
	}
	writeFile(t, "perfkit.yaml", "scenarios:\n  - {name: it, workload: fetch, iterations: 1000}\n  - {name: du, workload: fetch, duration: 3s}\n")
	o = mustResolve(t, nil, "it")
	if s := o.Scenarios[0].Settings; s.Duration != 0 || s.Iterations != 1000 {
		t.Errorf("config iterations: duration %s iterations %d", s.Duration, s.Iterations)
	}
	o = mustResolve(t, nil, "it", "-d", "2s")
	if s := o.Scenarios[0].Settings; s.Duration != 2*time.Second || s.Iterations != 0 {
		t.Errorf("config iterations, -d 2s: duration %s iterations %d", s.Duration, s.Iterations)
	}
	o = mustResolve(t, nil, "du", "-n", "7")
	if s := o.Scenarios[0].Settings; s.Duration != 0 || s.Iterations != 7 {
		t.Errorf("config duration, -n 7: duration %s iterations %d", s.Duration, s.Iterations)
	}
	writeFile(t, "both.yaml", "scenarios:\n  - {name: both, workload: fetch, iterations: 10, duration: 1s}\n")
	if _, err := resolveRun(t, nil, "--config", "both.yaml"); err == nil || !strings.Contains(err.Error(), "both.yaml:2") {
		t.Errorf("both in one scenario: %v", err)
	}
}

func TestConfigDiscovery(t *testing.T) {
	dir := sandbox(t)
	xdg := filepath.Join(dir, "xdg", "perfkit")
	if err := os.MkdirAll(xdg, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(xdg, "perfkit.yaml"), "scenarios:\n  - {name: from-xdg, workload: fetch}\n")
	if o := mustResolve(t, nil); o.Scenarios[0].Name != "from-xdg" || o.ConfigFile != filepath.Join(xdg, "perfkit.yaml") {
		t.Errorf("XDG config not used: %s from %s", o.Scenarios[0].Name, o.ConfigFile)
	}

	t.Setenv("XDG_CONFIG_HOME", "")
	home := filepath.Join(dir, ".config", "perfkit")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home, "perfkit.yaml"), "scenarios:\n  - {name: from-home, workload: fetch}\n")
	if o := mustResolve(t, nil); o.Scenarios[0].Name != "from-home" {
		t.Errorf("~/.config not used: %s", o.Scenarios[0].Name)
	}

	writeFile(t, "perfkit.yaml", "scenarios:\n  - {name: from-cwd, workload: fetch}\n")
	if o := mustResolve(t, nil); o.Scenarios[0].Name != "from-cwd" || o.ConfigFile != "perfkit.yaml" {
		t.Errorf("./perfkit.yaml not used: %s", o.Scenarios[0].Name)
	}

	writeFile(t, "other.yaml", "scenarios:\n  - {name: from-flag, workload: fetch}\n")
	if o := mustResolve(t, nil, "--config", "other.yaml"); o.Scenarios[0].Name != "from-flag" {
		t.Errorf("--config not used: %s", o.Scenarios[0].Name)
	}
	t.Setenv("PERFKIT_CONFIG", "other.yaml")
	if o := mustResolve(t, nil); o.Scenarios[0].Name != "from-flag" {
		t.Errorf("PERFKIT_CONFIG not used: %s", o.Scenarios[0].Name)
	}
}

func TestConfigEmptyFileRunsDefaultSuite(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", "# nothing yet\nconcurrency: 4\n")
	o := mustResolve(t, nil)
	var names []string
	for _, s := range o.Scenarios {
		names = append(names, s.Name)
		if s.Settings.Concurrency != 4 {
			t.Errorf("%s: concurrency %d", s.Name, s.Settings.Concurrency)
		}
	}
	if !slices.Equal(names, registry(builtinWorkloads()).names()) {
		t.Errorf("ran %v", names)
	}
}

func TestConfigEnvExpansion(t *testing.T) {
	sandbox(t)
	t.Setenv("API_TOKEN", "s3cret")
	t.Setenv("CONC", "12")
	writeFile(t, "perfkit.yaml", `
scenarios:
  - name: api
    workload: fetch
    concurrency: ${CONC}
    params:
      url: [http://127.0.0.1:8080/health]
      header: ["Authorization: Bearer ${API_TOKEN}", "X-Cost: $5 ${NOT_SET}"]
`)
	o := mustResolve(t, nil)
	sc := o.Scenarios[0]
	if sc.Settings.Concurrency != 12 {
		t.Errorf("concurrency %d", sc.Settings.Concurrency)
	}
	if got := sc.Params.Strings("header"); !slices.Equal(got, []string{"Authorization: Bearer s3cret", "X-Cost: $5 "}) {
		t.Errorf("headers %q", got)
	}
	if rec := sc.Params.Record()["header"]; strings.Contains(strings.Join(rec.([]string), ","), "s3cret") {
		t.Errorf("token not redacted in the record: %v", rec)
	}
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "perfkit.yaml:8: ${NOT_SET} is not set") {
		t.Errorf("warnings %q", o.Warnings)
	}
}

// Repeatable params keep each value whole: commas and quotes survive flags,
// and a PERFKIT_* variable holds a list one value per line.
func TestRepeatableParams(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "--header", `X-List: a, b "c"`, "--header", "X-Two: 2",
		"--url", "http://127.0.0.1:1/?q=a,b", "--url", "http://127.0.0.1:2/")
	p := o.Scenarios[0].Params
	if got := p.Strings("header"); !slices.Equal(got, []string{`X-List: a, b "c"`, "X-Two: 2"}) {
		t.Errorf("headers %q", got)
	}
	if got := p.Strings("url"); !slices.Equal(got, []string{"http://127.0.0.1:1/?q=a,b", "http://127.0.0.1:2/"}) {
		t.Errorf("urls %q", got)
	}
	t.Setenv("PERFKIT_URL", "http://127.0.0.1:3/a,b\nhttp://127.0.0.1:4/\n")
	o = mustResolve(t, nil, "fetch")
	if got := o.Scenarios[0].Params.Strings("url"); !slices.Equal(got, []string{"http://127.0.0.1:3/a,b", "http://127.0.0.1:4/"}) {
		t.Errorf("PERFKIT_URL: %q", got)
	}
}

// Two workloads may declare one param name with different kinds: the flag
// takes strings and each workload parses them as its own kind.
func TestSharedParamNames(t *testing.T) {
	sandbox(t)
	defs := fakeDefs()
	o := mustResolve(t, defs, "alpha", "beta", "--size", "42")
	if got := o.Scenarios[0].Params.Int("size"); got != 42 {
		t.Errorf("alpha size %d", got)
	}
	if got := o.Scenarios[1].Params.String("size"); got != "42" {
		t.Errorf("beta size %q", got)
	}
	o = mustResolve(t, defs, "beta", "--size", "large")
	if got := o.Scenarios[0].Params.String("size"); got != "large" {
		t.Errorf("beta size %q", got)
	}
	_, err := resolveRun(t, defs, "alpha", "--size", "large")
	if err == nil || !strings.Contains(err.Error(), `"large" is not an integer`) || !strings.Contains(err.Error(), "--size") {
		t.Errorf("alpha --size large: %v", err)
	}
	// Applies only to the scenarios whose workload declares the param.
	o = mustResolve(t, defs, "alpha", "beta", "--only-beta", "x")
	if got := o.Scenarios[1].Params.Strings("only-beta"); !slices.Equal(got, []string{"x"}) {
		t.Errorf("beta only-beta %q", got)
	}
}

func TestParamFlagForOtherWorkload(t *testing.T) {
	sandbox(t)
	_, err := resolveRun(t, fakeDefs(), "alpha", "--only-beta", "x")
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--only-beta: not a param of the workload of alpha (alpha)") {
		t.Errorf("err = %v", err)
	}
	code, _, errOut := cliWith(t, t.Context(), func(f *Factory) { f.Workloads = fakeDefs() }, "run", "alpha", "--only-beta", "x")
	if code != ExitUsage {
		t.Errorf("exit %d", code)
	}
	oneErrorLine(t, errOut, "--only-beta", "beta")
}

func TestConfigTopLevelParamUnknown(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", "params:\n  colour: red\n")
	_, err := resolveRun(t, nil, "fetch")
	if err == nil || !strings.Contains(err.Error(), `perfkit.yaml:1: params: unknown param "colour"`) {
		t.Errorf("err = %v", err)
	}
}

func TestConfigWorkloadDefaultsToName(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", "scenarios:\n  - name: fetch\n    duration: 2s\n")
	o := mustResolve(t, nil)
	if sc := o.Scenarios[0]; sc.Workload != "fetch" || sc.Settings.Duration != 2*time.Second {
		t.Errorf("scenario %s workload %s duration %s", sc.Name, sc.Workload, sc.Settings.Duration)
	}
}

func TestConfigUnknownNameListsScenarios(t *testing.T) {
	sandbox(t)
	writeFile(t, "perfkit.yaml", precedenceConfig)
	_, err := resolveRun(t, nil, "apii")
	if err == nil || err.Error() != `unknown scenario or workload "apii" (configured: api, bare; workloads: agents, cache, fetch, pool)` {
		t.Errorf("err = %v", err)
	}
}

// Stages set the measured time, from a flag or the config key stages:.
func TestStagesSetTheDuration(t *testing.T) {
	sandbox(t)
	o := mustResolve(t, nil, "fetch", "-r", "1", "--stages", "2s:100,1s:0")
	if s := o.Scenarios[0].Settings; s.Stages != "2s:100,1s:0" || s.Duration != 3*time.Second {
		t.Errorf("--stages: stages %q duration %s", s.Stages, s.Duration)
	}
	writeFile(t, "perfkit.yaml", "stages: 1s:5\nscenarios:\n  - {name: st, workload: fetch, stages: \"4s:10,4s:0\", duration: 8s}\n  - {name: top, workload: fetch}\n")
	if s := mustResolve(t, nil, "st").Scenarios[0].Settings; s.Stages != "4s:10,4s:0" || s.Duration != 8*time.Second {
		t.Errorf("config stages: stages %q duration %s", s.Stages, s.Duration)
	}
	if s := mustResolve(t, nil, "top").Scenarios[0].Settings; s.Stages != "1s:5" || s.Duration != time.Second {
		t.Errorf("top-level stages: stages %q duration %s", s.Stages, s.Duration)
	}
}
