//! The Rust Socket.IO client against the real npm `socket.io` server
//! (tests/node/server-sio.mjs).

mod client_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use client_support::{bounded, Inbox, NodeServer};
use serde_json::json;
use socketio::client::{
    AckError, ClientBuilder, ConnectErrorKind, DisconnectReason, EmitError, Socket, TransportType,
};
use socketio::Value;
use tokio::sync::mpsc::UnboundedSender;

const LIMIT: Duration = Duration::from_secs(15);

type Tx = UnboundedSender<(String, Vec<Value>)>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A handler that records its arguments under `tag`.
fn rec(tx: &Tx, tag: &str) -> impl Fn(Socket, Vec<Value>) + Send + Sync + 'static {
    let tx = tx.clone();
    let tag = tag.to_owned();
    move |_, args| {
        let _ = tx.send((tag.clone(), args));
    }
}

fn v(j: serde_json::Value) -> Value {
    Value::from(j)
}

fn bin(b: &[u8]) -> Value {
    Value::Binary(Bytes::copy_from_slice(b))
}

/// A client of its own connection, reconnecting fast.
fn builder(server: &NodeServer) -> ClientBuilder {
    ClientBuilder::new(server.url())
        .force_new(true)
        .reconnection_delay(ms(100))
        .reconnection_delay_max(ms(300))
}

#[tokio::test]
async fn echo_and_binary_on_every_transport() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let choices: [&[TransportType]; 3] = [
            &[TransportType::Polling],
            &[TransportType::Websocket],
            &[TransportType::Polling, TransportType::Websocket],
        ];
        for transports in choices {
            let mut inbox = Inbox::default();
            let tx = inbox.sender();
            let socket = builder(&server)
                .transports(transports.iter().copied())
                .on("auth", rec(&tx, "auth"))
                .on("echo", rec(&tx, "echo"))
                .on("binary", rec(&tx, "binary"))
                .connect()
                .await
                .expect("connect");
            assert!(socket.connected());
            assert!(socket.id().is_some());
            assert_eq!(inbox.expect("auth").await, [v(json!({}))]);
            let args = vec![
                v(json!(1)),
                v(json!("2")),
                v(json!({"3": [true]})),
                bin(&[0, 1, 255]),
                v(json!({"deep": [null]})),
            ];
            socket.emit_args("echo", args.clone()).expect("emit");
            assert_eq!(inbox.expect("echo").await, args);
            socket.emit_args("binary", vec![]).expect("emit");
            let got = inbox.expect("binary").await;
            assert_eq!(got[0], bin(&[1, 2, 3]));
            assert_eq!(got[1].get("nested"), Some(&bin(&[4, 5])));
            if transports.len() == 2 {
                let started = Instant::now();
                while socket.manager().engine().map(|e| e.transport())
                    != Some(TransportType::Websocket)
                {
                    assert!(started.elapsed() < Duration::from_secs(3), "no upgrade");
                    tokio::time::sleep(ms(20)).await;
                }
                // Heartbeats pass, the connection stays.
                tokio::time::sleep(ms(700)).await;
                socket.emit_args("echo", args.clone()).expect("emit");
                assert_eq!(inbox.expect("echo").await, args);
            }
            socket.disconnect();
            assert!(!socket.connected());
        }
    })
    .await;
}

