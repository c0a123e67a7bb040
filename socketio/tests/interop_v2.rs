//! Socket.IO v2 clients (npm `socket.io-client` 2.5, Engine.IO protocol 3)
//! on a server with `allow_eio3`, with a v4 client at the same time: polling
//! (binary and base64), WebSocket, the upgrade, acks, binary both ways,
//! rooms, a namespace query as `auth`, and a middleware refusal. The checks
//! run in `tests/node/sio2-client.mjs`. Also raw protocol 3 exchanges for
//! what a client library hides.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use socketio::{ConnectError, Socket, SocketIo, Value};

fn v2_server() -> SocketIo {
    let io = SocketIo::new(config().allow_eio3(true));
    let server = io.clone();
    io.on_connection(move |socket: Arc<Socket>| {
        let id = socket.id().to_string();
        let _ = socket.emit_args(
            "welcome",
            vec![Value::from(id.as_str()), Value::from(vec![1u8, 2, 3])],
        );
        socket.on("echo", |_, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        let server = server.clone();
        socket.on("join", move |socket, args, ack| {
            let room = args
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or("none")
                .to_owned();
            socket.join(room.as_str());
            let _ = server.to(room.as_str()).emit("in-room", &room);
            if let Some(ack) = ack {
                let _ = ack.send(vec![]);
            }
        });
    });
    io.of("/admin").on_connection(|socket| {
        let _ = socket.emit_args("auth", vec![socket.handshake().auth.clone()]);
    });
    io.of("/private")
        .use_fn(|_| Err(ConnectError::new("not allowed")));
    io
}

#[tokio::test]
async fn v2_and_v4_clients_together() {
    let srv = serve(v2_server()).await;
    let url = srv.url();
    let mut node = NodeProc::spawn("sio2-client.mjs", &[&url], Duration::from_secs(30));
    let mut passed = Vec::new();
    loop {
        let line = node
            .expect("a scenario", |v| v["event"] == "ok" || v["event"] == "done")
            .await;
        if line["event"] == "done" {
            break;
        }
        passed.push(line["name"].as_str().unwrap_or_default().to_owned());
    }
    passed.sort();
    assert_eq!(
        passed,
        [
            "namespace-query",
            "polling",
            "polling-b64",
            "refusal",
            "upgrade",
            "v4",
            "websocket"
        ]
    );
}

/// The text records of a protocol 3 polling payload.
fn records(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some((len, tail)) = rest.split_once(':') {
        let len: usize = len.parse().expect("record length");
        let end = tail
            .char_indices()
            .scan(0, |units, (i, c)| {
                let at = (*units, i);
                *units += c.len_utf16();
                Some(at)
            })
            .find(|(units, _)| *units == len)
            .map_or(tail.len(), |(_, i)| i);
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

/// One HTTP/1.1 request on its own connection; the body of a 200 answer.
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    http(addr, "GET", path, "").await
}

async fn http_post(addr: std::net::SocketAddr, path: &str, body: &str) {
    assert_eq!(http(addr, "POST", path, body).await, "ok");
}

async fn poll(addr: std::net::SocketAddr, query: &str) -> Vec<String> {
    let res = http_get(
        addr,
        &format!("/socket.io/?EIO=3&transport=polling&b64=1{query}"),
    )
    .await;
    records(&res)
}

#[tokio::test]
async fn raw_v2_packets() {
    let srv = serve(v2_server()).await;
    let mut got = poll(srv.addr, "").await;
    let open: serde_json::Value =
        serde_json::from_str(got.remove(0).strip_prefix('0').expect("open")).expect("JSON");
    let sid = open["sid"].as_str().expect("sid").to_owned();
    let q = format!("&sid={sid}");
    // The main namespace is joined unasked; its CONNECT has no body.
    let mut seen = got;
    while seen.len() < 2 {
        seen.extend(poll(srv.addr, &q).await);
    }
    assert_eq!(seen[0], "40");
    assert!(
        seen[1].starts_with(&format!("451-[\"welcome\",\"{sid}\"")),
        "{seen:?}"
    );
    // A namespace join with a query; a refused one gets the message alone.
    http_post(
        srv.addr,
        &format!("/socket.io/?EIO=3&transport=polling&b64=1{q}"),
        &["40/admin?token=x%20y", "40/private?a=1"]
            .map(|p| format!("{}:{p}", p.len()))
            .concat(),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.extend(poll(srv.addr, &q).await);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "40/admin,",
            "42/admin,[\"auth\",{\"token\":\"x y\"}]",
            "44/private,\"not allowed\"",
        ]
    );
}
