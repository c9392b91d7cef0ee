#!/usr/bin/env bash
# Ingest benchmark (issue 3): imports generated batches of N pages with --no-process into a
# fresh SQLite store and prints pages/s and peak RSS for each size. Peak RSS must not grow
# with the batch: the last line prints the ratio of the largest batch's RSS to the smallest's.
#
#   tests/bench/ingest.sh [PAGES...]        default: 250 1000
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(250 1000)
cargo build --release -q -p chartscan -p samples
work=$(mktemp -d /tmp/chartscan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '%8s %8s %10s %10s %12s\n' pages files seconds pages/s "peak RSS MiB"
first_rss=""
for n in "${sizes[@]}"; do
  ./target/release/chartscan-samples --copies-of samples/charts --pages "$n" --out "$work/batch-$n" 2>/dev/null
  start=$(date +%s.%N)
  report=$(CHARTSCAN_LOG=warn ./target/release/chartscan --db "sqlite://$work/db-$n/chartscan.db" --data "$work/data-$n" \
    ingest "$work/batch-$n" --facility BENCH --no-process --json)
  end=$(date +%s.%N)
  read -r files pages rss < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["files"], r["pages"], r["peak_rss_mib"])' "$report")
  secs=$(python3 -c "print(f'{$end-$start:.2f}')")
  printf '%8s %8s %10s %10s %12s\n' "$pages" "$files" "$secs" "$(python3 -c "print(f'{$pages/($end-$start):.1f}')")" "$rss"
  [ -n "$first_rss" ] || first_rss=$rss
  last_rss=$rss
done
python3 -c "print(f'peak RSS ratio, largest batch / smallest: {$last_rss/$first_rss:.2f}')"
