package bench

// Outcomes of a capacity search step (SearchStep.Outcome).
const (
	// SearchPass: the run is valid and meets every SLO.
	SearchPass = "pass"
	// SearchFail: the run is valid but misses an SLO.
	SearchFail = "fail"
	// SearchInvalid: the target could not take the rate: the achieved rate
	// fell short or errors passed the bound.
	SearchInvalid = "invalid"
	// SearchSaturated: perfkit itself could not keep up (its CPU saturated,
	// or schedule lag while a worker was free with no sign of other
	// processes); the step bounds the answer by perfkit, not the target.
	SearchSaturated = "saturated"
	// SearchContended: the step fell behind because other processes held
	// the CPUs (CauseContended); the search runs it again.
	SearchContended = "contended"
)

// SearchStep places a scenario result in a capacity search (perfkit run
// --find-max-rate): scenario Base run in the open model at Value ops/s, the
// Index-th step (from 0, in the order the steps ran). Like a sweep step it
// is a scenario of its own, named BASE[rate=VALUE], so compare and reports
// treat it like any other.
type SearchStep struct {
	// Param is what the search varies: "rate".
	Param string `json:"param"`
	// Value is the step's rate as its name shows it.
	Value string `json:"value"`
	Base  string `json:"base"`
	Index int    `json:"index"`
	// Rate is the step's target rate, ops per second.
	Rate float64 `json:"rate"`
	// Outcome is SearchPass, SearchFail, SearchInvalid, SearchSaturated or
	// SearchContended; Reasons say why a step did not pass.
	Outcome string   `json:"outcome"`
	Reasons []string `json:"reasons,omitempty"`
	// SLOs are the objectives every step is held to, as written.
	SLOs []string `json:"slos"`
	// Best marks the step whose rate is the answer: the highest that passed.
	Best bool `json:"best,omitempty"`
}
