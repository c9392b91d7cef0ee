//! `chartscan doctor`: checks the machine chartscan runs on and says what to fix: Tesseract
//! and its languages, Khmer fonts, the data directory's permissions and free space, the
//! OpenMP setting, and the database (reachable, its schema against this release's). Changes
//! nothing. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.

use super::Context;
use anyhow::Result;
use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// One check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    verdict: Verdict,
    found: String,
    /// What to do, when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn check(check: &'static str, verdict: Verdict, found: impl Into<String>, fix: Option<&str>) -> Check {
    Check { check, verdict, found: found.into(), fix: fix.map(str::to_string) }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON instead of lines.
    #[arg(long)]
    json: bool,
}

fn run_tool(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    Some(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn tesseract_checks(out: &mut Vec<Check>) {
    match run_tool("tesseract", &["--version"]) {
        Some(text) => {
            let version = text.lines().next().unwrap_or("").trim().to_string();
            let major = version.split_whitespace().nth(1).and_then(|v| v.trim_start_matches('v').split('.').next()?.parse::<u32>().ok());
            match major {
                Some(m) if m >= 5 => out.push(check("tesseract", Verdict::Ok, version, None)),
                _ => {
                    out.push(check("tesseract", Verdict::Warn, version, Some("chartscan is measured with Tesseract 5 (Debian 12: apt install tesseract-ocr)")))
                }
            }
        }
        None => {
            out.push(check("tesseract", Verdict::Warn, "the tesseract program is not installed (the library may still be)", Some("apt install tesseract-ocr")))
        }
    }
    // The library chartscan links, with the languages it reads.
    for languages in ["eng", "khm", "eng+khm"] {
        let config = ocr::OcrConfig { languages: languages.into(), ..ocr::OcrConfig::default() };
        match ocr::TesseractRecognizer::new(&config) {
            Ok(_) => out.push(check("tesseract languages", Verdict::Ok, format!("{languages} loads"), None)),
            Err(e) => out.push(check(
                "tesseract languages",
                Verdict::Fail,
                format!("{languages}: {e}"),
                Some("apt install tesseract-ocr-eng tesseract-ocr-khm (or set TESSDATA_PREFIX to the folder holding eng and khm .traineddata)"),
            )),
        }
    }
}

fn font_checks(out: &mut Vec<Check>) {
    match run_tool("fc-list", &[":lang=km", "family"]) {
        Some(text) if text.lines().any(|l| !l.trim().is_empty()) => {
            let families: std::collections::BTreeSet<&str> =
                text.lines().filter_map(|l| l.split(',').next()).map(str::trim).filter(|l| !l.is_empty()).collect();
            out.push(check("khmer fonts", Verdict::Ok, families.into_iter().take(4).collect::<Vec<_>>().join(", "), None));
        }
        _ => out.push(check(
            "khmer fonts",
            Verdict::Warn,
            "no font with Khmer letters on this machine (the review UI brings its own; reports printed here need one)",
            Some("apt install fonts-khmeros"),
        )),
    }
}

fn data_checks(ctx: &Context, out: &mut Vec<Check>) {
    let dir = &ctx.data;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(check(
                    "data directory",
                    Verdict::Fail,
                    format!("{} is readable by others (mode {mode:o}): it holds patient charts", dir.display()),
                    Some(&format!("chmod 700 {}", dir.display())),
                ));
            } else {
                out.push(check("data directory", Verdict::Ok, format!("{} (mode {mode:o})", dir.display()), None));
            }
            let probe = dir.join(format!(".doctor-{}", std::process::id()));
            match std::fs::write(&probe, b"x").and_then(|_| std::fs::remove_file(&probe)) {
                Ok(()) => out.push(check("data directory writable", Verdict::Ok, "yes", None)),
                Err(e) => out.push(check(
                    "data directory writable",
                    Verdict::Fail,
                    format!("{}: {e}", dir.display()),
                    Some("run chartscan as the user that owns the data directory (the chartscan service user)"),
                )),
            }
            match store::blobs::disk_space(dir) {
                Ok((free, total)) => {
                    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
                    let found = format!("{:.1} GiB free of {:.1} GiB", gib(free), gib(total));
                    let verdict = if free < (1 << 30) {
                        Verdict::Fail
                    } else if free < (5 << 30) || (free as f64) < total as f64 * 0.05 {
                        Verdict::Warn
                    } else {
                        Verdict::Ok
                    };
                    let fix = (verdict != Verdict::Ok).then_some("free space or move the data directory (a day of scanning takes about 1 GiB per 2,000 pages)");
                    out.push(check("free space", verdict, found, fix));
                }
                Err(e) => out.push(check("free space", Verdict::Warn, e.to_string(), None)),
            }
        }
        Ok(_) => out.push(check("data directory", Verdict::Fail, format!("{} is not a directory", dir.display()), Some("give --data a directory"))),
        Err(_) => out.push(check(
            "data directory",
            Verdict::Warn,
            format!("{} does not exist yet (the first ingest makes it)", dir.display()),
            Some("or give --data / CHARTSCAN_DATA the directory you use"),
        )),
    }
}

