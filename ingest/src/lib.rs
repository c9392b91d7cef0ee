//! Files in, charts out: discovery, hashing, bounded decoding, the durable ledger of
//! accepted files, and the pipeline that drives preprocessing, OCR and extraction.
//!
//! Invariant: an accepted file's original is written durably to the data directory before
//! its row is committed; a file whose content is already in the ledger is a duplicate and is
//! never recorded twice (the chart id is derived from the content hash).
//! Invariant: every input is decoded by Rust decoders under explicit [`Limits`]; a file that
//! cannot be decoded is rejected with its path and reason and the batch goes on. The check
//! that accepts a file runs in a child process bounded by the kernel ([`isolate`]) when the
//! caller names the program to run, as the `chartscan` binary does.

pub mod decode;
pub mod discover;
pub mod isolate;
pub mod pipeline;
pub mod watch;

pub use decode::{decode_page, inspect, inspect_pages, DecodeError, Limits, MediaType, Source};
pub use discover::discover;
pub use pipeline::{ingest_files, process_queue, IngestOptions, IngestReport, ProcessOptions, ProcessReport, Progress, Rejected};
