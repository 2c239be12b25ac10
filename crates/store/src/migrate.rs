//! Embedded, ordered migrations: the binary carries its schema, so `buynow` needs no files beside it.

use crate::StoreError;
use sqlx::sqlite::SqliteConnection;

const SQLITE: &[(i64, &str)] = &[(1, include_str!("../migrations/sqlite/0001_spine.sql"))];

pub(crate) async fn run(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    for &(version, sql) in SQLITE {
        // IMMEDIATE: two processes starting at once must not both apply a migration.
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?;
        if applied.is_none() {
            sqlx::raw_sql(sql).execute(&mut *conn).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(crate::now_micros())
                .execute(&mut *conn)
                .await?;
            tracing::info!(version, "applied migration");
        }
        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    }
    Ok(())
}
