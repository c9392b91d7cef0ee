//! `chartscan`: the command line. Reads arguments and environment and hands each subcommand
//! to its module under `cmd/`; progress bars, colours and exit codes live only in this crate.
//! The work itself is done by the library crates (`ingest`, `store`, `review-ui`, `chart`).

mod cmd;
mod progress;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Turns scanned paper patient charts into structured, reviewed records.
///
/// Scans go in with `ingest` (or a `worker` processes the queue), reviewers correct and
/// approve in the browser (`serve`), managers follow `stats` and `export` the approved records.
#[derive(Debug, Parser)]
#[command(name = "chartscan", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "CHARTSCAN_DB", hide_env_values = true, default_value = "sqlite://chartscan-data/chartscan.db", global = true)]
    db: store::DatabaseUrl,
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
    Demo(cmd::demo::Args),
    /// Import scans (files and folders, recursively), then OCR and extract them.
    Ingest(cmd::ingest::Args),
    /// Watch a folder: ingest each scan dropped into it once it is complete, then process it.
    Watch(cmd::watch::Args),
    /// Process queued pages; any number of workers may share one PostgreSQL store.
    Worker(cmd::worker::Args),
    /// Serve the review UI and JSON API.
    Serve(cmd::serve::Args),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: cmd::user::Command,
    },
    /// Counts of charts and pages, by status and facility.
    Stats(cmd::stats::Args),
    /// Export charts.
    Export(cmd::export::Args),
    /// Send committed records (and retractions) to a FHIR R4 server, oldest first, as
    /// transaction Bundles. Safe to re-run and to interrupt: what the server did not confirm
    /// is sent again, and conditional creates make a resend create nothing twice.
    Push(cmd::push::Args),
    /// Commit approved charts that have no structured record yet (approved before records
    /// existed, or whose commit was undone), matching their patients. Charts whose patient is
    /// uncertain are listed for a reviewer and left uncommitted.
    Commit,
    /// Check the audit log: `audit verify` walks its hash chain.
    Audit {
        #[command(subcommand)]
        command: cmd::audit::Command,
    },
    /// Work with form templates.
    Templates {
        #[command(subcommand)]
        command: cmd::templates::Command,
    },
    /// The programme's facilities: names in English and Khmer, province, target, start date.
    Facility {
        #[command(subcommand)]
        command: cmd::archive::FacilityCommand,
    },
    /// The archive's boxes on the shelves, and each reconciled against what was scanned.
    Boxes {
        #[command(subcommand)]
        command: cmd::archive::BoxesCommand,
    },
    /// Back the store and the data directory up into a folder while chartscan runs (SQLite's
    /// VACUUM INTO or pg_dump, then the new files), with a manifest of hashes; --verify checks.
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup into an empty database and data directory (--db, --data).
    Restore(cmd::backup::RestoreArgs),
    /// Check this machine (Tesseract and its languages, fonts, the data directory, free
    /// space, OpenMP, the database) and say what to fix; changes nothing.
    Doctor(cmd::doctor::Args),
    /// Write the monthly report (HTML with plots, printable on A4) for donors and directors.
    Report(cmd::report::Args),
    /// Fit the confidence model on charts with ground truth: extraction runs on each chart's
    /// saved OCR words, every value it finds is compared with the truth, a logistic model
    /// learns from the evidence which values are right, and the auto-accept threshold is
    /// chosen on out-of-fold predictions for the precision asked (99.6% by default). Writes the model (the bundled
    /// one is chart/src/calibration.json; rebuild to use it).
    Calibrate(cmd::calibrate::Args),
    /// Measure extraction against ground truth: re-runs extraction, with the current
    /// templates, on the OCR words stored for every chart (or saved with --save-words), and
    /// prints exact-match accuracy and the share and precision of auto-accepted fields, per
    /// field, per layout style and per form, a threshold sweep and a reliability table.
    /// Ingest the pages first (`chartscan ingest samples/charts`).
    Evaluate(cmd::evaluate::Args),
}

impl Command {
    /// Whether the command runs Tesseract (and so needs OpenMP kept to one thread).
    fn runs_ocr(&self) -> bool {
        matches!(self, Command::Ingest(_) | Command::Worker(_) | Command::Demo(_) | Command::Watch(_))
    }
}

/// Tesseract's OpenMP reads `OMP_THREAD_LIMIT` once, when the library loads; setting it later
/// does nothing (docs/STACK-NOTES.md). Commands that run OCR therefore start again with it set
/// when it is missing; worker threads also switch OpenMP nesting off themselves.
fn ensure_single_threaded_openmp(cli: &Cli) {
    if cli.command.runs_ocr() && std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env("OMP_THREAD_LIMIT", "1").exec();
            eprintln!("warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR may be slow");
        }
    }
}

fn main() {
    // A child checking one untrusted file for ingest (`ingest::isolate`): no command line,
    // no runtime, no database.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == ingest::isolate::CHILD_ARG) {
        std::process::exit(ingest::isolate::child_main(&args[1..]));
    }
    // What chartscan writes (the database, page images, exports) holds patient data: readable
    // by the user running it only.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o077) };
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
            let text = format!("{e:#}");
            if text.contains("No space left on device") || text.contains("disk is full") {
                eprintln!(
                    "the disk holding the database or the data directory is full: free space (chartscan doctor shows how much is left) and run the same command again; \
                     what was accepted is kept, and files already accepted are recognised as duplicates"
                );
            }
            std::process::exit(1);
        }
    }
}

/// Runs one subcommand; returns the process's exit code.
async fn run(cli: Cli) -> anyhow::Result<i32> {
    let ctx = cmd::Context::new(cli.db, cli.data, cli.templates.as_deref())?;
    match cli.command {
        Command::Demo(args) => cmd::demo::run(&ctx, args).await,
        Command::Ingest(args) => cmd::ingest::run(&ctx, args).await,
        Command::Watch(args) => cmd::watch::run(&ctx, args).await,
        Command::Worker(args) => cmd::worker::run(&ctx, args).await,
        Command::Serve(args) => cmd::serve::run(&ctx, args).await,
        Command::User { command } => cmd::user::run(&ctx, command).await,
        Command::Stats(args) => cmd::stats::run(&ctx, args).await,
        Command::Export(args) => cmd::export::run(&ctx, args).await,
        Command::Push(args) => cmd::push::run(&ctx, args).await,
        Command::Commit => cmd::commit::run(&ctx).await,
        Command::Templates { command } => cmd::templates::run(&ctx, command).await,
        Command::Audit { command } => cmd::audit::run(&ctx, command).await,
        Command::Facility { command } => cmd::archive::facility(&ctx, command).await,
        Command::Boxes { command } => cmd::archive::boxes(&ctx, command).await,
        Command::Report(args) => cmd::report::run(&ctx, args).await,
        Command::Doctor(args) => cmd::doctor::run(&ctx, args).await,
        Command::Backup(args) => cmd::backup::backup(&ctx, args).await,
        Command::Restore(args) => cmd::backup::restore(&ctx, args).await,
        Command::Calibrate(args) => cmd::calibrate::run(&ctx, args),
        Command::Evaluate(args) => cmd::evaluate::run(&ctx, args).await,
    }
}
