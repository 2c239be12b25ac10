//! Fresh databases for tests: a temporary SQLite file, or a PostgreSQL database of its own that is dropped
//! when the test ends. Without a reachable PostgreSQL, PostgreSQL tests are skipped with a printed notice —
//! never silently — unless `BUYNOW_REQUIRE_POSTGRES=1` (as in CI), where that is a failure.

use crate::{Backend, Store};
use std::sync::atomic::{AtomicU64, Ordering};

/// The server the PostgreSQL tests use (trust auth); each test makes and drops its own database in it.
pub fn postgres_admin_url() -> String {
    std::env::var("BUYNOW_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The back end the server test suite runs on: `BUYNOW_TEST_BACKEND=postgres`, else SQLite.
pub fn backend_under_test() -> Backend {
    match std::env::var("BUYNOW_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(
        #[expect(dead_code, reason = "held for its Drop: the directory lives as long as the database")]
        tempfile::TempDir,
    ),
    Postgres {
        name: String,
    },
}

impl TestDb {
    pub async fn new(backend: Backend, test: &str) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => TestDb::postgres(test).await,
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("buynow.db").display());
        TestDb { url, kind: Kind::Sqlite(dir) }
    }

    /// A new, empty database; `None` (after saying so) when PostgreSQL is not there.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let admin = postgres_admin_url();
        let name = format!(
            "buynow_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            crate::now_micros() % 1_000_000
        );
        let created = async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&admin).await?;
            sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str()).await?;
            c.close().await
        };
        match created.await {
            Ok(()) => {}
            Err(e) if std::env::var("BUYNOW_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("PostgreSQL is required here but not usable at {admin}: {e}")
            }
            Err(e) => {
                // Written to stderr directly: the test harness hides eprintln! of a passing test.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "SKIPPED on PostgreSQL: {test} (no PostgreSQL at {admin}: {e})");
                return None;
            }
        }
        let (base, _) = admin.rsplit_once('/').expect("a database URL has a path");
        Some(TestDb { url: format!("{base}/{name}"), kind: Kind::Postgres { name } })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Kind::Postgres { name } = &self.kind else { return };
        let (admin, name) = (postgres_admin_url(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own does the work.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::Executor::execute(&mut c, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                c.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}", self.url);
        }
    }
}
