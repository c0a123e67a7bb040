//! A socket's first packets reach the handlers its connection handlers
//! register, as on socket.io (which runs them in the same turn as the
//! CONNECT reply), however the socket was admitted: on its session's task,
//! or after a middleware off it.

mod client_support;

use std::time::Duration;

use client_support::bounded;
use socketio::client::ClientBuilder;
use socketio::server::ConnectError;
use socketio::{SocketIo, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_events_wait_for_the_connection_handlers() {
    bounded(Duration::from_secs(30), async {
        let io = SocketIo::new(Default::default());
        // Admitted off the session's task, after an asynchronous check.
        io.of("/guarded").use_middleware(|_| async {
            tokio::task::yield_now().await;
            Ok::<(), ConnectError>(())
        });
        for nsp in ["/guarded", "/open"] {
            io.of(nsp).on_connection(|s| {
                // A slow handler, as an embedding's waiting for its own
                // thread (which lets the runtime go on meanwhile): the
                // client has the CONNECT reply and is sending.
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(300)));
                s.on("whoami", |s, _, ack| {
                    if let Some(ack) = ack {
                        let _ = ack.send(vec![Value::String(s.nsp().to_owned())]);
                    }
                });
            });
        }
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());
        for nsp in ["/guarded", "/open"] {
            let socket = ClientBuilder::new(&url)
                .namespace(nsp)
                .reconnection(false)
                .connect()
                .await
                .expect("connect");
            let reply = socket
                .timeout(Duration::from_secs(5))
                .emit_with_ack_args("whoami", vec![])
                .await
                .unwrap_or_else(|e| panic!("{nsp}: the first event was lost: {e:?}"));
            assert_eq!(reply, [Value::String(nsp.to_owned())]);
            socket.disconnect();
        }
        io.close();
    })
    .await;
}

/// As on socket.io, where a DISCONNECT takes effect a tick before the
/// events that came with it are handled: an event the client sent just
/// before leaving, while the connection handlers still ran, is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_with_its_disconnect_is_ignored() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    bounded(Duration::from_secs(30), async {
        let io = SocketIo::new(Default::default());
        io.of("/guarded").use_middleware(|_| async {
            tokio::task::yield_now().await;
            Ok::<(), ConnectError>(())
        });
        let heard = Arc::new(AtomicUsize::new(0));
        let (gone_tx, mut gone_rx) = tokio::sync::mpsc::unbounded_channel();
        let h = heard.clone();
        io.of("/guarded").on_connection(move |s| {
            tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(300)));
            let h = h.clone();
            s.on("test", move |_, _, _| {
                h.fetch_add(1, Ordering::SeqCst);
            });
            let gone = gone_tx.clone();
            s.on_disconnect(move |_, reason| {
                let _ = gone.send(reason);
            });
        });
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());
        let socket = ClientBuilder::new(&url)
            .namespace("/guarded")
            .reconnection(false)
            .connect()
            .await
            .expect("connect");
        socket.emit("test", &1).expect("emit");
        socket.disconnect();
        let reason = tokio::time::timeout(Duration::from_secs(5), gone_rx.recv())
            .await
            .expect("the server saw the disconnect");
        assert!(reason.is_some());
        assert_eq!(heard.load(Ordering::SeqCst), 0);
        io.close();
    })
    .await;
}
