#!/usr/bin/env bash
# How long harness takes to make the kprobe definitions of a stock Debian kernel (issue 28: about a
# minute before, goal 20 s on 2 CPUs). Runs `harness vm run --debian-kernel RELEASE -- --frames 2`
# RUNS times per binary, alternating, each with a scratch cache that shares the real cache's
# downloaded kernels and sources (nothing is downloaded again) but not its definitions, so perf
# probe runs every time. Prints each run's wall time and harness's own summary line ("perf probe:
# N event(s) ... K perf call(s), J at a time, S s"; binaries before that line existed print only
# the wall time, which includes the VM's ~10-20 s).
#   usage (root): bench/kprobe/definitions_time.sh NEW_HARNESS [OLD_HARNESS]
#   environment: RELEASE (default 6.1.0-57-amd64), RUNS (3), CACHE ($HARNESS_CACHE or
#   /var/cache/harness; the kernel must be in it: run `harness demo` or `vm run` once first)
set -euo pipefail
new=${1:?"usage: definitions_time.sh NEW_HARNESS [OLD_HARNESS]"}
old=${2:-}
release=${RELEASE:-6.1.0-57-amd64}
runs=${RUNS:-3}
cache=${CACHE:-${HARNESS_CACHE:-/var/cache/harness}}
[[ -d $cache/debian-kernels/$release ]] || {
  echo "definitions_time: $cache/debian-kernels/$release: not there; run \`harness demo --debian-kernel $release\` once" >&2
  exit 2
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

one_run() { # BINARY LABEL
  local c=$scratch/cache-$RANDOM
  mkdir -p "$c"
  for shared in debian-kernels sources accel; do
    [[ -e $cache/$shared ]] && ln -s "$cache/$shared" "$c/$shared"
  done
  local t0=$SECONDS
  "$1" vm run --debian-kernel "$release" --cache "$c" --out "$c/out" -- --frames 2 \
    >"$c/stdout" 2>"$c/stderr" || { echo "$2: vm run failed, see below" >&2; tail -5 "$c/stderr" >&2; }
  printf '%-4s wall %4d s  %s\n' "$2" "$((SECONDS - t0))" \
    "$(grep -o 'perf probe: .*' "$c/stderr" | head -1)"
  rm -rf "$c"
}

for ((i = 1; i <= runs; i++)); do
  one_run "$new" new
  [[ -z $old ]] || one_run "$old" old
done
