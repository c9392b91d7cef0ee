//! The subcommands, one module each (`run(&Context, Args)`), and what several of them share:
//! the [`Context`] (database, data directory, templates), the OCR and batch options, the
//! processing loop with its progress bars, and where output goes.

pub mod archive;
pub mod audit;
pub mod backup;
pub mod calibrate;
pub mod commit;
pub mod demo;
pub mod doctor;
pub mod evaluate;
pub mod export;
pub mod ingest;
pub mod push;
pub mod report;
pub mod serve;
pub mod stats;
pub mod templates;
pub mod user;
pub mod watch;
pub mod worker;

use crate::progress;
use ::ingest::pipeline::ProcessReport;
use ::ingest::{IngestOptions, Limits, ProcessOptions};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use ocr::{OcrConfig, Preprocessor};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::blobs::BlobStore;
use store::{DatabaseUrl, Store};

/// What every subcommand is given: where the store and the data directory are, and the
/// form templates in use.
pub struct Context {
    /// The database (its password never printed).
    pub db: DatabaseUrl,
    /// The data directory (originals and page images).
    pub data: PathBuf,
    /// The form templates: the bundled ones, or those of `--templates`.
    pub templates: Arc<Vec<chart::Template>>,
}

impl Context {
    /// The context of a command line: the templates are read (and checked) now.
    pub fn new(db: DatabaseUrl, data: PathBuf, templates: Option<&Path>) -> Result<Context> {
        Ok(Context { db, data, templates: Arc::new(load_templates(templates)?) })
    }

    /// Opens the store (extracting with this context's templates) and the data directory.
    pub async fn open(&self) -> Result<(Store, BlobStore)> {
        let store = self.store().await?;
        let blobs = BlobStore::new(&self.data)?;
        Ok((store, blobs))
    }

    /// Opens the store alone.
    pub async fn store(&self) -> Result<Store> {
        let store = Store::open(self.db.expose()).await.with_context(|| format!("opening database {}", self.db))?;
        Ok(store.with_templates(self.templates.clone()))
    }
}

/// The templates of a folder (`*.toml`, in name order), or the bundled standard ones.
fn load_templates(dir: Option<&Path>) -> Result<Vec<chart::Template>> {
    let Some(dir) = dir else { return Ok(chart::standard_templates()) };
    let mut templates = Vec::new();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).with_context(|| format!("reading templates folder {}", dir.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        templates.push(chart::Template::parse(&text).with_context(|| format!("template {}", path.display()))?);
    }
    if templates.is_empty() {
        bail!("no *.toml templates in {}", dir.display());
    }
    Ok(templates)
}

/// Who runs a command, for the audit log: `cli:` and the operating-system user the process
/// runs as (from its user id, not from the environment, which the caller sets).
pub fn cli_actor() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|passwd| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
        })
    });
    format!("cli:{}", name.unwrap_or_else(|| format!("uid {uid}")))
}

/// What is recorded with every file of a batch (ingest and watch).
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Facility code recorded with every chart (e.g. PP01).
    #[arg(long, env = "CHARTSCAN_FACILITY", default_value = "UNKNOWN")]
    facility: String,
    /// Batch name (default: today's date and the first folder's name).
    #[arg(long)]
    batch: Option<String>,
    /// Label of the archive box the paper came from.
    #[arg(long = "box", value_name = "LABEL")]
    box_label: Option<String>,
    /// Who scanned the batch.
    #[arg(long, env = "CHARTSCAN_OPERATOR")]
    operator: Option<String>,
    /// Longest time checking one file may take, in seconds; a file that takes longer is
    /// rejected and its decoder stopped.
    #[arg(long, env = "CHARTSCAN_DECODE_TIMEOUT", value_name = "SECONDS", default_value_t = Limits::default().max_decode_seconds)]
    decode_timeout: u64,
}

impl BatchArgs {
    /// The ingest options of a batch of `paths`.
    pub fn options(&self, paths: &[PathBuf], ocr: &OcrArgs, split: chart::SplitOn) -> IngestOptions {
        let mut options = ingest_options(
            &self.facility,
            self.batch.clone().unwrap_or_else(|| default_batch(paths)),
            self.box_label.clone(),
            self.operator.clone(),
            ocr,
            split,
        );
        options.limits.max_decode_seconds = self.decode_timeout;
        options
    }
}

/// Ingest options from their parts. Files are checked in child processes of this program
/// (`ingest::isolate`), so that no file can take the batch down.
pub fn ingest_options(
    facility: &str,
    batch: String,
    box_label: Option<String>,
    operator: Option<String>,
    ocr: &OcrArgs,
    split: chart::SplitOn,
) -> IngestOptions {
    IngestOptions {
        facility: facility.to_string(),
        batch,
        box_label,
        operator,
        limits: Limits::default(),
        jobs: ocr.options().jobs,
        split,
        isolate: std::env::current_exe().ok(),
    }
}

