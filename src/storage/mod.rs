//! The data directory and its SQLite connections.
//!
//! Layout under the persist directory (`.bunflare/` beside the wrangler config):
//! - `data.sqlite`: every engine's tables, in WAL mode, migrated on open;
//! - `d1/<database_name>.sqlite`: one file per D1 database;
//! - `r2/<bucket_name>/`: the blob files of one R2 bucket.
//!
//! Each file has one connection per process behind a mutex. Other processes
//! (the CLI next to a dev server) share the files through WAL, `busy_timeout`
//! and `BEGIN IMMEDIATE` with retries, so no `SQLITE_BUSY` reaches a user.

mod migrations;
mod snapshot;

pub use snapshot::DataSnapshot;

use crate::errors::StorageError;
use napi_derive::napi;
use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long SQLite itself waits for another process's lock, in milliseconds.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// How long bunflare keeps retrying a transaction that still finds the database busy.
const BUSY_RETRY_LIMIT: Duration = Duration::from_secs(30);

/// Prepared statements kept per connection. Engines use `prepare_cached` so hot
/// paths never re-parse SQL.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// One SQLite file (or an in-memory database) with its single connection.
pub struct Database {
    connection: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl Database {
    /// Opens `path` (or a private in-memory database when `None`) with WAL,
    /// `synchronous=NORMAL` and a busy timeout. WAL with NORMAL loses nothing
    /// that was committed when the process is killed; only an OS crash can.
    pub fn open(path: Option<&Path>) -> Result<Database, StorageError> {
        let connection = match path {
            Some(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
                Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_CREATE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?
            }
            None => Connection::open_in_memory()?,
        };

        connection.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        if path.is_some() {
            retry_busy(|| connection.pragma_update(None, "journal_mode", "WAL"))?;
        }
        connection.pragma_update(None, "synchronous", "NORMAL")?;

        Ok(Database {
            connection: Mutex::new(connection),
            path: path.map(Path::to_path_buf),
        })
    }

    /// The file behind this database, or `None` for an in-memory one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Locks the connection for reads and for statements that manage their own transaction.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock()
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it fails.
    ///
    /// IMMEDIATE takes the write lock up front, so a busy database is reported
    /// at `BEGIN` (where waiting and retrying is safe) and never half-way
    /// through. Both `BEGIN` and `COMMIT` are retried while another process
    /// holds the lock.
    pub fn write<T, E>(&self, work: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let connection = self.connection.lock();
        write_transaction(&connection, work)
    }
}

/// Runs `work` in an IMMEDIATE transaction on a connection the caller has locked.
///
/// BEGIN and COMMIT are plain SQL rather than a `rusqlite::Transaction`, so
/// that each can be retried on its own while another process holds the lock.
pub fn write_transaction<T, E>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<rusqlite::Error>,
{
    retry_busy(|| connection.execute_batch("BEGIN IMMEDIATE"))?;
    match work(connection) {
        Ok(value) => match retry_busy(|| connection.execute_batch("COMMIT")) {
            Ok(()) => Ok(value),
            Err(error) => {
                let _ = connection.execute_batch("ROLLBACK");
                Err(error.into())
            }
        },
        Err(error) => {
            // The transaction may already be gone if SQLite rolled it back itself.
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            Err(error)
        }
    }
}

/// Returns true for the errors that mean "another connection holds the lock".
pub fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked)
    )
}

/// Retries `operation` with exponential backoff while SQLite reports the database busy.
pub fn retry_busy<T>(operation: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    retry_busy_with(is_busy, operation)
}

