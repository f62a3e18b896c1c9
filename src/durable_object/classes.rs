//! Durable Object classes and the config's `migrations`, recorded in
//! `data.sqlite`. A class exists once a migration created it, and its
//! storage backend (KV or SQLite) is fixed at that moment, as in production.

use super::DoError;
use crate::storage::DataDir;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The storage backend of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// `new_classes`: the KV API only, with the 2 KiB key and 128 KiB value limits.
    Kv,
    /// `new_sqlite_classes`: the KV API and `ctx.storage.sql` in one database.
    Sqlite,
}

impl StorageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Kv => "kv",
            StorageKind::Sqlite => "sqlite",
        }
    }
}

struct Rename {
    from: String,
    to: String,
}

/// One entry of the config's `migrations`, with wrangler's key names. The
/// config loader has type-checked it, so absent or mistyped lists are empty.
struct Migration {
    tag: String,
    new_classes: Vec<String>,
    new_sqlite_classes: Vec<String>,
    renamed_classes: Vec<Rename>,
    deleted_classes: Vec<String>,
}

fn strings(entry: &serde_json::Value, key: &str) -> Vec<String> {
    entry[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_migrations(json: &str) -> Result<Vec<Migration>, DoError> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(json)
        .map_err(|error| DoError::Migration(format!("invalid migrations: {error}")))?;
    entries
        .iter()
        .map(|entry| {
            let tag = entry["tag"].as_str().ok_or_else(|| {
                DoError::Migration("each migration needs a \"tag\" string".into())
            })?;
            let renamed_classes = entry["renamed_classes"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| {
                            Some(Rename {
                                from: item["from"].as_str()?.to_string(),
                                to: item["to"].as_str()?.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Migration {
                tag: tag.to_string(),
                new_classes: strings(entry, "new_classes"),
                new_sqlite_classes: strings(entry, "new_sqlite_classes"),
                renamed_classes,
                deleted_classes: strings(entry, "deleted_classes"),
            })
        })
        .collect()
}

/// Returns the backend of `class` and the key its ids derive from, or
/// production's error for a class that no migration created.
pub fn class_info(data: &DataDir, class: &str) -> Result<(StorageKind, String), DoError> {
    let connection = data.main().lock();
    let row: Option<(String, String)> = connection
        .prepare_cached("SELECT storage, namespace_key FROM do_classes WHERE class = ?1")?
        .query_row([class], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match row {
        Some((storage, key)) if storage == "sqlite" => Ok((StorageKind::Sqlite, key)),
        Some((_, key)) => Ok((StorageKind::Kv, key)),
        None => Err(DoError::NoMigration {
            class: class.to_string(),
        }),
    }
}

/// Returns the backend of `class`, or production's error for a class that
/// no migration created.
pub fn class_storage_kind(data: &DataDir, class: &str) -> Result<StorageKind, DoError> {
    Ok(class_info(data, class)?.0)
}

fn class_exists(connection: &Connection, class: &str) -> Result<bool, DoError> {
    Ok(connection
        .prepare_cached("SELECT 1 FROM do_classes WHERE class = ?1")?
        .query_row([class], |_| Ok(()))
        .optional()?
        .is_some())
}

fn io_error(path: &Path, error: std::io::Error) -> DoError {
    DoError::Migration(format!("{}: {error}", path.display()))
}

/// Applies each migration whose tag has not been applied yet, in order, and
/// returns the tags it applied. Class folders under `do/` are renamed or
/// removed with their class.
// NOTE: the messages for invalid migrations are bunflare's; production
// rejects the same migrations at deploy time.
pub fn apply_migrations(data: &DataDir, json: &str) -> Result<Vec<String>, DoError> {
    let migrations = parse_migrations(json)?;
    let folder = data.root().map(|root| root.join("do"));
    let mut applied = Vec::new();

    for migration in migrations {
        let done = data.main().write(|connection| -> Result<bool, DoError> {
            let seen = connection
                .prepare_cached("SELECT 1 FROM do_migration_tags WHERE tag = ?1")?
                .query_row([&migration.tag], |_| Ok(()))
                .optional()?
                .is_some();
            if seen {
                return Ok(false);
            }

            let created = migration.new_classes.iter().map(|c| (c, StorageKind::Kv));
            let created_sqlite = migration
                .new_sqlite_classes
                .iter()
                .map(|c| (c, StorageKind::Sqlite));
            for (class, kind) in created.chain(created_sqlite) {
                if class_exists(connection, class)? {
                    return Err(DoError::Migration(format!(
                        "migration {:?} cannot create class {class:?}: it already exists",
                        migration.tag
                    )));
                }
                connection.execute(
                    "INSERT INTO do_classes (class, storage, namespace_key) VALUES (?1, ?2, ?1)",
                    params![class, kind.as_str()],
                )?;
            }

            for rename in &migration.renamed_classes {
                if !class_exists(connection, &rename.from)? {
                    return Err(DoError::Migration(format!(
                        "migration {:?} cannot rename class {:?}: no migration created it",
                        migration.tag, rename.from
                    )));
                }
                if class_exists(connection, &rename.to)? {
                    return Err(DoError::Migration(format!(
                        "migration {:?} cannot rename {:?} to {:?}: that class already exists",
                        migration.tag, rename.from, rename.to
                    )));
                }
                connection.execute(
                    "UPDATE do_classes SET class = ?2 WHERE class = ?1",
                    params![rename.from, rename.to],
                )?;
                connection.execute(
                    "UPDATE do_alarms SET class = ?2 WHERE class = ?1",
                    params![rename.from, rename.to],
                )?;
                connection.execute(
                    "UPDATE do_bookmarks SET class = ?2 WHERE class = ?1",
                    params![rename.from, rename.to],
                )?;
                if let Some(folder) = &folder {
                    let (from, to) = (folder.join(&rename.from), folder.join(&rename.to));
                    if from.exists() {
                        std::fs::rename(&from, &to).map_err(|error| io_error(&from, error))?;
                    }
                }
            }

            for class in &migration.deleted_classes {
                if !class_exists(connection, class)? {
                    return Err(DoError::Migration(format!(
                        "migration {:?} cannot delete class {class:?}: no migration created it",
                        migration.tag
                    )));
                }
                for table in ["do_classes", "do_alarms", "do_bookmarks"] {
                    connection
                        .execute(&format!("DELETE FROM {table} WHERE class = ?1"), [class])?;
                }
                if let Some(folder) = &folder {
                    let path = folder.join(class);
                    if path.exists() {
                        std::fs::remove_dir_all(&path).map_err(|error| io_error(&path, error))?;
                    }
                }
            }

            connection.execute(
                "INSERT INTO do_migration_tags (tag, applied_at) VALUES (?1, ?2)",
                params![migration.tag, crate::clock::now_ms()],
            )?;
            Ok(true)
        })?;
        if done {
            applied.push(migration.tag);
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_create_rename_and_delete() {
        let data = DataDir::open(None).unwrap();
        let json = r#"[{"tag":"v1","new_sqlite_classes":["A"],"new_classes":["B"]},
                       {"tag":"v2","renamed_classes":[{"from":"A","to":"C"}],"deleted_classes":["B"]}]"#;
        assert_eq!(apply_migrations(&data, json).unwrap(), ["v1", "v2"]);
        assert_eq!(class_storage_kind(&data, "C").unwrap(), StorageKind::Sqlite);
        assert!(matches!(
            class_storage_kind(&data, "A"),
            Err(DoError::NoMigration { .. })
        ));
        assert!(matches!(
            class_storage_kind(&data, "B"),
            Err(DoError::NoMigration { .. })
        ));
        // Applied tags are skipped on the next start.
        assert!(apply_migrations(&data, json).unwrap().is_empty());
    }

    #[test]
    fn renaming_a_missing_class_fails() {
        let data = DataDir::open(None).unwrap();
        let error = apply_migrations(
            &data,
            r#"[{"tag":"v1","renamed_classes":[{"from":"X","to":"Y"}]}]"#,
        )
        .unwrap_err();
        assert!(matches!(error, DoError::Migration(_)), "{error}");
    }
}
