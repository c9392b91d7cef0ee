//! The content-addressed data directory: originals and page images stored under their
//! SHA-256, written durably (temporary file, fsync, rename, fsync of the directory) so that
//! a file recorded in the database is always on disk.

use crate::{Result, StoreError};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a blob is; each kind has its own folder of the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// A scanned file as it arrived (kept durably: the ledger's promise).
    Original,
    /// A page image as the reviewer sees it (JPEG; can be made again from its original).
    Page,
}

impl BlobKind {
    /// The folder it lives in.
    pub fn folder(self) -> &'static str {
        match self {
            BlobKind::Original => "originals",
            BlobKind::Page => "pages",
        }
    }
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// The SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

impl BlobStore {
    /// A blob store rooted at `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        create_private_dir(&root)?;
        Ok(Self { root })
    }

    /// Where the blob `sha256` of `kind` lives.
    pub fn path(&self, kind: BlobKind, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("xx");
        self.root.join(kind.folder()).join(prefix).join(sha256)
    }

    /// Stores `bytes` as `kind`/`sha256` durably (fsync of the file and its folder); a no-op
    /// when it is already there.
    pub fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.write(kind, sha256, bytes, true)
    }

    /// Stores data that can be made again from a durable blob (a page image from its
    /// original): written by temporary file and rename, but without fsync.
    pub fn put_derived(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.write(kind, sha256, bytes, false)
    }

    fn write(&self, kind: BlobKind, sha256: &str, bytes: &[u8], durable: bool) -> Result<PathBuf> {
        let path = self.path(kind, sha256);
        if path.exists() {
            return Ok(path);
        }
        let dir = path.parent().expect("blob paths have a parent");
        create_private_dir(dir)?;
        let tmp = dir.join(format!(".{sha256}.{}.{:?}.tmp", std::process::id(), std::thread::current().id()));
        let written = (|| {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(format!("creating {}", tmp.display())))?;
            f.write_all(bytes).map_err(io(format!("writing {}", tmp.display())))?;
            if durable {
                f.sync_all().map_err(io(format!("syncing {}", tmp.display())))?;
            }
            Ok::<(), StoreError>(())
        })();
        if let Err(e) = written {
            // Nothing half-written stays behind (a full disk, for one).
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &path).map_err(io(format!("renaming into {}", path.display())))?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(path)
    }

    /// Reads a blob.
    pub fn get(&self, kind: BlobKind, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path(kind, sha256);
        std::fs::read(&path).map_err(io(format!("reading {}", path.display())))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Bytes free (for this user) and in all on the file system holding `path`.
pub fn disk_space(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| std::io::Error::other("a path with a NUL byte"))?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = s.f_frsize as u64;
    Ok((s.f_bavail as u64 * unit, s.f_blocks as u64 * unit))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("syncing {}", dir.display())))
}

/// Creates `dir` (and its parents) if missing; a folder created here is readable by its owner
/// only (mode 0700), as are the folders under it that chartscan makes.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(format!("creating {}", dir.display())))
}

/// Creates the empty file `path` readable and writable by its owner only (mode 0600), unless
/// it exists.
pub fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(format!("creating {}", path.display()))(e)),
    }
}
