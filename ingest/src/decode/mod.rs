//! Bounded decoding of untrusted scans into page images: PNG, JPEG (baseline, progressive,
//! CMYK), BMP and WebP with the image crate under `image::Limits`; TIFF, multi-page, every
//! compression scanners use, with the tiff crate under its limits ([`tiff`]); scanned PDFs
//! with lopdf ([`pdf`]). Dimensions are checked from the header before any pixel is decoded.
//!
//! Nothing here hands an encoded file to leptonica; the pixels produced are what OCR sees.

mod fax;
pub mod pdf;
pub mod pixels;
pub mod tiff;

use image::{DynamicImage, ImageFormat};
use lopdf::ObjectId;
use std::io::Cursor;

/// Bounds applied to every input before and while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, bytes.
    pub max_file_bytes: u64,
    /// Largest page, in pixels (width x height).
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_dimension: u32,
    /// Most pages in one file.
    pub max_pages: u32,
    /// Most memory one decode may allocate, bytes.
    pub max_alloc: u64,
    /// Longest time checking one file may take, seconds.
    pub max_decode_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_file_bytes: 512 << 20, max_pixels: 80_000_000, max_dimension: 20_000, max_pages: 500, max_alloc: 512 << 20, max_decode_seconds: 60 }
    }
}

/// The formats chartscan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// TIFF, possibly multi-page.
    Tiff,
    /// PDF with scanned page images.
    Pdf,
    /// Windows bitmap.
    Bmp,
    /// WebP.
    WebP,
}

impl MediaType {
    /// The MIME type.
    pub fn mime(&self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Tiff => "image/tiff",
            MediaType::Pdf => "application/pdf",
            MediaType::Bmp => "image/bmp",
            MediaType::WebP => "image/webp",
        }
    }

    /// From a MIME type as stored.
    pub fn from_mime(s: &str) -> Option<MediaType> {
        [MediaType::Png, MediaType::Jpeg, MediaType::Tiff, MediaType::Pdf, MediaType::Bmp, MediaType::WebP].into_iter().find(|m| m.mime() == s)
    }

    /// Recognises a format from the file's first bytes (never from its name).
    pub fn sniff(bytes: &[u8]) -> Result<MediaType, DecodeError> {
        let kind = match bytes {
            [0x89, b'P', b'N', b'G', ..] => MediaType::Png,
            [0xFF, 0xD8, 0xFF, ..] => MediaType::Jpeg,
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] | [b'I', b'I', 43, 0, ..] | [b'M', b'M', 0, 43, ..] => MediaType::Tiff,
            _ if bytes.len() >= 5 && bytes[..1024.min(bytes.len())].windows(5).any(|w| w == b"%PDF-") => MediaType::Pdf,
            [] => return Err(DecodeError::Unsupported("empty file".into())),
            [b'B', b'M', ..] => MediaType::Bmp,
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => MediaType::WebP,
            [b'G', b'I', b'F', ..] => return Err(DecodeError::Unsupported("GIF is not a scan format".into())),
            _ => return Err(DecodeError::Unsupported("not a PNG, JPEG, TIFF, BMP, WebP or PDF file".into())),
        };
        Ok(kind)
    }
}

/// Why a file cannot be used. The text is the reason shown to the clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The format is not one chartscan reads.
    #[error("unsupported file type: {0}")]
    Unsupported(String),
    /// The file is damaged or truncated.
    #[error("corrupt or truncated {kind}: {detail}")]
    Corrupt {
        /// PNG, JPEG, TIFF, PDF.
        kind: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// Over a limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An encrypted PDF.
    #[error("encrypted PDF: remove the password protection and import it again")]
    Encrypted,
    /// A PDF page without a scanned image.
    #[error("PDF page {page} has no scanned image (a born-digital page?); only scanned PDFs are supported")]
    NoImage {
        /// Page number from 1.
        page: usize,
    },
}

fn corrupt(kind: &'static str, detail: impl ToString) -> DecodeError {
    DecodeError::Corrupt { kind, detail: detail.to_string() }
}

