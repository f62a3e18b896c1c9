//! Cloudflare Queues engine: messages in the `queue_messages` table of
//! `data.sqlite`, push consumers woken by the scheduler, and pull consumers
//! served over HTTP by the dev server.
//!
//! A message row is visible to consumers once `visible_at` (milliseconds on
//! the shared clock) has passed. Taking a message leases it by moving
//! `visible_at`: to the end of the visibility timeout for a pull consumer, or
//! out of reach (`PUSH_LEASE`) for a push consumer, whose outcome always
//! comes back through `settle`. A push lease left behind by a killed process
//! is released when the consumer registers again, so delivery resumes after a
//! restart.
//!
//! Push delivery follows production's batching rule: a batch goes out as soon
//! as `max_batch_size` messages are ready, or once `max_batch_timeout` has
//! passed since the oldest ready message became visible. The engine keeps
//! one scheduler item per consumer (kind `queue`, key `<broker>:<queue>`) at
//! the time that rule next holds, and JavaScript calls `takeBatch` when it
//! falls due. Retries, the retry limit and the dead-letter queue are decided
//! here in `settle`.

use crate::clock::now_ms;
use crate::errors::{to_napi, ErrorCode, StorageError};
use crate::scheduler::{self, ItemKind};
use crate::storage::{Database, Storage};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::fmt::{self, Display};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Maximum size of one message body in bytes (128 KB, where Queues counts
/// 1 KB as 1000 bytes), from Cloudflare's Queues limits page.
pub const MAX_MESSAGE_BYTES: usize = 128_000;

/// Maximum number of messages in one `sendBatch` call, from Cloudflare's Queues limits page.
pub const MAX_BATCH_MESSAGES: usize = 100;

/// Maximum total body size in bytes of one `sendBatch` call (256 KB), from Cloudflare's Queues limits page.
pub const MAX_BATCH_BYTES: usize = 256_000;

/// Maximum `delaySeconds` on send and retry, and `retry_delay`, in seconds
/// (24 hours), from Cloudflare's Queues limits page (updated 2026-02).
pub const MAX_DELAY_SECONDS: f64 = 86_400.0;

// NOTE: the retention period (4 days by default) and the per-queue
// throughput limit are not enforced: messages wait until consumed or purged.

/// Maximum `max_batch_size` of a consumer, from Cloudflare's Queues limits page.
pub const MAX_CONSUMER_BATCH_SIZE: u32 = 100;

/// Maximum `max_batch_timeout` in seconds, from Cloudflare's Queues limits page.
pub const MAX_BATCH_TIMEOUT_SECONDS: f64 = 60.0;

/// Maximum `max_retries`, from Cloudflare's Queues limits page.
pub const MAX_RETRIES: u32 = 100;

/// Maximum concurrent push-consumer invocations, from Cloudflare's Queues limits page.
pub const MAX_CONCURRENCY: u32 = 250;

/// Maximum pull `visibility_timeout_ms` (12 hours), from Cloudflare's Queues limits page.
pub const MAX_VISIBILITY_TIMEOUT_MS: f64 = 43_200_000.0;

/// Production's consumer defaults, from Cloudflare's Queues configuration page.
pub const DEFAULT_BATCH_SIZE: u32 = 10;
pub const DEFAULT_BATCH_TIMEOUT_SECONDS: f64 = 5.0;
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// Production's pull defaults, from the Queues pull consumer API: 5 messages, 30 s visibility.
pub const DEFAULT_PULL_BATCH_SIZE: u32 = 5;
pub const DEFAULT_VISIBILITY_TIMEOUT_MS: f64 = 30_000.0;

/// `visible_at` of a message a push consumer is working on: never visible
/// until `settle` decides, or a restart releases it.
const PUSH_LEASE: i64 = i64::MAX / 2;

/// The serialization format of a message body, numbered as in `lib/bindings/queue.ts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Text = 0,
    Json = 1,
    Bytes = 2,
    V8 = 3,
}

impl ContentType {
    fn from_code(code: u32) -> Option<ContentType> {
        match code {
            0 => Some(ContentType::Text),
            1 => Some(ContentType::Json),
            2 => Some(ContentType::Bytes),
            3 => Some(ContentType::V8),
            _ => None,
        }
    }

    /// Returns the name production uses in `CF-Content-Type` and `contentType`.
    pub fn name(self) -> &'static str {
        match self {
            ContentType::Text => "text",
            ContentType::Json => "json",
            ContentType::Bytes => "bytes",
            ContentType::V8 => "v8",
        }
    }
}

/// The call an error belongs to, for production's "Queue <call> failed" prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Send,
    SendBatch,
}

impl Call {
    fn as_str(self) -> &'static str {
        match self {
            Call::Send => "send",
            Call::SendBatch => "sendBatch",
        }
    }
}

/// Every way a queue operation fails.
#[derive(Debug)]
pub enum QueueError {
    MessageTooLarge { call: Call, size: usize },
    BatchTooManyMessages { count: usize },
    BatchTooLarge { size: usize },
    BatchEmpty,
    InvalidDelay { call: Option<Call>, value: f64 },
    InvalidContentType { code: u32 },
    InvalidConsumer { queue: String, reason: String },
    NoConsumer { queue: String },
    NotPullConsumer { queue: String },
    InvalidPull { reason: String },
    Storage(StorageError),
}

