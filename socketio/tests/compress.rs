//! `compress(false)`: a socket's emit and a broadcast sent with it go
//! uncompressed even where the transport compresses (here a poll's HTTP
//! compression, whose answer is compressed only if one of its packets may
//! be, as engine.io's polling transport decides); without it, a large
//! packet is compressed.

mod common;

use common::*;
use socketio::server::SendOptions;
use socketio::{SocketIo, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 request on its own connection: the head (lower-cased) and
/// the body.
async fn http(server: &TestServer, method: &str, query: &str, body: &str) -> (String, Vec<u8>) {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let req = format!(
        "{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: x\r\n\
         Accept-Encoding: gzip\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut got))
        .await
        .expect("answer in time")
        .expect("read");
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(got.len(), |p| p + 4);
    let (head, body) = got.split_at(split);
    (String::from_utf8_lossy(head).to_lowercase(), body.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_false_sends_as_it_is() {
    let io = SocketIo::new(config());
    let big = "x".repeat(4000);
    {
        let big = big.clone();
        io.on_connection(move |socket| {
            let big = big.clone();
            socket.on("go", move |socket, args, _| {
                let what = args.first().and_then(Value::as_str).unwrap_or_default();
                let payload = vec![Value::from(big.as_str())];
                let _ = match what {
                    "plain" => {
                        let opts = SendOptions {
                            compress: false,
                            ..SendOptions::default()
                        };
                        socket.emit_with("big", payload, opts)
                    }
                    "packed" => socket.emit_args("big", payload),
                    "plain-all" => socket
                        .broadcast()
                        .compress(false)
                        .emit_args("big", payload)
                        .map(|_| ()),
                    _ => socket.broadcast().emit_args("big", payload).map(|_| ()),
                };
            });
        });
    }
    let server = serve(io).await;
    let (_, open) = http(&server, "GET", "", "").await;
    let open = String::from_utf8_lossy(&open).to_string();
    let sid = session_id(&open);
    let q = format!("&sid={sid}");
    http(&server, "POST", &q, "40").await;
    let (_, connected) = http(&server, "GET", &q, "").await;
    assert!(connected.starts_with(b"40"), "{connected:?}");
    // A second client, so that the broadcasts (which leave the sender out)
    // have someone to reach.
    let (_, open2) = http(&server, "GET", "", "").await;
    let open2 = String::from_utf8_lossy(&open2).to_string();
    let sid2 = session_id(&open2);
    let q2 = format!("&sid={sid2}");
    http(&server, "POST", &q2, "40").await;
    http(&server, "GET", &q2, "").await;

    for (what, reader, compressed) in [
        ("plain", &q, false),
        ("packed", &q, true),
        ("plain-all", &q2, false),
        ("packed-all", &q2, true),
    ] {
        http(&server, "POST", &q, &format!("42[\"go\",\"{what}\"]")).await;
        let (head, body) = http(&server, "GET", reader, "").await;
        assert_eq!(
            head.contains("content-encoding: gzip"),
            compressed,
            "{what}: {head}"
        );
        if !compressed {
            let text = String::from_utf8_lossy(&body);
            assert!(text.starts_with("42[\"big\""), "{what}: {text:.40}");
            assert!(text.contains(&big), "{what}");
        } else {
            assert!(body.len() < 1000, "{what}: {} bytes", body.len());
        }
    }
}
