//! Writes scanned pages as the files scanners produce: JPEG, PNG, LZW TIFF, or a PDF with
//! one JPEG image per page (DCTDecode), as scan-to-PDF does.

use crate::data::Rng;
use anyhow::{bail, Result};
use image::GrayImage;
use lopdf::{dictionary, Document, Object, Stream};
use std::io::Cursor;

/// Encodes the pages as one file of `format`.
pub fn encode(pages: &[GrayImage], format: &str, rng: &mut Rng) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        "jpg" | "jpeg" => {
            if pages.len() != 1 {
                bail!("a JPEG holds one page");
            }
            out = jpeg(&pages[0], 60 + rng.below(25) as u8)?;
        }
        "png" => {
            if pages.len() != 1 {
                bail!("a PNG holds one page");
            }
            let enc =
                image::codecs::png::PngEncoder::new_with_quality(&mut out, image::codecs::png::CompressionType::Best, image::codecs::png::FilterType::Adaptive);
            image::ImageEncoder::write_image(enc, pages[0].as_raw(), pages[0].width(), pages[0].height(), image::ExtendedColorType::L8)?;
        }
        "tif" | "tiff" => {
            let mut cursor = Cursor::new(&mut out);
            let mut enc = tiff::encoder::TiffEncoder::new(&mut cursor)?
                .with_compression(tiff::encoder::Compression::Lzw)
                .with_predictor(tiff::encoder::Predictor::Horizontal);
            for p in pages {
                enc.write_image::<tiff::encoder::colortype::Gray8>(p.width(), p.height(), p.as_raw())?;
            }
        }
        "pdf" => out = pdf(pages, 60 + rng.below(25) as u8)?,
        other => bail!("unknown format {other}"),
    }
    Ok(out)
}

fn jpeg(page: &GrayImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(page)?;
    Ok(out)
}

/// A PDF whose pages are A5 and each shows one greyscale JPEG.
fn pdf(pages: &[GrayImage], quality: u8) -> Result<Vec<u8>> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    let (pw, ph) = (419.53, 595.28); // A5 in points
    for page in pages {
        let data = jpeg(page, quality)?;
        let image = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => page.width() as i64, "Height" => page.height() as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
            },
            data,
        );
        let image_id = doc.add_object(image);
        let content = format!("q {pw} 0 0 {ph} 0 0 cm /Im1 Do Q");
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(pw), Object::Real(ph)],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image_id } },
        });
        kids.push(Object::Reference(page_id));
    }
    let count = kids.len() as i64;
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}