#[tokio::test]
async fn acks_both_ways() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let socket = builder(&server)
            .on_with_ack("question", |_, mut args, ack| {
                args.push(Value::from("pong"));
                if let Some(ack) = ack {
                    let _ = ack.send(args);
                }
            })
            .on("answer", rec(&tx, "answer"))
            .connect()
            .await
            .expect("connect");

        let reply = socket
            .emit_with_ack_args("ack", vec![v(json!(1)), v(json!("x")), bin(&[7])])
            .await
            .expect("ack");
        assert_eq!(reply, [v(json!(1)), v(json!("x")), bin(&[7])]);
        let typed: String = socket
            .emit_with_ack_typed("ack", "typed")
            .await
            .expect("typed");
        assert_eq!(typed, "typed");

        let started = Instant::now();
        let err = socket.timeout(ms(200)).emit_with_ack("noack", &1).await;
        assert!(matches!(err, Err(AckError::Timeout)), "{err:?}");
        assert!(started.elapsed() >= ms(190));
        assert!(started.elapsed() < ms(1500));

        socket
            .emit_args("ask", vec![v(json!("hi")), bin(&[9])])
            .expect("emit");
        assert_eq!(
            inbox.expect("answer").await,
            [Value::Array(vec![
                v(json!("hi")),
                bin(&[9]),
                v(json!("pong"))
            ])]
        );

        assert!(matches!(
            socket.emit("connect", &1),
            Err(EmitError::Reserved(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn two_namespaces_share_one_connection() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let main = ClientBuilder::new(server.url())
            .on("echo", rec(&tx, "main"))
            .connect()
            .await
            .expect("connect /");
        let admin = ClientBuilder::new(format!("{}/admin", server.url()))
            .on("echo", rec(&tx, "admin"))
            .connect()
            .await
            .expect("connect /admin");
        assert_eq!(admin.nsp(), "/admin");
        let sid = |s: &Socket| s.manager().engine().map(|e| e.sid().to_owned());
        assert!(sid(&main).is_some());
        assert_eq!(sid(&main), sid(&admin));
        let a = server.event("connection").await;
        let b = server.event("connection").await;
        assert_eq!(a["conn"], b["conn"]);
        let mut nsps = [
            a["nsp"].as_str().unwrap_or_default(),
            b["nsp"].as_str().unwrap_or_default(),
        ];
        nsps.sort();
        assert_eq!(nsps, ["/", "/admin"]);

        admin.emit("echo", "to admin").expect("emit");
        main.emit("echo", "to main").expect("emit");
        let mut got = [inbox.next().await, inbox.next().await];
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(got[0], ("admin".to_owned(), vec![v(json!("to admin"))]));
        assert_eq!(got[1], ("main".to_owned(), vec![v(json!("to main"))]));

        // Leaving one namespace keeps the connection for the other.
        admin.disconnect();
        assert_eq!(server.event("disconnect").await["nsp"], "/admin");
        main.emit("echo", "still here").expect("emit");
        assert_eq!(inbox.expect("main").await, [v(json!("still here"))]);
        assert!(main.manager().is_open());
    })
    .await;
}

#[tokio::test]
async fn refusals_and_auth() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let err = builder(&server)
            .namespace("/refuse")
            .connect()
            .await
            .expect_err("refused");
        assert_eq!(err.message, "refused");
        assert_eq!(err.data, Some(v(json!({"code": 42}))));
        assert_eq!(err.kind, ConnectErrorKind::Refused);

        let err = builder(&server)
            .auth(&json!({"refuse": true}))
            .connect()
            .await
            .expect_err("refused");
        assert_eq!(err.message, "refused by auth");

        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let _socket = builder(&server)
            .auth(&json!({"token": "abc"}))
            .on("auth", rec(&tx, "auth"))
            .connect()
            .await
            .expect("connect");
        assert_eq!(inbox.expect("auth").await, [v(json!({"token": "abc"}))]);

        // Nothing listens on a closed port: connect_error, not a hang.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let err = ClientBuilder::new(format!("http://127.0.0.1:{port}"))
            .force_new(true)
            .connect()
            .await
            .expect_err("no server");
        assert!(!err.message.is_empty());
        assert_eq!(err.kind, ConnectErrorKind::Connection);

        let err = ClientBuilder::new("not a url")
            .connect()
            .await
            .expect_err("bad url");
        assert_eq!(err.kind, ConnectErrorKind::Config);
    })
    .await;
}

