//! Cloudflare Workflows engine: instances, their steps and their events in
//! `data.sqlite`, with sleeps, retry delays, attempt timeouts and event
//! timeouts on the native scheduler.
//!
//! # Execution model
//!
//! JavaScript runs an instance by calling the user's `run(event, step)` from
//! the start, every time. Each step call first calls this engine: a step that
//! completed before returns its persisted result without running its
//! callback again, so a run that resumes after a restart replays the
//! completed steps and continues at the first unfinished one. A step is
//! identified as production identifies it: its kind, its name and the
//! occurrence of that name in the run (1 for the first `step.do("x")`, 2 for
//! the second), so a repeated name is allowed.
//!
//! When a step has to wait (a sleep, a retry delay, an event), the engine
//! records the deadline in the step's row, schedules the instance's
//! scheduler item (kind `workflow`, key `<engine>:<workflow>/<instance>`)
//! no later than it, and tells JavaScript to suspend: the step's promise
//! never settles and no JavaScript runs for the instance until the item
//! falls due and a new run replays it. Retry counts and delays are decided
//! here in `attempt_end`.
//!
//! Every run carries the instance's `generation`. `terminate` and `restart`
//! bump it, so the calls of a run that was stopped are answered with
//! `stale` and change nothing.
//!
//! At start-up, `attach` schedules every instance that was queued, running
//! or waiting, and the runs that follow replay them.

use crate::clock::now_ms;
use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::scheduler::{self, ItemKind};
use crate::storage::{Database, Storage};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Maximum length of an instance id in characters, from Cloudflare's Workflows limits page.
pub const MAX_INSTANCE_ID_LENGTH: usize = 100;

/// Maximum length of a Workflow name in characters, from Cloudflare's Workflows limits page.
pub const MAX_WORKFLOW_NAME_LENGTH: usize = 64;

/// Maximum length of a step name in characters, from Cloudflare's Workflows limits page.
pub const MAX_STEP_NAME_LENGTH: usize = 256;

/// Maximum serialized size of a step result in bytes (1 MiB), from Cloudflare's Workflows limits page.
pub const MAX_STEP_RESULT_BYTES: usize = 1 << 20;

/// Maximum serialized size of an event payload or instance params in bytes
/// (1 MiB), from Cloudflare's Workflows limits page.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// Maximum steps per instance: the Workers Paid default from Cloudflare's
/// Workflows limits page (Workers Free allows 1,024).
// NOTE: production lets `limits.steps` in the config raise this to 25,000;
// bunflare always applies the default.
pub const MAX_STEPS: u32 = 10_000;

/// Maximum instances in one `createBatch` call, from `@cloudflare/workers-types`.
pub const MAX_BATCH_INSTANCES: usize = 100;

/// Maximum `step.sleep` duration and `waitForEvent` timeout in milliseconds
/// (365 days), from Cloudflare's Workflows limits page.
pub const MAX_SLEEP_MS: i64 = 365 * 24 * 3_600_000;

/// Production's step defaults, from Cloudflare's "Sleeping and retrying"
/// page: 5 retries, 10 seconds apart with exponential backoff, 10 minutes per attempt.
pub const DEFAULT_RETRY_LIMIT: u32 = 5;
pub const DEFAULT_RETRY_DELAY_MS: i64 = 10_000;
pub const DEFAULT_BACKOFF: Backoff = Backoff::Exponential;
pub const DEFAULT_TIMEOUT_MS: i64 = 600_000;

/// `waitForEvent`'s default timeout in milliseconds (24 hours), from Cloudflare's Workflows events page.
pub const DEFAULT_EVENT_TIMEOUT_MS: i64 = 24 * 3_600_000;

/// Maximum length of an event type in characters.
// NOTE: the 100-character limit and the allowed characters (letters,
// digits, '-', '_', '.') are bunflare's choice. Cloudflare publishes no rule.
pub const MAX_EVENT_TYPE_LENGTH: usize = 100;

/// An instance's status, spelled as `InstanceStatus.status` in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Paused,
    Errored,
    Terminated,
    Complete,
    Waiting,
    WaitingForPause,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Errored => "errored",
            Status::Terminated => "terminated",
            Status::Complete => "complete",
            Status::Waiting => "waiting",
            Status::WaitingForPause => "waitingForPause",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "errored" => Status::Errored,
            "terminated" => Status::Terminated,
            "complete" => Status::Complete,
            "waiting" => Status::Waiting,
            _ => Status::WaitingForPause,
        }
    }

    /// Returns true once the instance can no longer run without `restart`.
    fn is_finished(self) -> bool {
        matches!(self, Status::Errored | Status::Terminated | Status::Complete)
    }
}

/// The growth of the delay between retries of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Constant,
    Linear,
    Exponential,
}

impl Backoff {
    /// Returns the delay before the retry that follows failed attempt `attempt` (1-based).
    pub fn delay_ms(self, base_ms: i64, attempt: u32) -> i64 {
        let attempt = attempt.max(1) as i64;
        match self {
            Backoff::Constant => base_ms,
            Backoff::Linear => base_ms.saturating_mul(attempt),
            Backoff::Exponential => base_ms.saturating_mul(1i64 << (attempt - 1).min(40)),
        }
    }
}

/// Every way a Workflows operation fails.
#[derive(Debug)]
pub enum WorkflowError {
    InvalidInstanceId { id: String },
    InvalidWorkflowName { name: String },
    AlreadyExists { id: String },
    NotFound { id: String },
    PayloadTooLarge { what: &'static str, size: usize },
    BatchEmpty,
    BatchTooLarge { count: usize },
    InvalidEventType { value: String },
    InvalidTransition { id: String, action: &'static str, status: Status },
    Storage(StorageError),
}

impl Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkflowError::InvalidInstanceId { id } => write!(
                f,
                "Workflow instance has invalid id {id:?}: use 1 to {MAX_INSTANCE_ID_LENGTH} letters, digits, '-' and '_', not starting with '-'"
            ),
            WorkflowError::InvalidWorkflowName { name } => write!(
                f,
                "Workflow name {name:?} is invalid: use 1 to {MAX_WORKFLOW_NAME_LENGTH} letters, digits, '-' and '_', not starting with '-'"
            ),
            // NOTE: production's text for a duplicate id is not documented;
            // this follows the shape of its "instance.not_found".
            WorkflowError::AlreadyExists { id } => write!(f, "instance.already_exists: an instance with id {id:?} already exists"),
            WorkflowError::NotFound { .. } => write!(f, "instance.not_found"),
            WorkflowError::PayloadTooLarge { what, size } => write!(
                f,
                "{what} of {size} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes"
            ),
            WorkflowError::BatchEmpty => write!(f, "WorkflowError: batchCreate should have at least 1 instance"),
            WorkflowError::BatchTooLarge { count } => write!(
                f,
                "WorkflowError: batchCreate received {count} instances, over the limit of {MAX_BATCH_INSTANCES}"
            ),
            WorkflowError::InvalidEventType { value } => write!(
                f,
                "Event type {value:?} is invalid: use 1 to {MAX_EVENT_TYPE_LENGTH} letters, digits, '-', '_' and '.'"
            ),
            // NOTE: production's messages for these transitions are not
            // documented; this text is bunflare's.
            WorkflowError::InvalidTransition { id, action, status } => write!(
                f,
                "Cannot {action} instance {id:?} because it is {}",
                status.as_str()
            ),
            WorkflowError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl ErrorCode for WorkflowError {
    fn code(&self) -> &'static str {
        match self {
            WorkflowError::InvalidInstanceId { .. } => "WORKFLOW_INVALID_ID",
            WorkflowError::InvalidWorkflowName { .. } => "WORKFLOW_INVALID_NAME",
            WorkflowError::AlreadyExists { .. } => "WORKFLOW_ALREADY_EXISTS",
            WorkflowError::NotFound { .. } => "WORKFLOW_NOT_FOUND",
            WorkflowError::PayloadTooLarge { .. } => "WORKFLOW_PAYLOAD_TOO_LARGE",
            WorkflowError::BatchEmpty => "WORKFLOW_BATCH_EMPTY",
            WorkflowError::BatchTooLarge { .. } => "WORKFLOW_BATCH_TOO_LARGE",
            WorkflowError::InvalidEventType { .. } => "WORKFLOW_INVALID_EVENT_TYPE",
            WorkflowError::InvalidTransition { .. } => "WORKFLOW_INVALID_TRANSITION",
            WorkflowError::Storage(e) => e.code(),
        }
    }
}

impl From<rusqlite::Error> for WorkflowError {
    fn from(e: rusqlite::Error) -> Self {
        WorkflowError::Storage(StorageError::Sqlite(e))
    }
}

fn napi_error(error: WorkflowError) -> napi::Error {
    to_napi(error)
}

/// Returns true for production's id pattern `^[a-zA-Z0-9_][a-zA-Z0-9-_]*$` within `max` characters.
fn is_valid_identifier(value: &str, max: usize) -> bool {
    let mut bytes = value.bytes();
    let Some(first) = bytes.next() else { return false };
    value.len() <= max
        && (first.is_ascii_alphanumeric() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Returns the rule a Workflow name breaks, or `None` when production accepts it.
pub fn workflow_name_error(name: &str) -> Option<String> {
    if is_valid_identifier(name, MAX_WORKFLOW_NAME_LENGTH) {
        None
    } else {
        Some(format!(
            "must be 1 to {MAX_WORKFLOW_NAME_LENGTH} letters, digits, '-' and '_', not starting with '-', got {name:?}"
        ))
    }
}

fn check_event_type(value: &str) -> Result<(), WorkflowError> {
    let valid = !value.is_empty()
        && value.chars().count() <= MAX_EVENT_TYPE_LENGTH
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(WorkflowError::InvalidEventType { value: value.to_string() })
    }
}

/// Parses a duration as production accepts it: a number of milliseconds, or
/// `"<number> <unit>"` with second, minute, hour, day, week, month (30 days)
/// or year (365 days), singular or plural.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(value) = text.parse::<f64>() {
        return (value.is_finite() && value >= 0.0).then_some(value as i64);
    }

