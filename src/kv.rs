//! Workers KV engine: one `KvNamespace` handle per namespace id, stored in
//! the `kv_entries` table of `data.sqlite`.
//!
//! Every method is one synchronous napi call that validates its arguments,
//! touches SQLite once and shapes the result. Validation mirrors production's
//! two layers. The Workers runtime checks key names before it sends a request
//! (the `TypeError`s and the 414 key-length error). The KV service checks the
//! rest and responds with an HTTP status, which the runtime turns into
//! `Error("KV <METHOD> failed: <status> <message>")`. Messages follow
//! workerd's `kv.c++` and Miniflare's KV validator.
//!
//! Keys are stored as BLOBs so that SQLite compares them with `memcmp`: that
//! is UTF-8 byte order, as production lists keys, and a prefix is a plain
//! byte range with no pattern characters.

use crate::clock::now_seconds;
use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::storage::{write_transaction, Database, Storage};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use rusqlite::{params, Connection, OptionalExtension};
use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

/// Maximum key size in UTF-8 bytes, as workerd's `kv.c++` (`kMaxKeyLength`) enforces.
pub const MAX_KEY_BYTES: usize = 512;

/// Maximum value size in bytes (25 MiB), as Miniflare's KV constants give it.
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;

/// Maximum size in bytes of the metadata's JSON text, as Miniflare's KV constants give it.
pub const MAX_METADATA_BYTES: usize = 1024;

/// Minimum `expirationTtl` in seconds, and how far in the future an absolute
/// `expiration` must be, as Miniflare's KV constants give it.
pub const MIN_EXPIRATION_TTL_SECONDS: i64 = 60;

/// Minimum `cacheTtl` in seconds accepted by `get`. Miniflare's KV constants
/// (workers-sdk, 2025) give 30; older documentation gave 60.
pub const MIN_CACHE_TTL_SECONDS: i64 = 30;

/// Maximum and default number of keys one `list` call returns, as Miniflare's KV constants give it.
pub const MAX_LIST_KEYS: usize = 1000;

/// Maximum number of keys in one bulk `get`, as Miniflare's KV constants give it.
pub const MAX_BULK_GET_KEYS: usize = 100;

/// Maximum total size in bytes of the values one bulk `get` returns (25 MiB), as Miniflare enforces.
pub const MAX_BULK_GET_BYTES: usize = 25 * 1024 * 1024;

/// The KV service operation an error belongs to, as production names it in
/// "KV <METHOD> failed". `list` reports itself as GET, as workerd does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    GetBulk,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::GetBulk => "GET_BULK",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The value type of a single `get`. JavaScript passes the code that
/// `GET_TYPE_CODES` in `lib/bindings/kv.ts` gives the type name, or any other
/// number for an unknown name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueType {
    Text,
    Json,
    ArrayBuffer,
    Stream,
}

impl ValueType {
    fn from_code(code: u32) -> Option<ValueType> {
        match code {
            0 => Some(ValueType::Text),
            1 => Some(ValueType::Json),
            2 => Some(ValueType::ArrayBuffer),
            3 => Some(ValueType::Stream),
            _ => None,
        }
    }

    /// Text and JSON come back as strings, the others as bytes.
    fn is_text(self) -> bool {
        matches!(self, ValueType::Text | ValueType::Json)
    }
}

/// Every way a KV operation fails. Messages match production's, with the
/// offending value and the limit.
#[derive(Debug)]
pub enum KvError {
    /// The runtime's check for `""`.
    EmptyKey,
    /// The runtime's check for `.` and `..`.
    IllegalKey {
        key: String,
    },
    /// The runtime's (and the service's) check of the key's UTF-8 length.
    KeyTooLong {
        method: Method,
        length: usize,
    },
    /// The service's check for `""`, reached by bulk `get`.
    ServiceEmptyKey {
        method: Method,
    },
    /// The service's check for `.` and `..`, reached by bulk `get`.
    ServiceIllegalKey {
        method: Method,
        key: String,
    },
    /// A single `get` with a type other than text, json, arrayBuffer or stream.
    InvalidType,
    /// A bulk `get` with a type other than text or json.
    BulkInvalidType {
        type_name: String,
    },
    BulkTooManyKeys {
        count: usize,
    },
    BulkNoKeys,
    BulkNotJson,
    BulkTooLarge {
        length: usize,
    },
    InvalidCacheTtl {
        method: Method,
        value: String,
    },
    ValueTooLarge {
        length: usize,
    },
    MetadataTooLarge {
        length: usize,
    },
    /// Metadata that is not JSON text; only the CLI can send such metadata.
    InvalidMetadata,
    InvalidExpirationTtl {
        value: String,
    },
    ExpirationTtlTooSmall {
        value: String,
    },
    InvalidExpiration {
        value: String,
    },
    ExpirationTooSoon {
        value: String,
    },
    ListLimitTooLarge {
        value: String,
    },
    InvalidCursor {
        cursor: String,
    },
    Storage(StorageError),
}

