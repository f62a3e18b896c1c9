//! Wiping and rolling back a whole data directory, for test isolation.
//!
//! `reset` empties every database: the rows of each table in `data.sqlite`
//! (its schema stays, so no migration runs again) and the whole schema of
//! each D1 database. `snapshot` copies every open database into memory with
//! SQLite's backup API, and `restore` copies those pages back, so a test can
//! roll back to the state its `beforeAll` hooks built.

use super::{DataDir, Database};
use crate::errors::StorageError;
use rusqlite::backup::Backup;
use rusqlite::config::DbConfig;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Pages copied per backup step: all of them, in one step, because a
/// partial copy would let a write slip in between steps and restart the backup.
const BACKUP_PAGES_PER_STEP: std::os::raw::c_int = std::os::raw::c_int::MAX;

/// In-memory copies of `data.sqlite` and of each D1 database that was open.
pub struct DataSnapshot {
    main: Connection,
    d1: HashMap<String, Connection>,
    /// In-memory Durable Object databases, by `<class>/<object id>`.
    objects: HashMap<String, Connection>,
}

impl DataDir {
    /// Empties every database of this directory. D1 files on disk that this
    /// process never opened (a CLI run left them) are deleted.
    pub fn reset(&self) -> Result<(), StorageError> {
        clear_rows(&self.main)?;

        let open = self.d1.lock();
        for database in open.values() {
            clear_schema(database)?;
        }

        if let Some(root) = &self.root {
            remove_unopened_d1_files(&root.join("d1"), |name| open.contains_key(name))?;
        }

        // Objects open now keep their database handle until they are
        // evicted, so the caller evicts them first; the data goes with the map.
        // NOTE: Durable Object files of an on-disk store are not removed.
        self.memory_objects.lock().clear();
        Ok(())
    }

    /// Copies every open database into memory.
    pub fn snapshot(&self) -> Result<DataSnapshot, StorageError> {
        let main = copy_to_memory(&self.main)?;
        let mut d1 = HashMap::new();
        for (name, database) in self.d1.lock().iter() {
            d1.insert(name.clone(), copy_to_memory(database)?);
        }
        let mut objects = HashMap::new();
        for (key, database) in self.memory_objects.lock().iter() {
            objects.insert(key.clone(), copy_to_memory(database)?);
        }
        Ok(DataSnapshot { main, d1, objects })
    }

    /// Puts every database back to its state in `snapshot`. A D1 database
    /// opened after the snapshot was taken did not exist then, so it is emptied.
    pub fn restore(&self, snapshot: &DataSnapshot) -> Result<(), StorageError> {
        copy_from_memory(&snapshot.main, &self.main)?;
        for (name, database) in self.d1.lock().iter() {
            match snapshot.d1.get(name) {
                Some(copy) => copy_from_memory(copy, database)?,
                None => clear_schema(database)?,
            }
        }

        // An object created after the snapshot did not exist then, so its database goes.
        let mut objects = self.memory_objects.lock();
        objects.retain(|key, _| snapshot.objects.contains_key(key));
        for (key, copy) in &snapshot.objects {
            let database = match objects.get(key) {
                Some(database) => database.clone(),
                None => {
                    let database = Arc::new(Database::open(None)?);
                    objects.insert(key.clone(), database.clone());
                    database
                }
            };
            copy_from_memory(copy, &database)?;
        }
        Ok(())
    }
}

/// Deletes every row of every table, keeping the schema and `user_version`.
fn clear_rows(database: &Database) -> Result<(), StorageError> {
    database.write(|connection| -> Result<(), StorageError> {
        // Table names come from sqlite_schema, so quoting them is enough.
        let tables: Vec<String> = connection
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for table in tables {
            connection.execute(
                &format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")),
                [],
            )?;
        }

        let has_sequence: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence')",
            [],
            |row| row.get(0),
        )?;
        if has_sequence {
            connection.execute("DELETE FROM sqlite_sequence", [])?;
        }
        Ok(())
    })
}

/// Drops the whole schema and content with SQLite's documented reset
/// procedure (SQLITE_DBCONFIG_RESET_DATABASE, then VACUUM).
fn clear_schema(database: &Database) -> Result<(), StorageError> {
    let connection = database.lock();
    connection.flush_prepared_statement_cache();
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_RESET_DATABASE, true)?;
    let vacuumed = connection.execute_batch("VACUUM");
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_RESET_DATABASE, false)?;
    vacuumed?;

    // The reset also clears the journal mode stored in the file header.
    if database.path().is_some() {
        connection.pragma_update(None, "journal_mode", "WAL")?;
    }
    Ok(())
}

fn copy_to_memory(database: &Database) -> Result<Connection, StorageError> {
    let source = database.lock();
    let mut copy = Connection::open_in_memory()?;
    Backup::new(&source, &mut copy)?.run_to_completion(
        BACKUP_PAGES_PER_STEP,
        Duration::ZERO,
        None,
    )?;
    Ok(copy)
}

