//! Samples to grey pixels: one conversion for every colour model and bit depth that TIFF and
//! PDF images use (1-16 bits packed, 32/64-bit integers and floats in TIFF), so that each
//! container only has to say how to read sample `s` of pixel `p`.

use image::GrayImage;

/// How a pixel's samples make a colour.
#[derive(Debug, Clone, PartialEq)]
pub enum ColorModel {
    /// One sample, 0 = black.
    Gray,
    /// One sample, 0 = white (TIFF WhiteIsZero, PDF `/Decode [1 0]`).
    GrayInverted,
    /// Grey then alpha, composited on white paper.
    GrayAlpha,
    /// Red, green, blue (further samples such as alpha ignored).
    Rgb,
    /// Red, green, blue, alpha, composited on white paper.
    Rgba,
    /// Cyan, magenta, yellow, black.
    Cmyk,
    /// One sample indexing a table of RGB colours (0..1).
    Palette(Vec<[f32; 3]>),
    /// Y, Cb, Cr: Y is the grey.
    YCbCr,
}

impl ColorModel {
    /// Samples per pixel the model reads (at least).
    pub fn samples(&self) -> usize {
        match self {
            ColorModel::Gray | ColorModel::GrayInverted | ColorModel::Palette(_) => 1,
            ColorModel::GrayAlpha => 2,
            ColorModel::Rgb | ColorModel::YCbCr => 3,
            ColorModel::Rgba | ColorModel::Cmyk => 4,
        }
    }
}

fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Builds a grey image: `sample(p, s)` returns sample `s` of pixel `p` scaled to 0..1
/// (palette models get the raw index instead).
pub fn to_gray(w: u32, h: u32, model: &ColorModel, sample: impl Fn(usize, usize) -> f32) -> GrayImage {
    let n = w as usize * h as usize;
    let mut out = Vec::with_capacity(n);
    for p in 0..n {
        let v = match model {
            ColorModel::Gray | ColorModel::YCbCr => sample(p, 0),
            ColorModel::GrayInverted => 1.0 - sample(p, 0),
            ColorModel::GrayAlpha => {
                let a = sample(p, 1);
                sample(p, 0) * a + (1.0 - a)
            }
            ColorModel::Rgb => luma(sample(p, 0), sample(p, 1), sample(p, 2)),
            ColorModel::Rgba => {
                let a = sample(p, 3);
                luma(sample(p, 0), sample(p, 1), sample(p, 2)) * a + (1.0 - a)
            }
            ColorModel::Cmyk => {
                let k = 1.0 - sample(p, 3);
                luma((1.0 - sample(p, 0)) * k, (1.0 - sample(p, 1)) * k, (1.0 - sample(p, 2)) * k)
            }
            ColorModel::Palette(table) => {
                let i = sample(p, 0) as usize;
                table.get(i).map_or(0.0, |c| luma(c[0], c[1], c[2]))
            }
        };
        out.push((v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
    }
    GrayImage::from_raw(w, h, out).expect("w*h pixels")
}

/// Reads samples packed big-endian at `bits` (1, 2, 4, 8 or 16) per sample, each row padded
/// to a whole byte, `spp` samples per pixel interleaved. Returns `None` when `data` is short
/// or the depth is not one of those.
pub fn packed_to_gray(data: &[u8], w: u32, h: u32, spp: usize, bits: u32, model: &ColorModel) -> Option<GrayImage> {
    if !matches!(bits, 1 | 2 | 4 | 8 | 16) || spp == 0 {
        return None;
    }
    let row_bytes = (w as usize * spp * bits as usize).div_ceil(8);
    if data.len() < row_bytes * h as usize {
        return None;
    }
    let max = ((1u32 << bits) - 1) as f32;
    let raw_index = matches!(model, ColorModel::Palette(_));
    let width = w as usize;
    Some(to_gray(w, h, model, |p, s| {
        let (x, y) = (p % width, p / width);
        let bit = (x * spp + s) * bits as usize;
        let row = &data[y * row_bytes..];
        let v = match bits {
            16 => u16::from_be_bytes([row[bit / 8], row[bit / 8 + 1]]) as u32,
            8 => row[bit / 8] as u32,
            _ => ((row[bit / 8] >> (8 - bits as usize - bit % 8)) as u32) & max as u32,
        };
        if raw_index {
            v as f32
        } else {
            v as f32 / max
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_depths_and_models() {
        // Two 1-bit pixels per row, rows padded: 0b10 -> white, black (0 = black).
        let img = packed_to_gray(&[0b1000_0000, 0b0100_0000], 2, 2, 1, 1, &ColorModel::Gray).unwrap();
        assert_eq!(img.as_raw(), &[255, 0, 0, 255]);
        let inverted = packed_to_gray(&[0b1000_0000], 2, 1, 1, 1, &ColorModel::GrayInverted).unwrap();
        assert_eq!(inverted.as_raw(), &[0, 255]);
        let cmyk = packed_to_gray(&[0, 0, 0, 255, 0, 0, 0, 0], 2, 1, 4, 8, &ColorModel::Cmyk).unwrap();
        assert_eq!(cmyk.as_raw(), &[0, 255]);
        let sixteen = packed_to_gray(&[0xFF, 0xFF, 0x00, 0x00], 2, 1, 1, 16, &ColorModel::Gray).unwrap();
        assert_eq!(sixteen.as_raw(), &[255, 0]);
        let palette = ColorModel::Palette(vec![[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]);
        assert_eq!(packed_to_gray(&[0b0100_0000], 2, 1, 1, 2, &palette).unwrap().as_raw(), &[0, 255], "indices 1 then 0");
        assert!(packed_to_gray(&[0], 9, 9, 1, 8, &ColorModel::Gray).is_none(), "short data");
        assert!(packed_to_gray(&[0; 64], 2, 2, 1, 3, &ColorModel::Gray).is_none(), "odd depth");
    }
}
