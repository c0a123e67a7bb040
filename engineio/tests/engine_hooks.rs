//! The server hooks that give an embedding layer the reference server's
//! surface: `generate_id` (its `generateId`), `middleware` (its `use()`
//! middlewares), `on_session` (its `connection` event and its sockets'
//! `upgrade`, `packet` and `close`) and `clients_count`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use engineio::proto::Packet;
use engineio::server::{
    ConnectionError, DisconnectReason, ErrorCode, MiddlewareOutcome, Session, SessionEvent,
    TransportType,
};
use engineio::ServerConfig;
use futures_util::SinkExt;
use http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const HANDSHAKE: &str = "/engine.io/?EIO=4&transport=polling";

fn errors_into(config: &mut ServerConfig) -> Arc<Mutex<Vec<ConnectionError>>> {
    let seen: Arc<Mutex<Vec<ConnectionError>>> = Arc::default();
    let sink = seen.clone();
    config.on_connection_error = Some(Arc::new(move |e| sink.lock().push(e.clone())));
    seen
}

/// The handshake JSON of a polling handshake's answer.
fn open_of(res: &HttpResponse) -> serde_json::Value {
    serde_json::from_str(res.text().strip_prefix('0').expect("an open packet")).unwrap()
}

fn context_of(e: &ConnectionError) -> Vec<(&'static str, String)> {
    e.context.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_ids_name_the_sessions() {
    let mut config = ServerConfig::default()
        .cookie(Some(Default::default()))
        .generate_id(Some(Arc::new(|req| {
            let id = req.query("id").unwrap_or_default();
            Box::pin(async move {
                tokio::task::yield_now().await;
                match id.as_str() {
                    "fail" => Err("no id for you".to_owned()),
                    "random" => Ok(None),
                    other => Ok(Some(other.to_owned())),
                }
            })
        })));
    let errors = errors_into(&mut config);
    let mut server = start(config).await;
    let addr = server.addr;

    // Polling: the handshake, the cookie, the session's own id.
    let res = get(addr, &format!("{HANDSHAKE}&id=user-1.a~b_C")).await;
    assert_eq!(res.status, 200);
    assert_eq!(open_of(&res)["sid"], "user-1.a~b_C");
    assert!(res
        .header("set-cookie")
        .unwrap()
        .starts_with("io=user-1.a~b_C;"));
    assert_eq!(server.events.connected().await.0, "user-1.a~b_C");
    assert!(server.engine.socket("user-1.a~b_C").is_some());
    post(addr, "user-1.a~b_C", b"4hi").await;
    assert_eq!(poll(addr, "user-1.a~b_C").await.text(), "4hi");

    // Declined: a random id.
    let res = get(addr, &format!("{HANDSHAKE}&id=random")).await;
    let sid = open_of(&res)["sid"].as_str().unwrap().to_owned();
    assert_eq!(sid.len(), 20);
    post(addr, &sid, b"1").await;

    // WebSocket.
    let (mut ws, _) = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket&id=ws-id")
        .await
        .unwrap();
    let open = ws_text(&mut ws).await;
    assert!(open.contains(r#""sid":"ws-id""#), "{open}");

    // Refusals: 400, ID_GENERATION_ERROR with the reason.
    let long = "x".repeat(engineio::server::MAX_SESSION_ID_LEN + 1);
    for (query, reason) in [
        ("fail", "no id for you"),
        ("", "empty"),
        ("a%20b", "' '"),
        (long.as_str(), "long"),
        ("user-1.a~b_C", "already in use"),
    ] {
        let res = get(addr, &format!("{HANDSHAKE}&id={query}")).await;
        res.assert_error(400, 3, "Bad request");
        let e = errors.lock().pop().expect("a connection error");
        assert_eq!(e.code, ErrorCode::BadRequest);
        let ctx = context_of(&e);
        assert_eq!(ctx[0], ("name", "ID_GENERATION_ERROR".to_owned()));
        assert_eq!(ctx[1].0, "error");
        assert!(ctx[1].1.contains(reason), "{query}: {ctx:?}");
    }
    let refused = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket&id=fail").await;
    assert!(refused.is_err());
    assert_eq!(server.engine.sockets().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_decides_before_the_engine() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    let mut config = ServerConfig::default()
        .cookie(Some(Default::default()))
        .middleware(Some(Arc::new(move |req| {
            sink.lock().push(req.uri.to_string());
            let mode = req.query("mw").unwrap_or_default();
            let handshake = req.query("sid").is_none();
            Box::pin(async move {
                match mode.as_str() {
                    "fail" => MiddlewareOutcome::Fail("nope".into()),
                    "teapot" => {
                        let mut res = http::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"tea"),
                        ));
                        *res.status_mut() = http::StatusCode::IM_A_TEAPOT;
                        MiddlewareOutcome::Respond(res)
                    }
                    _ => {
                        let mut headers = HeaderMap::new();
                        headers.insert("x-session", HeaderValue::from_static("s1"));
                        headers.insert("set-cookie", HeaderValue::from_static("session=s1"));
                        // The answer's own headers win.
                        headers.insert("content-type", HeaderValue::from_static("text/evil"));
                        MiddlewareOutcome::Next {
                            headers,
                            tag: handshake.then_some(7),
                        }
                    }
                }
            })
        })));
    let errors = errors_into(&mut config);
    let mut server = start(config).await;
    let addr = server.addr;

    let res = get(addr, HANDSHAKE).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-session"), Some("s1"));
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let mut cookies = res.headers_named("set-cookie");
    cookies.sort();
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].starts_with("io="));
    assert_eq!(cookies[1], "session=s1");
    let sid = open_of(&res)["sid"].as_str().unwrap().to_owned();
    server.events.connected().await;
    // The tag went with the session.
    assert_eq!(server.engine.socket(&sid).unwrap().req().tag, Some(7));

    // Every request of the session meets the middleware too.
    assert_eq!(
        post(addr, &sid, b"4x").await.header("x-session"),
        Some("s1")
    );
    assert_eq!(poll(addr, &sid).await.header("x-session"), Some("s1"));
    let (_ws, res) = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    assert_eq!(res.headers()["x-session"], "s1");
    assert_eq!(seen.lock().len(), 4);

    // A failure: 400 MIDDLEWARE_FAILURE, before any other check.
    let res = get(addr, "/engine.io/?transport=nope&mw=fail").await;
    res.assert_error(400, 3, "Bad request");
    let e = errors.lock().pop().unwrap();
    assert_eq!(
        (e.code, context_of(&e)),
        (
            ErrorCode::BadRequest,
            vec![("name", "MIDDLEWARE_FAILURE".to_owned())]
        )
    );
    // An answer of its own.
    let res = get(addr, &format!("{HANDSHAKE}&mw=teapot")).await;
    assert_eq!((res.status, res.text()), (418, "tea".to_owned()));
    assert!(errors.lock().is_empty());

    // No middleware on a preflight answered by the CORS policy.
    drop(server);
    let server = start(
        ServerConfig::default()
            .cors(Some(Default::default()))
            .middleware(Some(Arc::new(|_| {
                Box::pin(async { MiddlewareOutcome::Fail("never".into()) })
            }))),
    )
    .await;
    let res = http(
        server.addr,
        "OPTIONS",
        HANDSHAKE,
        &[("Origin", "http://a.example")],
        b"",
    )
    .await;
    assert_eq!(res.status, 204);
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Open(String, TransportType, Option<u64>),
    Upgrade(String, TransportType),
    Packet(String, String),
    /// A message written, and whether it may be compressed.
    Create(String, String, bool),
    Close(String, DisconnectReason),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_hook_hears_every_session() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let held: Arc<Mutex<Vec<Arc<dyn Session>>>> = Arc::default();
    let (sink, keep) = (seen.clone(), held.clone());
    let server = start(
        ServerConfig::default().on_session(Some(Arc::new(move |s, ev| {
            let id = s.id().to_string();
            let seen = match ev {
                SessionEvent::Open => {
                    keep.lock().push(s.clone());
                    Seen::Open(id, s.transport(), s.req().tag)
                }
                SessionEvent::Upgrade => Seen::Upgrade(id, s.transport()),
                SessionEvent::Packet(Packet::Message(m)) => Seen::Packet(id, m.to_string()),
                SessionEvent::Packet(p) => Seen::Packet(id, format!("{:?}", p.packet_type())),
                SessionEvent::PacketCreate(Packet::Message(m), c) => {
                    Seen::Create(id, m.to_string(), c)
                }
                SessionEvent::PacketCreate(p, c) => {
                    Seen::Create(id, format!("{:?}", p.packet_type()), c)
                }
                SessionEvent::Close(r) => Seen::Close(id, r),
            };
            sink.lock().push(seen);
        }))),
    )
    .await;
    let addr = server.addr;
    let wait_for = |n: usize| {
        let seen = seen.clone();
        async move {
            let deadline = tokio::time::Instant::now() + WAIT;
            while seen.lock().len() < n {
                assert!(tokio::time::Instant::now() < deadline, "{:?}", seen.lock());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            std::mem::take(&mut *seen.lock())
        }
    };

    let (sid, _) = handshake(addr).await;
    assert_eq!(
        wait_for(1).await,
        vec![Seen::Open(sid.clone(), TransportType::Polling, None)]
    );
    assert_eq!(server.engine.clients_count(), 1);
    post(addr, &sid, b"4hello").await;
    // The message, then its echo as the handler queues it (the reference's
    // `packetCreate`).
    assert_eq!(
        wait_for(2).await,
        vec![
            Seen::Packet(sid.clone(), "hello".into()),
            Seen::Create(sid.clone(), "hello".into(), true),
        ]
    );

    // The upgrade, then a message over the WebSocket.
    let mut ws = ws_probe(addr, &sid).await;
    ws.send(WsMessage::text("5")).await.unwrap();
    ws.send(WsMessage::text("4over ws")).await.unwrap();
    ws.send(WsMessage::text("4plain:as is")).await.unwrap();
    // Each message, then its echo (the one sent uncompressed says so).
    assert_eq!(
        wait_for(5).await,
        vec![
            Seen::Upgrade(sid.clone(), TransportType::Websocket),
            Seen::Packet(sid.clone(), "over ws".into()),
            Seen::Create(sid.clone(), "over ws".into(), true),
            Seen::Packet(sid.clone(), "plain:as is".into()),
            Seen::Create(sid.clone(), "plain:as is".into(), false),
        ]
    );
    for echo in ["hello", "over ws", "plain:as is"] {
        assert_eq!(ws_text(&mut ws).await, format!("4{echo}"));
    }
    let session = held.lock()[0].clone();
    assert_eq!(session.transport(), TransportType::Websocket);

    // Closed by the server through the hook's handle: counted out at once.
    session.close();
    assert_eq!(
        wait_for(1).await,
        vec![Seen::Close(sid.clone(), DisconnectReason::ForcedClose)]
    );
    assert!(session.is_closed());
    assert_eq!(server.engine.clients_count(), 0);

    // A WebSocket session the client closes.
    let (ws, wsid) = ws_session(addr).await;
    assert_eq!(
        wait_for(1).await,
        vec![Seen::Open(wsid.clone(), TransportType::Websocket, None)]
    );
    drop(ws);
    assert_eq!(
        wait_for(1).await,
        vec![Seen::Close(wsid, DisconnectReason::TransportClose)]
    );
    assert_eq!(server.engine.clients_count(), 0);
}
