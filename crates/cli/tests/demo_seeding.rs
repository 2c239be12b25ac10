//! Two `buynow serve --demo` started at the same moment on a new PostgreSQL database: both come up, and the
//! demo is seeded once.

use buynow_store::testing::TestDb;
use buynow_store::Store;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_servers_starting_at_once_seed_the_demo_once() {
    let Some(db) = TestDb::postgres("demo seeding").await else { return };
    let url = db.url().to_string();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_buynow"))
            .args(["serve", "--demo", "--no-simulation", "--addr", "127.0.0.1:0", "--database", &url])
            .env("BUYNOW_VAULT_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start buynow")
    };
    let mut servers = [start(), start()];
    for server in &mut servers {
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if !line.contains("http://") {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut err);
            panic!("a demo server did not come up: {line}{err}");
        }
    }
    let store = Store::open(&url).await.unwrap();
    let count = |sql: &'static str| {
        let store = store.clone();
        async move { store.read().await.unwrap().conn().one(sql, vec![]).await.unwrap().int(0).unwrap() }
    };
    // One customer: the demo's (its e-mail is sealed, so it is counted, not looked up).
    assert_eq!(count("SELECT COUNT(*) FROM customers").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM sellers").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM products").await, 12);
    for mut server in servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    store.close().await;
}
