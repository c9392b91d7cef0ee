//! The pipeline: ingest files into the ledger, then process queued pages (decode,
//! preprocess, OCR, store the page image, extract when a chart is complete) on a rayon pool
//! with one recognition engine per thread.
//!
//! Libraries report progress through [`Progress`]; bars and colours live in the binary.

use crate::decode::{inspect_pages, Limits, MediaType, Source};
use chart::PageWords;
use futures::StreamExt;
use ocr::{OcrConfig, OcrError, Preprocessor, Recognizer, TesseractRecognizer};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::blobs::{sha256_hex, BlobStore};
use store::{FileOutcome, NewFile, PageJob, PageResult, Store};

/// Receives progress events; every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// Ingest found this many files.
    fn files_found(&self, _total: usize) {}
    /// One file was accepted, found a duplicate, or rejected.
    fn file_done(&self, _path: &Path, _outcome: &FileEvent) {}
    /// Processing starts with this many pages waiting.
    fn pages_found(&self, _total: u64) {}
    /// One page was processed (`ok`) or failed an attempt.
    fn page_done(&self, _ok: bool) {}
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEvent {
    /// Recorded as a new chart.
    Accepted {
        /// The chart ids (several when a batch scan was split).
        charts: Vec<String>,
        /// Pages queued.
        pages: u32,
    },
    /// Seen before.
    Duplicate {
        /// The chart it already is.
        chart: String,
    },
    /// Set aside.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Facility code recorded with every chart.
    pub facility: String,
    /// Batch name recorded with every chart.
    pub batch: String,
    /// Archive box label recorded with every file.
    pub box_label: Option<String>,
    /// Scanner operator recorded with every file.
    pub operator: Option<String>,
    /// Decoding limits.
    pub limits: Limits,
    /// Files checked at once.
    pub jobs: usize,
    /// How a multi-page file becomes charts.
    pub split: chart::SplitOn,
    /// Check each file in a child process running this program (the `chartscan` binary,
    /// which answers [`crate::isolate::CHILD_ARG`]); `None`: in this process.
    pub isolate: Option<PathBuf>,
}

/// A file set aside, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The path as given.
    pub path: String,
    /// Why, in words.
    pub reason: String,
}

/// What an ingest run did (the `--json` report of docs/CONTRACT.md, with processing added).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// Files looked at.
    pub files: u64,
    /// New files accepted.
    pub accepted: u64,
    /// Files whose content was imported before.
    pub duplicates: u64,
    /// Files set aside.
    pub rejected: Vec<Rejected>,
    /// Pages queued by this run.
    pub pages: u64,
    /// Charts created by this run.
    pub charts: u64,
}

/// Ingest failed as a whole (the store is unusable); per-file problems are rejections.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The recognition engine cannot start.
    #[error(transparent)]
    Ocr(#[from] OcrError),
    /// Something else that stops the run.
    #[error("{0}")]
    Fatal(String),
}

