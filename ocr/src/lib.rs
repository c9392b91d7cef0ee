//! Page image to words: preprocessing (grey, threshold, deskew) and recognition.
//!
//! Invariant: Tesseract (through leptess) only ever receives pixels that Rust decoded and
//! preprocessed; no file path or encoded file reaches leptonica's decoders.
//! Invariant: one [`TesseractRecognizer`] per worker thread, created once and reused, with
//! OpenMP nesting switched off on that thread ([`configure_worker_thread`]).

pub mod marks;
pub mod orient;
pub mod preprocess;
pub mod recognize;

pub use preprocess::{PreparedPage, Preprocessor};
pub use recognize::{configure_worker_thread, OcrConfig, OcrError, Recognizer, ReplayRecognizer, TesseractRecognizer};
