//! Ordered schema migrations for `data.sqlite`.
//!
//! `PRAGMA user_version` records how many entries of `MIGRATIONS` have been
//! applied. Append new steps; never edit one that has shipped, because data
//! directories created by older builds have already run it.

/// Each entry is one migration, applied in its own transaction.
pub const MIGRATIONS: &[&str] = &[
    // 1: Workers KV. Keys are TEXT with SQLite's BINARY collation, which
    // compares UTF-8 bytes, so `ORDER BY key` is production's byte order.
    // A rowid table (not WITHOUT ROWID) because values reach 25 MiB.
    "CREATE TABLE kv_entries (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        expiration INTEGER,
        metadata TEXT,
        UNIQUE (namespace, key)
    );
    CREATE INDEX kv_entries_expiration ON kv_entries (expiration) WHERE expiration IS NOT NULL;",
];
