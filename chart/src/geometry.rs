//! Axis-aligned rectangles in pixels of a stored page image.

use serde::{Deserialize, Serialize};

/// A rectangle `[x, y, w, h]` in pixels; serialised as a four-number array as in the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(from = "[u32; 4]", into = "[u32; 4]")]
pub struct BBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl BBox {
    /// A rectangle from its left, top, width and height.
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// The right edge (exclusive).
    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    /// The bottom edge (exclusive).
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &BBox) -> BBox {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        let r = self.right().max(other.right());
        let b = self.bottom().max(other.bottom());
        BBox::new(x, y, r - x, b - y)
    }

    /// The area two boxes share, in square pixels.
    pub fn intersection_area(&self, other: &BBox) -> u32 {
        let w = self.right().min(other.right()).saturating_sub(self.x.max(other.x));
        let h = self.bottom().min(other.bottom()).saturating_sub(self.y.max(other.y));
        w * h
    }

    /// Whether the centre of `self` lies within `other`.
    pub fn center_within(&self, other: &BBox) -> bool {
        let (cx, cy) = (self.x + self.w / 2, self.y + self.h / 2);
        cx >= other.x && cx < other.right() && cy >= other.y && cy < other.bottom()
    }

    /// The vertical centre.
    pub fn center_y(&self) -> u32 {
        self.y + self.h / 2
    }

    /// How much of the shorter of the two vertical extents they share, 0..1.
    pub fn vertical_overlap(&self, other: &BBox) -> f32 {
        let top = self.y.max(other.y);
        let bottom = self.bottom().min(other.bottom());
        if bottom <= top {
            return 0.0;
        }
        (bottom - top) as f32 / self.h.min(other.h).max(1) as f32
    }
}

impl From<[u32; 4]> for BBox {
    fn from(a: [u32; 4]) -> Self {
        BBox::new(a[0], a[1], a[2], a[3])
    }
}

impl From<BBox> for [u32; 4] {
    fn from(b: BBox) -> Self {
        [b.x, b.y, b.w, b.h]
    }
}