impl Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::EmptyKey => write!(f, "Key name cannot be empty."),
            KvError::IllegalKey { key } => write!(f, "\"{key}\" is not allowed as a key name."),
            KvError::KeyTooLong { method, length } => write!(
                f,
                "KV {} failed: 414 UTF-8 encoded length of {length} exceeds key length limit of {MAX_KEY_BYTES}.",
                method.as_str()
            ),
            KvError::ServiceEmptyKey { method } => {
                write!(f, "KV {} failed: 400 Key names must not be empty", method.as_str())
            }
            KvError::ServiceIllegalKey { method, key } => write!(
                f,
                "KV {} failed: 400 Illegal key name \"{key}\". Please use a different name.",
                method.as_str()
            ),
            KvError::InvalidType => write!(
                f,
                "Unknown response type. Possible types are \"text\", \"arrayBuffer\", \"json\", and \"stream\"."
            ),
            KvError::BulkInvalidType { type_name } => write!(
                f,
                "KV GET_BULK failed: 400 \"{type_name}\" is not a valid type. Use \"json\" or \"text\""
            ),
            // The count is not in production's message; it is kept out to match it.
            KvError::BulkTooManyKeys { .. } => write!(
                f,
                "KV GET_BULK failed: 400 You can request a maximum of {MAX_BULK_GET_KEYS} keys"
            ),
            KvError::BulkNoKeys => write!(f, "KV GET_BULK failed: 400 You must request a minimum of 1 key"),
            KvError::BulkNotJson => write!(
                f,
                "KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value"
            ),
            KvError::BulkTooLarge { .. } => write!(
                f,
                "KV GET_BULK failed: 413 Total size of request exceeds the limit of {}MB",
                MAX_BULK_GET_BYTES / 1024 / 1024
            ),
            KvError::InvalidCacheTtl { method, value } => write!(
                f,
                "KV {} failed: 400 Invalid cache_ttl of {value}. Cache TTL must be at least {MIN_CACHE_TTL_SECONDS}.",
                method.as_str()
            ),
            KvError::ValueTooLarge { length } => write!(
                f,
                "KV PUT failed: 413 Value length of {length} exceeds limit of {MAX_VALUE_BYTES}."
            ),
            KvError::MetadataTooLarge { length } => write!(
                f,
                "KV PUT failed: 413 Metadata length of {length} exceeds limit of {MAX_METADATA_BYTES}."
            ),
            KvError::InvalidMetadata => write!(f, "KV PUT failed: 400 Metadata is not valid JSON."),
            KvError::InvalidExpirationTtl { value } => write!(
                f,
                "KV PUT failed: 400 Invalid expiration_ttl of {value}. Please specify integer greater than 0."
            ),
            KvError::ExpirationTtlTooSmall { value } => write!(
                f,
                "KV PUT failed: 400 Invalid expiration_ttl of {value}. Expiration TTL must be at least {MIN_EXPIRATION_TTL_SECONDS}."
            ),
            KvError::InvalidExpiration { value } => write!(
                f,
                "KV PUT failed: 400 Invalid expiration of {value}. Please specify integer greater than the current number of seconds since the UNIX epoch."
            ),
            KvError::ExpirationTooSoon { value } => write!(
                f,
                "KV PUT failed: 400 Invalid expiration of {value}. Expiration times must be at least {MIN_EXPIRATION_TTL_SECONDS} seconds in the future."
            ),
            KvError::ListLimitTooLarge { value } => write!(
                f,
                "KV GET failed: 400 Invalid key_count_limit of {value}. Please specify an integer less than {MAX_LIST_KEYS}."
            ),
            // NOTE: production's message for a malformed cursor is not documented; this one is ours.
            KvError::InvalidCursor { cursor } => write!(
                f,
                "KV GET failed: 400 Invalid cursor \"{cursor}\". Pass the cursor of a previous list() result."
            ),
            KvError::Storage(error) => write!(f, "{error}"),
        }
    }
}

impl ErrorCode for KvError {
    fn code(&self) -> &'static str {
        match self {
            KvError::EmptyKey => "KV_EMPTY_KEY",
            KvError::IllegalKey { .. } => "KV_ILLEGAL_KEY",
            KvError::KeyTooLong { .. } => "KV_KEY_TOO_LONG",
            KvError::ServiceEmptyKey { .. } => "KV_SERVICE_EMPTY_KEY",
            KvError::ServiceIllegalKey { .. } => "KV_SERVICE_ILLEGAL_KEY",
            KvError::InvalidType => "KV_INVALID_TYPE",
            KvError::BulkInvalidType { .. } => "KV_BULK_INVALID_TYPE",
            KvError::BulkTooManyKeys { .. } => "KV_BULK_TOO_MANY_KEYS",
            KvError::BulkNoKeys => "KV_BULK_NO_KEYS",
            KvError::BulkNotJson => "KV_BULK_NOT_JSON",
            KvError::BulkTooLarge { .. } => "KV_BULK_TOO_LARGE",
            KvError::InvalidCacheTtl { .. } => "KV_INVALID_CACHE_TTL",
            KvError::ValueTooLarge { .. } => "KV_VALUE_TOO_LARGE",
            KvError::MetadataTooLarge { .. } => "KV_METADATA_TOO_LARGE",
            KvError::InvalidMetadata => "KV_INVALID_METADATA",
            KvError::InvalidExpirationTtl { .. } => "KV_INVALID_EXPIRATION_TTL",
            KvError::ExpirationTtlTooSmall { .. } => "KV_EXPIRATION_TTL_TOO_SMALL",
            KvError::InvalidExpiration { .. } => "KV_INVALID_EXPIRATION",
            KvError::ExpirationTooSoon { .. } => "KV_EXPIRATION_TOO_SOON",
            KvError::ListLimitTooLarge { .. } => "KV_LIST_LIMIT_TOO_LARGE",
            KvError::InvalidCursor { .. } => "KV_INVALID_CURSOR",
            KvError::Storage(error) => error.code(),
        }
    }
}

