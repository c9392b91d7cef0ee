//! CCITT fax (Group 3 one-dimensional, Group 4) to grey pixels, with the `fax` crate.

use image::GrayImage;

/// Which fax coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaxCoding {
    /// T.4 one-dimensional (Modified Huffman lines).
    Group3,
    /// T.6.
    Group4,
}

/// Decodes fax data of `width` pixels into `height` rows (rows missing at the end stay
/// white, as receivers pad them). Black is 0, white 255. `None` when nothing decodes.
pub fn decode(data: &[u8], coding: FaxCoding, width: u32, height: u32) -> Option<GrayImage> {
    let w = u16::try_from(width).ok()?;
    let h = u16::try_from(height).ok()?;
    let mut out = vec![255u8; width as usize * height as usize];
    let mut row = 0usize;
    let mut line = |transitions: &[u16]| {
        if row < height as usize {
            for (x, c) in fax::decoder::pels(transitions, w).enumerate() {
                if c == fax::Color::Black {
                    out[row * width as usize + x] = 0;
                }
            }
            row += 1;
        }
    };
    let ok = match coding {
        FaxCoding::Group4 => fax::decoder::decode_g4(data.iter().copied(), w, Some(h), &mut line),
        FaxCoding::Group3 => fax::decoder::decode_g3(data.iter().copied(), &mut line),
    };
    if ok.is_none() && row == 0 {
        return None;
    }
    GrayImage::from_raw(width, height, out)
}