fn openmp_check(out: &mut Vec<Check>) {
    match std::env::var("OMP_THREAD_LIMIT") {
        Ok(v) if v.trim() == "1" => out.push(check("OpenMP", Verdict::Ok, "OMP_THREAD_LIMIT=1", None)),
        Ok(v) => out.push(check(
            "OpenMP",
            Verdict::Warn,
            format!("OMP_THREAD_LIMIT={v}: each Tesseract would start that many threads beside chartscan's own, several times slower"),
            Some("unset it (chartscan sets 1 itself for OCR) or set OMP_THREAD_LIMIT=1"),
        )),
        Err(_) => out.push(check("OpenMP", Verdict::Ok, "not set: chartscan sets OMP_THREAD_LIMIT=1 for the commands that read pages", None)),
    }
}

async fn database_check(ctx: &Context, out: &mut Vec<Check>) {
    let url = ctx.db.expose();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
        if !path.exists() {
            let parent_ok = path.parent().is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
            let (verdict, fix) =
                if parent_ok { (Verdict::Ok, None) } else { (Verdict::Warn, Some("its folder is made by the first command, if the user may")) };
            out.push(check("database", verdict, format!("{} does not exist yet: the first command creates it", path.display()), fix));
            return;
        }
    }
    match store::inspect(url).await {
        Ok(s) => {
            out.push(check("database", Verdict::Ok, format!("{} reachable ({})", ctx.db, s.server.split(" on ").next().unwrap_or(&s.server)), None));
            match s.applied {
                Some(v) if v > s.known => out.push(check(
                    "database schema",
                    Verdict::Fail,
                    format!("version {v}, newer than this release knows ({})", s.known),
                    Some("run the newer release that upgraded it, or restore a backup made for this one"),
                )),
                Some(v) if v < s.known => {
                    out.push(check("database schema", Verdict::Ok, format!("version {v}; this release upgrades it to {} when it next opens it", s.known), None))
                }
                Some(v) => out.push(check("database schema", Verdict::Ok, format!("version {v}, this release's"), None)),
                None => out.push(check("database schema", Verdict::Ok, "empty: the first command makes the schema", None)),
            }
        }
        Err(e) => out.push(check(
            "database",
            Verdict::Fail,
            format!("{}: {e}", ctx.db),
            Some("check --db / CHARTSCAN_DB, that the server runs and the user may connect"),
        )),
    }
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let mut out = Vec::new();
    tesseract_checks(&mut out);
    font_checks(&mut out);
    openmp_check(&mut out);
    data_checks(ctx, &mut out);
    database_check(ctx, &mut out).await;
    out.push(check("templates", Verdict::Ok, format!("{} form templates", ctx.templates.len()), None));
    let failed = out.iter().any(|c| c.verdict == Verdict::Fail);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"ok": !failed, "checks": out}))?);
    } else {
        for c in &out {
            let mark = match c.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            println!("{mark}  {:<24} {}", c.check, c.found);
            if let Some(fix) = &c.fix {
                println!("      {:<24} fix: {fix}", "");
            }
        }
        println!("{}", if failed { "some checks failed: fix them before running chartscan here" } else { "nothing to fix" });
    }
    Ok(if failed { 1 } else { 0 })
}
