#!/usr/bin/env bash
# OCR throughput benchmark (issues 4 and 16): the same pages on the same cores, read by
#   (a) bare `tesseract` CLI processes, one per core (OMP_THREAD_LIMIT=1),
#   (b) OCRmyPDF (`ocrmypdf -j N -l LANG`, Debian's package) on one PDF of the same pages,
#   (c) chartscan's pipeline (`chartscan ingest --jobs N`, a fresh SQLite store, orientation
#       and second readings on, as by default),
# with the same languages. Prints pages/s of each and the ratios, chartscan's CPU time per
# page by stage, the share of work other than OCR, and its peak RSS for two batch sizes (it
# must not grow with the number of pages: CHARTSCAN_BENCH_BIG=400 for the 40 vs 400 check).
# CHARTSCAN_BENCH_NO_OCRMYPDF=1 leaves (b) out.
#
#   tests/bench/ocr-throughput.sh [PAGES]       default 40 (and 2x that for the RSS check)
#   tests/bench/ocr-throughput.sh --corpus      the real scans with ground truth in
#                                               $CHARTSCAN_CORPUS/ocr-truth, 4 copies each
#   tests/bench/ocr-throughput.sh --forms-dev   the single-page image charts of
#                                               $CHARTSCAN_CORPUS/forms-dev (another
#                                               generator's cards: skewed, some turned)
set -euo pipefail
cd "$(dirname "$0")/../.."
pages=${1:-40}
extra=()
jobs=$(nproc)
lang=${CHARTSCAN_LANG:-eng+khm}
export OMP_THREAD_LIMIT=1
[ -n "${CHARTSCAN_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p chartscan -p samples
work=$(mktemp -d /tmp/chartscan-ocr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--corpus" ]; then
  corpus=${CHARTSCAN_CORPUS:-../shared/corpus}/ocr-truth
  [ -d "$corpus" ] || { echo "THE CORPUS IS MISSING at $corpus (set CHARTSCAN_CORPUS)" >&2; exit 1; }
  mkdir -p "$work/src"
  for f in phototest.tif eurotext.tif 8071_093.3B.tif 8087_054.3B.tif; do cp "$corpus/$f" "$work/src/"; done
  ./target/release/chartscan-samples --copies-of "$work/src" --images-only --pages 16 --out "$work/pages" 2>/dev/null
  ./target/release/chartscan-samples --copies-of "$work/src" --images-only --pages 32 --out "$work/pages2" 2>/dev/null
  pages=16
  # Documents, not forms: chartscan reads them with page segmentation 3, as the CLI does.
  extra=(--psm 3)
  echo "pages: 16 (phototest, eurotext and the two UNLV scans, 4 copies each), cores: $jobs, languages: $lang, psm 3 for both"
elif [ "${1:-}" = "--forms-dev" ]; then
  corpus=${CHARTSCAN_CORPUS:-../shared/corpus}/forms-dev
  [ -d "$corpus" ] || { echo "THE CORPUS IS MISSING at $corpus (set CHARTSCAN_CORPUS)" >&2; exit 1; }
  mkdir -p "$work/src"
  python3 - "$corpus" "$work/src" <<'PY'
import json, os, shutil, sys
corpus, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(os.path.join(corpus, "truth"))):
    if not (name.startswith("scan_") and name.endswith(".json")):
        continue
    t = json.load(open(os.path.join(corpus, "truth", name)))
    if t.get("pages") == 1 and not t["file"].endswith(".pdf"):
        shutil.copy(os.path.join(corpus, "charts", t["file"]), out)
PY
  pages=$(ls "$work/src" | wc -l)
  ./target/release/chartscan-samples --copies-of "$work/src" --images-only --pages "$pages" --out "$work/pages" 2>/dev/null
  ./target/release/chartscan-samples --copies-of "$work/src" --images-only --pages $((pages * 2)) --out "$work/pages2" 2>/dev/null
  echo "pages: $pages (the single-page PNG, JPEG and TIFF charts of forms-dev), cores: $jobs, languages: $lang"
else
  ./target/release/chartscan-samples --copies-of samples/charts --images-only --pages "$pages" --out "$work/pages" 2>/dev/null
  ./target/release/chartscan-samples --copies-of samples/charts --images-only --pages $((pages * 2)) --out "$work/pages2" 2>/dev/null
  echo "pages: $pages (PNG, JPEG and TIFF sample scans), cores: $jobs, languages: $lang"
fi

big=${CHARTSCAN_BENCH_BIG:-$((pages * 2))}
if [ "$big" != $((pages * 2)) ]; then
  rm -rf "$work/pages2"
  src=samples/charts; [ -d "$work/src" ] && src=$work/src
  ./target/release/chartscan-samples --copies-of "$src" --images-only --pages "$big" --out "$work/pages2" 2>/dev/null
fi

start=$(date +%s.%N)
find "$work/pages" -type f | sort | xargs -P "$jobs" -I{} tesseract {} - -l "$lang" --psm 3 >/dev/null 2>&1
end=$(date +%s.%N)
cli=$(python3 -c "print($pages/($end-$start))")

# OCRmyPDF reads PDFs: the pages are put in one PDF (at their own dpi) before the clock starts.
mypdf=""
if [ -z "${CHARTSCAN_BENCH_NO_OCRMYPDF:-}" ]; then
  command -v ocrmypdf >/dev/null || { echo "ocrmypdf is missing: apt-get install ocrmypdf (./dev bench installs it)" >&2; exit 1; }
  python3 - "$work/pages" "$work/all.pdf" <<'PY'
import os, sys
from PIL import Image
files = sorted(os.listdir(sys.argv[1]))
pages = []
for f in files:
    im = Image.open(os.path.join(sys.argv[1], f))
    dpi = im.info.get("dpi", (300, 300))[0] or 300
    pages.append((im.convert("L"), dpi))
pages[0][0].save(sys.argv[2], save_all=True, append_images=[p for p, _ in pages[1:]], resolution=float(pages[0][1]))
PY
  read -r mypdf mypdf_rss < <(python3 - "$jobs" "$lang" "$work/all.pdf" "$work/out.pdf" "$pages" <<'PY'
import resource, subprocess, sys, time
jobs, lang, src, out, pages = sys.argv[1:6]
t = time.monotonic()
r = subprocess.run(["ocrmypdf", "-j", jobs, "-l", lang, src, out], capture_output=True)
secs = time.monotonic() - t
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode()[-2000:])
    sys.exit(1)
print(f"{int(pages)/secs:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024:.0f}")
PY
)
fi

