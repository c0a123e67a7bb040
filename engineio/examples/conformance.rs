//! The server the official Engine.IO v4 test suite expects: echo on
//! 127.0.0.1:3000 under `/engine.io/`, pingInterval 300, pingTimeout 200.
//! With `--allow-eio3` it also takes protocol 3 clients, for the v3 suite.
//!
//! ```text
//! cargo run --release -p engineio --example conformance [-- [ADDR] [--allow-eio3]]
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
    let (flags, addrs): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let config = ServerConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .cors(Some(Cors::any()))
        .allow_eio3(flags.iter().any(|f| f == "--allow-eio3"));
    let addr = addrs
        .into_iter()
        .next()
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = EngineIo::new(config, Echo).listen(addr).await?;
    println!(
        "engine.io conformance server on http://{}/engine.io/",
        listener.local_addr()
    );
    listener.stopped().await;
    Ok(())
}