/// Imports files: each is hashed, checked against the ledger, decoded within the limits,
/// stored durably and recorded with its pages queued.
pub async fn ingest_files(
    store: &Store,
    blobs: &BlobStore,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport, PipelineError> {
    let (files, missing) = crate::discover(paths);
    let mut report = IngestReport::default();
    progress.files_found(files.len() + missing.len());
    for (path, reason) in missing {
        report.files += 1;
        let event = FileEvent::Rejected { reason: reason.clone() };
        progress.file_done(&path, &event);
        report.rejected.push(Rejected { path: path.display().to_string(), reason });
    }
    // Reading, hashing, decoding and storing run for several files at once; recording in the
    // ledger stays in file order.
    let parallel = options.jobs.max(1) * 2;
    let mut prepared = futures::stream::iter(files.into_iter().map(|path| async move {
        let outcome = prepare(store, blobs, &path, options).await;
        (path, outcome)
    }))
    .buffered(parallel);
    while let Some((path, outcome)) = prepared.next().await {
        report.files += 1;
        let event = match outcome {
            Ok(Prepared::Ready(file)) => match store.record_file(&file).await? {
                FileOutcome::Accepted { charts } => FileEvent::Accepted { charts, pages: file.page_count },
                FileOutcome::Duplicate { chart, .. } => FileEvent::Duplicate { chart },
            },
            Ok(Prepared::Known(chart)) => FileEvent::Duplicate { chart },
            Ok(Prepared::Rejected(reason)) | Err(PipelineError::Fatal(reason)) => FileEvent::Rejected { reason },
            Err(other) => return Err(other),
        };
        match &event {
            FileEvent::Accepted { pages, charts } => {
                report.accepted += 1;
                report.charts += charts.len() as u64;
                report.pages += *pages as u64;
            }
            FileEvent::Duplicate { .. } => report.duplicates += 1,
            FileEvent::Rejected { reason } => {
                tracing::warn!(path = %path.display(), %reason, "rejected");
                report.rejected.push(Rejected { path: path.display().to_string(), reason: reason.clone() });
            }
        }
        progress.file_done(&path, &event);
    }
    Ok(report)
}

/// A file made ready for the ledger.
enum Prepared {
    /// Decoded within the limits and stored durably.
    Ready(Box<NewFile>),
    /// Its content is in the ledger already.
    Known(String),
    /// Set aside, with the reason.
    Rejected(String),
}

async fn prepare(store: &Store, blobs: &BlobStore, path: &Path, options: &IngestOptions) -> Result<Prepared, PipelineError> {
    let reject = |reason: String| Ok(Prepared::Rejected(reason));
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) => return reject(format!("cannot read: {e}")),
    };
    if size > options.limits.max_file_bytes {
        return reject(format!("too large: {size} bytes is over the limit of {}", options.limits.max_file_bytes));
    }
    let read_path = path.to_path_buf();
    let bytes = match tokio::task::spawn_blocking(move || std::fs::read(read_path)).await.map_err(|e| PipelineError::Fatal(e.to_string()))? {
        Ok(b) => b,
        Err(e) => return reject(format!("cannot read: {e}")),
    };
    let (sha256, bytes) = tokio::task::spawn_blocking(move || (sha256_hex(&bytes), bytes)).await.map_err(|e| PipelineError::Fatal(e.to_string()))?;
    if let Some(chart) = store.known_file(&sha256).await? {
        return Ok(Prepared::Known(chart));
    }
    let limits = options.limits;
    if let Some(program) = &options.isolate {
        // Shared with the task that feeds the child, not copied: a file may be hundreds of MB.
        let bytes = std::sync::Arc::new(bytes);
        let (kind, kinds) = match crate::isolate::inspect_in_child(program, path, bytes.clone(), &limits).await {
            Ok(found) => found,
            Err(reason) => return reject(reason),
        };
        return store_original(blobs, path, sha256, bytes, kind, kinds, options).await;
    }
    // In this process: a file that takes too long is rejected; its decoding thread finishes
    // in the background, bounded by the memory and pixel limits.
    let checking = tokio::task::spawn_blocking(move || {
        let r = std::panic::catch_unwind(|| inspect_pages(&bytes, &limits));
        (bytes, r)
    });
    let (bytes, inspected) = match tokio::time::timeout(Duration::from_secs(limits.max_decode_seconds), checking).await {
        Ok(joined) => joined.map_err(|e| PipelineError::Fatal(e.to_string()))?,
        Err(_) => return reject(format!("too slow: decoding took longer than {} s", limits.max_decode_seconds)),
    };
    let (kind, kinds) = match inspected {
        Ok(Ok(ok)) => ok,
        Ok(Err(e)) => return reject(e.to_string()),
        Err(_) => return reject("the decoder crashed on this file".into()),
    };
    store_original(blobs, path, sha256, std::sync::Arc::new(bytes), kind, kinds, options).await
}