/// Retries `operation` with exponential backoff, for up to `BUSY_RETRY_LIMIT`,
/// while `busy` returns true for its error. The caller's predicate must accept
/// only errors after which running `operation` again is safe.
pub fn retry_busy_with<T, E>(
    busy: impl Fn(&E) -> bool,
    mut operation: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    // The clock starts at the first busy error, so the common path reads no time.
    let mut started: Option<Instant> = None;
    let mut delay = Duration::from_millis(2);
    loop {
        let result = operation();
        let retry = matches!(&result, Err(error) if busy(error))
            && started.get_or_insert_with(Instant::now).elapsed() < BUSY_RETRY_LIMIT;
        if !retry {
            return result;
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// The persist directory: `data.sqlite` plus the per-database files beside it.
pub struct DataDir {
    /// A number unique in this process, so engines can name this directory in scheduler keys.
    id: u64,
    root: Option<PathBuf>,
    main: Arc<Database>,
    d1: Mutex<HashMap<String, Arc<Database>>>,
    /// Durable Object databases of an in-memory store, by `<class>/<object id>`.
    /// They stay here after the object closes them, because an in-memory
    /// database vanishes with its last connection and an evicted object must
    /// find its data again.
    memory_objects: Mutex<HashMap<String, Arc<Database>>>,
    /// For an in-memory store, a private temp folder that contains its blob
    /// files (blobs are always files) and is removed when the store is dropped.
    scratch: Option<PathBuf>,
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `root`, or an
    /// in-memory one when `root` is `None`, and migrates `data.sqlite`.
    pub fn open(root: Option<&Path>) -> Result<DataDir, StorageError> {
        if let Some(root) = root {
            std::fs::create_dir_all(root).map_err(|source| StorageError::Io {
                path: root.display().to_string(),
                source,
            })?;
        }
        let main = Database::open(root.map(|r| r.join("data.sqlite")).as_deref())?;
        migrate(&main)?;
        let scratch = match root {
            Some(_) => None,
            None => Some(create_scratch_dir()?),
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(DataDir {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            root: root.map(Path::to_path_buf),
            main: Arc::new(main),
            d1: Mutex::new(HashMap::new()),
            memory_objects: Mutex::new(HashMap::new()),
            scratch,
        })
    }

    /// Returns (creating it) the folder `<engine>/<name>/` for one engine's
    /// blob files: under the persist directory, or under the private temp
    /// folder of an in-memory store.
    pub fn blob_dir(&self, engine: &'static str, name: &str) -> Result<PathBuf, StorageError> {
        validate_file_name(engine, name)?;
        let base = self
            .root
            .as_deref()
            .or(self.scratch.as_deref())
            .expect("a data directory has a root or a scratch folder");
        let dir = base.join(engine).join(name);
        std::fs::create_dir_all(&dir).map_err(|source| StorageError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(dir)
    }

    /// The number that names this directory in this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The persist directory, or `None` when everything is in memory.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// `data.sqlite`, shared by every engine.
    pub fn main(&self) -> &Arc<Database> {
        &self.main
    }

    /// Opens (once per process) the D1 database file `d1/<name>.sqlite`.
    pub fn d1(&self, name: &str) -> Result<Arc<Database>, StorageError> {
        validate_file_name("D1 database", name)?;
        let mut open = self.d1.lock();
        if let Some(database) = open.get(name) {
            return Ok(database.clone());
        }
        let path = self
            .root
            .as_ref()
            .map(|r| r.join("d1").join(format!("{name}.sqlite")));
        let database = Arc::new(Database::open(path.as_deref())?);
        open.insert(name.to_string(), database.clone());
        Ok(database)
    }
}

impl DataDir {
    /// Opens the database of one Durable Object: its file `path`, or for an
    /// in-memory store the database this process keeps under `key`.
    pub fn durable_object(&self, key: &str, path: Option<&Path>) -> Result<Arc<Database>, StorageError> {
        if path.is_some() {
            return Ok(Arc::new(Database::open(path)?));
        }
        let mut objects = self.memory_objects.lock();
        if let Some(database) = objects.get(key) {
            return Ok(database.clone());
        }
        let database = Arc::new(Database::open(None)?);
        objects.insert(key.to_string(), database.clone());
        Ok(database)
    }

    /// Returns the keys (`<class>/<object id>`) of the in-memory Durable Object databases.
    pub fn memory_object_keys(&self) -> Vec<String> {
        self.memory_objects.lock().keys().cloned().collect()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Creates a fresh temp folder for the blob files of an in-memory store.
fn create_scratch_dir() -> Result<PathBuf, StorageError> {
    let mut random = [0u8; 8];
    let _ = getrandom::fill(&mut random);
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("bunflare-memory-{}-{suffix}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| StorageError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(dir)
}

/// Rejects names that would escape their folder or be unreadable as file names.
fn validate_file_name(kind: &'static str, name: &str) -> Result<(), StorageError> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(StorageError::InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

/// Applies every migration newer than the file's `user_version`, each in its
/// own IMMEDIATE transaction, so two processes opening a new directory at once
/// apply each step exactly once.
fn migrate(database: &Database) -> Result<(), StorageError> {
    let supported = migrations::MIGRATIONS.len() as i64;
    loop {
        let done = database.write(|connection| -> Result<bool, StorageError> {
            let version: i64 =
                connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if version > supported {
                return Err(StorageError::SchemaTooNew {
                    path: database
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| ":memory:".into()),
                    found: version,
                    supported,
                });
            }
            if version == supported {
                return Ok(true);
            }
            connection.execute_batch(migrations::MIGRATIONS[version as usize])?;
            connection.pragma_update(None, "user_version", version + 1)?;
            Ok(false)
        })?;
        if done {
            return Ok(());
        }
    }
}

/// A data directory opened by JavaScript. Every binding handle is created
/// from one of these, and it stays open across Worker reloads.
#[napi]
pub struct Storage {
    pub(crate) data: Arc<DataDir>,
}

#[napi]
impl Storage {
    /// Opens the data directory at `dir`, creating it on first use, or an
    /// in-memory one when `dir` is null or omitted.
    #[napi(factory)]
    pub fn open(dir: Option<String>) -> napi::Result<Storage> {
        let data = DataDir::open(dir.as_deref().map(Path::new))?;
        Ok(Storage {
            data: Arc::new(data),
        })
    }

    /// The persist directory, or null for an in-memory store.
    #[napi(getter)]
    pub fn path(&self) -> Option<String> {
        self.data.root().map(|p| p.display().to_string())
    }

    /// Empties every database of this directory: KV, caches, queues and each
    /// D1 database. Tests call it so each file starts from empty storage.
    #[napi]
    pub fn reset(&self) -> napi::Result<()> {
        Ok(self.data.reset()?)
    }

    /// Copies every open database into memory, for `restore`.
    #[napi]
    pub fn snapshot(&self) -> napi::Result<StorageSnapshot> {
        Ok(StorageSnapshot {
            data: self.data.snapshot()?,
        })
    }

    /// Puts every database back to its state when `snapshot` was taken.
    #[napi]
    pub fn restore(&self, snapshot: &StorageSnapshot) -> napi::Result<()> {
        Ok(self.data.restore(&snapshot.data)?)
    }

    /// The schema version of `data.sqlite`.
    #[napi(getter)]
    pub fn schema_version(&self) -> napi::Result<i64> {
        let connection = self.data.main().lock();
        let version = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(StorageError::from)?;
        Ok(version)
    }
}

/// In-memory copies of a data directory's databases, from `Storage.snapshot()`.
#[napi]
pub struct StorageSnapshot {
    data: DataSnapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_record_version() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(Some(dir.path())).unwrap();
        let version: i64 = first
            .main()
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, migrations::MIGRATIONS.len() as i64);
        drop(first);

        // Reopening must not re-run any step (a second CREATE TABLE would fail).
        DataDir::open(Some(dir.path())).unwrap();
    }

    #[test]
    fn data_sqlite_is_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(Some(dir.path())).unwrap();
        let mode: String = data
            .main()
            .lock()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn newer_schema_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        DataDir::open(Some(dir.path())).unwrap();
        let raw = Connection::open(dir.path().join("data.sqlite")).unwrap();
        raw.pragma_update(None, "user_version", 999).unwrap();
        drop(raw);
        let error = DataDir::open(Some(dir.path())).err().expect("must fail");
        assert!(matches!(
            error,
            StorageError::SchemaTooNew { found: 999, .. }
        ));
    }

    #[test]
    fn d1_names_cannot_escape_the_folder() {
        let data = DataDir::open(None).unwrap();
        for name in ["../x", "a/b", "", ".hidden", "a\\b"] {
            assert!(data.d1(name).is_err(), "{name:?} must be rejected");
        }
        assert!(data.d1("northwind-db_1").is_ok());
    }

    #[test]
    fn d1_file_is_named_after_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(Some(dir.path())).unwrap();
        data.d1("northwind").unwrap();
        assert!(dir.path().join("d1/northwind.sqlite").exists());
    }
}
