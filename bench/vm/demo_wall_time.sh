#!/usr/bin/env bash
# Warm `harness demo` wall time (target <= 30 s): runs it N times (default 5) after one warm-up
# run that builds or fetches the cached kernel, and prints each time and the median.
#   bench/vm/demo_wall_time.sh [HARNESS_BIN] [N]
set -euo pipefail
bin=${1:-build/bin/harness}
n=${2:-5}
cache=${HARNESS_CACHE:-/var/cache/harness}
"$bin" demo --cache "$cache" --no-install >/dev/null 2>&1 || true # warm-up: kernel + probes cached
times=()
for i in $(seq "$n"); do
  start=$(date +%s.%N)
  "$bin" demo --cache "$cache" --no-install >/dev/null 2>"/tmp/harness-demo-bench.$i.log"
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf 'run %d: %.2f s\n' "$i" "$t"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median warm harness demo: %.2f s over %d runs (target <= 30 s)\n", a[int((NR+1)/2)], NR}'