fn copy_from_memory(copy: &Connection, database: &Database) -> Result<(), StorageError> {
    let mut target = database.lock();
    target.flush_prepared_statement_cache();
    Backup::new(copy, &mut target)?.run_to_completion(
        BACKUP_PAGES_PER_STEP,
        Duration::ZERO,
        None,
    )?;
    Ok(())
}

/// Deletes `<name>.sqlite` (with its `-wal` and `-shm` files) for each D1
/// database in `dir` for which `is_open` returns false.
fn remove_unopened_d1_files(
    dir: &std::path::Path,
    is_open: impl Fn(&str) -> bool,
) -> Result<(), StorageError> {
    let io_error = |source| StorageError::Io {
        path: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(error)),
    };
    for entry in entries {
        let path = entry.map_err(io_error)?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sqlite"))
        else {
            continue;
        };
        if is_open(name) {
            continue;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.join(format!("{name}.sqlite{suffix}"));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StorageError::Io {
                        path: file.display().to_string(),
                        source,
                    })
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(database: &Database, sql: &str) -> i64 {
        database
            .lock()
            .query_row(sql, [], |row| row.get(0))
            .unwrap()
    }

    fn open_with_data(root: Option<&std::path::Path>) -> DataDir {
        let data = DataDir::open(root).unwrap();
        data.main()
            .lock()
            .execute(
                "INSERT INTO kv_entries (namespace, key, value) VALUES ('ns', x'61', x'62')",
                [],
            )
            .unwrap();
        data.d1("db")
            .unwrap()
            .lock()
            .execute_batch("CREATE TABLE t (a); INSERT INTO t VALUES (1);")
            .unwrap();
        data
    }

    #[test]
    fn reset_empties_tables_and_d1_schema() {
        let dir = tempfile::tempdir().unwrap();
        let data = open_with_data(Some(dir.path()));
        data.reset().unwrap();

        assert_eq!(count(data.main(), "SELECT count(*) FROM kv_entries"), 0);
        let d1 = data.d1("db").unwrap();
        assert_eq!(count(&d1, "SELECT count(*) FROM sqlite_schema"), 0);
        let mode: String = d1
            .lock()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reset_deletes_d1_files_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        drop(open_with_data(Some(dir.path())));
        let data = DataDir::open(Some(dir.path())).unwrap();
        data.reset().unwrap();
        assert!(!dir.path().join("d1/db.sqlite").exists());
    }

    #[test]
    fn restore_returns_to_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let data = open_with_data(Some(dir.path()));
        let snapshot = data.snapshot().unwrap();

        data.main()
            .lock()
            .execute("DELETE FROM kv_entries", [])
            .unwrap();
        data.d1("db")
            .unwrap()
            .lock()
            .execute_batch("INSERT INTO t VALUES (2); CREATE TABLE u (b);")
            .unwrap();
        data.d1("later")
            .unwrap()
            .lock()
            .execute_batch("CREATE TABLE v (c);")
            .unwrap();
        data.restore(&snapshot).unwrap();

        assert_eq!(count(data.main(), "SELECT count(*) FROM kv_entries"), 1);
        assert_eq!(count(&data.d1("db").unwrap(), "SELECT count(*) FROM t"), 1);
        assert_eq!(
            count(
                &data.d1("db").unwrap(),
                "SELECT count(*) FROM sqlite_schema"
            ),
            1
        );
        assert_eq!(
            count(
                &data.d1("later").unwrap(),
                "SELECT count(*) FROM sqlite_schema"
            ),
            0
        );
    }

    #[test]
    fn restore_works_in_memory() {
        let data = open_with_data(None);
        let snapshot = data.snapshot().unwrap();
        data.reset().unwrap();
        data.restore(&snapshot).unwrap();
        assert_eq!(count(data.main(), "SELECT count(*) FROM kv_entries"), 1);
        assert_eq!(count(&data.d1("db").unwrap(), "SELECT count(*) FROM t"), 1);
    }

    #[test]
    fn memory_objects_survive_close_and_follow_restore() {
        let data = DataDir::open(None).unwrap();
        let seeded = data.durable_object("A/seeded", None).unwrap();
        seeded.lock().execute_batch("CREATE TABLE t (a); INSERT INTO t VALUES (1);").unwrap();
        drop(seeded);

        // The database outlives its last handle, as an evicted object's must.
        let reopened = data.durable_object("A/seeded", None).unwrap();
        assert_eq!(count(&reopened, "SELECT count(*) FROM t"), 1);

        let snapshot = data.snapshot().unwrap();
        reopened.lock().execute("INSERT INTO t VALUES (2)", []).unwrap();
        data.durable_object("A/later", None).unwrap();
        data.restore(&snapshot).unwrap();

        assert_eq!(data.memory_object_keys(), vec!["A/seeded".to_string()]);
        assert_eq!(count(&data.durable_object("A/seeded", None).unwrap(), "SELECT count(*) FROM t"), 1);

        data.reset().unwrap();
        assert!(data.memory_object_keys().is_empty());
    }
}
