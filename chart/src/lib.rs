//! The pure domain of chartscan: what a chart, a page, an OCR word, a form template and an
//! extracted field are, how raw OCR text becomes a canonical value, and how fields are found
//! on a page from OCR words and a template.
//!
//! Invariant: this crate does no IO, has no async, no FFI and no database or web dependency
//! (a test in `tests/no_io_deps.rs` enforces it). Everything here takes values and returns
//! values; extraction never fails, it reports unreadable fields as missing with an issue for
//! the reviewer.

pub mod archive;
pub mod confidence;
pub mod detect;
pub mod eval;
pub mod extract;
pub mod fhir;
pub mod field;
pub mod geometry;
pub mod khmer;
pub mod matching;
pub mod normalize;
pub mod province;
pub mod record;
pub mod reference;
pub mod register;
pub mod split;
pub mod status;
pub mod studio;
pub mod template;
pub mod text;
pub mod validate;
pub mod words;

pub use detect::{detect_form, FormGuess};
pub use extract::{extract, extract_for, Extraction, UNKNOWN_FORM};
pub use field::{Evidence, ExtractedField, FieldValue, Found, Row, Verdict};
pub use geometry::BBox;
pub use normalize::{FieldType, ValueError};
pub use split::{segments, PageKind, SplitOn};
pub use status::{ChartStatus, PageStatus, Role};
pub use template::{standard_templates, FieldSpec, Template, TemplateError, Term};
pub use words::{PageWords, Word};
