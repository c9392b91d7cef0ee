//! Bounded decoding of untrusted scans into page images: PNG and JPEG (image crate under
//! `image::Limits`), TIFF, multi-page (tiff crate under its limits), and scanned PDFs (lopdf:
//! each page's largest image XObject, DCTDecode or FlateDecode, `/Rotate` honoured).
//!
//! Nothing here hands an encoded file to leptonica; the pixels produced are what OCR sees.

use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use lopdf::{Document, Object, ObjectId};
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
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_file_bytes: 512 << 20, max_pixels: 80_000_000, max_dimension: 20_000, max_pages: 500, max_alloc: 512 << 20 }
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
}

impl MediaType {
    /// The MIME type.
    pub fn mime(&self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Tiff => "image/tiff",
            MediaType::Pdf => "application/pdf",
        }
    }

    /// From a MIME type as stored.
    pub fn from_mime(s: &str) -> Option<MediaType> {
        [MediaType::Png, MediaType::Jpeg, MediaType::Tiff, MediaType::Pdf].into_iter().find(|m| m.mime() == s)
    }

    /// Recognises a format from the file's first bytes (never from its name).
    pub fn sniff(bytes: &[u8]) -> Result<MediaType, DecodeError> {
        let kind = match bytes {
            [0x89, b'P', b'N', b'G', ..] => MediaType::Png,
            [0xFF, 0xD8, 0xFF, ..] => MediaType::Jpeg,
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] | [b'I', b'I', 43, 0, ..] | [b'M', b'M', 0, 43, ..] => MediaType::Tiff,
            _ if bytes.len() >= 5 && bytes[..1024.min(bytes.len())].windows(5).any(|w| w == b"%PDF-") => MediaType::Pdf,
            [] => return Err(DecodeError::Unsupported("empty file".into())),
            [b'B', b'M', ..] => return Err(DecodeError::Unsupported("BMP images are not supported yet".into())),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => return Err(DecodeError::Unsupported("WebP images are not supported yet".into())),
            [b'G', b'I', b'F', ..] => return Err(DecodeError::Unsupported("GIF is not a scan format".into())),
            _ => return Err(DecodeError::Unsupported("not a PNG, JPEG, TIFF or PDF file".into())),
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
    fn check_size(&self, w: u32, h: u32) -> Result<(), DecodeError> {
        if w == 0 || h == 0 {
            return Err(DecodeError::Unsupported(format!("page of {w}x{h} pixels")));
        }
        if w > self.max_dimension || h > self.max_dimension || w as u64 * h as u64 > self.max_pixels {
            return Err(DecodeError::TooLarge(format!("page of {w}x{h} pixels is over the limit of {} pixels / {} per side", self.max_pixels, self.max_dimension)));
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
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::TooLarge(format!("{} bytes is over the limit of {}", bytes.len(), limits.max_file_bytes)));
    }
    let kind = MediaType::sniff(bytes)?;
    let pages = match kind {
        MediaType::Png | MediaType::Jpeg => {
            decode_raster(bytes, kind, limits)?;
            1
        }
        MediaType::Tiff => {
            let count = tiff_page_count(bytes, limits)?;
            for p in 0..count {
                decode_tiff_page(bytes, p, limits)?;
            }
            count
        }
        MediaType::Pdf => {
            let doc = load_pdf(bytes, limits)?;
            let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
            if pages.is_empty() {
                return Err(corrupt("PDF", "it has no pages"));
            }
            if pages.len() as u32 > limits.max_pages {
                return Err(DecodeError::TooLarge(format!("{} pages is over the limit of {}", pages.len(), limits.max_pages)));
            }
            for (i, id) in pages.iter().enumerate() {
                decode_pdf_page(&doc, *id, i, limits)?;
            }
            pages.len() as u32
        }
    };
    Ok((kind, pages))
}

/// Decodes page `index` (from 0) of a file already accepted by [`inspect`].
pub fn decode_page(bytes: &[u8], kind: MediaType, index: u32, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    match kind {
        MediaType::Png | MediaType::Jpeg if index == 0 => decode_raster(bytes, kind, limits),
        MediaType::Png | MediaType::Jpeg => Err(corrupt(if kind == MediaType::Png { "PNG" } else { "JPEG" }, format!("has one page, not {}", index + 1))),
        MediaType::Tiff => decode_tiff_page(bytes, index, limits),
        MediaType::Pdf => {
            let doc = load_pdf(bytes, limits)?;
            let id = *doc.get_pages().values().nth(index as usize).ok_or_else(|| corrupt("PDF", format!("has no page {}", index + 1)))?;
            decode_pdf_page(&doc, id, index as usize, limits)
        }
    }
}

