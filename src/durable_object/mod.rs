//! Durable Object storage: one SQLite file per object,
//! `do/<class>/<object id>.sqlite`, holding the KV API's pairs (table
//! `_cf_KV`) and, for SQLite-backed classes, the user's own SQL tables.
//!
//! Writes go straight into SQLite inside an implicit transaction that the
//! first write of a turn opens and `commit` closes. The TS layer calls
//! `commit` once the turn ends (no `await` of other I/O in between), so every
//! write of a turn commits atomically. That is production's automatic write
//! coalescing, and reads see uncommitted writes because they share the one
//! connection. `transaction` and `transactionSync` are savepoints inside it.
//!
//! `data.sqlite` keeps what spans objects: the classes created by config
//! migrations, the applied migration tags and the alarm of each object.

mod alarms;
mod bookmarks;
mod classes;
mod kv;
mod sql;

pub use classes::{apply_migrations, class_info, class_storage_kind, StorageKind};

use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::storage::{retry_busy, DataDir, Database, Storage};
use napi::bindgen_prelude::{Buffer, Uint8Array};
use napi_derive::napi;
use rusqlite::limits::Limit;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;

/// Maximum key size in bytes for KV-backed classes, from Cloudflare's Durable Objects limits page.
pub const MAX_KEY_BYTES: usize = 2048;

/// Maximum serialized value size in bytes for KV-backed classes, from Cloudflare's Durable Objects limits page.
// NOTE: the size checked is of JavaScriptCore's structured-clone bytes, which
// run a few bytes longer than V8's (a 131,066-byte string is 131,075 bytes
// here and 131,072 in V8), so a value just under the limit in production can
// be rejected here.
pub const MAX_VALUE_BYTES: usize = 128 * 1024;

/// Maximum key plus value (and SQL row or string) size in bytes for
/// SQLite-backed classes: "2 MB" on Cloudflare's Durable Objects limits page.
pub const MAX_SQLITE_ROW_BYTES: i32 = 2_000_000;

/// Maximum keys in one `get`, `put` or `delete` of several keys, from
/// Cloudflare's Durable Objects storage API page.
pub const MAX_KEYS_PER_CALL: usize = 128;

/// Maximum SQL statement length in bytes, from Cloudflare's Durable Objects limits page.
pub const MAX_SQL_LENGTH_BYTES: i32 = 100_000;

/// Maximum bound parameters per SQL query, from Cloudflare's Durable Objects limits page.
pub const MAX_BOUND_PARAMETERS: i32 = 100;

/// Maximum columns per SQL table, from Cloudflare's Durable Objects limits page.
pub const MAX_COLUMNS_PER_TABLE: i32 = 100;

/// Errors of the Durable Object engine, with production's messages where it has one.
#[derive(Debug)]
pub enum DoError {
    KeyTooLarge,
    ValueTooLarge,
    TooManyKeys {
        count: usize,
    },
    /// SQLite rejected or failed a statement. `name` is the primary result code.
    Sqlite {
        message: String,
        name: &'static str,
    },
    TransactionStatement,
    ReservedTable {
        table: String,
    },
    SqlNotEnabled,
    WrongParameterCount {
        expected: usize,
        bound: usize,
    },
    InvalidValue(String),
    /// `one()` saw zero or several rows.
    NotExactlyOneRow {
        rows: usize,
    },
    InvalidId {
        id: String,
    },
    NoMigration {
        class: String,
    },
    Migration(String),
    InvalidBookmark {
        bookmark: String,
    },
    InvalidAlarm,
    Closed,
    Storage(StorageError),
}

