//! Connection state recovery against the npm `socket.io-client` 4.8.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use socketio::server::RecoveryConfig;
use socketio::{ServerConfig, SocketIo};

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node")
}

async fn run_client(url: &str, delay_ms: u64) -> serde_json::Value {
    assert!(
        node_dir().join("node_modules/socket.io-client").exists(),
        "npm peers missing: run npm ci --prefix tests/node"
    );
    let child = tokio::process::Command::new("node")
        .arg(node_dir().join("sio-recovery.mjs"))
        .arg(url)
        .arg(delay_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let out = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("client finished in time")
        .expect("client output");
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client printed JSON")
}

/// A server that emits ticks 1 and 2 on `ready`, 3 and 4 to everyone once
/// the first socket has gone, so the client misses them, and 5 to the gone
/// socket itself (a private message, stored like a broadcast to its room).
async fn server(max_disconnection: Duration) -> (SocketIo, String) {
    let config = ServerConfig::default().connection_state_recovery(Some(
        RecoveryConfig::default()
            .max_disconnection_duration(max_disconnection)
            .skip_middlewares(true),
    ));
    let io = SocketIo::new(config);
    let io2 = io.clone();
    io.on_connection(move |socket| {
        let io = io2.clone();
        socket.on("ready", |socket, _, _| {
            socket.emit("tick", &1).unwrap();
            socket.emit("tick", &2).unwrap();
        });
        socket.on("back", |_, _, ack| {
            if let Some(ack) = ack {
                ack.send(vec![]).unwrap();
            }
        });
        socket.on_disconnect(move |socket, _| {
            io.emit("tick", &3).unwrap();
            io.emit("tick", &4).unwrap();
            socket
                .emit("tick", &5)
                .expect("with recovery on, an emit to a socket away is stored");
        });
    });
    let listener = io.listen("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr());
    (io, url)
}

#[tokio::test]
async fn missed_events_are_replayed_and_the_session_recovered() {
    let (_io, url) = server(Duration::from_secs(10)).await;
    let report = run_client(&url, 100).await;
    assert_eq!(report["received"], serde_json::json!([1, 2, 3, 4, 5]));
    assert_eq!(report["recovered"], true);
    assert_eq!(report["sameId"], true);
}

#[tokio::test]
async fn after_max_disconnection_duration_the_session_is_fresh() {
    let (_io, url) = server(Duration::from_millis(200)).await;
    let report = run_client(&url, 600).await;
    assert_eq!(report["received"], serde_json::json!([1, 2]));
    assert_eq!(report["recovered"], false);
    assert_eq!(report["sameId"], false);
}
