#!/usr/bin/env bash
# soak.sh checks that perfkit's memory does not creep over a long run: RSS
# must stay within SOAK_LIMIT (1.10, i.e. +10%) of its value at minute one
# for the rest of the run. Two runs of the fetch workload against an HTTP
# target in a separate process on 127.0.0.1 (internal/soaktarget, built
# here; nothing needs to be installed):
#
#   closed: perfkit run fetch --url URL -c SOAK_CONNS -d SOAK_DURATION
#   open:   perfkit run fetch --url URL -r SOAK_RATE -c SOAK_CONNS -d SOAK_DURATION
#
# perfkit's VmRSS (/proc/PID/status) is sampled every SOAK_EVERY seconds;
# the series is printed every SOAK_PRINT seconds (MiB) and kept whole in
# OUT/MODEL.rss (per line: seconds, then VmRSS, RssAnon and RssFile in
# KiB: anonymous memory is perfkit's heap and stacks, file-backed the
# pages of its binary), with the run's result and log.
# A run fails when the highest sample after SOAK_REF seconds exceeds
# SOAK_LIMIT times the sample at SOAK_REF. The run's own verdict (an open
# run under its target rate on a busy machine is invalid) is reported, not
# judged: this checks memory only.
#
# Usage (from the repository root; every variable is optional):
#
#   SOAK_DURATION=10m SOAK_MODELS='closed open' .ci/soak.sh
#   SOAK_DURATION=3m SOAK_MODELS=closed URL=http://127.0.0.1:8080/ .ci/soak.sh
#
# URL, when set, is used as the target instead of starting one; SOAK_ARGS
# adds perfkit flags to both runs (e.g. '--dashboard 127.0.0.1:0' to soak
# an observer too). Linux only (/proc). Exit 0 when every run held, 1 when
# one crept or could not run, 2 on a bad variable.
#
# Why minute one: the Go heap grows toward its GC goal at the rate perfkit
# makes garbage, and a GC is forced every 2 minutes at the latest; a run
# that makes garbage every interval settles only after a few minutes, while
# one that makes none is flat from the start. .ci/soak.sh is in `make
# bench` (not `make test`): it takes SOAK_DURATION per model.
set -euo pipefail

SOAK_DURATION=${SOAK_DURATION:-10m}
SOAK_MODELS=${SOAK_MODELS:-closed open}
SOAK_CONNS=${SOAK_CONNS:-256}
SOAK_RATE=${SOAK_RATE:-10000}
SOAK_REF=${SOAK_REF:-60}
SOAK_EVERY=${SOAK_EVERY:-5}
SOAK_PRINT=${SOAK_PRINT:-30}
SOAK_LIMIT=${SOAK_LIMIT:-1.10}
BIN=${BIN:-bin/perfkit}
GO=${GO:-go}
URL=${URL:-}
SOAK_ARGS=${SOAK_ARGS:-}
OUT=${OUT:-$(mktemp -d)}

# seconds DURATION: a Go-style duration of whole s, m or h units (90s, 10m,
# 1h30m) in seconds.
seconds() {
	local d=$1 total=0 rest
	rest=$d
	while [[ $rest =~ ^([0-9]+)([hms])(.*)$ ]]; do
		case ${BASH_REMATCH[2]} in
		h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
		m) total=$((total + BASH_REMATCH[1] * 60)) ;;
		s) total=$((total + BASH_REMATCH[1])) ;;
		esac
		rest=${BASH_REMATCH[3]}
	done
	if [ -n "$rest" ] || [ "$total" -eq 0 ]; then
		echo "soak: SOAK_DURATION $d: want a duration in whole h, m or s (10m, 90s, 1h30m)" >&2
		exit 2
	fi
	echo "$total"
}

dur=$(seconds "$SOAK_DURATION")
if [ "$dur" -le "$SOAK_REF" ]; then
	echo "soak: SOAK_DURATION $SOAK_DURATION: want longer than SOAK_REF (${SOAK_REF}s), the reference point" >&2
	exit 2
fi
for m in $SOAK_MODELS; do
	case $m in
	closed | open) ;;
	*)
		echo "soak: SOAK_MODELS $m: want closed or open" >&2
		exit 2
		;;
	esac
done
[ -r /proc/self/status ] || {
	echo "soak: needs /proc (Linux) to read perfkit's RSS" >&2
	exit 2
}

[ -x "$BIN" ] || make build >/dev/null
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

target=
cleanup() {
	if [ -n "$target" ]; then
		kill "$target" 2>/dev/null || true
		wait "$target" 2>/dev/null || true
	fi
}
trap cleanup EXIT

