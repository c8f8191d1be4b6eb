#!/usr/bin/env bash
# Benchmark: `harness send` against netsniff-ng's trafgen on the same veth pair in a throwaway
# network namespace. Every tool sends FRAMES frames of SIZE bytes; they run alternately (trafgen,
# harness config 1, harness config 2, trafgen, ...) so that background load hits all alike.
# Prints every run, the median wall time of each, and the ratio harness / trafgen per harness
# configuration, side by side (issue 17's goals: defaults <= 0.90, best flags <= 0.75).
#
# usage: sudo bench/sender/sender_vs_trafgen.sh [HARNESS_BINARY]
#   env: RUNS (default 7), FRAMES (200000), SIZE (60),
#        HARNESS_CONFIGS  harness option sets separated by ';', an empty set is the defaults
#                         (default: the three below),
#        TRAFGEN_OPTS     extra trafgen options (default none)
#
# Wall time is measured around each process (start to exit, as a user sees it), so ring setup
# and teardown count for both tools. trafgen runs with its defaults: one process per CPU, qdisc
# bypass, a ring of 256 frames of 2 KiB per process, the frames split across the CPUs.
#
# The harness configurations:
#   1. defaults: `harness send IFACE -c FRAMES -s SIZE` as a user types it (qdisc bypass, a
#      virtio-net header so the kernel copies the frame into the skb instead of attaching ring
#      pages that veth would copy again page by page, 256 small frames; one socket).
#   2. best flags: the defaults plus one socket per CPU like trafgen (--sockets $(nproc)), 128-byte
#      frames 32 to a 4 KiB block, a send() every 256 frames.
#   3. --classic: packet_mmap.c's defaults (the qdisc, zero-copy frames, 8192 page-sized frames),
#      what `harness run` uses.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
harness=${1:-$top/build/bin/harness}
RUNS=${RUNS:-7}
FRAMES=${FRAMES:-200000}
SIZE=${SIZE:-60}
best="--sockets $(nproc) -b 128 --block-size 4096 -j 256"
HARNESS_CONFIGS=${HARNESS_CONFIGS-";$best;--classic"}
TRAFGEN_OPTS=${TRAFGEN_OPTS:-}

die() {
  echo "bench: $*" >&2
  exit 2
}
[[ $(id -u) == 0 ]] || die "needs root (network namespace, packet sockets)"
[[ -x $harness ]] || die "no harness binary at $harness (build it, or pass its path)"
command -v trafgen >/dev/null || die "trafgen missing: apt-get install netsniff-ng"
((SIZE >= 30)) || die "SIZE must be at least 30 (Ethernet + harness payload header)"
IFS=';' read -r -a configs <<<"$HARNESS_CONFIGS"
((${#configs[@]} > 0)) || configs=("")
label() { if [[ -n $1 ]]; then echo "send $1"; else echo "send, defaults"; fi; }

ns=hxbench-$$
tx=hxb$$a
rx=hxb$$b
cfg=$(mktemp /tmp/hxbench-trafgen.XXXXXX.cfg)
cleanup() {
  ip netns delete "$ns" 2>/dev/null || true
  rm -f "$cfg"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link add "$tx" type veth peer name "$rx"
for l in lo "$tx" "$rx"; do ip -n "$ns" link set "$l" up; done

# The same frame for trafgen: broadcast, EtherType 0x88b5, SIZE bytes in all.
printf '{ fill(0xff, 6), 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, c16(0x88b5), fill(0x41, %d) }\n' \
  $((SIZE - 14)) >"$cfg"

now_ns() { date +%s%N; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -a t_wall
declare -A h_wall h_loop
for ((i = 1; i <= RUNS; i++)); do
  t0=$(now_ns)
  # shellcheck disable=SC2086 # TRAFGEN_OPTS is a list of options
  ip netns exec "$ns" trafgen --dev "$tx" --conf "$cfg" -n "$FRAMES" $TRAFGEN_OPTS >/dev/null 2>&1 ||
    die "trafgen failed"
  t1=$(now_ns)
  t_wall+=($((t1 - t0)))
  line="run $i: trafgen $(ms $((t1 - t0))) ms"
  for k in "${!configs[@]}"; do
    t0=$(now_ns)
    # shellcheck disable=SC2086 # a configuration is a list of options
    out=$("$harness" send --netns "$ns" "$tx" -c "$FRAMES" -s "$SIZE" ${configs[$k]}) ||
      {
        echo "$out"
        die "harness send ${configs[$k]} failed"
      }
    t1=$(now_ns)
    h_wall[$k]+="$((t1 - t0)) "
    loop=$(sed -n 's/^time *\([0-9.]*\) ms.*/\1/p' <<<"$out")
    h_loop[$k]+="$loop "
    line+="   harness#$((k + 1)) $(ms $((t1 - t0))) ms (loop $loop)"
  done
  echo "$line"
done

tm=$(median "${t_wall[@]}")
echo
echo "$FRAMES frames x $SIZE bytes, $RUNS runs each, $(nproc) CPUs, kernel $(uname -r)"
echo "trafgen: median wall $(ms "$tm") ms"
for k in "${!configs[@]}"; do
  # shellcheck disable=SC2086 # word splitting of the collected numbers is intended
  hm=$(median ${h_wall[$k]})
  # shellcheck disable=SC2086
  lm=$(median ${h_loop[$k]})
  echo "harness#$((k + 1)) ($(label "${configs[$k]}")): median wall $(ms "$hm") ms (send loop $lm ms)," \
    "ratio to trafgen $(awk -v h="$hm" -v t="$tm" 'BEGIN { printf "%.2f", h / t }')"
done