impl From<rusqlite::Error> for KvError {
    fn from(error: rusqlite::Error) -> Self {
        KvError::Storage(StorageError::Sqlite(error))
    }
}

impl From<KvError> for napi::Error {
    fn from(error: KvError) -> Self {
        to_napi(error)
    }
}

/// Formats a number the way JavaScript prints it, for messages: integers
/// without a fraction, and `NaN` or `Infinity` as such.
fn format_number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Checks a key name as the Workers runtime does before it sends a request.
fn validate_key(method: Method, key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::EmptyKey);
    }
    if key == "." || key == ".." {
        return Err(KvError::IllegalKey {
            key: key.to_string(),
        });
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KvError::KeyTooLong {
            method,
            length: key.len(),
        });
    }
    Ok(())
}

/// Checks a key name as the KV service does; bulk `get` skips the runtime's check.
fn validate_service_key(method: Method, key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::ServiceEmptyKey { method });
    }
    if key == "." || key == ".." {
        return Err(KvError::ServiceIllegalKey {
            method,
            key: key.to_string(),
        });
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KvError::KeyTooLong {
            method,
            length: key.len(),
        });
    }
    Ok(())
}

/// Checks `cacheTtl`. The value is otherwise ignored, because a local store
/// has no edge cache to keep values in.
fn validate_cache_ttl(method: Method, cache_ttl: Option<f64>) -> Result<(), KvError> {
    match cache_ttl {
        Some(ttl) if ttl.is_nan() || ttl.trunc() < MIN_CACHE_TTL_SECONDS as f64 => {
            Err(KvError::InvalidCacheTtl {
                method,
                value: format_number(ttl.trunc()),
            })
        }
        _ => Ok(()),
    }
}

/// Resolves `expirationTtl` (which wins when both are given, as in production)
/// or `expiration` into an absolute expiration in seconds since the epoch.
///
/// Production converts both options to integers before sending them, so
/// fractions are truncated here too.
// NOTE: a non-numeric option reaches this function as NaN and is reported as
// "Invalid expiration of NaN"; production's runtime may reject it earlier.
fn resolve_expiration(
    expiration: Option<f64>,
    expiration_ttl: Option<f64>,
    now: i64,
) -> Result<Option<i64>, KvError> {
    if let Some(ttl) = expiration_ttl {
        let ttl = ttl.trunc();
        let value = format_number(ttl);
        if ttl.is_nan() || ttl <= 0.0 {
            return Err(KvError::InvalidExpirationTtl { value });
        }
        if ttl < MIN_EXPIRATION_TTL_SECONDS as f64 {
            return Err(KvError::ExpirationTtlTooSmall { value });
        }
        if !ttl.is_finite() {
            return Err(KvError::InvalidExpirationTtl { value });
        }
        return Ok(Some(now.saturating_add(ttl as i64)));
    }

    if let Some(expiration) = expiration {
        let expiration = expiration.trunc();
        let value = format_number(expiration);
        if !expiration.is_finite() || expiration <= now as f64 {
            return Err(KvError::InvalidExpiration { value });
        }
        if expiration < (now + MIN_EXPIRATION_TTL_SECONDS) as f64 {
            return Err(KvError::ExpirationTooSoon { value });
        }
        return Ok(Some(expiration as i64));
    }

    Ok(None)
}

/// Checks the size of a value and of its serialized metadata.
fn validate_value_and_metadata(value_length: usize, metadata: Option<&str>) -> Result<(), KvError> {
    if let Some(metadata) = metadata {
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(KvError::MetadataTooLarge {
                length: metadata.len(),
            });
        }

        // `list` embeds stored metadata into its JSON output as it is, so it must parse.
        if serde_json::from_str::<serde::de::IgnoredAny>(metadata).is_err() {
            return Err(KvError::InvalidMetadata);
        }
    }

    if value_length > MAX_VALUE_BYTES {
        return Err(KvError::ValueTooLarge {
            length: value_length,
        });
    }
    Ok(())
}

/// Returns true when a stored expiration (seconds) has passed at `now`.
fn is_expired(expiration: Option<i64>, now: i64) -> bool {
    matches!(expiration, Some(expiration) if expiration <= now)
}

