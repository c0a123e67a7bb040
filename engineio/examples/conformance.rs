//! The server the official Engine.IO v4 test suite expects: echo on
//! 127.0.0.1:3000 under `/engine.io/`, pingInterval 300, pingTimeout 200.
//!
//! ```text
//! cargo run --release -p engineio --example conformance
//! ```

use std::sync::Arc;
use std::time::Duration;

use engineio::server::{Cors, DisconnectReason};
use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};

struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_connect(&self, _socket: Arc<Socket<()>>) {}

    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        let _ = socket.send(msg);
    }

    fn on_disconnect(&self, _socket: &Arc<Socket<()>>, _reason: DisconnectReason) {}
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let config = ServerConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .cors(Some(Cors::any()));
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = EngineIo::new(config, Echo).listen(addr).await?;
    println!(
        "engine.io conformance server on http://{}/engine.io/",
        listener.local_addr()
    );
    listener.stopped().await;
    Ok(())
}
