//! `chartscan`: the command line. Reads arguments and environment, builds the parts and
//! calls library functions; progress bars, colours and exit codes live only here.

mod progress;
mod push;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ingest::pipeline::{IngestReport, ProcessReport};
use ingest::{IngestOptions, Limits, ProcessOptions};
use ocr::{OcrConfig, Preprocessor};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::blobs::BlobStore;
use store::Store;

/// Turns scanned paper patient charts into structured, reviewed records.
///
/// Scans go in with `ingest` (or a `worker` processes the queue), reviewers correct and
/// approve in the browser (`serve`), managers follow `stats` and `export` the approved records.
#[derive(Debug, Parser)]
#[command(name = "chartscan", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "CHARTSCAN_DB", default_value = "sqlite://chartscan-data/chartscan.db", global = true)]
    db: String,
    /// Data directory for originals and page images (content-addressed).
    #[arg(long, env = "CHARTSCAN_DATA", default_value = "chartscan-data", global = true)]
    data: PathBuf,
    /// Folder of form templates (*.toml); default: the bundled standard templates.
    #[arg(long, env = "CHARTSCAN_TEMPLATES", global = true)]
    templates: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest samples/charts, create demo users and serve the review UI.
    Demo {
        /// Folder of sample charts, one sub-folder per facility code.
        #[arg(long, default_value = "samples/charts")]
        samples: PathBuf,
        /// Address to serve on.
        #[arg(long, env = "CHARTSCAN_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        ocr: OcrArgs,
    },
    /// Import scans (files and folders, recursively), then OCR and extract them.
    Ingest {
        /// Files or folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        batch: BatchArgs,
        /// Write the batch's rejections to FILE (.json for JSON, otherwise CSV: path,reason).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Cut multi-page files into charts: at separator sheets (samples/separator.png),
        /// at blank pages, or not at all. Blank pages are flagged either way, never dropped.
        #[arg(long, default_value = "none", value_parser = ["none", "separator", "blank"])]
        split_on: String,
        /// Only import and queue; leave OCR to `chartscan worker`.
        #[arg(long)]
        no_process: bool,
        /// Print one JSON report on stdout instead of a summary.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ocr: OcrArgs,
    },
    /// Watch a folder: ingest each scan dropped into it once it is complete, then process it.
    Watch {
        /// The folder clerks or scanners drop files into.
        dir: PathBuf,
        #[command(flatten)]
        batch: BatchArgs,
        /// Move each file here once it is committed (default: leave it where it is).
        #[arg(long, value_name = "DIR")]
        move_to: Option<PathBuf>,
        /// Move rejected files here, with a .reason.txt beside each (default: leave them).
        #[arg(long, value_name = "DIR")]
        rejected_to: Option<PathBuf>,
        /// Seconds a file's size and time must stay unchanged before it is taken.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        /// Seconds between scans of the folder.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
        /// Only import and queue; leave OCR to `chartscan worker`.
        #[arg(long)]
        no_process: bool,
        #[command(flatten)]
        ocr: OcrArgs,
    },
    /// Process queued pages; any number of workers may share one PostgreSQL store.
    Worker {
        /// Exit when the queue is empty instead of waiting for more.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        ocr: OcrArgs,
    },
    /// Serve the review UI and JSON API.
    Serve {
        /// Address to serve on.
        #[arg(long, env = "CHARTSCAN_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Counts of charts and pages, by status and facility.
    Stats {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Export charts.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Which charts.
        #[arg(long, value_enum, default_value = "approved")]
        status: ExportStatus,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only charts of this form (opd, ipd, anc, ...); for CSV, its fields are the columns,
        /// in the template's order: one spreadsheet per form.
        #[arg(long)]
        form: Option<String>,
    },
    /// Send committed records (and retractions) to a FHIR R4 server, oldest first, as
    /// transaction Bundles. Safe to re-run and to interrupt: what the server did not confirm
    /// is sent again, and conditional creates make a resend create nothing twice.
    Push {
        /// The FHIR server's base URL (transactions are POSTed to it).
        #[arg(long, env = "CHARTSCAN_FHIR_URL")]
        fhir_url: String,
        /// Changes (charts) per transaction.
        #[arg(long, default_value_t = 25)]
        batch_size: i64,
        /// Attempts per transaction when the server is unreachable or answers 408, 429 or 5xx.
        #[arg(long, default_value_t = 6)]
        attempts: u32,
        /// Seconds allowed for one transaction.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Seconds to wait after the first failed attempt (doubling, at most 60).
        #[arg(long, default_value_t = 1.0)]
        backoff: f64,
    },
    /// Commit approved charts that have no structured record yet (approved before records
    /// existed, or whose commit was undone), matching their patients. Charts whose patient is
    /// uncertain are listed for a reviewer and left uncommitted.
    Commit,
    /// Work with form templates.
    Templates {
        #[command(subcommand)]
        command: TemplateCommand,
    },
    /// Fit the confidence model on charts with ground truth: extraction runs on each chart's
    /// saved OCR words, every value it finds is compared with the truth, a logistic model
    /// learns from the evidence which values are right, and the auto-accept threshold is
    /// chosen on out-of-fold predictions for the precision asked (99.8% by default). Writes the model (the bundled
    /// one is chart/src/calibration.json; rebuild to use it).
    Calibrate {
        /// A set of charts: TRUTH=WORDS, truth files and the folder of their saved words
        /// (`evaluate --save-words`), with :odd or :even to take one half of a numbered set.
        #[arg(long = "set", value_name = "TRUTH=WORDS[:odd|:even]", required = true)]
        sets: Vec<String>,
        /// Where to write the model.
        #[arg(long, default_value = "chart/src/calibration.json")]
        out: PathBuf,
        /// The share of auto-accepted values that must be right (out of fold): the
        /// threshold is the lowest that keeps it.
        #[arg(long, default_value_t = chart::confidence::TARGET_PRECISION, value_parser = precision_arg)]
        precision: f64,
    },
    /// Measure extraction against ground truth: re-runs extraction, with the current
    /// templates, on the OCR words stored for every chart (or saved with --save-words), and
    /// prints exact-match accuracy and the share and precision of auto-accepted fields, per
    /// field, per layout style and per form, a threshold sweep and a reliability table.
    /// Ingest the pages first (`chartscan ingest samples/charts`).
    Evaluate {
        /// Folder of truth files: the samples' (`*.json` with "file", "form", "fields",
        /// "printed") or an independent set's (values as numbers, strings or rows, with
        /// "accept" and "style").
        #[arg(long, default_value = "samples/truth")]
        truth: PathBuf,
        /// Print the report as JSON (figures and every value compared).
        #[arg(long)]
        json: bool,
        /// Also write each chart's stored OCR words to DIR/<file>.json (the recorded words
        /// `chart`'s tests extract from without Tesseract).
        #[arg(long, value_name = "DIR")]
        save_words: Option<PathBuf>,
        /// Extract from words saved in DIR (by --save-words) instead of a store.
        #[arg(long, value_name = "DIR", conflicts_with = "save_words")]
        words: Option<PathBuf>,
        /// Report the odd-numbered (tuning) and even-numbered (held aside) charts apart.
        #[arg(long)]
        halves: bool,
        /// Also write the fresh extractions as JSON lines in the export's format.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user (or reset their password and role); the password is read from stdin.
    Add {
        /// Login name.
        name: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Debug, Subcommand)]
enum TemplateCommand {
    /// Check a template file and explain every problem.
    Check {
        /// The template (.toml).
        file: PathBuf,
    },
    /// List the templates in use.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Clerk,
    Reviewer,
    Manager,
    Admin,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// One JSON object per chart (CONTRACT.md).
    Jsonl,
    /// One row per chart; with --form, that form's fields as columns.
    Csv,
    /// A FHIR R4 transaction Bundle of the committed (approved) records.
    Fhir,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportStatus {
    Any,
    Approved,
}

/// What is recorded with every file of a batch (ingest and watch).
#[derive(Debug, Args)]
struct BatchArgs {
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
}

impl BatchArgs {
    fn options(&self, paths: &[PathBuf], ocr: &OcrArgs, split: chart::SplitOn) -> IngestOptions {
        ingest_options(&self.facility, self.batch.clone().unwrap_or_else(|| default_batch(paths)), self.box_label.clone(), self.operator.clone(), ocr, split)
    }
}

fn ingest_options(facility: &str, batch: String, box_label: Option<String>, operator: Option<String>, ocr: &OcrArgs, split: chart::SplitOn) -> IngestOptions {
    IngestOptions { facility: facility.to_string(), batch, box_label, operator, limits: Limits::default(), jobs: ocr.options().jobs, split }
}

/// OCR settings shared by the commands that process pages.
#[derive(Debug, Args)]
struct OcrArgs {
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
    fn options(&self) -> ProcessOptions {
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

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "host".into())
}

/// Tesseract's OpenMP reads `OMP_THREAD_LIMIT` once, when the library loads; setting it later
/// does nothing (STACK-NOTES). Commands that run OCR therefore start again with it set when
/// it is missing; worker threads also switch OpenMP nesting off themselves.
fn ensure_single_threaded_openmp(cli: &Cli) {
    let runs_ocr = matches!(cli.command, Command::Ingest { .. } | Command::Worker { .. } | Command::Demo { .. } | Command::Watch { .. });
    if runs_ocr && std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env("OMP_THREAD_LIMIT", "1").exec();
            eprintln!("warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR may be slow");
        }
    }
}

