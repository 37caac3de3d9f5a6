package cmd

import (
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// Secrets never reach the screen or a file (docs/design.md, "Secrets"). The
// rule has two layers:
//   - where user input becomes a label, a step name or a message, each value
//     goes through its param's declared Redact (a URL, a header), else
//     bench.RedactText: shownSet below, the sweep step names, the workloads'
//     own errors;
//   - every error execute prints goes through bench.RedactText once more,
//     the last line of defence for a message that quotes input it did not
//     know to be secret (a cobra flag error, a library's error).
//
// Scrubbing the known secret values of the invocation from every output was
// considered and left out: it needs every input's secrets collected (flags,
// environment, config, targets file) before anything can fail, and the
// shapes above already cover each secret input TestNoSecretInAnyOutput plants.
// A new secret-bearing input adds its plant there.

// shownSet is a PARAM=VALUE set (ab's --a-set, --b-set) as labels and
// messages show it: the value through the param's Redact if def declares
// one, and through bench.RedactText in any case.
func shownSet(def *bench.Definition, set string) string {
	key, value, ok := strings.Cut(set, "=")
	if !ok {
		return bench.RedactText(set)
	}
	if def != nil {
		if p, ok := def.Param(strings.TrimSpace(key)); ok && p.Redact != nil {
			value = p.Redact(value)
		}
	}
	return key + "=" + bench.RedactText(value)
}

// shownSets is shownSet of each set.
func shownSets(def *bench.Definition, sets []string) []string {
	out := make([]string, len(sets))
	for i, s := range sets {
		out[i] = shownSet(def, s)
	}
	return out
}
