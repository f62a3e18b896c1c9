//! R2 engine: one `R2Bucket` handle per bucket name. Metadata lives in the
//! `r2_objects`, `r2_uploads` and `r2_parts` tables of `data.sqlite`; bodies
//! are files under `r2/<bucket>/blobs/` (see `blob`).
//!
//! Small bodies cross napi in one call each way. Larger ones stream: a put
//! goes through an `R2Writer` that appends chunks to a temp file, and a get
//! returns an `R2BodyReader` that reads the requested range in chunks with
//! positioned reads. No body is ever held whole in memory.

mod blob;
mod conditional;
mod error;

use crate::clock::now_ms;
use crate::errors::StorageError;
use crate::storage::{DataDir, Database, Storage};
use blob::{
    from_hex, io_error, random_hex, to_hex, BlobReader, BucketDirs, FinishedBlob, Hashers, TempBlob,
};
use conditional::{Conditional, ConditionalInput, RangeInput, RangeRequest};
use error::validate_key;
pub use error::{Algorithm, R2Error};
use md5::{Digest, Md5};
use napi::bindgen_prelude::{Buffer, Either, Uint8Array};
use napi_derive::napi;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Maximum key size in UTF-8 bytes, from Cloudflare's R2 limits page.
pub const MAX_KEY_BYTES: usize = 1024;

/// Maximum total size in bytes of custom metadata keys and values, as
/// Miniflare's R2 constants give it.
// NOTE: bunflare counts UTF-8 bytes; Miniflare counts UTF-16 code units
// (doubled when any is outside Latin-1).
pub const MAX_CUSTOM_METADATA_BYTES: usize = 2048;

/// Maximum size in bytes of a single-call put and of one multipart part
/// (5 GiB minus 5 MiB), as Miniflare's R2 constants give it.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 - 5 * 1024 * 1024;

/// Minimum size in bytes of every multipart part but the last (5 MiB), from
/// Cloudflare's R2 limits page.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

/// Highest part number of a multipart upload, from Cloudflare's R2 limits page.
pub const MAX_PART_NUMBER: f64 = 10_000.0;

/// Maximum and default number of entries one `list` call returns.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Maximum entries per `list` page when `include` requests metadata, as Miniflare caps it.
pub const MAX_LIST_LIMIT_WITH_INCLUDE: usize = 100;

/// Bodies up to this size (64 KiB) are returned inline by `get`; larger
/// ones through an `R2BodyReader`, which fills JS-allocated chunks. Above
/// this size that is faster in Bun than one external buffer made here
/// (measured with `bench/r2.ts`). bunflare's own threshold.
pub const INLINE_BODY_BYTES: u64 = 64 * 1024;

/// The storage classes production accepts.
const STORAGE_CLASSES: [&str; 2] = ["Standard", "InfrequentAccess"];

/// Buckets whose orphans this process has already removed.
static CLEANED_BUCKETS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A checksum option of `put`: hex text, with `binary` set when the user
/// passed bytes (which changes the runtime's length message).
#[derive(Debug, Deserialize)]
struct ChecksumInput {
    algorithm: String,
    value: String,
    #[serde(default)]
    binary: bool,
}

/// The options of `put` and `createMultipartUpload` as JSON from the binding.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutInput {
    http_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    custom_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    checksums: Vec<ChecksumInput>,
    only_if: Option<ConditionalInput>,
    storage_class: Option<String>,
}

/// Checked `put` options.
struct PutOptions {
    http_metadata: String,
    custom_metadata: String,
    checksums: Vec<(Algorithm, String)>,
    only_if: Option<Conditional>,
    storage_class: String,
}

impl PutOptions {
    fn parse(action: &'static str, json: Option<&str>) -> Result<PutOptions, R2Error> {
        let input: PutInput = match json {
            Some(json) => serde_json::from_str(json).map_err(|e| invalid_options(action, e))?,
            None => PutInput::default(),
        };

        let mut checksums = Vec::new();
        for checksum in input.checksums {
            let Some(algorithm) = Algorithm::from_field(&checksum.algorithm) else {
                continue;
            };
            if !checksums.is_empty() {
                return Err(R2Error::MultipleHashes);
            }
            let expected_hex = algorithm.digest_bytes() * 2;
            if checksum.value.len() != expected_hex {
                let length = if checksum.binary {
                    checksum.value.len() / 2
                } else {
                    checksum.value.len()
                };
                return Err(R2Error::ChecksumLength {
                    algorithm,
                    binary: checksum.binary,
                    length,
                });
            }
            if from_hex(&checksum.value).is_none() {
                return Err(R2Error::ChecksumNotHex { algorithm });
            }
            checksums.push((algorithm, checksum.value.to_ascii_lowercase()));
        }

        let only_if = input.only_if.map(Conditional::parse).transpose()?;

        let custom = input.custom_metadata.unwrap_or_default();
        let custom_bytes: usize = custom
            .iter()
            .map(|(key, value)| key.len() + value.as_str().map_or(0, str::len))
            .sum();
        if custom_bytes > MAX_CUSTOM_METADATA_BYTES {
            return Err(R2Error::MetadataTooLarge { action });
        }

        let storage_class = input.storage_class.unwrap_or_else(|| "Standard".into());
        if !STORAGE_CLASSES.contains(&storage_class.as_str()) {
            return Err(R2Error::InvalidStorageClass {
                action,
                value: storage_class,
            });
        }

        Ok(PutOptions {
            http_metadata: serde_json::Value::Object(input.http_metadata.unwrap_or_default())
                .to_string(),
            custom_metadata: serde_json::Value::Object(custom).to_string(),
            checksums,
            only_if,
            storage_class,
        })
    }

