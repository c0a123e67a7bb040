//! Checks that fail closed: a middleware that panics refuses the socket it
//! was checking instead of letting it in, and the server goes on serving.

mod client_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client_support::bounded;
use socketio::client::ClientBuilder;
use socketio::server::ConnectError;
use socketio::SocketIo;

#[tokio::test]
async fn a_panicking_middleware_refuses_the_socket() {
    bounded(Duration::from_secs(15), async {
        let io = SocketIo::new(Default::default());
        let admitted = Arc::new(AtomicUsize::new(0));
        // Panics while building its future.
        io.of("/sync")
            .use_middleware(|_| -> std::future::Ready<Result<(), ConnectError>> {
                panic!("middleware bug")
            });
        // Panics while its future runs, after an await point.
        io.of("/async").use_middleware(|_| async {
            tokio::task::yield_now().await;
            panic!("middleware bug");
        });
        for nsp in ["/sync", "/async", "/open"] {
            let admitted = admitted.clone();
            io.of(nsp).on_connection(move |_| {
                admitted.fetch_add(1, Ordering::SeqCst);
            });
        }
        let listener = io.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());
        for nsp in ["/sync", "/async"] {
            let err = ClientBuilder::new(&url)
                .namespace(nsp)
                .reconnection(false)
                .connect()
                .await
                .expect_err("a panicking middleware must refuse");
            assert_eq!(err.message, "Internal server error", "{nsp}");
        }
        assert_eq!(admitted.load(Ordering::SeqCst), 0);
        // The server still admits sockets the middlewares do not guard.
        let socket = ClientBuilder::new(&url)
            .namespace("/open")
            .reconnection(false)
            .connect()
            .await
            .expect("an open namespace admits");
        assert_eq!(admitted.load(Ordering::SeqCst), 1);
        socket.disconnect();
        io.close();
    })
    .await;
}
