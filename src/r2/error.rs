//! Every way an R2 operation fails.
//!
//! Two layers raise them, as in production. The Workers runtime checks
//! arguments before it sends a request (`TypeError` and `RangeError`, messages
//! from workerd's `r2-bucket.c++` and `r2-multipart.c++`). The R2 service
//! rejects the rest with a v4 code, which the runtime turns into
//! `Error("<action>: <message> (<code>)")`. Service messages and codes follow
//! Miniflare's R2 errors (`workers/r2/errors.worker.ts`).

use super::MAX_KEY_BYTES;
use crate::errors::{to_napi, ErrorCode, StorageError};
use std::fmt::{self, Display};

/// A checksum algorithm of `put`, named as production's messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The option name in `R2PutOptions` and the field of `R2Checksums`.
    pub fn field(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The name in production's messages.
    pub fn label(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha384 => "SHA-384",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The digest length in bytes.
    pub fn digest_bytes(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }

    pub fn from_field(field: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ]
        .into_iter()
        .find(|algorithm| algorithm.field() == field)
    }
}

#[derive(Debug)]
pub enum R2Error {
    // The service's errors; `action` is the binding method ("get", "put"…).
    InvalidObjectName {
        action: &'static str,
        length: usize,
    },
    EntityTooLarge {
        action: &'static str,
    },
    EntityTooSmall {
        action: &'static str,
    },
    MetadataTooLarge {
        action: &'static str,
    },
    BadDigest {
        algorithm: Algorithm,
        provided: String,
        actual: String,
    },
    InvalidMaxKeys,
    NoSuchUpload {
        action: &'static str,
    },
    InvalidPart,
    InvalidRange,
    BadUpload,
    /// The error Miniflare raises for a part number listed twice in `complete`.
    InternalError {
        action: &'static str,
    },
    InvalidStorageClass {
        action: &'static str,
        value: String,
    },
    InvalidCursor {
        cursor: String,
    },

    // The runtime's argument checks.
    MultipleHashes,
    ChecksumLength {
        algorithm: Algorithm,
        binary: bool,
        length: usize,
    },
    ChecksumNotHex {
        algorithm: Algorithm,
    },
    QuotedEtag {
        value: String,
    },
    EtagHeader {
        message: &'static str,
    },
    PartNumber {
        value: String,
    },
    RangeNegative {
        what: &'static str,
        value: String,
    },
    RangeFraction {
        what: &'static str,
        value: String,
    },
    SuffixWith {
        other: &'static str,
    },
    UnsupportedInclude {
        value: String,
    },

    /// A blob file operation failed.
    Io {
        path: String,
        source: std::io::Error,
    },
    Storage(StorageError),
}

impl R2Error {
    /// The v4 code production puts in parentheses after a service error.
    fn v4_code(&self) -> Option<u32> {
        Some(match self {
            R2Error::InternalError { .. } => 10001,
            R2Error::EntityTooLarge { .. } => 100100,
            R2Error::EntityTooSmall { .. } => 10011,
            R2Error::MetadataTooLarge { .. } => 10012,
            R2Error::InvalidObjectName { .. } => 10020,
            R2Error::InvalidMaxKeys => 10022,
            R2Error::NoSuchUpload { .. } => 10024,
            R2Error::InvalidPart => 10025,
            R2Error::InvalidStorageClass { .. } | R2Error::InvalidCursor { .. } => 10029,
            R2Error::BadDigest { .. } => 10037,
            R2Error::InvalidRange => 10039,
            R2Error::BadUpload => 10048,
            _ => return None,
        })
    }

    fn action(&self) -> &'static str {
        match self {
            R2Error::InvalidObjectName { action, .. }
            | R2Error::EntityTooLarge { action }
            | R2Error::EntityTooSmall { action }
            | R2Error::MetadataTooLarge { action }
            | R2Error::NoSuchUpload { action }
            | R2Error::InternalError { action }
            | R2Error::InvalidStorageClass { action, .. } => action,
            R2Error::BadDigest { .. } => "put",
            R2Error::InvalidMaxKeys | R2Error::InvalidCursor { .. } => "list",
            R2Error::InvalidRange => "get",
            R2Error::InvalidPart | R2Error::BadUpload => "completeMultipartUpload",
            _ => "",
        }
    }

    /// The service's message, without the action and the code.
    fn service_message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            R2Error::InvalidObjectName { .. } => write!(f, "The specified object name is not valid."),
            R2Error::EntityTooLarge { .. } => {
                write!(f, "Your proposed upload exceeds the maximum allowed object size.")
            }
            R2Error::EntityTooSmall { .. } => {
                write!(f, "Your proposed upload is smaller than the minimum allowed object size.")
            }
            R2Error::MetadataTooLarge { .. } => {
                write!(f, "Your metadata headers exceed the maximum allowed metadata size.")
            }
            R2Error::BadDigest { algorithm, provided, actual } => write!(
                f,
                "The {0} checksum you specified did not match what we received.\nYou provided a {0} checksum with value: {provided}\nActual {0} was: {actual}",
                algorithm.label()
            ),
            R2Error::InvalidMaxKeys => write!(f, "MaxKeys params must be positive integer <= 1000."),
            R2Error::NoSuchUpload { .. } => write!(f, "The specified multipart upload does not exist."),
            R2Error::InvalidPart => write!(f, "One or more of the specified parts could not be found."),
            R2Error::InvalidRange => write!(f, "The requested range is not satisfiable"),
            R2Error::BadUpload => write!(f, "There was a problem with the multipart upload."),
            R2Error::InternalError { .. } => write!(f, "We encountered an internal error. Please try again."),
            // NOTE: production's wording for these two is not documented; the messages are bunflare's.
            R2Error::InvalidStorageClass { value, .. } => write!(
                f,
                "Invalid storage class {value:?}. Use \"Standard\" or \"InfrequentAccess\"."
            ),
            R2Error::InvalidCursor { cursor } => write!(
                f,
                "Invalid cursor {cursor:?}. Pass the cursor of a previous list() result."
            ),
            _ => Ok(()),
        }
    }
}