if [ -z "$URL" ]; then
	$GO build -o "$OUT/soaktarget" ./internal/soaktarget
	"$OUT/soaktarget" >"$OUT/target.url" 2>"$OUT/target.log" &
	target=$!
	for _ in $(seq 1 100); do
		[ -s "$OUT/target.url" ] && break
		kill -0 "$target" 2>/dev/null || break
		sleep 0.1
	done
	URL=$(head -n 1 "$OUT/target.url" 2>/dev/null || true)
	[ -n "$URL" ] || {
		echo "soak: the target did not start:" >&2
		cat "$OUT/target.log" >&2
		exit 1
	}
fi
echo "soak: $SOAK_MODELS, $SOAK_DURATION each, target $URL (pid ${target:-external}), RSS every ${SOAK_EVERY}s, limit ${SOAK_LIMIT}x the value at ${SOAK_REF}s; files in $OUT"

failed=0
# soak MODEL ARGS...: one run, sampled; prints the series and a verdict line.
soak() {
	local model=$1
	shift
	local rss=$OUT/$model.rss res=$OUT/$model.json
	: >"$rss"
	echo "$model: perfkit run fetch --url $URL $* -d $SOAK_DURATION $SOAK_ARGS"
	local t0=$SECONDS
	# shellcheck disable=SC2086 # SOAK_ARGS is a list of words
	"$BIN" run fetch --url "$URL" "$@" -d "$SOAK_DURATION" $SOAK_ARGS -o "$res" --format json >/dev/null 2>"$OUT/$model.log" &
	local pid=$! code=0 kb
	while kill -0 "$pid" 2>/dev/null; do
		kb=$(awk '/^(VmRSS|RssAnon|RssFile):/ {printf " %s", $2}' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$kb" ] && echo "$((SECONDS - t0))$kb" >>"$rss"
		sleep "$SOAK_EVERY"
	done
	wait "$pid" || code=$?
	# The series, one value per SOAK_PRINT seconds (the first sample at or
	# after each mark), then the verdict from every sample.
	awk -v every="$SOAK_PRINT" '
		$1 >= next_mark { line = line sprintf(" %d:%.1f", $1, $2 / 1024); next_mark = (int($1 / every) + 1) * every }
		END { print "  rss MiB (s:MiB):" line }' "$rss"
	local verdict
	verdict=$(awk -v ref="$SOAK_REF" -v limit="$SOAK_LIMIT" '
		!have && $1 >= ref { have = 1; r = $2; rt = $1; ra = $3; rf = $4; next }
		have { if ($2 > m) { m = $2; mt = $1 }; last = $2; la = $3; lf = $4 }
		END {
			if (!have || !m) { print "FAILED no RSS sample after " ref "s (did the run end early?)"; exit }
			s = sprintf("at %ds %.1f MiB, max after %.1f MiB (%.3fx) at %ds, end %.1f MiB (%.3fx; anon %.1f -> %.1f, file %.1f -> %.1f)", rt, r/1024, m/1024, m/r, mt, last/1024, last/r, ra/1024, la/1024, rf/1024, lf/1024)
			if (m > limit * r) print "FAILED " s ", over " limit "x"; else print "ok " s
		}' "$rss")
	local summary="no result"
	if [ -s "$res" ]; then
		summary=$(jq -r '.scenarios[0].runs[0] | "\(.ops) ops, \(.throughput | floor)/s, p99 \(.latency.op.p99_ns / 1e6)ms, peak rss \((.resources.max_rss_bytes // 0) / 1048576 | floor) MiB, " + (if .valid then "valid" else "invalid: " + (.invalid_reasons | join("; ")) end)' "$res" 2>/dev/null || echo "unreadable result")
	fi
	echo "  $summary (exit $code)"
	echo "  $model: $verdict"
	case $verdict in
	ok*) ;;
	*) failed=$((failed + 1)) ;;
	esac
	if [ ! -s "$res" ]; then
		failed=$((failed + 1))
		echo "  $model: FAILED no result; log:" >&2
		tail -n 5 "$OUT/$model.log" >&2
	fi
}

for m in $SOAK_MODELS; do
	case $m in
	closed) soak closed -c "$SOAK_CONNS" ;;
	open) soak open -r "$SOAK_RATE" -c "$SOAK_CONNS" ;;
	esac
done

if [ "$failed" -gt 0 ]; then
	echo "soak: FAILED: $failed of $(echo "$SOAK_MODELS" | wc -w) runs crept or did not run"
	exit 1
fi
echo "soak: RSS held within ${SOAK_LIMIT}x of its value at ${SOAK_REF}s in every run"
