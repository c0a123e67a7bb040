//! Runs the Node peers of tests/node for the client tests: spawns a script,
//! reads the port it prints, and kills it when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The longest a single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// A Node server peer.
pub struct NodeServer {
    _child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    lines: mpsc::UnboundedReceiver<Value>,
}

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node")
}

impl NodeServer {
    /// Starts `tests/node/<script>` with `options` as its JSON argument.
    pub async fn start(script: &str, options: Value) -> NodeServer {
        let mut child = Command::new("node")
            .arg(node_dir().join(script))
            .arg(options.to_string())
            .current_dir(node_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        let first = tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .expect("node prints its port in time")
            .expect("node prints its port");
        let port = first["port"].as_u64().expect("port number") as u16;
        NodeServer {
            _child: child,
            port,
            lines,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next line whose `event` is `name`, skipping others.
    pub async fn event(&mut self, name: &str) -> Value {
        let wait = async {
            loop {
                let v = self.lines.recv().await.expect("node still running");
                if v["event"] == name {
                    return v;
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("no {name:?} event from node"))
    }
}

/// Runs a test body with an overall time limit.
pub async fn bounded<F: std::future::Future<Output = ()>>(limit: Duration, f: F) {
    tokio::time::timeout(limit, f)
        .await
        .expect("test finished within its time limit");
}