impl Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Production's runtime turns the broker's 413 into "Queue <call> failed: Payload Too Large";
            // the details after it are bunflare's.
            QueueError::MessageTooLarge { call, size } => write!(
                f,
                "Queue {} failed: Payload Too Large (message of {size} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes)",
                call.as_str()
            ),
            QueueError::BatchTooManyMessages { count } => write!(
                f,
                "Queue sendBatch failed: Payload Too Large (batch of {count} messages exceeds the limit of {MAX_BATCH_MESSAGES})"
            ),
            QueueError::BatchTooLarge { size } => write!(
                f,
                "Queue sendBatch failed: Payload Too Large (batch of {size} bytes exceeds the limit of {MAX_BATCH_BYTES} bytes)"
            ),
            QueueError::BatchEmpty => write!(f, "sendBatch() requires at least one message"),
            QueueError::InvalidDelay { call: Some(call), value } => write!(
                f,
                "Queue {} failed: Bad Request (delaySeconds must be a whole number of seconds from 0 to {MAX_DELAY_SECONDS}, got {value})",
                call.as_str()
            ),
            QueueError::InvalidDelay { call: None, value } => write!(
                f,
                "delaySeconds must be a whole number of seconds from 0 to {MAX_DELAY_SECONDS}, got {value}"
            ),
            QueueError::InvalidContentType { code } => write!(f, "Unsupported queue message content type code: {code}"),
            QueueError::InvalidConsumer { queue, reason } => write!(f, "invalid consumer for queue \"{queue}\": {reason}"),
            QueueError::NoConsumer { queue } => write!(f, "queue \"{queue}\" has no consumer in this Worker's config"),
            QueueError::NotPullConsumer { queue } => write!(
                f,
                "queue \"{queue}\" has no pull consumer; add a consumer with type \"http_pull\" to the config"
            ),
            QueueError::InvalidPull { reason } => write!(f, "{reason}"),
            QueueError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl ErrorCode for QueueError {
    fn code(&self) -> &'static str {
        match self {
            QueueError::MessageTooLarge { .. } => "QUEUE_MESSAGE_TOO_LARGE",
            QueueError::BatchTooManyMessages { .. } => "QUEUE_BATCH_TOO_MANY_MESSAGES",
            QueueError::BatchTooLarge { .. } => "QUEUE_BATCH_TOO_LARGE",
            QueueError::BatchEmpty => "QUEUE_BATCH_EMPTY",
            QueueError::InvalidDelay { call: Some(_), .. } => "QUEUE_INVALID_DELAY",
            QueueError::InvalidDelay { call: None, .. } => "QUEUE_INVALID_RETRY_DELAY",
            QueueError::InvalidContentType { .. } => "QUEUE_INVALID_CONTENT_TYPE",
            QueueError::InvalidConsumer { .. } => "QUEUE_INVALID_CONSUMER",
            QueueError::NoConsumer { .. } => "QUEUE_NO_CONSUMER",
            QueueError::NotPullConsumer { .. } => "QUEUE_NOT_PULL_CONSUMER",
            QueueError::InvalidPull { .. } => "QUEUE_INVALID_PULL",
            QueueError::Storage(e) => e.code(),
        }
    }
}

impl From<rusqlite::Error> for QueueError {
    fn from(e: rusqlite::Error) -> Self {
        QueueError::Storage(StorageError::Sqlite(e))
    }
}

/// Checks a delay in seconds and converts it to milliseconds.
fn delay_ms(seconds: Option<f64>, call: Option<Call>) -> Result<i64, QueueError> {
    match seconds {
        None => Ok(0),
        Some(value)
            if value.is_finite()
                && (0.0..=MAX_DELAY_SECONDS).contains(&value)
                && value.fract() == 0.0 =>
        {
            Ok((value * 1000.0) as i64)
        }
        Some(value) => Err(QueueError::InvalidDelay { call, value }),
    }
}

/// A consumer's settings from `queues.consumers`, as the config gives them;
/// missing fields take production's defaults.
#[napi(object)]
#[derive(Clone, Default)]
pub struct QueueConsumerSettings {
    /// `"worker"` (push, the default) or `"http_pull"`.
    pub r#type: Option<String>,
    pub max_batch_size: Option<f64>,
    /// Seconds.
    pub max_batch_timeout: Option<f64>,
    pub max_retries: Option<f64>,
    /// Seconds before a retried message is visible again.
    pub retry_delay: Option<f64>,
    pub dead_letter_queue: Option<String>,
    pub max_concurrency: Option<f64>,
    /// Pull consumers: milliseconds a pulled message stays leased.
    pub visibility_timeout_ms: Option<f64>,
}

/// Validated consumer settings.
#[derive(Debug, Clone)]
struct Consumer {
    pull: bool,
    batch_size: u32,
    batch_timeout_ms: i64,
    max_attempts: u32,
    retry_delay_ms: i64,
    dead_letter_queue: Option<String>,
    max_concurrency: u32,
    visibility_timeout_ms: i64,
}

