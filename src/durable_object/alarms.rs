//! Durable Object alarms: at most one per object. Its time lives in
//! `data.sqlite` (`do_alarms`), so every pending alarm is found at start-up
//! without opening each object's file, and its deadline lives on the
//! scheduler (kind `alarm`, key `<data dir id>:<class>:<object id>`).
//!
//! A firing goes through `begin` (JavaScript is about to run `alarm()`) and
//! `finish` (it returned or threw). Retries are decided here: a failed
//! handler is retried with production's exponential backoff, and an alarm
//! set again while the handler ran replaces the one that fired.

use super::DoError;
use crate::clock;
use crate::scheduler::{self, ItemKind};
use crate::storage::DataDir;
use parking_lot::Mutex;
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

/// Delay before the first retry of a failed `alarm()`, in milliseconds;
/// each later retry waits twice as long. From Cloudflare's Durable Objects
/// alarms page: "exponential backoff starting at a 2 second delay".
pub const FIRST_RETRY_DELAY_MS: i64 = 2_000;

/// Maximum retries of a failed `alarm()` before the alarm is dropped, from
/// Cloudflare's Durable Objects alarms page ("up to 6 retries").
pub const MAX_RETRIES: u32 = 6;

/// One object's alarm: data directory id, class and object id.
type AlarmKey = (u64, String, String);

/// In-memory state of one alarm between its firings.
// NOTE: the retry count lives only here, so after a restart a pending retry
// runs with retryCount 0; production keeps the count across restarts.
#[derive(Default)]
struct Firing {
    /// Retries so far of the alarm that is firing or waiting to retry.
    retry_count: u32,
    /// The deadline whose handler is running now.
    running_due: Option<i64>,
}

fn firings() -> &'static Mutex<HashMap<AlarmKey, Firing>> {
    static FIRINGS: std::sync::OnceLock<Mutex<HashMap<AlarmKey, Firing>>> =
        std::sync::OnceLock::new();
    FIRINGS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn alarm_key(data: &DataDir, class: &str, id: &str) -> AlarmKey {
    (data.id(), class.to_string(), id.to_string())
}

/// Returns the scheduler key of one object's alarm.
fn item_key(data: &DataDir, class: &str, id: &str) -> String {
    format!("{}:{class}:{id}", data.id())
}

/// Returns the prefix of every alarm key of `data` (`<data dir id>:`).
pub fn key_prefix(data: &DataDir) -> String {
    format!("{}:", data.id())
}

fn stored_time(data: &DataDir, class: &str, id: &str) -> Result<Option<i64>, DoError> {
    let connection = data.main().lock();
    let time = connection
        .prepare_cached("SELECT scheduled_time FROM do_alarms WHERE class = ?1 AND object_id = ?2")?
        .query_row(params![class, id], |row| row.get(0))
        .optional()?;
    Ok(time)
}

fn write_time(data: &DataDir, class: &str, id: &str, time: Option<i64>) -> Result<(), DoError> {
    match time {
        Some(time) => data.main().write(|connection| -> Result<(), DoError> {
            connection
                .prepare_cached(
                    "INSERT INTO do_alarms (class, object_id, scheduled_time) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (class, object_id) DO UPDATE SET scheduled_time = excluded.scheduled_time",
                )?
                .execute(params![class, id, time])?;
            Ok(())
        })?,
        None => data.main().write(|connection| -> Result<(), DoError> {
            connection
                .prepare_cached("DELETE FROM do_alarms WHERE class = ?1 AND object_id = ?2")?
                .execute(params![class, id])?;
            Ok(())
        })?,
    }
    match time {
        Some(time) => scheduler::schedule(ItemKind::Alarm, item_key(data, class, id), time),
        None => scheduler::cancel(ItemKind::Alarm, &item_key(data, class, id)),
    }
    Ok(())
}

/// Returns the alarm time in milliseconds since the epoch. While the alarm's
/// own handler runs, the alarm reads as unset, unless the handler set a new one.
pub fn get(data: &DataDir, class: &str, id: &str) -> Result<Option<f64>, DoError> {
    let time = stored_time(data, class, id)?;
    let running = firings()
        .lock()
        .get(&alarm_key(data, class, id))
        .and_then(|firing| firing.running_due);
    match (time, running) {
        (Some(time), Some(due)) if time == due => Ok(None),
        (time, _) => Ok(time.map(|t| t as f64)),
    }
}

/// Sets the alarm to `scheduled_time` (ms since the epoch), or deletes it for
/// `None`. Either way the retry count starts again.
pub fn set(
    data: &DataDir,
    class: &str,
    id: &str,
    scheduled_time: Option<f64>,
) -> Result<(), DoError> {
    let time = match scheduled_time {
        Some(time) if !time.is_finite() => return Err(DoError::InvalidAlarm),
        Some(time) => Some(time.floor() as i64),
        None => None,
    };
    write_time(data, class, id, time)?;
    if let Some(firing) = firings().lock().get_mut(&alarm_key(data, class, id)) {
        firing.retry_count = 0;
    }
    Ok(())
}

