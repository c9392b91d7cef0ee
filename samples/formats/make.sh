#!/usr/bin/env bash
# Makes the scanner-format fixtures: one synthetic page (reference.png) written in every
# format chartscan reads, the way scanners and scan-to-PDF tools write them. Tests decode each
# and compare it with reference.png. Needs ImageMagick (apt-get install imagemagick).
set -euo pipefail
cd "$(dirname "$0")"
convert -size 640x240 xc:white -font DejaVu-Sans -pointsize 34 -fill black \
  -annotate +30+70 'Patient ID: 004512' -annotate +30+150 'Visit date: 25/11/2024' \
  -draw 'rectangle 30,190 610,196' -depth 8 -colorspace Gray -type Grayscale reference.png
g() { convert reference.png "$@"; }
g -quality 85 -interlace none baseline.jpg
g -quality 85 -interlace JPEG progressive.jpg
g -colorspace CMYK -quality 90 cmyk.jpg
g -compress None uncompressed.tif
g -compress LZW lzw.tif
g -compress Zip deflate.tif
g -compress RLE packbits.tif
g -monochrome -compress Fax g3.tif
g -monochrome -compress Group4 g4.tif
g -compress JPEG -quality 90 jpeg-in.tif
g -type TrueColor -compress LZW rgb-lzw.tif
# Two pages in one TIFF (the second page is the first, upside down).
convert reference.png \( reference.png -rotate 180 \) -compress LZW two-pages.tif
g -type TrueColor bmp3:page.bmp
g -quality 90 page.webp
# PDFs as scan-to-PDF tools make them: the image stream is the scanner's file, not re-encoded.
# img2pdf (PyPI) wraps JPEG as DCTDecode, G4 TIFF as CCITTFaxDecode, PNG as FlateDecode with
# PNG predictors and JPEG 2000 as JPXDecode. (Debian's ImageMagick may not write PDF.)
python3 -m img2pdf --version >/dev/null 2>&1 || pip install -q img2pdf
python3 -m img2pdf baseline.jpg -o dct.pdf
python3 -m img2pdf reference.png -o flate.pdf
python3 -m img2pdf g4.tif -o ccitt-g4.pdf
python3 -m img2pdf baseline.jpg --rotation=90 -o rotate90.pdf
g -quality 40 page.jp2 && python3 -m img2pdf page.jp2 -o jpx.pdf && rm page.jp2
ls -la
