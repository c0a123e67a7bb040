#![warn(missing_docs)]
//! The Rust servers of the benchmarks, each on a multi-threaded tokio
//! runtime with one worker per core it is allowed (one under `taskset -c 1`).
//!
//! ```text
//! sio-bench-server ours    127.0.0.1:PORT   # socketio-rs, default options
//! sio-bench-server ceiling 127.0.0.1:PORT   # bare tokio-tungstenite
//! ```
//!
//! Both answer the events the load generator sends, as the Node and
//! socketioxide peers do:
//!
//! * `echo(payload, ack)`: acknowledges with the payload;
//! * `broadcast(payload)`: emits `broadcast(payload)` to every socket of `/`.
//!
//! The ceiling is no Socket.IO server: a WebSocket echo that speaks just
//! enough of the protocol for the load generator (an open packet, `40`
//! answered, `42<id>["echo",x]` answered `43<id>[x]` by slicing the text,
//! `42["broadcast",x]` forwarded as is to every joined connection, frames
//! queued together written at once). It shows what the WebSocket layer
//! alone costs on this machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use socketio::{ServerConfig, SocketIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

fn main() -> std::io::Result<()> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    // With one worker (one core under taskset) the overflow queue is served
    // first. Past 256 runnable tasks that starves the oldest 128 tasks of the
    // local queue, where tokio's defaults starve those sent to the overflow
    // queue instead (see bench/README.md): our server orders its connections
    // itself and is fair on both, the ceiling shows the difference. The
    // ceiling runs on the same runtime; `SIO_BENCH_DEFAULT_RUNTIME=1`
    // measures tokio's defaults instead.
    let one_worker = std::thread::available_parallelism().map_or(1, |n| n.get()) == 1;
    if one_worker && std::env::var_os("SIO_BENCH_DEFAULT_RUNTIME").is_none() {
        b.global_queue_interval(1);
    }
    b.build()?.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_default();
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    match kind.as_str() {
        "ours" => ours(&addr).await,
        "ceiling" => ceiling(&addr).await,
        _ => {
            eprintln!("usage: sio-bench-server ours|ceiling ADDR");
            std::process::exit(2);
        }
    }
}

async fn ours(addr: &str) -> std::io::Result<()> {
    let io = SocketIo::new(ServerConfig::default());
    io.on_connection(|socket| {
        socket.on("echo", |_, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        socket.on("broadcast", |socket, args, _| {
            let _ = socket.namespace().broadcast().emit_args("broadcast", args);
        });
    });
    let listener = io.listen(addr).await?;
    println!(
        "{{\"server\":\"socketio-rs\",\"version\":\"{}\",\"addr\":\"{}\"}}",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()
    );
    listener.stopped().await;
    Ok(())
}

type Joined = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

async fn ceiling(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "{{\"server\":\"ceiling\",\"addr\":\"{}\"}}",
        listener.local_addr()?
    );
    let joined: Joined = Arc::default();
    let ids = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(ceiling_conn(stream, id, joined.clone()));
    }
}

async fn ceiling_conn(stream: TcpStream, id: u64, joined: Joined) {
    // The same small read buffer our server uses; frames queued together
    // are written with one syscall (fed, then flushed once).
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let open = format!(
        "0{{\"sid\":\"c{id:019}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let mut tx = Some(tx);
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break };
                let mut res = ws.feed(out).await;
                while let (true, Ok(more)) = (res.is_ok(), rx.try_recv()) {
                    res = ws.feed(more).await;
                }
                if res.is_err() || ws.flush().await.is_err() {
                    break;
                }
            }
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    _ => break,
                };
                let s = text.as_str();
                let reply = if s == "40" {
                    if let Some(tx) = tx.take() {
                        joined.lock().insert(id, tx);
                    }
                    Some(Message::text(format!("40{{\"sid\":\"s{id:019}\"}}")))
                } else if s.starts_with("42[\"broadcast\",") {
                    let frame = Message::Text(text.clone());
                    for peer in joined.lock().values() {
                        let _ = peer.send(frame.clone());
                    }
                    None
                } else if let Some(rest) = s.strip_prefix("42") {
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let (ack_id, body) = rest.split_at(digits);
                    body.strip_prefix("[\"echo\",")
                        .and_then(|b| b.strip_suffix(']'))
                        .filter(|_| digits > 0)
                        .map(|arg| Message::text(format!("43{ack_id}[{arg}]")))
                } else {
                    None
                };
                if let Some(reply) = reply {
                    if ws.send(reply).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    joined.lock().remove(&id);
}
