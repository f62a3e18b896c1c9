//! bunflare's native addon: every storage engine behind the Workers bindings,
//! loaded in-process by Bun through napi-rs.
//!
//! Each engine is one module. `storage` owns the data directory and its SQLite
//! connections, and `clock` is the one time source every engine reads.

pub mod cache;
pub mod clock;
pub mod cron;
pub mod d1;
pub mod durable_object;
pub mod errors;
pub mod images;
pub mod kv;
pub mod queue;
pub mod scheduler;
pub mod r2;
pub mod storage;
pub mod workflow;
