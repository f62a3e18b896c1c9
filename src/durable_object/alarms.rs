//! Each object's alarm time, in `data.sqlite` so that a scheduler can find
//! every pending alarm at start-up without opening each object's file.

use super::DoError;
use crate::storage::Database;
use rusqlite::{params, OptionalExtension};

pub fn get(database: &Database, class: &str, id: &str) -> Result<Option<f64>, DoError> {
    let connection = database.lock();
    let time: Option<i64> = connection
        .prepare_cached("SELECT scheduled_time FROM do_alarms WHERE class = ?1 AND object_id = ?2")?
        .query_row(params![class, id], |row| row.get(0))
        .optional()?;
    Ok(time.map(|t| t as f64))
}

/// Sets the alarm to `scheduled_time` (ms since the epoch), or deletes it for `None`.
pub fn set(
    database: &Database,
    class: &str,
    id: &str,
    scheduled_time: Option<f64>,
) -> Result<(), DoError> {
    match scheduled_time {
        Some(time) if !time.is_finite() => Err(DoError::InvalidAlarm),
        Some(time) => database.write(|connection| {
            connection
                .prepare_cached(
                    "INSERT INTO do_alarms (class, object_id, scheduled_time) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (class, object_id) DO UPDATE SET scheduled_time = excluded.scheduled_time",
                )?
                .execute(params![class, id, time.floor() as i64])?;
            Ok(())
        }),
        None => database.write(|connection| {
            connection
                .prepare_cached("DELETE FROM do_alarms WHERE class = ?1 AND object_id = ?2")?
                .execute(params![class, id])?;
            Ok(())
        }),
    }
}
