//! Malformed and out-of-order Socket.IO packets over a raw WebSocket
//! (the Socket.IO v5 packet rules). Every Socket.IO packet is an Engine.IO `message`, so
//! each frame below starts with the Engine.IO type `4`: `42[...]` is a
//! Socket.IO EVENT. Each offending connection must be closed, and only it: a
//! well-behaved connection on the same server keeps working.

mod common;

use std::time::{Duration, Instant};

use common::*;
use socketio::server::DisconnectReason;
use socketio::SocketIo;

/// A frame the offending client sends.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Text(&'static str),
    Binary(&'static [u8]),
}
use Frame::{Binary, Text};

/// A server with `/` and `/admin`, both answering `echo` acks and recording
/// every disconnect (socket id, reason).
async fn server() -> (TestServer, Seen<(String, DisconnectReason)>) {
    let io = SocketIo::new(config());
    let (tx, seen) = record();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |s| {
            s.on("echo", |_, args, ack| {
                if let Some(ack) = ack {
                    ack.send(args).expect("ack");
                }
            });
            let tx = tx.clone();
            s.on_disconnect(move |s, reason| {
                let _ = tx.send((s.id().to_string(), reason));
            });
        });
    }
    (serve(io).await, seen)
}

/// `good` still answers an ack on `/`.
async fn assert_works(good: &mut Ws, n: u32) {
    ws_send(good, &format!("42{n}[\"echo\",\"still here\",{n}]")).await;
    assert_eq!(ws_text(good).await, format!("43{n}[\"still here\",{n}]"));
}

/// For each case: a fresh connection (joined to `/` first when `join`) sends
/// the frames and must be closed; the server reports the joined socket gone,
/// and the good connection opened first keeps working throughout.
async fn assert_each_closes(join: bool, cases: &[&[Frame]]) {
    let (server, mut gone) = server().await;
    let (mut good, _) = ws_open(server.addr).await;
    let good_sid = ws_join(&mut good, "/").await;
    for (i, frames) in cases.iter().enumerate() {
        let (mut bad, _) = ws_open(server.addr).await;
        let bad_sid = if join {
            Some(ws_join(&mut bad, "/").await)
        } else {
            None
        };
        for f in *frames {
            match f {
                Text(t) => ws_send(&mut bad, t).await,
                Binary(b) => ws_send_binary(&mut bad, b).await,
            }
        }
        ws_expect_closed(&mut bad).await;
        if let Some(sid) = bad_sid {
            let (seen, reason) = gone.next().await;
            assert_eq!(
                seen, sid,
                "the offender's socket is the one gone ({frames:?})"
            );
            assert_ne!(
                reason,
                DisconnectReason::ClientNamespaceDisconnect,
                "{frames:?}"
            );
        }
        assert_works(&mut good, i as u32).await;
        eventually("offender's session removed", || {
            server.io.engine_count() == 1
        })
        .await;
    }
    gone.assert_quiet(Duration::from_millis(20)).await;
    let sockets = server.io.of("/").sockets();
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].id().to_string(), good_sid);
}

/// Same, asserting the reason is a parse error: these frames cannot be decoded.
async fn assert_each_is_a_parse_error(cases: &[&[Frame]]) {
    let (server, mut gone) = server().await;
    let (mut good, _) = ws_open(server.addr).await;
    ws_join(&mut good, "/").await;
    for (i, frames) in cases.iter().enumerate() {
        let (mut bad, _) = ws_open(server.addr).await;
        let sid = ws_join(&mut bad, "/").await;
        for f in *frames {
            match f {
                Text(t) => ws_send(&mut bad, t).await,
                Binary(b) => ws_send_binary(&mut bad, b).await,
            }
        }
        ws_expect_closed(&mut bad).await;
        assert_eq!(
            gone.next().await,
            (sid, DisconnectReason::ParseError),
            "{frames:?}"
        );
        assert_works(&mut good, i as u32).await;
    }
}

/// Before the connection closes, its sockets' error handlers get the message
/// the reference parser throws for the same input.
#[tokio::test]
async fn the_sockets_hear_the_parsers_error_before_a_parse_error_disconnect() {
    let io = SocketIo::new(config());
    let (tx, mut seen) = record::<(String, String)>();
    io.on_connection(move |s| {
        let on_error = tx.clone();
        s.on_error(move |s, err| {
            let message = err.as_str().unwrap_or("?").to_owned();
            let _ = on_error.send((s.id().to_string(), message));
        });
        let tx = tx.clone();
        s.on_disconnect(move |s, reason| {
            let _ = tx.send((s.id().to_string(), reason.to_string()));
        });
    });
    let server = serve(io).await;
    for (frame, message) in [
        ("45woooot", "Illegal attachments"),
        ("45", "Illegal attachments"),
        ("49", "unknown packet type 9"),
        ("42[\"unterminated", "invalid payload"),
        ("42[\"connect\"]", "invalid payload"),
    ] {
        let (mut ws, _) = ws_open(server.addr).await;
        let sid = ws_join(&mut ws, "/").await;
        ws_send(&mut ws, frame).await;
        ws_expect_closed(&mut ws).await;
        assert_eq!(
            seen.next().await,
            (sid.clone(), message.to_owned()),
            "{frame}"
        );
        assert_eq!(
            seen.next().await,
            (sid, "parse error".to_owned()),
            "{frame}"
        );
    }
}

