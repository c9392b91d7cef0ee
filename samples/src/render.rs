//! Text rendering with real shaping: text is split into Khmer and Latin runs, each run is
//! shaped by rustybuzz (HarfBuzz's algorithm, so coeng subscripts and pre-base vowels land
//! where a reader expects them) and its glyph outlines are rasterised by ab_glyph.

use ab_glyph::{Font, FontRef, GlyphId, PxScale};
use anyhow::{Context, Result};

/// A font file loaded for both shaping and rasterising.
pub struct LoadedFont {
    data: &'static [u8],
}

impl LoadedFont {
    /// Loads a TrueType file (leaked: fonts live as long as the generator).
    pub fn load(path: &str) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("font {path} (Debian: apt-get install fonts-khmeros fonts-dejavu-core)"))?;
        Ok(Self { data: Box::leak(bytes.into_boxed_slice()) })
    }
}

/// The fonts of a card: Khmer script, Latin labels, typed values, handwriting-like values.
pub struct Fonts {
    /// Khmer OS (labels and Khmer values).
    pub khmer: LoadedFont,
    /// Latin labels.
    pub latin: LoadedFont,
    /// Typewriter-like Latin values.
    pub mono: LoadedFont,
    /// Handwriting-like Khmer (Khmer OS Fasthand).
    pub hand_khmer: LoadedFont,
    /// Handwriting-like Latin (URW Z003, a chancery hand).
    pub hand_latin: LoadedFont,
}

/// A grey canvas where 255 is paper and 0 is ink.
pub struct Canvas {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Ink coverage 0..1 per pixel.
    pub ink: Vec<f32>,
}

impl Canvas {
    /// A blank canvas.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, ink: vec![0.0; (width * height) as usize] }
    }

    fn add(&mut self, x: i32, y: i32, coverage: f32) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            let i = (y as u32 * self.width + x as u32) as usize;
            self.ink[i] = (self.ink[i] + coverage).min(1.0);
        }
    }

    /// A filled rectangle of ink.
    pub fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, darkness: f32) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.add(xx, yy, darkness);
            }
        }
    }

    /// Draws `text` with its baseline at `y`, starting at `x`, `size` pixels per em, using
    /// `khmer` for Khmer runs and `latin` for the others. Returns the x after the text.
    #[allow(clippy::too_many_arguments)]
    pub fn text(&mut self, khmer: &LoadedFont, latin: &LoadedFont, x: f32, y: f32, size: f32, text: &str, darkness: f32) -> f32 {
        let mut pen = x;
        for (is_khmer, run) in script_runs(text) {
            let font = if is_khmer { khmer } else { latin };
            pen = self.shaped_run(font, pen, y, size, &run, darkness);
        }
        pen
    }

    /// How wide `text` is drawn at `size` (as [`Canvas::text`] would draw it).
    pub fn width_of(khmer: &LoadedFont, latin: &LoadedFont, size: f32, text: &str) -> f32 {
        script_runs(text)
            .iter()
            .map(|(is_khmer, run)| {
                let font = if *is_khmer { khmer } else { latin };
                let face = rustybuzz::Face::from_slice(font.data, 0).expect("font parses");
                let scale = size / face.units_per_em() as f32;
                let mut buffer = rustybuzz::UnicodeBuffer::new();
                buffer.push_str(run);
                rustybuzz::shape(&face, &[], buffer).glyph_positions().iter().map(|p| p.x_advance as f32 * scale).sum::<f32>()
            })
            .sum()
    }

    fn shaped_run(&mut self, font: &LoadedFont, x: f32, y: f32, size: f32, run: &str, darkness: f32) -> f32 {
        let face = rustybuzz::Face::from_slice(font.data, 0).expect("font parses");
        let raster = FontRef::try_from_slice(font.data).expect("font parses");
        let upem = face.units_per_em() as f32;
        let scale = size / upem;
        let px_scale = PxScale::from(size * raster.height_unscaled() / raster.units_per_em().unwrap_or(upem));
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(run);
        let shaped = rustybuzz::shape(&face, &[], buffer);
        let mut pen = x;
        for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
            let gx = pen + pos.x_offset as f32 * scale;
            let gy = y - pos.y_offset as f32 * scale;
            let glyph = GlyphId(info.glyph_id as u16).with_scale_and_position(px_scale, ab_glyph::point(gx, gy));
            if let Some(outline) = raster.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|dx, dy, c| self.add(bx + dx as i32, by + dy as i32, c * darkness));
            }
            pen += pos.x_advance as f32 * scale;
        }
        pen
    }

    /// A line of ink from (x0, y0) to (x1, y1), `width` pixels thick (pen strokes, ticks).
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, width: f32, darkness: f32) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) * 2.0).max(1.0) as i32;
        let r = (width / 2.0).max(0.5);
        for i in 0..=steps {
            let t = i as f32 / steps as f32;
            let (cx, cy) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            for yy in (cy - r) as i32..=(cy + r) as i32 {
                for xx in (cx - r) as i32..=(cx + r) as i32 {
                    let (dx, dy) = (xx as f32 - cx, yy as f32 - cy);
                    if dx * dx + dy * dy <= r * r && xx >= 0 && yy >= 0 && (xx as u32) < self.width && (yy as u32) < self.height {
                        let i = (yy as u32 * self.width + xx as u32) as usize;
                        self.ink[i] = self.ink[i].max(darkness);
                    }
                }
            }
        }
    }

    /// A check box with its top-left corner at (x, y), ticked with a pen cross or empty.
    pub fn check_box(&mut self, x: f32, y: f32, size: f32, ticked: bool) {
        let (xi, yi, s) = (x as i32, y as i32, size as i32);
        for (rx, ry, rw, rh) in [(xi, yi, s, 3), (xi, yi + s - 3, s, 3), (xi, yi, 3, s), (xi + s - 3, yi, 3, s)] {
            self.rect(rx, ry, rw, rh, 1.0);
        }
        if ticked {
            let m = size * 0.2;
            self.line(x + m, y + m, x + size - m, y + size - m, 4.0, 0.9);
            self.line(x + size - m, y + m, x + m, y + size - m, 4.0, 0.9);
        }
    }

    /// The canvas as grey pixels on paper of brightness `paper`.
    pub fn to_gray(&self, paper: u8) -> image::GrayImage {
        let raw = self.ink.iter().map(|c| (paper as f32 * (1.0 - c) + 20.0 * c) as u8).collect();
        image::GrayImage::from_raw(self.width, self.height, raw).expect("size")
    }
}

/// Splits text into runs of Khmer and non-Khmer script; spaces and punctuation stay with the
/// run they follow so that Latin punctuation is drawn with the Latin font.
pub fn script_runs(text: &str) -> Vec<(bool, String)> {
    let mut runs: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let khmer = chart::khmer::is_khmer(c);
        let neutral = !khmer && !c.is_alphanumeric();
        match runs.last_mut() {
            Some((k, s)) if *k == khmer || (neutral && !*k) => s.push(c),
            _ => runs.push((khmer, c.to_string())),
        }
    }
    runs
}
