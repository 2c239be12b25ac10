//! Embedded, ordered migrations: the binary carries its schema, so `buynow` needs no files beside it.

use crate::{args, Backend, Conn, StoreError};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_spine.sql")),
    (2, include_str!("../migrations/sqlite/0002_due_jobs_only.sql")),
    (3, include_str!("../migrations/sqlite/0003_fulfillment.sql")),
    (4, include_str!("../migrations/sqlite/0004_notifications.sql")),
    (5, include_str!("../migrations/sqlite/0005_vault_envelopes.sql")),
    (6, include_str!("../migrations/sqlite/0006_gift_cards.sql")),
    (7, include_str!("../migrations/sqlite/0007_payment_settings.sql")),
    (8, include_str!("../migrations/sqlite/0008_payment_reconciliation.sql")),
    (9, include_str!("../migrations/sqlite/0009_split_tender.sql")),
    (10, include_str!("../migrations/sqlite/0010_card_authentication.sql")),
    (11, include_str!("../migrations/sqlite/0011_audit_trail.sql")),
    (12, include_str!("../migrations/sqlite/0012_support_cases.sql")),
    (13, include_str!("../migrations/sqlite/0013_session_idle.sql")),
    (14, include_str!("../migrations/sqlite/0014_sealed_personal_data.sql")),
    (15, include_str!("../migrations/sqlite/0015_request_ids.sql")),
    (16, include_str!("../migrations/sqlite/0016_dead_deliveries.sql")),
    (17, include_str!("../migrations/sqlite/0017_bounded_growth.sql")),
    (18, include_str!("../migrations/sqlite/0018_compact_idempotency_keys.sql")),
    (19, include_str!("../migrations/sqlite/0019_ended_sessions.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_spine.sql")),
    (2, include_str!("../migrations/postgres/0002_room_for_updates.sql")),
    (3, include_str!("../migrations/postgres/0003_order_rows_without_foreign_keys.sql")),
    (4, include_str!("../migrations/postgres/0004_timeline_keyed_by_order.sql")),
    (5, include_str!("../migrations/postgres/0005_due_jobs_only.sql")),
    (6, include_str!("../migrations/postgres/0006_fulfillment.sql")),
    (7, include_str!("../migrations/postgres/0007_notifications.sql")),
    (8, include_str!("../migrations/postgres/0008_vault_envelopes.sql")),
    (9, include_str!("../migrations/postgres/0009_gift_cards.sql")),
    (10, include_str!("../migrations/postgres/0010_payment_settings.sql")),
    (11, include_str!("../migrations/postgres/0011_payment_reconciliation.sql")),
    (12, include_str!("../migrations/postgres/0012_split_tender.sql")),
    (13, include_str!("../migrations/postgres/0013_card_authentication.sql")),
    (14, include_str!("../migrations/postgres/0014_audit_trail.sql")),
    (15, include_str!("../migrations/postgres/0015_support_cases.sql")),
    (16, include_str!("../migrations/postgres/0016_session_idle.sql")),
    (17, include_str!("../migrations/postgres/0017_sealed_personal_data.sql")),
    (18, include_str!("../migrations/postgres/0018_request_ids.sql")),
    (19, include_str!("../migrations/postgres/0019_dead_deliveries.sql")),
    (20, include_str!("../migrations/postgres/0020_bounded_growth.sql")),
    (21, include_str!("../migrations/postgres/0021_autovacuum_for_hot_tables.sql")),
    (22, include_str!("../migrations/postgres/0022_compact_idempotency_keys.sql")),
    (23, include_str!("../migrations/postgres/0023_ended_sessions.sql")),
];

/// Applies the migrations not applied yet, up to `until` (every one: `i64::MAX`).
pub(crate) async fn run(c: &mut Conn<'_>, until: i64) -> Result<(), StoreError> {
    let backend = c.backend();
    let (migrations, begin) = match backend {
        // IMMEDIATE: two processes starting at once must not both apply a migration.
        Backend::Sqlite => (SQLITE, "BEGIN IMMEDIATE"),
        Backend::Postgres => (POSTGRES, "BEGIN"),
    };
    let created = c
        .batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .await;
    match created {
        // Two processes starting at once on a new PostgreSQL database: both see no table, and the slower one's
        // create fails on the catalog (`IF NOT EXISTS` does not cover the race): as a unique violation, or as
        // "relation" (42P07) or "type" (42710) "already exists". The table is there either way, and the lock
        // below orders the migrations.
        Err(e)
            if backend == Backend::Postgres
                && (e.is_unique_violation() || matches!(e.pg_code().as_deref(), Some("42P07" | "42710"))) => {}
        other => other?,
    }
    for &(version, sql) in migrations.iter().filter(|(v, _)| *v <= until) {
        c.batch(begin).await?;
        if backend == Backend::Postgres {
            // Serializes migrating processes without an advisory lock (DESIGN.md: none, for portability).
            c.batch("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await?;
        }
        let applied = c.opt("SELECT version FROM schema_migrations WHERE version = $1", args![version]).await;
        let result = match applied {
            Ok(Some(_)) => Ok(()),
            Ok(None) => apply(c, version, sql).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => c.batch("COMMIT").await?,
            Err(e) => {
                let _ = c.batch("ROLLBACK").await;
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn apply(c: &mut Conn<'_>, version: i64, sql: &str) -> Result<(), StoreError> {
    c.batch(sql).await?;
    if (c.backend(), version) == (Backend::Sqlite, 18) {
        // What SQL cannot do on SQLite; the same transaction as the SQL.
        crate::idempotency::carry_text_keys_over(c).await?;
    }
    c.exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", args![version, crate::now_micros()])
        .await?;
    tracing::info!(version, "applied migration");
    Ok(())
}