    fn hashers(&self) -> Hashers {
        let mut hashers = Hashers::new();
        for (algorithm, _) in &self.checksums {
            hashers.enable(*algorithm);
        }
        hashers
    }
}

/// The options of `get` as JSON from the binding.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetInput {
    range: Option<RangeInput>,
    only_if: Option<ConditionalInput>,
}

/// The options of `list` as JSON from the binding.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    limit: Option<f64>,
    prefix: Option<String>,
    cursor: Option<String>,
    delimiter: Option<String>,
    start_after: Option<String>,
    include: Option<Vec<String>>,
}

/// One completed part named in `complete`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartInput {
    part_number: f64,
    etag: String,
}

/// Options that fail to parse can only come from a caller bypassing the binding.
fn invalid_options(action: &'static str, error: serde_json::Error) -> R2Error {
    R2Error::Storage(StorageError::Io {
        path: format!("{action} options"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, error),
    })
}

/// One row of `r2_objects`.
struct ObjectRow {
    key: String,
    blob_id: String,
    version: String,
    size: u64,
    etag: String,
    uploaded: i64,
    checksums: String,
    http_metadata: String,
    custom_metadata: String,
    storage_class: String,
}

impl ObjectRow {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRow> {
        let key: Vec<u8> = row.get(0)?;
        Ok(ObjectRow {
            key: String::from_utf8_lossy(&key).into_owned(),
            blob_id: row.get(1)?,
            version: row.get(2)?,
            size: row.get::<_, i64>(3)? as u64,
            etag: row.get(4)?,
            uploaded: row.get(5)?,
            checksums: row.get(6)?,
            http_metadata: row.get(7)?,
            custom_metadata: row.get(8)?,
            storage_class: row.get(9)?,
        })
    }

    /// Writes the JSON the binding turns into an `R2Object`.
    fn render(&self, range: Option<(u64, u64)>, http: bool, custom: bool, output: &mut String) {
        output.push_str("{\"key\":");
        output.push_str(&json_string(&self.key));
        let _ = write!(
            output,
            ",\"version\":\"{}\",\"size\":{},\"etag\":{},\"uploaded\":{},\"checksums\":{},\"storageClass\":{}",
            self.version,
            self.size,
            json_string(&self.etag),
            self.uploaded,
            self.checksums,
            json_string(&self.storage_class)
        );
        if http {
            output.push_str(",\"httpMetadata\":");
            output.push_str(&self.http_metadata);
        }
        if custom {
            output.push_str(",\"customMetadata\":");
            output.push_str(&self.custom_metadata);
        }
        if let Some((offset, length)) = range {
            let _ = write!(
                output,
                ",\"range\":{{\"offset\":{offset},\"length\":{length}}}"
            );
        }
        output.push('}');
    }