impl Display for DoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DoError::KeyTooLarge => write!(f, "Keys cannot be larger than {MAX_KEY_BYTES} bytes."),
            DoError::ValueTooLarge => write!(f, "Values cannot be larger than {MAX_VALUE_BYTES} bytes."),
            // NOTE: the wording is bunflare's; the 128-key limit is production's.
            DoError::TooManyKeys { count } => {
                write!(f, "Maximum number of keys in one operation is {MAX_KEYS_PER_CALL}, got {count}.")
            }
            DoError::Sqlite { message, name } => write!(f, "{message}: {name}"),
            DoError::TransactionStatement => write!(f, "{}", crate::d1::TRANSACTION_STATEMENT_MESSAGE),
            DoError::ReservedTable { table } => write!(f, "access to {table} is prohibited: SQLITE_AUTH"),
            DoError::SqlNotEnabled => write!(
                f,
                "SQL is not enabled for this Durable Object class. Declare it in a migration's new_sqlite_classes to use ctx.storage.sql."
            ),
            DoError::WrongParameterCount { expected, bound } => write!(
                f,
                "Wrong number of parameter bindings for SQL query: the query has {expected}, got {bound}."
            ),
            DoError::InvalidValue(message) => write!(f, "{message}"),
            DoError::NotExactlyOneRow { rows: 0 } => {
                write!(f, "Expected exactly one result from SQL query, but got no results.")
            }
            DoError::NotExactlyOneRow { .. } => {
                write!(f, "Expected exactly one result from SQL query, but got multiple results.")
            }
            DoError::InvalidId { id } => write!(f, "Invalid Durable Object ID: must be 64 hex digits, got {id:?}"),
            DoError::NoMigration { class } => write!(
                f,
                "Durable Object class \"{class}\" has no migration: add it to new_sqlite_classes (or new_classes) in the config's \"migrations\""
            ),
            DoError::Migration(message) => write!(f, "{message}"),
            DoError::InvalidBookmark { bookmark } => write!(f, "Invalid bookmark: {bookmark:?}"),
            DoError::InvalidAlarm => write!(f, "setAlarm() requires a Date or a number of milliseconds since the epoch"),
            DoError::Closed => write!(f, "this Durable Object's storage was closed; use the object's new ctx.storage"),
            DoError::Storage(error) => write!(f, "{error}"),
        }
    }
}

impl ErrorCode for DoError {
    fn code(&self) -> &'static str {
        match self {
            DoError::KeyTooLarge => "DO_KEY_TOO_LARGE",
            DoError::ValueTooLarge => "DO_VALUE_TOO_LARGE",
            DoError::TooManyKeys { .. } => "DO_TOO_MANY_KEYS",
            DoError::Sqlite {
                name: "SQLITE_TOOBIG",
                ..
            } => "DO_SQL_TOO_BIG",
            DoError::Sqlite { .. } => "DO_SQL_ERROR",
            DoError::TransactionStatement => "DO_SQL_ERROR",
            DoError::ReservedTable { .. } => "DO_SQL_ERROR",
            DoError::SqlNotEnabled => "DO_SQL_NOT_ENABLED",
            DoError::WrongParameterCount { .. } => "DO_SQL_ERROR",
            DoError::InvalidValue(_) => "DO_INVALID_VALUE",
            DoError::NotExactlyOneRow { .. } => "DO_SQL_ERROR",
            DoError::InvalidId { .. } => "DO_INVALID_ID",
            DoError::NoMigration { .. } => "DO_NO_MIGRATION",
            DoError::Migration(_) => "DO_MIGRATION",
            DoError::InvalidBookmark { .. } => "DO_INVALID_BOOKMARK",
            DoError::InvalidAlarm => "DO_INVALID_ALARM",
            DoError::Closed => "DO_CLOSED",
            DoError::Storage(error) => error.code(),
        }
    }
}

impl From<rusqlite::Error> for DoError {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            rusqlite::Error::SqliteFailure(failure, message) => DoError::Sqlite {
                message: message.unwrap_or_else(|| failure.to_string()),
                name: crate::d1::primary_code_name(failure.extended_code),
            },
            rusqlite::Error::SqlInputError { error, msg, .. } => DoError::Sqlite {
                message: msg,
                name: crate::d1::primary_code_name(error.extended_code),
            },
            rusqlite::Error::InvalidParameterCount(given, expected) => {
                DoError::WrongParameterCount {
                    expected,
                    bound: given,
                }
            }
            other => DoError::Sqlite {
                message: other.to_string(),
                name: "SQLITE_ERROR",
            },
        }
    }
}