#[tokio::test]
async fn reconnects_and_flushes_buffered_emits_in_order() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let auth_calls = Arc::new(AtomicU32::new(0));
        let calls = auth_calls.clone();
        let (t1, t2, t3, t4) = (tx.clone(), tx.clone(), tx.clone(), tx.clone());
        let socket = builder(&server)
            .auth_fn(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Some(Value::from(json!({ "call": n })))
            })
            .on("auth", rec(&tx, "auth"))
            .on_connect(move |_| {
                let _ = t1.send(("connect".into(), vec![]));
            })
            .on_disconnect(move |_, reason| {
                let _ = t2.send(("disconnect".into(), vec![Value::from(reason.as_str())]));
            })
            .on_reconnect_attempt(move |n| {
                let _ = t3.send(("attempt".into(), vec![Value::from(u64::from(n))]));
            })
            .on_reconnect(move |n| {
                let _ = t4.send(("reconnect".into(), vec![Value::from(u64::from(n))]));
            })
            .connect()
            .await
            .expect("connect");
        assert_eq!(inbox.expect("auth").await, [v(json!({"call": 1}))]);
        let first_id = socket.id();

        socket
            .emit("close-transport", &Vec::<String>::new())
            .expect("emit");
        assert_eq!(
            inbox.expect("disconnect").await,
            [v(json!("transport close"))]
        );
        assert!(!socket.connected());
        for i in 0..20 {
            socket.emit("seq", &i).expect("buffered");
        }
        socket
            .volatile()
            .emit("seq", &999)
            .expect("volatile dropped");

        // As the reference: `reconnect` once the connection is back, then
        // `connect` once the namespace is joined again.
        assert_eq!(inbox.expect("attempt").await, [v(json!(1))]);
        assert_eq!(inbox.expect("reconnect").await, [v(json!(1))]);
        inbox.expect("connect").await;
        // The auth callback is asked again on reconnect.
        assert_eq!(inbox.expect("auth").await, [v(json!({"call": 2}))]);
        assert!(socket.connected());
        assert_ne!(socket.id(), first_id);
        assert!(!socket.recovered());

        let seqs = socket
            .emit_with_ack_args("get-seqs", vec![])
            .await
            .expect("ack");
        let want: Vec<i32> = (0..20).collect();
        assert_eq!(seqs, [v(json!(want))]);
    })
    .await;
}

#[tokio::test]
async fn connection_state_recovery() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-sio.mjs", json!({ "recovery": true })).await;
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let socket = builder(&server)
            .on("auth", rec(&tx, "auth"))
            .on("missed", rec(&tx, "missed"))
            .connect()
            .await
            .expect("connect");
        // With recovery on, the server appends each event's offset.
        let auth = inbox.expect("auth").await;
        assert_eq!(auth.len(), 2);
        assert!(auth[1].as_str().is_some());
        assert_eq!(server.event("connection").await["recovered"], false);
        let id = socket.id();
        assert!(!socket.recovered());

        socket.emit("close-transport", &["a", "b"]).expect("emit");
        let missed_a = inbox.expect("missed").await;
        let missed_b = inbox.expect("missed").await;
        assert_eq!(missed_a[0], v(json!("a")));
        assert_eq!(missed_b[0], v(json!("b")));
        assert!(socket.connected());
        assert!(socket.recovered());
        assert_eq!(socket.id(), id);
        let conn = server.event("connection").await;
        assert_eq!(conn["recovered"], true);
        assert_eq!(conn["id"].as_str(), id.as_deref());
    })
    .await;
}

