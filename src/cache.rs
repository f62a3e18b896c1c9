//! Cache API engine: `caches.default` and `caches.open(name)`, stored in the
//! `cache_entries` table of `data.sqlite`.
//!
//! The engine applies production's rules in one place. `put` decides whether
//! a response is stored and for how long, from `Cache-Control` (`s-maxage`
//! before `max-age`), `Expires` and Cloudflare's default edge TTLs by status.
//! `match` responds to conditional requests (`If-None-Match`,
//! `If-Modified-Since`) with 304 and to `Range` requests with 206 or 416, as
//! the cache in front of the Workers runtime does. Messages follow workerd's `cache.c++`.

use crate::clock::now_ms;
use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::storage::{Database, Storage};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use rusqlite::{params, OptionalExtension};
use std::fmt::{self, Display};
use std::sync::Arc;

/// Maximum size in bytes of one cached body: 512 MB per file on the Free, Pro
/// and Business plans, from Cloudflare's "Cache by status code" page
/// (Enterprise allows 5 GB).
pub const MAX_ENTRY_BYTES: usize = 512 * 1024 * 1024;

/// Maximum length in bytes of a cache name given to `caches.open`, as
/// Miniflare enforces ("Cache name is too long.").
pub const MAX_CACHE_NAME_BYTES: usize = 1024;

/// The name `caches.default` stores its entries under. `caches.open` may not
/// reach it, because a cache name is prefixed before it gets here.
pub const DEFAULT_CACHE: &str = "default";

/// Returns Cloudflare's default edge TTL in seconds for a response without
/// `Cache-Control` or `Expires`, by status, from the Edge TTL table of the
/// "Cache by status code" page. Any status not listed there is not cached.
fn default_ttl_seconds(status: u32) -> i64 {
    match status {
        200 | 206 | 301 => 120 * 60,
        302 | 303 => 20 * 60,
        404 | 410 => 3 * 60,
        _ => 0,
    }
}

/// Every way a cache operation fails.
#[derive(Debug)]
pub enum CacheError {
    NonGetRequest,
    PartialContent,
    VaryStar,
    EntryTooLarge { length: usize },
    NameTooLong { length: usize },
    Storage(StorageError),
}

impl Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::NonGetRequest => write!(f, "Cannot cache response to non-GET request."),
            CacheError::PartialContent => write!(
                f,
                "Cannot cache response to a range request (206 Partial Content)."
            ),
            CacheError::VaryStar => write!(f, "Cannot cache response with 'Vary: *' header."),
            // NOTE: production's message for an oversized entry is not documented; this one is ours.
            CacheError::EntryTooLarge { length } => write!(
                f,
                "Cannot cache response: body of {length} bytes exceeds the limit of {MAX_ENTRY_BYTES} bytes."
            ),
            CacheError::NameTooLong { length } => write!(
                f,
                "Cache name is too long: {length} bytes exceeds the limit of {MAX_CACHE_NAME_BYTES}."
            ),
            CacheError::Storage(error) => write!(f, "{error}"),
        }
    }
}

impl ErrorCode for CacheError {
    fn code(&self) -> &'static str {
        match self {
            CacheError::NonGetRequest => "CACHE_NON_GET",
            CacheError::PartialContent => "CACHE_PARTIAL_CONTENT",
            CacheError::VaryStar => "CACHE_VARY_STAR",
            CacheError::EntryTooLarge { .. } => "CACHE_ENTRY_TOO_LARGE",
            CacheError::NameTooLong { .. } => "CACHE_NAME_TOO_LONG",
            CacheError::Storage(error) => error.code(),
        }
    }
}

impl From<rusqlite::Error> for CacheError {
    fn from(error: rusqlite::Error) -> Self {
        CacheError::Storage(StorageError::Sqlite(error))
    }
}

impl From<CacheError> for napi::Error {
    fn from(error: CacheError) -> Self {
        to_napi(error)
    }
}

/// Response headers as (name, value) pairs; names compare case-insensitively.
type HeaderList = Vec<(String, String)>;

/// Converts the flat `[name, value, name, value, …]` list JavaScript sends.
fn pairs(flat: Vec<String>) -> HeaderList {
    let mut list = Vec::with_capacity(flat.len() / 2);
    let mut iter = flat.into_iter();
    while let (Some(name), Some(value)) = (iter.next(), iter.next()) {
        list.push((name, value));
    }
    list
}

