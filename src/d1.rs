//! D1: one SQLite file per database (`d1/<database_name>.sqlite`), queried
//! through prepared statements, batches and `exec`.
//!
//! Every operation is one synchronous call. Parameters arrive as the JSON that
//! production's binding sends upstream, and results leave as the JSON that
//! production's D1 returns (`{columns, rows, meta}`), so numbers, blobs and
//! large integers convert exactly as they do on Cloudflare. The TS layer
//! (`lib/bindings/d1.ts`) parses that JSON and shapes row objects.
//!
//! Statements run under the connection mutex. A batch holds the mutex for its
//! whole transaction, so no other batch or statement of this process can run
//! inside it.

use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::storage::{retry_busy_with, write_transaction, Database, Storage};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, StatementStatus, MAIN_DB};
use std::cell::Cell;
use std::ffi::CString;
use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Maximum SQL statement length in bytes, from Cloudflare's D1 limits page.
pub const MAX_SQL_LENGTH_BYTES: i32 = 100_000;

/// Maximum bound parameters per query, from Cloudflare's D1 limits page.
pub const MAX_BOUND_PARAMETERS: i32 = 100;

/// Maximum string, BLOB or row size in bytes, from Cloudflare's D1 limits page.
pub const MAX_VALUE_SIZE_BYTES: i32 = 2_000_000;

/// Maximum columns per table, from Cloudflare's D1 limits page.
pub const MAX_COLUMNS_PER_TABLE: i32 = 100;

/// `meta.served_by` in every result. Production names the backend instance.
const SERVED_BY: &str = "bunflare.db";

/// The message production's SQLite layer gives for transaction statements in
/// user SQL (workerd's Durable Object SQL API, which D1 runs on).
pub(crate) const TRANSACTION_STATEMENT_MESSAGE: &str = "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements. The JavaScript API is safer because it will automatically roll back on exceptions, and because it interacts correctly with Durable Objects' automatic atomic write coalescing.";

/// Errors of the D1 engine. Codes and messages are production's, because the
/// JS error's message is `"<code>: <message>"` on Cloudflare too.
#[derive(Debug)]
pub enum D1Error {
    /// SQLite rejected or failed a statement. `name` is the primary result code.
    Sqlite {
        message: String,
        name: &'static str,
    },
    /// The number of bound values differs from the statement's parameters.
    WrongParameterCount {
        expected: usize,
        bound: usize,
    },
    /// User SQL tried `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT` or `RELEASE`.
    TransactionStatement,
    /// The SQL (or batch) contains no statement at all.
    NoStatements,
    /// A bound value is not one D1 accepts. The TS layer rejects these first.
    UnsupportedValue {
        value: String,
    },
    /// The request JSON from the TS layer could not be parsed.
    InvalidRequest(String),
    /// One line of `exec` failed. `line` counts from 1.
    Exec {
        line: usize,
        text: String,
        cause: Box<D1Error>,
    },
    Storage(StorageError),
}

impl Display for D1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            D1Error::Sqlite { message, name } => write!(f, "{message}: {name}"),
            D1Error::WrongParameterCount { .. } => {
                // Production's wording, without the counts it does not give.
                write!(f, "Wrong number of parameter bindings for SQL query.")
            }
            D1Error::TransactionStatement => write!(f, "{TRANSACTION_STATEMENT_MESSAGE}"),
            D1Error::NoStatements => write!(f, "No SQL statements detected."),
            D1Error::UnsupportedValue { value } => {
                write!(f, "Type 'object' not supported for value '{value}'")
            }
            D1Error::InvalidRequest(message) => {
                write!(f, "invalid request from the binding: {message}")
            }
            D1Error::Exec { line, text, cause } => {
                write!(f, "Error in line {line}: {text}: {cause}")
            }
            D1Error::Storage(error) => write!(f, "{error}"),
        }
    }
}

impl D1Error {
    /// Returns true when another connection held the lock, so the statement did not run.
    fn is_busy(&self) -> bool {
        matches!(self, D1Error::Sqlite { name: "SQLITE_BUSY" | "SQLITE_LOCKED", .. })
    }
}