#[tokio::test]
async fn unknown_packet_type() {
    assert_each_closes(true, &[&[Text("49")], &[Text("4x")], &[Text("4-")]]).await;
    assert_each_is_a_parse_error(&[&[Text("49")]]).await;
}

#[tokio::test]
async fn event_payload_that_is_not_a_valid_event() {
    assert_each_closes(
        true,
        &[
            &[Text("42{}")],
            &[Text("42abc")],
            &[Text("42\"foo\"")],
            &[Text("42[]")],
            &[Text("42[null]")],
            &[Text("42[{}]")],
            &[Text("42[\"a\"]x")],
            &[Text("42")],
        ],
    )
    .await;
    assert_each_is_a_parse_error(&[&[Text("42{}")], &[Text("42abc")]]).await;
}

#[tokio::test]
async fn reserved_event_names() {
    assert_each_closes(
        true,
        &[
            &[Text("42[\"connect\"]")],
            &[Text("42[\"connect_error\"]")],
            &[Text("42[\"disconnect\"]")],
            &[Text("42[\"disconnecting\"]")],
            &[Text("42[\"newListener\"]")],
            &[Text("42[\"removeListener\"]")],
        ],
    )
    .await;
}

#[tokio::test]
async fn ack_payload_that_is_not_an_array() {
    assert_each_closes(
        true,
        &[
            &[Text("431{}")],
            &[Text("431\"x\"")],
            &[Text("431")],
            &[Text("43")],
        ],
    )
    .await;
}

#[tokio::test]
async fn connect_payload_that_is_not_an_object() {
    assert_each_closes(
        false,
        &[
            &[Text("40\"str\"")],
            &[Text("40[1]")],
            &[Text("40abc")],
            // A namespace must start with `/`: this is `/` with payload `admin,{}`.
            &[Text("40admin,{}")],
        ],
    )
    .await;
}

#[tokio::test]
async fn disconnect_with_a_payload() {
    assert_each_closes(true, &[&[Text("41{}")], &[Text("41\"bye\"")]]).await;
}

#[tokio::test]
async fn client_sent_connect_error() {
    assert_each_closes(true, &[&[Text("44{\"message\":\"x\"}")]]).await;
    assert_each_closes(false, &[&[Text("44{\"message\":\"x\"}")]]).await;
}

#[tokio::test]
async fn too_many_or_malformed_attachments() {
    assert_each_closes(
        true,
        &[
            // 11 > max_attachments (10): refused on the text, before any frame.
            &[Text("4511-[\"e\",{\"_placeholder\":true,\"num\":0}]")],
            &[Text("45x-[\"e\"]")],
            // No `-` after the count.
            &[Text("451[\"e\",{\"_placeholder\":true,\"num\":0}]")],
            // Placeholder number out of range.
            &[
                Text("451-[\"e\",{\"_placeholder\":true,\"num\":3}]"),
                Binary(&[1, 2, 3]),
            ],
        ],
    )
    .await;
}

#[tokio::test]
async fn binary_frame_with_no_attachment_pending() {
    assert_each_closes(true, &[&[Binary(&[1, 2, 3])]]).await;
    assert_each_closes(false, &[&[Binary(&[1, 2, 3])]]).await;
    // One attachment announced, two sent.
    assert_each_closes(
        true,
        &[&[
            Text("451-[\"echo\",{\"_placeholder\":true,\"num\":0}]"),
            Binary(&[1]),
            Binary(&[2]),
        ]],
    )
    .await;
}

#[tokio::test]
async fn text_while_attachments_are_pending() {
    assert_each_closes(
        true,
        &[&[
            Text("452-[\"e\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"),
            Binary(&[1]),
            Text("42[\"e\"]"),
        ]],
    )
    .await;
}

#[tokio::test]
async fn connect_twice_to_the_same_namespace() {
    assert_each_closes(true, &[&[Text("40")]]).await;
    let (server, _) = server().await;
    let (mut ws, _) = ws_open(server.addr).await;
    ws_join(&mut ws, "/admin").await;
    ws_send(&mut ws, "40/admin,").await;
    ws_expect_closed(&mut ws).await;
}

#[tokio::test]
async fn packets_for_a_namespace_not_joined() {
    assert_each_closes(
        true,
        &[
            &[Text("42/admin,[\"echo\"]")],
            &[Text("43/admin,1[]")],
            &[Text("41/admin,")],
            &[Text("42/nope,[\"echo\"]")],
        ],
    )
    .await;
    // Nothing joined at all.
    assert_each_closes(false, &[&[Text("42[\"echo\"]")], &[Text("41")]]).await;
}

