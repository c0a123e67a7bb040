//! The Socket.IO server behind its HTTP entry (`SocketIo::service()`):
//! arbitrary sequences of polling sessions carrying arbitrary Socket.IO
//! packets (joins of static, dynamic, refused and unknown namespaces,
//! events, acks, binary attachments, disconnects, garbage) and server-side
//! actions (broadcasts, emits with acks, room changes, disconnects), with
//! virtual-time jumps, in a current-thread runtime with paused time.
//!
//! Checks, besides "no panic anywhere": every pending request is answered
//! once the server closes, and then no Engine.IO session, namespace socket
//! or adapter room is left.
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use engineio::proto::{encode_payload, Packet as EioPacket};
use engineio::Str;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use socketio::server::ConnectError;
use socketio::{ServerConfig, SocketIo, Value};

const NSPS: [&str; 5] = ["/", "/chat", "/dyn-a", "/dyn-b", "/nope"];
const EVENTS: [&str; 9] = [
    "echo", "join", "leave", "bcast", "ackme", "bye", "kick", "rooms", "other",
];

#[derive(Arbitrary, Debug, Clone)]
enum Arg {
    Null,
    Int(i32),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    List(Vec<u8>),
}

fn json_arg(a: &Arg, attachments: &mut Vec<Bytes>) -> String {
    match a {
        Arg::Null => "null".into(),
        Arg::Int(i) => i.to_string(),
        Arg::Float(f) if f.is_finite() => format!("{f:?}"),
        Arg::Float(_) => "1e400".into(),
        Arg::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        Arg::Bin(b) => {
            attachments.push(Bytes::copy_from_slice(b));
            format!(r#"{{"_placeholder":true,"num":{}}}"#, attachments.len() - 1)
        }
        Arg::List(l) => format!("{l:?}"),
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum SioSel {
    Connect {
        nsp: u8,
        auth: Option<String>,
        reject: bool,
    },
    Disconnect {
        nsp: u8,
    },
    Event {
        nsp: u8,
        event: u8,
        id: Option<u16>,
        args: Vec<Arg>,
    },
    Ack {
        nsp: u8,
        id: u16,
        args: Vec<Arg>,
    },
    /// Announce `extra` more attachments than sent (or fewer, if negative).
    Binary {
        nsp: u8,
        event: u8,
        id: Option<u16>,
        args: Vec<Arg>,
        extra: i8,
    },
    RawText(String),
    RawBinary(Vec<u8>),
    EngineClose,
    EnginePong,
}

fn nsp_of(i: u8) -> &'static str {
    NSPS[i as usize % NSPS.len()]
}

fn prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

fn messages(p: &SioSel) -> Vec<EioPacket> {
    let text = |s: String| EioPacket::Message(Str::from(s.replace('\u{1e}', "")));
    match p {
        SioSel::Connect { nsp, auth, reject } => {
            let auth = match (auth, reject) {
                (_, true) => r#"{"reject":true}"#.to_owned(),
                (Some(a), _) => a.clone(),
                (None, _) => String::new(),
            };
            vec![text(format!("0{}{auth}", prefix(nsp_of(*nsp))))]
        }
        SioSel::Disconnect { nsp } => vec![text(format!("1{}", prefix(nsp_of(*nsp))))],
        SioSel::Event {
            nsp,
            event,
            id,
            args,
        }
        | SioSel::Binary {
            nsp,
            event,
            id,
            args,
            ..
        } => {
            let mut attachments = Vec::new();
            let mut items = vec![format!("{:?}", EVENTS[*event as usize % EVENTS.len()])];
            items.extend(args.iter().map(|a| json_arg(a, &mut attachments)));
            let id = id.map(|i| i.to_string()).unwrap_or_default();
            let body = format!("{}{id}[{}]", prefix(nsp_of(*nsp)), items.join(","));
            let mut out = Vec::new();
            match p {
                SioSel::Binary { extra, .. } => {
                    let count = (attachments.len() as i64 + i64::from(*extra)).max(0);
                    out.push(text(format!("5{count}-{body}")));
                }
                _ => out.push(text(format!("2{body}"))),
            }
            out.extend(attachments.into_iter().map(EioPacket::Binary));
            out
        }
        SioSel::Ack { nsp, id, args } => {
            let mut attachments = Vec::new();
            let items: Vec<String> = args.iter().map(|a| json_arg(a, &mut attachments)).collect();
            let head = if attachments.is_empty() {
                "3".to_owned()
            } else {
                format!("6{}-", attachments.len())
            };
            let mut out = vec![text(format!(
                "{head}{}{id}[{}]",
                prefix(nsp_of(*nsp)),
                items.join(",")
            ))];
            out.extend(attachments.into_iter().map(EioPacket::Binary));
            out
        }
        SioSel::RawText(s) => vec![text(s.clone())],
        SioSel::RawBinary(b) => vec![EioPacket::Binary(Bytes::copy_from_slice(b))],
        SioSel::EngineClose => vec![EioPacket::Close],
        SioSel::EnginePong => vec![EioPacket::Pong],
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Handshake,
    Post {
        session: u8,
        packets: Vec<SioSel>,
        background: bool,
    },
    Poll {
        session: u8,
        background: bool,
    },
    Sleep(u16),
    Broadcast {
        nsp: u8,
        room: Option<u8>,
    },
    ServerAck {
        session: u8,
    },
    Disconnect {
        session: u8,
        close: bool,
    },
    Yield,
}

fn server() -> (SocketIo, Arc<socketio::server::ParentNamespace>) {
    let mut config = ServerConfig::default()
        .connect_timeout(Duration::from_secs(5))
        .ack_timeout(Duration::from_secs(2))
        .max_attachments(4);
    config.engine.max_buffer_size = 16;
    config.engine.max_http_buffer_size = 4_000;
    let io = SocketIo::new(config);
    let setup = |s: Arc<socketio::Socket>| {
        s.join("all");
        s.on("echo", |s, args, ack| match ack {
            Some(ack) => {
                let _ = ack.send(args);
            }
            None => {
                let _ = s.emit_args("echo", args);
            }
        });
        s.on("join", |s, args, _| {
            let room = format!("r{}", args.len() % 3);
            s.join(room);
        });
        s.on("leave", |s, args, _| {
            s.leave(&format!("r{}", args.len() % 3))
        });
        s.on("bcast", |s, args, _| {
            let _ = s.broadcast().emit_args("bcast", args.clone());
            let _ = s.to("r1").except("r2").emit_args("bcast", args);
        });
        s.on("ackme", |s, args, _| {
            tokio::spawn(async move {
                let _ = s
                    .emit_with_ack_args("ackme", args, Duration::from_secs(1))
                    .await;
            });
        });
        s.on("bye", |s, _, _| s.disconnect(false));
        s.on("kick", |s, _, _| s.disconnect(true));
        s.on("rooms", |s, _, ack| {
            if let Some(ack) = ack {
                let rooms: Vec<Value> = s.rooms().iter().map(|r| Value::from(&**r)).collect();
                let _ = ack.send(rooms);
            }
        });
    };
    io.on_connection(setup);
    io.of("/chat").on_connection(setup);
    io.of("/chat").use_fn(|s| {
        if s.handshake().auth.get("reject").is_some() {
            Err(ConnectError::new("rejected"))
        } else {
            Ok(())
        }
    });
    let parent = io.of_regex("^/dyn-").expect("regex");
    parent.on_connection(setup);
    (io, parent)
}

async fn run(ops: Vec<Op>) {
    let (io, parent) = server();
    let svc = io.service();
    let sids: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut background = tokio::task::JoinSet::new();
    let sid_at = |i: u8| {
        let s = sids.lock().unwrap();
        (!s.is_empty()).then(|| s[i as usize % s.len()].clone())
    };
    for op in ops.into_iter().take(40) {
        match op {
            Op::Handshake => {
                let req = Request::get("/socket.io/?EIO=4&transport=polling")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let res = svc.handle(req).await;
                if res.status() == 200 {
                    let body = res.into_body().collect().await.unwrap().to_bytes();
                    let text = std::str::from_utf8(&body).unwrap();
                    let sid = text.split("\"sid\":\"").nth(1).unwrap().split('"').next();
                    sids.lock().unwrap().push(sid.unwrap().to_owned());
                }
            }
            Op::Post {
                session,
                packets,
                background: bg,
            } => {
                let Some(sid) = sid_at(session) else { continue };
                let eio: Vec<EioPacket> = packets.iter().flat_map(messages).collect();
                if eio.is_empty() {
                    continue;
                }
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(format!("/socket.io/?EIO=4&transport=polling&sid={sid}"))
                    .body(Full::new(encode_payload(&eio)))
                    .unwrap();
                let svc = svc.clone();
                let fut = async move {
                    let status = svc.handle(req).await.status().as_u16();
                    assert!(matches!(status, 200 | 400 | 413), "POST answered {status}");
                };
                if bg {
                    background.spawn(fut);
                } else {
                    fut.await;
                }
            }
            Op::Poll {
                session,
                background: bg,
            } => {
                let Some(sid) = sid_at(session) else { continue };
                let req = Request::get(format!("/socket.io/?EIO=4&transport=polling&sid={sid}"))
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let svc = svc.clone();
                let fut = async move {
                    let status = svc.handle(req).await.status().as_u16();
                    assert!(matches!(status, 200 | 400), "GET answered {status}");
                };
                if bg {
                    background.spawn(fut);
                } else {
                    tokio::time::timeout(Duration::from_secs(3600), fut)
                        .await
                        .expect("a poll was never answered");
                }
            }
            Op::Sleep(ms) => tokio::time::sleep(Duration::from_millis(u64::from(ms) * 2)).await,
            Op::Broadcast { nsp, room } => {
                let ns = io.of(nsp_of(nsp));
                let op = match room {
                    Some(r) => ns.to(format!("r{}", r % 3)),
                    None => ns.broadcast(),
                };
                let _ = op.emit_args("news", vec![Value::Binary(Bytes::from_static(b"\x01\x02"))]);
            }
            Op::ServerAck { session } => {
                let Some(sid) = sid_at(session) else { continue };
                for ns in ["/", "/chat"] {
                    for s in io.of(ns).sockets() {
                        if s.conn_id().to_string() == sid {
                            tokio::spawn(async move {
                                let _ = s.emit_with_ack("ask", &1).await;
                            });
                        }
                    }
                }
            }
            Op::Disconnect { session, close } => {
                let Some(sid) = sid_at(session) else { continue };
                for s in io.of("/").sockets() {
                    if s.conn_id().to_string() == sid {
                        s.disconnect(close);
                    }
                }
            }
            Op::Yield => tokio::task::yield_now().await,
        }
    }
    io.close();
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(r) = background.join_next().await {
            r.expect("request task failed");
        }
    })
    .await
    .expect("a request was still pending after the server closed");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(io.engine_count(), 0, "sessions left after close");
    let mut nsps = vec![io.of("/"), io.of("/chat")];
    nsps.extend(parent.children());
    for ns in nsps {
        assert!(ns.sockets().is_empty(), "sockets left in {}", ns.name());
        assert!(
            ns.rooms().is_empty(),
            "rooms left in {}: {:?}",
            ns.name(),
            ns.rooms()
        );
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(run(ops));
});