/// Stores an accepted file's original durably and describes it for the ledger.
async fn store_original(
    blobs: &BlobStore,
    path: &Path,
    sha256: String,
    bytes: std::sync::Arc<Vec<u8>>,
    kind: MediaType,
    kinds: Vec<chart::PageKind>,
    options: &IngestOptions,
) -> Result<Prepared, PipelineError> {
    // The original is on disk (fsync) before the ledger row can exist.
    let (blob_store, sha) = (blobs.clone(), sha256.clone());
    let size_bytes = bytes.len() as i64;
    tokio::task::spawn_blocking(move || blob_store.put(store::blobs::BlobKind::Original, &sha, &bytes))
        .await
        .map_err(|e| PipelineError::Fatal(e.to_string()))??;
    Ok(Prepared::Ready(Box::new(NewFile {
        sha256,
        original_name: path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
        source_path: path.display().to_string(),
        media_type: kind.mime().to_string(),
        size_bytes,
        page_count: kinds.len() as u32,
        segments: chart::segments(&kinds, options.split)
            .into_iter()
            .map(|pages| pages.into_iter().map(|p| (p as u32, kinds[p].flag().map(str::to_string))).collect())
            .collect(),
        facility: options.facility.clone(),
        batch: options.batch.clone(),
        box_label: options.box_label.clone(),
        operator: options.operator.clone(),
    })))
}

/// How to process queued pages.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Worker threads (one engine each).
    pub jobs: usize,
    /// Recognition settings.
    pub ocr: OcrConfig,
    /// Preprocessing steps.
    pub preprocess: Preprocessor,
    /// Turn pages scanned sideways or upside down upright.
    pub detect_orientation: bool,
    /// Find check boxes in the pixels and give them to extraction as `☒`/`☐`.
    pub check_boxes: bool,
    /// Languages of the engines that read doubtful values a second time (`khm`, `eng`);
    /// empty: no second readings.
    pub second_opinion: Vec<String>,
    /// Read each page a second time as sparse text (see `Recognizer::recognize_sparse`);
    /// extraction keeps the better supported value of the two readings, field by field.
    pub sparse_reading: bool,
    /// Decoding limits.
    pub limits: Limits,
    /// How long a claimed page stays leased.
    pub lease: Duration,
    /// Attempts before a page is failed for good.
    pub max_attempts: u32,
    /// Name of this worker in leases (host and process).
    pub worker_name: String,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ocr: OcrConfig::default(),
            preprocess: Preprocessor::default(),
            detect_orientation: true,
            check_boxes: true,
            second_opinion: Vec::new(),
            sparse_reading: true,
            limits: Limits::default(),
            lease: Duration::from_secs(300),
            max_attempts: 3,
            worker_name: format!("local-{}", std::process::id()),
        }
    }
}

/// What processing did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessReport {
    /// Pages processed.
    pub processed_pages: u64,
    /// Page attempts that failed.
    pub failed_pages: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Seconds per stage, summed over threads: decode, preprocess, ocr, store, database.
    pub stages: Vec<(String, f64)>,
}

impl ProcessReport {
    /// Seconds summed over threads in one stage (`ocr`, `decode`, ...).
    pub fn stage_seconds(&self, stage: &str) -> f64 {
        self.stages.iter().find(|(n, _)| n == stage).map_or(0.0, |(_, s)| *s)
    }
}

/// Processes queued pages until none is left, with real Tesseract engines.
pub async fn process_queue(store: &Store, blobs: &BlobStore, options: &ProcessOptions, progress: Arc<dyn Progress>) -> Result<ProcessReport, PipelineError> {
    let ocr = options.ocr.clone();
    // Fail once, clearly, at start-up when the language data is missing.
    let probe = ocr.clone();
    tokio::task::spawn_blocking(move || TesseractRecognizer::new(&probe).map(drop)).await.map_err(|e| PipelineError::Fatal(e.to_string()))??;
    process_queue_with(store, blobs, options, progress, move || TesseractRecognizer::new(&ocr).map(|r| Box::new(r) as Box<dyn Recognizer>)).await
}

/// Stages of a page whose time is measured: `ocr` is the reading kept, `orientation` the
/// readings made only to tell which way is up, `second_reading` the doubtful values read
/// again by other engines and the page read again as sparse text (these three are the
/// engine's time); `extraction` is label
/// matching and extraction done while reading (the upright check, finding doubtful values),
/// `database` the page's write, extraction of a completed chart included.
const STAGES: [&str; 8] = ["decode", "preprocess", "ocr", "orientation", "second_reading", "extraction", "store", "database"];