impl ErrorCode for D1Error {
    fn code(&self) -> &'static str {
        match self {
            D1Error::UnsupportedValue { .. } => "D1_TYPE_ERROR",
            D1Error::Exec { .. } => "D1_EXEC_ERROR",
            D1Error::Storage(error) => error.code(),
            _ => "D1_ERROR",
        }
    }
}

impl From<rusqlite::Error> for D1Error {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            rusqlite::Error::SqliteFailure(failure, message) => D1Error::Sqlite {
                message: message.unwrap_or_else(|| failure.to_string()),
                name: primary_code_name(failure.extended_code),
            },
            rusqlite::Error::SqlInputError { error, msg, .. } => D1Error::Sqlite {
                message: msg,
                name: primary_code_name(error.extended_code),
            },
            rusqlite::Error::InvalidParameterCount(given, expected) => {
                D1Error::WrongParameterCount {
                    expected,
                    bound: given,
                }
            }
            other => D1Error::Sqlite {
                message: other.to_string(),
                name: "SQLITE_ERROR",
            },
        }
    }
}

impl From<StorageError> for D1Error {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Sqlite(error) => D1Error::from(error),
            other => D1Error::Storage(other),
        }
    }
}

/// Returns the name of SQLite's primary result code, as D1 appends it to messages.
pub(crate) fn primary_code_name(extended_code: i32) -> &'static str {
    const NAMES: [&str; 27] = [
        "SQLITE_OK",
        "SQLITE_ERROR",
        "SQLITE_INTERNAL",
        "SQLITE_PERM",
        "SQLITE_ABORT",
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_NOMEM",
        "SQLITE_READONLY",
        "SQLITE_INTERRUPT",
        "SQLITE_IOERR",
        "SQLITE_CORRUPT",
        "SQLITE_NOTFOUND",
        "SQLITE_FULL",
        "SQLITE_CANTOPEN",
        "SQLITE_PROTOCOL",
        "SQLITE_EMPTY",
        "SQLITE_SCHEMA",
        "SQLITE_TOOBIG",
        "SQLITE_CONSTRAINT",
        "SQLITE_MISMATCH",
        "SQLITE_MISUSE",
        "SQLITE_NOLFS",
        "SQLITE_AUTH",
        "SQLITE_FORMAT",
        "SQLITE_RANGE",
        "SQLITE_NOTADB",
    ];
    NAMES
        .get((extended_code & 0xff) as usize)
        .copied()
        .unwrap_or("SQLITE_ERROR")
}

thread_local! {
    /// True while user SQL is being prepared, so the authorizer lets the
    /// engine's own BEGIN/COMMIT through and rejects only the user's.
    static PREPARING_USER_SQL: Cell<bool> = const { Cell::new(false) };
    /// Set by the authorizer when it rejected a transaction statement.
    static REJECTED_TRANSACTION: Cell<bool> = const { Cell::new(false) };
}

/// Rejects transaction control, ATTACH and DETACH in user SQL while it is
/// being prepared. SQLite calls this at prepare time only, so cached
/// statements cost nothing here.
///
/// Production's SQLite layer (workerd's `SqliteDatabase::isAuthorized`) denies
/// ATTACH and DETACH, and SQLite reports a denial as "not authorized" with
/// SQLITE_AUTH. Here a denial also keeps user SQL from creating or reading
/// files outside the data directory.
fn authorize(context: AuthContext<'_>) -> Authorization {
    if !PREPARING_USER_SQL.get() {
        return Authorization::Allow;
    }
    match context.action {
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            REJECTED_TRANSACTION.set(true);
            Authorization::Deny
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
        _ => Authorization::Allow,
    }
}

