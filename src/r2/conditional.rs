//! `onlyIf` preconditions and `range` options of `get` and `put`.
//!
//! The runtime's argument checks (quoted ETags, negative or fractional
//! offsets) raise `TypeError` or `RangeError`. How a precondition and a
//! range apply to a stored object follows Miniflare's R2 validator.

use super::error::R2Error;
use serde::Deserialize;

/// `onlyIf` as the binding sends it: either R2Conditional fields (single
/// unquoted ETags) or, with `fromHeaders`, the raw `If-*` header values.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalInput {
    etag_matches: Option<String>,
    etag_does_not_match: Option<String>,
    /// Milliseconds since the epoch.
    uploaded_before: Option<f64>,
    uploaded_after: Option<f64>,
    seconds_granularity: Option<bool>,
    #[serde(default)]
    from_headers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Etag {
    Strong(String),
    Weak(String),
    Wildcard,
}

/// A parsed precondition, ready to test against an object.
#[derive(Debug, Default)]
pub struct Conditional {
    etag_matches: Option<Vec<Etag>>,
    etag_does_not_match: Option<Vec<Etag>>,
    uploaded_before: Option<i64>,
    uploaded_after: Option<i64>,
    seconds_granularity: bool,
}

impl Conditional {
    /// Checks and parses `onlyIf` as the runtime does before it sends a request.
    pub fn parse(input: ConditionalInput) -> Result<Conditional, R2Error> {
        let parse_etags = |value: Option<String>| -> Result<Option<Vec<Etag>>, R2Error> {
            match value {
                None => Ok(None),
                Some(header) if input.from_headers => Ok(Some(parse_etag_header(&header)?)),
                Some(value) => {
                    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                        return Err(R2Error::QuotedEtag { value });
                    }
                    Ok(Some(vec![if value == "*" {
                        Etag::Wildcard
                    } else {
                        Etag::Strong(value)
                    }]))
                }
            }
        };
        Ok(Conditional {
            etag_matches: parse_etags(input.etag_matches)?,
            etag_does_not_match: parse_etags(input.etag_does_not_match)?,
            uploaded_before: input
                .uploaded_before
                .filter(|ms| ms.is_finite())
                .map(|ms| ms as i64),
            uploaded_after: input
                .uploaded_after
                .filter(|ms| ms.is_finite())
                .map(|ms| ms as i64),
            // HTTP dates have whole seconds, so header conditions compare seconds.
            seconds_granularity: input.from_headers || input.seconds_granularity.unwrap_or(false),
        })
    }

    /// Returns whether the operation may proceed on `object` (its ETag and
    /// upload time in ms), or on a missing object when `None`.
    pub fn passes(&self, object: Option<(&str, i64)>) -> bool {
        let Some((etag, uploaded)) = object else {
            // Only conditions that need an object fail when there is none.
            return self.etag_matches.is_none() && self.uploaded_after.is_none();
        };

        let truncate = |ms: i64| {
            if self.seconds_granularity {
                ms.div_euclid(1000) * 1000
            } else {
                ms
            }
        };
        let last_modified = truncate(uploaded);

        let if_match = match &self.etag_matches {
            None => true,
            Some(etags) => includes(etags, etag, false),
        };
        let if_none_match = match &self.etag_does_not_match {
            None => true,
            Some(etags) => !includes(etags, etag, true),
        };

        // As in HTTP, a matching ETag condition overrides the date condition beside it.
        let if_modified_since = match self.uploaded_after {
            None => true,
            Some(after) => {
                truncate(after) < last_modified
                    || (self.etag_does_not_match.is_some() && if_none_match)
            }
        };
        let if_unmodified_since = match self.uploaded_before {
            None => true,
            Some(before) => {
                last_modified < truncate(before) || (self.etag_matches.is_some() && if_match)
            }
        };

        if_match && if_none_match && if_modified_since && if_unmodified_since
    }
}

/// Returns whether `etags` contains `etag`; weak ETags count only for a weak comparison.
fn includes(etags: &[Etag], etag: &str, weak_comparison: bool) -> bool {
    etags.iter().any(|candidate| match candidate {
        Etag::Wildcard => true,
        Etag::Strong(value) => value == etag,
        Etag::Weak(value) => weak_comparison && value == etag,
    })
}

/// Parses an `If-Match`/`If-None-Match` value: quoted strong ETags, `W/`
/// weak ones and `*`, separated by commas. Text outside quotes is ignored,
/// as workerd ignores it.
pub fn parse_etag_header(header: &str) -> Result<Vec<Etag>, R2Error> {
    let mut etags = Vec::new();
    let mut rest = header;
    let mut need_comma = false;
    loop {
        let next = rest.find(['*', '"', ',', 'W']);
        let Some(index) = next else { return Ok(etags) };
        let found = rest.as_bytes()[index];

        if found == b',' {
            need_comma = false;
            rest = &rest[index + 1..];
            continue;
        }
        if need_comma {
            return Err(R2Error::EtagHeader {
                message: "Comma was expected to separate etags.",
            });
        }
        match found {
            b'*' => return Ok(vec![Etag::Wildcard]),
            b'W' if !rest[index..].starts_with("W/\"") => {
                return Err(R2Error::EtagHeader {
                    message: "Weak etags must start with W/ and their value must be quoted",
                })
            }
            _ => {}
        }

        let weak = found == b'W';
        let open = if weak { index + 2 } else { index };
        let Some(close) = rest[open + 1..].find('"') else {
            return Err(R2Error::EtagHeader {
                message: "Unclosed double quote for Etag",
            });
        };
        let value = rest[open + 1..open + 1 + close].to_string();
        etags.push(if weak {
            Etag::Weak(value)
        } else {
            Etag::Strong(value)
        });
        rest = &rest[open + close + 2..];
        need_comma = true;
    }
}

