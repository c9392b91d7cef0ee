#!/usr/bin/env bash
# Programme dashboard benchmark (issue 18): one load of the dashboard (the running totals,
# every facility's burn-up and forecast, every plot drawn) on a PostgreSQL store holding a
# programme's history, against the baseline of counting the same statistics from the tables
# as the dashboard did before migration 0019, in the same process.
#
#   tests/bench/dashboard.sh [CHARTS] [FACILITIES] [sqlite]   default 1000000 30, PostgreSQL
#
# The store is kept for the next run (PostgreSQL database chartscan_dash_N, or
# target/load-stores/dash-N.db): seeding 1,000,000 charts across 30 facilities takes about
# 40 s on PostgreSQL. CHARTSCAN_LOAD_FRESH=1 seeds it again.
set -euo pipefail
cd "$(dirname "$0")/../.."
charts=${1:-1000000} facilities=${2:-30} backend=${3:-postgres}
cargo build --release -q -p review-ui --example dashboard
if [ "$backend" = sqlite ]; then
  mkdir -p target/load-stores
  [ -z "${CHARTSCAN_LOAD_FRESH:-}" ] || rm -f target/load-stores/dash-"$charts".db*
  url="sqlite://$PWD/target/load-stores/dash-$charts.db"
else
  pg=${CHARTSCAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:55432/postgres}
  psql "$pg" -q -c "SELECT 1" >/dev/null 2>&1 || { echo "PostgreSQL is not reachable at $pg: start it with ./dev pg-start" >&2; exit 1; }
  db="chartscan_dash_$charts"
  [ -z "${CHARTSCAN_LOAD_FRESH:-}" ] || psql "$pg" -q -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
  psql "$pg" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql "$pg" -q -c "CREATE DATABASE $db"
  url="${pg%/*}/$db"
fi
echo "$backend, $charts charts, $facilities facilities"
./target/release/examples/dashboard "$url" "$charts" "$facilities"
