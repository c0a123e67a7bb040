//! Graceful shutdown under load loses no acknowledged message.
//!
//! Senders emit numbered chat messages with acknowledgements as fast as
//! their window allows; the server's handler broadcasts each message to a
//! room of receivers, then acknowledges it. Mid-flood the server shuts
//! down. Every message a sender saw acknowledged must then have reached
//! every receiver: the broadcast was queued before the acknowledgement, and
//! a closing session writes what was queued before its close. Senders and
//! receivers use both transports.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use parking_lot::Mutex;
use socketio::client::{ClientBuilder, DisconnectReason, Socket as ClientSocket, TransportType};
use socketio::{SocketIo, Value};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

type Seen = Arc<Mutex<BTreeSet<(u64, u64)>>>;

fn number(v: Option<&Value>) -> Option<u64> {
    match v {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

async fn client(
    url: &str,
    transport: TransportType,
    seen: Option<Seen>,
    gone: mpsc::UnboundedSender<DisconnectReason>,
) -> ClientSocket {
    let mut b = ClientBuilder::new(url)
        .force_new(true)
        .reconnection(false)
        .transports([transport])
        .on_disconnect(move |_, reason| {
            let _ = gone.send(reason);
        });
    if let Some(seen) = seen {
        b = b.on("chat", move |_, args| {
            if let (Some(from), Some(n)) = (number(args.first()), number(args.get(1))) {
                seen.lock().insert((from, n));
            }
        });
    }
    timeout(WAIT, b.connect())
        .await
        .expect("connect in time")
        .expect("connect")
}

/// One receiver per transport, each joined to "room", with what it saw.
async fn receivers(
    url: &str,
    gone: &mpsc::UnboundedSender<DisconnectReason>,
) -> (Vec<ClientSocket>, Vec<Seen>) {
    let mut receivers = Vec::new();
    let mut seen = Vec::new();
    for transport in [TransportType::Websocket, TransportType::Polling] {
        let s: Seen = Arc::default();
        let r = client(url, transport, Some(s.clone()), gone.clone()).await;
        r.emit_with_ack("join", &())
            .await
            .expect("receiver joined the room");
        receivers.push(r);
        seen.push(s);
    }
    (receivers, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_loses_no_acknowledged_message() {
    let io = SocketIo::new(config());
    io.on_connection(|socket| {
        socket.on("join", |socket, _args, ack| {
            socket.join("room");
            if let Some(ack) = ack {
                let _ = ack.send(vec![]);
            }
        });
        socket.on("chat", |socket, args, ack| {
            // Broadcast first, then acknowledge: an acknowledged message is
            // one the receivers' queues already hold.
            let _ = socket.to("room").emit_args("chat", args);
            if let Some(ack) = ack {
                let _ = ack.send(vec![]);
            }
        });
    });
    let server = serve(io.clone()).await;
    let url = server.url();

    let (gone_tx, mut gone_rx) = mpsc::unbounded_channel();
    let (receivers, seen) = receivers(&url, &gone_tx).await;

    // Each sender keeps up to 16 messages in flight and records what was
    // acknowledged.
    let acked: Seen = Arc::default();
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for (id, transport) in [TransportType::Websocket, TransportType::Polling]
        .into_iter()
        .enumerate()
    {
        let s = client(&url, transport, None, gone_tx.clone()).await;
        senders.push(s.clone());
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let window = Arc::new(tokio::sync::Semaphore::new(16));
            let deadline = Instant::now() + Duration::from_secs(10);
            for n in 0u64.. {
                if !s.connected() || Instant::now() > deadline {
                    break;
                }
                let Ok(permit) = window.clone().acquire_owned().await else {
                    break;
                };
                let (s, acked) = (s.clone(), acked.clone());
                tokio::spawn(async move {
                    let reply = s
                        .emit_with_ack_args("chat", vec![Value::from(id as u64), Value::from(n)])
                        .await;
                    if reply.is_ok() {
                        acked.lock().insert((id as u64, n));
                    }
                    drop(permit);
                });
            }
        }));
    }

    // Let traffic flow, then shut down in the middle of it.
    eventually("traffic flows", || acked.lock().len() >= 500).await;
    let open = io.shutdown(Duration::from_secs(5)).await;
    assert_eq!(open, 0, "sessions left open after the grace period");

    // Every client hears the shutdown. A polling sender may have a POST in
    // flight when its session ends: that one fails ("transport error"), as
    // with the reference client.
    for _ in 0..4 {
        let reason = timeout(WAIT, gone_rx.recv())
            .await
            .expect("every client disconnected in time")
            .expect("reason");
        eprintln!("client gone: {reason:?}");
        assert!(
            matches!(
                reason,
                DisconnectReason::TransportClose | DisconnectReason::TransportError
            ),
            "{reason:?}"
        );
    }
    for t in tasks {
        let _ = timeout(WAIT, t).await;
    }

    let acked = acked.lock().clone();
    assert!(acked.len() >= 500, "only {} acknowledged", acked.len());
    for (i, s) in seen.iter().enumerate() {
        let s = s.lock().clone();
        let lost: Vec<_> = acked.difference(&s).take(10).collect();
        assert!(
            lost.is_empty(),
            "receiver {i} lost {} acknowledged messages of {} (first: {lost:?})",
            acked.difference(&s).count(),
            acked.len()
        );
    }
    drop(senders);
    drop(receivers);
}

/// A handler running when the shutdown starts finishes its sends: the
/// shutdown waits for it before closing any session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_running_handler_finish_its_sends() {
    let io = SocketIo::new(config());
    let (entered_tx, mut entered_rx) = mpsc::unbounded_channel::<()>();
    io.on_connection(move |socket| {
        socket.on("join", |socket, _args, ack| {
            socket.join("room");
            if let Some(ack) = ack {
                let _ = ack.send(vec![]);
            }
        });
        let entered_tx = entered_tx.clone();
        socket.on("chat", move |socket, args, ack| {
            let _ = entered_tx.send(());
            // Long enough for the shutdown to start meanwhile.
            std::thread::sleep(Duration::from_millis(300));
            let _ = socket.to("room").emit_args("chat", args);
            if let Some(ack) = ack {
                let _ = ack.send(vec![]);
            }
        });
    });
    let server = serve(io.clone()).await;
    let url = server.url();

    let (gone_tx, _gone_rx) = mpsc::unbounded_channel();
    let (receivers, seen) = receivers(&url, &gone_tx).await;
    let sender = client(&url, TransportType::Websocket, None, gone_tx.clone()).await;
    let reply = tokio::spawn({
        let sender = sender.clone();
        async move {
            sender
                .emit_with_ack_args("chat", vec![Value::from(7u64), Value::from(1u64)])
                .await
        }
    });
    timeout(WAIT, entered_rx.recv())
        .await
        .expect("handler entered in time");
    let open = io.shutdown(Duration::from_secs(5)).await;
    assert_eq!(open, 0, "sessions left open after the grace period");

    let reply = timeout(WAIT, reply).await.expect("ack settled in time");
    assert!(
        matches!(reply, Ok(Ok(_))),
        "the running handler's ack was lost: {reply:?}"
    );
    for s in &seen {
        eventually("broadcast delivered", || s.lock().contains(&(7, 1))).await;
    }
    drop(sender);
    drop(receivers);
}

