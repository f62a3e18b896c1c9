//! The one timer thread behind every timed event in bunflare: queue batch
//! deliveries, cron ticks and Durable Object alarms now, workflow sleeps
//! next.
//!
//! # Model
//!
//! An engine names each timed event with an item: a [`ItemKind`] plus a key
//! string the engine chooses (a queue name, `<owner>:<index>` for a cron).
//! Each item has at most one deadline, in milliseconds on [`crate::clock`].
//! Deadlines live in a map (the truth) and a min-heap (the order). A heap
//! entry whose deadline no longer matches the map is skipped when popped, so
//! rescheduling and cancelling are O(log n) with no heap search.
//!
//! Persistence belongs to the engines, not to this module. Each engine keeps
//! its own state in SQLite (messages with their `visible_at`, alarm rows,
//! workflow sleeps) and feeds this heap from it when it starts, so deadlines
//! survive a restart without a second copy that could disagree.
//!
//! # Waking JavaScript
//!
//! The thread sleeps on a condition variable until the earliest deadline (or
//! until [`wake`], which `advanceClock` calls). When items fall due, it pops
//! them all and calls ONE long-lived threadsafe function with the batch, as
//! an array of `{ kind, key, due }`. It then waits for JavaScript to call
//! `schedulerReady()`, which the dispatcher does from `setImmediate` after
//! routing the batch. So at most one call is ever queued. Bun runs queued
//! threadsafe-function calls before its timers, and this keeps a burst of
//! due items from starving `setTimeout`.
//!
//! The threadsafe function is `ref`ed only while a deadline is pending, so
//! an idle process (a finished `bun test` run, a CLI command) exits. The
//! reference changes only on the JavaScript thread: in [`schedule`] and
//! [`cancel`] when they run there, and in the threadsafe function's callback.
//!
//! # Adding a kind
//!
//! A new kind (workflows next) plugs in by adding a variant to [`ItemKind`] (its
//! `as_str` name is the `kind` JavaScript receives), calling [`schedule`] and
//! [`cancel`] from the engine, rebuilding deadlines from the engine's tables
//! when it opens, and routing the kind in `lib/scheduler.ts` with
//! `registerScheduledHandler(kind, key, handler)`. Retry and backoff
//! decisions stay in the engine, which reschedules the item when JavaScript
//! reports the outcome.
//!
//! # JavaScript API
//!
//! - `startScheduler(callback)`: creates the threadsafe function and the
//!   thread (once per process; a second call replaces the callback).
//! - `schedulerReady()`: the dispatcher has routed the last batch.
//! - `stopScheduler()`: releases the threadsafe function and joins the thread.
//! - `schedulerPending()`: how many items have a deadline, for tests.

use crate::clock;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Status};
use napi_derive::napi;
use parking_lot::{Condvar, Mutex};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

/// The maximum time the thread sleeps without checking the clock again, so a
/// system clock change is noticed within this many milliseconds.
const MAX_SLEEP_MS: i64 = 1_000;

/// The kind of a timed event; JavaScript routes each due item by this name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// A queue consumer may have a batch to deliver; the key is `<broker>:<queue>`.
    Queue,
    /// A cron trigger fires; the key is `<owner>:<index>`.
    Cron,
    /// A Durable Object alarm falls due; the key is `<data dir id>:<class>:<object id>`.
    Alarm,
    /// A workflow instance wakes from a sleep (reserved for the workflows engine).
    Workflow,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Queue => "queue",
            ItemKind::Cron => "cron",
            ItemKind::Alarm => "alarm",
            ItemKind::Workflow => "workflow",
        }
    }
}

/// One due item as JavaScript receives it.
#[napi(object)]
pub struct ScheduledItem {
    pub kind: String,
    pub key: String,
    /// The deadline the item was scheduled for, in milliseconds since the epoch.
    pub due: f64,
}

type ItemKey = (ItemKind, String);

type Dispatch = ThreadsafeFunction<Vec<ScheduledItem>, (), Vec<ScheduledItem>, Status, false>;

