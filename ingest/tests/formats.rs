//! Every scanner format decodes to the right pixels: each fixture in `samples/formats/` (made
//! by `samples/formats/make.sh` from `reference.png`) is decoded and compared with the
//! reference. PDFs that tools do not make on demand (RunLength, G3 fax, a page in strips) are
//! built here with lopdf.

use image::{GrayImage, Luma};
use ingest::{decode_page, inspect, Limits, MediaType};
use lopdf::{dictionary, Document, Object, Stream};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/formats")
}

fn reference() -> GrayImage {
    image::open(dir().join("reference.png")).unwrap().to_luma8()
}

/// Mean absolute difference in grey levels (0..255) between two images of one size.
fn mean_diff(a: &GrayImage, b: &GrayImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as f64 - *y as f64).abs()).sum::<f64>() / a.as_raw().len() as f64
}

fn decode_all(bytes: &[u8]) -> Result<Vec<GrayImage>, String> {
    let limits = Limits::default();
    let (kind, pages) = inspect(bytes, &limits).map_err(|e| e.to_string())?;
    (0..pages).map(|p| decode_page(bytes, kind, p, &limits).map(|i| i.to_luma8()).map_err(|e| e.to_string())).collect()
}

#[test]
fn every_fixture_decodes_to_the_reference() {
    let reference = reference();
    let rotated = image::imageops::rotate90(&reference);
    let upside_down = image::imageops::rotate180(&reference);
    // (file, pages, expected first page, tolerance in mean grey levels)
    let cases: Vec<(&str, Vec<&GrayImage>, f64)> = vec![
        ("reference.png", vec![&reference], 0.01),
        ("baseline.jpg", vec![&reference], 3.0),
        ("progressive.jpg", vec![&reference], 3.0),
        ("cmyk.jpg", vec![&reference], 6.0),
        ("uncompressed.tif", vec![&reference], 0.01),
        ("lzw.tif", vec![&reference], 0.01),
        ("deflate.tif", vec![&reference], 0.01),
        ("packbits.tif", vec![&reference], 0.01),
        ("rgb-lzw.tif", vec![&reference], 0.6),
        ("g3.tif", vec![&reference], 12.0),
        ("g4.tif", vec![&reference], 12.0),
        ("jpeg-in.tif", vec![&reference], 3.0),
        ("two-pages.tif", vec![&reference, &upside_down], 0.01),
        ("page.bmp", vec![&reference], 0.6),
        ("page.webp", vec![&reference], 4.0),
        ("dct.pdf", vec![&reference], 3.0),
        ("flate.pdf", vec![&reference], 0.01),
        ("ccitt-g4.pdf", vec![&reference], 12.0),
        ("rotate90.pdf", vec![&rotated], 3.0),
    ];
    let mut failures = Vec::new();
    for (file, expected, tolerance) in &cases {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        match decode_all(&bytes) {
            Err(e) => failures.push(format!("{file}: {e}")),
            Ok(pages) if pages.len() != expected.len() => failures.push(format!("{file}: {} pages, expected {}", pages.len(), expected.len())),
            Ok(pages) => {
                for (i, (got, want)) in pages.iter().zip(expected).enumerate() {
                    if got.dimensions() != want.dimensions() {
                        failures.push(format!("{file} page {}: {:?}, expected {:?}", i + 1, got.dimensions(), want.dimensions()));
                        continue;
                    }
                    let d = mean_diff(got, want);
                    println!("{file} page {}: mean difference {d:.2}", i + 1);
                    if d > *tolerance {
                        failures.push(format!("{file} page {}: mean difference {d:.2} > {tolerance}", i + 1));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The corpus's own reference pair: a white-is-zero bilevel TIFF and the same image as PBM.
#[test]
fn white_is_zero_tiff_matches_its_pbm() {
    let corpus = std::env::var("CHARTSCAN_CORPUS").map(PathBuf::from).unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    let images = corpus.join("malformed/image-tiff/images");
    assert!(images.is_dir(), "THE TEST CORPUS IS MISSING at {}: set CHARTSCAN_CORPUS", corpus.display());
    let pbm = std::fs::read(images.join("miniswhite-1c-1b.pbm")).unwrap();
    let start = pbm.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
    let (w, h) = (157u32, 151u32);
    let expected = ingest::decode::pixels::packed_to_gray(&pbm[start..], w, h, 1, 1, &ingest::decode::pixels::ColorModel::GrayInverted).unwrap();
    let got = decode_all(&std::fs::read(images.join("miniswhite-1c-1b.tiff")).unwrap()).unwrap();
    assert_eq!(mean_diff(&got[0], &expected), 0.0);
}

#[test]
fn jpeg2000_pdf_is_rejected_with_a_clear_reason() {
    let bytes = std::fs::read(dir().join("jpx.pdf")).unwrap();
    let err = decode_all(&bytes).unwrap_err();
    assert!(err.contains("JPXDecode") && err.contains("JPEG 2000"), "{err}");
}

/// A one-page PDF whose page shows the given image XObjects at (x, y, w, h) in points.
fn pdf_with_images(images: Vec<(Stream, [f32; 4])>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut xobjects = lopdf::Dictionary::new();
    let mut content = String::new();
    for (i, (stream, [x, y, w, h])) in images.into_iter().enumerate() {
        let id = doc.add_object(stream);
        xobjects.set(format!("Im{i}"), id);
        content.push_str(&format!("q {w} 0 0 {h} {x} {y} cm /Im{i} Do Q\n"));
    }
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 640.into(), 240.into()],
        "Contents" => content_id, "Resources" => dictionary! { "XObject" => xobjects },
    });
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn gray_stream(img: &GrayImage, filter: Option<&str>, data: Vec<u8>) -> Stream {
    let mut dict = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => img.width() as i64, "Height" => img.height() as i64, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 };
    if let Some(f) = filter {
        dict.set("Filter", Object::Name(f.as_bytes().to_vec()));
    }
    let mut s = Stream::new(dict, data);
    s.allows_compression = false;
    s
}

/// PackBits-style RunLength encoding as PDF defines it.
fn run_length(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    // One repeated run to exercise both kinds, then end of data.
    out.extend_from_slice(&[257u16.wrapping_sub(4) as u8, 255]);
    out.push(128);
    out
}

#[test]
fn runlength_pdf_decodes() {
    let r = reference();
    let mut raw = r.as_raw().clone();
    let bytes = pdf_with_images(vec![(gray_stream(&r, Some("RunLengthDecode"), run_length(&raw)), [0.0, 0.0, 640.0, 240.0])]);
    raw.truncate(raw.len());
    let pages = decode_all(&bytes).unwrap();
    assert!(mean_diff(&pages[0], &r) < 0.01);
}

#[test]
fn a_page_made_of_strips_is_reassembled() {
    let r = reference();
    // Three horizontal strips, top to bottom, placed by their transforms (PDF y goes up).
    let strip = |y0: u32, h: u32| image::imageops::crop_imm(&r, 0, y0, 640, h).to_image();
    let (a, b, c) = (strip(0, 80), strip(80, 100), strip(180, 60));
    let bytes = pdf_with_images(vec![
        (gray_stream(&c, None, c.as_raw().clone()), [0.0, 0.0, 640.0, 60.0]),
        (gray_stream(&a, None, a.as_raw().clone()), [0.0, 160.0, 640.0, 80.0]),
        (gray_stream(&b, None, b.as_raw().clone()), [0.0, 60.0, 640.0, 100.0]),
    ]);
    let pages = decode_all(&bytes).unwrap();
    assert_eq!(pages[0].dimensions(), (640, 240));
    assert!(mean_diff(&pages[0], &r) < 0.01, "strips out of place: {}", mean_diff(&pages[0], &r));
}

#[test]
fn a_page_without_an_image_is_reported() {
    let bytes = pdf_with_images(vec![]);
    let err = decode_all(&bytes).unwrap_err();
    assert!(err.contains("no scanned image"), "{err}");
    let _ = (MediaType::Pdf, Luma([0u8]));
}
