//! The server against the real npm `socket.io-client` 4.8, driven through
//! tests/node/sio-client.mjs: every feature is exercised by the client the
//! reference ecosystem ships, and asserted on both sides.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use socketio::adapter::RoomEvent;
use socketio::server::{AckError, EmitError, Handshake};
use socketio::{ConnectError, DisconnectReason, Socket, SocketIo, Value};

const POLLING: &[&str] = &["polling"];
const WEBSOCKET: &[&str] = &["websocket"];

fn transports(t: &[&str]) -> Json {
    json!({ "transports": t })
}

/// A handler answering the ack with the event's own arguments.
fn echo_ack(socket: &Arc<Socket>, event: &str) {
    socket.on(event, |_, args, ack| {
        if let Some(ack) = ack {
            ack.send(args).expect("ack");
        }
    });
}

// ---------------------------------------------------------------------------
// Namespaces, handshake, middleware

#[tokio::test]
async fn several_namespaces_share_one_engine_connection() {
    let io = SocketIo::new(config());
    let (tx, mut left) = record();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |s| {
            s.on("whoami", |s, _, ack| {
                let ack = ack.expect("ack requested");
                ack.send(vec![
                    s.nsp().into(),
                    s.conn_id().to_string().into(),
                    s.transport().into(),
                ])
                .expect("ack");
            });
            let tx = tx.clone();
            s.on_disconnect(move |s, reason| {
                let _ = tx.send((s.nsp().to_owned(), reason));
            });
        });
    }
    let server = serve(io).await;
    let io = &server.io;
    let mut c = sio_client(&server, json!({})).await;

    let main = c.connect("main", json!({ "manager": "m" })).await;
    let admin = c
        .connect("admin", json!({ "manager": "m", "nsp": "/admin" }))
        .await;
    let engine = main["engine"].as_str().expect("engine id").to_owned();
    assert_eq!(
        admin["engine"], engine,
        "one Manager, one Engine.IO session"
    );
    assert_eq!(
        io.engine_count(),
        1,
        "one Engine.IO connection on the server"
    );

    let mains = io.of("/").sockets();
    let admins = io.of("/admin").sockets();
    assert_eq!((mains.len(), admins.len()), (1, 1));
    assert_eq!(mains[0].id().to_string(), main["id"]);
    assert_eq!(admins[0].id().to_string(), admin["id"]);
    assert_eq!(mains[0].conn_id().to_string(), engine);
    assert_eq!(admins[0].conn_id().to_string(), engine);
    assert_ne!(
        main["id"], admin["id"],
        "each namespace has its own socket id"
    );
    assert_ne!(main["id"], engine, "socket id differs from the engine id");

    // The default client upgrades polling → websocket; the session keeps its id.
    c.send(json!({ "cmd": "wait_upgrade", "manager": "m" }))
        .await;
    c.expect("upgrade", |v| v["event"] == "upgraded").await;
    assert_eq!(
        c.emit_ack("admin", "whoami", json!([])).await,
        json!(["/admin", engine, "websocket"])
    );
    assert_eq!(
        c.emit_ack("main", "whoami", json!([])).await,
        json!(["/", engine, "websocket"])
    );

    // Leaving one namespace keeps the connection and the other namespace.
    c.send(json!({ "cmd": "disconnect", "client": "admin" }))
        .await;
    assert_eq!(
        left.next().await,
        (
            "/admin".to_owned(),
            DisconnectReason::ClientNamespaceDisconnect
        )
    );
    assert_eq!(io.engine_count(), 1);
    assert!(io.of("/admin").sockets().is_empty());
    assert_eq!(
        c.emit_ack("main", "whoami", json!([])).await,
        json!(["/", engine, "websocket"])
    );
    c.finish().await;
}

