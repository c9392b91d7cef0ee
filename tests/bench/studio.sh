#!/usr/bin/env bash
# Teaching a form from one example, measured: the 21 charts of samples/variant (a Khmer-only,
# two-column outpatient card the bundled templates do not read) are read with Tesseract, a
# template is taught from the first (as the studio's "save" does) and the other 20 are read
# with it. Prints exact-match accuracy, auto-accepted share and precision before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_THREAD_LIMIT=1
cargo test --release --locked --test studio_variant -- --nocapture 2>&1 | grep -vE '^(running|test result|$)'
