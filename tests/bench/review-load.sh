#!/usr/bin/env bash
# Review-station load benchmark (issues 6 and 17): server time (p50/p95/p99) of the queue,
# chart, snippet, page image, edit and approve endpoints with 20 reviewers working at once, on
# SQLite and on PostgreSQL (the one `./dev pg-start` runs, or CHARTSCAN_TEST_PG_URL), at two
# store sizes, then the ratio of p50 at the larger size to p50 at the smaller for each
# endpoint (cost must not grow with the store).
#
#   tests/bench/review-load.sh [SMALL] [LARGE] [REVIEWERS] [SECONDS]   default 100000 1000000 20 20
#
# By default the reviewers never pause: both cores stay busy and the tail is mostly waiting
# for a core. CHARTSCAN_LOAD_THINK_MS=500 makes each reviewer pause 0.25-0.75 s before each
# request (a fast keyboard reviewer: a chart's six requests in about 3 s).
#
# Seeded stores are kept for the next run (SQLite files under target/load-stores/, PostgreSQL
# databases chartscan_load_N): seeding 1,000,000 charts takes about 45 s on SQLite and 100 s
# on PostgreSQL, a run of the benchmark 20 s. CHARTSCAN_LOAD_FRESH=1 seeds them again.
set -euo pipefail
cd "$(dirname "$0")/../.."
small=${1:-100000} large=${2:-1000000} reviewers=${3:-20} seconds=${4:-20}
cargo build --release -q -p review-ui --example load
keep=target/load-stores
mkdir -p "$keep"
pg=${CHARTSCAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:55432/postgres}
psql "$pg" -q -c "SELECT 1" >/dev/null 2>&1 || { echo "PostgreSQL is not reachable at $pg: start it with ./dev pg-start" >&2; exit 1; }
out=$(mktemp /tmp/chartscan-load.XXXXXX)
trap 'rm -f "$out"' EXIT

for backend in sqlite postgres; do
  for n in "$small" "$large"; do
    if [ "$backend" = sqlite ]; then
      url="sqlite://$PWD/$keep/load-$n.db"
      [ -z "${CHARTSCAN_LOAD_FRESH:-}" ] || rm -f "$keep/load-$n.db"*
    else
      db="chartscan_load_$n"
      [ -z "${CHARTSCAN_LOAD_FRESH:-}" ] || psql "$pg" -q -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
      psql "$pg" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql "$pg" -q -c "CREATE DATABASE $db"
      url="${pg%/*}/$db"
    fi
    ./target/release/examples/load "$url" "$n" "$reviewers" "$seconds" | tee -a "$out"
    echo
  done
done

# The p50 of each endpoint at the larger size over the smaller, per backend.
python3 - "$out" "$small" "$large" <<'PY'
import re, sys
text, small, large = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
p50 = {}
for block in re.split(r"\n(?=(?:SQLite|PostgreSQL), \d+ charts)", text):
    m = re.match(r"(SQLite|PostgreSQL), (\d+) charts", block.strip())
    if not m:
        continue
    for line in block.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[1].isdigit():
            p50[(m.group(1), m.group(2), parts[0])] = float(parts[2])
print(f"p50 at {large} charts / p50 at {small} (target <= 1.5)")
for backend in ("SQLite", "PostgreSQL"):
    cells = []
    for ep in ("queue", "chart", "snippet", "page", "edit", "approve"):
        a, b = p50.get((backend, small, ep)), p50.get((backend, large, ep))
        if a and b:
            cells.append(f"{ep} {b / a:.2f}")
    print(f"  {backend:<11} " + ", ".join(cells))
PY