    let (number, unit) = text.split_once(char::is_whitespace)?;
    let value: f64 = number.trim().parse().ok()?;
    let unit = unit.trim();
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let scale: f64 = match unit {
        "millisecond" => 1.0,
        "second" => 1_000.0,
        "minute" => 60_000.0,
        "hour" => 3_600_000.0,
        "day" => 86_400_000.0,
        "week" => 604_800_000.0,
        "month" => 2_592_000_000.0,
        "year" => 31_536_000_000.0,
        _ => return None,
    };
    let ms = value * scale;
    (ms.is_finite() && ms >= 0.0).then_some(ms as i64)
}

/// A step's config as `step.do` received it, each duration as text; absent fields take production's defaults.
#[napi(object)]
#[derive(Default)]
pub struct WorkflowStepConfigInput {
    /// Whether `retries` was given at all.
    pub has_retries: bool,
    /// `retries.limit`; NaN when it was not a number.
    pub retries_limit: Option<f64>,
    /// `retries.delay` as text (`"[dynamic]"` for a delay function).
    pub retries_delay: Option<String>,
    pub retries_backoff: Option<String>,
    pub timeout: Option<String>,
}

/// A resolved step config, persisted with the step so a replay keeps the config of its first run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepConfig {
    limit: u32,
    delay_ms: i64,
    backoff: Backoff,
    timeout_ms: i64,
}

impl StepConfig {
    fn resolve(input: &WorkflowStepConfigInput) -> Result<StepConfig, String> {
        let mut config = StepConfig {
            limit: DEFAULT_RETRY_LIMIT,
            delay_ms: DEFAULT_RETRY_DELAY_MS,
            backoff: DEFAULT_BACKOFF,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        };

        if input.has_retries {
            let limit = input.retries_limit.unwrap_or(f64::NAN);
            if !limit.is_finite() || limit < 0.0 || limit.fract() != 0.0 {
                return Err(format!("retries.limit must be a whole number of 0 or more, got {limit}"));
            }
            config.limit = limit as u32;

            let delay = input.retries_delay.as_deref().unwrap_or("");
            config.delay_ms = if delay == "[dynamic]" {
                0
            } else {
                parse_duration_ms(delay).ok_or_else(|| format!("retries.delay {delay:?} is not a duration"))?
            };

            config.backoff = match input.retries_backoff.as_deref() {
                None => DEFAULT_BACKOFF,
                Some("constant") => Backoff::Constant,
                Some("linear") => Backoff::Linear,
                Some("exponential") => Backoff::Exponential,
                Some(other) => {
                    return Err(format!(
                        "retries.backoff must be \"constant\", \"linear\" or \"exponential\", got {other:?}"
                    ))
                }
            };
        }

        if let Some(timeout) = input.timeout.as_deref() {
            config.timeout_ms = match parse_duration_ms(timeout) {
                Some(ms) if ms > 0 => ms,
                _ => return Err(format!("timeout {timeout:?} is not a positive duration")),
            };
        }
        Ok(config)
    }
}

/// One attempt of a `step.do`, as `describe` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    attempt: u32,
    start: i64,
    end: Option<i64>,
    error: Option<ErrorRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ErrorRecord {
    name: String,
    message: String,
}

/// The engine's decision about a step call, with the data JavaScript needs to act on it.
#[napi(object)]
#[derive(Default)]
pub struct WorkflowStepOutcome {
    /// `cached` (return `output`), `failed` (throw the error), `run` (run
    /// attempt `attempt`), `suspend` (wait for the scheduler), `stale` (the
    /// run was terminated or restarted: stop) or `fatal` (the instance has
    /// errored with the error).
    pub action: String,
    pub output: Option<Buffer>,
    pub error_name: Option<String>,
    pub error_message: Option<String>,
    pub attempt: u32,
    /// When the attempt times out, in milliseconds on bunflare's clock.
    pub deadline: Option<f64>,
    pub timeout_ms: Option<f64>,
    /// `waitForEvent`: the event's type and timestamp in milliseconds.
    pub event_type: Option<String>,
    pub event_timestamp: Option<f64>,
}

impl WorkflowStepOutcome {
    fn action(action: &str) -> WorkflowStepOutcome {
        WorkflowStepOutcome { action: action.to_string(), ..Default::default() }
    }

    fn error(action: &str, name: &str, message: String) -> WorkflowStepOutcome {
        WorkflowStepOutcome {
            action: action.to_string(),
            error_name: Some(name.to_string()),
            error_message: Some(message),
            ..Default::default()
        }
    }
}

/// The start of a run: its generation, params and creation time.
#[napi(object)]
pub struct WorkflowRunStart {
    pub generation: u32,
    pub params: Buffer,
    /// Milliseconds since the epoch when the instance was created.
    pub created_at: f64,
}

/// `InstanceStatus` before JavaScript deserializes `output`.
#[napi(object)]
pub struct WorkflowStatusRecord {
    pub status: String,
    pub output: Option<Buffer>,
    pub error_name: Option<String>,
    pub error_message: Option<String>,
}

/// One instance in a listing.
#[napi(object)]
pub struct WorkflowInstanceSummary {
    pub id: String,
    pub status: String,
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub ended_at: Option<f64>,
}

/// One step of an instance, for `describe`.
#[napi(object)]
pub struct WorkflowStepRecord {
    /// `do`, `sleep` or `waitForEvent`.
    pub kind: String,
    pub name: String,
    pub count: u32,
    pub status: String,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    pub wake_at: Option<f64>,
    /// The attempts as JSON: `[{attempt, start, end, error}]`.
    pub attempts: String,
    pub output: Option<Buffer>,
    pub error_name: Option<String>,
    pub error_message: Option<String>,
}