impl From<StorageError> for DoError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Sqlite(error) => DoError::from(error),
            other => DoError::Storage(other),
        }
    }
}

/// Rejects ids that are not 64 lowercase or uppercase hex digits, so an id
/// can never name a file outside its class folder.
pub fn validate_object_id(id: &str) -> Result<(), DoError> {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(DoError::InvalidId { id: id.to_string() })
    }
}

/// Returns the file of one object, or `None` for an in-memory data directory.
fn object_path(root: Option<&std::path::Path>, class: &str, id: &str) -> Option<PathBuf> {
    root.map(|root| {
        root.join("do")
            .join(class)
            .join(format!("{}.sqlite", id.to_ascii_lowercase()))
    })
}

/// One object's storage: its database and the state of the implicit transaction.
pub struct ObjectStore {
    database: Arc<Database>,
    kind: StorageKind,
    /// Savepoints opened by `transaction` and `transactionSync`, innermost last.
    savepoint_depth: u32,
    data: Arc<DataDir>,
    class: String,
    id: String,
    /// The bookmark `onNextSessionRestoreBookmark` chose, applied on close.
    pending_restore: Option<String>,
}

impl ObjectStore {
    /// Opens (creating if needed) the object's file and its KV table.
    pub fn open(
        data: Arc<DataDir>,
        class: &str,
        id: &str,
        kind: StorageKind,
    ) -> Result<ObjectStore, DoError> {
        validate_object_id(id)?;
        let path = object_path(data.root(), class, id);
        let key = format!("{class}/{}", id.to_ascii_lowercase());
        let database = data.durable_object(&key, path.as_deref())?;
        {
            let mut connection = database.lock();
            connection.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_LENGTH_BYTES)?;
            connection.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, MAX_BOUND_PARAMETERS)?;
            connection.set_limit(Limit::SQLITE_LIMIT_COLUMN, MAX_COLUMNS_PER_TABLE)?;
            if kind == StorageKind::Sqlite {
                connection.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_SQLITE_ROW_BYTES)?;
            }
            connection.authorizer(Some(sql::authorize))?;
            connection.execute_batch(kv::SCHEMA)?;
        }
        Ok(ObjectStore {
            database,
            kind,
            savepoint_depth: 0,
            data,
            class: class.to_string(),
            id: id.to_ascii_lowercase(),
            pending_restore: None,
        })
    }

    /// Opens the implicit transaction unless one is open already.
    fn begin_write(&self) -> Result<(), DoError> {
        let connection = self.database.lock();
        if connection.is_autocommit() {
            retry_busy(|| connection.execute_batch("BEGIN IMMEDIATE"))?;
        }
        Ok(())
    }

    /// Commits the implicit transaction, if one is open. Open savepoints are
    /// kept open: a `transaction()` that spans an I/O wait commits later.
    pub fn commit(&mut self) -> Result<bool, DoError> {
        if self.savepoint_depth > 0 {
            return Ok(false);
        }
        let connection = self.database.lock();
        if connection.is_autocommit() {
            return Ok(false);
        }
        retry_busy(|| connection.execute_batch("COMMIT"))?;
        Ok(true)
    }

    /// Discards every uncommitted write, savepoints included.
    pub fn rollback(&mut self) -> Result<(), DoError> {
        let connection = self.database.lock();
        if !connection.is_autocommit() {
            connection.execute_batch("ROLLBACK")?;
        }
        self.savepoint_depth = 0;
        Ok(())
    }

    /// Opens a savepoint inside the implicit transaction and returns its depth.
    pub fn savepoint(&mut self) -> Result<u32, DoError> {
        self.begin_write()?;
        self.savepoint_depth += 1;
        let name = format!("SAVEPOINT _cf_txn_{}", self.savepoint_depth);
        self.database.lock().execute_batch(&name)?;
        Ok(self.savepoint_depth)
    }

    /// Releases (`commit = true`) or rolls back the innermost savepoint.
    pub fn end_savepoint(&mut self, depth: u32, commit: bool) -> Result<(), DoError> {
        if depth != self.savepoint_depth || depth == 0 {
            return Err(DoError::Migration(format!(
                "transaction {depth} ended out of order (innermost open is {})",
                self.savepoint_depth
            )));
        }
        let connection = self.database.lock();
        if !commit {
            connection.execute_batch(&format!("ROLLBACK TO _cf_txn_{depth}"))?;
        }
        connection.execute_batch(&format!("RELEASE _cf_txn_{depth}"))?;
        drop(connection);
        self.savepoint_depth -= 1;
        Ok(())
    }
}