/// socket.io's `listen()` after `close()`: the same server, handlers
/// included, serves again on the same port; while closed it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_server_listens_again() {
    let io = SocketIo::new(config());
    io.on_connection(|socket| {
        socket.on("ping", |_socket, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
    });
    assert!(!io.reopen(), "an open server has nothing to reopen");
    let mut listener = io.listen("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr();
    let url = format!("http://{addr}");
    for transport in [TransportType::Polling, TransportType::Websocket] {
        let (gone_tx, mut gone_rx) = mpsc::unbounded_channel();
        let first = client(&url, transport, None, gone_tx).await;
        let reply = first.emit_with_ack_args("ping", vec![Value::from(1u64)]);
        assert_eq!(
            timeout(WAIT, reply).await.expect("ack in time").ok(),
            Some(vec![Value::from(1u64)])
        );

        assert_eq!(io.shutdown(Duration::from_secs(5)).await, 0);
        timeout(WAIT, gone_rx.recv())
            .await
            .expect("disconnected in time");
        // The listener stops by itself once the sessions drained.
        timeout(WAIT, listener.stopped())
            .await
            .expect("the listener stopped in time");
        // Closed: nothing new is admitted.
        let refused = ClientBuilder::new(&url)
            .force_new(true)
            .reconnection(false)
            .transports([transport])
            .connect();
        assert!(timeout(WAIT, refused)
            .await
            .expect("settled in time")
            .is_err());

        listener = io
            .listen(addr)
            .await
            .expect("listen again on the same port");
        assert_eq!(listener.local_addr(), addr);
        let (gone_tx, _gone_rx) = mpsc::unbounded_channel();
        let second = client(&url, transport, None, gone_tx).await;
        let reply = second.emit_with_ack_args("ping", vec![Value::from(2u64)]);
        assert_eq!(
            timeout(WAIT, reply).await.expect("ack in time").ok(),
            Some(vec![Value::from(2u64)]),
            "the handlers registered before the close still answer"
        );
        drop(second);
        drop(first);
    }
}
