//! Scanned PDF pages with lopdf: the page's image XObjects (DCTDecode, FlateDecode with
//! predictors, CCITTFaxDecode G3/G4, RunLengthDecode, uncompressed; any depth and the Gray,
//! RGB, CMYK, ICC-based and Indexed colour spaces), placed where the content stream draws
//! them so that a page scanned in strips is reassembled, and `/Rotate` honoured.
//! JPEG 2000 (JPXDecode) and JBIG2 are rejected with a clear reason.
//!
//! Every size a file states is checked against the [`Limits`] before anything is allocated
//! for it: the page's content and palettes are decompressed under their own small bounds,
//! a page draws at most [`MAX_IMAGES_PER_PAGE`] images whose pixels together stay under the
//! page limit, a fax image's own `/Columns` and `/Rows` are the size checked, and colour
//! spaces are walked to a bounded depth.

use super::fax::{self, FaxCoding};
use super::pixels::{packed_to_gray, ColorModel};
use super::{corrupt, decode_raster, DecodeError, Limits, MediaType};
use image::{DynamicImage, GrayImage};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Most images one page may draw (a page scanned in strips has a few dozen at most).
pub const MAX_IMAGES_PER_PAGE: usize = 64;
/// Largest decompressed content stream of a page (a scanned page's is a few hundred bytes).
const MAX_CONTENT_BYTES: usize = 4 << 20;
/// Largest decompressed palette of an indexed colour space (256 entries of 4 components).
const MAX_PALETTE_BYTES: usize = 256 * 4;

