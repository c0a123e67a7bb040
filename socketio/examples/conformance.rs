//! The server the official Socket.IO v5 test suite expects: 127.0.0.1:3000,
//! pingInterval 300, pingTimeout 200, connectTimeout 1000, namespaces `/` and
//! `/custom`, `auth` echoed on connect, `message` and `message-with-ack`
//! echoed back.
//!
//! ```text
//! cargo run --release -p socketio --example conformance
//! ```

use std::time::Duration;

use engineio::server::Cors;
use socketio::{ServerConfig, Socket, SocketIo};

fn greet(socket: &std::sync::Arc<Socket>) {
    let _ = socket.emit_args("auth", vec![socket.handshake().auth.clone()]);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = ServerConfig::default();
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    config.engine.cors = Some(Cors::any());
    config.connect_timeout = Duration::from_millis(1000);
    let io = SocketIo::new(config);
    io.on_connection(|socket| {
        greet(&socket);
        socket.on("message", |socket, args, _| {
            let _ = socket.emit_args("message-back", args);
        });
        socket.on("message-with-ack", |_, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
    });
    io.of("/custom").on_connection(|socket| greet(&socket));
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = io.listen(addr).await?;
    println!(
        "socket.io conformance server on http://{}/socket.io/",
        listener.local_addr()
    );
    listener.stopped().await;
    Ok(())
}
