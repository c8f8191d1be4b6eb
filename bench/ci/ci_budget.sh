#!/usr/bin/env bash
# The CI time budget (issue 29) of a commit, measured as CI runs it: a clean clone, `bash .ci/run`
# as root, and scripts/test-all's own time budget table at the end (each step's wall time, the
# kernels built vs found in the cache, harness compiles from ccache, the ten slowest tests).
#   bench/ci/ci_budget.sh [--cold] [REPO [BRANCH]]     (defaults: this checkout, its branch)
# warm: the machine's cache ($HARNESS_CACHE, default /var/cache/harness: kernels, their ccache,
#       harness's ccache, stap's cache), as a landing run on a machine that ran CI before;
# cold: a new empty cache directory for all of them (every kernel is built, ccache starts
#       empty), removed afterwards: a fresh machine. Goals on 2 cores: cold <= 45 min, warm <= 25.
# Runs for 25-90 minutes and uses both CPUs: nothing else should run meanwhile.
set -euo pipefail
cold=0
if [[ ${1:-} == --cold ]]; then
  cold=1
  shift
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
repo=${1:-$here}
branch=${2:-$(git -C "$repo" rev-parse --abbrev-ref HEAD)}
[[ $(id -u) == 0 ]] || { echo "ci_budget: run as root, as CI does" >&2; exit 2; }
work=$(mktemp -d /var/tmp/harness-ci-budget-XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
git clone -q -b "$branch" "$repo" "$work/main"
if [[ $cold == 1 ]]; then
  # Under /var/tmp: the VM guest sees the host's files at the same paths (not a tmpfs of its own).
  export HARNESS_CACHE=$work/cache
  mkdir -p "$HARNESS_CACHE"
fi
echo "ci_budget: $(git -C "$work/main" log --oneline -1), $([[ $cold == 1 ]] && echo cold || echo warm)," \
  "cache ${HARNESS_CACHE:-/var/cache/harness}"
start=$SECONDS
rc=0
(cd "$work/main" && bash .ci/run) >"$work/log" 2>&1 || rc=$?
sed -n '/^=== time budget/,$p' "$work/log"
echo "ci_budget: bash .ci/run exited $rc after $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
[[ $rc == 0 ]] || { echo "ci_budget: the log's last lines:" >&2; tail -40 "$work/log" >&2; }
exit "$rc"
