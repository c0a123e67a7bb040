//! Regressions found by the cargo-fuzz targets in `fuzz/`, replayed as
//! plain tests (each names its target and the input that found it).

use std::sync::Arc;

use engineio::server::Cookie;
use http::{header, Request};
use socketio::{ServerConfig, SocketIo};

/// `fuzz/fuzz_targets/sio_http.rs`, LeakSanitizer report on the 21-byte input
/// `a13f24ff0bff5806a13f24ff0bff5806710b710bff`, which decodes to: a polling
/// handshake, then one POST `40/dyn-b,{"reject":true}` `\x1e` `40`.
///
/// The first CONNECT creates the dynamic child `/dyn-b` of the parent
/// `of_regex("^/dyn-")`. The child holds its parent (`Namespace::parent`,
/// an `Arc<ParentNamespace>`) and the parent holds the child
/// (`ParentNamespace::children`): a reference cycle, so once the server is
/// dropped the parent, its children, their adapters and every handler
/// registered on the parent (with whatever it captured) are never freed.
#[test]
fn dropping_a_server_frees_its_dynamic_namespaces() {
    let token = Arc::new(());
    let captured = Arc::downgrade(&token);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut config = ServerConfig::default();
        // The handshake's sid, read from the cookie rather than the body.
        config.engine.cookie = Some(Cookie::default());
        let io = SocketIo::new(config);
        let parent = io.of_regex("^/dyn-").expect("regex");
        parent.on_connection(move |_| {
            let _keep = &token;
        });
        let svc = io.service();

        let handshake = Request::get("/socket.io/?EIO=4&transport=polling")
            .body(String::new())
            .expect("request");
        let res = svc.handle(handshake).await;
        assert_eq!(res.status(), 200);
        let cookie = res.headers()[header::SET_COOKIE]
            .to_str()
            .expect("cookie")
            .to_owned();
        let sid = cookie
            .strip_prefix("io=")
            .and_then(|c| c.split(';').next())
            .expect("io cookie");

        let post = Request::post(format!("/socket.io/?EIO=4&transport=polling&sid={sid}"))
            .body("40/dyn-b,{\"reject\":true}\u{1e}40".to_owned())
            .expect("request");
        let res = svc.handle(post).await;
        assert_eq!(res.status(), 200);
        assert_eq!(parent.children().len(), 1, "the child /dyn-b was created");
        io.close();
    });
    // Dropping the runtime drops every task, so nothing but a reference
    // cycle can keep the parent namespace (and its handler) alive.
    drop(rt);
    assert!(
        captured.upgrade().is_none(),
        "the dynamic parent namespace (and what its handlers capture) outlived the server"
    );
}
