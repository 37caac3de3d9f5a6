package bench

import "testing"

// The result records where the system under test ran, as the workload's
// Setup declared it; the default is in-process.
func TestTargetRecorded(t *testing.T) {
	for _, external := range []bool{false, true} {
		wl := &testWorkload{setup: func(s *Setup) error { s.External = external; return nil }}
		res := mustRun(t, scenario(wl, func(s *Settings) { s.Duration = 0; s.Iterations = 10 }))
		want := TargetInProcess
		if external {
			want = TargetExternal
		}
		if res.Target != want || TargetOf(&res) != want {
			t.Errorf("External %v: target %q, TargetOf %q, want %q", external, res.Target, TargetOf(&res), want)
		}
	}
}

// A result written before the target was recorded has it inferred from
// the workload and its params; a recorded target wins.
func TestTargetInferredForOldResults(t *testing.T) {
	doc := `{"schema_version": 1, "created_at": "2026-11-02T10:00:00Z", "scenarios": [
	  {"name": "api", "workload": "fetch", "params": {"url": ["http://10.0.0.1/health"], "targets": ""}, "runs": []},
	  {"name": "file", "workload": "fetch", "params": {"url": [], "targets": "targets.txt"}, "runs": []},
	  {"name": "embedded", "workload": "fetch", "params": {"url": [], "targets": ""}, "runs": []},
	  {"name": "exec", "workload": "agents", "params": {"kind": "exec", "cmd": "true"}, "runs": []},
	  {"name": "cpu", "workload": "agents", "params": {"kind": "cpu"}, "runs": []},
	  {"name": "cache", "workload": "cache", "params": {"redis": "redis://10.0.0.2:6379"}, "runs": []},
	  {"name": "pool", "workload": "pool", "params": {"target": "tcp://10.0.0.3:7"}, "runs": []},
	  {"name": "mine", "workload": "custom", "params": {}, "runs": []},
	  {"name": "recorded", "workload": "fetch", "params": {"url": ["http://10.0.0.1/"]}, "target": "in-process", "runs": []}
	]}`
	r, err := DecodeResult([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"api": TargetExternal, "file": TargetExternal, "embedded": TargetInProcess,
		"exec": TargetExternal, "cpu": TargetInProcess, "cache": TargetInProcess,
		"pool": TargetInProcess, "mine": TargetInProcess, "recorded": TargetInProcess,
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		if got := TargetOf(s); got != want[s.Name] {
			t.Errorf("%s: target %q, want %q", s.Name, got, want[s.Name])
		}
	}
}