#[derive(Default)]
struct State {
    deadlines: HashMap<ItemKey, i64>,
    heap: BinaryHeap<Reverse<(i64, ItemKey)>>,
    /// A batch has been handed to JavaScript and `schedulerReady` has not come back yet.
    delivering: bool,
    stopping: bool,
}

impl State {
    fn pending(&self) -> bool {
        !self.deadlines.is_empty()
    }

    /// Pops every item whose deadline is at or before `now`.
    fn pop_due(&mut self, now: i64) -> Vec<(ItemKey, i64)> {
        let mut due = Vec::new();
        while let Some(Reverse((deadline, _))) = self.heap.peek() {
            if *deadline > now {
                break;
            }
            let Reverse((deadline, key)) = self.heap.pop().expect("peeked");
            // Skip entries superseded by a later schedule() or a cancel().
            if self.deadlines.get(&key) == Some(&deadline) {
                self.deadlines.remove(&key);
                due.push((key, deadline));
            }
        }
        due
    }

    /// Returns the earliest live deadline, dropping stale heap entries on the way.
    fn next_deadline(&mut self) -> Option<i64> {
        while let Some(Reverse((deadline, key))) = self.heap.peek() {
            if self.deadlines.get(key) == Some(deadline) {
                return Some(*deadline);
            }
            self.heap.pop();
        }
        None
    }
}

/// The JavaScript side: the threadsafe function, and the environment and
/// thread needed to ref and unref it.
#[cfg_attr(test, allow(dead_code))]
struct Js {
    dispatch: Dispatch,
    /// The napi environment of the thread that called `startScheduler`.
    env: usize,
    thread: ThreadId,
    referred: bool,
}

struct Scheduler {
    state: Mutex<State>,
    wakeup: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn scheduler() -> &'static Scheduler {
    static SCHEDULER: OnceLock<Scheduler> = OnceLock::new();
    SCHEDULER.get_or_init(|| Scheduler {
        state: Mutex::new(State::default()),
        wakeup: Condvar::new(),
        thread: Mutex::new(None),
    })
}

/// Returns the JavaScript side, kept apart from `Scheduler` so that Rust unit tests,
/// which link without a JavaScript engine, never reach napi code.
fn js_slot() -> &'static Mutex<Option<Js>> {
    static JS: Mutex<Option<Js>> = Mutex::new(None);
    &JS
}

/// Sets the deadline of an item, replacing any earlier or later one.
pub fn schedule(kind: ItemKind, key: String, at_ms: i64) {
    set_deadline(kind, key, at_ms, false);
}

/// Sets the deadline of an item unless it already has one at or before `at_ms`.
pub fn schedule_no_later_than(kind: ItemKind, key: String, at_ms: i64) {
    set_deadline(kind, key, at_ms, true);
}

fn set_deadline(kind: ItemKind, key: String, at_ms: i64, keep_earlier: bool) {
    let scheduler = scheduler();
    let mut state = scheduler.state.lock();
    let item = (kind, key);
    if let Some(&existing) = state.deadlines.get(&item) {
        if existing == at_ms || (keep_earlier && existing <= at_ms) {
            return;
        }
    }

    let is_new_minimum = state.next_deadline().is_none_or(|next| at_ms < next);
    state.deadlines.insert(item.clone(), at_ms);
    state.heap.push(Reverse((at_ms, item)));
    drop(state);

    if is_new_minimum {
        scheduler.wakeup.notify_one();
    }
    sync_reference_if_on_js_thread();
}

/// Removes an item's deadline, if it has one.
pub fn cancel(kind: ItemKind, key: &str) {
    let scheduler = scheduler();
    let removed = scheduler
        .state
        .lock()
        .deadlines
        .remove(&(kind, key.to_string()))
        .is_some();
    if removed {
        sync_reference_if_on_js_thread();
    }
}

/// Returns the pending deadline of an item.
pub fn deadline(kind: ItemKind, key: &str) -> Option<i64> {
    scheduler()
        .state
        .lock()
        .deadlines
        .get(&(kind, key.to_string()))
        .copied()
}

