//! Blob files of one bucket: `<persist>/r2/<bucket>/blobs/<blob id>` for
//! committed bodies and `tmp/<pid>-<id>.tmp` for bodies being written.
//!
//! A file is named by a random id, never by the object key, so every legal
//! key (`..`, a leading or trailing `/`, `a` beside `a/b`) maps to a plain
//! file name that cannot leave the bucket folder.
//!
//! A body is written to a temp file, fsynced, and renamed into `blobs/`
//! inside the SQLite write transaction that records it. A crash before the
//! commit leaves a blob with no row, and start-up (`remove_orphans`) removes
//! it, so the bucket contains either the old object or the new one.

use super::error::{Algorithm, R2Error};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts ids made without OS randomness, so that they still differ.
static FALLBACK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Returns `bytes` random bytes (at least 16) as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    // getrandom only fails when the OS has no entropy source. The fallback
    // (time, pid and a counter) is unique within this process and, short of
    // two processes with one pid in the same nanosecond, across processes.
    if getrandom::fill(&mut buffer).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let counter = FALLBACK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let seed = [nanos, u64::from(std::process::id()) << 32 | counter];
        for (index, byte) in buffer.iter_mut().enumerate() {
            *byte = (seed[(index / 8) % 2] >> ((index % 8) * 8)) as u8;
        }
    }
    to_hex(&buffer)
}

pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 0xf) as usize] as char);
    }
    text
}

/// Decodes lowercase or uppercase hex; `None` when `text` is not hex.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The folders of one bucket.
#[derive(Debug, Clone)]
pub struct BucketDirs {
    pub blobs: PathBuf,
    pub tmp: PathBuf,
}

impl BucketDirs {
    pub fn create(root: &Path) -> Result<BucketDirs, R2Error> {
        let dirs = BucketDirs {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        };
        for dir in [&dirs.blobs, &dirs.tmp] {
            std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        }
        Ok(dirs)
    }

    pub fn blob_path(&self, blob_id: &str) -> PathBuf {
        self.blobs.join(blob_id)
    }
}

pub fn io_error(path: &Path, source: std::io::Error) -> R2Error {
    R2Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The digests computed while a body is written. MD5 always runs, because
/// it is the ETag of a single-part object; the SHA family only when `put`
/// was given that checksum to verify.
pub struct Hashers {
    md5: Md5,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
    sha384: Option<Sha384>,
    sha512: Option<Sha512>,
}

impl Hashers {
    pub fn new() -> Hashers {
        Hashers {
            md5: Md5::new(),
            sha1: None,
            sha256: None,
            sha384: None,
            sha512: None,
        }
    }

    /// Turns on the digest of `algorithm`; call before the first write.
    pub fn enable(&mut self, algorithm: Algorithm) {
        match algorithm {
            Algorithm::Md5 => {}
            Algorithm::Sha1 => self.sha1 = Some(Sha1::new()),
            Algorithm::Sha256 => self.sha256 = Some(Sha256::new()),
            Algorithm::Sha384 => self.sha384 = Some(Sha384::new()),
            Algorithm::Sha512 => self.sha512 = Some(Sha512::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        if let Some(hasher) = &mut self.sha1 {
            hasher.update(bytes);
        }
        if let Some(hasher) = &mut self.sha256 {
            hasher.update(bytes);
        }
        if let Some(hasher) = &mut self.sha384 {
            hasher.update(bytes);
        }
        if let Some(hasher) = &mut self.sha512 {
            hasher.update(bytes);
        }
    }

    /// Returns the hex digest of every enabled algorithm, MD5 first.
    fn finish(self) -> Vec<(Algorithm, String)> {
        let mut digests = vec![(Algorithm::Md5, to_hex(&self.md5.finalize()))];
        if let Some(hasher) = self.sha1 {
            digests.push((Algorithm::Sha1, to_hex(&hasher.finalize())));
        }
        if let Some(hasher) = self.sha256 {
            digests.push((Algorithm::Sha256, to_hex(&hasher.finalize())));
        }
        if let Some(hasher) = self.sha384 {
            digests.push((Algorithm::Sha384, to_hex(&hasher.finalize())));
        }
        if let Some(hasher) = self.sha512 {
            digests.push((Algorithm::Sha512, to_hex(&hasher.finalize())));
        }
        digests
    }
}

/// A body being written to a temp file, hashed as it goes. Dropping it
/// before `finish` removes the temp file.
pub struct TempBlob {
    file: Option<File>,
    path: PathBuf,
    size: u64,
    max_size: u64,
    hashers: Option<Hashers>,
    /// Set once the size passed `max_size`; later writes are discarded.
    too_large: bool,
}

/// A fully written and fsynced temp file, ready to be renamed into `blobs/`.
pub struct FinishedBlob {
    pub temp_path: PathBuf,
    pub blob_id: String,
    pub size: u64,
    pub digests: Vec<(Algorithm, String)>,
}

impl FinishedBlob {
    pub fn digest(&self, algorithm: Algorithm) -> Option<&str> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, hex)| hex.as_str())
    }

    /// Moves the file into `blobs/`; called inside the transaction that records it.
    pub fn publish(&self, dirs: &BucketDirs) -> Result<(), R2Error> {
        let target = dirs.blob_path(&self.blob_id);
        std::fs::rename(&self.temp_path, &target).map_err(|source| io_error(&target, source))
    }

    /// Removes the temp file of a body that will not be committed.
    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.temp_path);
    }
}

