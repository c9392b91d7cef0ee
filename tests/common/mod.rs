//! Helpers for the end-to-end tests: run the real `chartscan` binary in a scratch folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch workspace with its own database and data directory.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `chartscan` with this workspace's database and data directory.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chartscan"));
        c.current_dir(self.path())
            .env("CHARTSCAN_DB", format!("sqlite://{}/db/chartscan.db", self.path().display()))
            .env("CHARTSCAN_DATA", self.path().join("data"))
            .env("OMP_THREAD_LIMIT", "1")
            .env_remove("CHARTSCAN_TEMPLATES")
            .stdin(Stdio::null());
        c
    }

    /// Runs `chartscan ARGS` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("chartscan runs")
    }

    /// Runs `chartscan ARGS --json` style commands and parses stdout.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("{args:?}: stdout is not JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), value)
    }
}

/// Where the shared test corpus is; fails loudly when it is missing.
pub fn corpus() -> PathBuf {
    let dir = std::env::var("CHARTSCAN_CORPUS").map(PathBuf::from).unwrap_or_else(|_| root().join("../shared/corpus"));
    assert!(
        dir.is_dir(),
        "THE TEST CORPUS IS MISSING at {}: set CHARTSCAN_CORPUS to the shared corpus folder (./dev test does). \
         These tests do not pass without it.",
        dir.display()
    );
    dir
}

/// Compares canonical values as a reader would (Khmer NFC, coeng DA = coeng TA).
pub fn same_value(a: &str, b: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let key = |s: &str| s.nfc().collect::<String>().replace("\u{17D2}\u{178A}", "\u{17D2}\u{178F}");
    key(a) == key(b)
}
