//! The Node peers of the client tests (shared with the Engine.IO client
//! tests) and an inbox for what handlers saw.
#![allow(dead_code)]

#[path = "../../../engineio/tests/client_support/mod.rs"]
mod shared;

use std::time::Duration;

use tokio::sync::mpsc;

pub use shared::*;

/// What the handlers of a test saw, in order: a tag and values.
pub struct Inbox {
    tx: mpsc::UnboundedSender<(String, Vec<socketio::Value>)>,
    rx: mpsc::UnboundedReceiver<(String, Vec<socketio::Value>)>,
}

impl Default for Inbox {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Inbox { tx, rx }
    }
}

impl Inbox {
    /// A sender for handlers.
    pub fn sender(&self) -> mpsc::UnboundedSender<(String, Vec<socketio::Value>)> {
        self.tx.clone()
    }

    /// The next entry, whatever its tag.
    pub async fn next(&mut self) -> (String, Vec<socketio::Value>) {
        let entry = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("an entry in time")
            .expect("inbox open");
        if std::env::var_os("CLIENT_TEST_TRACE").is_some() {
            eprintln!("inbox: {entry:?}");
        }
        entry
    }

    /// The next entry tagged `tag`, skipping others.
    pub async fn expect(&mut self, tag: &str) -> Vec<socketio::Value> {
        loop {
            let (t, v) = self.next().await;
            if t == tag {
                return v;
            }
        }
    }

    /// True if nothing arrives within `d`.
    pub async fn quiet_for(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.rx.recv()).await.is_err()
    }
}