/// Control cases: valid but unusual packets are accepted and the connection
/// stays open.
#[tokio::test]
async fn unusual_but_valid_packets_are_accepted() {
    let (server, mut gone) = server().await;
    let (mut ws, _) = ws_open(server.addr).await;
    // Namespace without the trailing comma.
    ws_send(&mut ws, "40/admin").await;
    let reply = ws_text(&mut ws).await;
    assert!(reply.starts_with("40/admin,{\"sid\":\""), "{reply}");
    ws_join(&mut ws, "/").await;
    // A numeric event name, an ack for an unknown id, an empty ack.
    ws_send(&mut ws, "42[1,\"x\"]").await;
    ws_send(&mut ws, "43999[\"late\"]").await;
    ws_send(&mut ws, "437[]").await;
    // Binary with zero attachments announced is a plain event.
    ws_send(&mut ws, "450-3[\"echo\",\"no binary\"]").await;
    assert_eq!(ws_text(&mut ws).await, "433[\"no binary\"]");
    // And binary round-trips as an attachment.
    ws_send(&mut ws, "451-4[\"echo\",{\"_placeholder\":true,\"num\":0}]").await;
    ws_send_binary(&mut ws, &[0, 255]).await;
    assert_eq!(
        ws_text(&mut ws).await,
        "461-4[{\"_placeholder\":true,\"num\":0}]"
    );
    match ws_next(&mut ws).await {
        Some(tokio_tungstenite::tungstenite::Message::Binary(b)) => assert_eq!(&b[..], &[0, 255]),
        other => panic!("expected the attachment, got {other:?}"),
    }
    assert_works(&mut ws, 5).await;
    gone.assert_quiet(Duration::from_millis(50)).await;
    assert_eq!(server.io.engine_count(), 1);
}

#[tokio::test]
async fn unknown_namespace_is_refused_and_the_connection_stays_open() {
    let (server, mut gone) = server().await;
    let (mut ws, _) = ws_open(server.addr).await;
    ws_send(&mut ws, "40/random,").await;
    assert_eq!(
        ws_text(&mut ws).await,
        "44/random,{\"message\":\"Invalid namespace\"}"
    );
    ws_send(&mut ws, "40/random,{\"token\":\"x\"}").await;
    assert_eq!(
        ws_text(&mut ws).await,
        "44/random,{\"message\":\"Invalid namespace\"}"
    );
    ws_send(&mut ws, "40/random").await;
    assert_eq!(
        ws_text(&mut ws).await,
        "44/random,{\"message\":\"Invalid namespace\"}"
    );
    // Same connection: a real namespace joins fine afterwards.
    let sid = ws_join(&mut ws, "/").await;
    assert_works(&mut ws, 1).await;
    assert_eq!(server.io.engine_count(), 1);
    assert_eq!(server.io.of("/").sockets()[0].id().to_string(), sid);
    gone.assert_quiet(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn no_connect_within_connect_timeout_closes_the_connection() {
    let mut cfg = config();
    cfg.connect_timeout = Duration::from_millis(300);
    let io = SocketIo::new(cfg);
    io.on_connection(|s| {
        s.on("echo", |_, args, ack| {
            let _ = ack.expect("ack").send(args);
        })
    });
    io.of("/locked")
        .use_fn(|_| Err(socketio::ConnectError::new("locked")));
    let server = serve(io).await;

    let started = Instant::now();
    let (mut idle, _) = ws_open(server.addr).await;
    let (mut refused, _) = ws_open(server.addr).await;
    let (mut locked, _) = ws_open(server.addr).await;
    let (mut joined, _) = ws_open(server.addr).await;
    ws_join(&mut joined, "/").await;
    // Only refused CONNECTs: still no namespace joined.
    ws_send(&mut refused, "40/nope,").await;
    assert_eq!(
        ws_text(&mut refused).await,
        "44/nope,{\"message\":\"Invalid namespace\"}"
    );
    ws_send(&mut locked, "40/locked,").await;
    assert_eq!(
        ws_text(&mut locked).await,
        "44/locked,{\"message\":\"locked\"}"
    );

    ws_expect_closed(&mut idle).await;
    let waited = started.elapsed();
    assert!(
        (Duration::from_millis(250)..Duration::from_secs(3)).contains(&waited),
        "closed after {waited:?}"
    );
    ws_expect_closed(&mut refused).await;
    ws_expect_closed(&mut locked).await;
    // The connection that joined in time outlives the timeout.
    let left = Duration::from_millis(600).saturating_sub(started.elapsed());
    ws_expect_silent(&mut joined, left).await;
    assert_works(&mut joined, 0).await;
    eventually("only the joined connection left", || {
        server.io.engine_count() == 1
    })
    .await;
    assert_eq!(server.io.of("/").sockets().len(), 1);
}