struct Shared {
    stage_nanos: [AtomicU64; 8],
    processed: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
    fatal: Mutex<Option<PipelineError>>,
}

/// Processes queued pages with engines from `make_recognizer` (one per thread). Charts are
/// extracted with the store's templates.
pub async fn process_queue_with<F>(
    store: &Store,
    blobs: &BlobStore,
    options: &ProcessOptions,
    progress: Arc<dyn Progress>,
    make_recognizer: F,
) -> Result<ProcessReport, PipelineError>
where
    F: Fn() -> Result<Box<dyn Recognizer>, OcrError> + Send + Sync + 'static,
{
    let started = Instant::now();
    recover_dead_local_workers(store, &options.worker_name).await?;
    // Templates saved since (in the studio, by another process) are used from this round on.
    store.reload_templates().await?;
    progress.pages_found(store.pending_pages().await? as u64);
    let jobs = options.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("chartscan-ocr-{i}"))
        .start_handler(|_| ocr::configure_worker_thread())
        .build()
        .map_err(|e| PipelineError::Fatal(format!("cannot start worker threads: {e}")))?;
    let shared = Arc::new(Shared {
        stage_nanos: Default::default(),
        processed: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    let handle = tokio::runtime::Handle::current();
    let ctx = Arc::new(WorkerContext { store: store.clone(), blobs: blobs.clone(), options: options.clone(), progress, shared: shared.clone(), handle });
    let make = Arc::new(make_recognizer);
    tokio::task::spawn_blocking(move || {
        pool.scope(|s| {
            for i in 0..jobs {
                let (ctx, make) = (ctx.clone(), make.clone());
                s.spawn(move |_| worker_loop(&ctx, i, &*make));
            }
        })
    })
    .await
    .map_err(|e| PipelineError::Fatal(e.to_string()))?;
    if let Some(err) = shared.fatal.lock().expect("not poisoned").take() {
        return Err(err);
    }
    Ok(ProcessReport {
        processed_pages: shared.processed.load(Ordering::Relaxed),
        failed_pages: shared.failed.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        stages: STAGES.iter().zip(&shared.stage_nanos).map(|(n, v)| (n.to_string(), v.load(Ordering::Relaxed) as f64 / 1e9)).collect(),
    })
}

/// Worker names are `HOST-PID` (threads add `-N`). Leases held by a process of this host
/// that no longer runs are released at once, so re-running a killed command continues where
/// it stopped instead of waiting for the leases to expire. Other hosts' leases expire.
async fn recover_dead_local_workers(store: &Store, worker_name: &str) -> Result<(), PipelineError> {
    let Some((host, me)) = worker_name.rsplit_once('-') else { return Ok(()) };
    for owner in store.lease_owners().await? {
        let mut parts = owner.rsplitn(3, '-');
        let (_thread, pid, owner_host) = (parts.next(), parts.next(), parts.next());
        let (Some(pid), Some(owner_host)) = (pid, owner_host) else { continue };
        let alive = Path::new("/proc").join(pid).exists();
        if owner_host == host && pid != me && pid.chars().all(|c| c.is_ascii_digit()) && !alive {
            let released = store.release_leases(&format!("{owner_host}-{pid}-")).await?;
            tracing::info!(worker = %owner, pages = released, "took back the pages of a worker that stopped");
        }
    }
    Ok(())
}

struct WorkerContext {
    store: Store,
    blobs: BlobStore,
    options: ProcessOptions,
    progress: Arc<dyn Progress>,
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
}

fn worker_loop(ctx: &WorkerContext, index: usize, make: &(dyn Fn() -> Result<Box<dyn Recognizer>, OcrError> + Send + Sync)) {
    let fatal = |e: PipelineError| {
        ctx.shared.stop.store(true, Ordering::SeqCst);
        ctx.shared.fatal.lock().expect("not poisoned").get_or_insert(e);
    };
    let mut engine = match make() {
        Ok(e) => e,
        Err(e) => return fatal(e.into()),
    };
    let mut second = Vec::new();
    for languages in &ctx.options.second_opinion {
        match TesseractRecognizer::new(&OcrConfig { languages: languages.clone(), ..ctx.options.ocr.clone() }) {
            Ok(e) => second.push((languages.clone(), e)),
            Err(e) => return fatal(e.into()),
        }
    }
    let worker = format!("{}-{index}", ctx.options.worker_name);
    // The file of the last page, opened: consecutive pages of one PDF are parsed once.
    let mut original: Option<(String, Source)> = None;
    let lease_ms = ctx.options.lease.as_millis() as i64;
    while !ctx.shared.stop.load(Ordering::SeqCst) {
        let job = match ctx.handle.block_on(ctx.store.claim_page(&worker, lease_ms, ctx.options.max_attempts)) {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(e) => return fatal(e.into()),
        };
        let t_page = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process_page(ctx, &job, engine.as_mut(), &mut second, &mut original)))
            .unwrap_or_else(|_| Err("processing crashed on this page".to_string()));
        let t_db = Instant::now();
        let saved = match &outcome {
            Ok(result) => ctx.handle.block_on(ctx.store.complete_page_timed(job.page_id, result, Some(t_page.elapsed().as_secs_f64()))),
            Err(reason) => {
                tracing::warn!(file = %job.file_name, page = job.page_no, attempt = job.attempt, %reason, "page failed");
                ctx.handle.block_on(ctx.store.fail_page(job.page_id, reason, ctx.options.max_attempts))
            }
        };
        if let Err(e) = saved {
            return fatal(e.into());
        }
        ctx.shared.stage_nanos[7].fetch_add(t_db.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let counter = if outcome.is_ok() { &ctx.shared.processed } else { &ctx.shared.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        ctx.progress.page_done(outcome.is_ok());
    }
}

/// The page image reviewers see: greyscale JPEG (jpeg-encoder, SIMD: about 4x faster than
/// the image crate's encoder).
fn encode_page_image(page: &image::GrayImage) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::with_capacity(256 << 10);
    let (w, h) = (u16::try_from(page.width()).map_err(|_| "page too wide for JPEG")?, u16::try_from(page.height()).map_err(|_| "page too tall for JPEG")?);
    jpeg_encoder::Encoder::new(&mut jpeg, 80).encode(page.as_raw(), w, h, jpeg_encoder::ColorType::Luma).map_err(|e| format!("encoding page image: {e}"))?;
    Ok(jpeg)
}

