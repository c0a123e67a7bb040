//! socketioxide with the benchmark handlers, on hyper's HTTP/1.1 server (the
//! way its documentation serves it without axum), default options.
//!
//! ```text
//! sio-bench-socketioxide 127.0.0.1:PORT
//! ```
//!
//! * `echo(payload, ack)`: acknowledges with the payload.
//! * `broadcast(payload)`: `io.emit("broadcast", payload)` to every socket.

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;
use tokio::net::TcpListener;

async fn on_connect(socket: SocketRef) {
    socket.on("echo", async |Data(data): Data<Value>, ack: AckSender| {
        let _ = ack.send(&data);
    });
    socket.on(
        "broadcast",
        async |io: SocketIo, Data(data): Data<Value>| {
            let _ = io.emit("broadcast", &data).await;
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let (svc, io) = SocketIo::new_svc();
    io.ns("/", on_connect);
    let listener = TcpListener::bind(&addr).await?;
    // The version pinned in Cargo.toml.
    println!(
        "{{\"server\":\"socketioxide\",\"version\":\"0.18.9\",\"addr\":\"{}\"}}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