    fn to_json(&self, range: Option<(u64, u64)>) -> String {
        let mut output = String::with_capacity(256);
        self.render(range, true, true, &mut output);
        output
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// Reads the live row of `key`, if any.
fn read_object(
    connection: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectRow>, R2Error> {
    let sql = "SELECT key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata, storage_class FROM r2_objects WHERE bucket = ?1 AND key = ?2";
    Ok(connection
        .prepare_cached(sql)?
        .query_row(params![bucket, key.as_bytes()], ObjectRow::from_row)
        .optional()?)
}

/// Inserts or replaces the row of `row.key`; returns the blob it replaced.
fn upsert_object(
    connection: &Connection,
    bucket: &str,
    row: &ObjectRow,
) -> Result<Option<String>, R2Error> {
    let previous: Option<String> = connection
        .prepare_cached("SELECT blob_id FROM r2_objects WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![bucket, row.key.as_bytes()], |r| r.get(0))
        .optional()?;
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO r2_objects (bucket, key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata, storage_class)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            bucket,
            row.key.as_bytes(),
            row.blob_id,
            row.version,
            row.size as i64,
            row.etag,
            row.uploaded,
            row.checksums,
            row.http_metadata,
            row.custom_metadata,
            row.storage_class
        ])?;
    Ok(previous)
}

/// The engine state one bucket's handles share.
struct BucketStore {
    /// Keeps an in-memory store's scratch folder alive while a handle exists.
    _data: Arc<DataDir>,
    database: Arc<Database>,
    name: String,
    dirs: BucketDirs,
}

/// The result of a `get`: the object's JSON, and its body inline or as a
/// blob range for an `R2BodyReader`.
enum GetOutcome {
    Missing,
    PreconditionFailed(String),
    Inline(String, Vec<u8>),
    Streamed {
        metadata: String,
        blob_id: String,
        offset: u64,
        length: u64,
    },
}

impl BucketStore {
    fn open(data: Arc<DataDir>, name: &str) -> Result<BucketStore, R2Error> {
        let root = data.blob_dir("r2", name)?;
        let dirs = BucketDirs::create(&root)?;
        let store = BucketStore {
            database: data.main().clone(),
            _data: data,
            name: name.to_string(),
            dirs,
        };

        let first_open = CLEANED_BUCKETS
            .lock()
            .get_or_insert_with(HashSet::new)
            .insert(root);
        if first_open {
            store.remove_orphans()?;
        }
        Ok(store)
    }

    /// Removes crashed writers' temp files and unreferenced blobs, holding
    /// the write lock so that no other process is mid-commit.
    fn remove_orphans(&self) -> Result<usize, R2Error> {
        self.database.write(|connection| -> Result<usize, R2Error> {
            let mut referenced = HashSet::new();
            for sql in [
                "SELECT blob_id FROM r2_objects WHERE bucket = ?1",
                "SELECT blob_id FROM r2_parts WHERE bucket = ?1",
            ] {
                let mut statement = connection.prepare_cached(sql)?;
                let ids = statement.query_map(params![self.name], |row| row.get::<_, String>(0))?;
                for id in ids {
                    referenced.insert(id?);
                }
            }
            blob::remove_orphans(&self.dirs, &referenced)
        })
    }

    fn remove_blobs<'a>(&self, blob_ids: impl IntoIterator<Item = &'a String>) {
        for blob_id in blob_ids {
            // A failed removal leaves an orphan that the next start-up removes.
            let _ = std::fs::remove_file(self.dirs.blob_path(blob_id));
        }
    }

    fn head(&self, key: &str) -> Result<Option<String>, R2Error> {
        validate_key("head", key)?;
        let connection = self.database.lock();
        Ok(read_object(&connection, &self.name, key)?.map(|row| {
            let size = row.size;
            row.to_json(Some((0, size)))
        }))
    }

    fn get(&self, key: &str, options: Option<&str>) -> Result<GetOutcome, R2Error> {
        let input: GetInput = match options {
            Some(json) => serde_json::from_str(json).map_err(|e| invalid_options("get", e))?,
            None => GetInput::default(),
        };
        let only_if = input.only_if.map(Conditional::parse).transpose()?;
        let range = match input.range {
            Some(range) => RangeRequest::parse(range)?,
            None => None,
        };
        validate_key("get", key)?;

        let connection = self.database.lock();
        let Some(row) = read_object(&connection, &self.name, key)? else {
            return Ok(GetOutcome::Missing);
        };
        if let Some(only_if) = &only_if {
            if !only_if.passes(Some((&row.etag, row.uploaded))) {
                return Ok(GetOutcome::PreconditionFailed(
                    row.to_json(Some((0, row.size))),
                ));
            }
        }
        let (offset, length) = match &range {
            Some(range) => range.resolve(row.size)?.unwrap_or((0, row.size)),
            None => (0, row.size),
        };
        let metadata = row.to_json(Some((offset, length)));

        if length > INLINE_BODY_BYTES {
            return Ok(GetOutcome::Streamed {
                metadata,
                blob_id: row.blob_id,
                offset,
                length,
            });
        }
        let path = self.dirs.blob_path(&row.blob_id);
        let mut reader =
            BlobReader::open(path.clone(), offset, length).map_err(|e| io_error(&path, e))?;
        let body = reader.read_chunk(length as usize)?;
        Ok(GetOutcome::Inline(metadata, body))
    }

    /// Checks a put's key and options before any body byte is read.
    fn begin_put(
        &self,
        key: &str,
        options: Option<&str>,
    ) -> Result<(PutOptions, TempBlob), R2Error> {
        let options = PutOptions::parse("put", options)?;
        validate_key("put", key)?;
        let blob = TempBlob::create(&self.dirs, MAX_OBJECT_BYTES, options.hashers())?;
        Ok((options, blob))
    }

    /// Verifies a fully written body and commits it; `None` when `onlyIf` failed.
    fn commit_put(
        &self,
        key: &str,
        options: PutOptions,
        blob: TempBlob,
    ) -> Result<Option<String>, R2Error> {
        if blob.is_too_large() {
            return Err(R2Error::EntityTooLarge { action: "put" });
        }
        let finished = blob.finish()?;
        let result = self.commit_finished(key, options, &finished);
        if !matches!(result, Ok(Some(_))) {
            finished.discard();
        }
        result
    }

    fn commit_finished(
        &self,
        key: &str,
        options: PutOptions,
        finished: &FinishedBlob,
    ) -> Result<Option<String>, R2Error> {
        let md5 = finished
            .digest(Algorithm::Md5)
            .unwrap_or_default()
            .to_string();
        let mut checksums = String::from("{\"md5\":\"");
        checksums.push_str(&md5);
        checksums.push('"');
        for (algorithm, provided) in &options.checksums {
            let actual = finished.digest(*algorithm).unwrap_or_default();
            if actual != provided {
                return Err(R2Error::BadDigest {
                    algorithm: *algorithm,
                    provided: provided.clone(),
                    actual: actual.to_string(),
                });
            }
            if *algorithm != Algorithm::Md5 {
                let _ = write!(checksums, ",\"{}\":\"{actual}\"", algorithm.field());
            }
        }
        checksums.push('}');

        let row = ObjectRow {
            key: key.to_string(),
            blob_id: finished.blob_id.clone(),
            version: random_hex(16),
            size: finished.size,
            etag: md5,
            uploaded: now_ms(),
            checksums,
            http_metadata: options.http_metadata,
            custom_metadata: options.custom_metadata,
            storage_class: options.storage_class,
        };

        let replaced =
            self.database
                .write(|connection| -> Result<Option<Option<String>>, R2Error> {
                    if let Some(only_if) = &options.only_if {
                        let current = read_object(connection, &self.name, key)?;
                        if !only_if.passes(current.as_ref().map(|c| (c.etag.as_str(), c.uploaded)))
                        {
                            return Ok(None);
                        }
                    }
                    finished.publish(&self.dirs)?;
                    Ok(Some(upsert_object(connection, &self.name, &row)?))
                })?;

        let Some(replaced) = replaced else {
            return Ok(None);
        };
        self.remove_blobs(replaced.iter());
        Ok(Some(row.to_json(None)))
    }

    fn delete(&self, keys: &[String]) -> Result<(), R2Error> {
        for key in keys {
            validate_key("delete", key)?;
        }
        let removed = self
            .database
            .write(|connection| -> Result<Vec<String>, R2Error> {
                let mut statement = connection.prepare_cached(
                    "DELETE FROM r2_objects WHERE bucket = ?1 AND key = ?2 RETURNING blob_id",
                )?;
                let mut removed = Vec::new();
                for key in keys {
                    if let Some(blob_id) = statement
                        .query_row(params![self.name, key.as_bytes()], |row| {
                            row.get::<_, String>(0)
                        })
                        .optional()?
                    {
                        removed.push(blob_id);
                    }
                }
                Ok(removed)
            })?;
        self.remove_blobs(removed.iter());
        Ok(())
    }

    fn list(&self, options: Option<&str>) -> Result<String, R2Error> {
        let input: ListInput = match options {
            Some(json) => serde_json::from_str(json).map_err(|e| invalid_options("list", e))?,
            None => ListInput::default(),
        };

        let (mut http, mut custom) = (false, false);
        for field in input.include.iter().flatten() {
            match field.as_str() {
                "httpMetadata" => http = true,
                "customMetadata" => custom = true,
                other => {
                    return Err(R2Error::UnsupportedInclude {
                        value: other.to_string(),
                    })
                }
            }
        }
        let mut limit = match input.limit {
            None => MAX_LIST_LIMIT,
            Some(limit) if limit.is_nan() || limit < 1.0 || limit > MAX_LIST_LIMIT as f64 => {
                return Err(R2Error::InvalidMaxKeys)
            }
            Some(limit) => limit as usize,
        };
        if http || custom {
            limit = limit.min(MAX_LIST_LIMIT_WITH_INCLUDE);
        }

        let prefix = input.prefix.unwrap_or_default().into_bytes();
        let delimiter = input
            .delimiter
            .filter(|d| !d.is_empty())
            .map(String::into_bytes);

        // Listing starts after `after` (exclusive): the larger of startAfter and the cursor.
        let mut after: Option<Vec<u8>> = input.start_after.map(String::into_bytes);
        if let Some(cursor) = input.cursor.filter(|c| !c.is_empty()) {
            let decoded = from_hex(&cursor).ok_or(R2Error::InvalidCursor { cursor })?;
            if after.as_ref().is_none_or(|a| &decoded > a) {
                after = Some(decoded);
            }
        }

        let connection = self.database.lock();
        let mut objects = String::from("[");
        let mut object_count = 0;
        let mut prefixes: Vec<Vec<u8>> = Vec::new();
        let mut last_position: Option<Vec<u8>> = None;
        let mut truncated = false;

        // Scan from the prefix (inclusive) or from after the cursor. After a
        // delimited prefix the scan jumps past every key under it: no UTF-8
        // byte is 0xFF, so `prefix + 0xFF` sorts after all of them.
        let (mut position, mut inclusive) = match &after {
            Some(after) if after.as_slice() >= prefix.as_slice() => (after.clone(), false),
            _ => (prefix.clone(), true),
        };

        'scan: loop {
            let batch = (limit + 1).max(64);
            let sql = if inclusive {
                "SELECT key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata, storage_class FROM r2_objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3"
            } else {
                "SELECT key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata, storage_class FROM r2_objects WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3"
            };
            inclusive = false;
            let rows = connection
                .prepare_cached(sql)?
                .query_map(
                    params![self.name, position, batch as i64],
                    ObjectRow::from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            if rows.is_empty() {
                break;
            }
            let full_batch = rows.len() >= batch;

            for row in rows {
                let key = row.key.as_bytes();
                if !key.starts_with(&prefix) {
                    break 'scan;
                }
                if object_count + prefixes.len() == limit {
                    truncated = true;
                    break 'scan;
                }

                let delimited = delimiter.as_ref().and_then(|delimiter| {
                    let rest = &key[prefix.len()..];
                    find_subslice(rest, delimiter)
                        .map(|index| key[..prefix.len() + index + delimiter.len()].to_vec())
                });
                if let Some(delimited_prefix) = delimited {
                    let mut skip_to = delimited_prefix.clone();
                    skip_to.push(0xff);
                    prefixes.push(delimited_prefix);
                    last_position = Some(skip_to.clone());
                    position = skip_to;
                    continue 'scan;
                }

                if object_count > 0 {
                    objects.push(',');
                }
                row.render(None, http, custom, &mut objects);
                object_count += 1;
                last_position = Some(key.to_vec());
                position = key.to_vec();
            }
            if !full_batch {
                break;
            }
        }
        objects.push(']');

        let mut output = String::with_capacity(objects.len() + 128);
        output.push_str("{\"objects\":");
        output.push_str(&objects);
        let _ = write!(output, ",\"truncated\":{truncated}");
        if truncated {
            if let Some(last) = &last_position {
                let _ = write!(output, ",\"cursor\":\"{}\"", to_hex(last));
            }
        }
        output.push_str(",\"delimitedPrefixes\":[");
        for (index, delimited_prefix) in prefixes.iter().enumerate() {
            if index > 0 {
                output.push(',');
            }
            output.push_str(&json_string(&String::from_utf8_lossy(delimited_prefix)));
        }
        output.push_str("]}");
        Ok(output)
    }

    fn create_multipart_upload(&self, key: &str, options: Option<&str>) -> Result<String, R2Error> {
        let options = PutOptions::parse("createMultipartUpload", options)?;
        validate_key("createMultipartUpload", key)?;
        let upload_id = random_hex(32);
        self.database.write(|connection| -> Result<(), R2Error> {
            connection
                .prepare_cached(
                    "INSERT INTO r2_uploads (bucket, upload_id, key, http_metadata, custom_metadata, storage_class)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    self.name,
                    upload_id,
                    key.as_bytes(),
                    options.http_metadata,
                    options.custom_metadata,
                    options.storage_class
                ])?;
            Ok(())
        })?;
        Ok(upload_id)
    }