fn main() {
    let cli = Cli::parse();
    ensure_single_threaded_openmp(&cli);
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHARTSCAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,chartscan=info,review_ui=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

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

async fn open(cli: &Cli) -> Result<(Store, BlobStore)> {
    let store = Store::open(&cli.db).await.with_context(|| format!("opening database {}", cli.db))?;
    let blobs = BlobStore::new(&cli.data)?;
    Ok((store, blobs))
}

fn default_batch(paths: &[PathBuf]) -> String {
    let name = paths
        .first()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.file_stem().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "batch".into());
    format!("{}-{name}", today())
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

async fn process(store: &Store, blobs: &BlobStore, templates: &Arc<Vec<chart::Template>>, options: &ProcessOptions, show: bool) -> Result<ProcessReport> {
    let progress: Arc<dyn ingest::Progress> = if show { Arc::new(progress::Bars::pages()) } else { Arc::new(progress::Log) };
    let report = ingest::process_queue(store, blobs, templates.clone(), options, progress).await?;
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

async fn run(cli: Cli) -> Result<i32> {
    let templates = Arc::new(load_templates(cli.templates.as_deref())?);
    match &cli.command {
        Command::Ingest { paths, batch, report: report_file, split_on, no_process, json, ocr } => {
            let (store, blobs) = open(&cli).await?;
            let options = batch.options(paths, ocr, split_on.parse().map_err(anyhow::Error::msg)?);
            let show = std::io::stderr().is_terminal() && !json;
            let bars: Box<dyn ingest::Progress> = if show { Box::new(progress::Bars::files()) } else { Box::new(progress::Log) };
            let report = ingest::ingest_files(&store, &blobs, paths, &options, bars.as_ref()).await?;
            drop(bars);
            if let Some(path) = report_file {
                write_report(path, &options, &report).with_context(|| format!("writing the report {}", path.display()))?;
            }
            let processed = if *no_process { ProcessReport::default() } else { process(&store, &blobs, &templates, &ocr.options(), show).await? };
            print_ingest(&report, &processed, *json)?;
            Ok(if report.rejected.is_empty() { 0 } else { 3 })
        }
        Command::Watch { dir, batch, move_to, rejected_to, settle, interval, no_process, ocr } => {
            let (store, blobs) = open(&cli).await?;
            anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
            let ingest = batch.options(std::slice::from_ref(dir), ocr, chart::SplitOn::None);
            let watch = ingest::watch::WatchOptions {
                dir: dir.clone(),
                move_to: move_to.clone(),
                rejected_to: rejected_to.clone(),
                settle: Duration::from_secs_f64(settle.max(0.0)),
                interval: Duration::from_secs_f64(interval.max(0.05)),
            };
            eprintln!("watching {} (settle {settle} s; Ctrl-C to stop)", dir.display());
            let mut watcher = ingest::watch::Watcher::default();
            let options = ocr.options();
            loop {
                let round = watcher.round(&store, &blobs, &ingest, &watch).await?;
                if round != ingest::watch::RoundReport::default() {
                    eprintln!("{} accepted, {} duplicate(s), {} rejected", round.accepted, round.duplicates, round.rejected);
                    if !no_process {
                        process(&store, &blobs, &templates, &options, false).await?;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(watch.interval) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(0),
                }
            }
        }
        Command::Worker { once, ocr } => {
            let (store, blobs) = open(&cli).await?;
            let options = ocr.options();
            let show = std::io::stderr().is_terminal();
            loop {
                process(&store, &blobs, &templates, &options, show).await?;
                if *once {
                    return Ok(0);
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(0),
                }
            }
        }
        Command::Demo { samples, bind, ocr } => {
            let (store, blobs) = open(&cli).await?;
            let mut facilities: Vec<PathBuf> = std::fs::read_dir(samples)
                .with_context(|| format!("reading {} (run the demo from the repository root)", samples.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            facilities.sort();
            let show = std::io::stderr().is_terminal();
            for dir in &facilities {
                let facility = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                let options = ingest_options(&facility, format!("{}-samples", today()), None, None, ocr, chart::SplitOn::None);
                let bars: Box<dyn ingest::Progress> = if show { Box::new(progress::Bars::files()) } else { Box::new(progress::Log) };
                let r = ingest::ingest_files(&store, &blobs, std::slice::from_ref(dir), &options, bars.as_ref()).await?;
                drop(bars);
                eprintln!("{facility}: {} accepted, {} duplicate(s), {} rejected", r.accepted, r.duplicates, r.rejected.len());
            }
            process(&store, &blobs, &templates, &ocr.options(), show).await?;
            let reviewer = random_password();
            let manager = random_password();
            store.add_user("demo", chart::Role::Reviewer, &reviewer).await?;
            store.add_user("manager", chart::Role::Manager, &manager).await?;
            let (reviewer2, admin) = (random_password(), random_password());
            store.add_user("demo2", chart::Role::Reviewer, &reviewer2).await?;
            store.add_user("admin", chart::Role::Admin, &admin).await?;
            let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
            let addr = listener.local_addr()?;
            println!();
            println!("  Review UI: http://{addr}/");
            println!("  Reviewer:  demo / {reviewer}");
            println!("  Manager:   manager / {manager}");
            println!("  Second reviewer (double keying): demo2 / {reviewer2}");
            println!("  Admin:     admin / {admin}");
            println!("  (Ctrl-C to stop; data in {} and {})", cli.data.display(), cli.db);
            println!();
            serve(store, blobs, templates, listener).await?;
            Ok(0)
        }
        Command::Serve { bind } => {
            let (store, blobs) = open(&cli).await?;
            let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
            eprintln!("serving the review UI on http://{}/", listener.local_addr()?);
            serve(store, blobs, templates, listener).await?;
            Ok(0)
        }
        Command::User { command: UserCommand::Add { name, role } } => {
            let (store, _) = open(&cli).await?;
            let mut password = String::new();
            if std::io::stdin().is_terminal() {
                eprint!("password for {name}: ");
                std::io::stderr().flush()?;
                std::io::stdin().read_line(&mut password)?;
            } else {
                std::io::stdin().read_to_string(&mut password)?;
            }
            let password = password.trim_end_matches(['\r', '\n']);
            let role = match role {
                RoleArg::Clerk => chart::Role::Clerk,
                RoleArg::Reviewer => chart::Role::Reviewer,
                RoleArg::Manager => chart::Role::Manager,
                RoleArg::Admin => chart::Role::Admin,
            };
            let user = store.add_user(name, role, password).await?;
            eprintln!("user {} ({}) saved", user.name, user.role);
            Ok(0)
        }
        Command::Stats { json } => {
            let (store, _) = open(&cli).await?;
            let stats = store.stats().await?;
            if *json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                print_stats(&stats);
            }
            Ok(0)
        }
        Command::Export { format, status, out, form } => {
            let (store, blobs) = open(&cli).await?;
            if let Some(form) = form {
                anyhow::ensure!(
                    form == "unknown" || templates.iter().any(|t| t.form == *form),
                    "no template for form {form:?} (forms: {})",
                    templates.iter().map(|t| t.form.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            // FHIR holds the committed records, which exist for approved charts only.
            if let ExportFormat::Fhir = format {
                let charts = store::export::fhir_charts(&store, &blobs, form.as_deref()).await?;
                let bundle = chart::fhir::bundle(&charts);
                let mut sink = output(out.as_deref())?;
                serde_json::to_writer_pretty(&mut sink, &bundle)?;
                sink.write_all(b"\n")?;
                sink.flush()?;
                store.audit("cli", "export", None, &format!("fhir, {} chart(s)", charts.len())).await?;
                let counts: Vec<String> = chart::fhir::resource_counts(&bundle).iter().map(|(t, n)| format!("{n} {t}")).collect();
                if counts.is_empty() {
                    eprintln!("no committed records yet: charts are committed when a reviewer approves them (an empty bundle was written)");
                } else {
                    eprintln!("FHIR bundle of {} committed chart(s): {}", charts.len(), counts.join(", "));
                }
                return Ok(0);
            }
            let mut records = store
                .charts(match status {
                    ExportStatus::Any => None,
                    ExportStatus::Approved => Some(chart::ChartStatus::Approved),
                })
                .await?;
            if let Some(form) = form {
                records.retain(|r| r.form.as_deref() == Some(form.as_str()));
            }
            let mut sink = output(out.as_deref())?;
            match format {
                ExportFormat::Jsonl => store::export::write_jsonl(&records, &mut sink)?,
                ExportFormat::Fhir => unreachable!("handled above"),
                ExportFormat::Csv => {
                    let order: Vec<String> = templates
                        .iter()
                        .filter(|t| form.as_ref().is_none_or(|f| *f == t.form))
                        .flat_map(|t| t.fields.iter().map(|f| f.name.clone()))
                        .fold(Vec::new(), |mut v, n| {
                            if !v.contains(&n) {
                                v.push(n);
                            }
                            v
                        });
                    store::export::write_csv(&records, &order, &mut sink)?
                }
            }
            sink.flush()?;
            if let Some(path) = out {
                eprintln!("{} chart(s) written to {}", records.len(), path.display());
            }
            Ok(0)
        }
        Command::Push { fhir_url, batch_size, attempts, timeout, backoff } => {
            anyhow::ensure!(fhir_url.starts_with("http://") || fhir_url.starts_with("https://"), "--fhir-url {fhir_url:?}: give the server's http(s) base URL");
            anyhow::ensure!(*batch_size >= 1 && *attempts >= 1, "--batch-size and --attempts must be at least 1");
            let (store, blobs) = open(&cli).await?;
            let opts = push::PushOptions {
                url: fhir_url.clone(),
                batch: *batch_size,
                attempts: *attempts,
                timeout: Duration::from_secs(*timeout),
                backoff: Duration::from_secs_f64(backoff.max(0.0)),
                actor: format!("push@{}:{}", hostname(), std::process::id()),
            };
            let total = store.outbox_pending_count().await?;
            let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
                let b = indicatif::ProgressBar::new(total as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template("pushing {bar:40} {pos}/{len} changes {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let result = push::push(&store, &blobs, &opts, |r, pending| {
                if let Some(b) = &bar {
                    b.set_position((total - pending).max(0) as u64);
                    b.set_message(format!("({} transaction(s), {} retried)", r.transactions, r.retries));
                }
            })
            .await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let r = result?;
            eprintln!(
                "pushed {} chart(s) and {} retraction(s) to {fhir_url} in {} transaction(s), {} entries; {} attempt(s) retried",
                r.charts, r.retracted, r.transactions, r.entries, r.retries
            );
            Ok(0)
        }
        Command::Commit => {
            let (store, _) = open(&cli).await?;
            let (mut done, mut asked, mut skipped) = (0, Vec::new(), 0);
            for (chart, reviewer) in store.approved_uncommitted().await? {
                match store.commit_chart(&chart, reviewer.as_deref().unwrap_or("cli")).await {
                    Ok(Some(_)) => done += 1,
                    Ok(None) => skipped += 1,
                    Err(store::StoreError::NeedsPatientChoice { candidates, .. }) => asked.push((chart, candidates.len())),
                    Err(e) => return Err(e.into()),
                }
            }
            eprintln!("{done} chart(s) committed, {skipped} without a form that records a patient, {} need a reviewer to choose the patient", asked.len());
            for (chart, n) in &asked {
                println!("{chart}\t{n} candidate patient(s): open /charts/{chart}, un-approve and approve choosing the patient");
            }
            Ok(if asked.is_empty() { 0 } else { 3 })
        }
        Command::Templates { command: TemplateCommand::Check { file } } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            match chart::Template::parse(&text) {
                Ok(t) => {
                    println!("{}: ok, form {:?} with {} field(s)", file.display(), t.form, t.fields.len());
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("{}: {}", file.display(), e.0.replace("; ", "\n  "));
                    Ok(2)
                }
            }
        }
        Command::Evaluate { truth, json, save_words, words, halves, export } => {
            let truths = read_truths(truth)?;
            let charts: Vec<(chart::eval::Truth, Vec<chart::PageWords>)> = match words {
                Some(dir) => saved_words(dir, &truths)?,
                None => {
                    let (store, _) = open(&cli).await?;
                    stored_words(&store, &truths, save_words.as_deref()).await?
                }
            };
            anyhow::ensure!(!charts.is_empty(), "none of the charts has a truth file under {}: ingest those pages first", truth.display());
            let mut report = chart::eval::Report { halves: *halves, ..Default::default() };
            let mut lines = String::new();
            for (t, pages) in &charts {
                let extraction = chart::extract(&templates, pages);
                report.add(t, &extraction);
                if export.is_some() {
                    let fields: serde_json::Map<String, serde_json::Value> =
                        extraction.fields.iter().map(|(k, f)| (k.clone(), serde_json::to_value(f).expect("a field serialises"))).collect();
                    let line = serde_json::json!({"chart": t.file, "status": "extracted", "form": extraction.form, "sources": [{"file": t.file, "page": 1}], "fields": fields});
                    lines.push_str(&line.to_string());
                    lines.push('\n');
                }
            }
            if let Some(path) = export {
                std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
            }
            if *json {
                use chart::eval::{Group, Half};
                let group = |g: Group, h: Half| {
                    let f = report.figures(|o| o.group == g && h.holds(o.number));
                    serde_json::json!({"fields": f.fields, "accuracy": f.accuracy(), "coverage": f.coverage(), "precision": f.precision()})
                };
                let halves: Vec<(&str, Half)> =
                    if report.numbered() { vec![("all", Half::All), ("odd", Half::Odd), ("even", Half::Even)] } else { vec![("all", Half::All)] };
                let summary: serde_json::Map<String, serde_json::Value> = halves
                    .iter()
                    .map(|(name, h)| (name.to_string(), serde_json::json!({"contract": group(Group::Contract, *h), "extended": group(Group::Extended, *h), "cells": group(Group::Cell, *h)})))
                    .collect();
                let held = if report.numbered() { Half::Even } else { Half::All };
                let calibrated =
                    report.calibrate(0.995, held).map(|(t, f)| serde_json::json!({"threshold": t, "coverage": f.coverage(), "precision": f.precision()}));
                let printed = report.figures(|o| o.printed != "hand" && o.group != Group::Cell);
                let out = serde_json::json!({
                    "charts": report.forms.1, "forms_correct": report.forms.0,
                    "summary": summary,
                    "printed": {"fields": printed.fields, "accuracy": printed.accuracy(), "coverage": printed.coverage(), "precision": printed.precision()},
                    "calibrated_99_5": calibrated,
                    "reliability": report.reliability(held).iter().map(|(lo, hi, n, right)| serde_json::json!({"from": lo, "to": hi, "n": n, "right": right})).collect::<Vec<_>>(),
                    "outcomes": report.outcomes,
                });
                println!("{out}");
            } else {
                print!("{}", report.render());
            }
            Ok(0)
        }
        Command::Calibrate { sets, out, precision } => {
            calibrate(&templates, sets, out, *precision)?;
            Ok(0)
        }
        Command::Templates { command: TemplateCommand::List } => {
            for t in templates.iter() {
                println!("{:8} {} ({} fields)", t.form, t.name, t.fields.len());
            }
            Ok(0)
        }
    }
}

/// A precision between 0.5 and 1 (`--precision 0.995`).
fn precision_arg(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.5..1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?}: a share of right values between 0.5 and 1, like 0.995")),
    }
}

/// Fits the confidence model on the charts of `sets` (see `Command::Calibrate`).
fn calibrate(templates: &[chart::Template], sets: &[String], out: &Path, precision: f64) -> Result<()> {
    use chart::confidence::{self, Example};
    use chart::eval::Half;
    let mut examples = Vec::new();
    let mut described = Vec::new();
    for set in sets {
        let (truth_dir, rest) = set.split_once('=').with_context(|| format!("{set}: expected TRUTH=WORDS[:odd|:even]"))?;
        let (words_dir, half) = match rest.rsplit_once(':') {
            Some((w, "odd")) => (w, Half::Odd),
            Some((w, "even")) => (w, Half::Even),
            _ => (rest, Half::All),
        };
        let truths = read_truths(Path::new(truth_dir))?;
        let charts = saved_words(Path::new(words_dir), &truths)?;
        let mut used = 0;
        for (truth, pages) in charts.iter().filter(|(t, _)| half.holds(t.number())) {
            used += 1;
            let extraction = chart::extract(templates, pages);
            let Some(template) = templates.iter().find(|t| t.form == extraction.form) else { continue };
            for (name, f) in &extraction.fields {
                let Some(spec) = template.field(name) else { continue };
                let Some(got) = f.text() else { continue };
                let right = truth.is_right(name, got);
                examples.push(Example {
                    x: confidence::features(&f.evidence, spec.kind),
                    right,
                    eligible: !f.evidence.blocked,
                    chart: truth.file.clone(),
                    field: format!("{name} = {got:?}"),
                });
            }
        }
        described.push(format!(
            "{truth_dir} ({used} charts{})",
            match half {
                Half::Odd => ", odd-numbered",
                Half::Even => ", even-numbered",
                Half::All => "",
            }
        ));
    }
    anyhow::ensure!(!examples.is_empty(), "no values to fit on: are the words saved (evaluate --save-words)?");
    let (model, out_of_fold) = confidence::fit(&examples, &described.join(" + "), precision);
    println!("fitted on {} values ({} right) from {}", model.fit.values, model.fit.right, model.fitted_on);
    println!(
        "threshold {:.3}: out of fold, {:.1}% of values auto-accepted, {:.2}% of them right",
        model.threshold,
        100.0 * model.fit.share,
        100.0 * model.fit.precision
    );
    for target in [0.99, 0.995, 0.997, 0.998, 0.999] {
        let (t, p, share) = confidence::choose_threshold(&out_of_fold, target);
        println!("  for {:.1}% precision: threshold {t:.3}, {:.1}% auto-accepted, {:.2}% right", 100.0 * target, 100.0 * share, 100.0 * p);
    }
    println!("\nreliability (out of fold)\nconfidence      n   right");
    for w in [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.01].windows(2) {
        let inside: Vec<&(f64, bool, bool)> = out_of_fold.iter().filter(|(p, _, _)| *p >= w[0] && *p < w[1]).collect();
        if !inside.is_empty() {
            println!(
                "  {:.2}-{:.2} {:>6} {:>6.1}%",
                w[0],
                w[1].min(1.0),
                inside.len(),
                100.0 * inside.iter().filter(|s| s.1).count() as f64 / inside.len() as f64
            );
        }
    }
    let mut wrong: Vec<(f64, &Example)> =
        out_of_fold.iter().zip(&examples).filter(|((p, right, eligible), _)| !right && *eligible && *p >= 0.9).map(|((p, _, _), e)| (*p, e)).collect();
    wrong.sort_by(|a, b| b.0.total_cmp(&a.0));
    if !wrong.is_empty() {
        println!("\nconfident and wrong (out of fold, eligible, 0.90 and up)");
        for (p, e) in wrong.iter().take(25) {
            println!("  {p:.3} {} {}", e.chart, e.field);
        }
    }
    println!("\nweights");
    for (name, w) in model.features.iter().zip(&model.weights) {
        println!("  {name:<22} {w:>8.3}");
    }
    std::fs::write(out, serde_json::to_string_pretty(&model)? + "\n").with_context(|| format!("writing {}", out.display()))?;
    println!("\nwritten to {} (rebuild chartscan to use it)", out.display());
    Ok(())
}

/// The truth files under `dir` (any depth), by the file they describe.
fn read_truths(dir: &Path) -> Result<std::collections::BTreeMap<String, chart::eval::Truth>> {
    let mut truths = std::collections::BTreeMap::new();
    let mut files = vec![dir.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).with_context(|| format!("reading {}", path.display()))?.filter_map(|e| e.ok().map(|e| e.path())));
        } else if path.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?).with_context(|| format!("parsing {}", path.display()))?;
            if let Some(t) = chart::eval::Truth::from_json(&v) {
                truths.insert(t.file.clone(), t);
            }
        }
    }
    anyhow::ensure!(!truths.is_empty(), "no truth files (*.json with a \"file\") under {}", dir.display());
    Ok(truths)
}

