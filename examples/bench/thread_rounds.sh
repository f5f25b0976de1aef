#!/bin/bash
# Thread scaling of one model's generated C, measured as issue 13 asks:
# the C of `qcc --threads 2` built with -DQRT_THREADS=1, 2 and 4, each
# pinned with taskset (one thread on CPU $FIRST, two on FIRST..FIRST+1,
# four on FIRST..FIRST+3), ROUNDS interleaved rounds of `--bench RUNS`;
# prints every round and, per width, the least of the rounds' minima and
# its ratio to one thread (a busy host only adds time, so the least is
# what the code costs). Widths that would pass the last CPU are left out.
#
# usage: examples/bench/thread_rounds.sh MODEL.onnx INPUT.npy [QCC FLAGS...]
#   env: QCC (default build/qcc), ROUNDS (9), RUNS (3000), FIRST (2),
#        CFLAGS (-O3 -march=native)
# e.g.   examples/bench/thread_rounds.sh examples/char_lm/model.onnx examples/char_lm/input_0.npy -q w8a8 --calib examples/char_lm/calib
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,13p "$0"; exit 2; }
model=$1 input=$2
shift 2
QCC=${QCC:-build/qcc} ROUNDS=${ROUNDS:-9} RUNS=${RUNS:-3000} FIRST=${FIRST:-2} CFLAGS=${CFLAGS:--O3 -march=native}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$QCC" "$model" -o "$dir/m.c" --name m --threads 2 --emit-main "$dir/main.c" "$@"
widths=""
for t in 1 2 4; do [ $((FIRST + t)) -le "$(nproc)" ] && widths="$widths $t"; done
[ -n "$widths" ] || { echo "thread_rounds.sh: CPU $FIRST is past the last CPU ($(nproc) CPUs)" >&2; exit 2; }
for t in $widths; do
  cc -std=c99 $CFLAGS -pthread -DQRT_THREADS=$t "$dir/m.c" "$dir/main.c" -lm -o "$dir/m$t"
done
for r in $(seq "$ROUNDS"); do
  for t in $widths; do
    ms=$(taskset -c "$FIRST-$((FIRST + t - 1))" "$dir/m$t" "$input" --bench "$RUNS" | awk '/c_ms_per_run/ {print $3}')
    echo "round $r threads $t min_ms $ms"
  done
done | tee "$dir/rounds"
awk '{k = $4; if (!(k in m) || $6 < m[k]) m[k] = $6}
     END {for (t = 1; t <= 4; t *= 2) if (t in m) printf "threads %d: least %.4f ms, %.2fx one thread\n", t, m[t], m[1] / m[t]}' "$dir/rounds"