/// The native handle behind one object's `ctx.storage`.
#[napi(js_name = "DurableObjectStore")]
pub struct DurableObjectStore {
    store: Option<ObjectStore>,
    data: Arc<DataDir>,
    class: String,
    id: String,
}

/// Keys and values returned by `getMany` and `list`, in key order.
#[napi(object)]
pub struct DurableObjectEntries {
    pub keys: Vec<String>,
    pub values: Vec<Buffer>,
}

/// Rows of one SQL statement as JSON, with the counters the cursor reports.
#[napi(object)]
pub struct DurableObjectSqlResult {
    /// `{"columns":[…],"rows":[[…]]}`; BLOBs are arrays of bytes.
    pub json: String,
    pub rows_read: f64,
    pub rows_written: f64,
}

impl DurableObjectStore {
    fn store(&mut self) -> napi::Result<&mut ObjectStore> {
        self.store.as_mut().ok_or_else(|| to_napi(DoError::Closed))
    }

    fn write_ready(&mut self) -> napi::Result<&mut ObjectStore> {
        let store = self.store()?;
        store.begin_write().map_err(to_napi)?;
        Ok(store)
    }
}

#[napi]
impl DurableObjectStore {
    /// Opens the storage of object `id` (64 hex digits) of `className`. The
    /// class must have been created by a config migration.
    #[napi(constructor)]
    pub fn new(
        storage: &Storage,
        class_name: String,
        id: String,
    ) -> napi::Result<DurableObjectStore> {
        let kind = class_storage_kind(&storage.data, &class_name).map_err(to_napi)?;
        let store =
            ObjectStore::open(storage.data.clone(), &class_name, &id, kind).map_err(to_napi)?;
        let id = store.id.clone();
        Ok(DurableObjectStore {
            store: Some(store),
            data: storage.data.clone(),
            class: class_name,
            id,
        })
    }

    /// Returns whether the class is SQLite-backed (`new_sqlite_classes`).
    #[napi(getter)]
    pub fn sqlite(&self) -> bool {
        self.store
            .as_ref()
            .map(|s| s.kind == StorageKind::Sqlite)
            .unwrap_or(false)
    }

    /// Returns one value's serialized bytes, or null when the key is absent.
    #[napi]
    pub fn get(&mut self, key: String) -> napi::Result<Option<Buffer>> {
        let store = self.store()?;
        Ok(kv::get(&store.database.lock(), &key)
            .map_err(to_napi)?
            .map(Buffer::from))
    }

    /// Returns the present keys among `keys` with their values, in key order.
    #[napi]
    pub fn get_many(&mut self, keys: Vec<String>) -> napi::Result<DurableObjectEntries> {
        let store = self.store()?;
        let entries = kv::get_many(&store.database.lock(), keys).map_err(to_napi)?;
        Ok(into_entries(entries))
    }

    /// Stores one serialized value in the implicit transaction.
    #[napi]
    pub fn put(&mut self, key: String, value: Uint8Array) -> napi::Result<()> {
        let store = self.write_ready()?;
        let kind = store.kind;
        kv::put(&store.database.lock(), kind, &key, &value).map_err(to_napi)
    }