fn flatten(list: HeaderList) -> Vec<String> {
    let mut flat = Vec::with_capacity(list.len() * 2);
    for (name, value) in list {
        flat.push(name);
        flat.push(value);
    }
    flat
}

fn headers_of(list: &[(&str, &str)]) -> HeaderList {
    list.iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn header<'a>(list: &'a HeaderList, name: &str) -> Option<&'a str> {
    list.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn set_header(list: &mut HeaderList, name: &str, value: String) {
    list.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
    list.push((name.to_string(), value));
}

/// The `Cache-Control` directives that decide storage and lifetime.
#[derive(Debug, Default, PartialEq)]
struct CacheControl {
    no_store: bool,
    /// `no-cache` without field names.
    no_cache: bool,
    /// `private` without field names.
    private: bool,
    /// `private=Set-Cookie`: store, but without the cookie.
    private_set_cookie: bool,
    max_age: Option<i64>,
    s_maxage: Option<i64>,
}

impl CacheControl {
    fn parse(value: &str) -> CacheControl {
        let mut control = CacheControl::default();
        for directive in value.split(',') {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let seconds = || argument.and_then(|text| text.parse::<i64>().ok());
            match name.to_ascii_lowercase().as_str() {
                "no-store" => control.no_store = true,
                "no-cache" if argument.is_none() => control.no_cache = true,
                "private" => match argument {
                    None => control.private = true,
                    Some(fields) => {
                        if fields
                            .split(',')
                            .any(|f| f.trim().eq_ignore_ascii_case("set-cookie"))
                        {
                            control.private_set_cookie = true;
                        } else {
                            control.private = true;
                        }
                    }
                },
                "max-age" => control.max_age = seconds(),
                "s-maxage" => control.s_maxage = seconds(),
                _ => {}
            }
        }
        control
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into milliseconds
/// since the epoch. Other date forms are treated as invalid, as an invalid
/// `Expires` means "already expired" (RFC 9111, section 5.3).
fn parse_http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    if parts.len() != 6 || !parts[0].ends_with(',') || parts[5] != "GMT" {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|name| *name == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let time: Vec<i64> = parts[4]
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if time.len() != 3 || !(1..=31).contains(&day) || time[0] > 23 || time[1] > 59 || time[2] > 60 {
        return None;
    }

    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + time[0]) * 60 + time[1]) * 60_000 + time[2] * 1000)
}

/// The outcome of a `put` that does not throw.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Stored until this time, in milliseconds since the epoch.
    Store { expires_at: i64 },
    /// Accepted and discarded, as production does for uncacheable responses.
    Skip(&'static str),
}

/// Applies production's storage rules to a response. May remove `Set-Cookie`
/// from `headers` when `private=Set-Cookie` allows storing without it.
fn decide(status: u32, headers: &mut HeaderList, now: i64) -> Decision {
    // workerd drops 304s silently, because a cached 304 would be returned for unconditional requests.
    if status == 304 {
        return Decision::Skip("304 response");
    }

    let control = header(headers, "cache-control")
        .map(CacheControl::parse)
        .unwrap_or_default();
    if control.no_store {
        return Decision::Skip("Cache-Control: no-store");
    }
    if control.private {
        return Decision::Skip("Cache-Control: private");
    }
    // NOTE: production stores a no-cache response and revalidates it with the
    // origin on every request. There is no origin here, so it is never stored.
    if control.no_cache {
        return Decision::Skip("Cache-Control: no-cache");
    }
    if control.private_set_cookie {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("set-cookie"));
    }
    if header(headers, "set-cookie").is_some() {
        return Decision::Skip("Set-Cookie without Cache-Control: private=Set-Cookie");
    }

    let ttl_ms = if let Some(seconds) = control.s_maxage.or(control.max_age) {
        seconds.saturating_mul(1000)
    } else if let Some(expires) = header(headers, "expires") {
        let date = header(headers, "date")
            .and_then(parse_http_date)
            .unwrap_or(now);
        parse_http_date(expires).map_or(0, |at| at - date)
    } else {
        default_ttl_seconds(status) * 1000
    };
    if ttl_ms <= 0 {
        return Decision::Skip("no freshness lifetime");
    }
    Decision::Store {
        expires_at: now.saturating_add(ttl_ms),
    }
}