/// Prepares user SQL through the statement cache, with transaction control rejected.
fn prepare_user<'c>(
    connection: &'c Connection,
    sql: &str,
) -> Result<rusqlite::CachedStatement<'c>, D1Error> {
    PREPARING_USER_SQL.set(true);
    REJECTED_TRANSACTION.set(false);
    let prepared = connection.prepare_cached(sql);
    PREPARING_USER_SQL.set(false);

    match prepared {
        Ok(statement) => Ok(statement),
        Err(_) if REJECTED_TRANSACTION.get() => Err(D1Error::TransactionStatement),
        Err(error) => Err(error.into()),
    }
}

/// Splits SQL into statements with SQLite's own notion of a complete
/// statement, so semicolons in strings, comments and trigger bodies stay put.
/// Pieces that contain only whitespace and comments are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut start = 0;
    for (index, byte) in sql.bytes().enumerate() {
        if byte != b';' {
            continue;
        }
        let candidate = &sql[start..=index];
        if is_complete(candidate) {
            push_statement(&mut statements, candidate);
            start = index + 1;
        }
    }
    push_statement(&mut statements, &sql[start..]);
    statements
}

fn push_statement(statements: &mut Vec<String>, piece: &str) {
    if !is_blank_sql(piece) {
        statements.push(piece.trim().to_string());
    }
}

fn is_complete(sql: &str) -> bool {
    let Ok(text) = CString::new(sql) else {
        return false;
    };
    // SAFETY: `text` is a valid NUL-terminated string that outlives the call,
    // and sqlite3_complete only reads it.
    unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) != 0 }
}

/// Returns true when `sql` contains nothing but whitespace, `--` and `/* */` comments.
pub fn is_blank_sql(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(after) = rest.strip_prefix("--") {
            rest = after
                .split_once('\n')
                .map(|(_, tail)| tail)
                .unwrap_or("")
                .trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after
                .split_once("*/")
                .map(|(_, tail)| tail)
                .unwrap_or("")
                .trim_start();
        } else {
            // A lone `;` is an empty statement, which D1 does not count.
            match rest.strip_prefix(';') {
                Some(after) => rest = after.trim_start(),
                None => return false,
            }
        }
    }
}

/// Converts the JSON params production's binding sends into SQLite values.
///
/// JSON gives production's conversions for free: `1.0` arrives as `1` and is
/// bound as an INTEGER, NaN and Infinity arrive as `null`, and an array of
/// bytes is a BLOB.
pub(crate) fn parse_params(json: Option<&str>) -> Result<Vec<Value>, D1Error> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let values: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|e| D1Error::InvalidRequest(e.to_string()))?;
    values.iter().map(json_to_value).collect()
}

fn json_to_value(value: &serde_json::Value) -> Result<Value, D1Error> {
    use serde_json::Value as Json;
    match value {
        Json::Null => Ok(Value::Null),
        Json::Bool(b) => Ok(Value::Integer(*b as i64)),
        Json::Number(number) => Ok(match number.as_i64() {
            Some(integer) => Value::Integer(integer),
            None => Value::Real(number.as_f64().unwrap_or(f64::NAN)),
        }),
        Json::String(text) => Ok(Value::Text(text.clone())),
        Json::Array(items) => {
            let mut bytes = Vec::with_capacity(items.len());
            for item in items {
                match item.as_u64() {
                    Some(byte) if byte < 256 => bytes.push(byte as u8),
                    _ => return Err(unsupported(value)),
                }
            }
            Ok(Value::Blob(bytes))
        }
        Json::Object(_) => Err(unsupported(value)),
    }
}

fn unsupported(value: &serde_json::Value) -> D1Error {
    D1Error::UnsupportedValue {
        value: value.to_string(),
    }
}

/// Appends `text` to `out` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends one column value as production's JSON shows it.
pub(crate) fn write_json_value(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => out.push_str("null"),
        // NOTE: integers beyond 2^53 lose precision in JavaScript, as they do
        // in production, whose results are JSON parsed into JS numbers.
        ValueRef::Integer(integer) => {
            let _ = write!(out, "{integer}");
        }
        ValueRef::Real(real) if real.is_finite() => {
            let _ = write!(out, "{real:?}");
        }
        // JSON has no Infinity, so production's JSON carries null.
        ValueRef::Real(_) => out.push_str("null"),
        ValueRef::Text(bytes) => write_json_string(out, &String::from_utf8_lossy(bytes)),
        ValueRef::Blob(bytes) => {
            out.push('[');
            for (index, byte) in bytes.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{byte}");
            }
            out.push(']');
        }
    }
}

