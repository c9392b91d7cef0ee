//! TIFF pages, multi-page, with the tiff crate under its limits: every colour model and depth
//! the crate decodes (via [`pixels`]), plus Group 3 fax, which the crate does not decode.

use super::fax::{self, FaxCoding};
use super::pixels::{to_gray, ColorModel};
use super::{corrupt, DecodeError, Limits};
use image::GrayImage;
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

fn decoder<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Decoder<Cursor<&'a [u8]>>, DecodeError> {
    let mut l = tiff::decoder::Limits::default();
    l.decoding_buffer_size = limits.max_alloc as usize;
    l.intermediate_buffer_size = (limits.max_alloc / 4) as usize;
    l.ifd_value_size = 16 << 20;
    Ok(Decoder::new(Cursor::new(bytes)).map_err(err)?.with_limits(l))
}

fn err(e: tiff::TiffError) -> DecodeError {
    match e {
        tiff::TiffError::LimitsExceeded => DecodeError::TooLarge("TIFF page needs more memory than allowed".into()),
        tiff::TiffError::UnsupportedError(u) => DecodeError::Unsupported(format!("TIFF: {u}")),
        other => corrupt("TIFF", other),
    }
}

/// How many pages (image directories) the file has.
pub fn page_count(bytes: &[u8], limits: &Limits) -> Result<u32, DecodeError> {
    let mut dec = decoder(bytes, limits)?;
    let mut count = 1;
    while dec.more_images() {
        dec.next_image().map_err(err)?;
        count += 1;
        if count > limits.max_pages {
            return Err(DecodeError::TooLarge(format!("more than {} pages", limits.max_pages)));
        }
    }
    Ok(count)
}

fn tag_u32(dec: &mut Decoder<Cursor<&[u8]>>, tag: Tag) -> Option<u32> {
    dec.find_tag(tag).ok().flatten().and_then(|v| v.into_u32().ok())
}

/// Decodes page `index` (from 0) to grey.
pub fn decode_page(bytes: &[u8], index: u32, limits: &Limits) -> Result<GrayImage, DecodeError> {
    let mut dec = decoder(bytes, limits)?;
    if index > 0 {
        dec.seek_to_image(index as usize).map_err(err)?;
    }
    let (w, h) = dec.dimensions().map_err(err)?;
    limits.check_size(w, h)?;
    let compression = tag_u32(&mut dec, Tag::Compression).unwrap_or(1);
    if compression == 3 {
        return group3(bytes, &mut dec, w, h);
    }
    if compression == 2 {
        return Err(DecodeError::Unsupported("TIFF with CCITT modified Huffman (compression 2) is not supported yet".into()));
    }
    let planar = tag_u32(&mut dec, Tag::PlanarConfiguration) == Some(2);
    let color = dec.colortype().map_err(err)?;
    let (model, bits) = match color {
        // The crate already turns WhiteIsZero samples (fax included) into BlackIsZero.
        ColorType::Gray(b) => (ColorModel::Gray, b),
        ColorType::GrayA(b) => (ColorModel::GrayAlpha, b),
        ColorType::RGB(b) => (ColorModel::Rgb, b),
        ColorType::RGBA(b) => (ColorModel::Rgba, b),
        ColorType::CMYK(b) | ColorType::CMYKA(b) => (ColorModel::Cmyk, b),
        ColorType::YCbCr(b) => (ColorModel::YCbCr, b),
        ColorType::Palette(b) => {
            let map = dec
                .find_tag(Tag::ColorMap)
                .ok()
                .flatten()
                .and_then(|v| v.into_u16_vec().ok())
                .ok_or_else(|| corrupt("TIFF", "palette image without a colour map"))?;
            let n = 1usize << b;
            if map.len() < 3 * n {
                return Err(corrupt("TIFF", "colour map shorter than the palette"));
            }
            let table = (0..n).map(|i| [map[i] as f32 / 65535.0, map[n + i] as f32 / 65535.0, map[2 * n + i] as f32 / 65535.0]).collect();
            (ColorModel::Palette(table), b)
        }
        ColorType::Multiband { bit_depth, .. } => (ColorModel::Gray, bit_depth),
        other => return Err(DecodeError::Unsupported(format!("TIFF colour type {other:?} is not supported yet"))),
    };
    let spp = match color {
        ColorType::Multiband { num_samples, .. } => num_samples as usize,
        ColorType::CMYKA(_) => 5,
        _ => model.samples(),
    };
    let data = dec.read_image().map_err(err)?;
    let n = w as usize * h as usize;
    let raw_index = matches!(model, ColorModel::Palette(_));
    // Sample `s` of pixel `p`: interleaved (chunky) or one plane per sample (planar).
    let at = move |p: usize, s: usize| if planar { s * n + p } else { p * spp + s };
    let needed = n * spp;
    let short = || corrupt("TIFF", "image data shorter than its size");
    let max = |bits: u8| if bits >= 32 { u32::MAX as f32 } else { ((1u64 << bits) - 1) as f32 };
    let scale = move |v: f32, depth: u8| if raw_index { v } else { v / max(depth) };
    let img = match &data {
        DecodingResult::U8(v) if bits < 8 => {
            // Packed: each row padded to a byte.
            super::pixels::packed_to_gray(v, w, h, spp, bits as u32, &model).ok_or_else(short)?
        }
        DecodingResult::U8(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| scale(v[at(p, s)] as f32, 8)),
        DecodingResult::U16(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| scale(v[at(p, s)] as f32, bits.min(16))),
        DecodingResult::U32(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| v[at(p, s)] as f32 / u32::MAX as f32),
        DecodingResult::U64(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| (v[at(p, s)] as f64 / u64::MAX as f64) as f32),
        DecodingResult::I8(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| (v[at(p, s)] as f32 + 128.0) / 255.0),
        DecodingResult::I16(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| (v[at(p, s)] as f32 + 32768.0) / 65535.0),
        DecodingResult::I32(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| ((v[at(p, s)] as f64 + 2147483648.0) / 4294967295.0) as f32),
        DecodingResult::I64(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| ((v[at(p, s)] as f64 / i64::MAX as f64 + 1.0) / 2.0) as f32),
        DecodingResult::F16(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| v[at(p, s)].to_f32()),
        DecodingResult::F32(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| v[at(p, s)]),
        DecodingResult::F64(v) if v.len() >= needed => to_gray(w, h, &model, |p, s| v[at(p, s)] as f32),
        _ => return Err(short()),
    };
    Ok(img)
}