/// Strips the weak prefix and quotes from an entity tag, for weak comparison.
fn opaque_tag(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

/// Returns true when a conditional request gets 304 Not Modified.
fn not_modified(
    headers: &HeaderList,
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
) -> bool {
    // If-None-Match takes precedence over If-Modified-Since (RFC 9110, section 13.2.2).
    if let Some(condition) = if_none_match {
        let Some(etag) = header(headers, "etag") else {
            return false;
        };
        if condition.trim() == "*" {
            return true;
        }
        return condition
            .split(',')
            .any(|tag| opaque_tag(tag) == opaque_tag(etag));
    }
    if let Some(since) = if_modified_since {
        let last_modified = header(headers, "last-modified").and_then(parse_http_date);
        let since = parse_http_date(since);
        if let (Some(last_modified), Some(since)) = (last_modified, since) {
            return last_modified <= since;
        }
    }
    false
}

/// The result of parsing a `Range` header against a body length.
#[derive(Debug, PartialEq)]
enum RangeRequest {
    /// Not a single byte range: the whole body is returned.
    Whole,
    /// An inclusive byte range within the body.
    Part(usize, usize),
    Unsatisfiable,
}

fn parse_range(value: &str, length: usize) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    // NOTE: a request for several ranges gets the whole body. Production's
    // cache may answer it with multipart/byteranges.
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());

    if start.is_empty() {
        // A suffix range: the last `end` bytes.
        let Ok(suffix) = end.parse::<usize>() else {
            return RangeRequest::Whole;
        };
        if suffix == 0 || length == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Part(length.saturating_sub(suffix), length - 1);
    }

    let Ok(first) = start.parse::<usize>() else {
        return RangeRequest::Whole;
    };
    let last = if end.is_empty() {
        length.saturating_sub(1)
    } else {
        match end.parse::<usize>() {
            Ok(last) if last >= first => last.min(length.saturating_sub(1)),
            _ => return RangeRequest::Whole,
        }
    };
    if first >= length {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part(first, last)
}

/// Checks what workerd checks before it reads the body of a `put`.
fn validate_put(method: &str, status: u32, vary: Option<&str>) -> Result<(), CacheError> {
    if !method.eq_ignore_ascii_case("GET") {
        return Err(CacheError::NonGetRequest);
    }
    if status == 206 {
        return Err(CacheError::PartialContent);
    }
    if vary.is_some_and(|vary| vary.contains('*')) {
        return Err(CacheError::VaryStar);
    }
    Ok(())
}

/// A cached response as `match` returns it.
#[napi(object)]
pub struct CachedResponse {
    pub status: u32,
    /// JSON text of the flat `[name, value, …]` pairs, in stored order.
    /// Text crosses napi in one string, where an array costs one string per name and value.
    pub headers: String,
    /// The body, or null for 304 and 416 answers.
    pub body: Option<Buffer>,
}

/// A matched entry inside Rust; `CachedResponse` is its JavaScript form.
struct Matched {
    status: u32,
    /// JSON text of the flat header pairs.
    headers: String,
    body: Option<Vec<u8>>,
}

impl Matched {
    fn new(status: u32, headers: HeaderList, body: Option<Vec<u8>>) -> Matched {
        let headers = serde_json::to_string(&flatten(headers)).expect("strings serialize");
        Matched {
            status,
            headers,
            body,
        }
    }
}

impl From<Matched> for CachedResponse {
    fn from(matched: Matched) -> Self {
        CachedResponse {
            status: matched.status,
            headers: matched.headers,
            body: matched.body.map(Buffer::from),
        }
    }
}

/// Appends `CF-Cache-Status: HIT` to stored header JSON without parsing it.
/// `put` removes any stored CF-Cache-Status, so the name appears once.
fn with_hit_status(encoded: String) -> String {
    let mut text = encoded;
    text.truncate(text.trim_end().len().saturating_sub(1));
    if text.trim_end().ends_with('[') {
        text.push_str("\"CF-Cache-Status\",\"HIT\"]");
    } else {
        text.push_str(",\"CF-Cache-Status\",\"HIT\"]");
    }
    text
}