/// The stored OCR words of every chart that has a truth file (written to `save_words` too).
async fn stored_words(
    store: &Store,
    truths: &std::collections::BTreeMap<String, chart::eval::Truth>,
    save_words: Option<&Path>,
) -> Result<Vec<(chart::eval::Truth, Vec<chart::PageWords>)>> {
    let mut out = Vec::new();
    let mut records = store.charts(None).await?;
    records.sort_by(|a, b| a.chart.cmp(&b.chart));
    for record in records {
        let Some(file) = record.sources.first().map(|s| s.file.clone()) else { continue };
        let Some(t) = truths.get(&file) else { continue };
        let words = store.chart_words(&record.chart).await?;
        if let Some(dir) = save_words {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(format!("{file}.json"));
            std::fs::write(&path, serde_json::to_string(&words)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        }
        out.push((t.clone(), words));
    }
    out.sort_by(|a, b| a.0.file.cmp(&b.0.file));
    Ok(out)
}

/// Words saved by `--save-words` for every truth file that has them.
fn saved_words(dir: &Path, truths: &std::collections::BTreeMap<String, chart::eval::Truth>) -> Result<Vec<(chart::eval::Truth, Vec<chart::PageWords>)>> {
    let mut out = Vec::new();
    for (file, t) in truths {
        let path = dir.join(format!("{file}.json"));
        if !path.exists() {
            continue;
        }
        let pages = serde_json::from_str(&std::fs::read_to_string(&path)?).with_context(|| format!("parsing {}", path.display()))?;
        out.push((t.clone(), pages));
    }
    Ok(out)
}

async fn serve(store: Store, blobs: BlobStore, templates: Arc<Vec<chart::Template>>, listener: tokio::net::TcpListener) -> Result<()> {
    let state = review_ui::AppState::new(store, blobs, templates);
    review_ui::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// The batch's rejection report: JSON (with the batch metadata) or CSV of path and reason.
fn write_report(path: &Path, options: &IngestOptions, report: &IngestReport) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        let v = serde_json::json!({
            "facility": options.facility, "batch": options.batch, "box": options.box_label, "operator": options.operator,
            "files": report.files, "accepted": report.accepted, "duplicates": report.duplicates, "rejected": report.rejected,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "path,reason")?;
        for r in &report.rejected {
            writeln!(out, "{},{}", csv_cell(&r.path), csv_cell(&r.reason))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn csv_cell(s: &str) -> String {
    let s = store::export::safe_cell(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// This process's peak resident memory in MiB (Linux), for the reports.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn print_ingest(report: &IngestReport, processed: &ProcessReport, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(report)?;
        v["processed_pages"] = processed.processed_pages.into();
        v["failed_pages"] = processed.failed_pages.into();
        v["peak_rss_mib"] = peak_rss_mib().map(|m| (m * 10.0).round() / 10.0).into();
        v["stage_seconds"] =
            processed.stages.iter().map(|(n, s)| (n.clone(), serde_json::Value::from((s * 1000.0).round() / 1000.0))).collect::<serde_json::Map<_, _>>().into();
        println!("{v}");
        return Ok(());
    }
    println!(
        "{} file(s): {} accepted, {} duplicate(s), {} rejected; {} page(s) queued, {} chart(s) created",
        report.files,
        report.accepted,
        report.duplicates,
        report.rejected.len(),
        report.pages,
        report.charts
    );
    for r in &report.rejected {
        println!("  rejected {}: {}", r.path, r.reason);
    }
    if processed.processed_pages + processed.failed_pages > 0 {
        println!(
            "processed {} page(s) ({} failed attempt(s)) in {:.1} s: {:.2} pages/s, {:.2} s OCR per page",
            processed.processed_pages,
            processed.failed_pages,
            processed.seconds,
            processed.processed_pages as f64 / processed.seconds.max(1e-9),
            processed.stage_seconds("ocr") / (processed.processed_pages.max(1)) as f64
        );
        let per_page: Vec<String> =
            processed.stages.iter().map(|(n, s)| format!("{n} {:.0} ms", s * 1000.0 / processed.processed_pages.max(1) as f64)).collect();
        println!("per page: {}", per_page.join(", "));
    }
    Ok(())
}

/// Where an export goes: the file, or stdout.
fn output(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn print_stats(s: &store::Stats) {
    let row =
        |name: &str, c: &store::ChartCounts| println!("{name:<10} {:>7} {:>9} {:>9} {:>8} {:>8}", c.total, c.extracted, c.in_review, c.approved, c.rejected);
    println!("{:<10} {:>7} {:>9} {:>9} {:>8} {:>8}", "charts", "total", "extracted", "in_review", "approved", "rejected");
    for (facility, c) in &s.by_facility {
        row(facility, c);
    }
    row("all", &s.charts);
    println!();
    println!("pages: {} total, {} queued, {} done, {} failed", s.pages.total, s.pages.queued, s.pages.done, s.pages.failed);
    let r = &s.records;
    println!(
        "records: {} patients, {} encounters, {} clinical facts; {} change(s) waiting for `chartscan push`",
        r.patients, r.encounters, r.facts, r.outbox_pending
    );
    if !s.by_day.is_empty() {
        println!();
        println!("{:<10} {:>9} {:>9} {:>9}", "day", "ingested", "approved", "rejected");
        for (day, d) in s.by_day.iter().rev().take(14) {
            println!("{day:<10} {:>9} {:>9} {:>9}", d.ingested, d.approved, d.rejected);
        }
    }
    if !s.by_reviewer.is_empty() {
        println!();
        println!("{:<16} {:>9} {:>9} {:>9} {:>10} {:>12}", "reviewer", "approved", "rejected", "in_review", "corrected", "median s");
        for (name, r) in &s.by_reviewer {
            let median = r.median_seconds_per_chart.map_or("-".to_string(), |t| format!("{t:.0}"));
            println!("{name:<16} {:>9} {:>9} {:>9} {:>10} {median:>12}", r.approved, r.rejected, r.in_review, r.fields_corrected);
        }
    }
    if !s.corrections_by_field.is_empty() {
        let mut fields: Vec<(&String, &i64)> = s.corrections_by_field.iter().collect();
        fields.sort_by(|a, b| b.1.cmp(a.1));
        println!();
        println!("corrections by field: {}", fields.iter().map(|(f, n)| format!("{f} {n}")).collect::<Vec<_>>().join(", "));
    }
}
