#!/usr/bin/env bash
# Frames per second each tracer records without loss in the qemu guest (issue 26), for one or
# two harness binaries (before / after a change), side by side. As root, with the test kernels
# in the cache (`harness kernel ensure`). For each binary, tracer and frame count it runs
#   harness vm run --kernel-build <6.1 -O0> --backend B -- --frames N --ring-frames 256 --tpacket v2
# and prints the sender's rate (frames / its elapsed time, sender.json), the records the tracer
# lost (report.json `loss.records`, or the old binaries' "dropped N event(s)" warning) and the
# verdict. A rate counts as "without loss" only when nothing was lost.
#
#   bench/loss/tracer_loss.sh NEW_HARNESS [OLD_HARNESS]
# Environment: FRAMES (default "2000 10000 30000 60000"), TRACERS ("stap kprobe"),
# RING (256), HARNESS_CACHE (/var/cache/harness), KEEP (a directory: the run directories whose
# verdict is not ok are copied there).
set -euo pipefail
new=${1:?usage: tracer_loss.sh NEW_HARNESS [OLD_HARNESS]}
old=${2:-}
frames=${FRAMES:-2000 10000 30000 60000}
tracers=${TRACERS:-stap kprobe}
ring=${RING:-256}
cache=${HARNESS_CACHE:-/var/cache/harness}
kernel=$("$new" kernel ensure --cache "$cache" | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run: prints "frames_per_s lost verdict".
one() {
  local bin=$1 tracer=$2 n=$3 out="$work/run"
  rm -rf "$out"
  "$bin" vm run --kernel-build "$kernel" --out "$out" --cache "$cache" --backend "$tracer" \
    --timeout 3600 -- --frames "$n" --ring-frames "$ring" --tpacket v2 >/dev/null 2>"$work/err" ||
    true
  python3 - "$out/run" "$work/err" "${KEEP:-}" <<'PY'
import json, re, shutil, sys, time
run, err, keep = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
s = json.load(open(run + "/sender.json"))
r = json.load(open(run + "/report.json"))
rate = s["totals"]["queued"] / (s["totals"]["elapsed_ns"] / 1e9)
lost = r.get("loss", {}).get("records")
if lost is None:
    m = re.search(r"dropped (\d+) event", err)
    lost = int(m.group(1)) if m else 0
if keep and r["verdict"] != "ok":
    shutil.copytree(run, f"{keep}/run-{time.time_ns()}")
print(f"{rate:.0f} {lost} {r['verdict']}")
PY
}

printf '%-7s %-7s %8s | %-28s | %-28s\n' tracer frames "" "new: frames/s lost verdict" \
  "${old:+old: frames/s lost verdict}"
for t in $tracers; do
  for n in $frames; do
    a=$(one "$new" "$t" "$n")
    b=""
    [ -n "$old" ] && b=$(one "$old" "$t" "$n")
    printf '%-7s %-7s %8s | %-28s | %-28s\n' "$t" "$n" "" "$a" "$b"
  done
done
