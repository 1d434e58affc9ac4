#!/bin/sh
# soak-faults.sh: proves that scripts/faults.lua does not fail on noise and
# does fail on a real slow-down. With a CPU hog busy on one core all along,
# it runs faults.lua RUNS times (every run must pass), then DEGRADED times
# with the probe's tool kept SLOW percent slower after the chaos (every run
# must fail, on its recovery verdict). It prints each run's verdict and
# the range of the ratios and bounds, and exits 1 unless both hold.
#
#   scripts/soak-faults.sh [BIN [RUNS [DEGRADED [SLOW]]]]
#   make soak-faults                          # bin/spellhost, 30, 10, 30
#   make soak-faults SOAK_RUNS=5 SOAK_DEGRADED=2
set -u

BIN=${1:-bin/spellhost}
RUNS=${2:-30}
DEGRADED=${3:-10}
SLOW=${4:-30}
for n in "$RUNS" "$DEGRADED" "$SLOW"; do
	case $n in
	'' | *[!0-9]*) echo "soak-faults: RUNS, DEGRADED and SLOW must be whole numbers, got '$n'" >&2; exit 2 ;;
	esac
done
[ -x "$BIN" ] || { echo "soak-faults: $BIN is not an executable; run make build" >&2; exit 2; }

out=$(mktemp -d) || exit 1
hog=
cleanup() {
	[ -n "$hog" ] && kill "$hog" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The hog: a busy shell loop, pinned to core 0 when taskset is there.
if command -v taskset >/dev/null 2>&1; then
	taskset -c 0 sh -c 'while :; do :; done' &
	where="pinned to core 0"
else
	sh -c 'while :; do :; done' &
	where="unpinned (no taskset)"
fi
hog=$!
echo "soak-faults: CPU hog $hog $where; $(nproc 2>/dev/null || echo '?') cores"

# run LABEL I ARGS...: one run of faults.lua; prints its line, leaves its
# exit code in $code and its verdict's figures in $out/LABEL.figures.
run() {
	label=$1 i=$2
	shift 2
	log="$out/$label-$i.log"
	start=$(date +%s)
	"$BIN" run scripts/faults.lua -- "$@" >"$log" 2>&1
	code=$?
	secs=$(($(date +%s) - start))
	# "recovered: throughput 1.00x the baseline (95% CI 0.99-1.01; ..."
	verdict=$(grep -o '[a-z]*: throughput [0-9.]*x the baseline ([0-9]*% CI [0-9.]*-[0-9.]*' "$log" | head -n 1)
	figures=$(echo "$verdict" | sed -n 's/^\([a-z]*\): throughput \([0-9.]*\)x.* CI \([0-9.]*\)-\([0-9.]*\)$/\1 \2 \3 \4/p')
	[ -n "$figures" ] && echo "$figures" >>"$out/$label.figures"
	# "timeouts: lateness beside the scheduler's bound_ms=25.4 ... median_late_ms=0.38 ..."
	sed -n 's/.*timeouts: lateness.* bound_ms=\([0-9.]*\).* median_late_ms=\([0-9.]*\).*/\2 \1/p' "$log" |
		head -n 1 >>"$out/$label.timeouts"
	if [ -n "$verdict" ]; then verdict="$verdict)"; else verdict="no verdict"; fi
	printf '%-8s %2d: exit %3d  %3ds  %s\n' "$label" "$i" "$code" "$secs" "$verdict"
}

# summary LABEL: the range of ratios, lower and upper bounds, and the count
# of each verdict.
summary() {
	[ -s "$out/$1.figures" ] || { echo "  no verdicts"; return; }
	awk '
	NR == 1 { rmin = rmax = $2; lmin = lmax = $3; umin = umax = $4 }
	{ n[$1]++
	  if ($2 < rmin) rmin = $2; if ($2 > rmax) rmax = $2
	  if ($3 < lmin) lmin = $3; if ($3 > lmax) lmax = $3
	  if ($4 < umin) umin = $4; if ($4 > umax) umax = $4 }
	END {
	  printf "  ratio %s-%s, lower bound %s-%s, upper bound %s-%s;", rmin, rmax, lmin, lmax, umin, umax
	  for (v in n) printf " %s %d", v, n[v]
	  printf "\n" }' "$out/$1.figures"
}

# timeouts LABEL: the range of the timeouts' median lateness and of its
# bound, in ms.
timeouts() {
	[ -s "$out/$1.timeouts" ] || return
	awk 'NR == 1 { lmin = lmax = $1; bmin = bmax = $2 }
	{ if ($1 < lmin) lmin = $1; if ($1 > lmax) lmax = $1; if ($2 < bmin) bmin = $2; if ($2 > bmax) bmax = $2 }
	END { printf "  timeouts: median lateness %.2f-%.2f ms, its bound %.1f-%.1f ms\n", lmin, lmax, bmin, bmax }' "$out/$1.timeouts"
}

failed=0
i=1
while [ "$i" -le "$RUNS" ]; do
	run clean "$i"
	if [ "$code" -ne 0 ]; then
		failed=$((failed + 1))
		grep '✗\|ERROR' "$log" | sed 's/^/    /'
	fi
	i=$((i + 1))
done

missed=0
i=1
while [ "$i" -le "$DEGRADED" ]; do
	run degraded "$i" 1 0.10 "$SLOW"
	# It must fail, and on the verdict: exit 99 with a degraded verdict.
	if [ "$code" -ne 99 ] || ! grep -q '✗ degraded: throughput' "$log"; then
		missed=$((missed + 1))
		grep '✗\|ERROR' "$log" | sed 's/^/    /'
	fi
	i=$((i + 1))
done

echo
echo "soak-faults: beside a CPU hog, $((RUNS - failed)) of $RUNS clean runs passed"
summary clean
timeouts clean
echo "soak-faults: with the probe's tool kept $SLOW% slower, $((DEGRADED - missed)) of $DEGRADED runs failed on the verdict"
summary degraded
[ "$failed" -eq 0 ] && [ "$missed" -eq 0 ]