impl TempBlob {
    /// Creates `tmp/<pid>-<id>.tmp`. The pid lets start-up tell a crashed
    /// writer's file from one that another live process is still writing.
    pub fn create(dirs: &BucketDirs, max_size: u64, hashers: Hashers) -> Result<TempBlob, R2Error> {
        let path = dirs
            .tmp
            .join(format!("{}-{}.tmp", std::process::id(), random_hex(16)));
        let file = File::create(&path).map_err(|source| io_error(&path, source))?;
        Ok(TempBlob {
            file: Some(file),
            path,
            size: 0,
            max_size,
            hashers: Some(hashers),
            too_large: false,
        })
    }

    /// Creates a temp file without digests, for a body assembled from parts.
    pub fn create_unhashed(dirs: &BucketDirs) -> Result<TempBlob, R2Error> {
        let mut blob = TempBlob::create(dirs, u64::MAX, Hashers::new())?;
        blob.hashers = None;
        Ok(blob)
    }

    /// Appends the whole file at `source`, letting the kernel copy the bytes.
    pub fn append_file(&mut self, source: &Path) -> Result<(), R2Error> {
        let mut input = File::open(source).map_err(|e| io_error(source, e))?;
        let file = self.file.as_mut().expect("append after finish");
        let copied = std::io::copy(&mut input, file).map_err(|e| io_error(&self.path, e))?;
        self.size += copied;
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), R2Error> {
        self.size += bytes.len() as u64;
        if self.size > self.max_size {
            // The rest of the body is dropped rather than stored: the put
            // fails at `finish` anyway, and a huge stream must not fill the disk.
            self.too_large = true;
            return Ok(());
        }
        if let Some(hashers) = &mut self.hashers {
            hashers.update(bytes);
        }
        let file = self.file.as_mut().expect("write after finish");
        file.write_all(bytes)
            .map_err(|source| io_error(&self.path, source))
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_too_large(&self) -> bool {
        self.too_large
    }

    /// Flushes the file to disk (fsync) and returns it with its digests.
    pub fn finish(mut self) -> Result<FinishedBlob, R2Error> {
        let file = self.file.take().expect("finish called twice");
        // An empty file has no data that a crash could tear, so it skips the flush.
        if self.size > 0 {
            file.sync_all()
                .map_err(|source| io_error(&self.path, source))?;
        }
        drop(file);
        let digests = self.hashers.take().map(Hashers::finish).unwrap_or_default();
        Ok(FinishedBlob {
            temp_path: std::mem::take(&mut self.path),
            blob_id: random_hex(16),
            size: self.size,
            digests,
        })
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Returns whether the process `pid` is running. Only Linux can tell
/// (through `/proc`); elsewhere every other process counts as running, so
/// its temp files are kept.
// NOTE: on macOS and Windows an orphaned temp file of another process is
// never removed; only the current process's own crashed files would be.
fn process_is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    true
}

/// Removes temp files left by crashed writers and blob files that no row
/// references. The caller holds the SQLite write lock, so no other process
/// is between renaming a blob and committing its row.
pub fn remove_orphans(dirs: &BucketDirs, referenced: &HashSet<String>) -> Result<usize, R2Error> {
    let mut removed = 0;

    let temp_entries =
        std::fs::read_dir(&dirs.tmp).map_err(|source| io_error(&dirs.tmp, source))?;
    for entry in temp_entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok());
        let orphaned = match pid {
            Some(pid) => !process_is_running(pid),
            None => true,
        };
        if orphaned && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }

    let blob_entries =
        std::fs::read_dir(&dirs.blobs).map_err(|source| io_error(&dirs.blobs, source))?;
    for entry in blob_entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !referenced.contains(&name) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Reads a byte range of a blob file in chunks with positioned reads, so a
/// range starts with a seek and never reads the bytes before it.
pub struct BlobReader {
    file: File,
    path: PathBuf,
    position: u64,
    end: u64,
}

impl BlobReader {
    pub fn open(path: PathBuf, offset: u64, length: u64) -> std::io::Result<BlobReader> {
        let file = File::open(&path)?;
        Ok(BlobReader {
            file,
            path,
            position: offset,
            end: offset + length,
        })
    }

    pub fn remaining(&self) -> u64 {
        self.end - self.position
    }

    /// Reads up to `max` bytes; an empty result means the range is done.
    pub fn read_chunk(&mut self, max: usize) -> Result<Vec<u8>, R2Error> {
        let mut buffer = vec![0u8; (self.remaining() as usize).min(max)];
        let filled = self.read_into(&mut buffer)?;
        buffer.truncate(filled);
        Ok(buffer)
    }

    /// Fills `buffer` from the current position; returns the bytes read, 0 at the end.
    pub fn read_into(&mut self, buffer: &mut [u8]) -> Result<usize, R2Error> {
        let wanted = (self.remaining() as usize).min(buffer.len());
        let mut filled = 0;
        while filled < wanted {
            let read = read_at(
                &self.file,
                &mut buffer[filled..wanted],
                self.position + filled as u64,
            )
            .map_err(|source| io_error(&self.path, source))?;
            if read == 0 {
                // The file is shorter than its row records; stop rather than loop.
                break;
            }
            filled += read;
        }
        self.position += filled as u64;
        if filled < wanted {
            self.position = self.end;
        }
        Ok(filled)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}
