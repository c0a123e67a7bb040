//! The Engine.IO server mounted in an axum 0.8 app, next to the app's own
//! routes: `/` answers "hello", `/realtime/` speaks Engine.IO (echo).
//!
//! ```text
//! cargo run -p engineio --example axum [127.0.0.1:3000]
//! ```
//!
//! Any `engine.io-client` can connect with `path: "/realtime"`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::routing::get;
use axum::Router;
use engineio::server::{DisconnectReason, RemoteAddr};
use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};

/// Where the Engine.IO server answers.
pub const PATH: &str = "/realtime/";

/// Sends every message straight back.
pub struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_connect(&self, _socket: Arc<Socket<()>>) {}

    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        let _ = socket.send(msg);
    }

    fn on_disconnect(&self, _socket: &Arc<Socket<()>>, _reason: DisconnectReason) {}
}

/// The Engine.IO options of the app: the defaults, under [`PATH`].
pub fn config() -> ServerConfig {
    ServerConfig::default().path(PATH)
}

/// The app's routes plus the Engine.IO server, which must have been created
/// with `path` = [`PATH`].
///
/// The service is mounted with `route_service`, not `nest_service`: the
/// service matches the full request path against its configured path, and
/// `nest_service` would strip the prefix. WebSocket upgrades pass through,
/// since `axum::serve` serves connections with upgrades enabled.
pub fn app<H: Handler>(engine: &EngineIo<H>) -> Router {
    let service = engine.service();
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route_service(PATH, service.clone())
        // The reference matches its path by prefix; so does this mount.
        .route_service(&format!("{PATH}{{*rest}}"), service)
        .layer(axum::middleware::map_request(remote_addr))
}

/// Hands the peer address axum knows (with `into_make_service_with_connect_info`)
/// to the Engine.IO server, which exposes it as `socket.req().remote_addr`.
async fn remote_addr(mut req: Request) -> Request {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        req.extensions_mut().insert(RemoteAddr(addr));
    }
    req
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let engine = EngineIo::new(config(), Echo);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "http://{0}/ says hello; Engine.IO on http://{0}{PATH}",
        listener.local_addr()?
    );
    axum::serve(
        listener,
        app(&engine).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