/// Returns the database file's size in bytes, as `meta.size_after` reports it.
fn database_size(connection: &Connection) -> Result<i64, D1Error> {
    let mut statement = connection.prepare_cached(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    )?;
    Ok(statement.query_row([], |row| row.get(0))?)
}

/// Counters that one statement (or several, for multi-statement SQL) adds to `meta`.
#[derive(Default)]
struct Counters {
    rows_read: u64,
    may_write: bool,
}

/// Runs the statements in `sql` and appends `{"columns":…,"rows":…,"meta":…}`
/// for the last one to `out`. Values in `params` are consumed in order, each
/// statement taking as many as it has parameters.
///
/// `known_size` is the file size after this handle's last write. Reading the
/// size costs a read transaction of its own, so only writing statements
/// refresh it.
fn run_query(
    connection: &Connection,
    known_size: &AtomicI64,
    sql: &str,
    params: &[Value],
    out: &mut String,
) -> Result<(), D1Error> {
    let started = Instant::now();
    let changes_before = connection.total_changes();
    let last_row_id_before = connection.last_insert_rowid();

    // Single statements (the hot path) go through the cache; only SQL that
    // SQLite reports as several statements is split.
    let mut counters = Counters::default();
    let body_start = out.len();
    // rusqlite prepares the rest of the SQL to detect a second statement, so
    // a later statement that needs an earlier one's table fails to prepare:
    // any failure of SQL that splits into several statements takes this path.
    match run_statement(connection, sql, params, out, &mut counters) {
        Err(D1Error::Sqlite { .. }) if split_statements(sql).len() > 1 => {
            out.truncate(body_start);
            run_several(connection, sql, params, out, &mut counters)?;
        }
        result => result?,
    }

    // `changes` covers every row that INSERT, UPDATE and DELETE touched,
    // triggers included, as production counts them.
    let changes = connection.total_changes() - changes_before;
    let last_row_id = connection.last_insert_rowid();
    // NOTE: a read reports the size after this handle's last write, so it
    // misses growth from other handles or processes until this one writes.
    let size_before = known_size.load(Ordering::Relaxed);
    let size_after = if counters.may_write {
        let size = database_size(connection)?;
        known_size.store(size, Ordering::Relaxed);
        size
    } else {
        size_before
    };
    let size_changed = size_after != size_before;
    let changed_db = changes > 0 || last_row_id != last_row_id_before || size_changed;
    // Milliseconds to the microsecond, written with integer formatting
    // because float formatting cost a tenth of a whole `SELECT 1` call.
    let micros = started.elapsed().as_micros();
    let (whole_ms, fraction_us) = (micros / 1000, micros % 1000);

    // NOTE: production counts rows_written per table and index row written, and
    // rows_read per row scanned. Here rows_written is rows changed, and
    // rows_read is the larger of rows returned and SQLite's full-scan steps, so
    // indexed lookups that return nothing report 0.
    let rows_written = if counters.may_write { changes } else { 0 };
    let _ = write!(
        out,
        ",\"meta\":{{\"served_by\":\"{SERVED_BY}\",\"served_by_region\":\"local\",\"served_by_primary\":true,\
\"duration\":{whole_ms}.{fraction_us:03},\"changes\":{changes},\"last_row_id\":{last_row_id},\"changed_db\":{changed_db},\
\"size_after\":{size_after},\"rows_read\":{},\"rows_written\":{rows_written},\
\"timings\":{{\"sql_duration_ms\":{whole_ms}.{fraction_us:03}}},\"total_attempts\":1}}}}",
        counters.rows_read
    );
    Ok(())
}