/// Validates one consumer setting as a whole number within `min..=max`.
fn whole(
    queue: &str,
    name: &str,
    value: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> Result<f64, QueueError> {
    let value = value.unwrap_or(default);
    if !value.is_finite() || value.fract() != 0.0 || value < min || value > max {
        return Err(QueueError::InvalidConsumer {
            queue: queue.to_string(),
            reason: format!("\"{name}\" must be a whole number from {min} to {max}, got {value}"),
        });
    }
    Ok(value)
}

impl Consumer {
    fn from_settings(
        queue: &str,
        settings: &QueueConsumerSettings,
    ) -> Result<Consumer, QueueError> {
        let pull = match settings.r#type.as_deref() {
            None | Some("worker") => false,
            Some("http_pull") => true,
            Some(other) => {
                return Err(QueueError::InvalidConsumer {
                    queue: queue.to_string(),
                    reason: format!(
                        "\"type\" must be \"worker\" or \"http_pull\", got \"{other}\""
                    ),
                })
            }
        };
        let batch_size = whole(
            queue,
            "max_batch_size",
            settings.max_batch_size,
            DEFAULT_BATCH_SIZE as f64,
            1.0,
            MAX_CONSUMER_BATCH_SIZE as f64,
        )?;
        let timeout = settings
            .max_batch_timeout
            .unwrap_or(DEFAULT_BATCH_TIMEOUT_SECONDS);
        if !timeout.is_finite() || !(0.0..=MAX_BATCH_TIMEOUT_SECONDS).contains(&timeout) {
            return Err(QueueError::InvalidConsumer {
                queue: queue.to_string(),
                reason: format!("\"max_batch_timeout\" must be from 0 to {MAX_BATCH_TIMEOUT_SECONDS} seconds, got {timeout}"),
            });
        }
        let retries = whole(
            queue,
            "max_retries",
            settings.max_retries,
            DEFAULT_MAX_RETRIES as f64,
            0.0,
            MAX_RETRIES as f64,
        )?;
        let retry_delay = whole(
            queue,
            "retry_delay",
            settings.retry_delay,
            0.0,
            0.0,
            MAX_DELAY_SECONDS,
        )?;
        let concurrency = whole(
            queue,
            "max_concurrency",
            settings.max_concurrency,
            MAX_CONCURRENCY as f64,
            1.0,
            MAX_CONCURRENCY as f64,
        )?;
        let visibility = whole(
            queue,
            "visibility_timeout_ms",
            settings.visibility_timeout_ms,
            DEFAULT_VISIBILITY_TIMEOUT_MS,
            0.0,
            MAX_VISIBILITY_TIMEOUT_MS,
        )?;
        if settings.dead_letter_queue.as_deref() == Some(queue) {
            return Err(QueueError::InvalidConsumer {
                queue: queue.to_string(),
                reason: "\"dead_letter_queue\" cannot be the queue itself".into(),
            });
        }

        Ok(Consumer {
            pull,
            batch_size: batch_size as u32,
            batch_timeout_ms: (timeout * 1000.0) as i64,
            max_attempts: retries as u32 + 1,
            retry_delay_ms: (retry_delay * 1000.0) as i64,
            dead_letter_queue: settings.dead_letter_queue.clone(),
            max_concurrency: concurrency as u32,
            visibility_timeout_ms: visibility as i64,
        })
    }
}

/// A registered consumer and its in-memory delivery state.
struct ConsumerState {
    consumer: Consumer,
    /// Batches handed to JavaScript and not yet settled.
    in_flight: u32,
    /// Messages sent since the last exact count; decides "batch full" on send without a query.
    ready_estimate: u32,
}

/// One message as a consumer receives it.
#[napi(object)]
pub struct QueueMessageRecord {
    pub id: String,
    /// Milliseconds since the epoch when the message was sent.
    pub timestamp: f64,
    /// Delivery attempts including this one; the first delivery is 1.
    pub attempts: u32,
    /// 0 text, 1 json, 2 bytes, 3 v8.
    pub content_type: u32,
    pub body: Buffer,
    /// The pull lease id; null for push deliveries and listings.
    pub lease_id: Option<String>,
}

/// A message the retry limit moved to a dead-letter queue or dropped, for the log.
#[napi(object)]
pub struct QueueSettleEvent {
    pub id: String,
    /// `"dead_letter"` or `"dropped"`.
    pub action: String,
    pub attempts: u32,
    pub dead_letter_queue: Option<String>,
}

/// The outcome of `settle` for one batch.
#[napi(object)]
pub struct QueueSettleResult {
    pub acked: u32,
    pub retried: u32,
    pub events: Vec<QueueSettleEvent>,
}

/// The counts a pull acknowledgement returns, in production's field names.
#[napi(object)]
pub struct QueuePullAckResult {
    pub ack_count: u32,
    pub retry_count: u32,
    pub warnings: Vec<String>,
}

/// A queue's name and how many messages it holds.
#[napi(object)]
pub struct QueueSummary {
    pub queue: String,
    pub messages: u32,
}

/// Produces message and lease ids: 32 hex digits, like production's.
///
/// The first 16 digits grow with every id (the process's start time in
/// milliseconds, shifted, plus a counter), so inserts append to the `id`
/// index instead of touching a random page each. Random ids made every
/// 100-message transaction rewrite about 100 index pages into the WAL. The
/// last 16 digits are random, so ids stay unguessable.
struct IdGenerator {
    prefix: u64,
    seed: u64,
    counter: AtomicU64,
}

