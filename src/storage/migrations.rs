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
    // Queues. One row per message until it is acknowledged, dropped or
    // purged. `visible_at` (milliseconds) is when consumers may take it; a
    // leased message has it moved forward. `leased` is 0 (waiting), 1 (a
    // push consumer holds it) or 2 (a pull consumer holds it until
    // `visible_at`). `content_type` is 0 text, 1 json, 2 bytes, 3 v8.
    "CREATE TABLE queue_messages (
        seq INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        id TEXT NOT NULL UNIQUE,
        body BLOB NOT NULL,
        content_type INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        leased INTEGER NOT NULL,
        lease_id TEXT
    );
    CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at);
    CREATE INDEX queue_messages_lease ON queue_messages (lease_id) WHERE lease_id IS NOT NULL;",
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
    // Workflows (src/workflow.rs). `workflow_instances` has one row per
    // instance; `generation` grows on terminate and restart so a stopped
    // run's calls change nothing, and `steps` counts the step rows for the
    // step limit. `workflow_steps` holds each step by kind,
    // name and occurrence (`count`), with its persisted result (`output`,
    // serialized by JavaScript), its attempts as JSON and `wake_at`, the
    // deadline (ms) of a sleep, retry, attempt timeout or event timeout.
    // `workflow_events` buffers sent events until a wait takes them.
    "CREATE TABLE workflow_instances (
        workflow TEXT NOT NULL,
        id TEXT NOT NULL,
        status TEXT NOT NULL,
        generation INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        params BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        ended_at INTEGER,
        output BLOB,
        error_name TEXT,
        error_message TEXT,
        UNIQUE (workflow, id)
    );
    CREATE INDEX workflow_instances_status ON workflow_instances (workflow, status);
    CREATE TABLE workflow_steps (
        workflow TEXT NOT NULL,
        instance TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        status TEXT NOT NULL,
        config TEXT,
        attempts INTEGER NOT NULL,
        attempt_log TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        wake_at INTEGER,
        output BLOB,
        error_name TEXT,
        error_message TEXT,
        event_type TEXT,
        event_timestamp INTEGER,
        UNIQUE (workflow, instance, kind, name, count)
    );
    CREATE TABLE workflow_events (
        seq INTEGER PRIMARY KEY,
        workflow TEXT NOT NULL,
        instance TEXT NOT NULL,
        type TEXT NOT NULL,
        payload BLOB NOT NULL,
        timestamp INTEGER NOT NULL
    );
    CREATE INDEX workflow_events_instance ON workflow_events (workflow, instance, type, seq);",
];