/// Runs one statement and appends `{"columns":[…],"rows":[…]` (no closing brace) to `out`.
fn run_statement(
    connection: &Connection,
    sql: &str,
    params: &[Value],
    out: &mut String,
    counters: &mut Counters,
) -> Result<(), D1Error> {
    let mut statement = prepare_user(connection, sql)?;
    if statement.parameter_count() != params.len() {
        return Err(D1Error::WrongParameterCount {
            expected: statement.parameter_count(),
            bound: params.len(),
        });
    }
    for (index, value) in params.iter().enumerate() {
        statement.raw_bind_parameter(index + 1, value)?;
    }

    if !statement.readonly() {
        counters.may_write = true;
    }

    counters.rows_read += write_result_rows(out, &mut statement)?;
    out.push(']');
    Ok(())
}

/// Steps `statement` and appends `{"columns":[…],"rows":[…` (the rows array
/// left open) to `out`. Returns the rows read: the larger of rows returned
/// and SQLite's full-scan steps. D1 and Durable Object SQL share it.
pub(crate) fn write_result_rows(out: &mut String, statement: &mut rusqlite::Statement<'_>) -> rusqlite::Result<u64> {
    out.push_str("{\"columns\":[");
    for (index, name) in statement.column_names().into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_json_string(out, name);
    }
    out.push_str("],\"rows\":[");

    let column_count = statement.column_count();
    statement.reset_status(StatementStatus::FullscanStep);
    let mut returned: u64 = 0;
    {
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            if returned > 0 {
                out.push(',');
            }
            out.push('[');
            for column in 0..column_count {
                if column > 0 {
                    out.push(',');
                }
                write_json_value(out, row.get_ref(column)?);
            }
            out.push(']');
            returned += 1;
        }
    }

    let scanned = statement.get_status(StatementStatus::FullscanStep).max(0) as u64;
    Ok(returned.max(scanned))
}

/// Runs SQL that contains several statements, in one transaction unless the
/// caller already opened one, and keeps the last statement's rows.
fn run_several(
    connection: &Connection,
    sql: &str,
    params: &[Value],
    out: &mut String,
    counters: &mut Counters,
) -> Result<(), D1Error> {
    let statements = split_statements(sql);
    let mut work = |connection: &Connection| -> Result<(), D1Error> {
        let mut remaining = params;
        let body_start = out.len();
        for statement_sql in &statements {
            let needed = prepare_user(connection, statement_sql)?
                .parameter_count()
                .min(remaining.len());
            let (own, rest) = remaining.split_at(needed);
            remaining = rest;
            out.truncate(body_start);
            run_statement(connection, statement_sql, own, out, counters)?;
        }
        if !remaining.is_empty() {
            return Err(D1Error::WrongParameterCount {
                expected: params.len() - remaining.len(),
                bound: params.len(),
            });
        }
        Ok(())
    };
    if connection.is_autocommit() {
        write_transaction(connection, work)
    } else {
        work(connection)
    }
}

/// One statement of a batch, as `lib/bindings/d1.ts` sends it.
struct BatchStatement {
    sql: String,
    params: Vec<Value>,
}

fn parse_batch(json: &str) -> Result<Vec<BatchStatement>, D1Error> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|e| D1Error::InvalidRequest(e.to_string()))?;
    items
        .iter()
        .map(|item| {
            let sql = item
                .get("sql")
                .and_then(|sql| sql.as_str())
                .ok_or_else(|| {
                    D1Error::InvalidRequest("each statement needs a \"sql\" string".into())
                })?;
            let params = match item.get("params") {
                Some(serde_json::Value::Array(values)) => {
                    values.iter().map(json_to_value).collect::<Result<_, _>>()?
                }
                _ => Vec::new(),
            };
            Ok(BatchStatement {
                sql: sql.to_string(),
                params,
            })
        })
        .collect()
}

/// A D1 database: its file, its connection, and the engine's operations on them.
pub struct D1 {
    database: Arc<Database>,
    /// File size in bytes after this handle's last write, for `meta.size_after`.
    size: AtomicI64,
}

