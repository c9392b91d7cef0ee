#!/usr/bin/env bash
# Patient-matching benchmark (issue 7): generates invented patients who come back to clinics
# under varying spellings, scripts, word orders, birth dates and phones (samples/src/people.rs,
# with namesakes and twins), matches every chart as approvals would, and prints the precision
# and recall of automatic links against the truth, the share put to a reviewer, and a sweep of
# the auto-link threshold over the same decisions.
#
#   tests/bench/matching.sh [PEOPLE [SEED]]     (default 5000 people, seed 2026)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo run --release -q -p samples --example matching -- "$@"