/// Deletes `keys` if they are still expired. Reads call this after they have
/// hidden an expired entry, so the table does not keep dead values forever.
/// A failure only means the row stays until a later read, which hides it
/// again, so it is ignored.
fn purge_expired(connection: &Connection, namespace: &str, keys: &[Vec<u8>], now: i64) {
    if keys.is_empty() {
        return;
    }
    let _ = write_transaction(connection, |connection| -> Result<(), KvError> {
        let mut statement = connection.prepare_cached(
            "DELETE FROM kv_entries WHERE namespace = ?1 AND key = ?2 AND expiration <= ?3",
        )?;
        for key in keys {
            statement.execute(params![namespace, key, now])?;
        }
        Ok(())
    });
}

/// Turns stored bytes into a string, replacing invalid UTF-8 as `TextDecoder` does.
fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// Encodes a key as an opaque list cursor (lowercase hex of its bytes).
fn encode_cursor(key: &[u8]) -> String {
    let mut cursor = String::with_capacity(key.len() * 2);
    for byte in key {
        let _ = write!(cursor, "{byte:02x}");
    }
    cursor
}

/// Decodes a cursor made by `encode_cursor` back into the last listed key.
fn decode_cursor(cursor: &str) -> Result<Vec<u8>, KvError> {
    let invalid = || KvError::InvalidCursor {
        cursor: cursor.to_string(),
    };
    if !cursor.len().is_multiple_of(2) || cursor.len() > MAX_KEY_BYTES * 2 {
        return Err(invalid());
    }
    (0..cursor.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(cursor.get(i..i + 2).ok_or_else(invalid)?, 16).map_err(|_| invalid())
        })
        .collect()
}

/// A value read by a single `get`, in the shape its type requests.
///
/// The napi methods convert it to a JS string or Buffer; keeping napi types
/// out of the engine lets the unit tests run without a JavaScript runtime.
pub enum Value {
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn into_js(self) -> Either<String, Buffer> {
        match self {
            Value::Text(text) => Either::A(text),
            Value::Bytes(bytes) => Either::B(Buffer::from(bytes)),
        }
    }
}

/// A value read for `getWithMetadata`.
#[napi(object)]
pub struct KvValueWithMetadata {
    /// A string for text and json, a Buffer for arrayBuffer and stream.
    pub value: Either<String, Buffer>,
    /// The metadata as JSON text, or null when the key has none.
    pub metadata: Option<String>,
}

/// A stored value's bytes and its metadata as JSON text.
type ValueAndMetadata = (Vec<u8>, Option<String>);

/// One KV namespace in a data directory. Every method is a synchronous call
/// that does all of its work, validation included, in one crossing.
#[napi]
pub struct KvNamespace {
    database: Arc<Database>,
    namespace: String,
}

impl KvNamespace {
    /// Opens the namespace `namespace` in an already opened data directory.
    pub fn open(database: Arc<Database>, namespace: String) -> KvNamespace {
        KvNamespace {
            database,
            namespace,
        }
    }