impl D1 {
    /// Opens `d1/<name>.sqlite` in `storage`'s data directory and applies
    /// production's limits to its connection.
    pub fn open(data: &crate::storage::DataDir, name: &str) -> Result<D1, D1Error> {
        let database = data.d1(name)?;
        {
            let mut connection = database.lock();
            connection.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_LENGTH_BYTES)?;
            connection.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, MAX_BOUND_PARAMETERS)?;
            connection.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_SIZE_BYTES)?;
            connection.set_limit(Limit::SQLITE_LIMIT_COLUMN, MAX_COLUMNS_PER_TABLE)?;
            connection.authorizer(Some(authorize))?;
        }
        let size = database_size(&database.lock())?;
        Ok(D1 {
            database,
            size: AtomicI64::new(size),
        })
    }

    /// Runs one prepared statement and returns its result as JSON.
    pub fn query(&self, sql: &str, params_json: Option<&str>) -> Result<String, D1Error> {
        let params = parse_params(params_json)?;
        if is_blank_sql(sql) {
            return Err(D1Error::NoStatements);
        }
        let connection = self.database.lock();
        let mut out = String::with_capacity(256);

        // A statement outside a transaction that finds the database busy has
        // changed nothing, so it runs again. SQLite's own busy timeout gives up
        // after 5 s, and another process (`bunflare d1 execute --file`) may
        // hold the write lock for longer.
        retry_busy_with(
            |error: &D1Error| error.is_busy() && connection.is_autocommit(),
            || {
                out.clear();
                run_query(&connection, &self.size, sql, &params, &mut out)
            },
        )?;
        Ok(out)
    }

    /// Runs every statement in one transaction and returns a JSON array of
    /// results. If any statement fails, none of them takes effect.
    pub fn batch(&self, statements_json: &str) -> Result<String, D1Error> {
        let statements = parse_batch(statements_json)?;
        if statements.is_empty() || statements.iter().any(|s| is_blank_sql(&s.sql)) {
            return Err(D1Error::NoStatements);
        }

        let connection = self.database.lock();
        write_transaction(&connection, |connection| {
            let mut out = String::with_capacity(256 * statements.len());
            out.push('[');
            for (index, statement) in statements.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                run_query(
                    connection,
                    &self.size,
                    &statement.sql,
                    &statement.params,
                    &mut out,
                )?;
            }
            out.push(']');
            Ok(out)
        })
    }

    /// Runs each line of `exec` in one transaction and returns the number of
    /// statement lines and their total duration in milliseconds.
    ///
    /// NOTE: all lines commit or roll back together, as in Miniflare; whether
    /// production keeps the lines before a failing one is not documented.
    pub fn exec(&self, lines: &[String]) -> Result<(u32, f64), D1Error> {
        if lines.iter().all(|line| is_blank_sql(line)) {
            return Err(D1Error::Exec {
                line: 1,
                text: lines.first().cloned().unwrap_or_default(),
                cause: Box::new(D1Error::NoStatements),
            });
        }

        let connection = self.database.lock();
        write_transaction(&connection, |connection| {
            let mut count = 0;
            let mut duration = 0.0;
            let mut scratch = String::new();
            for (index, line) in lines.iter().enumerate() {
                if is_blank_sql(line) {
                    continue;
                }
                let started = Instant::now();
                scratch.clear();
                run_query(connection, &self.size, line, &[], &mut scratch).map_err(|cause| {
                    D1Error::Exec {
                        line: index + 1,
                        text: line.clone(),
                        cause: Box::new(cause),
                    }
                })?;
                duration += started.elapsed().as_secs_f64() * 1000.0;
                count += 1;
            }
            Ok((count, duration))
        })
    }

    /// Returns a bookmark that sorts after every bookmark this process returned
    /// before the last committed write.
    ///
    /// NOTE: production bookmarks name a replica's commit. Here there is one
    /// copy of the data, so a bookmark only orders this process's writes: the
    /// process start time, then the connection's total changes.
    pub fn bookmark(&self) -> String {
        static PROCESS_START_MS: OnceLock<u128> = OnceLock::new();
        let start = PROCESS_START_MS.get_or_init(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
        });
        let changes = self.database.lock().total_changes();
        format!("{start:016x}-{changes:016x}")
    }

    /// Returns the database as a SQLite file image.
    pub fn dump(&self) -> Result<Vec<u8>, D1Error> {
        let mut connection = self.database.lock();
        let data = connection.serialize(MAIN_DB)?;
        Ok(data.to_vec())
    }
}