    /// Stores several serialized values in the implicit transaction.
    #[napi]
    pub fn put_many(&mut self, keys: Vec<String>, values: Vec<Uint8Array>) -> napi::Result<()> {
        kv::check_count(keys.len()).map_err(to_napi)?;
        let store = self.write_ready()?;
        let kind = store.kind;
        let connection = store.database.lock();
        // Validate every pair before writing any, so a bad pair changes nothing.
        for (key, value) in keys.iter().zip(&values) {
            kv::validate(kind, key, value.len()).map_err(to_napi)?;
        }
        for (key, value) in keys.iter().zip(&values) {
            kv::put(&connection, kind, key, value).map_err(to_napi)?;
        }
        Ok(())
    }

    /// Deletes one key and returns whether it existed.
    #[napi]
    pub fn delete(&mut self, key: String) -> napi::Result<bool> {
        let store = self.write_ready()?;
        let deleted = kv::delete(&store.database.lock(), &key).map_err(to_napi)?;
        Ok(deleted)
    }

    /// Deletes several keys and returns how many existed.
    #[napi]
    pub fn delete_many(&mut self, keys: Vec<String>) -> napi::Result<u32> {
        kv::check_count(keys.len()).map_err(to_napi)?;
        let store = self.write_ready()?;
        let connection = store.database.lock();
        let mut count = 0;
        for key in &keys {
            if kv::delete(&connection, key).map_err(to_napi)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Lists pairs in key order (or reverse) within the given bounds.
    #[napi]
    pub fn list(
        &mut self,
        start: Option<String>,
        start_after: Option<String>,
        end: Option<String>,
        prefix: Option<String>,
        reverse: Option<bool>,
        limit: Option<u32>,
    ) -> napi::Result<DurableObjectEntries> {
        let store = self.store()?;
        let range = kv::ListRange {
            start,
            start_after,
            end,
            prefix,
            reverse: reverse.unwrap_or(false),
            limit,
        };
        let entries = kv::list(&store.database.lock(), &range).map_err(to_napi)?;
        Ok(into_entries(entries))
    }

    /// Deletes every KV pair; on SQLite-backed classes also every SQL table.
    /// With `deleteAlarm` (compatibility date 2026-02-24 or later) the alarm goes too.
    #[napi]
    pub fn delete_all(&mut self, delete_alarm: Option<bool>) -> napi::Result<()> {
        let store = self.write_ready()?;
        let kind = store.kind;
        kv::delete_all(&store.database.lock(), kind).map_err(to_napi)?;
        // NOTE: the alarm row is deleted at once, outside the turn's implicit
        // transaction, so a rollback of the turn does not bring it back.
        if delete_alarm == Some(true) {
            alarms::set(&self.data, &self.class, &self.id, None).map_err(to_napi)?;
        }
        Ok(())
    }

    /// Commits the implicit transaction and returns whether there was one.
    #[napi]
    pub fn commit(&mut self) -> napi::Result<bool> {
        self.store()?.commit().map_err(to_napi)
    }

    /// Discards every uncommitted write.
    #[napi]
    pub fn rollback(&mut self) -> napi::Result<()> {
        self.store()?.rollback().map_err(to_napi)
    }

    /// Opens a nested transaction (a savepoint) and returns its depth.
    #[napi]
    pub fn begin_transaction(&mut self) -> napi::Result<u32> {
        self.store()?.savepoint().map_err(to_napi)
    }

    /// Ends the nested transaction `depth`, keeping (`commit`) or discarding its writes.
    #[napi]
    pub fn end_transaction(&mut self, depth: u32, commit: bool) -> napi::Result<()> {
        self.store()?.end_savepoint(depth, commit).map_err(to_napi)
    }

    /// Runs SQL with JSON-encoded bindings and returns all of its rows.
    #[napi]
    pub fn sql_exec(
        &mut self,
        query: String,
        bindings_json: Option<String>,
    ) -> napi::Result<DurableObjectSqlResult> {
        let store = self.store()?;
        if store.kind != StorageKind::Sqlite {
            return Err(to_napi(DoError::SqlNotEnabled));
        }
        store.begin_write().map_err(to_napi)?;
        let result =
            sql::exec(&store.database.lock(), &query, bindings_json.as_deref()).map_err(to_napi)?;
        Ok(DurableObjectSqlResult {
            json: result.json,
            rows_read: result.rows_read as f64,
            rows_written: result.rows_written as f64,
        })
    }

    /// Returns the database file's size in bytes.
    #[napi(getter)]
    pub fn database_size(&mut self) -> napi::Result<f64> {
        let store = self.store()?;
        if store.kind != StorageKind::Sqlite {
            return Err(to_napi(DoError::SqlNotEnabled));
        }
        Ok(sql::database_size(&store.database.lock()).map_err(to_napi)? as f64)
    }

    /// Returns the alarm time in milliseconds since the epoch, or null.
    #[napi]
    pub fn get_alarm(&self) -> napi::Result<Option<f64>> {
        alarms::get(&self.data, &self.class, &self.id).map_err(to_napi)
    }

    /// Sets (or, with null, deletes) the object's alarm.
    #[napi]
    pub fn set_alarm(&self, scheduled_time: Option<f64>) -> napi::Result<()> {
        alarms::set(&self.data, &self.class, &self.id, scheduled_time).map_err(to_napi)
    }

    /// Returns a bookmark naming the current committed state.
    #[napi]
    pub fn current_bookmark(&mut self) -> napi::Result<String> {
        let store = self.store()?;
        store.commit().map_err(to_napi)?;
        bookmarks::current(store).map_err(to_napi)
    }

    /// Returns the newest bookmark taken at or before `time` (ms since the epoch).
    #[napi]
    pub fn bookmark_for_time(&mut self, time: f64) -> napi::Result<String> {
        let store = self.store()?;
        bookmarks::for_time(store, time as i64).map_err(to_napi)
    }

    /// Schedules a restore to `bookmark` for the next time the object opens,
    /// and returns a bookmark of the current state that undoes it.
    #[napi]
    pub fn restore_on_next_open(&mut self, bookmark: String) -> napi::Result<String> {
        let store = self.store()?;
        store.commit().map_err(to_napi)?;
        bookmarks::schedule_restore(store, &bookmark).map_err(to_napi)
    }

    /// Commits pending writes and closes the file. Later calls fail.
    #[napi]
    pub fn close(&mut self) -> napi::Result<()> {
        if let Some(mut store) = self.store.take() {
            store.commit().map_err(to_napi)?;
            bookmarks::apply_pending_restore(&store).map_err(to_napi)?;
        }
        Ok(())
    }

    /// Discards pending writes and closes the file, as an aborted object does.
    #[napi]
    pub fn abort(&mut self) -> napi::Result<()> {
        if let Some(mut store) = self.store.take() {
            store.rollback().map_err(to_napi)?;
            bookmarks::apply_pending_restore(&store).map_err(to_napi)?;
        }
        Ok(())
    }
}

fn into_entries(entries: Vec<(String, Vec<u8>)>) -> DurableObjectEntries {
    let mut keys = Vec::with_capacity(entries.len());
    let mut values = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        keys.push(key);
        values.push(Buffer::from(value));
    }
    DurableObjectEntries { keys, values }
}

/// Applies the config's `migrations` (a JSON array) to the data directory:
/// creates, renames and deletes classes, each tag once.
#[napi]
pub fn apply_durable_object_migrations(
    storage: &Storage,
    migrations_json: String,
) -> napi::Result<Vec<String>> {
    apply_migrations(&storage.data, &migrations_json).map_err(to_napi)
}

/// A class created by a config migration.
#[napi(object)]
pub struct DurableObjectClassInfo {
    /// "sqlite" or "kv".
    pub storage: String,
    /// The key object ids derive from: the name the class was created with.
    pub namespace_key: String,
}

/// Returns the backend and id key of a class created by a migration, or
/// throws `DO_NO_MIGRATION`.
#[napi]
pub fn durable_object_class_info(
    storage: &Storage,
    class_name: String,
) -> napi::Result<DurableObjectClassInfo> {
    let (kind, namespace_key) = class_info(&storage.data, &class_name).map_err(to_napi)?;
    Ok(DurableObjectClassInfo {
        storage: kind.as_str().to_string(),
        namespace_key,
    })
}

/// Returns the ids of the objects of `className` that have storage: a file
/// under `do/<class>/`, or for an in-memory store a database in this process.
#[napi]
pub fn list_durable_object_ids(storage: &Storage, class_name: String) -> napi::Result<Vec<String>> {
    let data = &storage.data;
    let Some(root) = data.root() else {
        let prefix = format!("{class_name}/");
        let mut ids: Vec<String> = data
            .memory_object_keys()
            .into_iter()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_string))
            .collect();
        ids.sort();
        return Ok(ids);
    };

    let dir = root.join("do").join(&class_name);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(to_napi(DoError::Storage(StorageError::Io { path: dir.display().to_string(), source }))),
    };
    let mut ids: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.strip_suffix(".sqlite")).map(str::to_string))
        .filter(|id| validate_object_id(id).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// Validates a Durable Object id string (64 hex digits).
#[napi]
pub fn validate_durable_object_id(id: String) -> napi::Result<()> {
    validate_object_id(&id).map_err(to_napi)
}

/// Puts every stored alarm of `className` on the scheduler and returns the
/// prefix of this data directory's alarm keys (`<id>:`); the rest of a key
/// is `<class>:<object id>`.
#[napi]
pub fn resume_durable_object_alarms(storage: &Storage, class_name: String) -> napi::Result<String> {
    alarms::resume(&storage.data, &class_name).map_err(to_napi)?;
    Ok(alarms::key_prefix(&storage.data))
}

/// Marks the alarm due at `due` as running and returns its retry count, or
/// null when the alarm was deleted or moved since it fell due.
#[napi]
pub fn begin_durable_object_alarm(
    storage: &Storage,
    class_name: String,
    id: String,
    due: f64,
) -> napi::Result<Option<u32>> {
    alarms::begin(&storage.data, &class_name, &id, due as i64).map_err(to_napi)
}

/// What the engine did after an alarm handler returned or threw.
#[napi(object)]
pub struct DurableObjectAlarmOutcome {
    /// "done", "replaced", "retry" or "gave-up".
    pub outcome: String,
    /// For "retry": when the next attempt runs, in ms since the epoch.
    pub retry_at: Option<f64>,
    /// For "retry": the attempt's retry count; for "gave-up": retries made.
    pub retry_count: u32,
}

/// Ends the firing of the alarm due at `due`; a failed handler is retried
/// with production's backoff (2 s, doubling, at most 6 retries).
#[napi]
pub fn finish_durable_object_alarm(
    storage: &Storage,
    class_name: String,
    id: String,
    due: f64,
    success: bool,
) -> napi::Result<DurableObjectAlarmOutcome> {
    let outcome =
        alarms::finish(&storage.data, &class_name, &id, due as i64, success).map_err(to_napi)?;
    Ok(match outcome {
        alarms::Outcome::Done => DurableObjectAlarmOutcome {
            outcome: "done".into(),
            retry_at: None,
            retry_count: 0,
        },
        alarms::Outcome::Replaced => DurableObjectAlarmOutcome {
            outcome: "replaced".into(),
            retry_at: None,
            retry_count: 0,
        },
        alarms::Outcome::Retry { at, retry_count } => DurableObjectAlarmOutcome {
            outcome: "retry".into(),
            retry_at: Some(at as f64),
            retry_count,
        },
        alarms::Outcome::GaveUp { retries } => DurableObjectAlarmOutcome {
            outcome: "gave-up".into(),
            retry_at: None,
            retry_count: retries,
        },
    })
}
