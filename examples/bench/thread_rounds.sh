#!/bin/bash
# Thread scaling of one model's generated C, measured as issue 13 asks:
# the C of `qcc --threads 2` built with -DQRT_THREADS=1, 2 and 4, each
# pinned with taskset to the first 1, 2 or 4 CPUs from CPU $FIRST on that
# sit on different physical cores (an SMT sibling of a CPU already taken
# is skipped: two threads on one core share its multiply units, which
# int8 GEMMs saturate), ROUNDS interleaved rounds of `--bench RUNS`;
# prints every round and, per width, the least of the rounds' minima and
# its ratio to one thread (a busy host only adds time, so the least is
# what the code costs). Widths that would pass the last CPU are left out.
#
# usage: examples/bench/thread_rounds.sh MODEL.onnx INPUT.npy [QCC FLAGS...]
#   env: QCC (default build/qcc), ROUNDS (9), RUNS (3000), FIRST (2),
#        CFLAGS (-O3 -march=native)
# e.g.   examples/bench/thread_rounds.sh examples/char_lm/model.onnx examples/char_lm/input_0.npy -q w8a8 --calib examples/char_lm/calib
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
model=$1 input=$2
shift 2
QCC=${QCC:-build/qcc} ROUNDS=${ROUNDS:-9} RUNS=${RUNS:-3000} FIRST=${FIRST:-2} CFLAGS=${CFLAGS:--O3 -march=native}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$QCC" "$model" -o "$dir/m.c" --name m --threads 2 --emit-main "$dir/main.c" "$@"
# CPUs from FIRST on, one per physical core (package and core id from
# sysfs; without it, every CPU counts as its own core)
cpus=() seen=" "
for ((c = FIRST; c < $(nproc); c++)); do
  topo=/sys/devices/system/cpu/cpu$c/topology
  key=$c
  [ -r "$topo/core_id" ] && key="$(cat "$topo/physical_package_id" 2>/dev/null):$(cat "$topo/core_id")"
  case "$seen" in *" $key "*) continue ;; esac
  seen="$seen$key "
  cpus+=("$c")
done
widths="" pins=()
for t in 1 2 4; do
  [ "${#cpus[@]}" -ge "$t" ] || continue
  widths="$widths $t"
  pins[$t]=$(IFS=,; echo "${cpus[*]:0:$t}")
  echo "threads $t on CPUs ${pins[$t]}"
done
[ -n "$widths" ] || { echo "thread_rounds.sh: no CPU from $FIRST on ($(nproc) CPUs)" >&2; exit 2; }
for t in $widths; do
  cc -std=c99 $CFLAGS -pthread -DQRT_THREADS=$t "$dir/m.c" "$dir/main.c" -lm -o "$dir/m$t"
done
for r in $(seq "$ROUNDS"); do
  for t in $widths; do
    ms=$(taskset -c "${pins[$t]}" "$dir/m$t" "$input" --bench "$RUNS" | awk '/c_ms_per_run/ {print $3}')
    echo "round $r threads $t min_ms $ms"
  done
done | tee "$dir/rounds"
awk '{k = $4; if (!(k in m) || $6 < m[k]) m[k] = $6}
     END {for (t = 1; t <= 4; t *= 2) if (t in m) printf "threads %d: least %.4f ms, %.2fx one thread\n", t, m[t], m[1] / m[t]}' "$dir/rounds"
