//! What a server takes until it first serves, its namespaces and handlers
//! kept: `SocketIo::set_engine_config`, the engine's options (socket.io's
//! `attach(srv, opts)`), refused once the server has served, and
//! `SocketIo::set_adapter` (socket.io's `io.adapter(...)`), refused once a
//! client has connected.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socketio::adapter::{Adapter, LocalAdapter, RoomEvent};
use socketio::{ServerConfig, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The status line and body of a `GET target` on its own connection.
async fn get(addr: SocketAddr, target: &str) -> (String, String) {
    request(addr, "GET", target, "").await
}

/// The status line and body of one request on its own connection.
async fn request(addr: SocketAddr, method: &str, target: &str, body: &str) -> (String, String) {
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tcp.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the server answers")
}

#[tokio::test]
async fn engine_options_replaced_before_serving_keep_the_namespaces() {
    let io = SocketIo::new(ServerConfig::default());
    let connected = Arc::new(AtomicUsize::new(0));
    let serials = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (seen, chat_serials) = (connected.clone(), serials.clone());
    io.of("/chat").on_connection(move |s| {
        seen.fetch_add(1, Ordering::SeqCst);
        chat_serials.lock().push(s.serial());
    });
    let main_serials = serials.clone();
    io.on_connection(move |s| main_serials.lock().push(s.serial()));
    let engine = io
        .engine_config()
        .path("/realtime/")
        .ping_interval(Duration::from_millis(1234));
    assert!(io.set_engine_config(engine));
    assert_eq!(
        io.engine_config().ping_interval,
        Duration::from_millis(1234)
    );

    let listener = io.listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr();
    let (status, body) = get(addr, "/realtime/?EIO=4&transport=polling").await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("\"pingInterval\":1234"), "{body}");
    // The old path is no longer the engine's.
    let (status, _) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert!(
        status.contains(" 404 ") || status.contains(" 400 "),
        "{status}"
    );
    // The namespace and handler made before serve the new engine.
    let sid = common::session_id(&body);
    let session = format!("/realtime/?EIO=4&transport=polling&sid={sid}");
    let (status, _) = request(addr, "POST", &session, "40/chat,").await;
    assert!(status.contains(" 200 "), "{status}");
    let (_, body) = get(addr, &session).await;
    assert!(body.starts_with("40/chat,{\"sid\":"), "{body}");
    assert_eq!(connected.load(Ordering::SeqCst), 1);
    // Each socket has a serial of its own (the embedding layers' key).
    let (status, _) = request(addr, "POST", &session, "40").await;
    assert!(status.contains(" 200 "), "{status}");
    let (_, body) = get(addr, &session).await;
    assert!(body.starts_with("40{\"sid\":"), "{body}");
    let serials = serials.lock().clone();
    assert_eq!(serials.len(), 2);
    assert!(serials[0] != serials[1] && serials.iter().all(|&n| n > 0));

    // Fixed once served: nothing changes.
    assert!(!io.set_engine_config(io.engine_config().path("/other/")));
    assert_eq!(io.engine_config().path, "/realtime/");
    let (status, _) = get(addr, "/realtime/?EIO=4&transport=polling").await;
    assert!(status.contains(" 200 "), "{status}");
    io.close();
}

#[tokio::test]
async fn engine_options_fixed_once_the_service_is_handed_out() {
    let io = SocketIo::new(ServerConfig::default());
    let _service = io.service();
    assert!(!io.set_engine_config(io.engine_config().path("/other/")));
    assert_eq!(io.engine_config().path, "/socket.io/");
}

/// An adapter a factory made, with the namespace it was made for.
type Made = (String, Arc<dyn Adapter>);

#[tokio::test]
async fn adapter_replaced_before_the_first_client_serves_every_namespace() {
    let io = SocketIo::new(ServerConfig::default());
    let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = events.clone();
    io.of("/chat")
        .on_room_event(move |e| seen.lock().push(e.clone()));
    io.of("/chat").on_connection(|s| s.join("den"));
    let made: Arc<parking_lot::Mutex<Vec<Made>>> = Arc::default();
    let factory = {
        let made = made.clone();
        move |nsp: &str| -> Arc<dyn Adapter> {
            let adapter: Arc<dyn Adapter> = Arc::new(LocalAdapter::new());
            made.lock().push((nsp.to_owned(), adapter.clone()));
            adapter
        }
    };
    // Listening already (as an attached server is), but no client yet.
    let listener = io.listen("127.0.0.1:0").await.unwrap();
    assert!(io.has_served() && !io.adapter_fixed());
    let replaced = io.set_adapter(factory).expect("replaced before any client");
    // `/` and `/chat`, each now on an adapter of the new factory's.
    assert_eq!(replaced.len(), 2);
    assert_eq!(made.lock().len(), 2);
    for (name, adapter) in made.lock().iter() {
        assert!(Arc::ptr_eq(&io.of(name).adapter(), adapter), "{name}");
    }
    // A namespace made later gets one too.
    let late = io.of("/late");
    assert!(made
        .lock()
        .iter()
        .any(|(name, a)| name == "/late" && Arc::ptr_eq(a, &late.adapter())));

    let addr = listener.local_addr();
    let (_, body) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    let session = format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        common::session_id(&body)
    );
    let (status, _) = request(addr, "POST", &session, "40/chat,").await;
    assert!(status.contains(" 200 "), "{status}");
    let (_, body) = get(addr, &session).await;
    assert!(body.starts_with("40/chat,{\"sid\":"), "{body}");
    // The join went to the new adapter, whose room events reach the
    // listener registered before the replacement.
    let chat = made
        .lock()
        .iter()
        .find(|(n, _)| n == "/chat")
        .map(|(_, a)| a.clone())
        .unwrap();
    assert!(chat.rooms().contains("den"));
    assert!(events
        .lock()
        .iter()
        .any(|e| matches!(e, RoomEvent::JoinRoom(room, _) if &**room == "den")));
    for old in &replaced {
        assert!(old.rooms().is_empty());
    }

    // Fixed once a client has connected.
    assert!(io.adapter_fixed());
    assert!(io
        .set_adapter(|_: &str| -> Arc<dyn Adapter> { Arc::new(LocalAdapter::new()) })
        .is_none());
    assert!(Arc::ptr_eq(&io.of("/chat").adapter(), &chat));
    io.close();
}