    /// Returns the state of an upload of `key`, or `None` when there is no such upload.
    fn upload_state(
        connection: &Connection,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<i64>, R2Error> {
        Ok(connection
            .prepare_cached(
                "SELECT state FROM r2_uploads WHERE bucket = ?1 AND upload_id = ?2 AND key = ?3",
            )?
            .query_row(params![bucket, upload_id, key.as_bytes()], |row| row.get(0))
            .optional()?)
    }

    fn begin_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: f64,
    ) -> Result<TempBlob, R2Error> {
        if !(1.0..=MAX_PART_NUMBER).contains(&part_number) || part_number.fract() != 0.0 {
            return Err(R2Error::PartNumber {
                value: conditional_number(part_number),
            });
        }
        validate_key("uploadPart", key)?;
        let state = Self::upload_state(&self.database.lock(), &self.name, key, upload_id)?;
        if state != Some(0) {
            return Err(R2Error::NoSuchUpload {
                action: "uploadPart",
            });
        }
        TempBlob::create(&self.dirs, MAX_OBJECT_BYTES, Hashers::new())
    }

    fn commit_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        blob: TempBlob,
    ) -> Result<String, R2Error> {
        if blob.is_too_large() {
            return Err(R2Error::EntityTooLarge {
                action: "uploadPart",
            });
        }
        let finished = blob.finish()?;
        let md5 = finished
            .digest(Algorithm::Md5)
            .unwrap_or_default()
            .to_string();
        // NOTE: a part's ETag is its MD5, as in S3; production R2's part ETags
        // are opaque strings (Miniflare makes random ones).
        let etag = md5.clone();

        let result = self.database.write(|connection| -> Result<Option<String>, R2Error> {
            if Self::upload_state(connection, &self.name, key, upload_id)? != Some(0) {
                return Err(R2Error::NoSuchUpload { action: "uploadPart" });
            }
            let previous: Option<String> = connection
                .prepare_cached("SELECT blob_id FROM r2_parts WHERE bucket = ?1 AND upload_id = ?2 AND part_number = ?3")?
                .query_row(params![self.name, upload_id, part_number], |row| row.get(0))
                .optional()?;
            finished.publish(&self.dirs)?;
            connection
                .prepare_cached(
                    "INSERT OR REPLACE INTO r2_parts (bucket, upload_id, part_number, blob_id, size, etag, md5)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![self.name, upload_id, part_number, finished.blob_id, finished.size as i64, etag, md5])?;
            Ok(previous)
        });
        match result {
            Ok(previous) => {
                self.remove_blobs(previous.iter());
                Ok(format!(
                    "{{\"partNumber\":{part_number},\"etag\":\"{etag}\"}}"
                ))
            }
            Err(error) => {
                finished.discard();
                Err(error)
            }
        }
    }

    fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts_json: &str,
    ) -> Result<String, R2Error> {
        const ACTION: &str = "completeMultipartUpload";
        validate_key(ACTION, key)?;
        let selected: Vec<PartInput> =
            serde_json::from_str(parts_json).map_err(|e| invalid_options(ACTION, e))?;

        // Check the upload and its parts, then build the body outside the lock.
        let (upload, mut parts) = {
            let connection = self.database.lock();
            let upload = connection
                .prepare_cached(
                    "SELECT http_metadata, custom_metadata, storage_class, state FROM r2_uploads
                     WHERE bucket = ?1 AND upload_id = ?2 AND key = ?3",
                )?
                .query_row(params![self.name, upload_id, key.as_bytes()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()?;
            let upload = match upload {
                Some(upload) if upload.3 == 0 => upload,
                _ => return Err(R2Error::NoSuchUpload { action: ACTION }),
            };

            let mut seen = HashSet::new();
            let mut parts = Vec::with_capacity(selected.len());
            let mut statement = connection.prepare_cached(
                "SELECT blob_id, size, etag, md5 FROM r2_parts WHERE bucket = ?1 AND upload_id = ?2 AND part_number = ?3",
            )?;
            for part in &selected {
                let number = part.part_number as i64;
                if !seen.insert(number) {
                    return Err(R2Error::InternalError { action: ACTION });
                }
                let stored = statement
                    .query_row(params![self.name, upload_id, number], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, i64>(1)? as u64,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    })
                    .optional()?;
                match stored {
                    Some((blob_id, size, etag, md5)) if etag == part.etag => {
                        parts.push((number, blob_id, size, md5))
                    }
                    _ => return Err(R2Error::InvalidPart),
                }
            }
            (upload, parts)
        };

        // Production's part rules: every part but the last is at least 5 MiB,
        // all of them the same size, and the last no larger.
        if parts.is_empty() {
            return Err(R2Error::BadUpload);
        }
        parts.sort_by_key(|part| part.0);
        for part in &parts[..parts.len() - 1] {
            if part.2 < MIN_PART_BYTES {
                return Err(R2Error::EntityTooSmall { action: ACTION });
            }
        }
        let leading = &parts[..parts.len() - 1];
        if let Some(first) = leading.first() {
            if leading.iter().any(|part| part.2 != first.2) || parts[parts.len() - 1].2 > first.2 {
                return Err(R2Error::BadUpload);
            }
        }

        // The object is one blob: the parts are copied into a temp file
        // (copy_file_range on Linux, so the bytes stay in the kernel).
        // NOTE: the copy runs inside this synchronous call, so completing a
        // multi-GiB upload blocks the JavaScript thread for seconds.
        let mut blob = TempBlob::create_unhashed(&self.dirs)?;
        let mut etag_hasher = Md5::new();
        let mut size = 0u64;
        for (_, blob_id, part_size, md5) in &parts {
            blob.append_file(&self.dirs.blob_path(blob_id))?;
            etag_hasher.update(from_hex(md5).unwrap_or_default());
            size += part_size;
        }
        let finished = blob.finish()?;
        let etag = format!("{}-{}", to_hex(&etag_hasher.finalize()), parts.len());

        let row = ObjectRow {
            key: key.to_string(),
            blob_id: finished.blob_id.clone(),
            version: random_hex(16),
            size,
            etag,
            uploaded: now_ms(),
            checksums: "{}".into(),
            http_metadata: upload.0,
            custom_metadata: upload.1,
            storage_class: upload.2,
        };

        let result = self
            .database
            .write(|connection| -> Result<Vec<String>, R2Error> {
                if Self::upload_state(connection, &self.name, key, upload_id)? != Some(0) {
                    return Err(R2Error::NoSuchUpload { action: ACTION });
                }
                finished.publish(&self.dirs)?;
                let mut stale: Vec<String> = upsert_object(connection, &self.name, &row)?
                    .into_iter()
                    .collect();
                let mut statement = connection.prepare_cached(
                    "DELETE FROM r2_parts WHERE bucket = ?1 AND upload_id = ?2 RETURNING blob_id",
                )?;
                let removed = statement
                    .query_map(params![self.name, upload_id], |r| r.get::<_, String>(0))?;
                for blob_id in removed {
                    stale.push(blob_id?);
                }
                connection
                    .prepare_cached(
                        "UPDATE r2_uploads SET state = 1 WHERE bucket = ?1 AND upload_id = ?2",
                    )?
                    .execute(params![self.name, upload_id])?;
                Ok(stale)
            });
        match result {
            Ok(stale) => {
                self.remove_blobs(stale.iter());
                Ok(row.to_json(None))
            }
            Err(error) => {
                finished.discard();
                Err(error)
            }
        }
    }

    fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), R2Error> {
        validate_key("abortMultipartUpload", key)?;
        let removed = self
            .database
            .write(|connection| -> Result<Vec<String>, R2Error> {
                match Self::upload_state(connection, &self.name, key, upload_id)? {
                    // NOTE: Miniflare raises InternalError for an unknown upload id; NoSuchUpload names the problem.
                    None => {
                        return Err(R2Error::NoSuchUpload {
                            action: "abortMultipartUpload",
                        })
                    }
                    // Aborting a finished upload succeeds and changes nothing, as in Miniflare.
                    Some(state) if state != 0 => return Ok(Vec::new()),
                    Some(_) => {}
                }
                let mut statement = connection.prepare_cached(
                    "DELETE FROM r2_parts WHERE bucket = ?1 AND upload_id = ?2 RETURNING blob_id",
                )?;
                let removed = statement
                    .query_map(params![self.name, upload_id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                connection
                    .prepare_cached(
                        "UPDATE r2_uploads SET state = 2 WHERE bucket = ?1 AND upload_id = ?2",
                    )?
                    .execute(params![self.name, upload_id])?;
                Ok(removed)
            })?;
        self.remove_blobs(removed.iter());
        Ok(())
    }
}

fn conditional_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The result of `R2Bucket.get`.
#[napi(object)]
pub struct R2GetResult {
    /// The object as JSON text.
    pub metadata: String,
    /// True when `onlyIf` failed: the object comes without a body.
    pub precondition_failed: bool,
    /// The body, when it is at most 64 KiB.
    pub body: Option<Buffer>,
    /// For a larger body, the blob to open with `R2BodyReader`.
    pub blob_id: Option<String>,
    pub offset: Option<f64>,
    pub length: Option<f64>,
}

/// One R2 bucket in a data directory.
#[napi]
pub struct R2Bucket {
    store: Arc<BucketStore>,
}

#[napi]
impl R2Bucket {
    /// Opens the bucket `bucketName` in `storage`, removing blobs left by a
    /// crash the first time this process opens it.
    #[napi(constructor)]
    pub fn new(storage: &Storage, bucket_name: String) -> napi::Result<R2Bucket> {
        let store = BucketStore::open(storage.data.clone(), &bucket_name)?;
        Ok(R2Bucket {
            store: Arc::new(store),
        })
    }

    /// Returns the bucket name.
    #[napi(getter)]
    pub fn bucket_name(&self) -> String {
        self.store.name.clone()
    }

    /// Removes temp files of crashed writers and blobs no row references; returns how many.
    #[napi]
    pub fn remove_orphans(&self) -> napi::Result<u32> {
        Ok(self.store.remove_orphans()? as u32)
    }

    /// Returns the object's JSON (with the whole-object range), or null.
    #[napi]
    pub fn head(&self, key: String) -> napi::Result<Option<String>> {
        Ok(self.store.head(&key)?)
    }

    /// Reads an object. `options` is JSON with `range` and `onlyIf`.
    #[napi]
    pub fn get(&self, key: String, options: Option<String>) -> napi::Result<Option<R2GetResult>> {
        let result = match self.store.get(&key, options.as_deref())? {
            GetOutcome::Missing => return Ok(None),
            GetOutcome::PreconditionFailed(metadata) => R2GetResult {
                metadata,
                precondition_failed: true,
                body: None,
                blob_id: None,
                offset: None,
                length: None,
            },
            GetOutcome::Inline(metadata, body) => R2GetResult {
                metadata,
                precondition_failed: false,
                body: Some(Buffer::from(body)),
                blob_id: None,
                offset: None,
                length: None,
            },
            GetOutcome::Streamed {
                metadata,
                blob_id,
                offset,
                length,
            } => R2GetResult {
                metadata,
                precondition_failed: false,
                body: None,
                blob_id: Some(blob_id),
                offset: Some(offset as f64),
                length: Some(length as f64),
            },
        };
        Ok(Some(result))
    }

    /// Stores a whole body given at once; returns the object's JSON, or null when `onlyIf` failed.
    #[napi]
    pub fn put(
        &self,
        key: String,
        body: Either<String, Buffer>,
        options: Option<String>,
    ) -> napi::Result<Option<String>> {
        let (options, mut blob) = self.store.begin_put(&key, options.as_deref())?;
        match &body {
            Either::A(text) => blob.write(text.as_bytes())?,
            Either::B(bytes) => blob.write(bytes)?,
        }
        Ok(self.store.commit_put(&key, options, blob)?)
    }

    /// Deletes the given keys; missing keys are ignored.
    #[napi]
    pub fn delete(&self, keys: Vec<String>) -> napi::Result<()> {
        Ok(self.store.delete(&keys)?)
    }

    /// Lists objects; returns the JSON of `R2Objects` with a hex cursor.
    #[napi]
    pub fn list(&self, options: Option<String>) -> napi::Result<String> {
        Ok(self.store.list(options.as_deref())?)
    }

    /// Starts a multipart upload and returns its id.
    #[napi]
    pub fn create_multipart_upload(
        &self,
        key: String,
        options: Option<String>,
    ) -> napi::Result<String> {
        Ok(self
            .store
            .create_multipart_upload(&key, options.as_deref())?)
    }

    /// Stores one part given at once; returns `{"partNumber","etag"}` as JSON.
    #[napi]
    pub fn upload_part(
        &self,
        key: String,
        upload_id: String,
        part_number: f64,
        body: Either<String, Buffer>,
    ) -> napi::Result<String> {
        let mut blob = self.store.begin_part(&key, &upload_id, part_number)?;
        match &body {
            Either::A(text) => blob.write(text.as_bytes())?,
            Either::B(bytes) => blob.write(bytes)?,
        }
        Ok(self
            .store
            .commit_part(&key, &upload_id, part_number as u32, blob)?)
    }

    /// Completes an upload from `parts` (JSON `[{partNumber, etag}]`); returns the object's JSON.
    #[napi]
    pub fn complete_multipart_upload(
        &self,
        key: String,
        upload_id: String,
        parts: String,
    ) -> napi::Result<String> {
        Ok(self
            .store
            .complete_multipart_upload(&key, &upload_id, &parts)?)
    }

    /// Aborts an upload and removes its parts.
    #[napi]
    pub fn abort_multipart_upload(&self, key: String, upload_id: String) -> napi::Result<()> {
        Ok(self.store.abort_multipart_upload(&key, &upload_id)?)
    }
}

/// The destination of an `R2Writer`: an object or one part of a multipart upload.
enum WriterTarget {
    Object {
        key: String,
        options: Option<PutOptions>,
    },
    Part {
        key: String,
        upload_id: String,
        part_number: u32,
    },
}

/// A body streamed in chunks to a temp file: `write` each chunk, then
/// `commit`. Dropping it uncommitted removes the temp file.
#[napi]
pub struct R2Writer {
    store: Arc<BucketStore>,
    target: WriterTarget,
    blob: Option<TempBlob>,
}

#[napi]
impl R2Writer {
    /// Starts a streamed `put` of `key`, checking the key and options first.
    #[napi(factory)]
    pub fn for_object(
        bucket: &R2Bucket,
        key: String,
        options: Option<String>,
    ) -> napi::Result<R2Writer> {
        let (options, blob) = bucket.store.begin_put(&key, options.as_deref())?;
        Ok(R2Writer {
            store: bucket.store.clone(),
            target: WriterTarget::Object {
                key,
                options: Some(options),
            },
            blob: Some(blob),
        })
    }

    /// Starts a streamed part of a multipart upload.
    #[napi(factory)]
    pub fn for_part(
        bucket: &R2Bucket,
        key: String,
        upload_id: String,
        part_number: f64,
    ) -> napi::Result<R2Writer> {
        let blob = bucket.store.begin_part(&key, &upload_id, part_number)?;
        Ok(R2Writer {
            store: bucket.store.clone(),
            target: WriterTarget::Part {
                key,
                upload_id,
                part_number: part_number as u32,
            },
            blob: Some(blob),
        })
    }

    /// Appends one chunk.
    #[napi]
    pub fn write(&mut self, chunk: Uint8Array) -> napi::Result<()> {
        let blob = self
            .blob
            .as_mut()
            .ok_or_else(|| napi::Error::from_reason("R2Writer is already closed"))?;
        Ok(blob.write(&chunk)?)
    }

    /// Bytes written so far.
    #[napi(getter)]
    pub fn size(&self) -> f64 {
        self.blob.as_ref().map_or(0.0, |blob| blob.size() as f64)
    }

    /// Flushes, verifies and commits the body. For an object, returns its
    /// JSON or null when `onlyIf` failed; for a part, `{"partNumber","etag"}`.
    #[napi]
    pub fn commit(&mut self) -> napi::Result<Option<String>> {
        let blob = self
            .blob
            .take()
            .ok_or_else(|| napi::Error::from_reason("R2Writer is already closed"))?;
        match &mut self.target {
            WriterTarget::Object { key, options } => {
                let options = options.take().expect("options are taken once");
                Ok(self.store.commit_put(key, options, blob)?)
            }
            WriterTarget::Part {
                key,
                upload_id,
                part_number,
            } => Ok(Some(self.store.commit_part(
                key,
                upload_id,
                *part_number,
                blob,
            )?)),
        }
    }

    /// Drops the body written so far (the stream failed or was cancelled).
    #[napi]
    pub fn abort(&mut self) {
        self.blob = None;
    }
}

/// Reads a range of a committed blob in chunks.
#[napi]
pub struct R2BodyReader {
    reader: Option<BlobReader>,
}

#[napi]
impl R2BodyReader {
    /// Opens `length` bytes from `offset` of the blob `blobId` that `get` named.
    #[napi(constructor)]
    pub fn new(
        bucket: &R2Bucket,
        blob_id: String,
        offset: f64,
        length: f64,
    ) -> napi::Result<R2BodyReader> {
        if blob_id.is_empty() || !blob_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(napi::Error::from_reason(format!(
                "invalid blob id {blob_id:?}"
            )));
        }
        let path = bucket.store.dirs.blob_path(&blob_id);
        let reader = BlobReader::open(path.clone(), offset as u64, length as u64)
            .map_err(|source| napi::Error::from(io_error(&path, source)))?;
        Ok(R2BodyReader {
            reader: Some(reader),
        })
    }

    /// Reads the next bytes into `target` and returns how many; 0 at the end (which closes the file).
    ///
    /// The caller allocates `target` in JavaScript, so the garbage collector
    /// counts the memory; chunks allocated here would be external memory that
    /// Bun's collector does not count, and a long stream would pile them up.
    #[napi]
    pub fn read_into(&mut self, mut target: Uint8Array) -> napi::Result<u32> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        // SAFETY: this synchronous call runs on the JavaScript thread, so no
        // JavaScript code can touch `target` while Rust writes to it.
        let buffer = unsafe { target.as_mut() };
        let read = reader.read_into(buffer)?;
        if read == 0 {
            self.reader = None;
        }
        Ok(read as u32)
    }

    /// Closes the file before the end (the stream was cancelled).
    #[napi]
    pub fn close(&mut self) {
        self.reader = None;
    }
}

#[cfg(test)]
mod tests;
