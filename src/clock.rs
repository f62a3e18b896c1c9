//! The one clock every engine reads: KV expirations, queue visibility, alarm
//! retries and the scheduler's deadlines, and later workflow sleeps.
//!
//! Tests move it forward with `advanceClock`, so "advance the clock and
//! everything due happens" works without each engine knowing about tests.

use napi_derive::napi;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds added to the system time by `advance_clock`.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Returns the current time in milliseconds since the Unix epoch, with any test offset applied.
pub fn now_ms() -> i64 {
    let system = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    system + OFFSET_MS.load(Ordering::Relaxed)
}

/// Returns the current time in whole seconds since the Unix epoch, as KV expirations use.
pub fn now_seconds() -> i64 {
    now_ms().div_euclid(1000)
}

/// Moves bunflare's clock forward by `ms` milliseconds and returns the new time.
#[napi]
pub fn advance_clock(ms: f64) -> f64 {
    OFFSET_MS.fetch_add(ms as i64, Ordering::Relaxed);
    // Deadlines that the jump passed fall due now, not at the next periodic check.
    crate::scheduler::wake();
    now_ms() as f64
}

/// Puts bunflare's clock back on the system time.
#[napi]
pub fn reset_clock() {
    OFFSET_MS.store(0, Ordering::Relaxed);
    crate::scheduler::wake();
}

/// Returns bunflare's current time in milliseconds since the Unix epoch.
#[napi]
pub fn clock_now() -> f64 {
    now_ms() as f64
}