fn decode_raster(bytes: &[u8], kind: MediaType, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let (format, name) = match kind {
        MediaType::Png => (ImageFormat::Png, "PNG"),
        _ => (ImageFormat::Jpeg, "JPEG"),
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

fn tiff_decoder<'a>(bytes: &'a [u8], limits: &Limits) -> Result<tiff::decoder::Decoder<Cursor<&'a [u8]>>, DecodeError> {
    let mut l = tiff::decoder::Limits::default();
    l.decoding_buffer_size = limits.max_alloc as usize;
    l.intermediate_buffer_size = (limits.max_alloc / 4) as usize;
    l.ifd_value_size = 16 << 20;
    Ok(tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(|e| corrupt("TIFF", e))?.with_limits(l))
}

fn tiff_page_count(bytes: &[u8], limits: &Limits) -> Result<u32, DecodeError> {
    let mut dec = tiff_decoder(bytes, limits)?;
    let mut count = 1;
    while dec.more_images() {
        dec.next_image().map_err(|e| corrupt("TIFF", e))?;
        count += 1;
        if count > limits.max_pages {
            return Err(DecodeError::TooLarge(format!("more than {} pages", limits.max_pages)));
        }
    }
    Ok(count)
}

fn decode_tiff_page(bytes: &[u8], index: u32, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    use tiff::decoder::DecodingResult;
    use tiff::ColorType;
    let mut dec = tiff_decoder(bytes, limits)?;
    if index > 0 {
        dec.seek_to_image(index as usize).map_err(|e| corrupt("TIFF", e))?;
    }
    let (w, h) = dec.dimensions().map_err(|e| corrupt("TIFF", e))?;
    limits.check_size(w, h)?;
    let color = dec.colortype().map_err(|e| corrupt("TIFF", e))?;
    let white_is_zero = matches!(dec.find_tag(tiff::tags::Tag::PhotometricInterpretation), Ok(Some(v)) if v.clone().into_u16().ok() == Some(0));
    let data = dec.read_image().map_err(|e| match e {
        tiff::TiffError::LimitsExceeded => DecodeError::TooLarge("TIFF page needs more memory than allowed".into()),
        other => corrupt("TIFF", other),
    })?;
    let n = w as usize * h as usize;
    let short = || corrupt("TIFF", "image data shorter than its size");
    let mut img = match (color, data) {
        (ColorType::Gray(8), DecodingResult::U8(v)) => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v.get(..n).ok_or_else(short)?.to_vec()).ok_or_else(short)?),
        (ColorType::Gray(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v.get(..n).ok_or_else(short)?.iter().map(|p| (p >> 8) as u8).collect()).ok_or_else(short)?)
        }
        (ColorType::Gray(1), DecodingResult::U8(v)) => DynamicImage::ImageLuma8(unpack_bits(&v, w, h).ok_or_else(short)?),
        (ColorType::RGB(8), DecodingResult::U8(v)) => DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, v.get(..n * 3).ok_or_else(short)?.to_vec()).ok_or_else(short)?),
        (ColorType::RGBA(8), DecodingResult::U8(v)) => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, v.get(..n * 4).ok_or_else(short)?.to_vec()).ok_or_else(short)?),
        (other, _) => return Err(DecodeError::Unsupported(format!("TIFF colour type {other:?} is not supported yet"))),
    };
    if white_is_zero {
        img.invert();
    }
    Ok(img)
}

/// Unpacks 1-bit rows (each padded to a byte, most significant bit first, 1 = white) into
/// grey pixels; `None` when the data is shorter than the image.
fn unpack_bits(data: &[u8], w: u32, h: u32) -> Option<GrayImage> {
    let stride = (w as usize).div_ceil(8);
    if data.len() < stride * h as usize {
        return None;
    }
    let raw = (0..w as usize * h as usize).map(|i| {
        let (x, y) = (i % w as usize, i / w as usize);
        if data[y * stride + x / 8] & (0x80 >> (x % 8)) != 0 { 255 } else { 0 }
    });
    GrayImage::from_raw(w, h, raw.collect())
}

fn load_pdf(bytes: &[u8], limits: &Limits) -> Result<Document, DecodeError> {
    let options = lopdf::LoadOptions { max_decompressed_size: Some(limits.max_alloc as usize), ..Default::default() };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|e| {
        let text = e.to_string();
        if text.to_lowercase().contains("decrypt") || text.to_lowercase().contains("password") || text.to_lowercase().contains("encrypt") {
            DecodeError::Encrypted
        } else {
            corrupt("PDF", text)
        }
    })?;
    if doc.was_encrypted() || doc.is_encrypted() {
        return Err(DecodeError::Encrypted);
    }
    Ok(doc)
}

fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    match obj {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn decode_pdf_page(doc: &Document, page_id: ObjectId, index: usize, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let (own, inherited) = doc.get_page_resources(page_id).map_err(|e| corrupt("PDF", e))?;
    let mut dicts: Vec<&lopdf::Dictionary> = own.into_iter().collect();
    dicts.extend(inherited.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
    let mut best: Option<(&lopdf::Stream, u64)> = None;
    for res in dicts {
        let Some(xobjects) = res.get(b"XObject").ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_dict().ok()) else { continue };
        for (_, obj) in xobjects.iter() {
            let Some(Object::Stream(stream)) = resolve(doc, obj) else { continue };
            let is_image = stream.dict.get(b"Subtype").ok().and_then(|s| s.as_name().ok()) == Some(b"Image".as_slice());
            if !is_image {
                continue;
            }
            let dim = |k: &[u8]| stream.dict.get(k).ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_i64().ok()).unwrap_or(0).max(0) as u64;
            let area = dim(b"Width") * dim(b"Height");
            if best.is_none_or(|(_, a)| area > a) {
                best = Some((stream, area));
            }
        }
    }
    let (stream, _) = best.ok_or(DecodeError::NoImage { page: index + 1 })?;
    let mut img = decode_pdf_image(doc, stream, limits)?;
    let rotate = doc.get_dictionary(page_id).ok().and_then(|d| d.get(b"Rotate").ok()).and_then(|o| o.as_i64().ok()).unwrap_or(0).rem_euclid(360);
    img = match rotate {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img,
    };
    Ok(img)
}

fn decode_pdf_image(doc: &Document, stream: &lopdf::Stream, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let filters: Vec<Vec<u8>> = match stream.dict.get(b"Filter").ok().and_then(|o| resolve(doc, o)) {
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => a.iter().filter_map(|o| o.as_name().ok().map(<[u8]>::to_vec)).collect(),
        _ => vec![],
    };
    let get = |k: &[u8]| stream.dict.get(k).ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_i64().ok()).unwrap_or(0).max(0) as u32;
    let (w, h, bpc) = (get(b"Width"), get(b"Height"), get(b"BitsPerComponent"));
    limits.check_size(w, h)?;
    match filters.last().map(Vec::as_slice) {
        Some(b"DCTDecode") if filters.len() == 1 => decode_raster(&stream.content, MediaType::Jpeg, limits),
        None | Some(b"FlateDecode") => {
            let data = if filters.is_empty() {
                stream.content.clone()
            } else {
                stream.decompressed_content_with_limit(limits.max_alloc as usize).map_err(|e| corrupt("PDF", format!("image stream: {e}")))?
            };
            let color_space = stream.dict.get(b"ColorSpace").ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_name().ok()).unwrap_or(b"DeviceGray");
            let n = w as usize * h as usize;
            let short = || corrupt("PDF", "image data shorter than its size");
            match (color_space, bpc) {
                (b"DeviceGray", 8) => Ok(DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, data.get(..n).ok_or_else(short)?.to_vec()).ok_or_else(short)?)),
                (b"DeviceRGB", 8) => Ok(DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, data.get(..n * 3).ok_or_else(short)?.to_vec()).ok_or_else(short)?)),
                (b"DeviceGray", 1) => Ok(DynamicImage::ImageLuma8(unpack_bits(&data, w, h).ok_or_else(short)?)),
                (cs, bits) => Err(DecodeError::Unsupported(format!("PDF image in {} at {bits} bits is not supported yet", String::from_utf8_lossy(cs)))),
            }
        }
        Some(other) => Err(DecodeError::Unsupported(format!("PDF image compression {} is not supported yet", String::from_utf8_lossy(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let two = std::fs::read(root.join("BB01/opd-0009.pdf")).unwrap();
        assert_eq!(inspect(&two, &Limits::default()).unwrap(), (MediaType::Pdf, 2));
        let page2 = decode_page(&two, MediaType::Pdf, 1, &Limits::default()).unwrap();
        assert_eq!((page2.width(), page2.height()), (1748, 2480));
        let tif = std::fs::read(root.join("BB01/opd-0003.tif")).unwrap();
        assert_eq!(inspect(&tif, &Limits::default()).unwrap(), (MediaType::Tiff, 1));
    }
}
