//! The chat example in a real browser: the example's server runs in this
//! test's runtime, and `examples/chat/test/browser.mjs` drives three pages in
//! headless Chromium against it (the official `socket.io-client` bundle,
//! served by the Socket.IO server at `/socket.io/socket.io.js`; WebSocket
//! upgrade, rooms, typing indicator, online count).
//!
//! Needs `npm ci --prefix examples/chat` (the client bundle), `npm ci
//! --prefix tests/node` (playwright-core) and Chromium at /usr/bin/chromium
//! (or `$CHROMIUM_PATH`).
//! Without Chromium the test is skipped, loudly, unless
//! `SOCKETIO_RS_REQUIRE_BROWSER` is set (as CI does), in which case it fails.

#[path = "../examples/chat.rs"]
mod chat;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Where Debian puts Chromium; `CHROMIUM_PATH` overrides it (browser.mjs
/// reads the same variable).
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// browser.mjs gives up by itself after 60 s; this is the backstop.
const NODE_LIMIT: Duration = Duration::from_secs(90);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_in_headless_chromium() {
    let chromium = chromium();
    let required = std::env::var_os("SOCKETIO_RS_REQUIRE_BROWSER").is_some();
    if !chromium.exists() {
        assert!(
            !required,
            "SOCKETIO_RS_REQUIRE_BROWSER is set but there is no Chromium at {}",
            chromium.display()
        );
        // Straight to the process's stderr: the harness captures eprintln!
        // of passing tests, and a skip must not go unnoticed.
        let _ = writeln!(
            std::io::stderr(),
            "\n********************************************************************\n\
             SKIPPED chat_in_headless_chromium: no Chromium at {}.\n\
             Install it (apt-get install chromium), or set\n\
             SOCKETIO_RS_REQUIRE_BROWSER=1 to make its absence a failure.\n\
             ********************************************************************\n",
            chromium.display()
        );
        return;
    }
    if let Err(e) = chat::client_bundle() {
        panic!("{e}");
    }

    let (addr, server) = chat::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let server = tokio::spawn(server);

    let root = repo_root();
    let script = root.join("examples/chat/test/browser.mjs");
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{addr}/"))
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("could not start `node`; Node 20 must be on PATH");
    let output = match tokio::time::timeout(NODE_LIMIT, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => panic!("node {}: {e}", script.display()),
        Err(_) => panic!(
            "node {} did not finish within {NODE_LIMIT:?}",
            script.display()
        ),
    };
    server.abort();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser test failed ({}) after {:?}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        started.elapsed()
    );
    assert!(
        stdout.contains("PASS"),
        "browser test did not report PASS:\n{stdout}"
    );
    // The steps and their times, shown with --nocapture.
    println!("{stdout}");
}
