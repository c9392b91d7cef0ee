//! Decompression bombs and absurd sizes are rejected from their headers, quickly, before any
//! pixel buffer is allocated.

use ingest::{inspect, DecodeError, Limits};
use std::time::{Duration, Instant};

/// A PNG whose header claims `w` x `h` pixels, with a little compressed data behind it.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of many zero bytes (deflate of zeros: a bomb in spirit).
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xf7, 0x4f, 0x6d, 0x0e, 0x37, 0xa0, 0x00, 0x00]);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A little-endian TIFF with one strip that claims `w` x `h` 8-bit grey pixels.
fn tiff_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 8] =
        [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 200), (278, 4, h), (279, 4, w.saturating_mul(h))];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.resize(300, 0);
    out
}

/// A JPEG whose frame header claims `w` x `h`.
fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08];
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9]);
    out
}

fn assert_too_large_quickly(name: &str, bytes: &[u8], limits: &Limits) {
    let started = Instant::now();
    let result = inspect(bytes, limits);
    let took = started.elapsed();
    assert!(matches!(result, Err(DecodeError::TooLarge(_))), "{name}: {result:?}");
    assert!(took < Duration::from_millis(200), "{name} took {took:?}");
    println!("{name}: rejected in {took:?}: {}", result.unwrap_err());
}

#[test]
fn bombs_are_rejected_from_their_headers() {
    let limits = Limits::default();
    assert_too_large_quickly("PNG 60000x60000", &png_claiming(60_000, 60_000), &limits);
    assert_too_large_quickly("PNG 12000x12000 (over the pixel limit)", &png_claiming(12_000, 12_000), &limits);
    assert_too_large_quickly("TIFF 100000x100000", &tiff_claiming(100_000, 100_000), &limits);
    assert_too_large_quickly("JPEG 65000x65000", &jpeg_claiming(65_000, 65_000), &limits);
    let small = Limits { max_file_bytes: 100, ..Limits::default() };
    assert_too_large_quickly("file over the size limit", &tiff_claiming(10, 10), &small);
}

#[test]
fn many_pages_are_refused() {
    let limits = Limits { max_pages: 1, ..Limits::default() };
    let two = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/formats/two-pages.tif")).unwrap();
    assert!(matches!(inspect(&two, &limits), Err(DecodeError::TooLarge(m)) if m.contains("more than 1 pages")));
}