impl Display for R2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.v4_code() {
            write!(f, "{}: ", self.action())?;
            self.service_message(f)?;
            return write!(f, " ({code})");
        }
        match self {
            R2Error::MultipleHashes => write!(f, "You cannot specify multiple hashing algorithms."),
            R2Error::ChecksumLength {
                algorithm,
                binary: true,
                length,
            } => write!(
                f,
                "{} is {} bytes, not {length}",
                algorithm.label(),
                algorithm.digest_bytes()
            ),
            R2Error::ChecksumLength {
                algorithm,
                binary: false,
                length,
            } => write!(
                f,
                "{} is {} hex characters, not {length}",
                algorithm.label(),
                algorithm.digest_bytes() * 2
            ),
            R2Error::ChecksumNotHex { algorithm } => {
                write!(
                    f,
                    "Provided {} wasn't a valid hex string",
                    algorithm.label()
                )
            }
            R2Error::QuotedEtag { value } => {
                write!(
                    f,
                    "Conditional ETag should not be wrapped in quotes ({value})."
                )
            }
            R2Error::EtagHeader { message } => write!(f, "{message}"),
            R2Error::PartNumber { value } => write!(
                f,
                "Part number must be between 1 and 10000 (inclusive). Actual value was: {value}"
            ),
            R2Error::RangeNegative {
                what: "Suffix",
                value,
            } => write!(
                f,
                "Invalid suffix. Suffix ({value}) must be greater than or equal to 0."
            ),
            R2Error::RangeNegative { what, value } => write!(
                f,
                "Invalid range. {what} ({value}) must be greater than or equal to 0."
            ),
            R2Error::RangeFraction { what, value } => write!(
                f,
                "Invalid range. {what} ({value}) must be an integer, not floating point."
            ),
            R2Error::SuffixWith { other } => write!(f, "Suffix is incompatible with {other}."),
            R2Error::UnsupportedInclude { value } => write!(f, "Unsupported include value {value}"),
            R2Error::Io { path, source } => write!(f, "{path}: {source}"),
            R2Error::Storage(error) => write!(f, "{error}"),
            _ => Ok(()),
        }
    }
}

impl ErrorCode for R2Error {
    fn code(&self) -> &'static str {
        match self {
            R2Error::InvalidObjectName { .. } => "R2_INVALID_OBJECT_NAME",
            R2Error::EntityTooLarge { .. } => "R2_ENTITY_TOO_LARGE",
            R2Error::EntityTooSmall { .. } => "R2_ENTITY_TOO_SMALL",
            R2Error::MetadataTooLarge { .. } => "R2_METADATA_TOO_LARGE",
            R2Error::BadDigest { .. } => "R2_BAD_DIGEST",
            R2Error::InvalidMaxKeys => "R2_INVALID_MAX_KEYS",
            R2Error::NoSuchUpload { .. } => "R2_NO_SUCH_UPLOAD",
            R2Error::InvalidPart => "R2_INVALID_PART",
            R2Error::InvalidRange => "R2_INVALID_RANGE",
            R2Error::BadUpload => "R2_BAD_UPLOAD",
            R2Error::InternalError { .. } => "R2_INTERNAL_ERROR",
            R2Error::InvalidStorageClass { .. } => "R2_INVALID_STORAGE_CLASS",
            R2Error::InvalidCursor { .. } => "R2_INVALID_CURSOR",
            R2Error::MultipleHashes => "R2_MULTIPLE_HASHES",
            R2Error::ChecksumLength { .. } => "R2_CHECKSUM_LENGTH",
            R2Error::ChecksumNotHex { .. } => "R2_CHECKSUM_NOT_HEX",
            R2Error::QuotedEtag { .. } => "R2_QUOTED_ETAG",
            R2Error::EtagHeader { .. } => "R2_ETAG_HEADER",
            R2Error::PartNumber { .. } => "R2_PART_NUMBER",
            R2Error::RangeNegative { .. } => "R2_RANGE_NEGATIVE",
            R2Error::RangeFraction { .. } => "R2_RANGE_FRACTION",
            R2Error::SuffixWith { .. } => "R2_SUFFIX_WITH",
            R2Error::UnsupportedInclude { .. } => "R2_UNSUPPORTED_INCLUDE",
            R2Error::Io { .. } => "STORAGE_IO",
            R2Error::Storage(error) => error.code(),
        }
    }
}

impl From<rusqlite::Error> for R2Error {
    fn from(error: rusqlite::Error) -> Self {
        R2Error::Storage(StorageError::Sqlite(error))
    }
}

impl From<StorageError> for R2Error {
    fn from(error: StorageError) -> Self {
        R2Error::Storage(error)
    }
}

impl From<R2Error> for napi::Error {
    fn from(error: R2Error) -> Self {
        to_napi(error)
    }
}

/// Checks an object key as the R2 service does: at most 1024 UTF-8 bytes.
pub fn validate_key(action: &'static str, key: &str) -> Result<(), R2Error> {
    if key.len() > MAX_KEY_BYTES {
        return Err(R2Error::InvalidObjectName {
            action,
            length: key.len(),
        });
    }
    Ok(())
}
