#!/usr/bin/env bash
# aa.sh measures `perfkit compare` on real runs of this machine:
#
#   1. the false-alarm rate: PAIRS independent A/A pairs (the same command run
#      twice), each compared; a pair that flags any metric regressed or
#      improved is a false alarm;
#   2. optionally, detection: each extra-args variant in SLOW (separated by
#      "|") is run once and compared with a fresh run of the plain command.
#
# Usage (from the repository root; every variable is optional):
#
#   PAIRS=20 RUN='agents --count 10 -d 1s --warmup 200ms' \
#   SLOW='--work 210|--work 220|--work 240|--work 300' .ci/aa.sh
#
# It builds bin/perfkit when missing, keeps everything in OUT (a temporary
# directory unless set), and prints one line per comparison, then totals.
set -euo pipefail

PAIRS=${PAIRS:-20}
RUN=${RUN:-agents --count 10 -d 1s --warmup 200ms}
SLOW=${SLOW:-}
BIN=${BIN:-bin/perfkit}
OUT=${OUT:-$(mktemp -d)}
ALPHA=${ALPHA:-0.05}

[ -x "$BIN" ] || make build >/dev/null
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"
cd "$OUT"
echo "runs and comparisons in $OUT; run: perfkit run $RUN"

# run NAME [extra args...]: one result file NAME.json.
run() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # RUN is a list of words
	"$BIN" run $RUN "$@" -o "$name.json" --format json >/dev/null 2>"$name.log" || {
		echo "run $name failed:" >&2
		cat "$name.log" >&2
		exit 1
	}
}

# cmp OLD NEW KEY LABEL: compare (files KEY.cmp.*), print the summary, and
# count.
regressed_pairs=0
improved_pairs=0
any=0
cmp() {
	local code=0
	"$BIN" compare "$1.json" "$2.json" --alpha "$ALPHA" --all --format json >"$3.cmp.json" 2>"$3.cmp.log" || code=$?
	if [ "$code" -ge 2 ]; then
		echo "compare $4 failed:" >&2
		cat "$3.cmp.log" >&2
		exit 1
	fi
	local summary flagged
	summary=$(sed -n 's/^  "summary": "\(.*\)",$/\1/p' "$3.cmp.json")
	# The metrics flagged, with their change: "api p99 +12.3%".
	flagged=$("$BIN" compare "$1.json" "$2.json" --alpha "$ALPHA" --format table --fail-on never 2>/dev/null |
		awk '!/info:/ { for (i = 3; i <= NF; i++) if ($i == "regressed" || $i == "improved") { print $1, $2, $(i-3), $i; break } }' | paste -sd ';' -)
	printf '%-16s %s%s\n' "$4" "$summary" "${flagged:+  [$flagged]}"
	case $3 in aa*)
		[ "$code" -eq 1 ] && regressed_pairs=$((regressed_pairs + 1))
		grep -q '"improved": [1-9]' "$3.cmp.json" && improved_pairs=$((improved_pairs + 1))
		grep -q '"regressed": [1-9]\|"improved": [1-9]' "$3.cmp.json" && any=$((any + 1))
		;;
	esac
	return 0
}

for i in $(seq 1 "$PAIRS"); do
	run "a$i"
	run "b$i"
	cmp "a$i" "b$i" "aa$i" "A/A $i"
done
echo
echo "A/A: $PAIRS pairs; with a regression (exit 1): $regressed_pairs; with an improvement: $improved_pairs; any false alarm: $any ($((100 * any / PAIRS))%)"

if [ -n "$SLOW" ]; then
	echo
	IFS='|' read -r -a variants <<<"$SLOW"
	n=0
	for v in "${variants[@]}"; do
		n=$((n + 1))
		run "base$n"
		# shellcheck disable=SC2086 # the variant is a list of words
		run "slow$n" $v
		cmp "base$n" "slow$n" "slow$n" "[$v]"
	done
fi
