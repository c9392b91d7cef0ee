#!/usr/bin/env bash
# Review-station load benchmark (issue 6): server time (p50/p95/p99) of the queue, chart,
# snippet and edit endpoints with 100,000 charts and 20 reviewers working at once, on SQLite
# and on PostgreSQL (the one `./dev pg-start` runs, or CHARTSCAN_TEST_PG_URL).
#
#   tests/bench/review-load.sh [CHARTS] [REVIEWERS] [SECONDS]     default 100000 20 20
set -euo pipefail
cd "$(dirname "$0")/../.."
charts=${1:-100000} reviewers=${2:-20} seconds=${3:-20}
cargo build --release -q -p review-ui --example load
work=$(mktemp -d /tmp/chartscan-load.XXXXXX)
trap 'rm -rf "$work"' EXIT
./target/release/examples/load "sqlite://$work/load.db" "$charts" "$reviewers" "$seconds"
echo
pg=${CHARTSCAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:55432/postgres}
db="chartscan_load_$$"
if psql "$pg" -q -c "CREATE DATABASE $db" 2>/dev/null; then
  ./target/release/examples/load "${pg%/*}/$db" "$charts" "$reviewers" "$seconds"
  psql "$pg" -q -c "DROP DATABASE $db"
else
  echo "PostgreSQL is not reachable at $pg: start it with ./dev pg-start" >&2
  exit 1
fi
