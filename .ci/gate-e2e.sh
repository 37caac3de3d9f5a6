#!/usr/bin/env bash
# gate-e2e.sh checks the compare gate end to end on this machine, as a CI
# job would use it: real runs of the embedded fetch target, then compare.
#
#   1. A/A: PAIRS pairs of the same command must each exit 0 (no false alarm);
#   2. broken: the new side with 50% server errors must exit non-zero;
#   3. slower: the new side with 20% more server latency must exit 1.
#
# Usage (from the repository root; every variable is optional):
#
#   PAIRS=3 RUN='fetch --count 10 -d 1s --warmup 200ms' .ci/gate-e2e.sh
#
# Run it beside a CPU hog (`yes >/dev/null &` twice) to check that the
# verdicts hold on a busy machine. It builds bin/perfkit when missing and keeps
# everything in OUT (a temporary directory unless set). Exit 0 when every
# check held, 1 otherwise.
set -euo pipefail

PAIRS=${PAIRS:-3}
RUN=${RUN:-fetch --count 10 -d 1s --warmup 200ms}
LATENCY=${LATENCY:-fixed:2ms}
SLOWER=${SLOWER:-fixed:2.4ms}
BIN=${BIN:-bin/perfkit}
OUT=${OUT:-$(mktemp -d)}

[ -x "$BIN" ] || make build >/dev/null
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"
cd "$OUT"
echo "runs and comparisons in $OUT; run: perfkit run $RUN --server-latency $LATENCY"

# run NAME LATENCY [extra args...]: one result file NAME.json (its exit code
# is not the point here: a broken run may exit 3 and is still saved).
run() {
	local name=$1 latency=$2
	shift 2
	# shellcheck disable=SC2086 # RUN is a list of words
	"$BIN" run $RUN --server-latency "$latency" "$@" -o "$name.json" --format json >/dev/null 2>"$name.log" || true
	[ -s "$name.json" ] || {
		echo "run $name wrote no result:" >&2
		cat "$name.log" >&2
		exit 1
	}
}

failed=0
# expect WANT OLD NEW LABEL: compare and check the exit code; WANT is a
# number or "nonzero".
expect() {
	local want=$1 code=0
	"$BIN" compare "$2.json" "$3.json" >"$4.txt" 2>&1 || code=$?
	local ok=no
	case $want in
	nonzero) [ "$code" -ne 0 ] && [ "$code" -ne 2 ] && ok=yes ;;
	*) [ "$code" -eq "$want" ] && ok=yes ;;
	esac
	printf '%-10s exit %d (want %s) %s  %s\n' "$4" "$code" "$want" "$([ $ok = yes ] && echo ok || echo FAILED)" "$(tail -n 1 "$4.txt")"
	if [ $ok != yes ]; then
		failed=$((failed + 1))
		cat "$4.txt"
	fi
}

for i in $(seq 1 "$PAIRS"); do
	run "a$i" "$LATENCY"
	run "b$i" "$LATENCY"
	expect 0 "a$i" "b$i" "aa$i"
done
run broken "$LATENCY" --server-error-rate 50%
expect nonzero a1 broken broken
run slower "$SLOWER"
expect 1 a1 slower slower

echo
if [ "$failed" -gt 0 ]; then
	echo "gate-e2e: $failed of $((PAIRS + 2)) checks failed"
	exit 1
fi
echo "gate-e2e: all $((PAIRS + 2)) checks held"