/// Wakes the thread to re-read the clock; `advanceClock` calls this.
pub fn wake() {
    scheduler().wakeup.notify_one();
}

/// Refs the threadsafe function while deadlines are pending and unrefs it
/// when none are, if called on the JavaScript thread. Elsewhere (Rust unit
/// tests, the timer thread) it does nothing; the next call on the JavaScript
/// thread catches up.
fn sync_reference_if_on_js_thread() {
    #[cfg(not(test))]
    sync_reference_on_js_thread();
}

#[cfg(not(test))]
fn sync_reference_on_js_thread() {
    let scheduler = scheduler();
    let mut js = js_slot().lock();
    let Some(js) = js.as_mut() else { return };
    if std::thread::current().id() != js.thread {
        return;
    }
    let pending = scheduler.state.lock().pending();
    set_reference(js, pending);
}

fn set_reference(js: &mut Js, referred: bool) {
    if js.referred == referred {
        return;
    }

    let env = js.env as sys::napi_env;
    // SAFETY: called only on the thread that created the threadsafe function,
    // with that thread's environment, while the function is alive (it is
    // released only in stopScheduler, which takes the same lock).
    let status = unsafe {
        if referred {
            sys::napi_ref_threadsafe_function(env, js.dispatch.raw())
        } else {
            sys::napi_unref_threadsafe_function(env, js.dispatch.raw())
        }
    };
    if status == sys::Status::napi_ok {
        js.referred = referred;
    }
}

/// Runs the timer thread: waits for the earliest deadline, hands the due
/// batch to JavaScript, waits for it to be routed, and repeats.
fn run() {
    let scheduler = scheduler();
    let mut state = scheduler.state.lock();
    loop {
        if state.stopping {
            return;
        }
        if state.delivering {
            scheduler.wakeup.wait(&mut state);
            continue;
        }

        let now = clock::now_ms();
        let due = state.pop_due(now);
        if due.is_empty() {
            let sleep_ms = match state.next_deadline() {
                Some(next) => (next - now).clamp(1, MAX_SLEEP_MS),
                None => MAX_SLEEP_MS,
            };
            scheduler
                .wakeup
                .wait_for(&mut state, Duration::from_millis(sleep_ms as u64));
            continue;
        }

        state.delivering = true;
        drop(state);

        let items: Vec<ScheduledItem> = due
            .into_iter()
            .map(|((kind, key), deadline)| ScheduledItem {
                kind: kind.as_str().to_string(),
                key,
                due: deadline as f64,
            })
            .collect();
        let status = match js_slot().lock().as_ref() {
            Some(js) => js
                .dispatch
                .call(items, ThreadsafeFunctionCallMode::NonBlocking),
            None => Status::Closing,
        };

        state = scheduler.state.lock();
        if status != Status::Ok {
            // Nothing was queued (the function is closing): do not wait for a ready signal.
            state.delivering = false;
        }
    }
}

/// Starts the scheduler thread (once per process) and sets the JavaScript
/// function that receives each batch of due items. The function must call
/// `schedulerReady()` once it has routed a batch.
#[napi]
pub fn start_scheduler(env: Env, callback: Function<Vec<ScheduledItem>, ()>) -> napi::Result<()> {
    let dispatch: Dispatch = callback
        .build_threadsafe_function::<Vec<ScheduledItem>>()
        .callee_handled::<false>()
        .build_callback(|context| {
            // The batch is being delivered now: the pending set may have
            // emptied, so drop the reference if nothing else is due.
            let scheduler = scheduler();
            if let Some(js) = js_slot().lock().as_mut() {
                let pending = scheduler.state.lock().pending();
                set_reference(js, pending);
            }
            Ok(context.value)
        })?;

    let scheduler = scheduler();
    let mut js = Js {
        dispatch,
        env: env.raw() as usize,
        thread: std::thread::current().id(),
        referred: true,
    };
    let pending = scheduler.state.lock().pending();
    set_reference(&mut js, pending);
    *js_slot().lock() = Some(js);

    let mut thread = scheduler.thread.lock();
    if thread.is_none() {
        scheduler.state.lock().stopping = false;
        let handle = std::thread::Builder::new()
            .name("bunflare-scheduler".into())
            .spawn(run)
            .map_err(|e| {
                napi::Error::from_reason(format!(
                    "SCHEDULER_START: cannot start the scheduler thread: {e}"
                ))
            })?;
        *thread = Some(handle);
    }
    Ok(())
}