/// Group 3 fax strips (T.4 one-dimensional), which the tiff crate leaves to the caller.
fn group3(bytes: &[u8], dec: &mut Decoder<Cursor<&[u8]>>, w: u32, h: u32) -> Result<GrayImage, DecodeError> {
    let t4_options = tag_u32(dec, Tag::Unknown(292)).unwrap_or(0);
    if t4_options & 1 != 0 {
        return Err(DecodeError::Unsupported("TIFF with two-dimensional Group 3 fax coding is not supported yet".into()));
    }
    let offsets =
        dec.find_tag(Tag::StripOffsets).ok().flatten().and_then(|v| v.into_u64_vec().ok()).ok_or_else(|| corrupt("TIFF", "fax page without strip offsets"))?;
    let counts =
        dec.find_tag(Tag::StripByteCounts).ok().flatten().and_then(|v| v.into_u64_vec().ok()).ok_or_else(|| corrupt("TIFF", "fax page without strip sizes"))?;
    let rows_per_strip = tag_u32(dec, Tag::RowsPerStrip).unwrap_or(h).clamp(1, h);
    let lsb_first = tag_u32(dec, Tag::FillOrder) == Some(2);
    let mut page = GrayImage::from_pixel(w, h, image::Luma([255]));
    for (i, (off, len)) in offsets.iter().zip(&counts).enumerate() {
        let top = i as u32 * rows_per_strip;
        if top >= h {
            break;
        }
        let data = bytes.get(*off as usize..(*off + *len) as usize).ok_or_else(|| corrupt("TIFF", "fax strip outside the file"))?;
        let data: Vec<u8> = if lsb_first { data.iter().map(|b| b.reverse_bits()).collect() } else { data.to_vec() };
        let rows = rows_per_strip.min(h - top);
        let strip = fax::decode(&data, FaxCoding::Group3, w, rows).ok_or_else(|| corrupt("TIFF", "Group 3 fax data does not decode"))?;
        image::imageops::replace(&mut page, &strip, 0, top as i64);
    }
    Ok(page)
}
