//! Progress reporting for the terminal (indicatif bars) and for logs (tracing lines).

use indicatif::{ProgressBar, ProgressStyle};
use ingest::pipeline::FileEvent;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bars on a terminal.
pub struct Bars {
    bar: ProgressBar,
    rejected: AtomicU64,
}

impl Bars {
    fn new(template: &str) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
        Self { bar, rejected: AtomicU64::new(0) }
    }

    /// A bar for importing files.
    pub fn files() -> Self {
        Self::new("{prefix:>8} [{bar:30}] {pos}/{len} files  {per_sec}  eta {eta}  {msg}")
    }

    /// A bar for processing pages.
    pub fn pages() -> Self {
        Self::new("{prefix:>8} [{bar:30}] {pos}/{len} pages  {per_sec}  eta {eta}  {msg}")
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.bar.finish();
    }
}

impl ingest::Progress for Bars {
    fn files_found(&self, total: usize) {
        self.bar.set_prefix("ingest");
        self.bar.set_length(total as u64);
    }

    fn file_done(&self, path: &Path, outcome: &FileEvent) {
        if let FileEvent::Rejected { reason } = outcome {
            let n = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.println(format!("rejected {}: {reason}", path.display()));
            self.bar.set_message(format!("{n} rejected"));
        }
        self.bar.inc(1);
    }

    fn pages_found(&self, total: u64) {
        self.bar.set_prefix("ocr");
        self.bar.set_length(total);
    }

    fn page_done(&self, ok: bool) {
        if !ok {
            let n = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{n} failed"));
        }
        self.bar.inc(1);
    }
}

/// Plain log lines when stderr is not a terminal.
pub struct Log;

impl ingest::Progress for Log {
    fn file_done(&self, path: &Path, outcome: &FileEvent) {
        match outcome {
            FileEvent::Accepted { charts, pages } => tracing::info!(path = %path.display(), charts = %charts.join(","), pages, "accepted"),
            FileEvent::Duplicate { chart } => tracing::info!(path = %path.display(), %chart, "duplicate"),
            FileEvent::Rejected { .. } => {}
        }
    }

    fn pages_found(&self, total: u64) {
        if total > 0 {
            tracing::info!(pages = total, "processing queued pages");
        }
    }
}