#[tokio::test]
async fn retries_until_acknowledged() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-sio.mjs", json!({})).await;
        let socket = builder(&server)
            .retries(3)
            .ack_timeout(ms(150))
            .connect()
            .await
            .expect("connect");
        // The server ignores the first call and answers the second.
        let reply = socket
            .emit_with_ack_args("flaky", vec![])
            .await
            .expect("acked");
        assert_eq!(reply, [v(json!("ok")), v(json!(2))]);
        assert_eq!(server.event("flaky").await["call"], 1);
        assert_eq!(server.event("flaky").await["call"], 2);
        // Plain emits go through the queue too, in order.
        for i in 0..3 {
            socket.emit("seq", &i).expect("queued");
        }
        let _ = socket
            .timeout(ms(100))
            .emit_with_ack_args("noack", vec![])
            .await;
        let err = socket.emit_with_ack_args("noack", vec![]).await;
        assert!(matches!(err, Err(AckError::Timeout)), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn server_disconnect_is_final() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let (t1, t2) = (inbox.sender(), inbox.sender());
        let socket = builder(&server)
            .on_connect(move |_| {
                let _ = t1.send(("connect".into(), vec![]));
            })
            .on_disconnect(move |_, reason| {
                let _ = t2.send(("disconnect".into(), vec![Value::from(reason.as_str())]));
            })
            .connect()
            .await
            .expect("connect");
        inbox.expect("connect").await;
        socket.emit_args("disconnect-me", vec![]).expect("emit");
        assert_eq!(
            inbox.expect("disconnect").await,
            [Value::from(DisconnectReason::IoServerDisconnect.as_str())]
        );
        assert!(!socket.active());
        assert!(inbox.quiet_for(ms(500)).await, "no reconnection");
        // Until asked to.
        socket.connect();
        inbox.expect("connect").await;
        assert!(socket.connected());
    })
    .await;
}

#[tokio::test]
async fn server_restart_reconnects() {
    bounded(LIMIT, async {
        let mut server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let (t1, t2, t3) = (inbox.sender(), inbox.sender(), inbox.sender());
        let socket = builder(&server)
            .on_connect(move |_| {
                let _ = t1.send(("connect".into(), vec![]));
            })
            .on_reconnect_error(move |e| {
                let _ = t2.send(("reconnect_error".into(), vec![Value::from(e.to_string())]));
            })
            .on_reconnect(move |n| {
                let _ = t3.send(("reconnect".into(), vec![Value::from(u64::from(n))]));
            })
            .connect()
            .await
            .expect("connect");
        inbox.expect("connect").await;
        socket.emit("restart", &400).expect("emit");
        inbox.expect("reconnect_error").await;
        server.event("restarted").await;
        let attempts = inbox.expect("reconnect").await;
        assert!(attempts[0].as_u64().unwrap_or(0) >= 2, "{attempts:?}");
        inbox.expect("connect").await;
        assert!(socket.connected());
    })
    .await;
}

#[tokio::test]
async fn catch_all_listeners() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({})).await;
        let mut inbox = Inbox::default();
        let (t1, t2) = (inbox.sender(), inbox.sender());
        let socket = builder(&server)
            .on_any(move |_, event, args| {
                let _ = t1.send((format!("in:{event}"), args.to_vec()));
            })
            .on_any_outgoing(move |_, event, args| {
                let _ = t2.send((format!("out:{event}"), args.to_vec()));
            })
            .connect()
            .await
            .expect("connect");
        assert_eq!(inbox.expect("in:auth").await, [v(json!({}))]);
        socket.emit("echo", &"x").expect("emit");
        assert_eq!(inbox.expect("out:echo").await, [v(json!("x"))]);
        assert_eq!(inbox.expect("in:echo").await, [v(json!("x"))]);
    })
    .await;
}

#[tokio::test]
async fn msgpack_parser() {
    bounded(LIMIT, async {
        let server = NodeServer::start("server-sio.mjs", json!({ "msgpack": true })).await;
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let socket = builder(&server)
            .parser(socketio::server::ParserKind::MsgPack)
            .on("echo", rec(&tx, "echo"))
            .connect()
            .await
            .expect("connect");
        let args = vec![v(json!({"a": [1, "b"]})), bin(&[1, 2])];
        socket.emit_args("echo", args.clone()).expect("emit");
        assert_eq!(inbox.expect("echo").await, args);
        let reply = socket
            .emit_with_ack_args("ack", args.clone())
            .await
            .expect("ack");
        assert_eq!(reply, args);
    })
    .await;
}
