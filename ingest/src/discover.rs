//! Finding the files to ingest: files and folders (recursively), in a stable order,
//! skipping hidden and temporary files a scanner may still be writing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Whether a file name looks like one a scanner or copy tool is still writing.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('~')
        || [".tmp", ".part", ".crdownload", ".partial", ".swp"].iter().any(|s| name.to_ascii_lowercase().ends_with(s))
}

/// Every regular file under `paths` (files as given, folders recursively), sorted by path
/// within each folder, without hidden or temporary files. Paths that do not exist are
/// returned as errors so the caller can report them. Symbolic links inside a folder are
/// followed only to what lies inside that same folder (a link out of it, to `/etc` or to
/// another clinic's share, is reported and not read), and each folder is walked once.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let mut walk = Walk { root: std::fs::canonicalize(p).ok(), seen: HashSet::new(), files: &mut files, errors: &mut errors };
        walk.visit(p, true);
    }
    (files, errors)
}

struct Walk<'a> {
    /// The folder (or file) given, resolved; `None` when it cannot be.
    root: Option<PathBuf>,
    /// Folders walked already, resolved (links may lead to a folder twice, or in a circle).
    seen: HashSet<PathBuf>,
    files: &'a mut Vec<PathBuf>,
    errors: &'a mut Vec<(PathBuf, String)>,
}

impl Walk<'_> {
    fn visit(&mut self, path: &Path, explicit: bool) {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if !explicit && is_temporary(&name) {
            return;
        }
        if !explicit && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            let inside = match (std::fs::canonicalize(path), &self.root) {
                (Ok(target), Some(root)) => target.starts_with(root),
                _ => false,
            };
            if !inside {
                self.errors.push((path.to_path_buf(), "symbolic link out of the folder being imported (not followed)".into()));
                return;
            }
        }
        match std::fs::metadata(path) {
            Err(e) => self.errors.push((path.to_path_buf(), format!("cannot read: {e}"))),
            Ok(m) if m.is_dir() => {
                if !self.seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())) {
                    return;
                }
                match std::fs::read_dir(path) {
                    Err(e) => self.errors.push((path.to_path_buf(), format!("cannot list folder: {e}"))),
                    Ok(entries) => {
                        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                        children.sort();
                        for c in children {
                            self.visit(&c, false);
                        }
                    }
                }
            }
            Ok(m) if m.is_file() => self.files.push(path.to_path_buf()),
            Ok(_) => self.errors.push((path.to_path_buf(), "not a regular file".into())),
        }
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

    #[test]
    fn symbolic_links_out_of_the_folder_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, outside) = (dir.path().join("inbox"), dir.path().join("elsewhere"));
        std::fs::create_dir_all(inbox.join("box1")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(inbox.join("box1/a.png"), b"x").unwrap();
        std::fs::write(outside.join("secret.png"), b"x").unwrap();
        let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, inbox.join(name)).unwrap();
        link(&outside.join("secret.png"), "out.png");
        link(&outside, "out-folder");
        link(&inbox.join("box1/a.png"), "same.png");
        link(&inbox, "loop");
        let (files, errors) = discover(std::slice::from_ref(&inbox));
        let names: Vec<String> = files.iter().map(|f| f.strip_prefix(&inbox).unwrap().display().to_string()).collect();
        assert_eq!(names, ["box1/a.png", "same.png"], "a link inside the folder is read, a loop walked once");
        let refused: Vec<String> = errors.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().to_string()).collect();
        assert_eq!(refused, ["out-folder", "out.png"]);
        assert!(errors.iter().all(|(_, why)| why.contains("symbolic link out of the folder")));
    }
}
