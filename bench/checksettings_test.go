package bench

import (
	"errors"
	"testing"
)

// CheckSettings passes the scenario's values and settings to the
// workload's hook and returns its refusal; without a hook it accepts.
func TestCheckSettings(t *testing.T) {
	refusal := errors.New("no")
	var got Settings
	def := &Definition{Name: "w", Params: []Param{{Name: "n", Kind: Int, Default: "3"}},
		CheckSettings: func(v Values, s Settings) error {
			got = s
			if v.Int("n") > 2 {
				return refusal
			}
			return nil
		}}
	v, err := def.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	set := DefaultSettings()
	set.Iterations = 7
	if err := CheckSettings(Scenario{Params: v, Settings: set}); !errors.Is(err, refusal) || got.Iterations != 7 {
		t.Errorf("CheckSettings = %v (hook saw iterations %d), want the hook's refusal", err, got.Iterations)
	}
	def.CheckSettings = nil
	if err := CheckSettings(Scenario{Params: v, Settings: set}); err != nil {
		t.Errorf("no hook: %v", err)
	}
}
