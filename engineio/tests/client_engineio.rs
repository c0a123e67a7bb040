//! The Rust Engine.IO client against the real npm `engine.io` server
//! (tests/node/server-eio.mjs) and against our own server.

mod client_support;

use std::time::Duration;

use bytes::Bytes;
use client_support::{bounded, NodeServer, WAIT};
use engineio::client::{Client, ClientConfig, ClientEvent, CloseReason, Error, TransportType};
use engineio::Message;
use serde_json::{json, Value};
use tokio::sync::mpsc::Receiver;

const LIMIT: Duration = Duration::from_secs(15);

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

fn binary(b: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(b))
}

fn config(transports: &[TransportType]) -> ClientConfig {
    ClientConfig::default().transports(transports.to_vec())
}

/// The next event that is not an upgrade.
async fn next(events: &mut Receiver<ClientEvent>) -> ClientEvent {
    loop {
        let ev = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("an event in time")
            .expect("events open");
        if !matches!(ev, ClientEvent::Upgrade(_)) {
            return ev;
        }
    }
}

async fn next_message(events: &mut Receiver<ClientEvent>) -> Message {
    match next(events).await {
        ClientEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn echo_round(client: &Client, events: &mut Receiver<ClientEvent>, tag: &str) {
    let sent = [
        text(&format!("hello {tag}")),
        text("héllo wörld ✓ 😀"),
        text(""),
        binary(&[0, 1, 2, 127, 128, 255]),
        binary(&[]),
    ];
    for m in &sent {
        client.send(m.clone()).expect("send");
    }
    for m in &sent {
        assert_eq!(&next_message(events).await, m);
    }
}

#[tokio::test]
async fn polling_echo_and_server_binary() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-eio.mjs", json!({})).await;
        let (client, mut events) =
            Client::connect(&server.url(), config(&[TransportType::Polling]))
                .await
                .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
        assert_eq!(client.handshake().ping_interval, 300);
        assert_eq!(client.handshake().max_payload, 1_000_000);
        let conn = server.event("connection").await;
        assert_eq!(conn["sid"], client.sid());
        assert_eq!(conn["transport"], "polling");
        echo_round(&client, &mut events, "polling").await;
        client.send(text("cmd:binary")).expect("send");
        assert_eq!(next_message(&mut events).await, binary(&[1, 2, 3]));
        // Several ping rounds pass: the client answers them.
        tokio::time::sleep(Duration::from_millis(800)).await;
        echo_round(&client, &mut events, "after pings").await;
        assert_eq!(client.transport(), TransportType::Polling);
    })
    .await;
}

#[tokio::test]
async fn websocket_only() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-eio.mjs", json!({})).await;
        let (client, mut events) =
            Client::connect(&server.url(), config(&[TransportType::Websocket]))
                .await
                .expect("connect");
        assert_eq!(client.transport(), TransportType::Websocket);
        assert!(client.handshake().upgrades.is_empty());
        assert_eq!(server.event("connection").await["transport"], "websocket");
        echo_round(&client, &mut events, "ws").await;
        client.send(text("cmd:binary")).expect("send");
        assert_eq!(next_message(&mut events).await, binary(&[1, 2, 3]));
        tokio::time::sleep(Duration::from_millis(800)).await;
        echo_round(&client, &mut events, "after pings").await;
    })
    .await;
}

#[tokio::test]
async fn upgrade_keeps_order() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-eio.mjs", json!({})).await;
        let (client, mut events) = Client::connect(&server.url(), ClientConfig::default())
            .await
            .expect("connect");
        // Sent while the upgrade is under way: nothing is lost or reordered.
        let n = 200;
        for i in 0..n {
            client.send(text(&format!("n{i}"))).expect("send");
        }
        let mut upgraded = false;
        let mut i = 0;
        while i < n {
            match tokio::time::timeout(WAIT, events.recv())
                .await
                .expect("event")
                .expect("open")
            {
                ClientEvent::Upgrade(t) => {
                    assert_eq!(t, TransportType::Websocket);
                    upgraded = true;
                }
                ClientEvent::Message(m) => {
                    assert_eq!(m, text(&format!("n{i}")));
                    i += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        if !upgraded {
            match tokio::time::timeout(WAIT, events.recv())
                .await
                .expect("event")
            {
                Some(ClientEvent::Upgrade(_)) => {}
                other => panic!("expected the upgrade, got {other:?}"),
            }
        }
        assert_eq!(server.event("upgrade").await["transport"], "websocket");
        assert_eq!(client.transport(), TransportType::Websocket);
        echo_round(&client, &mut events, "upgraded").await;
        client.send(text("cmd:info")).expect("send");
        let Message::Text(info) = next_message(&mut events).await else {
            panic!("text expected")
        };
        let info: Value = serde_json::from_str(&info).expect("json");
        assert_eq!(info["transport"], "websocket");
    })
    .await;
}

#[tokio::test]
async fn polling_posts_respect_max_payload() {
    bounded(LIMIT, async {
        // The server closes the session (413) on a larger POST.
        let mut server =
            NodeServer::start("server-eio.mjs", json!({ "maxHttpBufferSize": 1000 })).await;
        let (client, mut events) =
            Client::connect(&server.url(), config(&[TransportType::Polling]))
                .await
                .expect("connect");
        assert_eq!(client.handshake().max_payload, 1000);
        let payload = "x".repeat(90);
        for i in 0..60 {
            client
                .send(text(&format!("{i:02}{payload}")))
                .expect("send");
        }
        for i in 0..60 {
            assert_eq!(
                next_message(&mut events).await,
                text(&format!("{i:02}{payload}"))
            );
        }
        server.event("connection").await;
    })
    .await;
}