impl IdGenerator {
    fn new() -> IdGenerator {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(started.as_nanos());
        hasher.write_u32(std::process::id());
        // 44 bits of milliseconds last until the year 2527; 20 bits of counter follow.
        IdGenerator {
            prefix: (started.as_millis() as u64) << 20,
            seed: hasher.finish(),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:016x}{:016x}",
            self.prefix.wrapping_add(n),
            splitmix(self.seed ^ n)
        )
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

static NEXT_BROKER: AtomicU64 = AtomicU64::new(1);

/// The queues of one data directory: producers, consumers and their delivery state.
struct Broker {
    id: u64,
    database: Arc<Database>,
    ids: IdGenerator,
    consumers: Mutex<HashMap<String, ConsumerState>>,
}

/// One message to insert.
struct Outgoing<'a> {
    body: &'a [u8],
    content_type: ContentType,
    delay_ms: i64,
}

impl Broker {
    fn item_key(&self, queue: &str) -> String {
        format!("{}:{queue}", self.id)
    }

    fn insert(&self, queue: &str, messages: &[Outgoing]) -> Result<(), QueueError> {
        let now = now_ms();
        self.database.write(|connection| -> Result<(), QueueError> {
            let mut insert = connection.prepare_cached(
                "INSERT INTO queue_messages (queue, id, body, content_type, timestamp, visible_at, attempts, leased)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0)",
            )?;
            for message in messages {
                insert.execute(params![queue, self.ids.next(), message.body, message.content_type as u32, now, now + message.delay_ms])?;
            }
            Ok(())
        })?;

        // NOTE: only this process's broker is woken. A message sent by another
        // process (the CLI) waits until this consumer next reschedules: on a
        // send, a settle or a restart.

        // Wake the consumer without a query: a full batch is due now, and
        // otherwise the batch timeout runs from when the message is visible.
        let mut consumers = self.consumers.lock();
        if let Some(state) = consumers.get_mut(queue) {
            if !state.consumer.pull {
                let immediate = messages.iter().filter(|m| m.delay_ms == 0).count() as u32;
                state.ready_estimate = state.ready_estimate.saturating_add(immediate);
                let key = self.item_key(queue);
                if state.ready_estimate >= state.consumer.batch_size
                    && state.in_flight < state.consumer.max_concurrency
                {
                    scheduler::schedule_no_later_than(ItemKind::Queue, key.clone(), now);
                }
                for message in messages {
                    let at = if message.delay_ms == 0 {
                        now + state.consumer.batch_timeout_ms
                    } else {
                        now + message.delay_ms
                    };
                    scheduler::schedule_no_later_than(ItemKind::Queue, key.clone(), at);
                }
            }
        }
        Ok(())
    }

    /// Counts up to `limit` visible messages and finds the oldest visible time.
    fn ready(
        connection: &Connection,
        queue: &str,
        now: i64,
        limit: u32,
    ) -> Result<(u32, Option<i64>), QueueError> {
        let count: u32 = connection
            .prepare_cached("SELECT count(*) FROM (SELECT 1 FROM queue_messages WHERE queue = ?1 AND visible_at <= ?2 LIMIT ?3)")?
            .query_row(params![queue, now, limit], |row| row.get(0))?;
        let oldest: Option<i64> = connection
            .prepare_cached(
                "SELECT min(visible_at) FROM queue_messages WHERE queue = ?1 AND visible_at <= ?2",
            )?
            .query_row(params![queue, now], |row| row.get(0))?;
        Ok((count, oldest))
    }

    /// Sets the consumer's scheduler item to when the batching rule next holds.
    fn reschedule(
        &self,
        connection: &Connection,
        queue: &str,
        state: &mut ConsumerState,
    ) -> Result<(), QueueError> {
        let key = self.item_key(queue);
        if state.consumer.pull || state.in_flight >= state.consumer.max_concurrency {
            // Settling a batch reschedules; nothing can be delivered before that.
            scheduler::cancel(ItemKind::Queue, &key);
            return Ok(());
        }

        let now = now_ms();
        let (count, oldest) = Broker::ready(connection, queue, now, state.consumer.batch_size)?;
        state.ready_estimate = count;
        let at = if count >= state.consumer.batch_size {
            Some(now)
        } else if let Some(oldest) = oldest {
            Some((oldest + state.consumer.batch_timeout_ms).max(now))
        } else {
            connection
                .prepare_cached("SELECT min(visible_at) FROM queue_messages WHERE queue = ?1 AND visible_at < ?2")?
                .query_row(params![queue, PUSH_LEASE], |row| row.get::<_, Option<i64>>(0))?
        };
        match at {
            Some(at) => scheduler::schedule(ItemKind::Queue, key, at),
            None => scheduler::cancel(ItemKind::Queue, &key),
        }
        Ok(())
    }

    /// Leases up to `limit` visible messages until `lease_until`, oldest
    /// first, in one statement. Pull leases get a random lease id.
    fn lease(
        &self,
        connection: &Connection,
        queue: &str,
        limit: u32,
        lease_until: i64,
        pull: bool,
    ) -> Result<Vec<QueueMessageRecord>, QueueError> {
        let now = now_ms();
        let mut rows: Vec<(i64, QueueMessageRecord)> = connection
            .prepare_cached(
                "UPDATE queue_messages
                 SET visible_at = ?3, attempts = attempts + 1, leased = ?4,
                     lease_id = CASE WHEN ?4 = 2 THEN lower(hex(randomblob(16))) END
                 WHERE seq IN (SELECT seq FROM queue_messages WHERE queue = ?1 AND visible_at <= ?2
                               ORDER BY visible_at, seq LIMIT ?5)
                 RETURNING seq, id, timestamp, attempts, content_type, body, lease_id",
            )?
            .query_map(
                params![queue, now, lease_until, if pull { 2 } else { 1 }, limit],
                |row| {
                    Ok((
                        row.get(0)?,
                        QueueMessageRecord {
                            id: row.get(1)?,
                            timestamp: row.get::<_, i64>(2)? as f64,
                            attempts: row.get(3)?,
                            content_type: row.get(4)?,
                            body: row.get::<_, Vec<u8>>(5)?.into(),
                            lease_id: row.get(6)?,
                        },
                    ))
                },
            )?
            .collect::<Result<_, _>>()?;

        // RETURNING gives no order; messages go out in the order they were sent.
        rows.sort_unstable_by_key(|(seq, _)| *seq);
        Ok(rows.into_iter().map(|(_, message)| message).collect())
    }

