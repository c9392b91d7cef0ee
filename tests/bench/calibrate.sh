#!/usr/bin/env bash
# Re-fits the confidence model (chart/src/calibration.json) the way the bundled one was
# fitted: on the 60 samples' recorded OCR words and on the odd-numbered (tuning) half of
# $CHARTSCAN_CORPUS/forms-dev, read afresh with real Tesseract. The even half is never
# fitted on: tests/bench/forms-dev.sh reports how the model does on it. Charts whose pages
# were read twice (one block, sparse text) are fitted on both as read and as read once, so
# the one threshold holds with --no-sparse-reading too.
#
#   tests/bench/calibrate.sh [WORK_DIR]     (default target/forms-dev; reused if its words exist)
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${CHARTSCAN_CORPUS:-../shared/corpus}/forms-dev
[ -d "$corpus/charts" ] || { echo "THE FORMS-DEV CORPUS IS MISSING at $corpus (set CHARTSCAN_CORPUS)" >&2; exit 1; }
work=${1:-target/forms-dev}
if [ ! -d "$work/words" ]; then
  tests/bench/forms-dev.sh --keep "$work" > /dev/null
fi
cargo build --release -q -p chartscan
./target/release/chartscan calibrate --set samples/truth=samples/ocr --set "$corpus/truth=$work/words:odd" --out chart/src/calibration.json
echo "rebuild (cargo build --release) to use it; UPDATE_EXPECT=1 cargo test -p chart --test recorded_samples records what it changes"
