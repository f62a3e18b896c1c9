//! bunflare's native addon: every storage engine behind the Workers bindings,
//! loaded in-process by Bun through napi-rs.
//!
//! Each engine is one module. `storage` owns the data directory and its SQLite
//! connections, and `clock` is the one time source every engine reads.

pub mod cache;
pub mod clock;
pub mod cron;
pub mod d1;
pub mod errors;
pub mod kv;
pub mod queue;
pub mod scheduler;
pub mod storage;
pub mod workflow;