/// Marks the last batch as routed, so the thread may deliver the next one.
#[napi]
pub fn scheduler_ready() {
    let scheduler = scheduler();
    scheduler.state.lock().delivering = false;
    scheduler.wakeup.notify_one();
    sync_reference_if_on_js_thread();
}

/// Stops the thread and releases the threadsafe function. Pending deadlines
/// are kept; a later `startScheduler` resumes them.
#[napi]
pub fn stop_scheduler() {
    let scheduler = scheduler();
    scheduler.state.lock().stopping = true;
    scheduler.wakeup.notify_all();
    if let Some(handle) = scheduler.thread.lock().take() {
        let _ = handle.join();
    }
    let mut state = scheduler.state.lock();
    state.stopping = false;
    state.delivering = false;
    drop(state);
    // Dropping the last handle releases the threadsafe function.
    *js_slot().lock() = None;
}

/// Returns how many items have a pending deadline.
#[napi]
pub fn scheduler_pending() -> u32 {
    scheduler().state.lock().deadlines.len() as u32
}

/// Returns whether a batch is with JavaScript or an item is already due, so
/// tests can wait until everything a clock jump made due has been delivered.
#[napi]
pub fn scheduler_has_due_work() -> bool {
    let mut state = scheduler().state.lock();
    let now = crate::clock::now_ms();
    state.delivering || state.next_deadline().is_some_and(|deadline| deadline <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ItemKey {
        (ItemKind::Queue, name.to_string())
    }

    fn push(state: &mut State, name: &str, at: i64) {
        state.deadlines.insert(key(name), at);
        state.heap.push(Reverse((at, key(name))));
    }

    #[test]
    fn due_items_pop_in_deadline_order() {
        let mut state = State::default();
        push(&mut state, "b", 20);
        push(&mut state, "a", 10);
        push(&mut state, "c", 30);
        let due: Vec<_> = state
            .pop_due(25)
            .into_iter()
            .map(|((_, k), at)| (k, at))
            .collect();
        assert_eq!(due, vec![("a".to_string(), 10), ("b".to_string(), 20)]);
        assert_eq!(state.next_deadline(), Some(30));
    }

    #[test]
    fn rescheduled_items_skip_stale_entries() {
        let mut state = State::default();
        push(&mut state, "a", 10);
        push(&mut state, "a", 50);
        assert!(state.pop_due(20).is_empty());
        assert_eq!(state.next_deadline(), Some(50));
        assert_eq!(state.pop_due(50).len(), 1);
        assert!(!state.pending());
    }

    #[test]
    fn cancelled_items_never_fall_due() {
        let mut state = State::default();
        push(&mut state, "a", 10);
        state.deadlines.remove(&key("a"));
        assert!(state.pop_due(100).is_empty());
        assert_eq!(state.next_deadline(), None);
    }

    #[test]
    fn schedule_no_later_than_keeps_the_earlier_deadline() {
        schedule_no_later_than(ItemKind::Cron, "unit-test:0".into(), 100);
        schedule_no_later_than(ItemKind::Cron, "unit-test:0".into(), 200);
        assert_eq!(deadline(ItemKind::Cron, "unit-test:0"), Some(100));
        schedule(ItemKind::Cron, "unit-test:0".into(), 300);
        assert_eq!(deadline(ItemKind::Cron, "unit-test:0"), Some(300));
        cancel(ItemKind::Cron, "unit-test:0");
        assert_eq!(deadline(ItemKind::Cron, "unit-test:0"), None);
    }
}