run_chartscan() {
  local dir=$1 tag=$2
  local s e r
  s=$(date +%s.%N)
  r=$(CHARTSCAN_LOG=warn ./target/release/chartscan --db "sqlite://$work/db-$tag/c.db" --data "$work/data-$tag" ingest "$dir" --jobs "$jobs" --lang "$lang" ${extra[@]+"${extra[@]}"} --json)
  e=$(date +%s.%N)
  python3 -c "
import json,sys
r=json.loads(sys.argv[1]); secs=float(sys.argv[3])-float(sys.argv[2]); n=r['processed_pages']
st=r['stage_seconds']; tess=('ocr','orientation','second_reading'); ocr=sum(st.get(k,0) for k in tess); other=sum(v for k,v in st.items() if k not in tess)
print(f'{n/secs:.3f} {r[\"peak_rss_mib\"]} {other/ocr*100:.1f} ' + ', '.join(f'{k} {v*1000/n:.0f} ms' for k,v in st.items()))
" "$r" "$s" "$e"
}
read -r ours rss1 overhead stages < <(run_chartscan "$work/pages" a)
read -r _ rss2 _ _ < <(run_chartscan "$work/pages2" b)

printf '(a) tesseract CLI, %s processes: %6.2f pages/s\n' "$jobs" "$cli"
[ -z "$mypdf" ] || printf '(b) ocrmypdf -j %s:              %6.2f pages/s (peak RSS of its largest process %s MiB)\n' "$jobs" "$mypdf" "$mypdf_rss"
printf '(c) chartscan pipeline, %s jobs:  %6.2f pages/s\n' "$jobs" "$ours"
python3 -c "print(f'ratio chartscan / tesseract CLI: {$ours/$cli:.2f}x')"
[ -z "$mypdf" ] || python3 -c "print(f'ratio chartscan / ocrmypdf:      {$ours/$mypdf:.2f}x')"
echo "chartscan CPU per page (summed over threads): $stages"
echo "everything but Tesseract (ocr, orientation, second_reading): ${overhead}% of Tesseract's time"
echo "chartscan peak RSS: ${rss1} MiB for $pages pages, ${rss2} MiB for $big pages"