impl Limits {
    pub(crate) fn check_size(&self, w: u32, h: u32) -> Result<(), DecodeError> {
        if w == 0 || h == 0 {
            return Err(DecodeError::Unsupported(format!("page of {w}x{h} pixels")));
        }
        if w > self.max_dimension || h > self.max_dimension || w as u64 * h as u64 > self.max_pixels {
            return Err(DecodeError::TooLarge(format!(
                "page of {w}x{h} pixels is over the limit of {} pixels / {} per side",
                self.max_pixels, self.max_dimension
            )));
        }
        Ok(())
    }

    fn image_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.max_dimension);
        l.max_image_height = Some(self.max_dimension);
        l.max_alloc = Some(self.max_alloc);
        l
    }
}

/// Checks a whole file: its format, that every page decodes within the limits, and how many
/// pages it has.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<(MediaType, u32), DecodeError> {
    inspect_pages(bytes, limits).map(|(kind, pages)| (kind, pages.len() as u32))
}

/// Like [`inspect`], and tells what each page looks like (content, blank, separator sheet).
pub fn inspect_pages(bytes: &[u8], limits: &Limits) -> Result<(MediaType, Vec<chart::PageKind>), DecodeError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::TooLarge(format!("{} bytes is over the limit of {}", bytes.len(), limits.max_file_bytes)));
    }
    let kind = MediaType::sniff(bytes)?;
    let source = Source::open(bytes.to_vec(), kind, limits)?;
    let kinds =
        (0..source.page_count(limits)?).map(|p| source.page(p, limits).map(|img| ocr::preprocess::classify_page(&img.to_luma8()))).collect::<Result<_, _>>()?;
    Ok((kind, kinds))
}

/// Decodes page `index` (from 0) of a file already accepted by [`inspect`]. To decode
/// several pages of one file, open it once as a [`Source`].
pub fn decode_page(bytes: &[u8], kind: MediaType, index: u32, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    Source::open(bytes.to_vec(), kind, limits)?.page(index, limits)
}

/// An opened file whose pages are decoded one at a time; a PDF is parsed once, not once per
/// page.
#[derive(Debug)]
pub struct Source {
    kind: MediaType,
    bytes: Vec<u8>,
    pdf: Option<(lopdf::Document, Vec<ObjectId>)>,
}

impl Source {
    /// Opens `bytes` of a known format.
    pub fn open(bytes: Vec<u8>, kind: MediaType, limits: &Limits) -> Result<Source, DecodeError> {
        let pdf = if kind == MediaType::Pdf {
            let doc = pdf::load(&bytes, limits)?;
            let pages = doc.get_pages().into_values().collect();
            Some((doc, pages))
        } else {
            None
        };
        Ok(Source { kind, bytes, pdf })
    }

    /// How many pages the file has, within the page limit.
    pub fn page_count(&self, limits: &Limits) -> Result<u32, DecodeError> {
        let n = match (&self.pdf, self.kind) {
            (Some((_, pages)), _) if pages.is_empty() => return Err(corrupt("PDF", "it has no pages")),
            (Some((_, pages)), _) => pages.len() as u32,
            (None, MediaType::Tiff) => tiff::page_count(&self.bytes, limits)?,
            (None, _) => 1,
        };
        if n > limits.max_pages {
            return Err(DecodeError::TooLarge(format!("{n} pages is over the limit of {}", limits.max_pages)));
        }
        Ok(n)
    }

    /// Decodes page `index` (from 0).
    pub fn page(&self, index: u32, limits: &Limits) -> Result<DynamicImage, DecodeError> {
        match (&self.pdf, self.kind) {
            (Some((doc, pages)), _) => {
                let id = *pages.get(index as usize).ok_or_else(|| corrupt("PDF", format!("has no page {}", index + 1)))?;
                pdf::decode_page(doc, id, index as usize, limits)
            }
            (None, MediaType::Tiff) => tiff::decode_page(&self.bytes, index, limits).map(DynamicImage::ImageLuma8),
            (None, kind) if index == 0 => decode_raster(&self.bytes, kind, limits),
            (None, kind) => Err(corrupt(kind.name(), format!("has one page, not {}", index + 1))),
        }
    }
}

