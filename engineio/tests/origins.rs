//! Origin enforcement (`Cors::refuse_disallowed`, python-engineio's policy):
//! a request from a foreign origin is refused on polling, on the WebSocket
//! handshake and on a preflight; the server's own origin and clients sending
//! no `Origin` are served. Each refused case is beside an allowed one, so a
//! policy that refuses everything fails too.

mod common;

use std::sync::Arc;

use common::*;
use engineio::server::{ConnectionError, Cors, CorsOrigin};
use engineio::ServerConfig;
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Error as WsError;

const HANDSHAKE: &str = "/engine.io/?EIO=4&transport=polling";
const WS: &str = "/engine.io/?EIO=4&transport=websocket";

async fn polling_status(addr: std::net::SocketAddr, origin: Option<&str>) -> HttpResponse {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    http(addr, "GET", HANDSHAKE, &headers, b"").await
}

/// The WebSocket handshake's status: 101 when opened.
async fn ws_status(addr: std::net::SocketAddr, origin: &str) -> u16 {
    match ws_connect_with(addr, WS, &[("origin", origin)]).await {
        Ok((mut ws, res)) => {
            // An accepted socket speaks Engine.IO: the open packet first.
            assert!(ws_text(&mut ws).await.starts_with('0'));
            res.status().as_u16()
        }
        Err(WsError::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

fn enforcing(origin: CorsOrigin) -> ServerConfig {
    ServerConfig::default().cors(Some(Cors {
        origin,
        refuse_disallowed: true,
        credentials: true,
        ..Cors::default()
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_refuses_foreign_pages_on_both_transports() {
    let errors = Arc::new(Mutex::new(Vec::<ConnectionError>::new()));
    let seen = errors.clone();
    let mut config = ServerConfig::default().cors(Some(Cors::same_origin()));
    config.on_connection_error = Some(Arc::new(move |e: &ConnectionError| {
        seen.lock().push(e.clone())
    }));
    let server = start(config).await;
    let addr = server.addr;
    let own = format!("http://{addr}");

    let res = polling_status(addr, Some("http://evil.example")).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.text(), "\"Not an accepted origin.\"");
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(ws_status(addr, "http://evil.example").await, 400);
    let preflight = http(
        addr,
        "OPTIONS",
        HANDSHAKE,
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 400);
    {
        let errors = errors.lock();
        assert_eq!(errors.len(), 3, "every refusal reaches the hook");
        assert_eq!(errors[0].message, "Not an accepted origin.");
        assert!(errors[0]
            .context
            .iter()
            .any(|(k, v)| *k == "origin" && v == "http://evil.example"));
    }

    // The page's own origin is served, with its CORS headers.
    let res = polling_status(addr, Some(&own)).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(own.as_str())
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(ws_status(addr, &own).await, 101);
    // Another scheme or port is another origin.
    let other_port = format!("http://127.0.0.1:{}", addr.port().wrapping_add(1));
    assert_eq!(polling_status(addr, Some(&other_port)).await.status, 400);
    assert_eq!(
        polling_status(addr, Some(&format!("https://{addr}")))
            .await
            .status,
        400
    );
    // Non-browser clients send no Origin: served.
    assert_eq!(polling_status(addr, None).await.status, 200);
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_refuses_unlisted_origins_on_both_transports() {
    let server = start(enforcing(CorsOrigin::List(vec![
        "http://good.example".into()
    ])))
    .await;
    let addr = server.addr;
    assert_eq!(
        polling_status(addr, Some("http://good.example"))
            .await
            .status,
        200
    );
    assert_eq!(ws_status(addr, "http://good.example").await, 101);
    assert_eq!(
        polling_status(addr, Some("http://evil.example"))
            .await
            .status,
        400
    );
    assert_eq!(ws_status(addr, "http://evil.example").await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_decides_each_request() {
    let asked = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let log = asked.clone();
    let server = start(enforcing(CorsOrigin::Callback(Arc::new(
        move |origin, req| {
            log.lock().push(origin.map(str::to_owned));
            let ok = origin.is_some_and(|o| o.ends_with(".good.example"))
                && req.uri.path().starts_with("/engine.io");
            Box::pin(async move {
                // Answers later, as a callback into another runtime does.
                tokio::task::yield_now().await;
                ok.into()
            })
        },
    ))))
    .await;
    let addr = server.addr;
    let res = polling_status(addr, Some("http://a.good.example")).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://a.good.example")
    );
    assert_eq!(ws_status(addr, "http://b.good.example").await, 101);
    assert_eq!(
        polling_status(addr, Some("http://good.example.evil.example"))
            .await
            .status,
        400
    );
    assert_eq!(ws_status(addr, "http://evil.example").await, 400);
    assert!(asked
        .lock()
        .contains(&Some("http://evil.example".to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_enforcement_a_foreign_origin_gets_no_cors_header_but_is_served() {
    // socket.io's behaviour: CORS headers only; the browser does the refusing.
    let server = start(ServerConfig::default().cors(Some(Cors {
        origin: CorsOrigin::Predicate(Arc::new(|o| o.ends_with(".good.example"))),
        ..Cors::default()
    })))
    .await;
    let res = polling_status(server.addr, Some("http://evil.example")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);
    let res = polling_status(server.addr, Some("http://x.good.example")).await;
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://x.good.example")
    );
}
