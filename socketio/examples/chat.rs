//! A multi-room chat for the browser: nicknames, rooms, a typing indicator
//! and the number of people online. The page is `examples/chat/public/`, and
//! it talks to this server with the official `socket.io-client` bundle from
//! npm, which the Socket.IO server itself serves at
//! `/socket.io/socket.io.js` (`ServerConfig::serve_client`), as socket.io's
//! "Get started" chat has it.
//!
//! ```text
//! npm ci --prefix examples/chat
//! cargo run --release -p socketio --example chat [127.0.0.1:3000]
//! ```
//!
//! Routes: `GET /` is the page, and everything else goes to the Socket.IO
//! server (which owns `/socket.io/`, the client files included, and answers
//! 404 elsewhere).
//!
//! Events, client → server: `set nickname` (name), `join` (room),
//! `chat message` (text), `typing`, `stop typing`; the first three answer
//! with an acknowledgement when the client asks for one. Server → client:
//! `welcome` {nickname, room} (the guest name and the lobby), `chat message`
//! {nickname, text, room}, `notice` (text), `typing` / `stop typing`
//! {nickname}, `online` (count).
//!
//! The integration test `socketio/tests/chat_browser.rs` includes this file
//! as a module and drives the page in headless Chromium.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use serde::Serialize;
use socketio::{ClientBundle, ServerConfig, Socket, SocketIo};

/// Where everyone starts, so a fresh page can chat before picking a room.
pub const LOBBY: &str = "lobby";
/// Longest nickname or room name kept, in characters.
const MAX_NAME: usize = 32;
/// Longest message kept, in characters.
const MAX_TEXT: usize = 500;

/// `examples/chat` at the repository root: the page and its npm packages.
pub fn chat_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .unwrap_or(crate_dir)
        .join("examples/chat")
}

/// The npm package of the official browser client, installed by
/// `npm ci --prefix examples/chat`.
pub fn client_package() -> PathBuf {
    chat_dir().join("node_modules/socket.io-client")
}

/// The client's files, read once; the error says what is missing and how to
/// get it.
pub fn client_bundle() -> std::io::Result<ClientBundle> {
    ClientBundle::load(client_package()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{e}; run `npm ci --prefix examples/chat` from the repository root"),
        )
    })
}

/// Who a socket is, kept in the socket's typed extensions.
#[derive(Clone, Serialize)]
struct Member {
    nickname: String,
    room: String,
}

fn member(socket: &Socket) -> Member {
    socket
        .extensions()
        .get::<Member>()
        .cloned()
        .unwrap_or_else(|| Member {
            nickname: "anonymous".into(),
            room: LOBBY.into(),
        })
}

fn set_member(socket: &Socket, m: Member) {
    socket.extensions().insert(m);
}

/// Trims and caps user input; `None` when nothing is left.
fn clean(input: &str, max: usize) -> Option<String> {
    let s: String = input.trim().chars().take(max).collect();
    (!s.is_empty()).then_some(s)
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    nickname: &'a str,
    text: &'a str,
    room: &'a str,
}

#[derive(Serialize)]
struct Typing<'a> {
    nickname: &'a str,
}

/// Tells every connected socket how many there are. The namespace's socket
/// list is the truth: a new socket is in it before the connection handler
/// runs, and a closing one is out of it before its disconnect handlers run.
fn broadcast_online(socket: &Socket) {
    let ns = socket.namespace();
    let _ = ns.emit("online", &ns.sockets().len());
}

/// Leaves the current room, telling whoever stays; the others also stop
/// showing this member as typing.
fn leave_room(socket: &Arc<Socket>, m: &Member) {
    let _ = socket.to(m.room.as_str()).emit(
        "stop typing",
        &Typing {
            nickname: &m.nickname,
        },
    );
    let _ = socket
        .to(m.room.as_str())
        .emit("notice", &format!("{} left #{}", m.nickname, m.room));
    socket.leave(&m.room);
}

