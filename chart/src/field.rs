//! A field as extraction found it and as the reviewer sees it.

use crate::geometry::BBox;
use serde::{Deserialize, Serialize};

/// One extracted field of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedField {
    /// The canonical value, or `None` when the field was not found or not valid.
    pub value: Option<String>,
    /// The text as read (untrusted OCR output).
    pub raw: String,
    /// How sure extraction is, 0..1.
    pub confidence: f32,
    /// False only when the system auto-accepts the value.
    pub needs_review: bool,
    /// Page within the chart, from 1 (0 when not found).
    pub page: u32,
    /// Where the value is on the page image.
    pub bbox: Option<BBox>,
    /// Why the field needs a reviewer, in words.
    pub issue: Option<String>,
}

impl ExtractedField {
    /// A field that was not found on any page.
    pub fn missing(issue: impl Into<String>) -> Self {
        Self { value: None, raw: String::new(), confidence: 0.0, needs_review: true, page: 0, bbox: None, issue: Some(issue.into()) }
    }
}
