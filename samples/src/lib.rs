//! Synthetic test data for chartscan: invented patients, never real people. The binary
//! (`chartscan-samples`) draws chart pages; this library holds what tests and benchmarks
//! share, such as the patient-matching evaluation set.

pub mod people;
pub mod rng;
