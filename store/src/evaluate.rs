//! The inputs of `chartscan evaluate` and `calibrate`: ground-truth files and the OCR words
//! to extract from (stored with each chart, or saved to a folder by `--save-words`). The
//! comparison itself is the domain's ([`chart::eval`]); this module only reads and writes.
//! Tests and benchmarks read truth through [`read_truths`] too, so there is one reader.

use crate::{Result, Store, StoreError};
use chart::eval::Truth;
use chart::PageWords;
use std::collections::BTreeMap;
use std::path::Path;

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

/// The truth files under `dir` (any depth: the samples keep one folder per facility) as
/// JSON, by the file they describe (their `"file"`); JSON files without one are skipped.
/// The one reader of truth files: `evaluate`, `calibrate` and the tests use it.
pub fn truth_files(dir: &Path) -> Result<BTreeMap<String, serde_json::Value>> {
    let mut out = BTreeMap::new();
    let mut files = vec![dir.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(io(format!("reading {}", path.display())))?;
            files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| StoreError::Invalid(format!("parsing {}: {e}", path.display())))?;
            if let Some(file) = v["file"].as_str() {
                out.insert(file.to_string(), v);
            }
        }
    }
    Ok(out)
}

/// The truth files under `dir`, read into [`Truth`] (both formats: see
/// [`Truth::from_json`]), by the file they describe.
pub fn read_truths(dir: &Path) -> Result<BTreeMap<String, Truth>> {
    let truths: BTreeMap<String, Truth> = truth_files(dir)?.values().filter_map(Truth::from_json).map(|t| (t.file.clone(), t)).collect();
    if truths.is_empty() {
        return Err(StoreError::NotFound(format!("no truth files (*.json with a \"file\") under {}", dir.display())));
    }
    Ok(truths)
}

/// Words saved by `--save-words` in `dir` for every truth that has them, in file order.
pub fn saved_words(dir: &Path, truths: &BTreeMap<String, Truth>) -> Result<Vec<(Truth, Vec<PageWords>)>> {
    let mut out = Vec::new();
    for (file, t) in truths {
        let path = dir.join(format!("{file}.json"));
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
        let pages = serde_json::from_str(&text).map_err(|e| StoreError::Invalid(format!("parsing {}: {e}", path.display())))?;
        out.push((t.clone(), pages));
    }
    Ok(out)
}

impl Store {
    /// The stored OCR words of every chart that has a truth file, in file order (also written
    /// to `save_words`/<file>.json when given: the recorded words `chart`'s tests use).
    pub async fn words_for_truths(&self, truths: &BTreeMap<String, Truth>, save_words: Option<&Path>) -> Result<Vec<(Truth, Vec<PageWords>)>> {
        let mut out = Vec::new();
        for record in self.charts(None).await? {
            let Some(file) = record.sources.first().map(|s| s.file.clone()) else { continue };
            let Some(t) = truths.get(&file) else { continue };
            let words = self.chart_words(&record.chart).await?;
            if let Some(dir) = save_words {
                std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
                let path = dir.join(format!("{file}.json"));
                std::fs::write(&path, serde_json::to_string(&words).expect("words serialise") + "\n").map_err(io(format!("writing {}", path.display())))?;
            }
            out.push((t.clone(), words));
        }
        out.sort_by(|a, b| a.0.file.cmp(&b.0.file));
        Ok(out)
    }
}