/// Puts every stored alarm of `class` on the scheduler; an alarm whose time
/// passed while no process ran falls due at once. Returns how many there are.
pub fn resume(data: &DataDir, class: &str) -> Result<u32, DoError> {
    let alarms: Vec<(String, i64)> = {
        let connection = data.main().lock();
        let mut statement = connection
            .prepare_cached("SELECT object_id, scheduled_time FROM do_alarms WHERE class = ?1")?;
        let rows = statement.query_map(params![class], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (id, time) in &alarms {
        scheduler::schedule(ItemKind::Alarm, item_key(data, class, id), *time);
    }
    Ok(alarms.len() as u32)
}

/// Marks the alarm that fell due at `due` as running and returns its retry
/// count, or `None` when it was deleted or moved to another time since.
pub fn begin(data: &DataDir, class: &str, id: &str, due: i64) -> Result<Option<u32>, DoError> {
    if stored_time(data, class, id)? != Some(due) {
        return Ok(None);
    }
    let mut firings = firings().lock();
    let firing = firings.entry(alarm_key(data, class, id)).or_default();
    firing.running_due = Some(due);
    Ok(Some(firing.retry_count))
}

/// The engine's decision after an alarm's handler returned or threw.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The handler succeeded and the alarm is deleted.
    Done,
    /// The handler set a new alarm or deleted it, and that change is kept.
    Replaced,
    /// The handler threw; it runs again at this time with this retry count.
    Retry { at: i64, retry_count: u32 },
    /// The handler threw after the last retry; the alarm is deleted.
    GaveUp { retries: u32 },
}

/// Returns the delay before retry number `retry_count` (1-based), in milliseconds.
pub fn retry_delay_ms(retry_count: u32) -> i64 {
    FIRST_RETRY_DELAY_MS << (retry_count.saturating_sub(1).min(30))
}

/// Ends the firing of the alarm due at `due`: deletes it, keeps the one the
/// handler set, or schedules a retry.
pub fn finish(
    data: &DataDir,
    class: &str,
    id: &str,
    due: i64,
    success: bool,
) -> Result<Outcome, DoError> {
    let key = alarm_key(data, class, id);
    let retry_count = {
        let mut firings = firings().lock();
        let firing = firings.entry(key.clone()).or_default();
        firing.running_due = None;
        firing.retry_count
    };

    if stored_time(data, class, id)? != Some(due) {
        firings().lock().remove(&key);
        return Ok(Outcome::Replaced);
    }
    if success {
        firings().lock().remove(&key);
        write_time(data, class, id, None)?;
        return Ok(Outcome::Done);
    }
    if retry_count >= MAX_RETRIES {
        firings().lock().remove(&key);
        write_time(data, class, id, None)?;
        return Ok(Outcome::GaveUp {
            retries: retry_count,
        });
    }

    let next = retry_count + 1;
    let at = clock::now_ms() + retry_delay_ms(next);
    // The row moves to the retry time, so a restart resumes the retry.
    write_time(data, class, id, Some(at))?;
    firings().lock().entry(key).or_default().retry_count = next;
    Ok(Outcome::Retry {
        at,
        retry_count: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "00000000000000000000000000000000000000000000000000000000000000aa";

    #[test]
    fn retry_delays_double_from_two_seconds() {
        let delays: Vec<i64> = (1..=MAX_RETRIES).map(retry_delay_ms).collect();
        assert_eq!(delays, vec![2_000, 4_000, 8_000, 16_000, 32_000, 64_000]);
    }

    #[test]
    fn failed_alarm_retries_then_gives_up() {
        let data = DataDir::open(None).unwrap();
        set(&data, "A", ID, Some(1_000.0)).unwrap();
        let mut due = 1_000;
        for expected in 1..=MAX_RETRIES {
            assert_eq!(begin(&data, "A", ID, due).unwrap(), Some(expected - 1));
            match finish(&data, "A", ID, due, false).unwrap() {
                Outcome::Retry { at, retry_count } => {
                    assert_eq!(retry_count, expected);
                    due = at;
                }
                other => panic!("expected a retry, got {other:?}"),
            }
        }
        begin(&data, "A", ID, due).unwrap();
        assert_eq!(
            finish(&data, "A", ID, due, false).unwrap(),
            Outcome::GaveUp {
                retries: MAX_RETRIES
            }
        );
        assert_eq!(get(&data, "A", ID).unwrap(), None);
    }

    #[test]
    fn alarm_set_during_handler_is_kept() {
        let data = DataDir::open(None).unwrap();
        set(&data, "A", ID, Some(1_000.0)).unwrap();
        begin(&data, "A", ID, 1_000).unwrap();
        assert_eq!(get(&data, "A", ID).unwrap(), None);
        set(&data, "A", ID, Some(5_000.0)).unwrap();
        assert_eq!(
            finish(&data, "A", ID, 1_000, true).unwrap(),
            Outcome::Replaced
        );
        assert_eq!(get(&data, "A", ID).unwrap(), Some(5_000.0));
        set(&data, "A", ID, None).unwrap();
    }

    #[test]
    fn stale_firing_does_not_begin() {
        let data = DataDir::open(None).unwrap();
        set(&data, "A", ID, Some(1_000.0)).unwrap();
        set(&data, "A", ID, Some(2_000.0)).unwrap();
        assert_eq!(begin(&data, "A", ID, 1_000).unwrap(), None);
        assert_eq!(begin(&data, "A", ID, 2_000).unwrap(), Some(0));
        assert_eq!(finish(&data, "A", ID, 2_000, true).unwrap(), Outcome::Done);
        assert_eq!(get(&data, "A", ID).unwrap(), None);
    }
}
