//! The house's habits that a compiler does not check: every Rust source file opens with a
//! `//!` comment saying what it is for, and nothing in the repository cites a document
//! outside it (the contract and the stack notes live in `docs/`). `.ci/run` also runs
//! `cargo fmt --check` and `cargo clippy -D warnings` before the tests.

mod common;

use std::path::{Path, PathBuf};

/// Every file under `dir` with one of `extensions`, skipping build output and generated data.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let relative = path.strip_prefix(common::root()).unwrap().to_string_lossy().to_string();
            let generated = ["target", ".git", "node_modules", "samples/charts", "samples/ocr", "samples/expected", "samples/truth"];
            if !generated.contains(&relative.as_str()) && name != "node_modules" {
                files(&path, extensions, out);
            }
        } else if extensions.iter().any(|e| name.ends_with(e)) {
            out.push(path);
        }
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut sources = Vec::new();
    files(&common::root(), &[".rs"], &mut sources);
    assert!(sources.len() > 50, "found only {} Rust files: is the walk broken?", sources.len());
    let silent: Vec<String> = sources
        .iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().trim_start().starts_with("//!"))
        .map(|p| p.strip_prefix(common::root()).unwrap().display().to_string())
        .collect();
    assert!(silent.is_empty(), "these files do not open with a //! comment saying what they are for: {silent:?}");
}

#[test]
fn nothing_cites_a_document_outside_the_repository() {
    let mut texts = Vec::new();
    files(&common::root(), &[".rs", ".md", ".toml", ".sh", ".js", ".html", ".css"], &mut texts);
    texts.push(common::root().join("dev"));
    let mut outside = Vec::new();
    for path in texts.iter().filter(|p| !p.ends_with("tests/tidy.rs")) {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // The corpus is found through CHARTSCAN_CORPUS, whose default is beside the checkout;
            // documents are not.
            let cites_shared_doc = line.contains("../shared/") && [".md"].iter().any(|e| line.contains(e)) && !line.contains("corpus");
            let bare = ["CONTRACT.md", "STACK-NOTES.md", "STYLE.md"].iter().any(|d| line.contains(d) && !line.contains(&format!("docs/{d}")));
            if cites_shared_doc || bare {
                outside.push(format!("{}:{}: {}", path.strip_prefix(common::root()).unwrap().display(), n + 1, line.trim()));
            }
        }
    }
    for doc in ["docs/CONTRACT.md", "docs/STACK-NOTES.md", "ARCHITECTURE.md"] {
        assert!(common::root().join(doc).is_file(), "{doc} is missing");
    }
    assert!(outside.is_empty(), "cite docs/CONTRACT.md or docs/STACK-NOTES.md (in the repository) instead:\n{}", outside.join("\n"));
}
