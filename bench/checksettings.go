package bench

// CheckSettings asks the scenario's workload whether it can run with the
// scenario's settings (Definition.CheckSettings), before anything runs.
func CheckSettings(sc Scenario) error {
	if d := sc.Params.def; d != nil && d.CheckSettings != nil {
		return d.CheckSettings(sc.Params, sc.Settings)
	}
	return nil
}