#[tokio::test]
async fn server_close_is_reported() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-eio.mjs", json!({})).await;
        for transports in [[TransportType::Polling], [TransportType::Websocket]] {
            let (client, mut events) = Client::connect(&server.url(), config(&transports))
                .await
                .expect("connect");
            client.send(text("cmd:close")).expect("send");
            assert_eq!(next_message(&mut events).await, text("bye"));
            assert_eq!(
                next(&mut events).await,
                ClientEvent::Close(CloseReason::TransportClose)
            );
            assert!(events.recv().await.is_none());
            assert!(client.is_closed());
            assert!(client.send(text("late")).is_err());
        }
    })
    .await;
}

#[tokio::test]
async fn client_close_flushes_then_closes() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-eio.mjs", json!({})).await;
        for transports in [[TransportType::Polling], [TransportType::Websocket]] {
            let (client, mut events) = Client::connect(&server.url(), config(&transports))
                .await
                .expect("connect");
            let sid = client.sid().to_owned();
            client.send(text("last words")).expect("send");
            client.close();
            let closed = loop {
                match next(&mut events).await {
                    ClientEvent::Close(reason) => break reason,
                    ClientEvent::Message(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            };
            assert_eq!(closed, CloseReason::ForcedClose);
            loop {
                let ev = server.event("close").await;
                if ev["sid"] == sid.as_str() {
                    assert_eq!(ev["reason"], "transport close");
                    break;
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn dropping_every_handle_closes() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-eio.mjs", json!({})).await;
        let (client, mut events) =
            Client::connect(&server.url(), config(&[TransportType::Websocket]))
                .await
                .expect("connect");
        server.event("connection").await;
        drop(client);
        assert_eq!(
            next(&mut events).await,
            ClientEvent::Close(CloseReason::ForcedClose)
        );
        assert_eq!(server.event("close").await["reason"], "transport close");
    })
    .await;
}

#[tokio::test]
async fn silent_server_times_out() {
    bounded(LIMIT, async {
        let server = NodeServer::start(
            "server-eio.mjs",
            json!({ "mute": true, "pingInterval": 200, "pingTimeout": 100 }),
        )
        .await;
        let started = tokio::time::Instant::now();
        let (_client, mut events) =
            Client::connect(&server.url(), config(&[TransportType::Polling]))
                .await
                .expect("connect");
        assert_eq!(
            next(&mut events).await,
            ClientEvent::Close(CloseReason::PingTimeout)
        );
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(290), "{took:?}");
        assert!(took < Duration::from_millis(2000), "{took:?}");
    })
    .await;
}

#[tokio::test]
async fn headers_query_and_path() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-eio.mjs", json!({ "path": "/custom" })).await;
        for transports in [[TransportType::Polling], [TransportType::Websocket]] {
            let mut cfg = config(&transports);
            cfg.path = "/custom".into();
            cfg.query = vec![("token".into(), "a b&c".into())];
            cfg.extra_headers
                .insert("x-test", http::HeaderValue::from_static("yes"));
            let url = format!("{}/?from=url", server.url());
            let (client, mut events) = Client::connect(&url, cfg).await.expect("connect");
            client.send(text("cmd:info")).expect("send");
            let Message::Text(info) = next_message(&mut events).await else {
                panic!("text expected")
            };
            let info: Value = serde_json::from_str(&info).expect("json");
            assert_eq!(info["query"]["token"], "a b&c");
            assert_eq!(info["query"]["from"], "url");
            assert_eq!(info["query"]["EIO"], "4");
            assert_eq!(info["headers"]["x-test"], "yes");
        }
    })
    .await;
}

#[tokio::test]
async fn connect_errors() {
    bounded(LIMIT, async {
        // Nothing listens on the port of a dropped listener.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = Client::connect(&format!("http://127.0.0.1:{port}"), ClientConfig::default())
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::Http(_)), "{err:?}");

        // A server that only speaks polling refuses the WebSocket...
        let server =
            NodeServer::start("server-eio.mjs", json!({ "transports": ["polling"] })).await;
        let ws_first = config(&[TransportType::Websocket, TransportType::Polling]);
        let err = Client::connect(&server.url(), ws_first.clone())
            .await
            .expect_err("websocket refused");
        assert!(
            matches!(
                err,
                Error::Status {
                    status: 400,
                    code: Some(0),
                    ..
                }
            ),
            "{err:?}"
        );
        // ...unless the client may fall back to the next transport.
        let cfg = ws_first.try_all_transports(true);
        let (client, mut events) = Client::connect(&server.url(), cfg).await.expect("fallback");
        assert_eq!(client.transport(), TransportType::Polling);
        echo_round(&client, &mut events, "fallback").await;

        assert!(matches!(
            Client::connect(&server.url(), config(&[])).await,
            Err(Error::NoTransports)
        ));
        assert!(matches!(
            Client::connect("ftp://x", ClientConfig::default()).await,
            Err(Error::InvalidUrl(_))
        ));
    })
    .await;
}