/// A Workflow name and how many instances it has in local state.
#[napi(object)]
pub struct WorkflowSummary {
    pub workflow: String,
    pub instances: u32,
}

/// One instance of a `createBatch` call: its id, or the reason it was not created.
#[napi(object)]
pub struct WorkflowBatchItem {
    pub id: Option<String>,
    pub params: Buffer,
}

#[napi(object)]
pub struct WorkflowBatchResult {
    pub index: u32,
    pub id: String,
    /// Null when created; otherwise the coded error, as `Error("<CODE>: <message>")` carries it.
    pub error: Option<String>,
}

static NEXT_ENGINE: AtomicU64 = AtomicU64::new(1);

/// The step kinds, as stored and as `describe` names them.
const DO: &str = "do";
const SLEEP: &str = "sleep";
const WAIT: &str = "waitForEvent";

/// A step row as the step calls read it.
struct StepRow {
    status: String,
    attempts: u32,
    attempt_log: String,
    config: Option<String>,
    wake_at: Option<i64>,
    output: Option<Vec<u8>>,
    error_name: Option<String>,
    error_message: Option<String>,
    event_type: Option<String>,
    event_timestamp: Option<i64>,
}

/// The Workflows engine of one data directory, shared by every Workflow binding and the runner.
#[napi]
pub struct WorkflowEngine {
    id: u64,
    database: Arc<Database>,
}

impl WorkflowEngine {
    fn item_key(&self, workflow: &str, instance: &str) -> String {
        format!("{}:{workflow}/{instance}", self.id)
    }

    fn wake_no_later_than(&self, workflow: &str, instance: &str, at: i64) {
        scheduler::schedule_no_later_than(ItemKind::Workflow, self.item_key(workflow, instance), at);
    }

