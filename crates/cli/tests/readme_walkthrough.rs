//! The README's walk-through, run verbatim against the real `buynow` binary — so it cannot drift from the
//! code — from sign-up to the door and back, and the binary's clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The ```sh blocks from the "## Walk-through" section up to the next section.
fn walkthrough_script() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    let section = readme.split("## Walk-through").nth(1).expect("a Walk-through section");
    let section = section.split("\n## ").next().unwrap();
    let mut script = String::new();
    let mut inside = false;
    for line in section.lines() {
        match (inside, line.trim_start()) {
            (false, l) if l.starts_with("```sh") => inside = true,
            (true, l) if l.starts_with("```") => inside = false,
            (true, _) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

#[test]
fn the_readme_walkthrough_works_verbatim_against_the_binary() {
    for tool in ["curl", "jq", "bash"] {
        if Command::new(tool).arg("--version").output().is_err() {
            panic!("{tool} is needed for this test (.ci/run installs it)");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_buynow"))
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--hold-window", "5", "--database"])
        .arg(format!("sqlite://{}/buynow.db", dir.path().display()))
        .env("BUYNOW_ADMIN_KEY", "choose-a-long-secret")
        // The demo's carriers at a scan a second, so the order reaches the door in seconds, not minutes.
        .env("BUYNOW_SIMULATION_PACE", "1")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start buynow");
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut url = None;
    let started = Instant::now();
    while url.is_none() && started.elapsed() < Duration::from_secs(60) {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        url = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string);
    }
    let url = url.expect("buynow printed its URL");

    let script = walkthrough_script();
    assert!(script.contains("/v1/buy-now") && script.contains("/v1/ops/stock"), "found the walk-through");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("BUYNOW", &url)
        .output()
        .expect("run the walk-through");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walk-through failed:\n{text}");
    for expected in [
        "\"status\": \"payment_authorized\"",
        "\"status\": \"cancelled\"",
        "\"payment\": \"voided\"",
        "\"status\": \"payment_action_required\"",
        "\"decline_code\": \"card_declined\"",
        "https://buynow.dev/errors/validation",
        "\"sku\": \"TEA-100\"",
        "\"fulfillment_center\": \"PHL1\"",
        "\"status\": \"delivered\"",
        "\"shipment.shipped\"",
        "\"order.delivered\"",
        "\"label_url\"",
        "\"status\": \"refunded\"",
    ] {
        assert!(text.contains(expected), "the walk-through did not show {expected}:\n{text}");
    }

    // SIGTERM: the server finishes and exits cleanly.
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    loop {
        if let Some(code) = server.try_wait().unwrap() {
            assert!(code.success(), "buynow exited with {code}");
            break;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "buynow did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
