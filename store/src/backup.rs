//! Backups of a running installation (issue 19): a consistent copy of the database and the
//! data directory, checked by a manifest of hashes, restored into an empty place.
//!
//! A backup folder holds `blobs/` (the data directory's originals and page images, under
//! their SHA-256, shared by every snapshot: each is copied once, so later backups copy only
//! what is new) and `snapshots/NAME/` (the database, and `manifest.json` written last: a
//! snapshot without one is unfinished and ignored). The database is copied first, inside
//! one read transaction (SQLite's `VACUUM INTO`; `pg_dump`, which reads one snapshot), then
//! the blobs: every file a row of that copy names was on disk before its row committed (the
//! ledger's invariant), so the copy is whole while ingest and review go on.

use crate::blobs::{create_private_dir, BlobKind};
use crate::{Backend, Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path under the backup folder.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
}

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The chartscan that made it.
    pub chartscan_version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration of the database copied.
    pub schema_version: i64,
    /// The database copy.
    pub database: ManifestFile,
    /// Every blob of the data directory at the time.
    pub blobs: Vec<ManifestFile>,
}

/// What a backup did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The snapshot's name.
    pub snapshot: String,
    /// Bytes of the database copy.
    pub database_bytes: u64,
    /// Blobs in the snapshot.
    pub blobs: usize,
    /// Of them copied now (the rest were in the backup already).
    pub blobs_copied: usize,
    /// Bytes copied now.
    pub bytes_copied: u64,
    /// Seconds it took.
    pub seconds: f64,
}

/// What checking a backup found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Snapshots checked.
    pub snapshots: Vec<String>,
    /// Files checked.
    pub files: usize,
    /// Each missing, truncated or altered file, and snapshots without a manifest.
    pub problems: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot: String,
    /// Blobs written into the data directory.
    pub blobs: usize,
    /// Seconds it took.
    pub seconds: f64,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(message)
}

/// SHA-256 and size of what `src` yields, written on to `dst` as it is read (in pieces).
fn hash_through(src: &mut impl Read, dst: &mut impl Write) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = src.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        dst.write_all(&buf[..k])?;
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// SHA-256 and size of a file.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    hash_through(&mut std::fs::File::open(path)?, &mut std::io::sink())
}

/// Copies `from` to `to` durably (a temporary name, fsync, rename), returning the copy's
/// SHA-256 and size.
fn copy_durably(from: &Path, to: &Path) -> std::io::Result<(String, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = to.with_extension(format!("part-{}", std::process::id()));
    let mut src = std::fs::File::open(from)?;
    let mut dst = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    let (sha, n) = hash_through(&mut src, &mut dst)?;
    dst.sync_all()?;
    std::fs::rename(&tmp, to)?;
    if let Some(dir) = to.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok((sha, n))
}