/// OCR settings shared by the commands that process pages.
#[derive(Debug, Args)]
pub struct OcrArgs {
    /// Worker threads, one Tesseract each (default: all cores).
    #[arg(long, short = 'j', env = "CHARTSCAN_JOBS")]
    jobs: Option<usize>,
    /// Tesseract languages.
    #[arg(long, env = "CHARTSCAN_LANG", default_value = "eng+khm")]
    lang: String,
    /// Tesseract page segmentation mode (6, one block, reads forms best: see the README).
    #[arg(long, env = "CHARTSCAN_PSM", default_value_t = 6)]
    psm: u32,
    /// Skip deskewing.
    #[arg(long)]
    no_deskew: bool,
    /// Give Tesseract grey pages instead of thresholded ones.
    #[arg(long)]
    no_binarize: bool,
    /// Keep specks (small dots of scanner noise) in the page given to Tesseract.
    #[arg(long)]
    no_despeckle: bool,
    /// Do not turn pages scanned sideways or upside down.
    #[arg(long)]
    no_orientation: bool,
    /// Do not look for check boxes (sex, outcome) in the pixels.
    #[arg(long)]
    no_check_boxes: bool,
    /// Engines (languages) that read values which did not validate a second time, comma
    /// separated; "none" for no second readings.
    #[arg(long, env = "CHARTSCAN_SECOND_OPINION", default_value = "khm,eng")]
    second_opinion: String,
    /// Read each page once, in one-block mode, instead of also reading it again as sparse
    /// text: about half the engine's time, and fewer fields read right (labels stacked in
    /// a cell, grids of label and value cells).
    #[arg(long, env = "CHARTSCAN_NO_SPARSE_READING")]
    no_sparse_reading: bool,
    /// Threshold each pixel from its neighbourhood (Sauvola) instead of one threshold per
    /// page (Otsu): for stained, grey or unevenly lit paper.
    #[arg(long)]
    sauvola: bool,
    /// Keep dark scanner borders in the page given to Tesseract.
    #[arg(long)]
    keep_borders: bool,
    /// Keep ruled lines and table borders in the page given to Tesseract.
    #[arg(long)]
    keep_lines: bool,
    /// Read pages at 1/N of their size (large print reads as well and faster).
    #[arg(long, env = "CHARTSCAN_OCR_DOWNSCALE", default_value_t = 1)]
    ocr_downscale: u32,
    /// Read small print (150-200 dpi scans, A5 cards) at its own size instead of enlarged
    /// for the engine.
    #[arg(long)]
    no_enlarge: bool,
}

impl OcrArgs {
    /// The processing options these arguments ask for.
    pub fn options(&self) -> ProcessOptions {
        let mut o = ProcessOptions {
            ocr: OcrConfig { languages: self.lang.clone(), page_segmentation_mode: self.psm, ..Default::default() },
            preprocess: Preprocessor {
                deskew: !self.no_deskew,
                binarize: !self.no_binarize,
                despeckle: !self.no_despeckle,
                ocr_downscale: self.ocr_downscale.clamp(1, 4),
                enlarge_small_text: !self.no_enlarge,
                method: if self.sauvola { ocr::preprocess::Binarization::Sauvola } else { ocr::preprocess::Binarization::Otsu },
                remove_borders: !self.keep_borders,
                remove_lines: !self.keep_lines,
                ..Default::default()
            },
            detect_orientation: !self.no_orientation,
            check_boxes: !self.no_check_boxes,
            sparse_reading: !self.no_sparse_reading,
            second_opinion: self.second_opinion.split(',').map(str::trim).filter(|l| !l.is_empty() && *l != "none").map(str::to_string).collect(),
            worker_name: format!("{}-{}", hostname(), std::process::id()),
            ..Default::default()
        };
        if let Some(j) = self.jobs {
            o.jobs = j.max(1);
        }
        o
    }
}

/// This machine's name (worker and pusher names are `HOST-PID`).
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "host".into())
}

/// Today's date and the first folder's name.
fn default_batch(paths: &[PathBuf]) -> String {
    let name = paths
        .first()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.file_stem().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "batch".into());
    format!("{}-{name}", today())
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// Processes the queue (bars on a terminal when `show`, log lines otherwise).
pub async fn process(store: &Store, blobs: &BlobStore, options: &ProcessOptions, show: bool) -> Result<ProcessReport> {
    let progress: Arc<dyn ::ingest::Progress> = if show { Arc::new(progress::Bars::pages()) } else { Arc::new(progress::Log) };
    let report = ::ingest::process_queue(store, blobs, options, progress).await?;
    if report.processed_pages > 0 {
        tracing::info!(
            pages = report.processed_pages,
            failed = report.failed_pages,
            seconds = format!("{:.1}", report.seconds),
            pages_per_second = format!("{:.2}", report.processed_pages as f64 / report.seconds.max(1e-9)),
            "processing finished"
        );
    }
    Ok(report)
}

/// Where output goes: the file, or stdout.
pub fn output(out: Option<&Path>) -> Result<Box<dyn Write + Send>> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}
