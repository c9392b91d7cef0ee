//! Helpers for the end-to-end tests: run the real `chartscan` binary in a scratch folder.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

    /// A folder in the workspace holding copies of these sample scans (paths under
    /// `samples/charts`): a small batch for tests that need a few charts, not all forty.
    pub fn samples(&self, files: &[&str]) -> PathBuf {
        let dir = self.path().join(format!("batch-{}", files.len()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            let from = root().join("samples/charts").join(f);
            std::fs::copy(&from, dir.join(from.file_name().unwrap())).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        }
        dir
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
        let value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
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

/// Kills the child process when dropped (also when a test panics).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Workspace {
    /// Starts `chartscan serve` on a free loopback port; returns the process and its URL.
    pub fn serve(&self) -> (Killed, String) {
        let mut child = self.cmd().args(["serve", "--bind", "127.0.0.1:0"]).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("the server printed its address").unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break format!("http://{}", rest.trim_end_matches('/'));
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (Killed(child), url)
    }

    /// Adds a user through `chartscan user add`, the password on stdin.
    pub fn add_user(&self, name: &str, role: &str, password: &str) {
        let mut add = self.cmd().args(["user", "add", name, "--role", role]).stdin(Stdio::piped()).spawn().unwrap();
        add.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        assert!(add.wait().unwrap().success(), "user add {name}");
    }
}

/// The Python with fhir.resources; fails loudly when it is not installed.
pub fn fhir_python() -> PathBuf {
    let python =
        std::env::var("CHARTSCAN_FHIR_PYTHON").ok().filter(|p| !p.is_empty()).map(PathBuf::from).unwrap_or_else(|| root().join("target/fhir-venv/bin/python"));
    let ok = Command::new(&python).args(["-c", "import fhir.resources as f; assert f.__fhir_version__ == '4.0.1'"]).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "THE FHIR VALIDATOR IS MISSING: {} cannot import fhir.resources for FHIR R4 4.0.1. Run ./dev test (it installs tests/fhir/requirements.txt into target/fhir-venv) or set CHARTSCAN_FHIR_PYTHON.",
        python.display()
    );
    python
}

/// Validates a FHIR bundle file with tests/fhir/validate.py: its resource counts, or the errors.
pub fn validation(file: &std::path::Path) -> Result<Value, String> {
    let out = Command::new(fhir_python()).arg(root().join("tests/fhir/validate.py")).arg(file).output().unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// Validates a FHIR bundle file; panics with the errors when it is invalid.
pub fn validate(file: &std::path::Path) -> Value {
    validation(file).unwrap_or_else(|e| panic!("fhir.resources rejects {}:\n{e}", file.display()))
}