/// The native handle behind one D1 binding (`env.DB`).
#[napi(js_name = "D1Database")]
pub struct D1Database {
    engine: D1,
    name: String,
}

/// The result of `exec`, with production's field names.
#[napi(object)]
pub struct D1ExecResult {
    pub count: u32,
    pub duration: f64,
}

#[napi]
impl D1Database {
    /// Opens the database `databaseName` (file `d1/<databaseName>.sqlite`) in `storage`.
    #[napi(constructor)]
    pub fn new(storage: &Storage, database_name: String) -> napi::Result<D1Database> {
        let engine = D1::open(&storage.data, &database_name).map_err(to_napi)?;
        Ok(D1Database {
            engine,
            name: database_name,
        })
    }

    /// Returns the `database_name` this handle was opened with.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Runs one statement with JSON-encoded params and returns
    /// `{"columns":[…],"rows":[[…]],"meta":{…}}` as JSON.
    #[napi]
    pub fn query(&self, sql: String, params_json: Option<String>) -> napi::Result<String> {
        self.engine
            .query(&sql, params_json.as_deref())
            .map_err(to_napi)
    }

    /// Runs `[{"sql","params"}]` in one transaction and returns a JSON array of results.
    #[napi]
    pub fn batch(&self, statements_json: String) -> napi::Result<String> {
        self.engine.batch(&statements_json).map_err(to_napi)
    }

    /// Runs each line as SQL without params, all in one transaction.
    #[napi]
    pub fn exec(&self, lines: Vec<String>) -> napi::Result<D1ExecResult> {
        let (count, duration) = self.engine.exec(&lines).map_err(to_napi)?;
        Ok(D1ExecResult { count, duration })
    }

    /// Returns a bookmark that orders this database's writes, for sessions.
    #[napi]
    pub fn bookmark(&self) -> String {
        self.engine.bookmark()
    }

    /// Returns the database as a SQLite file image.
    #[napi]
    pub fn dump(&self) -> napi::Result<Buffer> {
        Ok(self.engine.dump().map_err(to_napi)?.into())
    }
}