/// The request headers `match` looks at; the rest do not change the answer.
#[napi(object)]
pub struct CacheMatchConditions {
    pub range: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

/// One named cache (`caches.default` or `caches.open(name)`).
#[napi]
pub struct CacheStore {
    database: Arc<Database>,
    name: String,
}

impl CacheStore {
    pub fn open(database: Arc<Database>, name: String) -> CacheStore {
        CacheStore { database, name }
    }

    fn put_entry(
        &self,
        method: &str,
        url: &str,
        status: u32,
        headers: HeaderList,
        body: &[u8],
    ) -> Result<bool, CacheError> {
        validate_put(method, status, header(&headers, "vary"))?;
        if body.len() > MAX_ENTRY_BYTES {
            return Err(CacheError::EntryTooLarge { length: body.len() });
        }

        let mut headers = headers;
        // The cache sets CF-Cache-Status on every match; a stored copy would repeat it.
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("cf-cache-status"));
        let now = now_ms();
        let expires_at = match decide(status, &mut headers, now) {
            Decision::Store { expires_at } => expires_at,
            Decision::Skip(_) => return Ok(false),
        };

        // NOTE: bodies are stored in the SQLite row, up to MAX_ENTRY_BYTES, not in
        // separate files. `Vary` (other than `*`) is stored but not used when matching.
        let encoded = serde_json::to_string(&flatten(headers)).expect("strings serialize");
        self.database.write(|connection| {
            connection
                .prepare_cached(
                    "INSERT OR REPLACE INTO cache_entries (cache, url, status, headers, body, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![self.name, url, status, encoded, body, expires_at])?;
            Ok::<_, CacheError>(())
        })?;
        Ok(true)
    }