    /// Applies a retry to one leased message: back to the queue after the
    /// delay, or, past the retry limit, to the dead-letter queue or dropped.
    fn retry_one(
        &self,
        connection: &Connection,
        where_clause: &str,
        key: &str,
        consumer: &Consumer,
        delay_ms: i64,
        events: &mut Vec<QueueSettleEvent>,
    ) -> Result<Option<String>, QueueError> {
        let now = now_ms();
        let row: Option<(i64, String, u32)> = connection
            .prepare_cached(&format!(
                "SELECT seq, id, attempts FROM queue_messages WHERE {where_clause}"
            ))?
            .query_row(params![key], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        let Some((seq, id, attempts)) = row else {
            return Ok(None);
        };

        if attempts < consumer.max_attempts {
            connection
                .prepare_cached("UPDATE queue_messages SET visible_at = ?2, leased = 0, lease_id = NULL WHERE seq = ?1")?
                .execute(params![seq, now + delay_ms])?;
            return Ok(None);
        }

        match &consumer.dead_letter_queue {
            Some(dead_letter_queue) => {
                connection
                    .prepare_cached(
                        "UPDATE queue_messages SET queue = ?2, visible_at = ?3, attempts = 0, leased = 0, lease_id = NULL WHERE seq = ?1",
                    )?
                    .execute(params![seq, dead_letter_queue, now])?;
                events.push(QueueSettleEvent {
                    id,
                    action: "dead_letter".into(),
                    attempts,
                    dead_letter_queue: Some(dead_letter_queue.clone()),
                });
                Ok(Some(dead_letter_queue.clone()))
            }
            None => {
                connection
                    .prepare_cached("DELETE FROM queue_messages WHERE seq = ?1")?
                    .execute(params![seq])?;
                events.push(QueueSettleEvent {
                    id,
                    action: "dropped".into(),
                    attempts,
                    dead_letter_queue: None,
                });
                Ok(None)
            }
        }
    }

    /// Reschedules the push consumers of dead-letter queues that just received messages.
    fn wake_queues(&self, queues: &[String]) -> Result<(), QueueError> {
        if queues.is_empty() {
            return Ok(());
        }
        let connection = self.database.lock();
        let mut consumers = self.consumers.lock();
        for queue in queues {
            if let Some(state) = consumers.get_mut(queue) {
                self.reschedule(&connection, queue, state)?;
            }
        }
        Ok(())
    }
}

/// The Queues engine of one data directory. JavaScript makes one per
/// storage and shares it between the producer bindings and the consumers.
#[napi]
pub struct QueueBroker {
    broker: Arc<Broker>,
}

/// Maps a storage error to the queue error that carries its code.
fn storage_error(error: StorageError) -> napi::Error {
    to_napi(QueueError::Storage(error))
}

#[napi]
impl QueueBroker {
    /// Opens the queues of `storage`'s `data.sqlite`.
    #[napi(constructor)]
    pub fn new(storage: &Storage) -> QueueBroker {
        QueueBroker {
            broker: Arc::new(Broker {
                id: NEXT_BROKER.fetch_add(1, Ordering::Relaxed),
                database: storage.data.main().clone(),
                ids: IdGenerator::new(),
                consumers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Returns the prefix of this broker's scheduler keys (`<broker>:`). The rest of a key is the queue name.
    #[napi(getter)]
    pub fn key_prefix(&self) -> String {
        format!("{}:", self.broker.id)
    }

    /// Sends one serialized message. `contentType` is 0 text, 1 json, 2 bytes, 3 v8.
    #[napi]
    pub fn send(
        &self,
        queue: String,
        body: Buffer,
        content_type: u32,
        delay_seconds: Option<f64>,
    ) -> napi::Result<()> {
        let content_type = ContentType::from_code(content_type)
            .ok_or(QueueError::InvalidContentType { code: content_type })
            .map_err(to_napi)?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(to_napi(QueueError::MessageTooLarge {
                call: Call::Send,
                size: body.len(),
            }));
        }
        let delay_ms = delay_ms(delay_seconds, Some(Call::Send)).map_err(to_napi)?;

        self.broker
            .insert(
                &queue,
                &[Outgoing {
                    body: &body,
                    content_type,
                    delay_ms,
                }],
            )
            .map_err(to_napi)
    }

    /// Sends serialized messages in one transaction. `delays[i]` is the
    /// message's own `delaySeconds`, or NaN to use `delaySeconds`.
    #[napi]
    pub fn send_batch(
        &self,
        queue: String,
        bodies: Vec<Buffer>,
        content_types: Vec<u32>,
        delays: Vec<f64>,
        delay_seconds: Option<f64>,
    ) -> napi::Result<()> {
        if bodies.is_empty() {
            return Err(to_napi(QueueError::BatchEmpty));
        }
        if bodies.len() > MAX_BATCH_MESSAGES {
            return Err(to_napi(QueueError::BatchTooManyMessages {
                count: bodies.len(),
            }));
        }
        let total: usize = bodies.iter().map(|b| b.len()).sum();
        if let Some(largest) = bodies
            .iter()
            .map(|b| b.len())
            .max()
            .filter(|&size| size > MAX_MESSAGE_BYTES)
        {
            return Err(to_napi(QueueError::MessageTooLarge {
                call: Call::SendBatch,
                size: largest,
            }));
        }
        if total > MAX_BATCH_BYTES {
            return Err(to_napi(QueueError::BatchTooLarge { size: total }));
        }
        let default_delay = delay_ms(delay_seconds, Some(Call::SendBatch)).map_err(to_napi)?;

        let mut messages = Vec::with_capacity(bodies.len());
        for (index, body) in bodies.iter().enumerate() {
            let code = content_types
                .get(index)
                .copied()
                .unwrap_or(ContentType::V8 as u32);
            let content_type = ContentType::from_code(code)
                .ok_or(QueueError::InvalidContentType { code })
                .map_err(to_napi)?;
            let own_delay = delays.get(index).copied().filter(|d| !d.is_nan());
            let delay_ms = match own_delay {
                Some(seconds) => delay_ms(Some(seconds), Some(Call::SendBatch)).map_err(to_napi)?,
                None => default_delay,
            };
            messages.push(Outgoing {
                body,
                content_type,
                delay_ms,
            });
        }

        self.broker.insert(&queue, &messages).map_err(to_napi)
    }

    /// Checks a `retry({ delaySeconds })` value, so a bad one throws where the user called retry().
    #[napi]
    pub fn check_retry_delay(&self, delay_seconds: f64) -> napi::Result<()> {
        delay_ms(Some(delay_seconds), None)
            .map(|_| ())
            .map_err(to_napi)
    }

    /// Registers (or updates) the consumer of `queue`. The first registration
    /// releases push leases a killed process left behind, and schedules
    /// delivery of whatever is already waiting.
    #[napi]
    pub fn register_consumer(
        &self,
        queue: String,
        settings: QueueConsumerSettings,
    ) -> napi::Result<()> {
        let consumer = Consumer::from_settings(&queue, &settings).map_err(to_napi)?;

        let connection = self.broker.database.lock();
        let mut consumers = self.broker.consumers.lock();
        let first = !consumers.contains_key(&queue);
        if first {
            crate::storage::write_transaction(&connection, |c| -> Result<(), QueueError> {
                c.prepare_cached("UPDATE queue_messages SET visible_at = ?2, leased = 0 WHERE queue = ?1 AND leased = 1")?
                    .execute(params![queue, now_ms()])?;
                Ok(())
            })
            .map_err(to_napi)?;
        }

        let state = consumers.entry(queue.clone()).or_insert(ConsumerState {
            consumer: consumer.clone(),
            in_flight: 0,
            ready_estimate: 0,
        });
        state.consumer = consumer;
        self.broker
            .reschedule(&connection, &queue, state)
            .map_err(to_napi)
    }

    /// Removes the consumer of `queue` and its pending delivery.
    #[napi]
    pub fn unregister_consumer(&self, queue: String) {
        self.broker.consumers.lock().remove(&queue);
        scheduler::cancel(ItemKind::Queue, &self.broker.item_key(&queue));
    }

    /// Returns the next batch for the push consumer of `queue` when the
    /// batching rule is met and a concurrency slot is free, leasing its
    /// messages; otherwise null. Either way the next delivery is rescheduled.
    #[napi]
    pub fn take_batch(&self, queue: String) -> napi::Result<Option<Vec<QueueMessageRecord>>> {
        let connection = self.broker.database.lock();
        let mut consumers = self.broker.consumers.lock();
        let Some(state) = consumers.get_mut(&queue) else {
            return Ok(None);
        };
        if state.consumer.pull || state.in_flight >= state.consumer.max_concurrency {
            return Ok(None);
        }

        let now = now_ms();
        let (count, oldest) =
            Broker::ready(&connection, &queue, now, state.consumer.batch_size).map_err(to_napi)?;
        let due = count >= state.consumer.batch_size
            || oldest.is_some_and(|oldest| oldest + state.consumer.batch_timeout_ms <= now);
        if !due {
            self.broker
                .reschedule(&connection, &queue, state)
                .map_err(to_napi)?;
            return Ok(None);
        }

        let batch_size = state.consumer.batch_size;
        let messages = crate::storage::write_transaction(&connection, |c| {
            self.broker.lease(c, &queue, batch_size, PUSH_LEASE, false)
        })
        .map_err(to_napi)?;
        if messages.is_empty() {
            self.broker
                .reschedule(&connection, &queue, state)
                .map_err(to_napi)?;
            return Ok(None);
        }
        state.in_flight += 1;
        self.broker
            .reschedule(&connection, &queue, state)
            .map_err(to_napi)?;
        Ok(Some(messages))
    }

    /// Settles a batch from `takeBatch`: deletes `acks`, and retries
    /// `retries` after `retryDelays[i]` seconds (NaN: the consumer's
    /// `retry_delay`). Messages past `max_retries` go to the dead-letter
    /// queue or are dropped; each such message is listed in the result.
    #[napi]
    pub fn settle(
        &self,
        queue: String,
        acks: Vec<String>,
        retries: Vec<String>,
        retry_delays: Vec<f64>,
    ) -> napi::Result<QueueSettleResult> {
        let mut events = Vec::new();
        let mut woken = Vec::new();
        {
            let connection = self.broker.database.lock();
            let mut consumers = self.broker.consumers.lock();
            let Some(state) = consumers.get_mut(&queue) else {
                // The consumer stopped while the batch ran: keep the acks, and
                // hand the rest back unchanged for the queue's next consumer.
                crate::storage::write_transaction(&connection, |c| -> Result<(), QueueError> {
                    let mut delete =
                        c.prepare_cached("DELETE FROM queue_messages WHERE id = ?1")?;
                    for id in &acks {
                        delete.execute(params![id])?;
                    }
                    let mut release = c.prepare_cached(
                        "UPDATE queue_messages SET visible_at = ?2, leased = 0 WHERE id = ?1",
                    )?;
                    for id in &retries {
                        release.execute(params![id, now_ms()])?;
                    }
                    Ok(())
                })
                .map_err(to_napi)?;
                return Ok(QueueSettleResult {
                    acked: acks.len() as u32,
                    retried: retries.len() as u32,
                    events,
                });
            };
            let consumer = state.consumer.clone();

            crate::storage::write_transaction(&connection, |c| -> Result<(), QueueError> {
                let mut delete = c.prepare_cached("DELETE FROM queue_messages WHERE id = ?1")?;
                for id in &acks {
                    delete.execute(params![id])?;
                }
                for (index, id) in retries.iter().enumerate() {
                    let delay = match retry_delays.get(index).copied().filter(|d| !d.is_nan()) {
                        Some(seconds) => delay_ms(Some(seconds), None)?,
                        None => consumer.retry_delay_ms,
                    };
                    if let Some(dead_letter_queue) =
                        self.broker
                            .retry_one(c, "id = ?1", id, &consumer, delay, &mut events)?
                    {
                        if !woken.contains(&dead_letter_queue) {
                            woken.push(dead_letter_queue);
                        }
                    }
                }
                Ok(())
            })
            .map_err(to_napi)?;

            state.in_flight = state.in_flight.saturating_sub(1);
            self.broker
                .reschedule(&connection, &queue, state)
                .map_err(to_napi)?;
        }
        self.broker.wake_queues(&woken).map_err(to_napi)?;

        Ok(QueueSettleResult {
            acked: acks.len() as u32,
            retried: retries.len() as u32 - events.len() as u32,
            events,
        })
    }

    /// Leases up to `batchSize` messages for the pull consumer of `queue`
    /// for `visibilityTimeoutMs`, as production's pull endpoint does.
    #[napi]
    pub fn pull(
        &self,
        queue: String,
        batch_size: Option<f64>,
        visibility_timeout_ms: Option<f64>,
    ) -> napi::Result<Vec<QueueMessageRecord>> {
        let consumer = self.pull_consumer(&queue)?;
        let batch_size = batch_size.unwrap_or(DEFAULT_PULL_BATCH_SIZE as f64);
        if !batch_size.is_finite()
            || batch_size.fract() != 0.0
            || !(1.0..=MAX_CONSUMER_BATCH_SIZE as f64).contains(&batch_size)
        {
            return Err(to_napi(QueueError::InvalidPull {
                reason: format!("batch_size must be a whole number from 1 to {MAX_CONSUMER_BATCH_SIZE}, got {batch_size}"),
            }));
        }
        let visibility = match visibility_timeout_ms {
            None => consumer.visibility_timeout_ms,
            Some(ms) if ms.is_finite() && (0.0..=MAX_VISIBILITY_TIMEOUT_MS).contains(&ms) => {
                ms as i64
            }
            Some(ms) => {
                return Err(to_napi(QueueError::InvalidPull {
                    reason: format!(
                    "visibility_timeout_ms must be from 0 to {MAX_VISIBILITY_TIMEOUT_MS}, got {ms}"
                ),
                }))
            }
        };

        // NOTE: an expired pull lease makes the message visible again without
        // checking max_retries; only an explicit retry counts toward the limit.
        let lease_until = now_ms() + visibility;
        self.broker
            .database
            .write(|c| {
                self.broker
                    .lease(c, &queue, batch_size as u32, lease_until, true)
            })
            .map_err(to_napi)
    }

    /// Acknowledges and retries pulled messages by lease id. Unknown or
    /// expired lease ids are reported as warnings, as production does.
    #[napi]
    pub fn ack_pulled(
        &self,
        queue: String,
        acks: Vec<String>,
        retries: Vec<String>,
        retry_delays: Vec<f64>,
    ) -> napi::Result<QueuePullAckResult> {
        let consumer = self.pull_consumer(&queue)?;
        let mut warnings = Vec::new();
        let mut events = Vec::new();
        let mut ack_count = 0;
        let mut retry_count = 0;
        let mut woken = Vec::new();

        self.broker
            .database
            .write(|c| -> Result<(), QueueError> {
                let mut delete = c.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1 AND lease_id = ?2")?;
                for lease_id in &acks {
                    if delete.execute(params![queue, lease_id])? == 0 {
                        warnings.push(format!("lease_id {lease_id} is unknown or its lease has been given to another pull"));
                    } else {
                        ack_count += 1;
                    }
                }
                for (index, lease_id) in retries.iter().enumerate() {
                    let known: bool = c
                        .prepare_cached("SELECT 1 FROM queue_messages WHERE queue = ?1 AND lease_id = ?2")?
                        .query_row(params![queue, lease_id], |_| Ok(true))
                        .optional()?
                        .unwrap_or(false);
                    if !known {
                        warnings.push(format!("lease_id {lease_id} is unknown or its lease has been given to another pull"));
                        continue;
                    }
                    let delay = match retry_delays.get(index).copied().filter(|d| !d.is_nan()) {
                        Some(seconds) => delay_ms(Some(seconds), None)?,
                        None => consumer.retry_delay_ms,
                    };
                    if let Some(dead_letter_queue) = self.broker.retry_one(c, "lease_id = ?1", lease_id, &consumer, delay, &mut events)? {
                        woken.push(dead_letter_queue);
                    }
                    retry_count += 1;
                }
                Ok(())
            })
            .map_err(to_napi)?;
        self.broker.wake_queues(&woken).map_err(to_napi)?;

        Ok(QueuePullAckResult {
            ack_count,
            retry_count,
            warnings,
        })
    }

    /// Lists up to `limit` messages of `queue` without leasing them, oldest first.
    #[napi]
    pub fn list(&self, queue: String, limit: Option<u32>) -> napi::Result<Vec<QueueMessageRecord>> {
        let connection = self.broker.database.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, timestamp, attempts, content_type, body FROM queue_messages WHERE queue = ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| storage_error(e.into()))?;
        let rows = statement
            .query_map(params![queue, limit.unwrap_or(u32::MAX)], |row| {
                Ok(QueueMessageRecord {
                    id: row.get(0)?,
                    timestamp: row.get::<_, i64>(1)? as f64,
                    attempts: row.get(2)?,
                    content_type: row.get(3)?,
                    body: row.get::<_, Vec<u8>>(4)?.into(),
                    lease_id: None,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| storage_error(e.into()))?;
        Ok(rows)
    }

    /// Deletes every message of `queue` and returns how many there were.
    #[napi]
    pub fn purge(&self, queue: String) -> napi::Result<u32> {
        let deleted = self
            .broker
            .database
            .write(|c| {
                c.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1")?
                    .execute(params![queue])
            })
            .map_err(|e| storage_error(e.into()))?;
        Ok(deleted as u32)
    }

    /// Lists every queue that contains messages, with its message count.
    #[napi]
    pub fn queues(&self) -> napi::Result<Vec<QueueSummary>> {
        let connection = self.broker.database.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT queue, count(*) FROM queue_messages GROUP BY queue ORDER BY queue",
            )
            .map_err(|e| storage_error(e.into()))?;
        let rows = statement
            .query_map([], |row| {
                Ok(QueueSummary {
                    queue: row.get(0)?,
                    messages: row.get(1)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| storage_error(e.into()))?;
        Ok(rows)
    }

    fn pull_consumer(&self, queue: &str) -> napi::Result<Consumer> {
        match self.broker.consumers.lock().get(queue) {
            Some(state) if state.consumer.pull => Ok(state.consumer.clone()),
            _ => Err(to_napi(QueueError::NotPullConsumer {
                queue: queue.to_string(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_defaults_match_production() {
        let consumer = Consumer::from_settings("q", &QueueConsumerSettings::default()).unwrap();
        assert_eq!(consumer.batch_size, 10);
        assert_eq!(consumer.batch_timeout_ms, 5_000);
        assert_eq!(consumer.max_attempts, 4);
        assert_eq!(consumer.retry_delay_ms, 0);
        assert_eq!(consumer.max_concurrency, 250);
        assert!(!consumer.pull);
    }

    #[test]
    fn consumer_limits_are_enforced() {
        let cases = [
            (
                QueueConsumerSettings {
                    max_batch_size: Some(101.0),
                    ..Default::default()
                },
                "\"max_batch_size\" must be a whole number from 1 to 100, got 101",
            ),
            (
                QueueConsumerSettings {
                    max_batch_timeout: Some(61.0),
                    ..Default::default()
                },
                "\"max_batch_timeout\" must be from 0 to 60 seconds, got 61",
            ),
            (
                QueueConsumerSettings {
                    max_retries: Some(101.0),
                    ..Default::default()
                },
                "\"max_retries\" must be a whole number from 0 to 100, got 101",
            ),
            (
                QueueConsumerSettings {
                    r#type: Some("pull".into()),
                    ..Default::default()
                },
                "\"type\" must be \"worker\" or \"http_pull\", got \"pull\"",
            ),
            (
                QueueConsumerSettings {
                    dead_letter_queue: Some("q".into()),
                    ..Default::default()
                },
                "\"dead_letter_queue\" cannot be the queue itself",
            ),
        ];
        for (settings, reason) in cases {
            match Consumer::from_settings("q", &settings) {
                Err(QueueError::InvalidConsumer { reason: actual, .. }) => {
                    assert_eq!(actual, reason)
                }
                _ => panic!("expected {reason}"),
            }
        }
    }

    #[test]
    fn delays_must_be_whole_seconds_in_range() {
        assert_eq!(delay_ms(Some(3.0), Some(Call::Send)).unwrap(), 3_000);
        for bad in [-1.0, 1.5, 86_401.0, f64::NAN] {
            assert!(delay_ms(Some(bad), Some(Call::Send)).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_32_hex_digits_and_unique() {
        let ids = IdGenerator::new();
        let (a, b) = (ids.next(), ids.next());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
