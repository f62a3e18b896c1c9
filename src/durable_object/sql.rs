//! `ctx.storage.sql.exec` for SQLite-backed classes, with production's
//! restrictions: no transaction statements and no access to `_cf_` tables.

use super::DoError;
use crate::d1::{parse_params, split_statements, write_result_rows};
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;
use std::cell::{Cell, RefCell};

thread_local! {
    /// True while user SQL is being prepared; the engine's own SQL is not checked.
    static PREPARING_USER_SQL: Cell<bool> = const { Cell::new(false) };
    static REJECTED_TRANSACTION: Cell<bool> = const { Cell::new(false) };
    static REJECTED_TABLE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Returns the table an action names, for the reserved-name check.
fn table_of<'a>(action: &AuthAction<'a>) -> Option<&'a str> {
    match *action {
        AuthAction::Read { table_name, .. }
        | AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
        | AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::AlterTable { table_name, .. }
        | AuthAction::CreateIndex { table_name, .. }
        | AuthAction::CreateTrigger { table_name, .. } => Some(table_name),
        _ => None,
    }
}

/// Runs at prepare time only, so cached statements cost nothing here.
pub fn authorize(context: AuthContext<'_>) -> Authorization {
    if !PREPARING_USER_SQL.get() {
        return Authorization::Allow;
    }
    if matches!(
        context.action,
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. }
    ) {
        REJECTED_TRANSACTION.set(true);
        return Authorization::Deny;
    }
    if let Some(table) = table_of(&context.action) {
        if table.starts_with("_cf_") {
            REJECTED_TABLE.with_borrow_mut(|rejected| *rejected = Some(table.to_string()));
            return Authorization::Deny;
        }
    }
    Authorization::Allow
}

fn prepare_user<'c>(
    connection: &'c Connection,
    sql: &str,
) -> Result<rusqlite::CachedStatement<'c>, DoError> {
    PREPARING_USER_SQL.set(true);
    REJECTED_TRANSACTION.set(false);
    REJECTED_TABLE.with_borrow_mut(|rejected| *rejected = None);
    let prepared = connection.prepare_cached(sql);
    PREPARING_USER_SQL.set(false);

    match prepared {
        Ok(statement) => Ok(statement),
        Err(_) if REJECTED_TRANSACTION.get() => Err(DoError::TransactionStatement),
        Err(error) => match REJECTED_TABLE.with_borrow_mut(|rejected| rejected.take()) {
            Some(table) => Err(DoError::ReservedTable { table }),
            None => Err(error.into()),
        },
    }
}

/// All rows of the last statement, as `{"columns":[…],"rows":[[…]]}`.
pub struct SqlResult {
    pub json: String,
    pub rows_read: u64,
    pub rows_written: u64,
}

/// Runs one or more statements; bindings are consumed in order, and the
/// rows of the last statement are returned.
pub fn exec(
    connection: &Connection,
    sql: &str,
    bindings_json: Option<&str>,
) -> Result<SqlResult, DoError> {
    let params =
        parse_params(bindings_json).map_err(|error| DoError::InvalidValue(error.to_string()))?;
    let statements = split_statements(sql);
    let mut result = SqlResult {
        json: String::from("{\"columns\":[],\"rows\":[]}"),
        rows_read: 0,
        rows_written: 0,
    };
    let mut remaining = &params[..];

    // The implicit transaction is open, so a savepoint makes a failing
    // multi-statement call all-or-nothing without committing anything.
    let several = statements.len() > 1;
    if several {
        connection.execute_batch("SAVEPOINT _cf_exec")?;
    }
    let outcome = (|| {
        for (index, statement_sql) in statements.iter().enumerate() {
            let last = index + 1 == statements.len();
            let mut statement = prepare_user(connection, statement_sql)?;
            let needed = if last {
                remaining.len()
            } else {
                statement.parameter_count().min(remaining.len())
            };
            let (own, rest) = remaining.split_at(needed);
            remaining = rest;
            if statement.parameter_count() != own.len() {
                return Err(DoError::WrongParameterCount {
                    expected: statement.parameter_count(),
                    bound: own.len(),
                });
            }
            for (position, value) in own.iter().enumerate() {
                statement.raw_bind_parameter(position + 1, value)?;
            }
            result.json.clear();
            run(connection, &mut statement, &mut result)?;
        }
        Ok(())
    })();
    if several {
        if outcome.is_err() {
            let _ = connection.execute_batch("ROLLBACK TO _cf_exec");
        }
        connection.execute_batch("RELEASE _cf_exec")?;
    }
    outcome?;
    Ok(result)
}

fn run(
    connection: &Connection,
    statement: &mut rusqlite::CachedStatement<'_>,
    result: &mut SqlResult,
) -> Result<(), DoError> {
    let changes_before = connection.total_changes();
    let rows_read = write_result_rows(&mut result.json, statement)?;
    result.json.push_str("]}");

    // NOTE: production counts rows read per row scanned and rows written per
    // table and index row. Here rowsRead is the larger of rows returned and
    // full-scan steps, and rowsWritten counts changed rows.
    result.rows_read += rows_read;
    result.rows_written += connection.total_changes() - changes_before;
    Ok(())
}

/// The database file's size in bytes, as `sql.databaseSize` reports it.
pub fn database_size(connection: &Connection) -> Result<i64, DoError> {
    let mut statement = connection.prepare_cached(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    )?;
    Ok(statement.query_row([], |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(super::super::kv::SCHEMA).unwrap();
        connection.authorizer(Some(authorize)).unwrap();
        connection
    }

    #[test]
    fn exec_returns_last_statement_rows() {
        let c = connection();
        let result = exec(
            &c,
            "CREATE TABLE t (x); INSERT INTO t VALUES (?); SELECT x FROM t",
            Some("[7]"),
        )
        .unwrap();
        assert_eq!(result.json, r#"{"columns":["x"],"rows":[[7]]}"#);
        assert_eq!(result.rows_written, 1);
    }

    #[test]
    fn reserved_tables_are_rejected() {
        let c = connection();
        let error = exec(&c, "SELECT * FROM _cf_KV", None).err().unwrap();
        assert_eq!(
            error.to_string(),
            "access to _cf_KV is prohibited: SQLITE_AUTH"
        );
        let error = exec(&c, "CREATE TABLE _cf_mine (x)", None).err().unwrap();
        assert!(matches!(error, DoError::ReservedTable { .. }), "{error}");
    }

    #[test]
    fn transaction_statements_are_rejected() {
        let c = connection();
        for sql in ["BEGIN", "COMMIT", "SAVEPOINT a", "ROLLBACK"] {
            assert!(
                matches!(exec(&c, sql, None), Err(DoError::TransactionStatement)),
                "{sql}"
            );
        }
    }

    #[test]
    fn failed_statement_undoes_earlier_ones() {
        let c = connection();
        exec(&c, "CREATE TABLE t (x UNIQUE)", None).unwrap();
        c.execute_batch("BEGIN").unwrap();
        assert!(exec(
            &c,
            "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)",
            None
        )
        .is_err());
        let count = exec(&c, "SELECT count(*) FROM t", None).unwrap();
        assert_eq!(count.json, r#"{"columns":["count(*)"],"rows":[[0]]}"#);
    }
}
