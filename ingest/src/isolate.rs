//! Checking an untrusted file in a child process, so that no file can take the batch down.
//!
//! Decoders are written with limits, but a decoder bug (an abort, a stack overflow, a loop
//! that never ends) in any of them — lopdf, tiff, zune, fax — would otherwise end or hang
//! the whole `ingest` or `watch`, and a watcher would then meet the same file again and
//! again. So the check that accepts a file ([`crate::decode::inspect_pages`]) runs in a child:
//! the chartscan program itself started with [`CHILD_ARG`], the file's bytes on its stdin, its
//! address space and CPU time bounded by the kernel (`setrlimit`), killed when the decode
//! timeout passes or its parent dies. Whatever happens to the child, the parent turns it into
//! a rejection with a reason, and the batch goes on.
//!
//! Pages of an accepted file are decoded again later for OCR by the same code on the same
//! bytes, which the child has shown to decode within the limits.

use crate::decode::{inspect_pages, Limits, MediaType};
use chart::PageKind;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The first argument that makes the chartscan program a decode child ([`child_main`]).
pub const CHILD_ARG: &str = "__decode-check";

/// Address space a child may map besides the decode's allocation limit and two copies of the
/// file: the program and its libraries, stacks, the allocator's arenas.
const HEADROOM: u64 = 448 << 20;

/// The address space a child checking a file of `len` bytes may map.
pub fn address_space(limits: &Limits, len: u64) -> u64 {
    limits.max_alloc + 2 * len + HEADROOM
}

/// Checks `bytes` (the file `name`, named for the reader of `ps` only) in a child running
/// `program`: its format and page kinds, or the reason to reject it.
pub async fn inspect_in_child(program: &Path, name: &Path, bytes: std::sync::Arc<Vec<u8>>, limits: &Limits) -> Result<(MediaType, Vec<PageKind>), String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(CHILD_ARG)
        .arg(name)
        .args([limits.max_file_bytes, limits.max_pixels, limits.max_dimension as u64, limits.max_pages as u64, limits.max_alloc].map(|n| n.to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let memory = address_space(limits, bytes.len() as u64);
    let cpu = limits.max_decode_seconds + 1;
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, prctl).
    unsafe {
        cmd.pre_exec(move || {
            let set = |resource, value: u64| {
                let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                if libc::setrlimit(resource, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            set(libc::RLIMIT_AS, memory)?;
            set(libc::RLIMIT_CPU, cpu)?;
            set(libc::RLIMIT_CORE, 0)?;
            // The child dies with its parent (a killed ingest leaves no decoder running).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start the decoder ({}): {e}", program.display()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // The child may die before it has read everything: a broken pipe is its exit to report.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&bytes).await;
    });
    let collect = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        (out, err)
    };
    let limit = Duration::from_secs(limits.max_decode_seconds);
    let finished = tokio::time::timeout(limit, async {
        let (out, err) = collect.await;
        (child.wait().await, out, err)
    })
    .await;
    feed.abort();
    let (status, out, err) = match finished {
        Ok((status, out, err)) => (status.map_err(|e| format!("the decoder: {e}"))?, out, err),
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!("too slow: decoding took longer than {} s (stopped)", limits.max_decode_seconds));
        }
    };
    let err = String::from_utf8_lossy(&err);
    if !status.success() {
        return Err(reason_for(status, &err, limits));
    }
    let answer: serde_json::Value = serde_json::from_slice(&out).map_err(|e| format!("the decoder answered nonsense ({e})"))?;
    if let Some(reason) = answer["error"].as_str() {
        return Err(reason.to_string());
    }
    let kind = answer["kind"].as_str().and_then(MediaType::from_mime).ok_or("the decoder named no format")?;
    let pages = answer["pages"]
        .as_array()
        .ok_or("the decoder counted no pages")?
        .iter()
        .map(|p| match p.as_str() {
            Some("blank") => PageKind::Blank,
            Some("separator") => PageKind::Separator,
            _ => PageKind::Content,
        })
        .collect();
    Ok((kind, pages))
}

/// The reason a child that did not finish its answer gives the clerk.
fn reason_for(status: std::process::ExitStatus, stderr: &str, limits: &Limits) -> String {
    if stderr.contains("memory allocation of") {
        return format!("too large: decoding needs more than the memory limit of {} MiB", limits.max_alloc >> 20);
    }
    if stderr.contains("overflowed its stack") {
        return "corrupt: the file nests too deeply to decode (the decoder's stack overflowed)".into();
    }
    match status.signal() {
        Some(libc::SIGXCPU) => format!("too slow: decoding used more than {} s of CPU time (stopped)", limits.max_decode_seconds),
        Some(signal) => format!("the decoder crashed on this file (signal {signal}): {}", last_line(stderr)),
        None => format!("the decoder failed on this file (exit {}): {}", status.code().unwrap_or(-1), last_line(stderr)),
    }
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim()
}

/// The child's side: reads the file from stdin and the limits from `args` (after
/// [`CHILD_ARG`] and the file's name), checks it, and prints one JSON answer. Returns the
/// exit code (0 whenever it could answer, a rejection included).
pub fn child_main(args: &[String]) -> i32 {
    let numbers: Vec<u64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [max_file_bytes, max_pixels, max_dimension, max_pages, max_alloc] = numbers[..] else {
        eprintln!("usage: chartscan {CHILD_ARG} NAME MAX_FILE_BYTES MAX_PIXELS MAX_DIMENSION MAX_PAGES MAX_ALLOC < file");
        return 2;
    };
    let limits = Limits {
        max_file_bytes,
        max_pixels,
        max_dimension: max_dimension.min(u32::MAX as u64) as u32,
        max_pages: max_pages.min(u32::MAX as u64) as u32,
        max_alloc,
        ..Limits::default()
    };
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().take(max_file_bytes + 1).read_to_end(&mut bytes) {
        eprintln!("reading the file: {e}");
        return 2;
    }
    let answer = match inspect_pages(&bytes, &limits) {
        Ok((kind, pages)) => serde_json::json!({"kind": kind.mime(), "pages": pages.iter().map(|p| p.flag().unwrap_or("content")).collect::<Vec<_>>()}),
        Err(e) => serde_json::json!({"error": e.to_string()}),
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{answer}").and_then(|()| out.flush()).is_err() {
        return 2;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::ExitStatus;

    #[test]
    fn a_child_that_died_is_a_reason_in_words() {
        let limits = Limits::default();
        let killed = |signal: i32| ExitStatus::from_raw(signal);
        let oom = reason_for(killed(libc::SIGABRT), "memory allocation of 4294836225 bytes failed\n", &limits);
        assert_eq!(oom, "too large: decoding needs more than the memory limit of 512 MiB");
        let deep = reason_for(killed(libc::SIGABRT), "\nthread 'main' has overflowed its stack\nfatal runtime error: stack overflow\n", &limits);
        assert!(deep.contains("nests too deeply"), "{deep}");
        assert!(reason_for(killed(libc::SIGXCPU), "", &limits).starts_with("too slow"));
        let segv = reason_for(killed(libc::SIGSEGV), "", &limits);
        assert!(segv.contains("crashed") && segv.contains("signal 11") && segv.contains("no message"), "{segv}");
        let exit = reason_for(ExitStatus::from_raw(2 << 8), "usage: ...\n", &limits);
        assert_eq!(exit, "the decoder failed on this file (exit 2): usage: ...");
    }
}
