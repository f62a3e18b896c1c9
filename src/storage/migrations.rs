//! Ordered schema migrations for `data.sqlite`.
//!
//! `PRAGMA user_version` records how many entries of `MIGRATIONS` have been
//! applied. Append new steps; never edit one that has shipped, because data
//! directories created by older builds have already run it.

/// Each entry is one migration, applied in its own transaction.
pub const MIGRATIONS: &[&str] = &[
    // 1: Workers KV. Keys are the UTF-8 bytes of the key as a BLOB, which
    // SQLite compares with memcmp, so `ORDER BY key` is production's byte
    // order and a prefix is a byte range (NUL and pattern characters
    // included). `expiration` is in seconds since the epoch. A rowid table
    // (not WITHOUT ROWID) because values reach 25 MiB.
    "CREATE TABLE kv_entries (
        namespace TEXT NOT NULL,
        key BLOB NOT NULL,
        value BLOB NOT NULL,
        expiration INTEGER,
        metadata TEXT,
        UNIQUE (namespace, key)
    );
    CREATE INDEX kv_entries_expiration ON kv_entries (expiration) WHERE expiration IS NOT NULL;",
    // Cache API (src/cache.rs). One row per cached URL of each cache; `cache`
    // is "default" or "named:<name>". `headers` is a JSON array of name/value
    // strings; `expires_at` is in milliseconds since the epoch.
    "CREATE TABLE cache_entries (
        cache TEXT NOT NULL,
        url TEXT NOT NULL,
        status INTEGER NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (cache, url)
    );",
];
