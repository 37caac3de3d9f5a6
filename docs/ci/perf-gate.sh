#!/usr/bin/env bash
# perf-gate.sh: the shell steps of the CI recipe (docs/ci/github-actions.yml,
# docs/ci.md, "CI recipe"). `go test ./cmd -run TestCIRecipe` runs the workflow's
# steps with this script against a local baseline, so the recipe cannot drift.
#
# Usage, from the repository root after `make build`:
#
#   docs/ci/perf-gate.sh run       perfkit run, the result kept in PERF_GATE_RESULT
#   docs/ci/perf-gate.sh compare   compare it with the baseline; the markdown goes to
#                                  $GITHUB_STEP_SUMMARY when set (and JUnit XML to
#                                  PERF_GATE_JUNIT when set); exits like compare:
#                                  0 pass, 1 the gate said no, 2 bad input
#   docs/ci/perf-gate.sh save      save it as the baseline
#
# Settings (environment; not PERFKIT_*, which perfkit reads itself):
#
#   PERF_GATE_BIN       the perfkit binary (default bin/perfkit, from `make build`)
#   PERF_GATE_RUN_ARGS  arguments of `perfkit run` (default --count 10: every
#                       scenario of perfkit.yaml, or the default suite without one)
#   PERF_GATE_BASELINE  the baseline's name (default "default")
#   PERF_GATE_RESULT    the result file (default perf-result.json)
#   PERF_GATE_FAIL_ON   compare's --fail-on (default regression,invalid)
#   PERF_GATE_JUNIT     also write the comparison as JUnit XML to this file
#                       (default: none)
#
# action.yml at the repository root (the GitHub Action) runs these same steps.
set -euo pipefail

bin=${PERF_GATE_BIN:-bin/perfkit}
run_args=${PERF_GATE_RUN_ARGS:---count 10}
name=${PERF_GATE_BASELINE:-default}
result=${PERF_GATE_RESULT:-perf-result.json}
fail_on=${PERF_GATE_FAIL_ON:-regression,invalid}
junit=${PERF_GATE_JUNIT:-}

if [ ! -x "$bin" ]; then
	echo "perf-gate: no perfkit binary at $bin: run 'make build' in the perfkit checkout first, or set PERF_GATE_BIN" >&2
	exit 2
fi

case ${1:-} in
run)
	# shellcheck disable=SC2086 # PERF_GATE_RUN_ARGS is a list of words
	exec "$bin" run $run_args -o "$result"
	;;
compare)
	if ! "$bin" baseline show "$name" >/dev/null 2>&1; then
		# The first run on main has nothing to compare with yet.
		msg="perf-gate: no baseline \"$name\" yet: nothing to compare (it is saved by the first run on main)"
		echo "$msg" >&2
		if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then echo "$msg" >>"$GITHUB_STEP_SUMMARY"; fi
		exit 0
	fi
	code=0
	"$bin" compare --baseline "$name" "$result" --fail-on "$fail_on" --format markdown >compare.md || code=$?
	if [ -n "$junit" ]; then
		# The same decision again, as JUnit XML for test-report viewers.
		"$bin" compare --baseline "$name" "$result" --fail-on "$fail_on" --format junit -o "$junit" || true
	fi
	cat compare.md
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat compare.md >>"$GITHUB_STEP_SUMMARY"; fi
	exit "$code"
	;;
save)
	exec "$bin" baseline save "$name" --from "$result"
	;;
*)
	echo "perf-gate: usage: perf-gate.sh run|compare|save (got \"${1:-}\")" >&2
	exit 2
	;;
esac
