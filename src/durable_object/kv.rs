//! The KV API of one object: pairs in the reserved table `_cf_KV`, keys as
//! TEXT (SQLite's BINARY collation compares UTF-8 bytes, production's order)
//! and values as the structured-clone bytes the TS layer produces.

use super::{DoError, StorageKind, MAX_KEYS_PER_CALL, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use rusqlite::{params, Connection, OptionalExtension};

/// Created on open. `_cf_` names are reserved, so user SQL cannot touch it.
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;";

/// Rejects calls with more keys than production allows in one call.
pub fn check_count(count: usize) -> Result<(), DoError> {
    if count > MAX_KEYS_PER_CALL {
        return Err(DoError::TooManyKeys { count });
    }
    Ok(())
}

/// Applies production's size limits for the class's storage backend.
pub fn validate(kind: StorageKind, key: &str, value_len: usize) -> Result<(), DoError> {
    match kind {
        StorageKind::Kv => {
            if key.len() > MAX_KEY_BYTES {
                return Err(DoError::KeyTooLarge);
            }
            if value_len > MAX_VALUE_BYTES {
                return Err(DoError::ValueTooLarge);
            }
        }
        // SQLite's SQLITE_LIMIT_LENGTH on the connection rejects oversized
        // rows with SQLITE_TOOBIG, as production's SQLite-backed storage does.
        StorageKind::Sqlite => {}
    }
    Ok(())
}

pub fn get(connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, DoError> {
    let mut statement = connection.prepare_cached("SELECT value FROM _cf_KV WHERE key = ?1")?;
    Ok(statement.query_row([key], |row| row.get(0)).optional()?)
}

pub fn get_many(
    connection: &Connection,
    mut keys: Vec<String>,
) -> Result<Vec<(String, Vec<u8>)>, DoError> {
    check_count(keys.len())?;
    keys.sort_unstable();
    keys.dedup();
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(value) = get(connection, &key)? {
            found.push((key, value));
        }
    }
    Ok(found)
}

pub fn put(
    connection: &Connection,
    kind: StorageKind,
    key: &str,
    value: &[u8],
) -> Result<(), DoError> {
    validate(kind, key, value.len())?;
    let mut statement =
        connection.prepare_cached("INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?1, ?2)")?;
    statement.execute(params![key, value])?;
    Ok(())
}

pub fn delete(connection: &Connection, key: &str) -> Result<bool, DoError> {
    let mut statement = connection.prepare_cached("DELETE FROM _cf_KV WHERE key = ?1")?;
    Ok(statement.execute([key])? > 0)
}

/// Deletes every pair and, for SQLite-backed classes, every user table,
/// view, index and trigger, as production's `deleteAll` does.
pub fn delete_all(connection: &Connection, kind: StorageKind) -> Result<(), DoError> {
    connection.execute("DELETE FROM _cf_KV", [])?;
    if kind == StorageKind::Sqlite {
        let objects: Vec<(String, String)> = connection
            .prepare(
                "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND type IN ('table', 'view')",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (kind, name) in objects {
            let quoted = name.replace('"', "\"\"");
            connection.execute_batch(&format!(
                "DROP {} IF EXISTS \"{quoted}\"",
                kind.to_uppercase()
            ))?;
        }
    }
    Ok(())
}

/// The bounds of `list()`. `start` is inclusive, `startAfter` and `end` exclusive.
pub struct ListRange {
    pub start: Option<String>,
    pub start_after: Option<String>,
    pub end: Option<String>,
    pub prefix: Option<String>,
    pub reverse: bool,
    pub limit: Option<u32>,
}

pub fn list(connection: &Connection, range: &ListRange) -> Result<Vec<(String, Vec<u8>)>, DoError> {
    // One cached statement per direction; absent bounds are NULL and match all.
    let sql = if range.reverse {
        "SELECT key, value FROM _cf_KV WHERE (?1 IS NULL OR key >= ?1) AND (?2 IS NULL OR key > ?2) \
         AND (?3 IS NULL OR key < ?3) AND (?4 IS NULL OR (key >= ?4 AND substr(key, 1, length(?4)) = ?4)) \
         ORDER BY key DESC LIMIT ?5"
    } else {
        "SELECT key, value FROM _cf_KV WHERE (?1 IS NULL OR key >= ?1) AND (?2 IS NULL OR key > ?2) \
         AND (?3 IS NULL OR key < ?3) AND (?4 IS NULL OR (key >= ?4 AND substr(key, 1, length(?4)) = ?4)) \
         ORDER BY key ASC LIMIT ?5"
    };
    let limit: i64 = range.limit.map(i64::from).unwrap_or(-1);
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(
        params![
            range.start,
            range.start_after,
            range.end,
            range.prefix,
            limit
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        connection
    }

    fn range() -> ListRange {
        ListRange {
            start: None,
            start_after: None,
            end: None,
            prefix: None,
            reverse: false,
            limit: None,
        }
    }

    #[test]
    fn list_orders_by_utf8_bytes_and_applies_bounds() {
        let c = connection();
        for key in ["b", "a", "ab", "é", "Z", "b1"] {
            put(&c, StorageKind::Kv, key, b"v").unwrap();
        }
        let keys = |r: &ListRange| {
            list(&c, r)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&range()), ["Z", "a", "ab", "b", "b1", "é"]);
        assert_eq!(
            keys(&ListRange {
                prefix: Some("b".into()),
                ..range()
            }),
            ["b", "b1"]
        );
        assert_eq!(
            keys(&ListRange {
                start_after: Some("ab".into()),
                end: Some("é".into()),
                ..range()
            }),
            ["b", "b1"]
        );
        assert_eq!(
            keys(&ListRange {
                reverse: true,
                limit: Some(2),
                ..range()
            }),
            ["é", "b1"]
        );
    }

    #[test]
    fn kv_backed_limits_are_enforced() {
        let c = connection();
        let long_key = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            put(&c, StorageKind::Kv, &long_key, b"v"),
            Err(DoError::KeyTooLarge)
        ));
        let big = vec![0u8; MAX_VALUE_BYTES + 1];
        assert!(matches!(
            put(&c, StorageKind::Kv, "k", &big),
            Err(DoError::ValueTooLarge)
        ));
        assert!(put(&c, StorageKind::Sqlite, &long_key, &big).is_ok());
    }

    #[test]
    fn get_many_skips_missing_keys() {
        let c = connection();
        put(&c, StorageKind::Kv, "a", b"1").unwrap();
        let found = get_many(&c, vec!["b".into(), "a".into()]).unwrap();
        assert_eq!(found, vec![("a".to_string(), b"1".to_vec())]);
        assert!(matches!(
            get_many(&c, vec!["x".into(); 129]),
            Err(DoError::TooManyKeys { count: 129 })
        ));
    }
}