fn on_connection(socket: Arc<Socket>) {
    let m = Member {
        nickname: format!("guest-{}", &socket.id().as_str()[..4]),
        room: LOBBY.into(),
    };
    socket.join(m.room.as_str());
    let _ = socket.emit("welcome", &m);
    set_member(&socket, m);
    broadcast_online(&socket);

    // The acknowledgement carries the name actually kept (trimmed, capped),
    // so the page shows what the others see.
    socket.on_typed("set nickname", |socket, name: String, ack| {
        let mut m = member(&socket);
        if let Some(name) = clean(&name, MAX_NAME).filter(|n| *n != m.nickname) {
            let _ = socket
                .to(m.room.as_str())
                .emit("notice", &format!("{} is now {name}", m.nickname));
            m.nickname = name;
            set_member(&socket, m.clone());
        }
        if let Some(ack) = ack {
            let _ = ack.send_value(&m.nickname);
        }
    });

    // One room at a time: joining a room leaves the previous one.
    socket.on_typed("join", |socket, room: String, ack| {
        let mut m = member(&socket);
        if let Some(room) = clean(&room, MAX_NAME) {
            if room != m.room {
                leave_room(&socket, &m);
                m.room = room;
                socket.join(m.room.as_str());
                set_member(&socket, m.clone());
                let _ = socket
                    .to(m.room.as_str())
                    .emit("notice", &format!("{} joined #{}", m.nickname, m.room));
            }
        }
        if let Some(ack) = ack {
            let _ = ack.send_value(&m.room);
        }
    });

    // To the whole room, sender included (`namespace().to`, unlike
    // `socket.to`, does not exclude the sender): everyone sees the same
    // order of messages.
    socket.on_typed("chat message", |socket, text: String, ack| {
        let m = member(&socket);
        if let Some(text) = clean(&text, MAX_TEXT) {
            let msg = ChatMessage {
                nickname: &m.nickname,
                text: &text,
                room: &m.room,
            };
            let _ = socket
                .namespace()
                .to(m.room.as_str())
                .emit("chat message", &msg);
        }
        if let Some(ack) = ack {
            let _ = ack.send(vec![]);
        }
    });

    // Typing state goes to the rest of the room only: the typist knows.
    for event in ["typing", "stop typing"] {
        socket.on(event, move |socket, _, _| {
            let m = member(&socket);
            let _ = socket.to(m.room.as_str()).emit(
                event,
                &Typing {
                    nickname: &m.nickname,
                },
            );
        });
    }

    // `disconnecting` runs while the socket is still in its room, so
    // `socket.to(room)` still reaches the others; the count is sent once the
    // socket is gone.
    socket.on_disconnecting(|socket, _| leave_room(&socket, &member(&socket)));
    socket.on_disconnect(|socket, _| broadcast_online(&socket));
}

/// The Socket.IO server with the chat's handlers, serving the browser
/// client under its path.
pub fn socket_io(client: ClientBundle) -> SocketIo {
    let io = SocketIo::new(ServerConfig::default().serve_client(Some(client)));
    io.on_connection(on_connection);
    io
}

/// Reads a file per request, so edits to the page show on reload.
async fn file(path: PathBuf, content_type: &'static str, missing: String) -> Response {
    match tokio::fs::read(&path).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            eprintln!("{missing} ({e})");
            (StatusCode::INTERNAL_SERVER_ERROR, missing).into_response()
        }
    }
}

/// The HTTP app: the page, and the Socket.IO server with the client files.
///
/// The Socket.IO service is the fallback rather than a route: it matches its
/// path by prefix (`/socket.io/…`, as the reference does) and answers 404 to
/// anything else. WebSocket upgrades pass through, since `axum::serve`
/// serves connections with upgrades enabled.
pub fn app(io: &SocketIo) -> Router {
    let index = chat_dir().join("public/index.html");
    Router::new()
        .route(
            "/",
            get(move || {
                let missing = format!("{} is missing", index.display());
                file(index.clone(), "text/html; charset=utf-8", missing)
            }),
        )
        .fallback_service(io.service())
}

/// Binds `addr` and returns the bound address with the server future to run;
/// fails first if the client bundle is not installed.
pub async fn bind(
    addr: &str,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>> + Send,
)> {
    let client = client_bundle()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Small chat packets must leave at once, not wait for Nagle's algorithm
    // (about 40 ms per message against delayed ACKs).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let io = socket_io(client);
    Ok((
        local,
        std::future::IntoFuture::into_future(axum::serve(listener, app(&io))),
    ))
}

// Unused when the integration test includes this file as a module.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let (local, server) = match bind(&addr).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    // The test harness reads this line to find the port.
    println!("listening on http://{local}");
    server.await
}