/// Loads a PDF within the limits; encrypted files are refused.
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Document, DecodeError> {
    let options = lopdf::LoadOptions { max_decompressed_size: Some(limits.max_alloc as usize), ..Default::default() };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|e| {
        let text = e.to_string();
        let lower = text.to_lowercase();
        if lower.contains("decrypt") || lower.contains("password") || lower.contains("encrypt") {
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

/// A stream that does not decompress: over its bound (`too large`), or damaged.
fn stream_error(what: &str, e: lopdf::Error) -> DecodeError {
    match e {
        lopdf::Error::Decompress(inner @ lopdf::DecompressError::MemoryLimitExceeded { .. }) => DecodeError::TooLarge(format!("{what}: {inner}")),
        lopdf::Error::Decompress(inner) => corrupt("PDF", format!("{what}: {inner}")),
        other => corrupt("PDF", format!("{what}: {other}")),
    }
}

fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    match obj {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn int(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<i64> {
    dict.get(key).ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_i64().ok())
}

/// The page's image XObjects by resource name.
fn page_images(doc: &Document, page_id: ObjectId) -> Result<Vec<(Vec<u8>, &Stream)>, DecodeError> {
    let (own, inherited) = doc.get_page_resources(page_id).map_err(|e| corrupt("PDF", e))?;
    let mut dicts: Vec<&Dictionary> = own.into_iter().collect();
    dicts.extend(inherited.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
    let mut images = Vec::new();
    for res in dicts {
        let Some(xobjects) = res.get(b"XObject").ok().and_then(|o| resolve(doc, o)).and_then(|o| o.as_dict().ok()) else { continue };
        for (name, obj) in xobjects.iter() {
            let Some(Object::Stream(stream)) = resolve(doc, obj) else { continue };
            if stream.dict.get(b"Subtype").ok().and_then(|s| s.as_name().ok()) == Some(b"Image".as_slice()) && !images.iter().any(|(n, _)| n == name) {
                images.push((name.clone(), stream));
            }
        }
    }
    Ok(images)
}

/// Where the content stream draws each image: (name, x, y, width, height) in points, for
/// images drawn upright (no rotation or shear in their transform).
/// An image drawn by a page: its resource name and its rectangle `[x, y, w, h]` in points.
type Placement = (Vec<u8>, [f32; 4]);

fn placements(doc: &Document, page_id: ObjectId) -> Result<Option<Vec<Placement>>, DecodeError> {
    let content = doc.get_page_content_with_limit(page_id, MAX_CONTENT_BYTES).map_err(|e| stream_error("PDF page content", e))?;
    Ok(drawn_images(&content))
}

fn drawn_images(content: &[u8]) -> Option<Vec<Placement>> {
    let ops = lopdf::content::Content::decode(content).ok()?;
    let mut ctm = [1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for op in &ops.operations {
        match op.operator.as_str() {
            "q" => stack.push(ctm),
            "Q" => ctm = stack.pop().unwrap_or(ctm),
            "cm" if op.operands.len() == 6 => {
                let m: Vec<f32> = op.operands.iter().map(|o| o.as_float().unwrap_or(0.0)).collect();
                // new = m x ctm
                ctm = [
                    m[0] * ctm[0] + m[1] * ctm[2],
                    m[0] * ctm[1] + m[1] * ctm[3],
                    m[2] * ctm[0] + m[3] * ctm[2],
                    m[2] * ctm[1] + m[3] * ctm[3],
                    m[4] * ctm[0] + m[5] * ctm[2] + ctm[4],
                    m[4] * ctm[1] + m[5] * ctm[3] + ctm[5],
                ];
            }
            "Do" => {
                let name = op.operands.first()?.as_name().ok()?.to_vec();
                if ctm[1].abs() > 1e-3 || ctm[2].abs() > 1e-3 {
                    return None;
                }
                let (w, h) = (ctm[0], ctm[3]);
                let (x, y) = (if w < 0.0 { ctm[4] + w } else { ctm[4] }, if h < 0.0 { ctm[5] + h } else { ctm[5] });
                out.push((name, [x, y, w.abs(), h.abs()]));
            }
            _ => {}
        }
    }
    Some(out)
}

/// Decodes page `index` (from 0) of a loaded document.
pub fn decode_page(doc: &Document, page_id: ObjectId, index: usize, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let images = page_images(doc, page_id)?;
    if images.is_empty() {
        return Err(DecodeError::NoImage { page: index + 1 });
    }
    let drawn: Vec<(&Stream, [f32; 4])> = placements(doc, page_id)?
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, rect)| images.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s, rect)))
        .filter(|(_, r)| r[2] > 0.0 && r[3] > 0.0)
        .collect();
    if drawn.len() > MAX_IMAGES_PER_PAGE {
        return Err(DecodeError::TooLarge(format!("PDF page {} draws {} images, over the limit of {MAX_IMAGES_PER_PAGE}", index + 1, drawn.len())));
    }
    let mut page = if drawn.len() > 1 {
        composite(doc, &drawn, limits)?
    } else {
        // One image (or placements unknown): the largest image is the scan.
        let largest = images
            .iter()
            .max_by_key(|(_, s)| int(doc, &s.dict, b"Width").unwrap_or(0).max(0) * int(doc, &s.dict, b"Height").unwrap_or(0).max(0))
            .map(|(_, s)| *s)
            .expect("not empty");
        DynamicImage::ImageLuma8(decode_image(doc, largest, limits)?)
    };
    let rotate = doc.get_dictionary(page_id).ok().and_then(|d| int(doc, d, b"Rotate")).unwrap_or(0).rem_euclid(360);
    page = match rotate {
        90 => page.rotate90(),
        180 => page.rotate180(),
        270 => page.rotate270(),
        _ => page,
    };
    Ok(page)
}

/// Draws several images (strips of one scan) where the page places them, at the finest
/// resolution among them.
fn composite(doc: &Document, drawn: &[(&Stream, [f32; 4])], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    // Sizes first, from what the file states: the canvas and the images' pixels together
    // must fit the limits before any image is decoded.
    let stated = |s: &Stream| (int(doc, &s.dict, b"Width").unwrap_or(0).max(0) as u64, int(doc, &s.dict, b"Height").unwrap_or(0).max(0) as u64);
    let pixels: u64 = drawn.iter().map(|(s, _)| stated(s).0 * stated(s).1).sum();
    if pixels > limits.max_pixels {
        return Err(DecodeError::TooLarge(format!("PDF page's images hold {pixels} pixels together, over the limit of {}", limits.max_pixels)));
    }
    let density = drawn.iter().map(|(s, r)| stated(s).0 as f32 / r[2]).fold(0.0f32, f32::max);
    let min_x = drawn.iter().map(|(_, r)| r[0]).fold(f32::MAX, f32::min);
    let max_y = drawn.iter().map(|(_, r)| r[1] + r[3]).fold(f32::MIN, f32::max);
    let max_x = drawn.iter().map(|(_, r)| r[0] + r[2]).fold(f32::MIN, f32::max);
    let min_y = drawn.iter().map(|(_, r)| r[1]).fold(f32::MAX, f32::min);
    let side = |v: f32| if v.is_finite() { v.round().clamp(0.0, u32::MAX as f32) as u32 } else { u32::MAX };
    let (w, h) = (side((max_x - min_x) * density), side((max_y - min_y) * density));
    limits.check_size(w, h)?;
    let decoded: Vec<(GrayImage, [f32; 4])> = drawn.iter().map(|(s, r)| decode_image(doc, s, limits).map(|i| (i, *r))).collect::<Result<_, _>>()?;
    let mut canvas = GrayImage::from_pixel(w, h, image::Luma([255]));
    for (img, [x, y, rw, rh]) in decoded {
        let (tw, th) = ((rw * density).round().max(1.0) as u32, (rh * density).round().max(1.0) as u32);
        let img = if (tw, th) == img.dimensions() { img } else { image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle) };
        let left = ((x - min_x) * density).round() as i64;
        let top = ((max_y - (y + rh)) * density).round() as i64;
        image::imageops::replace(&mut canvas, &img, left, top);
    }
    Ok(DynamicImage::ImageLuma8(canvas))
}

/// The colour model and component count of an image's colour space.
fn color_model(doc: &Document, dict: &Dictionary) -> Result<(ColorModel, usize), DecodeError> {
    if dict.get(b"ImageMask").ok().and_then(|o| o.as_bool().ok()) == Some(true) {
        return Ok((ColorModel::Gray, 1));
    }
    let cs = dict.get(b"ColorSpace").ok().and_then(|o| resolve(doc, o));
    model_of(doc, cs, 0)
}

/// The colour model of colour space `cs`, `depth` colour spaces down from the image's: an
/// indexed space's base is walked once (the PDF format allows no deeper nesting), so a space
/// that refers back to itself ends here instead of recursing without end.
fn model_of(doc: &Document, cs: Option<&Object>, depth: u32) -> Result<(ColorModel, usize), DecodeError> {
    let unsupported = |what: String| DecodeError::Unsupported(format!("PDF image colour space {what} is not supported yet"));
    match cs {
        None => Ok((ColorModel::Gray, 1)),
        Some(Object::Name(n)) => match n.as_slice() {
            b"DeviceGray" | b"CalGray" | b"G" => Ok((ColorModel::Gray, 1)),
            b"DeviceRGB" | b"CalRGB" | b"RGB" => Ok((ColorModel::Rgb, 3)),
            b"DeviceCMYK" | b"CMYK" => Ok((ColorModel::Cmyk, 4)),
            other => Err(unsupported(String::from_utf8_lossy(other).into())),
        },
        Some(Object::Array(a)) => {
            let kind = a.first().and_then(|o| o.as_name().ok()).unwrap_or(b"");
            match kind {
                b"CalGray" => Ok((ColorModel::Gray, 1)),
                b"CalRGB" | b"Lab" => Ok((ColorModel::Rgb, 3)),
                b"ICCBased" => {
                    let n = a.get(1).and_then(|o| resolve(doc, o)).and_then(|o| o.as_stream().ok()).and_then(|s| int(doc, &s.dict, b"N")).unwrap_or(1);
                    match n {
                        1 => Ok((ColorModel::Gray, 1)),
                        3 => Ok((ColorModel::Rgb, 3)),
                        4 => Ok((ColorModel::Cmyk, 4)),
                        other => Err(unsupported(format!("ICCBased with {other} components"))),
                    }
                }
                b"Indexed" | b"I" => {
                    if depth > 0 {
                        return Err(corrupt("PDF", "indexed colour space inside another (its base refers back to an indexed space)"));
                    }
                    let (base, n) = model_of(doc, a.get(1).and_then(|o| resolve(doc, o)), depth + 1)?;
                    let lookup: Vec<u8> = match a.get(3).and_then(|o| resolve(doc, o)) {
                        Some(Object::String(s, _)) => s.iter().copied().take(MAX_PALETTE_BYTES).collect(),
                        Some(Object::Stream(s)) => {
                            let mut table = s
                                .decompressed_content_with_limit(64 * MAX_PALETTE_BYTES)
                                .map_err(|e| stream_error("indexed colour space's lookup table", e))?;
                            table.truncate(MAX_PALETTE_BYTES);
                            table
                        }
                        _ => return Err(corrupt("PDF", "indexed colour space without a lookup table")),
                    };
                    let table = lookup
                        .chunks(n)
                        .map(|c| {
                            let f = |i: usize| c.get(i).copied().unwrap_or(0) as f32 / 255.0;
                            match base {
                                ColorModel::Rgb => [f(0), f(1), f(2)],
                                ColorModel::Cmyk => {
                                    let k = 1.0 - f(3);
                                    [(1.0 - f(0)) * k, (1.0 - f(1)) * k, (1.0 - f(2)) * k]
                                }
                                _ => [f(0), f(0), f(0)],
                            }
                        })
                        .collect();
                    Ok((ColorModel::Palette(table), 1))
                }
                other => Err(unsupported(String::from_utf8_lossy(other).into())),
            }
        }
        Some(other) => Err(unsupported(format!("{other:?}"))),
    }
}

/// Decodes one image XObject to grey.
pub fn decode_image(doc: &Document, stream: &Stream, limits: &Limits) -> Result<GrayImage, DecodeError> {
    let dict = &stream.dict;
    let filters: Vec<Vec<u8>> = match dict.get(b"Filter").ok().and_then(|o| resolve(doc, o)) {
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => a.iter().filter_map(|o| resolve(doc, o).and_then(|o| o.as_name().ok()).map(<[u8]>::to_vec)).collect(),
        _ => vec![],
    };
    let params: Option<&Dictionary> = match dict.get(b"DecodeParms").ok().and_then(|o| resolve(doc, o)) {
        Some(Object::Dictionary(d)) => Some(d),
        Some(Object::Array(a)) => a.last().and_then(|o| resolve(doc, o)).and_then(|o| o.as_dict().ok()),
        _ => None,
    };
    let w = int(doc, dict, b"Width").unwrap_or(0).clamp(0, u32::MAX as i64) as u32;
    let h = int(doc, dict, b"Height").unwrap_or(0).clamp(0, u32::MAX as i64) as u32;
    limits.check_size(w, h)?;
    let image_mask = dict.get(b"ImageMask").ok().and_then(|o| o.as_bool().ok()) == Some(true);
    let bpc = if image_mask { 1 } else { int(doc, dict, b"BitsPerComponent").unwrap_or(8).clamp(0, 64) as u32 };
    let inverted = match dict.get(b"Decode").ok().and_then(|o| resolve(doc, o)) {
        Some(Object::Array(a)) => a.first().and_then(|o| o.as_float().ok()).unwrap_or(0.0) > a.get(1).and_then(|o| o.as_float().ok()).unwrap_or(1.0),
        _ => false,
    };
    let invert = |mut img: GrayImage| {
        if inverted {
            image::imageops::invert(&mut img);
        }
        img
    };
    let last = filters.last().map(Vec::as_slice);
    if filters.len() > 1 {
        return Err(DecodeError::Unsupported(format!(
            "PDF image with chained filters {:?} is not supported yet",
            filters.iter().map(|f| String::from_utf8_lossy(f).to_string()).collect::<Vec<_>>()
        )));
    }
    match last {
        Some(b"JPXDecode") => {
            Err(DecodeError::Unsupported("PDF image compressed as JPXDecode (JPEG 2000) is not supported; scan to JPEG, TIFF or PNG instead".into()))
        }
        Some(b"JBIG2Decode") => {
            Err(DecodeError::Unsupported("PDF image compressed as JBIG2Decode (JBIG2) is not supported; scan to CCITT G4, TIFF or PNG instead".into()))
        }
        Some(b"DCTDecode") | Some(b"DCT") if filters.len() == 1 => Ok(invert(decode_raster(&stream.content, MediaType::Jpeg, limits)?.to_luma8())),
        Some(b"CCITTFaxDecode") | Some(b"CCF") if filters.len() == 1 => {
            let p = |k: &[u8]| params.and_then(|d| int(doc, d, k));
            let k = p(b"K").unwrap_or(0);
            let columns = p(b"Columns").unwrap_or(1728).clamp(1, 65535) as u32;
            let rows = p(b"Rows").filter(|r| *r > 0).unwrap_or(h as i64).clamp(1, 65535) as u32;
            // The fax decoder's buffer is sized from these, not from /Width and /Height.
            limits.check_size(columns, rows)?;
            let black_is_1 = params.and_then(|d| d.get(b"BlackIs1").ok()).and_then(|o| o.as_bool().ok()).unwrap_or(false);
            let coding = match k {
                k if k < 0 => FaxCoding::Group4,
                0 => FaxCoding::Group3,
                _ => return Err(DecodeError::Unsupported("PDF image with two-dimensional Group 3 fax coding (K > 0) is not supported yet".into())),
            };
            let mut img = fax::decode(&stream.content, coding, columns, rows).ok_or_else(|| corrupt("PDF", "CCITT fax data does not decode"))?;
            // The filter writes black as sample 0, or 1 with BlackIs1; /Decode may invert the
            // samples again; then 0 is black in DeviceGray (and is painted, for a stencil mask).
            if black_is_1 ^ inverted {
                image::imageops::invert(&mut img);
            }
            Ok(img)
        }
        None | Some(b"FlateDecode") | Some(b"Fl") | Some(b"RunLengthDecode") | Some(b"RL") => {
            let data = match last {
                None => stream.content.clone(),
                Some(b"RunLengthDecode") | Some(b"RL") => {
                    run_length_decode(&stream.content, limits.max_alloc as usize).ok_or_else(|| corrupt("PDF", "RunLength data does not decode"))?
                }
                _ => stream.decompressed_content_with_limit(limits.max_alloc as usize).map_err(|e| stream_error("image stream", e))?,
            };
            let (model, n) = color_model(doc, dict)?;
            let model = match (model, inverted) {
                (ColorModel::Gray, true) => ColorModel::GrayInverted,
                (m, _) => m,
            };
            packed_to_gray(&data, w, h, n, bpc, &model).ok_or_else(|| {
                if matches!(bpc, 1 | 2 | 4 | 8 | 16) {
                    corrupt("PDF", "image data shorter than its size")
                } else {
                    DecodeError::Unsupported(format!("PDF image with {bpc} bits per component"))
                }
            })
        }
        Some(other) => Err(DecodeError::Unsupported(format!("PDF image compression {} is not supported yet", String::from_utf8_lossy(other)))),
    }
}

/// PDF RunLengthDecode (PackBits): a length byte n, then n+1 literal bytes (n < 128) or one
/// byte repeated 257-n times (n > 128); 128 ends the data.
pub fn run_length_decode(data: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let n = data[i] as usize;
        i += 1;
        match n {
            128 => break,
            0..=127 => {
                out.extend_from_slice(data.get(i..i + n + 1)?);
                i += n + 1;
            }
            _ => {
                let b = *data.get(i)?;
                out.extend(std::iter::repeat_n(b, 257 - n));
                i += 1;
            }
        }
        if out.len() > max {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_length() {
        assert_eq!(run_length_decode(&[2, b'a', b'b', b'c', 254, b'z', 128, 9], 100).unwrap(), b"abczzz");
        assert!(run_length_decode(&[5, b'a'], 100).is_none(), "truncated literal");
        assert!(run_length_decode(&[129, 0, 129, 0], 200).is_none(), "over the limit");
    }
}
