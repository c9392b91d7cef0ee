//! Large benchmark batches from the sample scans: each copy gets a unique marker in a place
//! the format allows (a JPEG comment, a PNG text chunk, bytes after a TIFF's last image or a
//! PDF comment), so every file has its own hash and the same pixels.

use anyhow::{Context, Result};
use std::path::Path;

/// The same file with `marker` added where its format ignores it.
pub fn mark(bytes: &[u8], ext: &str, marker: &str) -> Vec<u8> {
    match ext {
        "jpg" | "jpeg" => {
            let mut out = bytes[..2].to_vec();
            out.extend_from_slice(&[0xFF, 0xFE]);
            out.extend_from_slice(&((marker.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(marker.as_bytes());
            out.extend_from_slice(&bytes[2..]);
            out
        }
        "png" => {
            let iend = bytes.len() - 12;
            let mut chunk = b"tEXt".to_vec();
            chunk.extend_from_slice(b"Comment\0");
            chunk.extend_from_slice(marker.as_bytes());
            let mut out = bytes[..iend].to_vec();
            out.extend_from_slice(&((chunk.len() - 4) as u32).to_be_bytes());
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
            out.extend_from_slice(&bytes[iend..]);
            out
        }
        "pdf" => [bytes, format!("%{marker}\n").as_bytes()].concat(),
        _ => [bytes, marker.as_bytes()].concat(),
    }
}

/// Writes copies of the scans under `from` into `out` until they hold `pages` pages.
pub fn make_batch(from: &Path, out: &Path, pages: usize, images_only: bool) -> Result<()> {
    let mut sources = Vec::new();
    for facility in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let facility = facility?.path();
        let files = if facility.is_dir() { std::fs::read_dir(&facility)?.map(|e| e.map(|e| e.path())).collect::<Result<Vec<_>, _>>()? } else { vec![facility] };
        let files: Vec<_> = files.into_iter().filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))).collect();
        sources.extend(files);
    }
    sources.sort();
    if images_only {
        sources.retain(|p| p.extension().is_some_and(|e| e != "pdf"));
    }
    anyhow::ensure!(!sources.is_empty(), "no scans in {}", from.display());
    let truth_pages = |p: &Path| if p.file_name().is_some_and(|n| n == "opd-0009.pdf") { 2 } else { 1 };
    std::fs::create_dir_all(out)?;
    let (mut written, mut files) = (0, 0);
    while written < pages {
        let src = &sources[files % sources.len()];
        let ext = src.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        let bytes = std::fs::read(src)?;
        let name = format!("copy-{files:06}.{ext}");
        std::fs::write(out.join(&name), mark(&bytes, &ext, &format!("chartscan benchmark copy {files}")))?;
        written += truth_pages(src);
        files += 1;
    }
    eprintln!("{files} files, {written} pages in {}", out.display());
    Ok(())
}