#[tokio::test]
async fn auth_query_and_headers_reach_the_handshake() {
    let io = SocketIo::new(config());
    let (tx, mut handshakes) = record::<Handshake>();
    io.on_connection(move |s| {
        let _ = tx.send(s.handshake().clone());
        s.on("auth?", |s, _, ack| {
            let _ = ack.expect("ack").send(vec![s.handshake().auth.clone()]);
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;

    let auth = json!({
        "token": "abc",
        "n": 1.5,
        "nested": { "list": [1, "x", null, true], "empty": {} },
    });
    c.connect(
        "a",
        json!({
            "auth": auth,
            "opts": { "query": { "q": "v w" }, "extraHeaders": { "x-test": "yes" } },
        }),
    )
    .await;
    let h = handshakes.next().await;
    assert_eq!(tagged(&h.auth), auth);
    assert_eq!(h.query("q"), Some("v w"));
    assert_eq!(h.query("EIO"), Some("4"));
    assert_eq!(
        h.headers.get("x-test").and_then(|v| v.to_str().ok()),
        Some("yes")
    );
    assert_eq!(h.address, "127.0.0.1");
    assert!(h.url.starts_with("/socket.io/?"), "url {:?}", h.url);
    assert!(h.issued > 0);
    assert_eq!(c.emit_ack("a", "auth?", json!([])).await, json!([auth]));

    // No auth at all: `{}`.
    c.connect("b", json!({})).await;
    let h = handshakes.next().await;
    assert_eq!(tagged(&h.auth), json!({}));
    c.finish().await;
}

#[tokio::test]
async fn namespace_middleware_refusal_reaches_the_client() {
    let io = SocketIo::new(config());
    let (tx, mut ran) = record::<String>();
    let private = io.of("/private");
    let first = tx.clone();
    private.use_middleware(move |s| {
        let first = first.clone();
        async move {
            let token = s
                .handshake()
                .auth
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let _ = first.send(format!("first {token:?}"));
            if token.as_deref() == Some("secret") {
                s.set_data(Value::from("vetted"));
                Ok(())
            } else {
                Err(ConnectError::new("not authorized").with_data(untagged(
                    &json!({ "code": 4001, "retry": false, "hint": ["token"] }),
                )))
            }
        }
    });
    let second = tx.clone();
    private.use_fn(move |s| {
        let _ = second.send(format!("second data={}", tagged(&s.data())));
        Ok(())
    });
    let conn = tx.clone();
    private.on_connection(move |s| {
        let _ = conn.send(format!("connection {}", s.id()));
    });
    io.of("/bare").use_fn(|_| Err(ConnectError::new("nope")));
    io.on_connection(|s| echo_ack(&s, "echo"));
    let server = serve(io).await;
    let io = &server.io;
    let mut c = sio_client(&server, json!({})).await;
    // `/` first, so that the Manager keeps its connection open through the
    // refusals (it closes it once no socket of it is active).
    let main = c.connect("main", json!({ "manager": "m" })).await;

    c.send_connect(
        "bad",
        json!({ "manager": "m", "nsp": "/private", "auth": { "token": "wrong" } }),
    )
    .await;
    let err = c.expect_event("connect_error", "bad").await;
    assert_eq!(err["message"], "not authorized");
    assert_eq!(
        err["data"],
        json!({ "code": 4001, "retry": false, "hint": ["token"] })
    );
    assert_eq!(err["dataUndefined"], false);
    assert_eq!(ran.next().await, "first Some(\"wrong\")");

    // Without data, the client sees `err.data === undefined`.
    c.send_connect("bare", json!({ "manager": "m", "nsp": "/bare" }))
        .await;
    let err = c.expect_event("connect_error", "bare").await;
    assert_eq!(err["message"], "nope");
    assert_eq!(err["dataUndefined"], true);

    // The refusals left the Engine.IO connection and its `/` socket up.
    assert_eq!(c.emit_ack("main", "echo", json!([1])).await, json!([1]));
    assert_eq!(io.engine_count(), 1);
    assert_eq!(
        io.of("/").sockets()[0].conn_id().to_string(),
        main["engine"].as_str().unwrap()
    );
    assert!(io.of("/private").sockets().is_empty());

    // The right token passes both middlewares, in order.
    let good = c
        .connect(
            "good",
            json!({ "nsp": "/private", "auth": { "token": "secret" } }),
        )
        .await;
    assert_eq!(ran.next().await, "first Some(\"secret\")");
    assert_eq!(ran.next().await, "second data=\"vetted\"");
    assert_eq!(
        ran.next().await,
        format!("connection {}", good["id"].as_str().unwrap())
    );
    ran.assert_quiet(Duration::from_millis(50)).await;
    assert_eq!(io.of("/private").sockets().len(), 1);
    assert_ne!(main["engine"], good["engine"]);
    c.finish().await;
}

// ---------------------------------------------------------------------------
// Acknowledgements

async fn acks_both_ways(t: &[&str]) {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<(String, Json)>();
    io.on_connection(move |s| {
        s.on("sum", |_, args, ack| {
            let total: i64 = args.iter().filter_map(Value::as_i64).sum();
            ack.expect("ack").send(vec![total.into()]).expect("ack");
        });
        s.on("empty", |_, _, ack| {
            ack.expect("ack").send(vec![]).expect("ack")
        });
        #[derive(serde::Deserialize)]
        struct Point {
            x: i64,
            y: i64,
        }
        s.on_typed("point", |_, p: Point, ack| {
            ack.expect("ack").send_value(&(p.x * p.y)).expect("ack");
        });
        let never = tx.clone();
        s.on("never", move |_, _, ack| {
            let _ = never.send(("never".into(), json!(ack.is_some())));
        });
        let tx = tx.clone();
        s.on_async("ask-me", move |s, _, _| {
            let tx = tx.clone();
            async move {
                let r = s.emit_with_ack("question", &json!({ "n": 21 })).await;
                let _ = tx.send((
                    "question".into(),
                    json!(r.map(|v| tagged_args(&v)).map_err(|e| e.to_string())),
                ));

                #[derive(serde::Deserialize, Debug, PartialEq)]
                struct Answer {
                    answer: u32,
                }
                let r = s.emit_with_ack_typed::<Answer, _>("typed", &1).await;
                let _ = tx.send(("typed".into(), json!(format!("{r:?}"))));

                let started = Instant::now();
                let r = s
                    .timeout(Duration::from_millis(300))
                    .emit_with_ack("ignored", &"x")
                    .await;
                let timed_out = matches!(r, Err(AckError::Timeout));
                let _ = tx.send((
                    "ignored".into(),
                    json!({ "timeout": timed_out, "ms": started.elapsed().as_millis() as u64 }),
                ));

                // The callback form: an answer, then a timeout.
                for (event, wait) in [("question", 2000), ("ignored", 300)] {
                    let tx = tx.clone();
                    let started = Instant::now();
                    s.emit_with_ack_then(
                        event,
                        vec![],
                        Duration::from_millis(wait),
                        Default::default(),
                        move |r| {
                            let _ = tx.send((
                                format!("then {event}"),
                                json!({
                                    "r": r.map(|v| tagged_args(&v)).map_err(|e| e.to_string()),
                                    "ms": started.elapsed().as_millis() as u64,
                                }),
                            ));
                        },
                    );
                }
            }
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(t)).await;
    let line = c
        .connect(
            "a",
            json!({
                "answer": { "per": {
                    "question": { "with": [{ "answer": 42 }, "extra"] },
                    "typed": { "with": [{ "answer": 7 }] },
                    "ignored": "none",
                } },
            }),
        )
        .await;
    assert_eq!(line["transport"], t[0]);
    assert_eq!(server.io.of("/").sockets()[0].transport(), t[0]);

    // Client → server, with a callback and with emitWithAck.
    assert_eq!(c.emit_ack("a", "sum", json!([1, 2])).await, json!([3]));
    assert_eq!(
        c.emit_with_ack("a", "sum", json!([20, 22]), 2000).await,
        Ok(json!(42))
    );
    assert_eq!(c.emit_ack("a", "empty", json!([])).await, json!([]));
    // Typed handlers: the first argument deserialized; a misfit is dropped.
    assert_eq!(
        c.emit_ack("a", "point", json!([{ "x": 6, "y": 7 }])).await,
        json!([42])
    );
    assert_eq!(
        c.emit_with_ack("a", "point", json!(["not a point"]), 200)
            .await,
        Err("operation has timed out".to_owned())
    );
    // The server never answers: the client's own timeout fires.
    assert_eq!(
        c.emit_with_ack("a", "never", json!([]), 300).await,
        Err("operation has timed out".to_owned())
    );
    assert_eq!(seen.next().await, ("never".to_owned(), json!(true)));

    // Server → client: answered, typed, and never answered.
    c.emit("a", "ask-me", json!([])).await;
    assert_eq!(
        seen.next().await,
        (
            "question".to_owned(),
            json!({ "Ok": [{ "answer": 42 }, "extra"] })
        )
    );
    let q = c.recv("a", "question").await;
    assert_eq!(
        (q["args"].clone(), q["ack"].clone()),
        (json!([{ "n": 21 }]), json!(true))
    );
    assert_eq!(
        seen.next().await,
        ("typed".to_owned(), json!("Ok(Answer { answer: 7 })"))
    );
    let (name, ignored) = seen.next().await;
    assert_eq!(name, "ignored");
    assert_eq!(ignored["timeout"], true, "{ignored}");
    let ms = ignored["ms"].as_u64().unwrap();
    assert!((280..2000).contains(&ms), "timed out after {ms} ms");
    assert_eq!(c.recv("a", "ignored").await["ack"], true);
    let (name, then) = seen.next().await;
    assert_eq!(name, "then question");
    assert_eq!(then["r"], json!({ "Ok": [{ "answer": 42 }, "extra"] }));
    let (name, then) = seen.next().await;
    assert_eq!(name, "then ignored");
    assert_eq!(then["r"], json!({ "Err": "operation has timed out" }));
    let ms = then["ms"].as_u64().unwrap();
    assert!((280..2000).contains(&ms), "timed out after {ms} ms");
    c.finish().await;
}

#[tokio::test]
async fn acks_both_ways_polling() {
    acks_both_ways(POLLING).await;
}

#[tokio::test]
async fn acks_both_ways_websocket() {
    acks_both_ways(WEBSOCKET).await;
}

// ---------------------------------------------------------------------------
// Binary

async fn binary_both_ways(t: &[&str]) {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<(String, Json)>();
    let server_payload = json!([
        bin(&[9, 8, 7]),
        { "nested": [bin(&[0xff; 3]), { "x": bin(b"\r\n\x1e") }], "s": "text" },
    ]);
    let to_send = untagged(&server_payload);
    io.on_connection(move |s| {
        let tx = tx.clone();
        let to_send = to_send.clone();
        s.on("bin", move |s, args, ack| {
            let _ = tx.send(("bin".into(), tagged_args(&args)));
            s.emit_args("bin-back", args.clone()).expect("emit");
            ack.expect("ack").send(args).expect("ack");
            let tx = tx.clone();
            let args = to_send.as_array().cloned().unwrap_or_default();
            tokio::spawn(async move {
                let r = s
                    .emit_with_ack_args("bin-q", args, Duration::from_secs(3))
                    .await;
                let _ = tx.send((
                    "bin-q".into(),
                    json!(r.map(|v| tagged_args(&v)).map_err(|e| e.to_string())),
                ));
            });
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(t)).await;
    c.connect("a", json!({})).await;
    assert_eq!(server.io.of("/").sockets()[0].transport(), t[0]);

    let all: Vec<u8> = (0..=255).collect();
    let payload = json!([
        bin(&[0, 1, 2, 3, 254, 255]),
        {
            "file": bin(&all),
            "list": [bin(&[0]), "text", { "deep": bin("héllo".as_bytes()), "empty": bin(&[]) }],
            "n": 1,
        },
    ]);
    // Client → server event with ack; the ack and an event carry it back.
    let ack = c.emit_ack("a", "bin", payload.clone()).await;
    assert_eq!(ack, payload, "binary ack");
    assert_eq!(seen.next().await, ("bin".to_owned(), payload.clone()));
    assert_eq!(
        c.recv("a", "bin-back").await["args"],
        payload,
        "binary event"
    );

    // Server → client event with binary, answered with binary.
    let q = c.recv("a", "bin-q").await;
    assert_eq!(q["args"], server_payload);
    assert_eq!(q["ack"], true);
    assert_eq!(
        seen.next().await,
        ("bin-q".to_owned(), json!({ "Ok": server_payload }))
    );
    c.finish().await;
}

#[tokio::test]
async fn binary_both_ways_polling() {
    binary_both_ways(POLLING).await;
}

#[tokio::test]
async fn binary_both_ways_websocket() {
    binary_both_ways(WEBSOCKET).await;
}

// ---------------------------------------------------------------------------
// Rooms and broadcasting

type ByName = Arc<Mutex<HashMap<String, Arc<Socket>>>>;

/// Emits `barrier <step>` to the whole namespace, waits until every client in
/// `alive` got it, and returns who received what since the last barrier:
/// event name → sorted client names (a client twice if it got it twice).
async fn barrier(
    c: &mut NodeProc,
    io: &SocketIo,
    step: u32,
    alive: &[&str],
) -> BTreeMap<String, Vec<String>> {
    io.emit("barrier", &step).expect("barrier emit");
    for name in alive {
        c.expect(&format!("barrier {step} at {name}"), |v| {
            v["event"] == "recv"
                && v["client"] == *name
                && v["name"] == "barrier"
                && v["args"][0] == step
        })
        .await;
    }
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in c.take(|v| v["event"] == "recv" && v["name"] != "barrier") {
        got.entry(line["name"].as_str().unwrap().to_owned())
            .or_default()
            .push(line["client"].as_str().unwrap().to_owned());
    }
    for v in got.values_mut() {
        v.sort();
    }
    got
}

fn only(event: &str, clients: &[&str]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(
        event.to_owned(),
        clients.iter().map(|c| c.to_string()).collect(),
    )])
}

#[tokio::test]
async fn rooms_and_every_broadcast_operator() {
    let io = SocketIo::new(config());
    let by_name: ByName = Arc::default();
    let (done_tx, mut done) = record::<&'static str>();
    let (gone_tx, mut gone) = record::<(String, DisconnectReason)>();
    let (room_tx, mut room_events) = record::<RoomEvent>();
    io.of("/").on_room_event(move |e| {
        let _ = room_tx.send(e.clone());
    });
    let map = by_name.clone();
    io.on_connection(move |s| {
        let name = s
            .handshake()
            .auth
            .get("name")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        match name.as_str() {
            "a" => s.join("r1"),
            "b" => s.join(["r1", "r2"]),
            "c" => s.join(vec!["r2".to_owned()]),
            _ => {}
        }
        let tx = done_tx.clone();
        s.on("shout", move |s, args, _| {
            s.broadcast().emit_args("shout", args).expect("broadcast");
            let _ = tx.send("shout");
        });
        let tx = done_tx.clone();
        s.on("room-shout", move |s, args, _| {
            s.to("r2").emit_args("room-shout", args).expect("broadcast");
            let _ = tx.send("room-shout");
        });
        let tx = gone_tx.clone();
        let n = name.clone();
        s.on_disconnect(move |_, reason| {
            let _ = tx.send((n.clone(), reason));
        });
        map.lock().insert(name, s);
    });
    let server = serve(io).await;
    let io = &server.io;
    let mut c = sio_client(&server, json!({})).await;
    for name in ["a", "b", "c", "d"] {
        let answer = if name == "d" { "none" } else { "name" };
        c.connect(name, json!({ "auth": { "name": name }, "answer": answer }))
            .await;
    }
    assert_eq!(io.engine_count(), 4);
    let sock = |n: &str| by_name.lock()[n].clone();
    let mut rooms_of_b: Vec<String> = sock("b").rooms().iter().map(|r| r.to_string()).collect();
    rooms_of_b.sort();
    let mut expected = vec!["r1".to_owned(), "r2".to_owned(), sock("b").id().to_string()];
    expected.sort();
    assert_eq!(
        rooms_of_b, expected,
        "rooms() includes the socket's own room"
    );
    let all = ["a", "b", "c", "d"];

    io.to("r1").emit("s1", &1).unwrap();
    assert_eq!(barrier(&mut c, io, 1, &all).await, only("s1", &["a", "b"]));
    io.in_("r2").emit("s2", &2).unwrap();
    assert_eq!(barrier(&mut c, io, 2, &all).await, only("s2", &["b", "c"]));
    // Several rooms at once: each socket once, even when in both.
    io.to(["r1", "r2"]).emit("s3", &3).unwrap();
    assert_eq!(
        barrier(&mut c, io, 3, &all).await,
        only("s3", &["a", "b", "c"])
    );
    io.except("r1").emit("s4", &4).unwrap();
    assert_eq!(barrier(&mut c, io, 4, &all).await, only("s4", &["c", "d"]));
    io.to("r2").except("r1").emit("s5", &5).unwrap();
    assert_eq!(barrier(&mut c, io, 5, &all).await, only("s5", &["c"]));
    // A socket's id is a room too.
    io.to("r1").except(sock("a").id()).emit("s6", &6).unwrap();
    io.to(sock("d").id()).emit("s6", &6).unwrap();
    assert_eq!(barrier(&mut c, io, 6, &all).await, only("s6", &["b", "d"]));

    // From a socket: everyone but the sender.
    c.emit("a", "shout", json!(["hi"])).await;
    assert_eq!(done.next().await, "shout");
    let got = barrier(&mut c, io, 7, &all).await;
    assert_eq!(got, only("shout", &["b", "c", "d"]));
    // From a socket to a room it is in: the sender still excluded.
    c.emit("b", "room-shout", json!(["yo"])).await;
    assert_eq!(done.next().await, "room-shout");
    assert_eq!(
        barrier(&mut c, io, 8, &all).await,
        only("room-shout", &["c"])
    );

    // io.emit and the flags that do not change who receives (volatile
    // does, by the state of each transport: see the volatile test).
    io.emit("s9", &json!({ "k": [1, 2] })).unwrap();
    io.broadcast()
        .local()
        .compress(false)
        .emit("s9l", &9)
        .unwrap();
    let got = barrier(&mut c, io, 9, &all).await;
    assert_eq!(got["s9"], all);
    assert_eq!(got["s9l"], all);

    // Broadcast with acks: d never answers and is reported missing.
    let started = Instant::now();
    let acks = io
        .broadcast()
        .timeout(Duration::from_millis(400))
        .emit_with_ack("s10", &"q")
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(380),
        "returned after {waited:?}"
    );
    let mut answered: Vec<(String, Json)> = acks
        .responses
        .iter()
        .map(|(sid, args)| (sid.to_string(), tagged_args(args)))
        .collect();
    answered.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected: Vec<(String, Json)> = ["a", "b", "c"]
        .iter()
        .map(|n| (sock(n).id().to_string(), json!([n])))
        .collect();
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(answered, expected);
    assert_eq!(acks.missing, vec![sock("d").id()]);
    assert!(!acks.is_complete());
    // Everyone answers: no waiting for the timeout (server default 2 s).
    let started = Instant::now();
    let acks = io.to("r1").emit_with_ack("s10b", &"q").await.unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    assert_eq!(acks.responses.len(), 2);
    assert!(started.elapsed() < Duration::from_millis(1500));
    let got = barrier(&mut c, io, 10, &all).await;
    assert_eq!(got["s10"], all);
    assert_eq!(got["s10b"], ["a", "b"]);

    // sockets_join / sockets_leave act on the matching sockets.
    room_events.drain();
    io.in_("r1").sockets_join("r3");
    assert!(sock("a").rooms().iter().any(|r| &**r == "r3"));
    io.to("r3").emit("s11", &11).unwrap();
    assert_eq!(
        barrier(&mut c, io, 11, &all).await,
        only("s11", &["a", "b"])
    );
    io.in_("r3").except("r2").sockets_leave("r3");
    io.to("r3").emit("s12", &12).unwrap();
    assert_eq!(barrier(&mut c, io, 12, &all).await, only("s12", &["b"]));
    let events = room_events.drain();
    assert_eq!(
        events,
        vec![
            RoomEvent::CreateRoom("r3".into()),
            RoomEvent::JoinRoom("r3".into(), events_sid(&events, 1)),
            RoomEvent::JoinRoom("r3".into(), events_sid(&events, 2)),
            RoomEvent::LeaveRoom("r3".into(), sock("a").id()),
        ]
    );
    let mut joined = vec![events_sid(&events, 1), events_sid(&events, 2)];
    joined.sort();
    let mut ab = vec![sock("a").id(), sock("b").id()];
    ab.sort();
    assert_eq!(joined, ab);

    // disconnect_sockets(false): the clients see "io server disconnect".
    io.in_("r2").disconnect_sockets(false);
    let mut reasons = vec![gone.next().await, gone.next().await];
    reasons.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        reasons,
        vec![
            ("b".to_owned(), DisconnectReason::ServerNamespaceDisconnect),
            ("c".to_owned(), DisconnectReason::ServerNamespaceDisconnect),
        ]
    );
    assert_eq!(c.disconnected("b").await, "io server disconnect");
    assert_eq!(c.disconnected("c").await, "io server disconnect");
    assert!(!io.of("/").rooms().iter().any(|r| &**r == "r2"));
    io.emit("s13", &13).unwrap();
    assert_eq!(
        barrier(&mut c, io, 13, &["a", "d"]).await,
        only("s13", &["a", "d"])
    );
    assert_eq!(io.of("/").sockets().len(), 2);
    c.finish().await;
}

fn events_sid(events: &[RoomEvent], i: usize) -> socketio::adapter::Sid {
    match events.get(i) {
        Some(RoomEvent::JoinRoom(_, sid)) => *sid,
        other => panic!("expected a join at {i}, got {other:?} in {events:?}"),
    }
}

// ---------------------------------------------------------------------------
// Disconnections

/// A server recording every disconnect, with `kick` (disconnect(false)) and
/// `kick-close` (disconnect(true)) events.
fn disconnect_server() -> (SocketIo, Seen<(String, DisconnectReason, usize)>) {
    let io = SocketIo::new(config());
    let (tx, seen) = record();
    io.on_connection(move |s| {
        s.join("some-room");
        s.on("kick", |s, _, _| s.disconnect(false));
        s.on("kick-close", |s, _, _| s.disconnect(true));
        let disconnecting = tx.clone();
        s.on_disconnecting(move |s, reason| {
            // Still in its rooms here.
            let _ = disconnecting.send(("disconnecting".into(), reason, s.rooms().len()));
        });
        let tx = tx.clone();
        s.on_disconnect(move |s, reason| {
            let _ = tx.send(("disconnect".into(), reason, s.rooms().len()));
        });
    });
    (io, seen)
}

async fn assert_reason(
    seen: &mut Seen<(String, DisconnectReason, usize)>,
    reason: DisconnectReason,
) {
    assert_eq!(seen.next().await, ("disconnecting".to_owned(), reason, 2));
    assert_eq!(seen.next().await, ("disconnect".to_owned(), reason, 0));
}

#[tokio::test]
async fn client_namespace_disconnect_reason() {
    let (io, mut seen) = disconnect_server();
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({})).await;
    c.send(json!({ "cmd": "disconnect", "client": "a" })).await;
    assert_reason(&mut seen, DisconnectReason::ClientNamespaceDisconnect).await;
    assert_eq!(c.disconnected("a").await, "io client disconnect");
    assert!(server.io.of("/").sockets().is_empty());
    assert!(server.io.of("/").rooms().is_empty());
    c.finish().await;
}

async fn transport_close_on(t: &[&str]) {
    let (io, mut seen) = disconnect_server();
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(t)).await;
    c.connect("a", json!({})).await;
    c.send(json!({ "cmd": "close_engine", "manager": "a" }))
        .await;
    assert_reason(&mut seen, DisconnectReason::TransportClose).await;
    eventually("engine session gone", || server.io.engine_count() == 0).await;
    c.finish().await;
}

#[tokio::test]
async fn transport_close_reason_when_the_client_closes_the_engine_websocket() {
    transport_close_on(WEBSOCKET).await;
}

#[tokio::test]
async fn transport_close_reason_when_the_client_closes_the_engine_polling() {
    transport_close_on(POLLING).await;
}

#[tokio::test]
async fn transport_close_reason_when_the_client_process_dies() {
    let (io, mut seen) = disconnect_server();
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(WEBSOCKET)).await;
    c.connect("a", json!({})).await;
    c.kill().await;
    assert_reason(&mut seen, DisconnectReason::TransportClose).await;
    eventually("engine session gone", || server.io.engine_count() == 0).await;
}

#[tokio::test]
async fn server_namespace_disconnect_is_io_server_disconnect_for_the_client() {
    let (io, mut seen) = disconnect_server();
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({})).await;
    c.emit("a", "kick", json!([])).await;
    assert_reason(&mut seen, DisconnectReason::ServerNamespaceDisconnect).await;
    assert_eq!(c.disconnected("a").await, "io server disconnect");
    // The client will not reconnect on its own after a server disconnect.
    c.send(json!({ "cmd": "state", "client": "a" })).await;
    let state = c.expect_event("state", "a").await;
    assert_eq!(
        (state["connected"].clone(), state["active"].clone()),
        (json!(false), json!(false))
    );
    c.finish().await;
}

#[tokio::test]
async fn disconnect_with_close_is_io_server_disconnect_for_the_client() {
    let (io, mut seen) = disconnect_server();
    io.of("/other");
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({ "manager": "m" })).await;
    c.connect("b", json!({ "manager": "m", "nsp": "/other" }))
        .await;
    c.emit("a", "kick-close", json!([])).await;
    let (what, _, _) = seen.next().await;
    assert_eq!(what, "disconnecting");
    // The reference sends `41` (and `41/other,`) before closing, so both
    // sockets end with "io server disconnect" and do not reconnect.
    assert_eq!(c.disconnected("a").await, "io server disconnect");
    assert_eq!(c.disconnected("b").await, "io server disconnect");
    eventually("engine session gone", || server.io.engine_count() == 0).await;
    c.finish().await;
}

#[tokio::test]
async fn disconnect_with_close_ends_the_whole_connection() {
    let (io, mut seen) = disconnect_server();
    let other = io.of("/other");
    let (tx, mut other_gone) = record();
    other.on_connection(move |s| {
        let tx = tx.clone();
        s.on_disconnect(move |_, reason| {
            let _ = tx.send(reason);
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({ "manager": "m" })).await;
    c.connect("b", json!({ "manager": "m", "nsp": "/other" }))
        .await;
    c.emit("a", "kick-close", json!([])).await;
    let (what, reason, _) = seen.next().await;
    assert_eq!(what, "disconnecting");
    assert_eq!(seen.next().await.0, "disconnect");
    // Every namespace of the connection goes, with the same reason.
    assert_eq!(other_gone.next().await, reason);
    c.disconnected("a").await;
    c.disconnected("b").await;
    eventually("engine session gone", || server.io.engine_count() == 0).await;
    c.finish().await;
}

#[tokio::test]
async fn server_close_disconnects_everyone() {
    let (io, mut seen) = disconnect_server();
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(WEBSOCKET)).await;
    c.connect("a", json!({})).await;
    server.io.close();
    assert_reason(&mut seen, DisconnectReason::ServerShuttingDown).await;
    assert_eq!(c.disconnected("a").await, "transport close");
    c.finish().await;
}

// ---------------------------------------------------------------------------
// Catch-all listeners and event middlewares

#[tokio::test]
async fn on_any_prepend_any_off_any_and_on_any_outgoing() {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<String>();
    let (out_tx, mut outgoing) = record::<(String, Json)>();
    let io2 = io.clone();
    io.on_connection(move |s| {
        let t = tx.clone();
        let first = s.on_any(move |_, name, args| {
            let _ = t.send(format!("any1 {name} {}", tagged_args(args)));
        });
        let t = tx.clone();
        s.prepend_any(move |_, name, _| {
            let _ = t.send(format!("any0 {name}"));
        });
        let t = tx.clone();
        s.on("e", move |_, args, ack| {
            let _ = t.send(format!("handler e {}", tagged_args(&args)));
            ack.expect("ack").send(vec![]).expect("ack");
        });
        s.on("off-one", move |s, _, ack| {
            s.off_any(Some(first));
            ack.expect("ack").send(vec![]).expect("ack");
        });
        s.on("off-all", |s, _, ack| {
            s.off_any(None);
            ack.expect("ack").send(vec![]).expect("ack");
        });
        let out = out_tx.clone();
        s.on_any_outgoing(move |_, name, args| {
            let _ = out.send((name.to_owned(), tagged_args(args)));
        });
        s.on("please-emit", |s, _, ack| {
            s.emit_args("out", vec![1.into(), "two".into()])
                .expect("emit");
            ack.expect("ack").send(vec!["ok".into()]).expect("ack");
        });
        let io = io2.clone();
        s.on("please-broadcast", move |_, _, ack| {
            io.emit("all", &7).expect("broadcast");
            ack.expect("ack").send(vec![]).expect("ack");
        });
        s.on("stop-outgoing", |s, _, ack| {
            s.off_any_outgoing(None);
            s.emit("silent", &0).expect("emit");
            ack.expect("ack").send(vec![]).expect("ack");
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({})).await;

    c.emit_ack("a", "e", json!([1])).await;
    c.emit_ack("a", "off-one", json!([])).await;
    c.emit_ack("a", "e", json!([2])).await;
    c.emit_ack("a", "off-all", json!([])).await;
    c.emit_ack("a", "e", json!([3])).await;
    let expected = [
        "any0 e",
        "any1 e [1]",
        "handler e [1]",
        "any0 off-one",
        "any1 off-one []",
        "any0 e",
        "handler e [2]",
        "any0 off-all",
        "handler e [3]",
    ];
    for e in expected {
        assert_eq!(seen.next().await, e);
    }
    seen.assert_quiet(Duration::from_millis(50)).await;

    // Outgoing listeners see emits, not acknowledgements.
    assert_eq!(
        c.emit_ack("a", "please-emit", json!([])).await,
        json!(["ok"])
    );
    assert_eq!(c.recv("a", "out").await["args"], json!([1, "two"]));
    assert_eq!(outgoing.next().await, ("out".to_owned(), json!([1, "two"])));
    // Broadcasts too, as the reference's adapter notifies each target.
    c.emit_ack("a", "please-broadcast", json!([])).await;
    assert_eq!(c.recv("a", "all").await["args"], json!([7]));
    assert_eq!(outgoing.next().await, ("all".to_owned(), json!([7])));
    c.emit_ack("a", "stop-outgoing", json!([])).await;
    c.recv("a", "silent").await;
    outgoing.assert_quiet(Duration::from_millis(50)).await;
    c.finish().await;
}

#[tokio::test]
async fn socket_middleware_refuses_an_event() {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<String>();
    io.on_connection(move |s| {
        s.use_middleware(|_, name, args| match name {
            "forbidden" => Err(Value::from("not allowed")),
            "modify" => {
                args.push(Value::from("added"));
                Ok(())
            }
            _ => Ok(()),
        });
        let t = tx.clone();
        s.use_middleware(move |_, name, _| {
            let _ = t.send(format!("second middleware {name}"));
            Ok(())
        });
        let t = tx.clone();
        s.on_error(move |_, err| {
            let _ = t.send(format!("error {}", tagged(&err)));
        });
        let t = tx.clone();
        s.on("forbidden", move |_, _, _| {
            let _ = t.send("forbidden handler ran".into());
        });
        echo_ack(&s, "modify");
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({})).await;

    c.emit("a", "forbidden", json!([1])).await;
    // A refused event gets no acknowledgement either.
    assert_eq!(
        c.emit_with_ack("a", "forbidden", json!([2]), 200).await,
        Err("operation has timed out".to_owned())
    );
    assert_eq!(
        c.emit_ack("a", "modify", json!([1])).await,
        json!([1, "added"])
    );
    assert_eq!(seen.next().await, "error \"not allowed\"");
    assert_eq!(seen.next().await, "error \"not allowed\"");
    assert_eq!(seen.next().await, "second middleware modify");
    seen.assert_quiet(Duration::from_millis(50)).await;
    c.finish().await;
}

// ---------------------------------------------------------------------------
// Per-socket data

#[tokio::test]
async fn per_socket_data() {
    let io = SocketIo::new(config());
    io.of("/").use_fn(|s| {
        let name = s.handshake().auth.get("name").cloned().unwrap_or_default();
        s.set_data(untagged(&json!({ "name": tagged(&name), "visits": 0 })));
        Ok(())
    });
    io.on_connection(|s| {
        s.on("visit", |s, _, ack| {
            let mut data = s.data();
            let visits = data.get("visits").and_then(Value::as_u64).unwrap_or(0);
            data.as_object_mut()
                .expect("object data")
                .insert("visits".into(), (visits + 1).into());
            s.set_data(data.clone());
            ack.expect("ack").send(vec![data]).expect("ack");
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({ "auth": { "name": "ann" } })).await;
    c.connect("b", json!({ "auth": { "name": "bob" } })).await;
    c.emit_ack("a", "visit", json!([])).await;
    assert_eq!(
        c.emit_ack("a", "visit", json!([])).await,
        json!([{ "name": "ann", "visits": 2 }])
    );
    assert_eq!(
        c.emit_ack("b", "visit", json!([])).await,
        json!([{ "name": "bob", "visits": 1 }])
    );
    let mut seen: Vec<Json> = server
        .io
        .of("/")
        .sockets()
        .iter()
        .map(|s| tagged(&s.data()))
        .collect();
    seen.sort_by_key(|v| v["name"].as_str().unwrap().to_owned());
    assert_eq!(
        seen,
        vec![
            json!({ "name": "ann", "visits": 2 }),
            json!({ "name": "bob", "visits": 1 })
        ]
    );
    c.finish().await;
}

// ---------------------------------------------------------------------------
// Volatile

// The test runtime is single-threaded: while the loops below run without an
// await, the connection's writer cannot run, so the transport stays busy
// with the first packet and the send buffer fills up.
#[tokio::test(flavor = "current_thread")]
async fn volatile_emits_are_dropped_while_the_transport_is_busy() {
    let mut cfg = config();
    cfg.engine.max_buffer_size = 8;
    let server = serve(SocketIo::new(cfg)).await;
    let mut c = sio_client(&server, transports(WEBSOCKET)).await;
    c.connect("a", json!({})).await;
    let s = server.io.of("/").sockets()[0].clone();

    // The writer waits for packets: the first volatile broadcast goes, the
    // others find it busy, as the reference's `transport.writable`.
    for i in 0..50 {
        server
            .io
            .broadcast()
            .volatile()
            .emit("v", &i)
            .expect("volatile broadcast never fails");
    }
    for i in 0..50 {
        s.emit_volatile("sv", vec![i.into()])
            .expect("volatile emit never fails");
    }
    // Regular emits are queued until the buffer is full.
    for i in 0..7 {
        s.emit("fill", &i).expect("room in the buffer");
    }
    let full = s.emit("must", &0);
    assert!(matches!(full, Err(EmitError::Full)), "{full:?}");

    // Once the writer ran, emits go through again.
    let deadline = Instant::now() + WAIT;
    while s.emit("after", &0).is_err() {
        assert!(Instant::now() < deadline, "the send buffer never drained");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.recv("a", "after").await;
    // Idle again: a volatile emit is written.
    s.emit_volatile("idle", vec![1.into()])
        .expect("volatile emit never fails");
    c.recv("a", "idle").await;
    let count =
        |c: &mut NodeProc, name: &str| c.take(|l| l["event"] == "recv" && l["name"] == name).len();
    assert_eq!(count(&mut c, "v"), 1, "volatile broadcasts delivered");
    assert_eq!(count(&mut c, "sv"), 0, "volatile emits to a busy transport");
    assert_eq!(count(&mut c, "fill"), 7);
    assert_eq!(count(&mut c, "must"), 0, "nothing fits in a full buffer");
    c.finish().await;
}

// ---------------------------------------------------------------------------
// Payload fidelity and ordering

/// Runs the `roundtrip` command of sio-client.mjs (values echoed by an ack
/// must come back identical, compared in JavaScript) and returns the values
/// that did not.
async fn roundtrip(t: &[&str], set: &str) -> Vec<Json> {
    let io = SocketIo::new(config());
    io.on_connection(|s| echo_ack(&s, "echo"));
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(t)).await;
    c.connect("a", json!({})).await;
    c.send(json!({ "cmd": "roundtrip", "client": "a", "set": set }))
        .await;
    let done = c.expect_event("roundtrip_done", "a").await;
    let results = c.take(|l| l["event"] == "roundtrip");
    assert_eq!(results.len() as u64, done["count"].as_u64().unwrap());
    c.finish().await;
    results.into_iter().filter(|l| l["equal"] != true).collect()
}

#[tokio::test]
async fn json_values_round_trip_exactly_polling() {
    let wrong = roundtrip(POLLING, "tricky").await;
    assert!(wrong.is_empty(), "values changed on the way: {wrong:#?}");
}

#[tokio::test]
async fn json_values_round_trip_exactly_websocket() {
    let wrong = roundtrip(WEBSOCKET, "tricky").await;
    assert!(wrong.is_empty(), "values changed on the way: {wrong:#?}");
}

#[tokio::test]
async fn strings_with_lone_surrogates_survive() {
    // Rust strings cannot hold lone UTF-16 surrogates: the server keeps the
    // connection and hands them on as U+FFFD (a documented difference from
    // the reference, which echoes them unchanged).
    let wrong = roundtrip(WEBSOCKET, "surrogates").await;
    assert!(
        !wrong.is_empty(),
        "lone surrogates cannot come back unchanged"
    );
    for w in &wrong {
        assert!(w.get("error").is_none(), "connection lost: {w:#?}");
        assert!(
            w["got"].to_string().contains('\u{fffd}'),
            "no replacement: {w:#?}"
        );
    }
}

async fn events_reach_handlers_in_order(t: &[&str]) {
    let io = SocketIo::new(config());
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let seen = order.clone();
    io.on_connection(move |s| {
        let seen = seen.clone();
        s.on("seq", move |_, args, _| {
            seen.lock().push(args[0].as_u64().unwrap());
        });
        echo_ack(&s, "sync");
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, transports(t)).await;
    c.connect("a", json!({})).await;
    for i in 0..300 {
        c.emit("a", "seq", json!([i])).await;
    }
    c.emit_ack("a", "sync", json!([])).await;
    assert_eq!(*order.lock(), (0..300).collect::<Vec<u64>>());
    c.finish().await;
}

#[tokio::test]
async fn events_reach_handlers_in_order_polling() {
    events_reach_handlers_in_order(POLLING).await;
}

#[tokio::test]
async fn events_reach_handlers_in_order_websocket() {
    events_reach_handlers_in_order(WEBSOCKET).await;
}

#[tokio::test]
async fn pending_ack_fails_when_the_client_leaves() {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<String>();
    io.on_connection(move |s| {
        let tx = tx.clone();
        s.on("ask-me", move |s, _, _| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = s
                    .timeout(Duration::from_secs(10))
                    .emit_with_ack("unanswered", &1)
                    .await;
                let fast = started.elapsed() < Duration::from_secs(3);
                let _ = tx.send(format!(
                    "{} fast={fast}",
                    match r {
                        Err(AckError::Disconnected) => "disconnected".to_owned(),
                        other => format!("{other:?}"),
                    }
                ));
            });
        });
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({ "answer": "none" })).await;
    c.emit("a", "ask-me", json!([])).await;
    c.recv("a", "unanswered").await;
    c.send(json!({ "cmd": "disconnect", "client": "a" })).await;
    assert_eq!(seen.next().await, "disconnected fast=true");
    c.finish().await;
}

#[tokio::test]
async fn binary_broadcast_reaches_every_client_intact() {
    let io = SocketIo::new(config());
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.connect("a", json!({ "opts": { "transports": ["polling"] } }))
        .await;
    c.connect("b", json!({ "opts": { "transports": ["websocket"] } }))
        .await;
    let payload = json!([bin(&[1, 2, 3]), { "more": [bin(&[0; 10]), "s"] }]);
    let args = untagged(&payload).as_array().cloned().unwrap();
    server.io.broadcast().emit_args("blob", args).unwrap();
    assert_eq!(c.recv("a", "blob").await["args"], payload);
    assert_eq!(c.recv("b", "blob").await["args"], payload);
    c.finish().await;
}

#[tokio::test]
async fn rooms_joined_in_a_refusing_middleware_are_left() {
    let io = SocketIo::new(config());
    let vip = io.of("/vip");
    vip.use_fn(|s| {
        s.join("vip");
        Ok(())
    });
    vip.use_fn(|s| match s.handshake().auth.get("ok") {
        Some(Value::Bool(true)) => Ok(()),
        _ => Err(ConnectError::new("no")),
    });
    let server = serve(io).await;
    let mut c = sio_client(&server, json!({})).await;
    c.send_connect("out", json!({ "nsp": "/vip" })).await;
    c.expect_event("connect_error", "out").await;
    let rooms = server.io.of("/vip").rooms();
    assert!(
        rooms.is_empty(),
        "a refused socket left rooms behind: {rooms:?}"
    );

    // Joined in an accepting middleware, the room works as usual.
    c.connect("in", json!({ "nsp": "/vip", "auth": { "ok": true } }))
        .await;
    server.io.of("/vip").to("vip").emit("hi", &1).unwrap();
    c.recv("in", "hi").await;
    c.finish().await;
}