    /// Reads one live entry: its value and, when asked, its metadata.
    fn read_entry(
        &self,
        key: &str,
        with_metadata: bool,
    ) -> Result<Option<ValueAndMetadata>, KvError> {
        let now = now_seconds();
        let connection = self.database.lock();

        let sql = if with_metadata {
            "SELECT value, expiration, metadata FROM kv_entries WHERE namespace = ?1 AND key = ?2"
        } else {
            "SELECT value, expiration, NULL FROM kv_entries WHERE namespace = ?1 AND key = ?2"
        };
        let row = connection
            .prepare_cached(sql)?
            .query_row(params![self.namespace, key.as_bytes()], |row| {
                Ok((
                    row.get::<_, Vec<u8>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()?;

        match row {
            Some((_, expiration, _)) if is_expired(expiration, now) => {
                purge_expired(
                    &connection,
                    &self.namespace,
                    &[key.as_bytes().to_vec()],
                    now,
                );
                Ok(None)
            }
            Some((value, _, metadata)) => Ok(Some((value, metadata))),
            None => Ok(None),
        }
    }

    /// Validates and runs a single `get`, returning the value in the shape `type_code` requests.
    fn get_single(
        &self,
        key: &str,
        type_code: u32,
        cache_ttl: Option<f64>,
        with_metadata: bool,
    ) -> Result<Option<(Value, Option<String>)>, KvError> {
        validate_key(Method::Get, key)?;
        validate_cache_ttl(Method::Get, cache_ttl)?;

        let Some((value, metadata)) = self.read_entry(key, with_metadata)? else {
            return Ok(None);
        };

        // Production checks the type only once the service has found a value,
        // so a missing key with an unknown type still returns null.
        let value_type = ValueType::from_code(type_code).ok_or(KvError::InvalidType)?;
        let value = if value_type.is_text() {
            Value::Text(bytes_to_string(value))
        } else {
            Value::Bytes(value)
        };
        Ok(Some((value, metadata)))
    }

    /// Validates and stores one entry in its own IMMEDIATE transaction.
    pub fn put_entry(
        &self,
        key: &str,
        value: &[u8],
        expiration: Option<f64>,
        expiration_ttl: Option<f64>,
        metadata: Option<&str>,
    ) -> Result<(), KvError> {
        validate_key(Method::Put, key)?;
        let expiration = resolve_expiration(expiration, expiration_ttl, now_seconds())?;
        validate_value_and_metadata(value.len(), metadata)?;

        self.database.write(|connection| -> Result<(), KvError> {
            connection
                .prepare_cached(
                    "INSERT INTO kv_entries (namespace, key, value, expiration, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (namespace, key) DO UPDATE SET
                       value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata",
                )?
                .execute(params![self.namespace, key.as_bytes(), value, expiration, metadata])?;
            Ok(())
        })
    }

    /// Validates and removes one entry; removing a missing key succeeds.
    pub fn delete_entry(&self, key: &str) -> Result<(), KvError> {
        validate_key(Method::Delete, key)?;

        self.database.write(|connection| -> Result<(), KvError> {
            connection
                .prepare_cached("DELETE FROM kv_entries WHERE namespace = ?1 AND key = ?2")?
                .execute(params![self.namespace, key.as_bytes()])?;
            Ok(())
        })
    }

    /// Lists live keys in UTF-8 byte order as the JSON text of production's
    /// list result: `{"keys":[…],"list_complete":…,"cursor"?:…,"cacheStatus":null}`.
    ///
    /// A limit of zero or less is ignored, because workerd only sends a
    /// positive limit to the service.
    pub fn list_json(
        &self,
        prefix: Option<&str>,
        limit: Option<f64>,
        cursor: Option<&str>,
    ) -> Result<String, KvError> {
        let limit = match limit {
            Some(limit) if limit.trunc() > MAX_LIST_KEYS as f64 => {
                return Err(KvError::ListLimitTooLarge {
                    value: format_number(limit.trunc()),
                })
            }
            Some(limit) if limit.trunc() >= 1.0 => limit.trunc() as usize,
            _ => MAX_LIST_KEYS,
        };
        let prefix = prefix.unwrap_or("").as_bytes();
        if prefix.len() > MAX_KEY_BYTES {
            return Err(KvError::KeyTooLong {
                method: Method::Get,
                length: prefix.len(),
            });
        }

        // The first key after the cursor's key K is K followed by a NUL byte,
        // so one inclusive lower bound serves both the prefix and the cursor.
        let mut start = prefix.to_vec();
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            let mut after = decode_cursor(cursor)?;
            after.push(0);
            if after > start {
                start = after;
            }
        }

        let now = now_seconds();
        let connection = self.database.lock();
        let mut expired: Vec<Vec<u8>> = Vec::new();
        let mut listed: Vec<(Vec<u8>, Option<i64>, Option<String>)> =
            Vec::with_capacity(limit.min(64) + 1);
        {
            let mut statement = connection.prepare_cached(
                "SELECT key, expiration, metadata FROM kv_entries
                 WHERE namespace = ?1 AND key >= ?2 ORDER BY key",
            )?;
            let mut rows = statement.query(params![self.namespace, start])?;

            // Keys with the prefix are contiguous in byte order, so the scan
            // stops at the first key without it, or one past the page.
            while let Some(row) = rows.next()? {
                let key: Vec<u8> = row.get(0)?;
                if !key.starts_with(prefix) {
                    break;
                }
                let expiration: Option<i64> = row.get(1)?;
                if is_expired(expiration, now) {
                    expired.push(key);
                    continue;
                }
                listed.push((key, expiration, row.get(2)?));
                if listed.len() > limit {
                    break;
                }
            }
        }
        purge_expired(&connection, &self.namespace, &expired, now);
        drop(connection);

        let complete = listed.len() <= limit;
        listed.truncate(limit);
        Ok(render_list(&listed, complete))
    }

    /// Runs a bulk `get` and returns a JSON array with one element per
    /// requested key, in request order: the value (or `{value, metadata}`
    /// when `with_metadata`) or null for a missing key.
    pub fn get_bulk_json(
        &self,
        keys: &[String],
        type_name: Option<&str>,
        cache_ttl: Option<f64>,
        with_metadata: bool,
    ) -> Result<String, KvError> {
        let as_json = match type_name {
            None | Some("") | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(KvError::BulkInvalidType {
                    type_name: other.to_string(),
                })
            }
        };
        if keys.len() > MAX_BULK_GET_KEYS {
            return Err(KvError::BulkTooManyKeys { count: keys.len() });
        }
        if keys.is_empty() {
            return Err(KvError::BulkNoKeys);
        }
        for key in keys {
            validate_service_key(Method::GetBulk, key)?;
            validate_cache_ttl(Method::GetBulk, cache_ttl)?;
        }

        let now = now_seconds();
        let connection = self.database.lock();
        let mut statement = connection.prepare_cached(
            "SELECT value, expiration, metadata FROM kv_entries WHERE namespace = ?1 AND key = ?2",
        )?;
        let mut expired: Vec<Vec<u8>> = Vec::new();
        let mut output = String::from("[");
        let mut total_bytes = 0usize;

        for (index, key) in keys.iter().enumerate() {
            if index > 0 {
                output.push(',');
            }
            let row = statement
                .query_row(params![self.namespace, key.as_bytes()], |row| {
                    Ok((
                        row.get::<_, Vec<u8>>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                })
                .optional()?;
            let (value, metadata) = match row {
                Some((_, expiration, _)) if is_expired(expiration, now) => {
                    expired.push(key.as_bytes().to_vec());
                    output.push_str("null");
                    continue;
                }
                Some((value, _, metadata)) => (value, metadata),
                None => {
                    output.push_str("null");
                    continue;
                }
            };

            total_bytes += value.len();
            if total_bytes > MAX_BULK_GET_BYTES {
                return Err(KvError::BulkTooLarge {
                    length: total_bytes,
                });
            }

            if with_metadata {
                output.push_str("{\"value\":");
            }
            if as_json {
                if serde_json::from_slice::<serde::de::IgnoredAny>(&value).is_err() {
                    return Err(KvError::BulkNotJson);
                }
                output.push_str(&bytes_to_string(value));
            } else {
                output.push_str(&json_string(&bytes_to_string(value)));
            }
            if with_metadata {
                output.push_str(",\"metadata\":");
                output.push_str(metadata.as_deref().unwrap_or("null"));
                output.push('}');
            }
        }
        output.push(']');

        drop(statement);
        purge_expired(&connection, &self.namespace, &expired, now);
        Ok(output)
    }
}

/// Quotes and escapes a string as JSON.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "null".into())
}

/// Writes the JSON text of one list page.
fn render_list(listed: &[(Vec<u8>, Option<i64>, Option<String>)], complete: bool) -> String {
    let mut output = String::with_capacity(32 + listed.len() * 48);
    output.push_str("{\"keys\":[");
    for (index, (key, expiration, metadata)) in listed.iter().enumerate() {
        if index > 0 {
            output.push(',');
        }
        output.push_str("{\"name\":");
        output.push_str(&json_string(&String::from_utf8_lossy(key)));
        if let Some(expiration) = expiration {
            let _ = write!(output, ",\"expiration\":{expiration}");
        }
        if let Some(metadata) = metadata {
            output.push_str(",\"metadata\":");
            output.push_str(metadata);
        }
        output.push('}');
    }
    let _ = write!(output, "],\"list_complete\":{complete}");
    if !complete {
        if let Some((last, _, _)) = listed.last() {
            let _ = write!(output, ",\"cursor\":\"{}\"", encode_cursor(last));
        }
    }
    output.push_str(",\"cacheStatus\":null}");
    output
}

#[napi]
impl KvNamespace {
    /// Opens the KV namespace `namespaceId` in `storage`'s `data.sqlite`.
    #[napi(constructor)]
    pub fn new(storage: &Storage, namespace_id: String) -> KvNamespace {
        KvNamespace::open(storage.data.main().clone(), namespace_id)
    }

    /// Returns the namespace id this handle reads and writes.
    #[napi(getter)]
    pub fn namespace_id(&self) -> String {
        self.namespace.clone()
    }

    /// Reads one value, or null when the key is missing or expired.
    /// `typeCode` is 0 text, 1 json, 2 arrayBuffer, 3 stream; any other
    /// number raises production's unknown-type error when the key exists.
    #[napi]
    pub fn get(
        &self,
        key: String,
        type_code: u32,
        cache_ttl: Option<f64>,
    ) -> napi::Result<Option<Either<String, Buffer>>> {
        Ok(self
            .get_single(&key, type_code, cache_ttl, false)?
            .map(|(value, _)| value.into_js()))
    }

    /// Reads one value and its metadata (as JSON text), or null when the key is missing or expired.
    #[napi]
    pub fn get_with_metadata(
        &self,
        key: String,
        type_code: u32,
        cache_ttl: Option<f64>,
    ) -> napi::Result<Option<KvValueWithMetadata>> {
        Ok(self
            .get_single(&key, type_code, cache_ttl, true)?
            .map(|(value, metadata)| KvValueWithMetadata {
                value: value.into_js(),
                metadata,
            }))
    }

    /// Reads up to 100 keys at once; returns the JSON text of an array in request order.
    #[napi]
    pub fn get_bulk(
        &self,
        keys: Vec<String>,
        type_name: Option<String>,
        cache_ttl: Option<f64>,
        with_metadata: bool,
    ) -> napi::Result<String> {
        Ok(self.get_bulk_json(&keys, type_name.as_deref(), cache_ttl, with_metadata)?)
    }

    /// Stores a string value. `metadata` is JSON text; expirations are in seconds.
    #[napi]
    pub fn put_text(
        &self,
        key: String,
        value: String,
        expiration: Option<f64>,
        expiration_ttl: Option<f64>,
        metadata: Option<String>,
    ) -> napi::Result<()> {
        Ok(self.put_entry(
            &key,
            value.as_bytes(),
            expiration,
            expiration_ttl,
            metadata.as_deref(),
        )?)
    }

    /// Stores a binary value. `metadata` is JSON text; expirations are in seconds.
    #[napi]
    pub fn put_bytes(
        &self,
        key: String,
        value: &[u8],
        expiration: Option<f64>,
        expiration_ttl: Option<f64>,
        metadata: Option<String>,
    ) -> napi::Result<()> {
        Ok(self.put_entry(&key, value, expiration, expiration_ttl, metadata.as_deref())?)
    }

    /// Checks a key as `put` does, so that the binding can reject a bad key
    /// before it reads a stream or rejects the value's type, as production does.
    #[napi]
    pub fn validate_put_key(&self, key: String) -> napi::Result<()> {
        Ok(validate_key(Method::Put, &key)?)
    }

    /// Removes one key.
    #[napi]
    pub fn delete(&self, key: String) -> napi::Result<()> {
        Ok(self.delete_entry(&key)?)
    }

    /// Lists keys; returns the JSON text of production's list result.
    #[napi]
    pub fn list(
        &self,
        prefix: Option<String>,
        limit: Option<f64>,
        cursor: Option<String>,
    ) -> napi::Result<String> {
        Ok(self.list_json(prefix.as_deref(), limit, cursor.as_deref())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::DataDir;

    fn namespace(name: &str) -> (DataDir, KvNamespace) {
        let data = DataDir::open(None).unwrap();
        let kv = KvNamespace::open(data.main().clone(), name.to_string());
        (data, kv)
    }

    fn text(kv: &KvNamespace, key: &str) -> Option<String> {
        kv.get_single(key, 0, None, false)
            .unwrap()
            .map(|(value, _)| match value {
                Value::Text(text) => text,
                Value::Bytes(_) => panic!("text get returned bytes"),
            })
    }

    fn list(
        kv: &KvNamespace,
        prefix: Option<&str>,
        limit: Option<f64>,
        cursor: Option<&str>,
    ) -> serde_json::Value {
        serde_json::from_str(&kv.list_json(prefix, limit, cursor).unwrap()).unwrap()
    }

    fn names(page: &serde_json::Value) -> Vec<String> {
        page["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn put_then_get_round_trips() {
        let (_data, kv) = namespace("ns");
        kv.put_entry("a", b"1", None, None, Some("{\"m\":1}"))
            .unwrap();
        assert_eq!(text(&kv, "a").as_deref(), Some("1"));
        let (_, metadata) = kv.get_single("a", 0, None, true).unwrap().unwrap();
        assert_eq!(metadata.as_deref(), Some("{\"m\":1}"));
    }

    #[test]
    fn namespaces_are_isolated() {
        let data = DataDir::open(None).unwrap();
        let first = KvNamespace::open(data.main().clone(), "one".into());
        let second = KvNamespace::open(data.main().clone(), "two".into());
        first.put_entry("k", b"v", None, None, None).unwrap();
        assert_eq!(text(&second, "k"), None);
    }

    #[test]
    fn key_limits_match_production() {
        let (_data, kv) = namespace("ns");
        assert!(matches!(
            validate_key(Method::Get, ""),
            Err(KvError::EmptyKey)
        ));
        assert!(matches!(
            validate_key(Method::Get, ".."),
            Err(KvError::IllegalKey { .. })
        ));
        assert!(validate_key(Method::Get, &"a".repeat(MAX_KEY_BYTES)).is_ok());
        let error = kv
            .put_entry(&"é".repeat(257), b"", None, None, None)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "KV PUT failed: 414 UTF-8 encoded length of 514 exceeds key length limit of 512."
        );
    }

    #[test]
    fn value_and_metadata_limits() {
        let (_data, kv) = namespace("ns");
        let big = vec![0u8; MAX_VALUE_BYTES + 1];
        assert!(matches!(
            kv.put_entry("k", &big, None, None, None),
            Err(KvError::ValueTooLarge { length }) if length == MAX_VALUE_BYTES + 1
        ));
        kv.put_entry("k", &big[..MAX_VALUE_BYTES], None, None, None)
            .unwrap();
        let metadata = format!("\"{}\"", "x".repeat(MAX_METADATA_BYTES - 1));
        assert!(matches!(
            kv.put_entry("k", b"", None, None, Some(&metadata)),
            Err(KvError::MetadataTooLarge { length: 1025 })
        ));
        assert!(matches!(
            kv.put_entry("k", b"", None, None, Some("{")),
            Err(KvError::InvalidMetadata)
        ));
    }

    #[test]
    fn expiration_options_are_checked() {
        let now = 1_000_000;
        assert_eq!(
            resolve_expiration(None, Some(60.0), now).unwrap(),
            Some(now + 60)
        );
        assert_eq!(
            resolve_expiration(Some(1.0), Some(120.5), now).unwrap(),
            Some(now + 120)
        );
        assert!(matches!(
            resolve_expiration(None, Some(0.0), now),
            Err(KvError::InvalidExpirationTtl { .. })
        ));
        assert!(matches!(
            resolve_expiration(None, Some(59.0), now),
            Err(KvError::ExpirationTtlTooSmall { .. })
        ));
        assert!(matches!(
            resolve_expiration(Some(f64::NAN), None, now),
            Err(KvError::InvalidExpiration { .. })
        ));
        assert!(matches!(
            resolve_expiration(Some(now as f64), None, now),
            Err(KvError::InvalidExpiration { .. })
        ));
        assert!(matches!(
            resolve_expiration(Some((now + 59) as f64), None, now),
            Err(KvError::ExpirationTooSoon { .. })
        ));
        assert_eq!(
            resolve_expiration(Some((now + 60) as f64), None, now).unwrap(),
            Some(now + 60)
        );
    }

    #[test]
    fn expired_entries_are_hidden_and_purged() {
        let (data, kv) = namespace("ns");
        kv.put_entry("old", b"v", None, None, None).unwrap();
        let past = now_seconds() - 10;
        data.main()
            .lock()
            .execute("UPDATE kv_entries SET expiration = ?1", params![past])
            .unwrap();
        assert_eq!(names(&list(&kv, None, None, None)), Vec::<String>::new());
        assert_eq!(text(&kv, "old"), None);
        let count: i64 = data
            .main()
            .lock()
            .query_row("SELECT count(*) FROM kv_entries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn list_orders_by_utf8_bytes() {
        let (_data, kv) = namespace("ns");
        // UTF-16 order would put U+FF61 after U+1F600's surrogates; UTF-8 order does not.
        for key in ["\u{1F600}", "\u{FF61}", "b", "a", "B"] {
            kv.put_entry(key, b"", None, None, None).unwrap();
        }
        assert_eq!(
            names(&list(&kv, None, None, None)),
            vec!["B", "a", "b", "\u{FF61}", "\u{1F600}"]
        );
    }

    #[test]
    fn prefix_is_literal() {
        let (_data, kv) = namespace("ns");
        for key in ["a%b", "axb", "a_1", "a\\z", "a\0c", "ab"] {
            kv.put_entry(key, b"", None, None, None).unwrap();
        }
        assert_eq!(names(&list(&kv, Some("a%"), None, None)), vec!["a%b"]);
        assert_eq!(names(&list(&kv, Some("a_"), None, None)), vec!["a_1"]);
        assert_eq!(names(&list(&kv, Some("a\\"), None, None)), vec!["a\\z"]);
        assert_eq!(names(&list(&kv, Some("a\0"), None, None)), vec!["a\0c"]);
    }

    #[test]
    fn cursor_pages_through_all_keys() {
        let (_data, kv) = namespace("ns");
        for i in 0..25 {
            kv.put_entry(&format!("k{i:03}"), b"", None, None, None)
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = list(&kv, Some("k"), Some(10.0), cursor.as_deref());
            seen.extend(names(&page));
            if page["list_complete"].as_bool().unwrap() {
                assert!(page.get("cursor").is_none());
                break;
            }
            cursor = Some(page["cursor"].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(seen[24], "k024");
    }

    #[test]
    fn list_limit_is_checked() {
        let (_data, kv) = namespace("ns");
        assert!(matches!(
            kv.list_json(None, Some(1001.0), None),
            Err(KvError::ListLimitTooLarge { .. })
        ));
        assert!(kv.list_json(None, Some(0.0), None).is_ok());
        assert!(matches!(
            kv.list_json(None, None, Some("zz")),
            Err(KvError::InvalidCursor { .. })
        ));
    }

    #[test]
    fn bulk_get_returns_request_order() {
        let (_data, kv) = namespace("ns");
        kv.put_entry("a", b"{\"n\":1}", None, None, Some("[1]"))
            .unwrap();
        kv.put_entry("b", b"\"two\"", None, None, None).unwrap();
        let keys = vec!["b".to_string(), "missing".to_string(), "a".to_string()];
        assert_eq!(
            kv.get_bulk_json(&keys, Some("json"), None, false).unwrap(),
            "[\"two\",null,{\"n\":1}]"
        );
        assert_eq!(
            kv.get_bulk_json(&keys, None, None, true).unwrap(),
            "[{\"value\":\"\\\"two\\\"\",\"metadata\":null},null,{\"value\":\"{\\\"n\\\":1}\",\"metadata\":[1]}]"
        );
    }

    #[test]
    fn bulk_get_limits() {
        let (_data, kv) = namespace("ns");
        let many: Vec<String> = (0..=MAX_BULK_GET_KEYS).map(|i| i.to_string()).collect();
        assert!(matches!(
            kv.get_bulk_json(&many, None, None, false),
            Err(KvError::BulkTooManyKeys { .. })
        ));
        assert!(matches!(
            kv.get_bulk_json(&[], None, None, false),
            Err(KvError::BulkNoKeys)
        ));
        assert!(matches!(
            kv.get_bulk_json(&["a".into()], Some("stream"), None, false),
            Err(KvError::BulkInvalidType { .. })
        ));
        kv.put_entry("x", b"not json", None, None, None).unwrap();
        assert!(matches!(
            kv.get_bulk_json(&["x".into()], Some("json"), None, false),
            Err(KvError::BulkNotJson)
        ));
    }

    #[test]
    fn cursor_encoding_round_trips() {
        let key = "a\0é\u{1F600}".as_bytes();
        assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
    }
}
