//! How engine errors cross the napi boundary.
//!
//! Every engine defines its own error enum. Each variant has a stable code
//! (`KV_VALUE_TOO_LARGE`) and a message with the offending value and the limit.
//! The error reaches JavaScript as `Error("<CODE>: <message>")`, and
//! `lib/errors.ts` maps the code to the class production throws.

use std::fmt::Display;

/// An engine error with a stable, machine-readable code.
pub trait ErrorCode: Display {
    /// Returns the code that `lib/errors.ts` maps to a JavaScript error class.
    fn code(&self) -> &'static str;
}

/// Converts an engine error into the napi error that carries its code.
pub fn to_napi<E: ErrorCode>(error: E) -> napi::Error {
    napi::Error::from_reason(format!("{}: {}", error.code(), error))
}

/// Errors from the shared storage layer: opening files, migrations, SQLite itself.
#[derive(Debug)]
pub enum StorageError {
    Sqlite(rusqlite::Error),
    Io {
        path: String,
        source: std::io::Error,
    },
    InvalidName {
        kind: &'static str,
        name: String,
    },
    SchemaTooNew {
        path: String,
        found: i64,
        supported: i64,
    },
}

impl Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::Sqlite(e) => write!(f, "{e}"),
            StorageError::Io { path, source } => write!(f, "{path}: {source}"),
            StorageError::InvalidName { kind, name } => write!(
                f,
                "invalid {kind} name {name:?}: use letters, digits, '-', '_' and '.' only"
            ),
            StorageError::SchemaTooNew { path, found, supported } => write!(
                f,
                "{path} has schema version {found}, but this bunflare supports up to {supported}; upgrade bunflare or use another --persist-to directory"
            ),
        }
    }
}

impl ErrorCode for StorageError {
    fn code(&self) -> &'static str {
        match self {
            StorageError::Sqlite(_) => "STORAGE_SQLITE",
            StorageError::Io { .. } => "STORAGE_IO",
            StorageError::InvalidName { .. } => "STORAGE_INVALID_NAME",
            StorageError::SchemaTooNew { .. } => "STORAGE_SCHEMA_TOO_NEW",
        }
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Sqlite(e)
    }
}

impl From<StorageError> for napi::Error {
    fn from(e: StorageError) -> Self {
        to_napi(e)
    }
}
