#!/usr/bin/env bash
# Run `duroxide bench` with the old code (a source tree put first on PYTHONPATH) and the
# installed new code alternately, ROUNDS times, logging each run's time, load average and JSON
# lines. Run from a directory without a duroxide.toml (such as /tmp).
#
#   benchmarks/alternate_rounds.sh OLD_TREE ROUNDS LOG -- BENCH ARGS...
#   benchmarks/alternate_rounds.sh /tmp/old 4 chain-log.txt -- -w chain -o jsonl
set -euo pipefail
old_tree=$1 rounds=$2 log=$3
shift 3
[ "${1:-}" = "--" ] && shift
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    echo "round $round $which $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
    if [ "$which" = old ]; then
      PYTHONPATH="$old_tree" duroxide bench "$@" 2>/dev/null | tee -a "$log"
    else
      duroxide bench "$@" 2>/dev/null | tee -a "$log"
    fi
  done
done
