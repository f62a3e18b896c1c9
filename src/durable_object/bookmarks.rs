//! Point-in-time recovery within local history. A bookmark names a snapshot
//! of the object's database (a SQLite image in `data.sqlite`'s
//! `do_bookmarks`), taken when `getCurrentBookmark` or
//! `onNextSessionRestoreBookmark` runs. A scheduled restore is applied when
//! the object's storage closes, so the next session starts from it.
//!
//! NOTE: production can restore to any moment in the last 30 days. Here only
//! the moments at which a bookmark was taken can be restored, and
//! `getBookmarkForTime` returns the newest of those at or before the time.

use super::{DoError, ObjectStore};
use rusqlite::{params, Connection, OptionalExtension, MAIN_DB};

/// Formats a bookmark: the snapshot time then a sequence number, both fixed-width
/// hex, so bookmarks sort in the order they were taken.
fn format_bookmark(time: i64, sequence: i64) -> String {
    format!("{time:016x}-{sequence:016x}")
}

fn object_key(store: &ObjectStore) -> Result<(String, String), DoError> {
    Ok((store.class.clone(), store.id.clone()))
}

/// Snapshots the committed state and returns its bookmark.
pub fn current(store: &ObjectStore) -> Result<String, DoError> {
    let image = store.database.lock().serialize(MAIN_DB)?.to_vec();
    let (class, id) = object_key(store)?;
    let time = crate::clock::now_ms();
    store.data.main().write(|connection| -> Result<String, DoError> {
        let sequence: i64 = connection.query_row(
            "SELECT coalesce(max(sequence), 0) + 1 FROM do_bookmarks WHERE class = ?1 AND object_id = ?2",
            params![class, id],
            |row| row.get(0),
        )?;
        let bookmark = format_bookmark(time, sequence);
        connection.execute(
            "INSERT INTO do_bookmarks (class, object_id, sequence, bookmark, taken_at, image) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![class, id, sequence, bookmark, time, image],
        )?;
        Ok(bookmark)
    })
}

/// Returns the newest bookmark taken at or before `time`.
pub fn for_time(store: &ObjectStore, time: i64) -> Result<String, DoError> {
    let (class, id) = object_key(store)?;
    let connection = store.data.main().lock();
    let found = connection
        .prepare_cached(
            "SELECT bookmark FROM do_bookmarks WHERE class = ?1 AND object_id = ?2 AND taken_at <= ?3 \
             ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![class, id, time], |row| row.get(0))
        .optional()?;
    found.ok_or_else(|| DoError::InvalidBookmark {
        bookmark: format!("no bookmark at or before {time}"),
    })
}

/// Records `bookmark` as the state to restore at the next open, and returns
/// a bookmark of the current state.
pub fn schedule_restore(store: &mut ObjectStore, bookmark: &str) -> Result<String, DoError> {
    image_of(store, bookmark)?;
    let undo = current(store)?;
    store.pending_restore = Some(bookmark.to_string());
    Ok(undo)
}

fn image_of(store: &ObjectStore, bookmark: &str) -> Result<Vec<u8>, DoError> {
    let connection = store.data.main().lock();
    let found = connection
        .prepare_cached(
            "SELECT image FROM do_bookmarks WHERE class = ?1 AND object_id = ?2 AND bookmark = ?3",
        )?
        .query_row(params![store.class, store.id, bookmark], |row| row.get(0))
        .optional()?;
    found.ok_or_else(|| DoError::InvalidBookmark {
        bookmark: bookmark.to_string(),
    })
}

/// Replaces the object's data with the scheduled bookmark's snapshot, if any.
pub fn apply_pending_restore(store: &ObjectStore) -> Result<(), DoError> {
    let Some(bookmark) = &store.pending_restore else {
        return Ok(());
    };
    let image = image_of(store, bookmark)?;
    let connection = store.database.lock();
    restore_image(&connection, &image)
}

/// Copies every table of a database image over the main database, in one transaction.
///
/// The image is written to a temporary file and attached, because SQLite
/// attaches files (an attached in-memory schema cannot be deserialized into
/// on every build).
fn restore_image(connection: &Connection, image: &[u8]) -> Result<(), DoError> {
    let file = std::env::temp_dir().join(format!(
        "bunflare-restore-{}-{}.sqlite",
        std::process::id(),
        crate::clock::now_ms()
    ));
    std::fs::write(&file, image)
        .map_err(|error| DoError::Migration(format!("{}: {error}", file.display())))?;
    let attached = connection.execute(
        "ATTACH DATABASE ?1 AS _cf_restore",
        [file.display().to_string()],
    );
    if let Err(error) = attached {
        let _ = std::fs::remove_file(&file);
        return Err(error.into());
    }
    let result = crate::storage::write_transaction(
        connection,
        |connection| -> Result<(), DoError> {
            let old: Vec<(String, String)> = connection
                .prepare("SELECT type, name FROM main.sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (kind, name) in old {
                connection.execute_batch(&format!(
                    "DROP {} main.\"{}\"",
                    kind.to_uppercase(),
                    name.replace('"', "\"\"")
                ))?;
            }
            let new: Vec<(String, String, Option<String>)> = connection
                .prepare("SELECT type, name, sql FROM _cf_restore.sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table' DESC")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (kind, name, sql) in &new {
                let Some(sql) = sql else { continue };
                connection.execute_batch(sql)?;
                if kind == "table" {
                    let quoted = name.replace('"', "\"\"");
                    connection.execute_batch(&format!(
                        "INSERT INTO main.\"{quoted}\" SELECT * FROM _cf_restore.\"{quoted}\""
                    ))?;
                }
            }
            Ok(())
        },
    );
    connection.execute_batch("DETACH DATABASE _cf_restore")?;
    let _ = std::fs::remove_file(&file);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_replaces_tables_and_rows() {
        let mut source = Connection::open_in_memory().unwrap();
        source
            .execute_batch(
                "CREATE TABLE t (x); INSERT INTO t VALUES (1); CREATE INDEX t_x ON t (x);",
            )
            .unwrap();
        let image = source.serialize(MAIN_DB).unwrap().to_vec();

        let target = Connection::open_in_memory().unwrap();
        target
            .execute_batch(
                "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2); CREATE TABLE extra (y);",
            )
            .unwrap();
        restore_image(&target, &image).unwrap();
        let count: i64 = target
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1);
        let extra: i64 = target
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(extra, 0);
    }
}
