//! Finding the files to ingest: files and folders (recursively), in a stable order,
//! skipping hidden and temporary files a scanner may still be writing.

use std::path::{Path, PathBuf};

/// Whether a file name looks like one a scanner or copy tool is still writing.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('~')
        || [".tmp", ".part", ".crdownload", ".partial", ".swp"].iter().any(|s| name.to_ascii_lowercase().ends_with(s))
}

/// Every regular file under `paths` (files as given, folders recursively), sorted by path
/// within each folder, without hidden or temporary files. Paths that do not exist are
/// returned as errors so the caller can report them.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        walk(p, true, &mut files, &mut errors);
    }
    (files, errors)
}

fn walk(path: &Path, explicit: bool, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if !explicit && is_temporary(&name) {
        return;
    }
    match std::fs::metadata(path) {
        Err(e) => errors.push((path.to_path_buf(), format!("cannot read: {e}"))),
        Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
            Err(e) => errors.push((path.to_path_buf(), format!("cannot list folder: {e}"))),
            Ok(entries) => {
                let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                for c in children {
                    walk(&c, false, files, errors);
                }
            }
        },
        Ok(m) if m.is_file() => files.push(path.to_path_buf()),
        Ok(_) => errors.push((path.to_path_buf(), "not a regular file".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_in_order_without_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("box2")).unwrap();
        for f in ["b.jpg", "a.png", ".hidden.jpg", "scan.jpg.part", "box2/c.tif", "~lock"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let (files, errors) = discover(&[d.to_path_buf(), d.join("missing.pdf")]);
        let names: Vec<String> = files.iter().map(|f| f.strip_prefix(d).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a.png", "b.jpg", "box2/c.tif"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.contains("cannot read"));
    }
}
