//! The Rust Socket.IO client against our own server: events, binary,
//! acknowledgements both ways, two namespaces on one connection.

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use client_support::{bounded, Inbox};
use serde_json::json;
use socketio::client::{ClientBuilder, Socket};
use socketio::server::ServerConfig;
use socketio::{SocketIo, Value};

fn echo_handlers(socket: Arc<socketio::Socket>) {
    socket.on("echo", |s, args, ack| match ack {
        Some(ack) => {
            let _ = ack.send(args);
        }
        None => {
            let _ = s.emit_args("echo", args);
        }
    });
    socket.on("ask", |s, args, _| {
        tokio::spawn(async move {
            let reply = s
                .emit_with_ack_args("question", args, Duration::from_secs(2))
                .await
                .map(Value::Array)
                .unwrap_or_else(|_| Value::from("error"));
            let _ = s.emit_args("answer", vec![reply]);
        });
    });
}

#[tokio::test]
async fn echo_and_acks_with_our_server() {
    bounded(Duration::from_secs(15), async {
        let mut config = ServerConfig::default();
        config.engine.ping_interval = Duration::from_millis(300);
        config.engine.ping_timeout = Duration::from_millis(200);
        let io = SocketIo::new(config);
        io.on_connection(echo_handlers);
        io.of("/admin").on_connection(echo_handlers);
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());

        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let (t1, t2, t3) = (tx.clone(), tx.clone(), tx.clone());
        let socket = ClientBuilder::new(&url)
            .on("echo", move |_: Socket, args| {
                let _ = t1.send(("echo".into(), args));
            })
            .on("answer", move |_: Socket, args| {
                let _ = t2.send(("answer".into(), args));
            })
            .on_with_ack("question", |_, args, ack| {
                if let Some(ack) = ack {
                    let _ = ack.send(args);
                }
            })
            .connect()
            .await
            .expect("connect");
        let admin = ClientBuilder::new(format!("{url}/admin"))
            .on("echo", move |_: Socket, args| {
                let _ = t3.send(("admin echo".into(), args));
            })
            .connect()
            .await
            .expect("connect /admin");
        assert_eq!(
            socket.manager().engine().map(|e| e.sid().to_owned()),
            admin.manager().engine().map(|e| e.sid().to_owned())
        );

        let args = vec![
            Value::from(json!({"k": [1, 2.5, "é"]})),
            Value::Binary(Bytes::from_static(&[1, 2, 3])),
        ];
        socket.emit_args("echo", args.clone()).expect("emit");
        assert_eq!(inbox.expect("echo").await, args);
        admin.emit("echo", "admin").expect("emit");
        assert_eq!(inbox.expect("admin echo").await, [Value::from("admin")]);

        let reply = socket
            .emit_with_ack_args("echo", args.clone())
            .await
            .expect("ack");
        assert_eq!(reply, args);

        socket
            .emit_args("ask", vec![Value::from("q")])
            .expect("emit");
        assert_eq!(
            inbox.expect("answer").await,
            [Value::Array(vec![Value::from("q")])]
        );

        // Several heartbeats later, still connected (and upgraded).
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(socket.connected());
        assert_eq!(
            socket.manager().engine().map(|e| e.transport()),
            Some(socketio::client::TransportType::Websocket)
        );
        let reply = socket.emit_with_ack("echo", &"late").await.expect("ack");
        assert_eq!(reply, [Value::from("late")]);
        io.close();
    })
    .await;
}

#[tokio::test]
async fn events_without_a_handler_reach_the_fallback_with_their_ack_both_ways() {
    bounded(Duration::from_secs(15), async {
        let io = SocketIo::new(ServerConfig::default());
        io.on_connection(|socket| {
            socket.on("named", |_, _, ack| {
                if let Some(ack) = ack {
                    let _ = ack.send(vec![Value::from("named")]);
                }
            });
            socket.on_fallback(|_, event, args, ack| {
                if let Some(ack) = ack {
                    let mut reply = vec![Value::from(format!("fallback:{event}"))];
                    reply.extend(args);
                    let _ = ack.send(reply);
                }
            });
            // Asks the client an event it has no handler for.
            socket.on("ask", |s, args, _| {
                tokio::spawn(async move {
                    let reply = s
                        .emit_with_ack_args("unhandled", args, Duration::from_secs(2))
                        .await
                        .map(Value::Array)
                        .unwrap_or_else(|_| Value::from("error"));
                    let _ = s.emit_args("answer", vec![reply]);
                });
            });
        });
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());
        let mut inbox = Inbox::default();
        let tx = inbox.sender();
        let socket = ClientBuilder::new(&url)
            .on("answer", move |_: Socket, args| {
                let _ = tx.send(("answer".into(), args));
            })
            .on_fallback(|_, event, args, ack| {
                if let Some(ack) = ack {
                    let mut reply = vec![Value::from(format!("client:{event}"))];
                    reply.extend(args);
                    let _ = ack.send(reply);
                }
            })
            .connect()
            .await
            .expect("connect");
        socket.emit("ask", &"q").expect("emit");
        assert_eq!(
            inbox.expect("answer").await,
            [Value::Array(vec![
                Value::from("client:unhandled"),
                Value::from("q")
            ])]
        );

        // An event with a handler of its own does not reach the fallback.
        let reply = socket.emit_with_ack("named", &1).await.expect("ack");
        assert_eq!(reply, [Value::from("named")]);
        let reply = socket.emit_with_ack("other", &2).await.expect("ack");
        assert_eq!(reply, [Value::from("fallback:other"), Value::from(2)]);
        io.close();
    })
    .await;
}

/// A dynamic namespace whose matcher reads the CONNECT's `auth`, as
/// socket.io's `io.of((name, auth, next) => ...)`: a tenant's namespace
/// exists for its own clients only, and a client without auth is asked
/// about with `{}`.
#[tokio::test]
async fn dynamic_namespace_matcher_reads_the_auth() {
    bounded(Duration::from_secs(15), async {
        let io = SocketIo::new(ServerConfig::default());
        let asked = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen = asked.clone();
        io.of_dynamic_with_auth(move |name, auth| {
            seen.lock().push((name.to_owned(), auth.clone()));
            let tenant = auth.get("tenant").and_then(Value::as_str).unwrap_or("");
            name.strip_prefix("/tenant-") == Some(tenant)
        })
        .on_connection(echo_handlers);
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());

        let ours = ClientBuilder::new(format!("{url}/tenant-a"))
            .auth(&json!({ "tenant": "a" }))
            .connect()
            .await
            .expect("its own tenant's namespace");
        assert_eq!(ours.nsp(), "/tenant-a");
        for (path, auth) in [
            ("/tenant-b", Some(json!({ "tenant": "a" }))),
            ("/tenant-c", None),
        ] {
            let mut b = ClientBuilder::new(format!("{url}{path}")).reconnection(false);
            if let Some(auth) = &auth {
                b = b.auth(auth);
            }
            let Err(err) = b.connect().await else {
                panic!("{path} was let in")
            };
            assert_eq!(err.to_string(), "Invalid namespace", "{path}");
        }
        assert_eq!(
            *asked.lock(),
            vec![
                (
                    "/tenant-a".to_owned(),
                    Value::from(json!({ "tenant": "a" }))
                ),
                (
                    "/tenant-b".to_owned(),
                    Value::from(json!({ "tenant": "a" }))
                ),
                ("/tenant-c".to_owned(), Value::from(json!({}))),
            ]
        );
        ours.disconnect();
        io.close();
    })
    .await;
}
