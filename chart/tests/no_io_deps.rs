//! Guards the architecture: `chart` stays pure. It fails when the crate gains an IO, async,
//! database, web or FFI dependency, or when its source starts doing IO itself.

use std::process::Command;

const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "futures",
    "futures-util",
    "mio",
    "socket2",
    "sqlx",
    "rusqlite",
    "postgres",
    "axum",
    "hyper",
    "reqwest",
    "tower",
    "leptess",
    "image",
    "lopdf",
    "tiff",
    "libc",
    "cc",
    "bindgen",
    "rayon",
];

#[test]
fn chart_has_no_io_async_db_web_or_ffi_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "chart", "-e", "normal,build", "--prefix", "none", "--format", "{p}", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"chart"), "cargo tree listed nothing useful: {tree}");
    let bad: Vec<&&str> = names.iter().filter(|n| FORBIDDEN_CRATES.contains(n) || n.ends_with("-sys")).collect();
    assert!(bad.is_empty(), "chart must stay pure, but depends on {bad:?}");
}

#[test]
fn chart_source_does_no_io_itself() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = ["std::fs", "std::net", "std::process", "std::env", "async fn", "extern \"C\"", "unsafe ", "std::thread", "File::"];
    let mut checked = 0;
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            checked += 1;
            for f in forbidden {
                assert!(!text.contains(f), "{} uses {f}: chart must stay pure", path.display());
            }
        }
    }
    assert!(checked >= 20, "found only {checked} source files under {}", dir.display());
}
