package bench

// Counters kept per label or per name. A workload that breaks its ops down
// (fetch's targets by tag, its response checks by name) counts them in
// counters named NAME{LABEL}, so that they are summed, merged and compared
// like any counter, and alert rules and thresholds read them by that
// grammar (bench/alert): errors{login} > 10, error_rate{login} > 1%,
// check_rate{json} < 99.9%.
const (
	// ErrorsCounter{LABEL} counts the failed ops of LABEL; error_rate{LABEL}
	// is it over the ops recorded under LABEL.
	ErrorsCounter = "errors"
	// ChecksCounter{NAME} counts the ops check NAME judged, and
	// ChecksFailedCounter{NAME} those that failed it; check_rate{NAME} is
	// the share that passed.
	ChecksCounter       = "checks"
	ChecksFailedCounter = "checks_failed"
)

// LabelCounter names counter name kept for label: "name{label}".
func LabelCounter(name, label string) string { return name + "{" + label + "}" }
