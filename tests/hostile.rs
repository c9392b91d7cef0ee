//! Hostile files (findings of the security review): PDFs crafted here, in code, to break the
//! decoding limits or kill the process, dropped into one batch beside good scans. Each must be
//! rejected with a clear reason while the rest of the batch is accepted (exit code 3), and the
//! whole ingest, its decoders included, must stay under 1 GiB of memory.

mod common;

use common::Workspace;
use lopdf::{dictionary, Dictionary, Document, Object, Stream};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A one-page PDF: `images` as the page's XObjects (`/Im0`, `/Im1`...) and `content` as its
/// content stream (compressed when `compress`).
fn pdf(images: Vec<Stream>, content: Vec<u8>, compress: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let images: Vec<(usize, Object)> = images.into_iter().enumerate().map(|(i, s)| (i, Object::Stream(s))).collect();
    finish(&mut doc, images, content, compress)
}

/// Adds the page, its images and content to `doc` and saves it.
fn finish(doc: &mut Document, images: Vec<(usize, Object)>, content: Vec<u8>, compress: bool) -> Vec<u8> {
    let pages_id = doc.new_object_id();
    let mut xobjects = Dictionary::new();
    for (i, image) in images {
        let id = doc.add_object(image);
        xobjects.set(format!("Im{i}"), id);
    }
    let mut content = Stream::new(dictionary! {}, content);
    if compress {
        content.compress().unwrap();
    }
    let content_id = doc.add_object(content);
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        "Contents" => content_id, "Resources" => dictionary! { "XObject" => xobjects },
    });
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// An image XObject of `w`×`h` 8-bit grey pixels, all white, Flate-compressed.
fn white(w: i64, h: i64) -> Stream {
    let mut s = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
        vec![255u8; (w * h) as usize],
    );
    s.compress().unwrap();
    s
}

const DRAW_PAGE: &[u8] = b"q 612 0 0 792 0 0 cm /Im0 Do Q";

/// The hostile files, each with words its rejection must contain.
fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut files = Vec::new();
    // 1. A 100×100 fax image whose /DecodeParms ask for a 65535×65535 buffer (4 GiB), and one
    //    asking for 400 megapixels (the limit is 80).
    for (name, columns, rows) in [("fax-4gib.pdf", 65535, 65535), ("fax-400mp.pdf", 20000, 20000)] {
        let mut s = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 100, "Height" => 100, "BitsPerComponent" => 1, "ColorSpace" => "DeviceGray",
                "Filter" => "CCITTFaxDecode", "DecodeParms" => dictionary! { "K" => -1, "Columns" => columns, "Rows" => rows },
            },
            vec![0u8; 2048],
        );
        s.allows_compression = false;
        files.push((name, pdf(vec![s], DRAW_PAGE.to_vec(), false), "too large"));
    }
    // 2. An indexed colour space whose base is itself (recursed until the stack overflowed).
    let mut doc = Document::with_version("1.5");
    let space = doc.new_object_id();
    doc.objects
        .insert(space, Object::Array(vec![Object::Name(b"Indexed".to_vec()), Object::Reference(space), 1.into(), Object::string_literal(vec![0u8, 255])]));
    let mut image = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 10, "Height" => 10, "BitsPerComponent" => 8, "ColorSpace" => space },
        vec![1u8; 100],
    );
    image.allows_compression = false;
    files.push(("indexed-loop.pdf", finish(&mut doc, vec![(0, Object::Stream(image))], DRAW_PAGE.to_vec(), false), "indexed colour space"));
    // 3. Decompression bombs: one 64-megapixel white image drawn 30 times (each draw was
    //    decoded before the page's size was checked), a page content stream of 256 MiB, and a
    //    palette of 256 MiB, each a few hundred kilobytes in the file.
    let mut draws = String::new();
    for i in 0..30 {
        draws.push_str(&format!("q 100 0 0 100 {} {} cm /Im0 Do Q\n", (i % 6) * 100, (i / 6) * 100));
    }
    files.push(("thirty-draws.pdf", pdf(vec![white(8000, 8000)], draws.into_bytes(), false), "over the limit"));
    let bomb: Vec<u8> = b"0 0 m ".iter().copied().cycle().take(256 << 20).chain(DRAW_PAGE.iter().copied()).collect();
    files.push(("content-bomb.pdf", pdf(vec![white(100, 100)], bomb, true), "too large: PDF page content"));
    let mut doc = Document::with_version("1.5");
    let mut palette = Stream::new(dictionary! {}, vec![0u8; 256 << 20]);
    palette.compress().unwrap();
    let palette = doc.add_object(palette);
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 10, "Height" => 10, "BitsPerComponent" => 8,
            "ColorSpace" => vec![Object::Name(b"Indexed".to_vec()), Object::Name(b"DeviceRGB".to_vec()), 255.into(), palette.into()],
        },
        vec![1u8; 100],
    );
    image.allows_compression = false;
    files.push((
        "palette-bomb.pdf",
        finish(&mut doc, vec![(0, Object::Stream(image))], DRAW_PAGE.to_vec(), false),
        "too large: indexed colour space's lookup table",
    ));
    files
}

