//! The watch folder: files dropped into a folder are ingested once complete.
//!
//! Polling, so it works on network shares where change notifications do not. A file is taken
//! when its size and modification time have not changed for `settle` (a scanner still writing
//! keeps changing them); temporary names (`*.part`, `*.tmp`, `~*`, `.*`) are never taken.
//! After a file is committed to the ledger (or found to be a duplicate) it is moved to
//! `move_to` (keeping its sub-folder) or left in place; a rejected file is moved to
//! `rejected_to` with a `.reason.txt` beside it, or left. Nothing is moved before its commit,
//! and a restart is safe: files still in the folder are seen again and are duplicates.

use crate::pipeline::{ingest_files, FileEvent, IngestOptions, PipelineError, Progress};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use store::blobs::BlobStore;
use store::Store;

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The folder clerks drop scans into.
    pub dir: PathBuf,
    /// Where committed files go; `None` leaves them.
    pub move_to: Option<PathBuf>,
    /// Where rejected files go; `None` leaves them.
    pub rejected_to: Option<PathBuf>,
    /// How long a file must stay unchanged before it is taken.
    pub settle: Duration,
    /// Time between scans of the folder.
    pub interval: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Files committed as new charts.
    pub accepted: u64,
    /// Files already in the ledger.
    pub duplicates: u64,
    /// Files set aside.
    pub rejected: u64,
}

/// State kept between rounds: what each file looked like and since when.
#[derive(Debug, Default)]
pub struct Watcher {
    seen: HashMap<PathBuf, (u64, SystemTime, Instant)>,
    handled: HashMap<PathBuf, (u64, SystemTime)>,
    /// Paths not read (links out of the folder), reported once each.
    refused: std::collections::HashSet<PathBuf>,
}

#[derive(Default)]
struct Collect(Mutex<Vec<(PathBuf, FileEvent)>>);

impl Progress for Collect {
    fn file_done(&self, path: &Path, outcome: &FileEvent) {
        self.0.lock().expect("not poisoned").push((path.to_path_buf(), outcome.clone()));
    }
}

impl Watcher {
    /// Files under the folder that have settled and were not handled in their current state.
    pub fn settled(&mut self, options: &WatchOptions) -> Vec<PathBuf> {
        let (files, refused) = crate::discover(std::slice::from_ref(&options.dir));
        for (path, reason) in refused {
            if self.refused.insert(path.clone()) {
                tracing::warn!(path = %path.display(), %reason, "not read");
            }
        }
        let now = Instant::now();
        let mut ready = Vec::new();
        let mut present = std::collections::HashSet::new();
        for path in files {
            if [&options.move_to, &options.rejected_to].into_iter().flatten().any(|d| path.starts_with(d)) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let state = (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
            present.insert(path.clone());
            if self.handled.get(&path) == Some(&state) {
                continue;
            }
            let entry = self.seen.entry(path.clone()).or_insert((state.0, state.1, now));
            if (entry.0, entry.1) != state {
                *entry = (state.0, state.1, now);
            } else if now.duration_since(entry.2) >= options.settle {
                ready.push(path);
            }
        }
        self.seen.retain(|p, _| present.contains(p));
        self.handled.retain(|p, _| present.contains(p));
        ready
    }

    /// One round: ingest the settled files and move them as asked.
    pub async fn round(&mut self, store: &Store, blobs: &BlobStore, ingest: &IngestOptions, options: &WatchOptions) -> Result<RoundReport, PipelineError> {
        let ready = self.settled(options);
        let mut report = RoundReport::default();
        if ready.is_empty() {
            return Ok(report);
        }
        let collect = Collect::default();
        ingest_files(store, blobs, &ready, ingest, &collect).await?;
        for (path, event) in collect.0.into_inner().expect("not poisoned") {
            let target = match &event {
                FileEvent::Accepted { charts, .. } => {
                    report.accepted += 1;
                    tracing::info!(path = %path.display(), charts = %charts.join(","), "accepted");
                    options.move_to.as_deref()
                }
                FileEvent::Duplicate { chart } => {
                    report.duplicates += 1;
                    tracing::info!(path = %path.display(), %chart, "duplicate");
                    options.move_to.as_deref()
                }
                FileEvent::Rejected { reason } => {
                    report.rejected += 1;
                    tracing::warn!(path = %path.display(), %reason, "rejected");
                    if let Some(dir) = &options.rejected_to {
                        let note = relocate_path(&path, &options.dir, dir)
                            .with_extension(format!("{}.reason.txt", path.extension().map(|e| e.to_string_lossy().to_string()).unwrap_or_default()));
                        if let Some(parent) = note.parent() {
                            let _ = std::fs::create_dir_all(parent);
                        }
                        let _ = std::fs::write(note, format!("{reason}\n"));
                    }
                    options.rejected_to.as_deref()
                }
            };
            match target {
                Some(dir) => {
                    let to = relocate_path(&path, &options.dir, dir);
                    if let Err(e) = move_file(&path, &to) {
                        tracing::error!(path = %path.display(), to = %to.display(), error = %e, "cannot move; leaving it");
                        self.remember(&path);
                    }
                }
                None => self.remember(&path),
            }
        }
        Ok(report)
    }

    fn remember(&mut self, path: &Path) {
        if let Ok(meta) = std::fs::metadata(path) {
            self.handled.insert(path.to_path_buf(), (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        }
    }
}

/// `path` under `from`, re-rooted under `to`; a name that exists there gets a numbered suffix.
fn relocate_path(path: &Path, from: &Path, to: &Path) -> PathBuf {
    let relative = path.strip_prefix(from).unwrap_or(path.file_name().map(Path::new).unwrap_or(path));
    let mut target = to.join(relative);
    let mut n = 1;
    while target.exists() {
        let stem = relative.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let ext = relative.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        target = to.join(relative).with_file_name(format!("{stem}.{n}{ext}"));
        n += 1;
    }
    target
}

/// Moves a file, across file systems too (copy, fsync, then remove).
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()?;
    std::fs::remove_file(from)
}