impl MediaType {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            MediaType::Png => "PNG",
            MediaType::Jpeg => "JPEG",
            MediaType::Tiff => "TIFF",
            MediaType::Pdf => "PDF",
            MediaType::Bmp => "BMP",
            MediaType::WebP => "WebP",
        }
    }
}

/// Decodes a single-image format with the image crate: dimensions from the header first,
/// then the pixels under `image::Limits` (the WebP decoder ignores the memory limit, which
/// the header check covers).
pub(crate) fn decode_raster(bytes: &[u8], kind: MediaType, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let name = kind.name();
    let format = match kind {
        MediaType::Png => ImageFormat::Png,
        MediaType::Bmp => ImageFormat::Bmp,
        MediaType::WebP => ImageFormat::WebP,
        _ => ImageFormat::Jpeg,
    };
    if kind == MediaType::Jpeg && !jpeg_is_complete(bytes) {
        return Err(corrupt(name, "no end-of-image marker after the scan data (the file was cut short)"));
    }
    let (w, h) = image::ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|e| corrupt(name, e))?;
    limits.check_size(w, h)?;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.image_limits());
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => DecodeError::TooLarge(l.to_string()),
        other => corrupt(name, other),
    })
}

/// Whether a JPEG has an end-of-image marker (FF D9) after its last start-of-scan (FF DA).
/// The decoder fills a truncated scan with grey without an error; a scanner never writes one.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let Some(sos) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else { return false };
    bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

#[cfg(test)]
mod tests {
    use super::*;

    use image::GrayImage;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        GrayImage::from_pixel(w, h, image::Luma([200])).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn formats_are_sniffed_from_content() {
        assert_eq!(MediaType::sniff(&png(4, 4)).unwrap(), MediaType::Png);
        assert_eq!(MediaType::sniff(b"%PDF-1.4\n...").unwrap(), MediaType::Pdf);
        assert!(MediaType::sniff(b"hello world").unwrap_err().to_string().starts_with("unsupported file type"));
        assert_eq!(MediaType::sniff(b"BM\0\0").unwrap(), MediaType::Bmp);
        assert!(MediaType::sniff(b"").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn limits_reject_before_decoding() {
        let limits = Limits { max_pixels: 100, ..Default::default() };
        let err = inspect(&png(20, 20), &limits).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
        assert_eq!(inspect(&png(5, 5), &limits).unwrap(), (MediaType::Png, 1));
    }

    #[test]
    fn truncated_files_are_corrupt() {
        let data = png(300, 300);
        let err = inspect(&data[..data.len() / 2], &Limits::default()).unwrap_err();
        assert!(err.to_string().starts_with("corrupt or truncated PNG"), "{err}");
    }

    #[test]
    fn truncated_jpeg_is_corrupt_although_the_decoder_would_fill_it() {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&GrayImage::from_pixel(64, 64, image::Luma([90]))).unwrap();
        assert!(inspect(&out, &Limits::default()).is_ok());
        let err = inspect(&out[..out.len() - 20], &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }

    #[test]
    fn samples_decode_with_their_page_counts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts");
        let two = std::fs::read(root.join("BB01/ipd-0009.pdf")).unwrap();
        assert_eq!(inspect(&two, &Limits::default()).unwrap(), (MediaType::Pdf, 2));
        let page2 = decode_page(&two, MediaType::Pdf, 1, &Limits::default()).unwrap();
        assert_eq!((page2.width(), page2.height()), (1748, 2480));
        let tif = std::fs::read(root.join("BB01/anc-0012.tif")).unwrap();
        assert_eq!(inspect(&tif, &Limits::default()).unwrap(), (MediaType::Tiff, 2));
        let one = std::fs::read(root.join("BB01/opd-0015.tif")).unwrap();
        assert_eq!(inspect(&one, &Limits::default()).unwrap(), (MediaType::Tiff, 1));
    }
}