/// Splits SQL text into statements the way SQLite parses it, dropping
/// comment-only pieces. Used for migration files and `d1 execute --file`.
#[napi]
pub fn split_sql_statements(sql: String) -> Vec<String> {
    split_statements(&sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::DataDir;

    fn open(name: &str) -> (DataDir, D1) {
        let data = DataDir::open(None).unwrap();
        let d1 = D1::open(&data, name).unwrap();
        (data, d1)
    }

    fn parse(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn query_returns_columns_rows_and_meta() {
        let (_data, d1) = open("db");
        d1.query(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)",
            None,
        )
        .unwrap();
        let inserted = parse(
            &d1.query(
                "INSERT INTO t (name, data) VALUES (?, ?)",
                Some(r#"["a",[1,2]]"#),
            )
            .unwrap(),
        );
        assert_eq!(inserted["meta"]["changes"], 1);
        assert_eq!(inserted["meta"]["last_row_id"], 1);
        assert_eq!(inserted["meta"]["changed_db"], true);
        assert_eq!(inserted["meta"]["rows_written"], 1);

        let selected = parse(&d1.query("SELECT id, name, data FROM t", None).unwrap());
        assert_eq!(
            selected["columns"],
            serde_json::json!(["id", "name", "data"])
        );
        assert_eq!(selected["rows"], serde_json::json!([[1, "a", [1, 2]]]));
        assert_eq!(selected["meta"]["changed_db"], false);
        assert_eq!(selected["meta"]["rows_read"], 1);
    }

    #[test]
    fn sql_errors_carry_the_result_code() {
        let (_data, d1) = open("db");
        let error = d1.query("SELECT * FROM missing", None).unwrap_err();
        assert_eq!(error.code(), "D1_ERROR");
        assert_eq!(error.to_string(), "no such table: missing: SQLITE_ERROR");
    }

    #[test]
    fn transaction_statements_are_rejected() {
        let (_data, d1) = open("db");
        for sql in [
            "BEGIN TRANSACTION",
            "COMMIT",
            "SAVEPOINT s",
            "RELEASE s",
            "ROLLBACK",
        ] {
            let error = d1.query(sql, None).unwrap_err();
            assert!(
                matches!(error, D1Error::TransactionStatement),
                "{sql}: {error}"
            );
        }
        // The engine's own transactions still work after a rejection.
        d1.batch(r#"[{"sql":"SELECT 1"}]"#).unwrap();
    }

    #[test]
    fn wrong_parameter_count_is_rejected() {
        let (_data, d1) = open("db");
        let error = d1.query("SELECT ?", Some("[1,2]")).unwrap_err();
        assert!(matches!(
            error,
            D1Error::WrongParameterCount {
                expected: 1,
                bound: 2
            }
        ));
    }

    #[test]
    fn failed_batch_rolls_back() {
        let (_data, d1) = open("db");
        d1.query("CREATE TABLE t (id INTEGER PRIMARY KEY)", None)
            .unwrap();
        let error = d1
            .batch(r#"[{"sql":"INSERT INTO t VALUES (1)"},{"sql":"INSERT INTO t VALUES (1)"}]"#)
            .unwrap_err();
        assert!(error.to_string().contains("SQLITE_CONSTRAINT"), "{error}");
        let count = parse(&d1.query("SELECT count(*) FROM t", None).unwrap());
        assert_eq!(count["rows"][0][0], 0);
    }

    #[test]
    fn several_statements_return_the_last() {
        let (_data, d1) = open("db");
        let result = parse(
            &d1.query(
                "CREATE TABLE t (x); INSERT INTO t VALUES (?); SELECT x FROM t",
                Some("[7]"),
            )
            .unwrap(),
        );
        assert_eq!(result["rows"], serde_json::json!([[7]]));
    }

    #[test]
    fn split_keeps_triggers_and_strings_whole() {
        let sql = "CREATE TABLE a (x);\n-- note; not a statement\nINSERT INTO a VALUES ('x;y');\n\
CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a; END;\n/* trailing */";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[1].ends_with("VALUES ('x;y');"));
        assert!(statements[2].starts_with("CREATE TRIGGER") && statements[2].ends_with("END;"));
    }

    #[test]
    fn exec_names_the_failing_line() {
        let (_data, d1) = open("db");
        let lines = vec![
            "CREATE TABLE t (x);".to_string(),
            "INSERT INTO nope VALUES (1);".to_string(),
        ];
        let error = d1.exec(&lines).unwrap_err();
        assert_eq!(error.code(), "D1_EXEC_ERROR");
        assert_eq!(
            error.to_string(),
            "Error in line 2: INSERT INTO nope VALUES (1);: no such table: nope: SQLITE_ERROR"
        );
    }

    #[test]
    fn object_params_are_rejected() {
        let (_data, d1) = open("db");
        let error = d1.query("SELECT ?", Some(r#"[{"a":1}]"#)).unwrap_err();
        assert_eq!(error.code(), "D1_TYPE_ERROR");
    }

    #[test]
    fn limits_match_production() {
        let (_data, d1) = open("db");
        let placeholders = vec!["?"; 101].join(",");
        let error = d1
            .query(
                &format!("SELECT {placeholders}"),
                Some(&format!("[{}]", vec!["1"; 101].join(","))),
            )
            .unwrap_err();
        assert!(
            error.to_string().contains("too many SQL variables"),
            "{error}"
        );
    }
}