/// At most this many second readings per page (each is a few milliseconds per engine).
const MAX_REREADS: usize = 8;

fn process_page(
    ctx: &WorkerContext,
    job: &PageJob,
    engine: &mut dyn Recognizer,
    second: &mut [(String, TesseractRecognizer)],
    original: &mut Option<(String, Source)>,
) -> Result<PageResult, String> {
    let t0 = Instant::now();
    if original.as_ref().is_none_or(|(sha, _)| *sha != job.file_sha256) {
        *original = None;
        let bytes = ctx.blobs.get(store::blobs::BlobKind::Original, &job.file_sha256).map_err(|e| e.to_string())?;
        let kind = MediaType::from_mime(&job.media_type).ok_or_else(|| format!("unknown media type {}", job.media_type))?;
        *original = Some((job.file_sha256.clone(), Source::open(bytes, kind, &ctx.options.limits).map_err(|e| e.to_string())?));
    }
    let source = &original.as_ref().expect("just opened").1;
    let image = source.page(job.file_page, &ctx.options.limits).map_err(|e| e.to_string())?;
    let t_decoded = Instant::now();
    let templates = ctx.store.templates();
    // Time spent matching labels and extracting while the page is read (not the engine's).
    let check_time = std::cell::Cell::new(std::time::Duration::ZERO);
    // Blank pages and separator sheets are kept and shown, not read.
    let reading = if job.flag.is_some() {
        let started = Instant::now();
        let page = ctx.options.preprocess.prepare(&image);
        ocr::orient::Reading { page, words: Vec::new(), rotation: 0, prep_time: started.elapsed(), orientation_time: Default::default() }
    } else {
        // A page that shows enough labels of a known form was read upright: it is not
        // questioned further, however weak the engine's confidence in its Khmer.
        let upright = |page: &ocr::PreparedPage, words: &[chart::Word]| {
            let started = Instant::now();
            let (width, height) = page.display.dimensions();
            let sure = chart::detect::reads_upright(
                &templates,
                &PageWords { page: job.page_no, width, height, words: words.to_vec(), rereads: Vec::new(), sparse: Vec::new() },
            );
            check_time.set(check_time.get() + started.elapsed());
            sure
        };
        ocr::orient::read_upright_with(engine, &ctx.options.preprocess, &image, ctx.options.detect_orientation, Some(&upright)).map_err(|e| e.to_string())?
    };
    drop(image);
    tracing::debug!(file = %job.file_name, page = job.page_no, rotation = reading.rotation, orientation_ms = reading.orientation_time.as_millis() as u64, letter_height = ?reading.page.text_height, scale = reading.page.ocr_scale, width = reading.page.display.width(), "read");
    if reading.rotation != 0 {
        tracing::info!(file = %job.file_name, page = job.page_no, rotation = reading.rotation, "page turned upright");
    }
    let (prepared, words) = (reading.page, reading.words);
    let (width, height) = prepared.display.dimensions();
    let mut page = PageWords { page: job.page_no, width, height, words, rereads: Vec::new(), sparse: Vec::new() };
    let t_read = Instant::now();
    let mut box_time = std::time::Duration::ZERO;
    let mut page_boxes = Vec::new();
    if ctx.options.check_boxes && !page.words.is_empty() {
        // Boxes are about a text line high: 1/100 to 1/25 of an A5 page's width at any dpi.
        let side = prepared.display.width();
        let boxes = if prepared.threshold.is_some() && prepared.ocr_scale == 1.0 {
            // The page the engine read is already black and white (and free of lines).
            ocr::marks::find_check_boxes_bw(&prepared.for_ocr, side / 100, side / 25)
        } else {
            ocr::marks::find_check_boxes(&prepared.display, side / 100, side / 25)
        };
        page_boxes = boxes.iter().map(|b| (b.bbox, b.ticked(), b.clarity())).collect::<Vec<_>>();
        page.add_check_boxes(&page_boxes);
        box_time = t_read.elapsed();
    }
    let t_second = Instant::now();
    let mut zones_time = std::time::Duration::ZERO;
    if !second.is_empty() && !page.words.is_empty() {
        // Values that did not validate, read again by single-script engines.
        let started = Instant::now();
        let zones = chart::extract::doubtful_zones(&templates, &page);
        zones_time = started.elapsed();
        for zone in zones.into_iter().take(MAX_REREADS) {
            for (languages, engine) in second.iter_mut() {
                let words = engine.recognize_zone(&prepared, zone).map_err(|e| e.to_string())?;
                if words.is_empty() {
                    continue;
                }
                let text = words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
                let confidence = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
                page.rereads.push(chart::words::Reread { bbox: zone, text, confidence, languages: languages.clone() });
            }
        }
    }
    if ctx.options.sparse_reading && !page.words.is_empty() {
        // The page read again as sparse text: extraction keeps, field by field, the better
        // supported of the two readings (labels stacked in a cell, grids).
        let words = engine.recognize_sparse(&prepared).map_err(|e| e.to_string())?;
        let mut sparse = PageWords { page: job.page_no, width, height, words, rereads: Vec::new(), sparse: Vec::new() };
        if !page_boxes.is_empty() {
            sparse.add_check_boxes(&page_boxes);
        }
        page.sparse = sparse.words;
    }
    let second_time = t_second.elapsed();
    // Preparation time is measured inside (and check boxes are preparation), and so is
    // extraction's; the rest of the reading is OCR, orientation or second readings.
    let t2 = Instant::now();
    let ocr_time = (t2 - t_decoded).saturating_sub(reading.prep_time + box_time + reading.orientation_time + second_time + check_time.get());
    let jpeg = encode_page_image(&prepared.display)?;
    let image_sha256 = sha256_hex(&jpeg);
    // The page image is derived from the durable original, so it is written without fsync.
    ctx.blobs.put_derived(store::blobs::BlobKind::Page, &image_sha256, &jpeg).map_err(|e| e.to_string())?;
    let t3 = Instant::now();
    let stages = &ctx.shared.stage_nanos;
    // Finding the doubtful values was timed inside `second_time`: it is extraction.
    let extraction_time = check_time.get() + zones_time;
    let second_time = second_time.saturating_sub(zones_time);
    for (i, d) in
        [t_decoded - t0, reading.prep_time + box_time, ocr_time, reading.orientation_time, second_time, extraction_time, t3 - t2].into_iter().enumerate()
    {
        stages[i].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
    Ok(PageResult { image_sha256, width, height, skew: prepared.skew_degrees, words: page })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chart::{BBox, Word};
    use ocr::ReplayRecognizer;

    fn line(text: &str, line: u32) -> Vec<Word> {
        let mut x = 100;
        text.split(' ')
            .map(|t| {
                let w = Word { text: t.into(), bbox: BBox::new(x, 100 + 60 * line, 20 * t.len() as u32, 40), confidence: 0.95, line, block: 1 };
                x += 20 * t.len() as u32 + 20;
                w
            })
            .collect()
    }

    /// The pipeline's own logic (ledger, duplicates, rejections, queue, extraction), with
    /// recorded words standing in for Tesseract; tests/ runs the same with real Tesseract.
    #[tokio::test(flavor = "multi_thread")]
    async fn ingest_then_process_with_replayed_words() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/db.sqlite", dir.path().display())).await.unwrap();
        let blobs = BlobStore::new(dir.path().join("data")).unwrap();
        let samples = dir.path().join("box");
        std::fs::create_dir(&samples).unwrap();
        for f in ["ipd-0002.png", "opd-0008.tif", "ipd-0011.png", "opd-0026.png"] {
            std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts/SR01").join(f), samples.join(f)).unwrap();
        }
        let junk = dir.path().join("notes.txt");
        std::fs::write(&junk, "not a scan").unwrap();
        let options = IngestOptions {
            facility: "SR01".into(),
            batch: "t".into(),
            box_label: None,
            operator: None,
            limits: Limits::default(),
            jobs: 2,
            split: chart::SplitOn::None,
            isolate: None,
        };
        let report = ingest_files(&store, &blobs, &[samples.clone(), junk.clone()], &options, &NoProgress).await.unwrap();
        assert_eq!((report.files, report.accepted, report.duplicates, report.pages), (5, 4, 0, 4));
        assert_eq!(
            report.rejected,
            vec![Rejected { path: junk.display().to_string(), reason: "unsupported file type: not a PNG, JPEG, TIFF, BMP, WebP or PDF file".into() }]
        );
        let again = ingest_files(&store, &blobs, &[samples], &options, &NoProgress).await.unwrap();
        assert_eq!((again.accepted, again.duplicates, again.pages), (0, 4, 0));

        let mut words = line("OUTPATIENT CONSULTATION CARD", 0);
        words.extend(line("Patient ID: 004512", 1));
        let replay = ReplayRecognizer { words };
        let opts = ProcessOptions { jobs: 2, ..Default::default() };
        let done = process_queue_with(&store, &blobs, &opts, Arc::new(NoProgress), move || Ok(Box::new(replay.clone()) as Box<dyn Recognizer>)).await.unwrap();
        assert_eq!((done.processed_pages, done.failed_pages), (4, 0));
        let charts = store.charts(Some(chart::ChartStatus::Extracted)).await.unwrap();
        assert_eq!(charts.len(), 4);
        assert!(charts.iter().all(|c| c.fields["patient_id"].text() == Some("004512")));
        let page = &charts[0].pages[0];
        assert!(blobs.path(store::blobs::BlobKind::Page, page.image_sha256.as_deref().unwrap()).exists(), "page image stored");
    }
}
