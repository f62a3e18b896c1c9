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
    // 2: R2. Object bodies are files under `r2/<bucket>/blobs/`, named by
    // `blob_id`, never the key. Keys are UTF-8 bytes as BLOBs so that
    // `ORDER BY key` is production's list order. `uploaded` is in
    // milliseconds since the epoch; the metadata columns hold JSON text.
    // An upload's `state` is 0 in progress, 1 completed, 2 aborted.
    "CREATE TABLE r2_objects (
        bucket TEXT NOT NULL,
        key BLOB NOT NULL,
        blob_id TEXT NOT NULL,
        version TEXT NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        uploaded INTEGER NOT NULL,
        checksums TEXT NOT NULL,
        http_metadata TEXT NOT NULL,
        custom_metadata TEXT NOT NULL,
        storage_class TEXT NOT NULL,
        PRIMARY KEY (bucket, key)
    );
    CREATE TABLE r2_uploads (
        bucket TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        key BLOB NOT NULL,
        http_metadata TEXT NOT NULL,
        custom_metadata TEXT NOT NULL,
        storage_class TEXT NOT NULL,
        state INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (bucket, upload_id)
    );
    CREATE TABLE r2_parts (
        bucket TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        blob_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        md5 TEXT NOT NULL,
        PRIMARY KEY (bucket, upload_id, part_number)
    );",
];