/// Every blob under a data directory: (kind folder / prefix / name, full path).
fn blobs_under(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for kind in [BlobKind::Original, BlobKind::Page] {
        let dir = root.join(kind.folder());
        let Ok(prefixes) = std::fs::read_dir(&dir) else { continue };
        for prefix in prefixes {
            let prefix = prefix.map_err(io(format!("reading {}", dir.display())))?;
            if !prefix.path().is_dir() {
                continue;
            }
            for file in std::fs::read_dir(prefix.path()).map_err(io(format!("reading {}", prefix.path().display())))? {
                let file = file.map_err(io(format!("reading {}", prefix.path().display())))?;
                let name = file.file_name().to_string_lossy().to_string();
                // Content-addressed names only (not a temporary file being written).
                if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    out.push((format!("{}/{}/{name}", kind.folder(), prefix.file_name().to_string_lossy()), file.path()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A PostgreSQL URL without its password, and the password (given to the tools in
/// `PGPASSWORD`, never on their command line, where `ps` would show it).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None) };
    let Some((userinfo, host)) = rest.split_once('@') else { return (url.to_string(), None) };
    match userinfo.split_once(':') {
        Some((user, password)) => (format!("{scheme}://{user}@{host}"), Some(password.to_string())),
        None => (url.to_string(), None),
    }
}

async fn run_tool(program: &str, args: &[&str], password: Option<&str>) -> Result<()> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(std::process::Stdio::null());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.map_err(io(format!("running {program} (Debian: apt install postgresql-client)")))?;
    if !out.status.success() {
        return Err(invalid(format!("{program} failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}

/// The snapshots of a backup folder with a manifest, oldest first.
pub fn snapshots(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("snapshots"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn read_manifest(dir: &Path, snapshot: &str) -> Result<Manifest> {
    let path = dir.join("snapshots").join(snapshot).join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

impl Store {
    /// Backs the store (at `url`, the one this store was opened on) and the data directory
    /// `data` up into `dir`, while they are in use.
    pub async fn backup(&self, url: &str, data: &Path, dir: &Path) -> Result<BackupReport> {
        let started = Instant::now();
        create_private_dir(dir)?;
        let now = crate::now_ms();
        let stamp = crate::rfc3339(now).replace([':', '-'], "");
        let mut name = stamp.clone();
        let mut k = 1;
        while dir.join("snapshots").join(&name).exists() {
            k += 1;
            name = format!("{stamp}-{k}");
        }
        let snap = dir.join("snapshots").join(&name);
        create_private_dir(&snap)?;
        let schema_version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        // The database, in one read transaction.
        let (db_file, backend) = match self.backend {
            Backend::Sqlite => {
                let file = snap.join("database.sqlite");
                sqlx::query("VACUUM INTO $1").bind(file.display().to_string()).execute(&self.pool).await?;
                (file, "sqlite")
            }
            Backend::Postgres => {
                let file = snap.join("database.pgdump");
                let (url, password) = split_password(url);
                let file_arg = format!("--file={}", file.display());
                run_tool("pg_dump", &["--format=custom", "--no-owner", &file_arg, &format!("--dbname={url}")], password.as_deref()).await?;
                (file, "postgres")
            }
        };
        let (sha, bytes) = hash_file(&db_file).map_err(io(format!("reading {}", db_file.display())))?;
        let database = ManifestFile { path: format!("snapshots/{name}/{}", db_file.file_name().unwrap_or_default().to_string_lossy()), sha256: sha, bytes };
        // Then the blobs: each copied once into the shared folder.
        let mut blobs = Vec::new();
        let (mut copied, mut bytes_copied) = (0, 0);
        for (rel, path) in blobs_under(data)? {
            let target = dir.join("blobs").join(&rel);
            let name = rel.rsplit('/').next().unwrap_or_default().to_string();
            let size = std::fs::metadata(&path).map_err(io(format!("reading {}", path.display())))?.len();
            if !target.metadata().is_ok_and(|m| m.len() == size) {
                let (sha, n) = copy_durably(&path, &target).map_err(io(format!("copying {} to {}", path.display(), target.display())))?;
                if sha != name {
                    let _ = std::fs::remove_file(&target);
                    return Err(invalid(format!("{} does not hold what its name says (SHA-256 {sha}): the data directory is damaged", path.display())));
                }
                copied += 1;
                bytes_copied += n;
            }
            blobs.push(ManifestFile { path: format!("blobs/{rel}"), sha256: name, bytes: size });
        }
        let manifest = Manifest {
            created_at: crate::rfc3339(now),
            chartscan_version: env!("CARGO_PKG_VERSION").to_string(),
            backend: backend.to_string(),
            schema_version,
            database: database.clone(),
            blobs,
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| invalid(e.to_string()))?;
        let tmp = snap.join("manifest.json.part");
        std::fs::write(&tmp, text).map_err(io(format!("writing {}", tmp.display())))?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(format!("syncing {}", tmp.display())))?;
        std::fs::rename(&tmp, snap.join("manifest.json")).map_err(io(format!("writing the manifest in {}", snap.display())))?;
        std::fs::File::open(&snap).and_then(|d| d.sync_all()).map_err(io(format!("syncing {}", snap.display())))?;
        Ok(BackupReport {
            snapshot: name,
            database_bytes: database.bytes,
            blobs: manifest.blobs.len(),
            blobs_copied: copied,
            bytes_copied,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Checks every file of a snapshot (all snapshots when `None`) against its manifest.
pub fn verify(dir: &Path, snapshot: Option<&str>) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    for entry in std::fs::read_dir(dir.join("snapshots")).map_err(io(format!("reading {}/snapshots: is it a chartscan backup?", dir.display())))?.flatten() {
        if !entry.path().join("manifest.json").is_file() && snapshot.is_none_or(|s| s == entry.file_name()) {
            report.problems.push(format!("snapshots/{}: no manifest (an unfinished backup)", entry.file_name().to_string_lossy()));
        }
    }
    let names: Vec<String> = match snapshot {
        Some(s) => vec![s.to_string()],
        None => snapshots(dir),
    };
    if names.is_empty() {
        report.problems.push(format!("{}: no finished snapshot", dir.display()));
    }
    let mut seen = std::collections::HashSet::new();
    for name in names {
        let manifest = match read_manifest(dir, &name) {
            Ok(m) => m,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        for f in std::iter::once(&manifest.database).chain(&manifest.blobs) {
            if !seen.insert(f.path.clone()) {
                continue;
            }
            report.files += 1;
            match hash_file(&dir.join(&f.path)) {
                Ok((sha, bytes)) if sha == f.sha256 && bytes == f.bytes => {}
                Ok((_, bytes)) if bytes != f.bytes => report.problems.push(format!("{}: {bytes} bytes, the manifest says {}", f.path, f.bytes)),
                Ok(_) => report.problems.push(format!("{}: its SHA-256 is not the manifest's (altered or damaged)", f.path)),
                Err(e) => report.problems.push(format!("{}: {e}", f.path)),
            }
        }
        report.snapshots.push(name);
    }
    Ok(report)
}

/// Restores a snapshot (the newest when `None`) into the database at `url` and the data
/// directory `data`, after checking it. Refuses a database that holds charts, or a data
/// directory that holds files, unless `force`.
pub async fn restore(dir: &Path, snapshot: Option<&str>, url: &str, data: &Path, force: bool) -> Result<RestoreReport> {
    let started = Instant::now();
    let name = match snapshot {
        Some(s) => s.to_string(),
        None => snapshots(dir).pop().ok_or_else(|| invalid(format!("{}: no finished snapshot to restore", dir.display())))?,
    };
    let check = verify(dir, Some(&name))?;
    if !check.problems.is_empty() {
        return Err(invalid(format!("snapshot {name} is damaged, nothing was restored:\n  {}", check.problems.join("\n  "))));
    }
    let manifest = read_manifest(dir, &name)?;
    let postgres = !url.starts_with("sqlite:");
    if (manifest.backend == "postgres") != postgres {
        return Err(invalid(format!("snapshot {name} is of a {} database; restore it into one of the same kind", manifest.backend)));
    }
    if !force {
        if !blobs_under(data)?.is_empty() {
            return Err(invalid(format!("{} holds files already: restore into an empty data directory, or give --force", data.display())));
        }
        if let Ok(s) = crate::inspect(url).await {
            if s.applied.is_some() {
                return Err(invalid("the target database holds a chartscan store already: restore into an empty one, or give --force".into()));
            }
        }
    }
    let db_file = dir.join(&manifest.database.path);
    if postgres {
        let (url, password) = split_password(url);
        let mut args = vec!["--no-owner".to_string(), format!("--dbname={url}")];
        if force {
            args.extend(["--clean".to_string(), "--if-exists".to_string()]);
        }
        args.push(db_file.display().to_string());
        run_tool("pg_restore", &args.iter().map(String::as_str).collect::<Vec<_>>(), password.as_deref()).await?;
    } else {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = Path::new(path.split('?').next().unwrap_or(path));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let (sha, _) = copy_durably(&db_file, path).map_err(io(format!("writing {}", path.display())))?;
        if sha != manifest.database.sha256 {
            return Err(invalid(format!("{} changed while it was restored", db_file.display())));
        }
    }
    create_private_dir(data)?;
    let mut written = 0;
    for f in &manifest.blobs {
        let rel = f.path.trim_start_matches("blobs/");
        let target = data.join(rel);
        if target.metadata().is_ok_and(|m| m.len() == f.bytes) {
            continue;
        }
        if let Some(parent) = target.parent() {
            create_private_dir(parent)?;
        }
        let (sha, _) = copy_durably(&dir.join(&f.path), &target).map_err(io(format!("writing {}", target.display())))?;
        if sha != f.sha256 {
            return Err(invalid(format!("{} changed while it was restored", f.path)));
        }
        written += 1;
    }
    Ok(RestoreReport { snapshot: name, blobs: written, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_off_the_command_line() {
        assert_eq!(split_password("postgres://cs:s3cret@db:5432/charts"), ("postgres://cs@db:5432/charts".to_string(), Some("s3cret".to_string())));
        assert_eq!(split_password("postgres://cs@db/charts"), ("postgres://cs@db/charts".to_string(), None));
    }
}