    fn match_entry(
        &self,
        url: &str,
        conditions: &CacheMatchConditions,
    ) -> Result<Option<Matched>, CacheError> {
        let row = {
            let connection = self.database.lock();
            let mut statement = connection.prepare_cached(
                "SELECT status, headers, body FROM cache_entries WHERE cache = ?1 AND url = ?2 AND expires_at > ?3",
            )?;
            statement
                .query_row(params![self.name, url, now_ms()], |row| {
                    Ok((
                        row.get::<_, u32>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .optional()?
        };
        let Some((status, encoded, body)) = row else {
            return Ok(None);
        };

        // Most matches carry no conditions, and their stored headers pass through unparsed.
        if conditions.range.is_none()
            && conditions.if_none_match.is_none()
            && conditions.if_modified_since.is_none()
        {
            return Ok(Some(Matched {
                status,
                headers: with_hit_status(encoded),
                body: Some(body),
            }));
        }

        let flat: Vec<String> = serde_json::from_str(&encoded).unwrap_or_default();
        let mut headers = pairs(flat);
        set_header(&mut headers, "CF-Cache-Status", "HIT".into());

        if not_modified(
            &headers,
            conditions.if_none_match.as_deref(),
            conditions.if_modified_since.as_deref(),
        ) {
            return Ok(Some(Matched::new(304, headers, None)));
        }

        let range = conditions
            .range
            .as_deref()
            .map_or(RangeRequest::Whole, |value| parse_range(value, body.len()));
        let response = match range {
            RangeRequest::Whole => Matched::new(status, headers, Some(body)),
            RangeRequest::Part(first, last) => {
                set_header(
                    &mut headers,
                    "Content-Range",
                    format!("bytes {first}-{last}/{}", body.len()),
                );
                set_header(
                    &mut headers,
                    "Content-Length",
                    (last - first + 1).to_string(),
                );
                Matched::new(206, headers, Some(body[first..=last].to_vec()))
            }
            RangeRequest::Unsatisfiable => {
                let headers = headers_of(&[
                    ("Content-Range", &format!("bytes */{}", body.len())),
                    ("CF-Cache-Status", "HIT"),
                ]);
                Matched::new(416, headers, None)
            }
        };
        Ok(Some(response))
    }

    fn delete_entry(&self, url: &str) -> Result<bool, CacheError> {
        let now = now_ms();
        self.database.write(|connection| {
            // An expired entry counts as absent, as it would have been evicted.
            let removed = connection
                .prepare_cached(
                    "DELETE FROM cache_entries WHERE cache = ?1 AND url = ?2 RETURNING expires_at",
                )?
                .query_row(params![self.name, url], |row| row.get::<_, i64>(0))
                .optional()?;
            Ok::<_, CacheError>(removed.is_some_and(|expires_at| expires_at > now))
        })
    }
}

#[napi]
impl CacheStore {
    /// Opens `caches.default` when `cacheName` is null, otherwise the cache
    /// `caches.open(cacheName)` returns.
    #[napi(constructor)]
    pub fn new(storage: &Storage, cache_name: Option<String>) -> napi::Result<CacheStore> {
        let name = match cache_name {
            None => DEFAULT_CACHE.to_string(),
            Some(name) if name.len() > MAX_CACHE_NAME_BYTES => {
                return Err(CacheError::NameTooLong { length: name.len() }.into())
            }
            // A prefix keeps `caches.open("default")` apart from `caches.default`.
            Some(name) => format!("named:{name}"),
        };
        Ok(CacheStore::open(storage.data.main().clone(), name))
    }

    /// Stores a response for a GET of `url`; returns false when production's
    /// rules discard it (no-store, private, Set-Cookie, no lifetime, 304).
    #[napi]
    pub fn put(
        &self,
        method: String,
        url: String,
        status: u32,
        headers: Vec<String>,
        body: &[u8],
    ) -> napi::Result<bool> {
        Ok(self.put_entry(&method, &url, status, pairs(headers), body)?)
    }

    /// Checks a `put` before its body is read, so that a rejected put leaves
    /// the response body unread, as in production. `put` checks again.
    #[napi]
    pub fn validate_put(
        &self,
        method: String,
        status: u32,
        vary: Option<String>,
    ) -> napi::Result<()> {
        Ok(validate_put(&method, status, vary.as_deref())?)
    }

    /// Returns the fresh entry for `url`, answered as the request's
    /// conditional and range headers ask, or null.
    #[napi(js_name = "match")]
    pub fn match_url(
        &self,
        url: String,
        conditions: CacheMatchConditions,
    ) -> napi::Result<Option<CachedResponse>> {
        Ok(self
            .match_entry(&url, &conditions)?
            .map(CachedResponse::from))
    }

    /// Removes the entry for `url`; returns whether a fresh one existed.
    #[napi]
    pub fn delete(&self, url: String) -> napi::Result<bool> {
        Ok(self.delete_entry(&url)?)
    }
}

/// Removes every entry of one cache (`"default"` or a name given to
/// `caches.open`), or of every cache when `cacheName` is null. Returns the
/// number of entries removed.
#[napi]
pub fn purge_caches(storage: &Storage, cache_name: Option<String>) -> napi::Result<u32> {
    let database = storage.data.main();
    let removed = database.write(|connection| -> Result<usize, CacheError> {
        Ok(match cache_name.as_deref() {
            None => connection.execute("DELETE FROM cache_entries", [])?,
            Some(DEFAULT_CACHE) => connection.execute(
                "DELETE FROM cache_entries WHERE cache = ?1",
                [DEFAULT_CACHE],
            )?,
            Some(name) => connection.execute(
                "DELETE FROM cache_entries WHERE cache = ?1",
                [format!("named:{name}")],
            )?,
        })
    })?;
    Ok(removed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::DataDir;

    const NOW: i64 = 1_700_000_000_000;

    use super::headers_of as headers;

    fn store() -> (DataDir, CacheStore) {
        let data = DataDir::open(None).unwrap();
        let cache = CacheStore::open(data.main().clone(), DEFAULT_CACHE.into());
        (data, cache)
    }

    fn no_conditions() -> CacheMatchConditions {
        CacheMatchConditions {
            range: None,
            if_none_match: None,
            if_modified_since: None,
        }
    }

    #[test]
    fn s_maxage_wins_over_max_age() {
        let mut list = headers(&[("Cache-Control", "max-age=10, s-maxage=100")]);
        assert_eq!(
            decide(200, &mut list, NOW),
            Decision::Store {
                expires_at: NOW + 100_000
            }
        );
    }

    #[test]
    fn expires_is_relative_to_date() {
        let mut list = headers(&[
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Expires", "Sun, 06 Nov 1994 08:50:37 GMT"),
        ]);
        assert_eq!(
            decide(200, &mut list, NOW),
            Decision::Store {
                expires_at: NOW + 60_000
            }
        );
        let mut invalid = headers(&[("Expires", "0")]);
        assert!(matches!(decide(200, &mut invalid, NOW), Decision::Skip(_)));
    }

    #[test]
    fn default_ttl_by_status() {
        assert_eq!(
            decide(200, &mut vec![], NOW),
            Decision::Store {
                expires_at: NOW + 7_200_000
            }
        );
        assert_eq!(
            decide(404, &mut vec![], NOW),
            Decision::Store {
                expires_at: NOW + 180_000
            }
        );
        assert!(matches!(decide(500, &mut vec![], NOW), Decision::Skip(_)));
    }

    #[test]
    fn uncacheable_directives_skip() {
        for value in [
            "no-store",
            "private",
            "no-cache",
            "max-age=0",
            "private=\"X-Other\"",
        ] {
            let mut list = headers(&[("Cache-Control", value)]);
            assert!(
                matches!(decide(200, &mut list, NOW), Decision::Skip(_)),
                "{value}"
            );
        }
    }

    #[test]
    fn set_cookie_needs_private_directive() {
        let mut plain = headers(&[("Set-Cookie", "a=1"), ("Cache-Control", "max-age=60")]);
        assert!(matches!(decide(200, &mut plain, NOW), Decision::Skip(_)));
        let mut allowed = headers(&[
            ("Set-Cookie", "a=1"),
            ("Cache-Control", "max-age=60, private=Set-Cookie"),
        ]);
        assert!(matches!(
            decide(200, &mut allowed, NOW),
            Decision::Store { .. }
        ));
        assert!(header(&allowed, "set-cookie").is_none());
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }

    #[test]
    fn hit_status_appends_to_json() {
        assert_eq!(
            with_hit_status("[]".into()),
            "[\"CF-Cache-Status\",\"HIT\"]"
        );
        assert_eq!(
            with_hit_status("[\"a\",\"1\"]".into()),
            "[\"a\",\"1\",\"CF-Cache-Status\",\"HIT\"]"
        );
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("bytes=0-3", 10), RangeRequest::Part(0, 3));
        assert_eq!(parse_range("bytes=5-", 10), RangeRequest::Part(5, 9));
        assert_eq!(parse_range("bytes=-3", 10), RangeRequest::Part(7, 9));
        assert_eq!(parse_range("bytes=8-100", 10), RangeRequest::Part(8, 9));
        assert_eq!(parse_range("bytes=10-", 10), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), RangeRequest::Whole);
        assert_eq!(parse_range("items=0-1", 10), RangeRequest::Whole);
    }

    #[test]
    fn put_rejects_like_workerd() {
        let (_data, cache) = store();
        assert!(matches!(
            cache.put_entry("POST", "http://x/", 200, vec![], b""),
            Err(CacheError::NonGetRequest)
        ));
        assert!(matches!(
            cache.put_entry("GET", "http://x/", 206, vec![], b""),
            Err(CacheError::PartialContent)
        ));
        let vary = headers(&[("Vary", "Accept, *")]);
        assert!(matches!(
            cache.put_entry("GET", "http://x/", 200, vary, b""),
            Err(CacheError::VaryStar)
        ));
    }

    #[test]
    fn put_match_delete_round_trip() {
        let (_data, cache) = store();
        let list = headers(&[("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")]);
        assert!(cache
            .put_entry("GET", "http://x/a", 200, list, b"hello")
            .unwrap());

        let hit = cache
            .match_entry("http://x/a", &no_conditions())
            .unwrap()
            .unwrap();
        assert_eq!(hit.status, 200);
        assert_eq!(hit.body.unwrap(), b"hello");
        let flat: Vec<String> = serde_json::from_str(&hit.headers).unwrap();
        assert_eq!(header(&pairs(flat), "cf-cache-status"), Some("HIT"));

        let conditional = CacheMatchConditions {
            if_none_match: Some("W/\"v1\"".into()),
            ..no_conditions()
        };
        assert_eq!(
            cache
                .match_entry("http://x/a", &conditional)
                .unwrap()
                .unwrap()
                .status,
            304
        );

        assert!(cache.delete_entry("http://x/a").unwrap());
        assert!(!cache.delete_entry("http://x/a").unwrap());
        assert!(cache
            .match_entry("http://x/a", &no_conditions())
            .unwrap()
            .is_none());
    }
}
