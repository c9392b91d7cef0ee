#!/usr/bin/env bash
# Extraction benchmark (issue 5): ingests the 40 sample charts (real Tesseract) into a fresh
# SQLite store, then `chartscan evaluate` prints, per field and overall: exact-match
# accuracy, the share of fields auto-accepted and their precision, a threshold sweep and the
# lowest threshold that keeps 99.5% precision. Extra arguments go to `chartscan ingest`
# (for example --second-opinion none, to see what the second readings bring).
#
#   tests/bench/extraction.sh [INGEST OPTIONS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_THREAD_LIMIT=1
cargo build --release -q -p chartscan
work=$(mktemp -d /tmp/chartscan-extraction.XXXXXX)
trap 'rm -rf "$work"' EXIT
cs() { CHARTSCAN_LOG=warn ./target/release/chartscan --db "sqlite://$work/chartscan.db" --data "$work/data" "$@"; }
start=$(date +%s.%N)
cs ingest samples/charts --json "$@" > "$work/ingest.json"
end=$(date +%s.%N)
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"ingested {r['charts']} charts, {r['processed_pages']} pages in {float(sys.argv[3])-float(sys.argv[2]):.1f} s\")" "$work/ingest.json" "$start" "$end"
cs evaluate --truth samples/truth