/// `range` as the binding sends it: the `R2Range` fields or a `Range` header value.
#[derive(Debug, Default, Deserialize)]
pub struct RangeInput {
    offset: Option<f64>,
    length: Option<f64>,
    suffix: Option<f64>,
    header: Option<String>,
}

/// A checked range request, resolved against the size by `resolve`.
#[derive(Debug)]
pub enum RangeRequest {
    Fields {
        offset: Option<u64>,
        length: Option<u64>,
        suffix: Option<u64>,
    },
    Header(String),
}

/// Formats a number as JavaScript prints it, for the runtime's messages.
fn js_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn whole(what: &'static str, value: f64) -> Result<u64, R2Error> {
    if value < 0.0 || value.is_nan() {
        return Err(R2Error::RangeNegative {
            what,
            value: js_number(value),
        });
    }
    if value.fract() != 0.0 || !value.is_finite() {
        return Err(R2Error::RangeFraction {
            what,
            value: js_number(value),
        });
    }
    Ok(value as u64)
}

impl RangeRequest {
    /// Checks the fields as the runtime does before it sends a request.
    pub fn parse(input: RangeInput) -> Result<Option<RangeRequest>, R2Error> {
        if let Some(header) = input.header {
            return Ok(Some(RangeRequest::Header(header)));
        }
        let offset = input
            .offset
            .map(|value| whole("Starting offset", value))
            .transpose()?;
        let length = input
            .length
            .map(|value| whole("Length", value))
            .transpose()?;
        if input.suffix.is_some() {
            if offset.is_some() {
                return Err(R2Error::SuffixWith { other: "offset" });
            }
            if length.is_some() {
                return Err(R2Error::SuffixWith { other: "length" });
            }
        }
        let suffix = input
            .suffix
            .map(|value| whole("Suffix", value))
            .transpose()?;
        if offset.is_none() && length.is_none() && suffix.is_none() {
            return Ok(None);
        }
        Ok(Some(RangeRequest::Fields {
            offset,
            length,
            suffix,
        }))
    }

    /// Resolves the range against an object of `size` bytes into `(offset,
    /// length)`. `None` means the whole object: a `Range` header that is not
    /// exactly one satisfiable range is ignored, as Miniflare ignores it.
    pub fn resolve(&self, size: u64) -> Result<Option<(u64, u64)>, R2Error> {
        match self {
            RangeRequest::Header(header) => Ok(parse_range_header(header, size)),
            RangeRequest::Fields {
                offset,
                length,
                suffix,
            } => {
                let (offset, length) = match suffix {
                    Some(0) => return Err(R2Error::InvalidRange),
                    Some(suffix) => {
                        let suffix = (*suffix).min(size);
                        (size - suffix, suffix)
                    }
                    None => {
                        let offset = offset.unwrap_or(0);
                        (offset, length.unwrap_or(size.saturating_sub(offset)))
                    }
                };
                if offset > size || length == 0 {
                    return Err(R2Error::InvalidRange);
                }
                Ok(Some((offset, length.min(size - offset))))
            }
        }
    }
}

/// Parses a one-range `bytes=` header against `size`; `None` for anything else.
fn parse_range_header(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        let suffix: u64 = end.parse().ok()?;
        if suffix == 0 || size == 0 {
            return None;
        }
        let suffix = suffix.min(size);
        return Some((size - suffix, suffix));
    }
    let start: u64 = start.parse().ok()?;
    let end: u64 = if end.is_empty() {
        size.checked_sub(1)?
    } else {
        end.parse().ok()?
    };
    if start > end || start >= size {
        return None;
    }
    let end = end.min(size - 1);
    Some((start, end - start + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_header_parses_strong_weak_and_wildcard() {
        assert_eq!(
            parse_etag_header("\"a\", W/\"b\"").unwrap(),
            vec![Etag::Strong("a".into()), Etag::Weak("b".into())]
        );
        assert_eq!(parse_etag_header("\"a\", *").unwrap(), vec![Etag::Wildcard]);
        assert!(parse_etag_header("\"a").is_err());
        assert!(parse_etag_header("\"a\" \"b\"").is_err());
    }

    #[test]
    fn range_header_forms() {
        assert_eq!(parse_range_header("bytes=0-9", 100), Some((0, 10)));
        assert_eq!(parse_range_header("bytes=90-", 100), Some((90, 10)));
        assert_eq!(parse_range_header("bytes=-5", 100), Some((95, 5)));
        assert_eq!(parse_range_header("bytes=95-200", 100), Some((95, 5)));
        assert_eq!(parse_range_header("bytes=100-", 100), None);
        assert_eq!(parse_range_header("bytes=0-1,5-6", 100), None);
    }

    #[test]
    fn missing_object_fails_only_positive_conditions() {
        let matches = Conditional {
            etag_matches: Some(vec![Etag::Wildcard]),
            ..Default::default()
        };
        assert!(!matches.passes(None));
        let none_match = Conditional {
            etag_does_not_match: Some(vec![Etag::Wildcard]),
            ..Default::default()
        };
        assert!(none_match.passes(None));
        assert!(!none_match.passes(Some(("x", 0))));
    }
}
