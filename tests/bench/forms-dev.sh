#!/usr/bin/env bash
# Extraction on charts chartscan has never seen (issue 12): the 45 charts of
# $CHARTSCAN_CORPUS/forms-dev, made by an independent generator, ingested with real
# Tesseract into a fresh store, exported, and scored twice:
#   - by the corpus's own score.py (the rules the project is measured by), on all 45 charts,
#     the odd-numbered ones (the only ones extraction may be tuned on) and the even-numbered
#     ones (held aside);
#   - by `chartscan evaluate --halves`: per field, per layout style, per form, a threshold
#     sweep and a reliability table on the held-aside half.
#
#   tests/bench/forms-dev.sh [--keep DIR] [INGEST OPTIONS...]
#
# --keep DIR keeps the store (and the OCR words in DIR/words) for `chartscan evaluate
# --words DIR/words`, which re-runs extraction in a second without Tesseract.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${CHARTSCAN_CORPUS:-../shared/corpus}/forms-dev
[ -d "$corpus/charts" ] || { echo "THE FORMS-DEV CORPUS IS MISSING at $corpus (set CHARTSCAN_CORPUS)" >&2; exit 1; }
keep=""
if [ "${1:-}" = "--keep" ]; then keep=$2; shift 2; fi
export OMP_THREAD_LIMIT=1
cargo build --release -q -p chartscan
if [ -n "$keep" ]; then work=$keep; rm -rf "$work"; mkdir -p "$work"; else work=$(mktemp -d /tmp/chartscan-forms-dev.XXXXXX); trap 'rm -rf "$work"' EXIT; fi
cs() { CHARTSCAN_LOG=warn ./target/release/chartscan --db "sqlite://$work/chartscan.db" --data "$work/data" "$@"; }

start=$(date +%s.%N)
cs ingest "$corpus/charts" --json "$@" > "$work/ingest.json"
end=$(date +%s.%N)
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"ingested {r['charts']} charts, {r['processed_pages']} pages in {float(sys.argv[3])-float(sys.argv[2]):.1f} s ({r['failed_pages']} failed)\")" "$work/ingest.json" "$start" "$end"
cs export --format jsonl --status any --out "$work/export.jsonl" 2>/dev/null

# The halves as truth folders of their own, for score.py.
mkdir -p "$work/truth-odd" "$work/truth-even"
for f in "$corpus"/truth/scan_*.json; do
  n=$(basename "$f" .json); n=$((10#${n#scan_}))
  if (( n % 2 )); then ln -s "$(realpath "$f")" "$work/truth-odd/"; else ln -s "$(realpath "$f")" "$work/truth-even/"; fi
done
echo
echo "score.py (the corpus's scoring): CONTRACT fields | with the 'forms carry more' fields | table cells"
printf '%-22s %8s %8s %10s | %8s %8s %10s | %8s | %s\n' charts exact auto precision exact auto precision cells "reviewer keystrokes"
for half in all odd even; do
  dir="$corpus/truth"; [ "$half" = all ] || dir="$work/truth-$half"
  python3 "$corpus/score.py" "$work/export.jsonl" "$dir" --json | python3 -c "
import json,sys
r=json.load(sys.stdin); p=lambda v: 'n/a' if v is None else f'{100*v:.1f}%'
label={'all':'all 45','odd':'odd (tuning)','even':'even (held aside)'}[sys.argv[1]]
print(f\"{label:<22} {p(r['accuracy']):>8} {p(r['auto_accepted_share']):>8} {p(r['auto_precision']):>10} | {p(r['accuracy_extended']):>8} {p(r['auto_accepted_share_extended']):>8} {p(r['auto_precision_extended']):>10} | {p(r['table_cells_accuracy']):>8} | {p(r['reviewer_keystrokes_share'])}\")" "$half"
done
echo
if [ -n "$keep" ]; then
  cs evaluate --truth "$corpus/truth" --halves --save-words "$work/words"
else
  cs evaluate --truth "$corpus/truth" --halves
fi