    fn instance_status(connection: &Connection, workflow: &str, id: &str) -> Result<Option<(Status, u32)>, WorkflowError> {
        let row = connection
            .prepare_cached("SELECT status, generation FROM workflow_instances WHERE workflow = ?1 AND id = ?2")?
            .query_row(params![workflow, id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?)))
            .optional()?;
        Ok(row.map(|(status, generation)| (Status::parse(&status), generation)))
    }

    /// Returns the instance's status if the run of `generation` may still change it.
    fn live_status(connection: &Connection, workflow: &str, id: &str, generation: u32) -> Result<Option<Status>, WorkflowError> {
        Ok(match Self::instance_status(connection, workflow, id)? {
            Some((status, current)) if current == generation && !status.is_finished() => Some(status),
            _ => None,
        })
    }

    fn set_status(connection: &Connection, workflow: &str, id: &str, status: Status) -> Result<(), WorkflowError> {
        connection
            .prepare_cached("UPDATE workflow_instances SET status = ?3 WHERE workflow = ?1 AND id = ?2")?
            .execute(params![workflow, id, status.as_str()])?;
        Ok(())
    }

    /// Marks the instance errored with `name: message`, for failures that end it at once.
    fn fail_instance(connection: &Connection, workflow: &str, id: &str, name: &str, message: &str) -> Result<(), WorkflowError> {
        connection
            .prepare_cached(
                "UPDATE workflow_instances SET status = 'errored', ended_at = ?3, error_name = ?4, error_message = ?5
                 WHERE workflow = ?1 AND id = ?2",
            )?
            .execute(params![workflow, id, now_ms(), name, message])?;
        Ok(())
    }

    fn read_step(connection: &Connection, workflow: &str, id: &str, kind: &str, name: &str, count: u32) -> Result<Option<StepRow>, WorkflowError> {
        let row = connection
            .prepare_cached(
                "SELECT status, attempts, attempt_log, config, wake_at, output, error_name, error_message, event_type, event_timestamp
                 FROM workflow_steps WHERE workflow = ?1 AND instance = ?2 AND kind = ?3 AND name = ?4 AND count = ?5",
            )?
            .query_row(params![workflow, id, kind, name, count], |row| {
                Ok(StepRow {
                    status: row.get(0)?,
                    attempts: row.get(1)?,
                    attempt_log: row.get(2)?,
                    config: row.get(3)?,
                    wake_at: row.get(4)?,
                    output: row.get(5)?,
                    error_name: row.get(6)?,
                    error_message: row.get(7)?,
                    event_type: row.get(8)?,
                    event_timestamp: row.get(9)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    /// Checks what a step that is about to start for the first time needs:
    /// the step limit and a pending pause. Returns the outcome that stops it, if any.
    fn admit_new_step(connection: &Connection, workflow: &str, id: &str, status: Status) -> Result<Option<WorkflowStepOutcome>, WorkflowError> {
        // Pause takes effect between steps: the next new step is where the run stops.
        if status == Status::WaitingForPause || status == Status::Paused {
            Self::set_status(connection, workflow, id, Status::Paused)?;
            return Ok(Some(WorkflowStepOutcome::action("suspend")));
        }

        let steps: u32 = connection
            .prepare_cached("SELECT steps FROM workflow_instances WHERE workflow = ?1 AND id = ?2")?
            .query_row(params![workflow, id], |row| row.get(0))?;
        if steps >= MAX_STEPS {
            let message = format!(
                "The limit of {MAX_STEPS} steps has been reached. This limit can be changed in your worker configuration."
            );
            Self::fail_instance(connection, workflow, id, "WorkflowFatalError", &message)?;
            return Ok(Some(WorkflowStepOutcome::error("fatal", "WorkflowFatalError", message)));
        }
        Ok(None)
    }

    /// Starts attempt `attempt` of a `step.do` whose row exists, and returns the `run` outcome.
    fn start_attempt(
        &self,
        connection: &Connection,
        workflow: &str,
        id: &str,
        name: &str,
        count: u32,
        attempt: u32,
        mut log: Vec<Attempt>,
        config: &StepConfig,
        status: Status,
    ) -> Result<WorkflowStepOutcome, WorkflowError> {
        let now = now_ms();
        let deadline = now.saturating_add(config.timeout_ms);
        log.push(Attempt { attempt, start: now, end: None, error: None });
        connection
            .prepare_cached(
                "UPDATE workflow_steps SET status = 'running', attempts = ?5, attempt_log = ?6, wake_at = ?7
                 WHERE workflow = ?1 AND instance = ?2 AND kind = 'do' AND name = ?3 AND count = ?4",
            )?
            .execute(params![workflow, id, name, count, attempt, encode_log(&log), deadline])?;
        if status != Status::Running {
            Self::set_status(connection, workflow, id, Status::Running)?;
        }
        self.wake_no_later_than(workflow, id, deadline);
        Ok(WorkflowStepOutcome {
            action: "run".into(),
            attempt,
            deadline: Some(deadline as f64),
            timeout_ms: Some(config.timeout_ms as f64),
            ..Default::default()
        })
    }

    /// Records a failed step (no more retries) and returns the `failed` outcome.
    fn fail_step(connection: &Connection, workflow: &str, id: &str, name: &str, count: u32, log: &[Attempt], error: ErrorRecord) -> Result<WorkflowStepOutcome, WorkflowError> {
        connection
            .prepare_cached(
                "UPDATE workflow_steps SET status = 'errored', attempt_log = ?5, wake_at = NULL, ended_at = ?6, error_name = ?7, error_message = ?8
                 WHERE workflow = ?1 AND instance = ?2 AND kind = 'do' AND name = ?3 AND count = ?4",
            )?
            .execute(params![workflow, id, name, count, encode_log(log), now_ms(), error.name, error.message])?;
        Ok(WorkflowStepOutcome::error("failed", &error.name, error.message))
    }

    fn insert_step(connection: &Connection, workflow: &str, id: &str, kind: &str, name: &str, count: u32, status: &str, config: Option<&str>, wake_at: Option<i64>) -> Result<(), WorkflowError> {
        connection
            .prepare_cached(
                "INSERT INTO workflow_steps (workflow, instance, kind, name, count, status, config, attempts, attempt_log, started_at, wake_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, '[]', ?8, ?9)",
            )?
            .execute(params![workflow, id, kind, name, count, status, config, now_ms(), wake_at])?;
        connection
            .prepare_cached("UPDATE workflow_instances SET steps = steps + 1 WHERE workflow = ?1 AND id = ?2")?
            .execute(params![workflow, id])?;
        Ok(())
    }

    fn complete_step(connection: &Connection, workflow: &str, id: &str, kind: &str, name: &str, count: u32, output: Option<&[u8]>) -> Result<(), WorkflowError> {
        connection
            .prepare_cached(
                "UPDATE workflow_steps SET status = 'complete', wake_at = NULL, ended_at = ?6, output = ?7
                 WHERE workflow = ?1 AND instance = ?2 AND kind = ?3 AND name = ?4 AND count = ?5",
            )?
            .execute(params![workflow, id, kind, name, count, now_ms(), output])?;
        Ok(())
    }

    /// Suspends the run until `at`: the instance waits and its item is scheduled.
    fn suspend_until(&self, connection: &Connection, workflow: &str, id: &str, at: i64) -> Result<WorkflowStepOutcome, WorkflowError> {
        Self::set_status(connection, workflow, id, Status::Waiting)?;
        self.wake_no_later_than(workflow, id, at);
        Ok(WorkflowStepOutcome::action("suspend"))
    }

    /// Checks a step name; an invalid one ends the instance, as production's fatal error does.
    fn check_step_name(connection: &Connection, workflow: &str, id: &str, name: &str) -> Result<Option<WorkflowStepOutcome>, WorkflowError> {
        let valid = name.chars().count() <= MAX_STEP_NAME_LENGTH && !name.chars().any(|c| ('\u{0}'..='\u{1f}').contains(&c));
        if valid {
            return Ok(None);
        }
        let message = format!("Step name \"{name}\" exceeds max length ({MAX_STEP_NAME_LENGTH} chars) or invalid characters found");
        Self::fail_instance(connection, workflow, id, "WorkflowFatalError", &message)?;
        Ok(Some(WorkflowStepOutcome::error("fatal", "WorkflowFatalError", message)))
    }

    fn step_do_in(&self, connection: &Connection, workflow: &str, id: &str, generation: u32, name: &str, count: u32, input: &WorkflowStepConfigInput) -> Result<WorkflowStepOutcome, WorkflowError> {
        let Some(status) = Self::live_status(connection, workflow, id, generation)? else {
            return Ok(WorkflowStepOutcome::action("stale"));
        };
        if let Some(stop) = Self::check_step_name(connection, workflow, id, name)? {
            return Ok(stop);
        }

        let Some(row) = Self::read_step(connection, workflow, id, DO, name, count)? else {
            if let Some(stop) = Self::admit_new_step(connection, workflow, id, status)? {
                return Ok(stop);
            }
            let config = match StepConfig::resolve(input) {
                Ok(config) => config,
                Err(reason) => {
                    let message = format!("Step config for \"{name}\" is invalid: {reason}");
                    Self::fail_instance(connection, workflow, id, "WorkflowFatalError", &message)?;
                    return Ok(WorkflowStepOutcome::error("fatal", "WorkflowFatalError", message));
                }
            };
            let encoded = serde_json::to_string(&config).expect("config serializes");
            Self::insert_step(connection, workflow, id, DO, name, count, "running", Some(&encoded), None)?;
            return self.start_attempt(connection, workflow, id, name, count, 1, Vec::new(), &config, status);
        };

        let instance_status = status;
        match row.status.as_str() {
            "complete" => Ok(WorkflowStepOutcome { action: "cached".into(), output: row.output.map(Buffer::from), ..Default::default() }),
            "errored" => Ok(WorkflowStepOutcome::error(
                "failed",
                row.error_name.as_deref().unwrap_or("Error"),
                row.error_message.unwrap_or_default(),
            )),
            status => {
                let config: StepConfig = row
                    .config
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or(StepConfig { limit: DEFAULT_RETRY_LIMIT, delay_ms: DEFAULT_RETRY_DELAY_MS, backoff: DEFAULT_BACKOFF, timeout_ms: DEFAULT_TIMEOUT_MS });
                let mut log = decode_log(&row.attempt_log);
                let now = now_ms();

                if status == "retrying" && row.wake_at.is_some_and(|at| at > now) {
                    return self.suspend_until(connection, workflow, id, row.wake_at.unwrap_or(now));
                }
                if status == "running" {
                    // The attempt that was running when the previous run stopped
                    // (a killed process) counts as failed, as in production.
                    if let Some(last) = log.last_mut() {
                        if last.end.is_none() {
                            last.end = Some(now);
                            last.error = Some(ErrorRecord {
                                name: "WorkflowInternalError".into(),
                                message: "Attempt failed due to internal workflows error".into(),
                            });
                        }
                    }
                    if row.attempts > config.limit {
                        let error = log.last().and_then(|a| a.error.clone()).expect("just recorded");
                        return Self::fail_step(connection, workflow, id, name, count, &log, error);
                    }
                }
                if matches!(instance_status, Status::WaitingForPause | Status::Paused) {
                    Self::set_status(connection, workflow, id, Status::Paused)?;
                    return Ok(WorkflowStepOutcome::action("suspend"));
                }
                self.start_attempt(connection, workflow, id, name, count, row.attempts + 1, log, &config, instance_status)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attempt_end_in(
        &self,
        connection: &Connection,
        workflow: &str,
        id: &str,
        generation: u32,
        name: &str,
        count: u32,
        attempt: u32,
        output: Option<&[u8]>,
        error: Option<ErrorRecord>,
        non_retryable: bool,
        delay_override: Option<&str>,
    ) -> Result<WorkflowStepOutcome, WorkflowError> {
        if Self::live_status(connection, workflow, id, generation)?.is_none() {
            return Ok(WorkflowStepOutcome::action("stale"));
        }
        let Some(row) = Self::read_step(connection, workflow, id, DO, name, count)? else {
            return Ok(WorkflowStepOutcome::action("stale"));
        };
        if row.status != "running" || row.attempts != attempt {
            return Ok(WorkflowStepOutcome::action("stale"));
        }

        let config: StepConfig = row
            .config
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(StepConfig { limit: DEFAULT_RETRY_LIMIT, delay_ms: DEFAULT_RETRY_DELAY_MS, backoff: DEFAULT_BACKOFF, timeout_ms: DEFAULT_TIMEOUT_MS });
        let mut log = decode_log(&row.attempt_log);
        let now = now_ms();

        let error = match (error, output) {
            (None, Some(output)) if output.len() > MAX_STEP_RESULT_BYTES => {
                // NOTE: the size is that of bunflare's serialized form, which
                // may differ a little from production's for the same value.
                let error = ErrorRecord {
                    name: "WorkflowFatalError".into(),
                    message: format!(
                        "Value returned from step \"{name}\" is {} bytes, over the limit of {MAX_STEP_RESULT_BYTES} bytes",
                        output.len()
                    ),
                };
                if let Some(last) = log.last_mut() {
                    last.end = Some(now);
                    last.error = Some(error.clone());
                }
                return Self::fail_step(connection, workflow, id, name, count, &log, error);
            }
            (None, output) => {
                if let Some(last) = log.last_mut() {
                    last.end = Some(now);
                }
                connection
                    .prepare_cached(
                        "UPDATE workflow_steps SET status = 'complete', attempt_log = ?5, wake_at = NULL, ended_at = ?6, output = ?7
                         WHERE workflow = ?1 AND instance = ?2 AND kind = 'do' AND name = ?3 AND count = ?4",
                    )?
                    .execute(params![workflow, id, name, count, encode_log(&log), now, output])?;
                return Ok(WorkflowStepOutcome::action("complete"));
            }
            (Some(error), _) => error,
        };

        if let Some(last) = log.last_mut() {
            last.end = Some(now);
            last.error = Some(error.clone());
        }
        if non_retryable || attempt > config.limit {
            return Self::fail_step(connection, workflow, id, name, count, &log, error);
        }

        let base = delay_override.and_then(parse_duration_ms).unwrap_or(config.delay_ms);
        let delay = if delay_override.is_some() { base } else { config.backoff.delay_ms(base, attempt) };
        let retry_at = now.saturating_add(delay);
        connection
            .prepare_cached(
                "UPDATE workflow_steps SET status = 'retrying', attempt_log = ?5, wake_at = ?6
                 WHERE workflow = ?1 AND instance = ?2 AND kind = 'do' AND name = ?3 AND count = ?4",
            )?
            .execute(params![workflow, id, name, count, encode_log(&log), retry_at])?;
        self.suspend_until(connection, workflow, id, retry_at)
    }

    fn step_sleep_in(&self, connection: &Connection, workflow: &str, id: &str, generation: u32, name: &str, count: u32, duration: Option<&str>, until: Option<f64>) -> Result<WorkflowStepOutcome, WorkflowError> {
        let Some(status) = Self::live_status(connection, workflow, id, generation)? else {
            return Ok(WorkflowStepOutcome::action("stale"));
        };
        if let Some(stop) = Self::check_step_name(connection, workflow, id, name)? {
            return Ok(stop);
        }
        let now = now_ms();

        let wake_at = match Self::read_step(connection, workflow, id, SLEEP, name, count)? {
            Some(row) if row.status == "complete" => return Ok(WorkflowStepOutcome::action("cached")),
            Some(row) => row.wake_at.unwrap_or(now),
            None => {
                let wake_at = match (duration, until) {
                    (Some(text), _) => match parse_duration_ms(text) {
                        Some(ms) if ms <= MAX_SLEEP_MS => now + ms,
                        _ => {
                            return Ok(WorkflowStepOutcome::error(
                                "failed",
                                "TypeError",
                                format!("Invalid sleep duration {text:?}: use milliseconds or \"<number> <unit>\", up to 365 days"),
                            ))
                        }
                    },
                    (None, Some(at)) if at.is_finite() && at as i64 >= now => at as i64,
                    (None, at) => {
                        // NOTE: follows Miniflare, which rejects a time in the
                        // past; production's behaviour is not documented.
                        let _ = at;
                        return Ok(WorkflowStepOutcome::error("failed", "Error", "You can't sleep until a time in the past, time-traveler".into()));
                    }
                };
                if let Some(stop) = Self::admit_new_step(connection, workflow, id, status)? {
                    return Ok(stop);
                }
                Self::insert_step(connection, workflow, id, SLEEP, name, count, "sleeping", None, Some(wake_at))?;
                wake_at
            }
        };

        if wake_at <= now {
            Self::complete_step(connection, workflow, id, SLEEP, name, count, None)?;
            return Ok(WorkflowStepOutcome::action("cached"));
        }
        self.suspend_until(connection, workflow, id, wake_at)
    }

    fn step_wait_in(&self, connection: &Connection, workflow: &str, id: &str, generation: u32, name: &str, count: u32, event_type: &str, timeout: Option<&str>) -> Result<WorkflowStepOutcome, WorkflowError> {
        let Some(status) = Self::live_status(connection, workflow, id, generation)? else {
            return Ok(WorkflowStepOutcome::action("stale"));
        };
        if let Some(stop) = Self::check_step_name(connection, workflow, id, name)? {
            return Ok(stop);
        }
        check_event_type(event_type)?;
        let now = now_ms();

        let (wake_at, timeout_ms) = match Self::read_step(connection, workflow, id, WAIT, name, count)? {
            Some(row) if row.status == "complete" => {
                return Ok(WorkflowStepOutcome {
                    action: "cached".into(),
                    output: row.output.map(Buffer::from),
                    event_type: row.event_type,
                    event_timestamp: row.event_timestamp.map(|t| t as f64),
                    ..Default::default()
                })
            }
            Some(row) if row.status == "errored" => {
                return Ok(WorkflowStepOutcome::error(
                    "failed",
                    row.error_name.as_deref().unwrap_or("WorkflowTimeoutError"),
                    row.error_message.unwrap_or_default(),
                ))
            }
            Some(row) => {
                let timeout_ms = row.config.as_deref().and_then(|t| t.parse().ok()).unwrap_or(DEFAULT_EVENT_TIMEOUT_MS);
                (row.wake_at.unwrap_or(now), timeout_ms)
            }
            None => {
                let timeout_ms = match timeout {
                    None => DEFAULT_EVENT_TIMEOUT_MS,
                    Some(text) => match parse_duration_ms(text) {
                        Some(ms) if ms > 0 && ms <= MAX_SLEEP_MS => ms,
                        _ => {
                            return Ok(WorkflowStepOutcome::error(
                                "failed",
                                "TypeError",
                                format!("Invalid waitForEvent timeout {text:?}: use milliseconds or \"<number> <unit>\", up to 365 days"),
                            ))
                        }
                    },
                };
                if let Some(stop) = Self::admit_new_step(connection, workflow, id, status)? {
                    return Ok(stop);
                }
                let wake_at = now + timeout_ms;
                Self::insert_step(connection, workflow, id, WAIT, name, count, "waiting", Some(&timeout_ms.to_string()), Some(wake_at))?;
                (wake_at, timeout_ms)
            }
        };

        // The oldest event of the type is taken first, whether it arrived
        // before the wait began (production keeps those) or after.
        let event = connection
            .prepare_cached(
                "SELECT seq, payload, timestamp FROM workflow_events
                 WHERE workflow = ?1 AND instance = ?2 AND type = ?3 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![workflow, id, event_type], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, i64>(2)?))
            })
            .optional()?;
        if let Some((seq, payload, timestamp)) = event {
            connection.prepare_cached("DELETE FROM workflow_events WHERE seq = ?1")?.execute(params![seq])?;
            connection
                .prepare_cached(
                    "UPDATE workflow_steps SET status = 'complete', wake_at = NULL, ended_at = ?6, output = ?7, event_type = ?8, event_timestamp = ?9
                     WHERE workflow = ?1 AND instance = ?2 AND kind = ?3 AND name = ?4 AND count = ?5",
                )?
                .execute(params![workflow, id, WAIT, name, count, now, payload, event_type, timestamp])?;
            return Ok(WorkflowStepOutcome {
                action: "cached".into(),
                output: Some(Buffer::from(payload)),
                event_type: Some(event_type.to_string()),
                event_timestamp: Some(timestamp as f64),
                ..Default::default()
            });
        }

        if wake_at <= now {
            let message = format!("Execution timed out after {timeout_ms}ms");
            connection
                .prepare_cached(
                    "UPDATE workflow_steps SET status = 'errored', wake_at = NULL, ended_at = ?6, error_name = 'WorkflowTimeoutError', error_message = ?7
                     WHERE workflow = ?1 AND instance = ?2 AND kind = ?3 AND name = ?4 AND count = ?5",
                )?
                .execute(params![workflow, id, WAIT, name, count, now, message])?;
            return Ok(WorkflowStepOutcome::error("failed", "WorkflowTimeoutError", message));
        }
        self.suspend_until(connection, workflow, id, wake_at)
    }

    fn create_in(&self, connection: &Connection, workflow: &str, id: &str, params: &[u8]) -> Result<(), WorkflowError> {
        if !is_valid_identifier(id, MAX_INSTANCE_ID_LENGTH) {
            return Err(WorkflowError::InvalidInstanceId { id: id.to_string() });
        }
        if params.len() > MAX_PAYLOAD_BYTES {
            return Err(WorkflowError::PayloadTooLarge { what: "Instance params", size: params.len() });
        }
        let inserted = connection
            .prepare_cached(
                "INSERT INTO workflow_instances (workflow, id, status, generation, steps, params, created_at)
                 VALUES (?1, ?2, 'queued', 0, 0, ?3, ?4) ON CONFLICT DO NOTHING",
            )?
            .execute(params![workflow, id, params, now_ms()])?;
        if inserted == 0 {
            return Err(WorkflowError::AlreadyExists { id: id.to_string() });
        }
        Ok(())
    }

    fn write<T>(&self, work: impl FnOnce(&Connection) -> Result<T, WorkflowError>) -> napi::Result<T> {
        self.database.write(work).map_err(napi_error)
    }
}

fn encode_log(log: &[Attempt]) -> String {
    serde_json::to_string(log).expect("attempts serialize")
}

fn decode_log(text: &str) -> Vec<Attempt> {
    serde_json::from_str(text).unwrap_or_default()
}

fn check_workflow(workflow: &str) -> napi::Result<()> {
    if is_valid_identifier(workflow, MAX_WORKFLOW_NAME_LENGTH) {
        Ok(())
    } else {
        Err(napi_error(WorkflowError::InvalidWorkflowName { name: workflow.to_string() }))
    }
}

/// Returns why `name` is not a valid Workflow name, or null; the config loader reports it.
#[napi]
pub fn validate_workflow_name(name: String) -> Option<String> {
    workflow_name_error(&name)
}

#[napi]
impl WorkflowEngine {
    /// Opens the Workflows of `storage`'s `data.sqlite`.
    #[napi(constructor)]
    pub fn new(storage: &Storage) -> WorkflowEngine {
        WorkflowEngine {
            id: NEXT_ENGINE.fetch_add(1, Ordering::Relaxed),
            database: storage.data.main().clone(),
        }
    }

    /// Returns the prefix of this engine's scheduler keys (`<engine>:`); the rest is `<workflow>/<instance>`.
    #[napi(getter)]
    pub fn key_prefix(&self) -> String {
        format!("{}:", self.id)
    }

    /// Creates a queued instance and schedules its first run.
    #[napi]
    pub fn create(&self, workflow: String, id: String, params: Buffer) -> napi::Result<()> {
        check_workflow(&workflow)?;
        self.write(|connection| self.create_in(connection, &workflow, &id, &params))?;
        self.wake_no_later_than(&workflow, &id, now_ms());
        Ok(())
    }

    /// Creates several instances in one transaction; each entry reports its
    /// id or its coded error, so one duplicate does not stop the others.
    #[napi]
    pub fn create_batch(&self, workflow: String, items: Vec<WorkflowBatchItem>, ids: Vec<String>) -> napi::Result<Vec<WorkflowBatchResult>> {
        check_workflow(&workflow)?;
        if items.is_empty() {
            return Err(napi_error(WorkflowError::BatchEmpty));
        }
        if items.len() > MAX_BATCH_INSTANCES {
            return Err(napi_error(WorkflowError::BatchTooLarge { count: items.len() }));
        }

        let results = self.write(|connection| {
            let mut results = Vec::with_capacity(items.len());
            for (index, (item, generated)) in items.iter().zip(ids.iter()).enumerate() {
                let id = item.id.clone().unwrap_or_else(|| generated.clone());
                let error = match self.create_in(connection, &workflow, &id, &item.params) {
                    Ok(()) => None,
                    Err(WorkflowError::Storage(e)) => return Err(WorkflowError::Storage(e)),
                    Err(e) => Some(format!("{}: {e}", e.code())),
                };
                results.push(WorkflowBatchResult { index: index as u32, id, error });
            }
            Ok(results)
        })?;

        let now = now_ms();
        for result in results.iter().filter(|r| r.error.is_none()) {
            self.wake_no_later_than(&workflow, &result.id, now);
        }
        Ok(results)
    }

    /// Returns whether the instance exists.
    #[napi]
    pub fn exists(&self, workflow: String, id: String) -> napi::Result<bool> {
        let connection = self.database.lock();
        Ok(Self::instance_status(&connection, &workflow, &id).map_err(napi_error)?.is_some())
    }

    /// Returns the instance's status, output and error.
    #[napi]
    pub fn status(&self, workflow: String, id: String) -> napi::Result<WorkflowStatusRecord> {
        let connection = self.database.lock();
        connection
            .prepare_cached("SELECT status, output, error_name, error_message FROM workflow_instances WHERE workflow = ?1 AND id = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![workflow, id], |row| {
                        Ok(WorkflowStatusRecord {
                            status: row.get(0)?,
                            output: row.get::<_, Option<Vec<u8>>>(1)?.map(Buffer::from),
                            error_name: row.get(2)?,
                            error_message: row.get(3)?,
                        })
                    })
                    .optional()
            })
            .map_err(|e| napi_error(e.into()))?
            .ok_or_else(|| napi_error(WorkflowError::NotFound { id }))
    }

    /// Pauses the instance: at once when it is queued or waiting, at the next step boundary when it is running.
    #[napi]
    pub fn pause(&self, workflow: String, id: String) -> napi::Result<()> {
        self.write(|connection| {
            let (status, _) = Self::instance_status(connection, &workflow, &id)?.ok_or(WorkflowError::NotFound { id: id.clone() })?;
            let next = match status {
                Status::Running => Status::WaitingForPause,
                Status::Queued | Status::Waiting => Status::Paused,
                Status::Paused | Status::WaitingForPause => return Ok(()),
                finished => return Err(WorkflowError::InvalidTransition { id: id.clone(), action: "pause", status: finished }),
            };
            Self::set_status(connection, &workflow, &id, next)
        })
    }

    /// Resumes a paused instance; its next run replays the completed steps.
    #[napi]
    pub fn resume(&self, workflow: String, id: String) -> napi::Result<()> {
        let wake = self.write(|connection| {
            let (status, _) = Self::instance_status(connection, &workflow, &id)?.ok_or(WorkflowError::NotFound { id: id.clone() })?;
            match status {
                Status::Paused => Self::set_status(connection, &workflow, &id, Status::Queued).map(|()| true),
                Status::WaitingForPause => Self::set_status(connection, &workflow, &id, Status::Running).map(|()| false),
                other => Err(WorkflowError::InvalidTransition { id: id.clone(), action: "resume", status: other }),
            }
        })?;
        if wake {
            self.wake_no_later_than(&workflow, &id, now_ms());
        }
        Ok(())
    }

    /// Terminates the instance; a run in progress stops at its next step call.
    #[napi]
    pub fn terminate(&self, workflow: String, id: String) -> napi::Result<()> {
        self.write(|connection| {
            let (status, _) = Self::instance_status(connection, &workflow, &id)?.ok_or(WorkflowError::NotFound { id: id.clone() })?;
            if status.is_finished() {
                return Err(WorkflowError::InvalidTransition { id: id.clone(), action: "terminate", status });
            }
            connection
                .prepare_cached(
                    "UPDATE workflow_instances SET status = 'terminated', generation = generation + 1, ended_at = ?3
                     WHERE workflow = ?1 AND id = ?2",
                )?
                .execute(params![workflow, id, now_ms()])?;
            Ok(())
        })?;
        scheduler::cancel(ItemKind::Workflow, &self.item_key(&workflow, &id));
        Ok(())
    }

    /// Restarts the instance from the beginning: its steps are forgotten and it is queued again.
    #[napi]
    pub fn restart(&self, workflow: String, id: String) -> napi::Result<()> {
        self.write(|connection| {
            Self::instance_status(connection, &workflow, &id)?.ok_or(WorkflowError::NotFound { id: id.clone() })?;
            connection
                .prepare_cached("DELETE FROM workflow_steps WHERE workflow = ?1 AND instance = ?2")?
                .execute(params![workflow, id])?;
            connection
                .prepare_cached(
                    "UPDATE workflow_instances SET status = 'queued', generation = generation + 1, steps = 0, started_at = NULL,
                     ended_at = NULL, output = NULL, error_name = NULL, error_message = NULL
                     WHERE workflow = ?1 AND id = ?2",
                )?
                .execute(params![workflow, id])?;
            Ok(())
        })?;
        self.wake_no_later_than(&workflow, &id, now_ms());
        Ok(())
    }

    /// Deletes the instance with its steps and events, so its id can be used
    /// again; test introspectors call it when they are disposed. Returns
    /// whether the instance existed.
    // NOTE: production's `delete` is not exposed on the binding yet; this
    // serves only the test helpers.
    #[napi]
    pub fn remove(&self, workflow: String, id: String) -> napi::Result<bool> {
        let removed = self.write(|connection| {
            connection
                .prepare_cached("DELETE FROM workflow_steps WHERE workflow = ?1 AND instance = ?2")?
                .execute(params![workflow, id])?;
            connection
                .prepare_cached("DELETE FROM workflow_events WHERE workflow = ?1 AND instance = ?2")?
                .execute(params![workflow, id])?;
            let removed = connection
                .prepare_cached("DELETE FROM workflow_instances WHERE workflow = ?1 AND id = ?2")?
                .execute(params![workflow, id])?;
            Ok(removed > 0)
        })?;
        scheduler::cancel(ItemKind::Workflow, &self.item_key(&workflow, &id));
        Ok(removed)
    }

    /// Stores an event for the instance and wakes it, so a wait for the type receives it.
    #[napi]
    pub fn send_event(&self, workflow: String, id: String, event_type: String, payload: Buffer) -> napi::Result<()> {
        check_event_type(&event_type).map_err(napi_error)?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(napi_error(WorkflowError::PayloadTooLarge { what: "Event payload", size: payload.len() }));
        }
        let wake = self.write(|connection| {
            let (status, _) = Self::instance_status(connection, &workflow, &id)?.ok_or(WorkflowError::NotFound { id: id.clone() })?;
            if status.is_finished() {
                return Err(WorkflowError::InvalidTransition { id: id.clone(), action: "send an event to", status });
            }
            connection
                .prepare_cached("INSERT INTO workflow_events (workflow, instance, type, payload, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![workflow, id, event_type, &payload[..], now_ms()])?;
            Ok(status == Status::Waiting)
        })?;
        if wake {
            self.wake_no_later_than(&workflow, &id, now_ms());
        }
        Ok(())
    }

    /// Schedules every instance of `workflow` that should be running, so
    /// their runs resume after a restart. Returns how many there are.
    #[napi]
    pub fn attach(&self, workflow: String) -> napi::Result<u32> {
        let ids: Vec<String> = {
            let connection = self.database.lock();
            let mut statement = connection
                .prepare_cached(
                    "SELECT id FROM workflow_instances WHERE workflow = ?1
                     AND status IN ('queued', 'running', 'waiting', 'waitingForPause')",
                )
                .map_err(|e| napi_error(e.into()))?;
            let rows = statement
                .query_map(params![workflow], |row| row.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
                .map_err(|e| napi_error(e.into()))?;
            rows
        };
        let now = now_ms();
        for id in &ids {
            self.wake_no_later_than(&workflow, id, now);
        }
        Ok(ids.len() as u32)
    }

    /// Cancels the scheduler items of every instance of `workflow`, when its
    /// runner stops; `attach` schedules them again.
    #[napi]
    pub fn detach(&self, workflow: String) -> napi::Result<()> {
        let ids: Vec<String> = {
            let connection = self.database.lock();
            let mut statement = connection
                .prepare_cached("SELECT id FROM workflow_instances WHERE workflow = ?1")
                .map_err(|e| napi_error(e.into()))?;
            let rows = statement
                .query_map(params![workflow], |row| row.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
                .map_err(|e| napi_error(e.into()))?;
            rows
        };
        for id in &ids {
            scheduler::cancel(ItemKind::Workflow, &self.item_key(&workflow, id));
        }
        Ok(())
    }

    /// Schedules an instance that is still active at its earliest pending step deadline, if any.
    #[napi]
    pub fn rearm(&self, workflow: String, id: String) -> napi::Result<()> {
        let next: Option<i64> = {
            let connection = self.database.lock();
            connection
                .prepare_cached(
                    "SELECT MIN(s.wake_at) FROM workflow_steps s JOIN workflow_instances i
                     ON i.workflow = s.workflow AND i.id = s.instance
                     WHERE s.workflow = ?1 AND s.instance = ?2 AND i.status IN ('queued', 'running', 'waiting', 'waitingForPause')",
                )
                .and_then(|mut statement| statement.query_row(params![workflow, id], |row| row.get(0)))
                .map_err(|e| napi_error(e.into()))?
        };
        if let Some(at) = next {
            self.wake_no_later_than(&workflow, &id, at);
        }
        Ok(())
    }

    /// Starts a run: returns its generation and params, or null when the instance should not run now.
    #[napi]
    pub fn begin_run(&self, workflow: String, id: String) -> napi::Result<Option<WorkflowRunStart>> {
        self.write(|connection| {
            let row = connection
                .prepare_cached("SELECT status, generation, params, created_at FROM workflow_instances WHERE workflow = ?1 AND id = ?2")?
                .query_row(params![workflow, id], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?, row.get::<_, Vec<u8>>(2)?, row.get::<_, i64>(3)?))
                })
                .optional()?;
            let Some((status, generation, params, created_at)) = row else { return Ok(None) };

            match Status::parse(&status) {
                Status::Queued | Status::Running | Status::Waiting => {}
                // A pause was pending when the last run stopped; no step is
                // in progress now, so it takes effect here.
                Status::WaitingForPause => {
                    Self::set_status(connection, &workflow, &id, Status::Paused)?;
                    return Ok(None);
                }
                _ => return Ok(None),
            }
            connection
                .prepare_cached(
                    "UPDATE workflow_instances SET status = 'running', started_at = COALESCE(started_at, ?3)
                     WHERE workflow = ?1 AND id = ?2",
                )?
                .execute(params![workflow, id, now_ms()])?;
            Ok(Some(WorkflowRunStart { generation, params: Buffer::from(params), created_at: created_at as f64 }))
        })
    }

    /// Asks about a `step.do` before running it.
    #[napi]
    pub fn step_do(&self, workflow: String, id: String, generation: u32, name: String, count: u32, config: WorkflowStepConfigInput) -> napi::Result<WorkflowStepOutcome> {
        self.write(|connection| self.step_do_in(connection, &workflow, &id, generation, &name, count, &config))
    }

    /// Records the end of an attempt: its output, or its error. On an error the
    /// engine decides whether the step retries (and when) or fails.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn attempt_end(
        &self,
        workflow: String,
        id: String,
        generation: u32,
        name: String,
        count: u32,
        attempt: u32,
        output: Option<Buffer>,
        error_name: Option<String>,
        error_message: Option<String>,
        non_retryable: bool,
        retry_delay: Option<String>,
    ) -> napi::Result<WorkflowStepOutcome> {
        let error = error_name.map(|name| ErrorRecord { name, message: error_message.unwrap_or_default() });
        self.write(|connection| {
            self.attempt_end_in(connection, &workflow, &id, generation, &name, count, attempt, output.as_deref(), error, non_retryable, retry_delay.as_deref())
        })
    }

    /// Asks about a `step.sleep` (`duration`) or `step.sleepUntil` (`until`, ms since the epoch).
    #[napi]
    pub fn step_sleep(&self, workflow: String, id: String, generation: u32, name: String, count: u32, duration: Option<String>, until: Option<f64>) -> napi::Result<WorkflowStepOutcome> {
        self.write(|connection| self.step_sleep_in(connection, &workflow, &id, generation, &name, count, duration.as_deref(), until))
    }

    /// Asks about a `step.waitForEvent`: returns the event once one of the type has arrived.
    #[napi]
    pub fn step_wait_for_event(&self, workflow: String, id: String, generation: u32, name: String, count: u32, event_type: String, timeout: Option<String>) -> napi::Result<WorkflowStepOutcome> {
        self.write(|connection| self.step_wait_in(connection, &workflow, &id, generation, &name, count, &event_type, timeout.as_deref()))
    }

    /// Ends a run: `complete` with `output`, or `errored` with the error. Returns false for a stale run.
    #[napi]
    pub fn finish(&self, workflow: String, id: String, generation: u32, output: Option<Buffer>, error_name: Option<String>, error_message: Option<String>) -> napi::Result<bool> {
        if let Some(output) = output.as_ref().filter(|o| o.len() > MAX_STEP_RESULT_BYTES) {
            let message = format!("The Workflow output is {} bytes, over the limit of {MAX_STEP_RESULT_BYTES} bytes", output.len());
            return self.fail(workflow, id, generation, "WorkflowFatalError".into(), message);
        }
        let finished = self.write(|connection| {
            if Self::live_status(connection, &workflow, &id, generation)?.is_none() {
                return Ok(false);
            }
            let status = if error_name.is_some() { Status::Errored } else { Status::Complete };
            connection
                .prepare_cached(
                    "UPDATE workflow_instances SET status = ?3, ended_at = ?4, output = ?5, error_name = ?6, error_message = ?7
                     WHERE workflow = ?1 AND id = ?2",
                )?
                .execute(params![workflow, id, status.as_str(), now_ms(), output.as_deref(), error_name, error_message])?;
            Ok(true)
        })?;
        if finished {
            scheduler::cancel(ItemKind::Workflow, &self.item_key(&workflow, &id));
        }
        Ok(finished)
    }

    /// Ends a run with an error that fails the instance at once (a result that cannot be serialized).
    #[napi]
    pub fn fail(&self, workflow: String, id: String, generation: u32, error_name: String, error_message: String) -> napi::Result<bool> {
        let failed = self.write(|connection| {
            if Self::live_status(connection, &workflow, &id, generation)?.is_none() {
                return Ok(false);
            }
            Self::fail_instance(connection, &workflow, &id, &error_name, &error_message)?;
            Ok(true)
        })?;
        if failed {
            scheduler::cancel(ItemKind::Workflow, &self.item_key(&workflow, &id));
        }
        Ok(failed)
    }

    /// Lists the instances of `workflow`, newest first.
    #[napi]
    pub fn list(&self, workflow: String) -> napi::Result<Vec<WorkflowInstanceSummary>> {
        let connection = self.database.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, status, created_at, started_at, ended_at FROM workflow_instances
                 WHERE workflow = ?1 ORDER BY created_at DESC, rowid DESC",
            )
            .map_err(|e| napi_error(e.into()))?;
        let rows = statement
            .query_map(params![workflow], |row| {
                Ok(WorkflowInstanceSummary {
                    id: row.get(0)?,
                    status: row.get(1)?,
                    created_at: row.get::<_, i64>(2)? as f64,
                    started_at: row.get::<_, Option<i64>>(3)?.map(|t| t as f64),
                    ended_at: row.get::<_, Option<i64>>(4)?.map(|t| t as f64),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| napi_error(e.into()))?;
        Ok(rows)
    }

    /// Lists every Workflow name that has instances, with their count.
    #[napi]
    pub fn workflows(&self) -> napi::Result<Vec<WorkflowSummary>> {
        let connection = self.database.lock();
        let mut statement = connection
            .prepare_cached("SELECT workflow, COUNT(*) FROM workflow_instances GROUP BY workflow ORDER BY workflow")
            .map_err(|e| napi_error(e.into()))?;
        let rows = statement
            .query_map([], |row| Ok(WorkflowSummary { workflow: row.get(0)?, instances: row.get(1)? }))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| napi_error(e.into()))?;
        Ok(rows)
    }

    /// Returns the steps of an instance in the order they first ran.
    #[napi]
    pub fn steps(&self, workflow: String, id: String) -> napi::Result<Vec<WorkflowStepRecord>> {
        let connection = self.database.lock();
        if Self::instance_status(&connection, &workflow, &id).map_err(napi_error)?.is_none() {
            return Err(napi_error(WorkflowError::NotFound { id }));
        }
        let mut statement = connection
            .prepare_cached(
                "SELECT kind, name, count, status, started_at, ended_at, wake_at, attempt_log, output, error_name, error_message
                 FROM workflow_steps WHERE workflow = ?1 AND instance = ?2 ORDER BY rowid",
            )
            .map_err(|e| napi_error(e.into()))?;
        let rows = statement
            .query_map(params![workflow, id], |row| {
                Ok(WorkflowStepRecord {
                    kind: row.get(0)?,
                    name: row.get(1)?,
                    count: row.get(2)?,
                    status: row.get(3)?,
                    started_at: row.get::<_, i64>(4)? as f64,
                    ended_at: row.get::<_, Option<i64>>(5)?.map(|t| t as f64),
                    wake_at: row.get::<_, Option<i64>>(6)?.map(|t| t as f64),
                    attempts: row.get(7)?,
                    output: row.get::<_, Option<Vec<u8>>>(8)?.map(Buffer::from),
                    error_name: row.get(9)?,
                    error_message: row.get(10)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| napi_error(e.into()))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_numbers_and_units() {
        assert_eq!(parse_duration_ms("1500"), Some(1500));
        assert_eq!(parse_duration_ms("10 seconds"), Some(10_000));
        assert_eq!(parse_duration_ms("1 minute"), Some(60_000));
        assert_eq!(parse_duration_ms("2 hours"), Some(7_200_000));
        assert_eq!(parse_duration_ms("1 day"), Some(86_400_000));
        assert_eq!(parse_duration_ms("1 year"), Some(31_536_000_000));
        assert_eq!(parse_duration_ms("soon"), None);
        assert_eq!(parse_duration_ms("3 fortnights"), None);
        assert_eq!(parse_duration_ms("-1"), None);
    }

    #[test]
    fn backoff_grows_per_attempt() {
        let delays = |backoff: Backoff| (1..=4).map(|a| backoff.delay_ms(1000, a)).collect::<Vec<_>>();
        assert_eq!(delays(Backoff::Constant), vec![1000, 1000, 1000, 1000]);
        assert_eq!(delays(Backoff::Linear), vec![1000, 2000, 3000, 4000]);
        assert_eq!(delays(Backoff::Exponential), vec![1000, 2000, 4000, 8000]);
    }

    #[test]
    fn instance_ids_follow_production_rules() {
        for valid in ["a", "_x", "order-1", "A_b-C", &"x".repeat(100)] {
            assert!(is_valid_identifier(valid, MAX_INSTANCE_ID_LENGTH), "{valid:?}");
        }
        for invalid in ["", "-a", "a b", "a/b", "é", &"x".repeat(101)] {
            assert!(!is_valid_identifier(invalid, MAX_INSTANCE_ID_LENGTH), "{invalid:?}");
        }
    }

    #[test]
    fn step_config_takes_defaults_and_rejects_bad_values() {
        let config = StepConfig::resolve(&WorkflowStepConfigInput::default()).unwrap();
        assert_eq!((config.limit, config.delay_ms, config.backoff, config.timeout_ms), (5, 10_000, Backoff::Exponential, 600_000));

        let partial = WorkflowStepConfigInput {
            has_retries: true,
            retries_limit: Some(2.0),
            retries_delay: Some("1 second".into()),
            ..Default::default()
        };
        let config = StepConfig::resolve(&partial).unwrap();
        assert_eq!((config.limit, config.delay_ms, config.backoff), (2, 1_000, Backoff::Exponential));

        let bad_timeout = WorkflowStepConfigInput { timeout: Some("0".into()), ..Default::default() };
        assert!(StepConfig::resolve(&bad_timeout).is_err());
        let bad_backoff = WorkflowStepConfigInput {
            has_retries: true,
            retries_limit: Some(1.0),
            retries_delay: Some("1".into()),
            retries_backoff: Some("random".into()),
            ..Default::default()
        };
        assert!(StepConfig::resolve(&bad_backoff).is_err());
    }
}