/// Every file under `dir`.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Runs `chartscan ARGS` and waits for it with `wait4`, which also reports the peak resident
/// memory of the process and of every child it waited for (its decoders), in MiB.
fn run_measured(ws: &Workspace, args: &[&str]) -> (i32, Value, String, f64) {
    let child = ws.cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let output = std::thread::spawn(move || {
        let mut child = child;
        let (mut out, mut err) = (String::new(), String::new());
        use std::io::Read;
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        std::mem::forget(child); // reaped below by wait4
        (out, err)
    });
    let (out, err) = output.join().unwrap();
    let mut status = 0;
    // SAFETY: wait4 on our own child; the structs are filled by the kernel.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
        usage
    };
    assert!(libc::WIFEXITED(status), "chartscan was killed (signal {}):\n{err}", libc::WTERMSIG(status));
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (libc::WEXITSTATUS(status), report, err, usage.ru_maxrss as f64 / 1024.0)
}

#[test]
fn crafted_pdfs_are_rejected_and_the_rest_of_the_batch_goes_on() {
    let ws = Workspace::new();
    let dir = ws.samples(&["SR01/ipd-0002.png", "SR01/anc-0005.pdf"]);
    let files = hostile();
    for (name, bytes, _) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let started = Instant::now();
    let (code, report, stderr, peak) = run_measured(&ws, &["ingest", dir.to_str().unwrap(), "--no-process", "--json"]);
    println!("{} hostile files and 2 good scans: exit {code}, {:.1} s, peak memory {peak:.0} MiB", files.len(), started.elapsed().as_secs_f64());
    assert_eq!(code, 3, "some files rejected, the batch completed: {report}\n{stderr}");
    assert_eq!(report["accepted"].as_u64(), Some(2), "the good scans are accepted: {report}");
    let rejected = report["rejected"].as_array().unwrap();
    for (name, _, words) in &files {
        let r = rejected.iter().find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name))).unwrap_or_else(|| panic!("{name} not rejected: {report}"));
        let reason = r["reason"].as_str().unwrap();
        println!("  {name}: {reason}");
        assert!(reason.contains(words), "{name}: the reason should say {words:?}: {reason}");
    }
    assert_eq!(rejected.len(), files.len(), "{report}");
    // What was accepted is stored readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = ws.path().join("data");
    assert_eq!(mode(&data), 0o700);
    let original = walk_files(&data).into_iter().next().expect("an original stored");
    assert_eq!(mode(&original), 0o600, "{}", original.display());
    assert!(peak < 1024.0, "peak memory {peak:.0} MiB");
}

/// A file whose check takes longer than the decode timeout: the same large page drawn on
/// each of 500 pages. It is rejected as too slow, the decoder is stopped (no process of it
/// is left), and the next file is accepted.
#[test]
fn a_file_that_decodes_too_slowly_is_stopped_and_the_batch_goes_on() {
    let ws = Workspace::new();
    let dir = ws.samples(&["SR01/ipd-0002.png"]);
    let mut doc = Document::with_version("1.5");
    let image = doc.add_object(white(4000, 5000));
    let content = doc.add_object(Stream::new(dictionary! {}, DRAW_PAGE.to_vec()));
    let pages_id = doc.new_object_id();
    let kids: Vec<Object> = (0..500)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                "Contents" => content, "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
            })
            .into()
        })
        .collect();
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 500 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let slow = dir.join("slow-500-pages.pdf");
    doc.save(&slow).unwrap();

    let started = Instant::now();
    let (code, report, stderr, _) = run_measured(&ws, &["ingest", dir.to_str().unwrap(), "--no-process", "--json", "--decode-timeout", "2"]);
    let seconds = started.elapsed().as_secs_f64();
    println!("a 500-page file against a 2 s decode timeout: rejected after {seconds:.1} s: {}", report["rejected"]);
    assert_eq!(code, 3, "{report}\n{stderr}");
    assert_eq!(report["accepted"].as_u64(), Some(1), "{report}");
    let reason = report["rejected"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("too slow") && reason.contains("stopped"), "{reason}");
    assert!(seconds < 30.0, "the batch waited {seconds:.0} s for a file past its 2 s timeout");
    // No decoder of that file is still running.
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(slow.to_str().unwrap()) && c.contains("__decode-check"))
        .collect();
    assert!(left.is_empty(), "a decoder is still running: {left:?}");
    assert!(Path::new(&slow).exists(), "the rejected file is left where it was");
}
