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
    // 2: Durable Objects. `do_classes` contains each class a config migration
    // created, with its backend ('kv' or 'sqlite') and the key its object ids
    // derive from (the name it was created with, kept across renames so ids
    // stay valid); `do_migration_tags` the
    // applied migration tags. `do_alarms` holds one alarm per object, in ms
    // since the epoch, indexed by time for the scheduler. `do_bookmarks`
    // holds the database snapshots that point-in-time bookmarks name.
    "CREATE TABLE do_classes (
        class TEXT PRIMARY KEY,
        storage TEXT NOT NULL CHECK (storage IN ('kv', 'sqlite')),
        namespace_key TEXT NOT NULL
    );
    CREATE TABLE do_migration_tags (tag TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);
    CREATE TABLE do_alarms (
        class TEXT NOT NULL,
        object_id TEXT NOT NULL,
        scheduled_time INTEGER NOT NULL,
        PRIMARY KEY (class, object_id)
    );
    CREATE INDEX do_alarms_time ON do_alarms (scheduled_time);
    CREATE TABLE do_bookmarks (
        class TEXT NOT NULL,
        object_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        bookmark TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        image BLOB NOT NULL,
        PRIMARY KEY (class, object_id, sequence)
    );",
];
