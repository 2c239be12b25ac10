//! The OpenAPI document against the server it describes, as a client generator or a fuzzer sees them:
//! schemathesis (from PyPI) with every check it has, against `buynow serve --demo`, once as the demo customer
//! and once with the admin key, for `BUYNOW_SCHEMATHESIS_SECONDS` each (45 when unset; the acceptance
//! run was 300). Any failure it finds fails this test, with schemathesis's report and the seed to replay it.
//!
//! Where schemathesis is not installed the test says it was skipped, unless `BUYNOW_REQUIRE_SCHEMATHESIS=1`
//! (as in CI), where that is a failure.

mod common;

use common::{call, spawn, url_in, ADMIN};
use serde_json::json;
use std::path::Path;
use std::process::Command;

fn schemathesis_installed() -> bool {
    Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_the_document_and_the_server_disagree_on() {
    if !schemathesis_installed() {
        assert_ne!(
            std::env::var("BUYNOW_REQUIRE_SCHEMATHESIS").as_deref(),
            Ok("1"),
            "schemathesis is required here (pip install schemathesis)"
        );
        eprintln!("SKIPPED: the API contract test (schemathesis is not installed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("contract.db").display());
    let (_server, line) = spawn(&["serve", "--demo", "--addr", "127.0.0.1:0"], &db, "0-0");
    let url = url_in(&line);
    let client = reqwest::Client::new();
    let credentials = json!({"email": buynow_server::demo::DEMO_EMAIL, "password": buynow_server::demo::DEMO_PASSWORD});
    let (status, session) = call(&client, "POST", format!("{url}/v1/sessions"), None, None, credentials).await;
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_string();

    let seconds = std::env::var("BUYNOW_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "45".into());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemathesis.toml");
    for (who, credential) in [("the demo customer", token.as_str()), ("the admin key", ADMIN)] {
        let out = Command::new("schemathesis")
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("{url}/v1/openapi.json"), "--checks", "all", "--max-time", &seconds])
            .args(["--header", &format!("Authorization: Bearer {credential}")])
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .expect("run schemathesis");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis as {who} found failures:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = report.lines().rev().find(|l| l.contains("generated")).unwrap_or("").trim();
        eprintln!("schemathesis as {who}: {summary}");
    }
}
