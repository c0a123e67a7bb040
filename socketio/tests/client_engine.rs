//! The client manager's view of its Engine.IO session (`Manager::on_engine`:
//! open, upgrade, ping, packets both ways, close), the deferred `auth`
//! asked on every attempt, and the reconnection settings changed while the
//! manager runs. Against our own server.

mod client_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client_support::bounded;
use engineio::proto::Packet as EnginePacket;
use parking_lot::Mutex;
use socketio::client::{
    Auth, ConnectErrorKind, DisconnectReason, EngineEvent, Manager, ManagerConfig, SocketConfig,
    TransportType,
};
use socketio::server::{ConnectError as ServerConnectError, ServerConfig};
use socketio::{SocketIo, Value};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(5);

/// Our server pinging every 150 ms; `/` records each CONNECT's auth;
/// `/other` is open.
async fn server() -> (SocketIo, String, mpsc::UnboundedReceiver<Value>) {
    let mut config = ServerConfig::default();
    config.engine.ping_interval = Duration::from_millis(150);
    config.engine.ping_timeout = Duration::from_millis(1000);
    let io = SocketIo::new(config);
    let (tx, rx) = mpsc::unbounded_channel();
    io.use_middleware(move |s| {
        let auth = s.handshake().auth.clone();
        let _ = tx.send(auth.clone());
        async move {
            match auth.get("refuse") {
                Some(_) => Err(ServerConnectError::new("refused")),
                None => Ok(()),
            }
        }
    });
    io.of("/other").on_connection(|_| {});
    let listener = io.listen("127.0.0.1:0").await.expect("listen");
    let url = format!("http://{}", listener.local_addr());
    (io, url, rx)
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// The next event matching `f`, skipping others.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<EngineEvent>,
    f: impl Fn(&EngineEvent) -> bool,
) -> EngineEvent {
    loop {
        let ev = recv(rx).await;
        if f(&ev) {
            return ev;
        }
    }
}

fn engine_events(manager: &Manager) -> mpsc::UnboundedReceiver<EngineEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    manager.on_engine(move |ev| {
        let _ = tx.send(ev.clone());
    });
    rx
}

fn text(p: &EngineEvent) -> Option<(bool, String)> {
    match p {
        EngineEvent::Packet(EnginePacket::Message(s)) => Some((true, s.to_string())),
        EngineEvent::PacketCreate(EnginePacket::Message(s)) => Some((false, s.to_string())),
        _ => None,
    }
}

#[tokio::test]
async fn engine_events_follow_the_session_and_its_reconnection() {
    bounded(Duration::from_secs(20), async {
        let (io, url, _auths) = server().await;
        let manager = Manager::new(
            &url,
            ManagerConfig::default()
                .reconnection_delay(Duration::from_millis(20))
                .reconnection_delay_max(Duration::from_millis(20)),
        );
        let mut events = engine_events(&manager);
        manager.watch_engine_packets(true);
        let socket = manager.socket("/", SocketConfig::default());
        socket.connect();
        socket.wait_connected().await.expect("connected");

        // The handshake's packet, then the session, as engine.io-client.
        let first = recv(&mut events).await;
        let Some(EngineEvent::Packet(EnginePacket::Open(json))) = Some(first.clone()) else {
            panic!("expected the open packet first, got {first:?}");
        };
        let sid = match recv(&mut events).await {
            EngineEvent::Open { sid, transport } => {
                assert_eq!(transport, TransportType::Polling);
                sid
            }
            other => panic!("expected open, got {other:?}"),
        };
        assert!(json.to_string().contains(&sid), "{json:?}");
        assert_eq!(
            manager.engine().map(|e| e.sid().to_owned()),
            Some(sid.clone())
        );
        // The namespace CONNECT goes out, its answer comes back.
        let out = until(&mut events, |e| text(e).is_some()).await;
        assert_eq!(text(&out), Some((false, "0".to_owned())));
        let back = until(&mut events, |e| text(e).is_some()).await;
        let (incoming, answer) = text(&back).expect("text");
        assert!(incoming && answer.starts_with("0{\"sid\":"), "{answer}");

        until(&mut events, |e| {
            matches!(e, EngineEvent::Upgrade(TransportType::Websocket))
        })
        .await;
        // A ping is seen as a packet then as `Ping`; the pong goes out.
        until(&mut events, |e| {
            matches!(e, EngineEvent::Packet(EnginePacket::Ping))
        })
        .await;
        assert_eq!(recv(&mut events).await, EngineEvent::Ping);
        until(&mut events, |e| {
            matches!(e, EngineEvent::PacketCreate(EnginePacket::Pong))
        })
        .await;

        // Closing the session: a forced close, then a new session.
        manager.engine().expect("engine").close();
        let closed = until(&mut events, |e| matches!(e, EngineEvent::Close { .. })).await;
        assert_eq!(
            closed,
            EngineEvent::Close {
                sid: Some(sid.clone()),
                reason: DisconnectReason::ForcedClose,
                reconnecting: true
            }
        );
        let again = until(&mut events, |e| matches!(e, EngineEvent::Open { .. })).await;
        let EngineEvent::Open { sid: sid2, .. } = again else {
            unreachable!()
        };
        assert_ne!(sid2, sid);
        socket.wait_connected().await.expect("reconnected");

        // Unwatched: pings still, packets no more.
        manager.watch_engine_packets(false);
        while events.try_recv().is_ok() {}
        until(&mut events, |e| matches!(e, EngineEvent::Ping)).await;
        let quiet = tokio::time::timeout(Duration::from_millis(400), async {
            loop {
                if let Some(EngineEvent::Packet(_) | EngineEvent::PacketCreate(_)) =
                    events.recv().await
                {
                    return;
                }
            }
        })
        .await;
        assert!(quiet.is_err(), "packets reported while unwatched");

        // The last socket leaving closes the session for good.
        socket.disconnect();
        let closed = until(&mut events, |e| matches!(e, EngineEvent::Close { .. })).await;
        assert_eq!(
            closed,
            EngineEvent::Close {
                sid: Some(sid2),
                reason: DisconnectReason::ForcedClose,
                reconnecting: false
            }
        );
        // Nothing left to do: told last.
        until(&mut events, |e| matches!(e, EngineEvent::Idle)).await;
        io.close();
    })
    .await;
}

#[tokio::test]
async fn a_deferred_auth_is_asked_on_every_attempt_and_bounded() {
    bounded(Duration::from_secs(20), async {
        let (io, url, mut auths) = server().await;
        let manager = Manager::new(
            &url,
            ManagerConfig::default()
                .reconnection_delay(Duration::from_millis(20))
                .reconnection_delay_max(Duration::from_millis(20)),
        );
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let auth = Auth::Deferred(Arc::new(move || {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(Some(Value::from(serde_json::json!({ "n": n }))))
            })
        }));
        let socket = manager.socket("/", SocketConfig::default().auth(auth));
        socket.connect();
        socket.wait_connected().await.expect("connected");
        assert_eq!(recv(&mut auths).await, serde_json::json!({ "n": 1 }).into());
        // A reconnection asks again.
        manager.engine().expect("engine").close();
        tokio::time::sleep(Duration::from_millis(50)).await;
        socket.wait_connected().await.expect("reconnected");
        assert_eq!(recv(&mut auths).await, serde_json::json!({ "n": 2 }).into());

        // An auth that fails: a connect error of kind Config, no retry.
        let failing = manager.socket(
            "/",
            SocketConfig::default().auth(Auth::Deferred(Arc::new(|| {
                Box::pin(async { Err("no token today".to_owned()) })
            }))),
        );
        // Same namespace on the same manager: the same socket.
        assert!(failing.connected());
        let other = Manager::new(&url, ManagerConfig::default());
        let failing = other.socket(
            "/",
            SocketConfig::default().auth(Auth::Deferred(Arc::new(|| {
                Box::pin(async { Err("no token today".to_owned()) })
            }))),
        );
        failing.connect();
        let err = failing.wait_connected().await.expect_err("refused");
        assert_eq!(err.kind, ConnectErrorKind::Config);
        assert_eq!(err.message, "no token today");
        assert!(!failing.active());

        // One that never answers: bounded by the manager's timeout.
        let silent = Manager::new(&url, ManagerConfig::default());
        silent.set_timeout(Duration::from_millis(300));
        let never = silent.socket(
            "/",
            SocketConfig::default().auth(Auth::Deferred(Arc::new(|| {
                Box::pin(std::future::pending())
            }))),
        );
        let started = tokio::time::Instant::now();
        never.connect();
        let err = never.wait_connected().await.expect_err("timed out");
        assert_eq!(err.kind, ConnectErrorKind::Config);
        assert_eq!(err.message, "auth did not answer within 300 ms");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(!never.active());
        // Neither reached the server.
        assert!(auths.try_recv().is_err());
        drop(socket);
        io.close();
    })
    .await;
}

/// A port nobody listens on.
async fn dead_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    drop(l);
    url
}

#[tokio::test]
async fn reconnection_turned_off_from_a_handler_stops_the_loop() {
    bounded(Duration::from_secs(20), async {
        let manager = Manager::new(
            &dead_url().await,
            ManagerConfig::default()
                .reconnection_delay(Duration::from_millis(10))
                .reconnection_delay_max(Duration::from_millis(10)),
        );
        let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
        let stopper = Arc::new(Mutex::new(Some(manager.clone())));
        let (t1, t2) = (tx.clone(), tx.clone());
        manager.on_reconnect_attempt(move |_| {
            let _ = t1.send("attempt");
        });
        let s = stopper.clone();
        manager.on_reconnect_error(move |_| {
            let _ = t2.send("error");
            // The first failed reconnection turns reconnection off, as
            // socket.io-client's `manager.reconnection(false)`.
            if let Some(m) = s.lock().take() {
                m.set_reconnection(false);
            }
        });
        let socket = manager.socket("/", SocketConfig::default());
        socket.connect();
        assert_eq!(recv(&mut rx).await, "attempt");
        assert_eq!(recv(&mut rx).await, "error");
        let more = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
        assert!(more.is_err(), "the loop went on: {more:?}");

        // Turned on again, a connect() starts over.
        manager.set_reconnection(true);
        manager.set_reconnection_attempts(2);
        let (tx2, mut failed) = mpsc::unbounded_channel();
        manager.on_reconnect_failed(move || {
            let _ = tx2.send(());
        });
        socket.disconnect();
        socket.connect();
        recv(&mut failed).await;
        let seen: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(seen, ["attempt", "error", "attempt", "error"]);
    })
    .await;
}

#[tokio::test]
async fn a_socket_left_in_a_reconnect_attempt_handler_stops_the_attempt() {
    bounded(Duration::from_secs(20), async {
        let manager = Manager::new(
            &dead_url().await,
            ManagerConfig::default()
                .reconnection_delay(Duration::from_millis(10))
                .reconnection_delay_max(Duration::from_millis(10)),
        );
        let socket = manager.socket("/", SocketConfig::default());
        let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
        let (t1, t2) = (tx.clone(), tx.clone());
        let s = Mutex::new(Some(socket.clone()));
        manager.on_reconnect_attempt(move |_| {
            let _ = t1.send("attempt");
            if let Some(s) = s.lock().take() {
                s.disconnect();
            }
        });
        manager.on_reconnect_error(move |_| {
            let _ = t2.send("error");
        });
        socket.connect();
        assert_eq!(recv(&mut rx).await, "attempt");
        let more = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
        assert!(more.is_err(), "the attempt was made: {more:?}");
    })
    .await;
}

#[tokio::test]
async fn leaving_and_joining_again_at_once_opens_a_new_session() {
    bounded(Duration::from_secs(20), async {
        let (io, url, mut auths) = server().await;
        let manager = Manager::new(&url, ManagerConfig::default());
        let mut events = engine_events(&manager);
        let socket = manager.socket("/", SocketConfig::default());
        socket.connect();
        socket.wait_connected().await.expect("connected");
        recv(&mut auths).await;
        let first = manager.engine().expect("engine").sid().to_owned();
        // As socket.io-client: the last socket leaving closes the session,
        // so the CONNECT that follows goes on a new one, never right behind
        // the DISCONNECT (which the reference server reads as a protocol
        // error when both arrive together).
        socket.disconnect();
        socket.connect();
        let closed = until(&mut events, |e| matches!(e, EngineEvent::Close { .. })).await;
        assert_eq!(
            closed,
            EngineEvent::Close {
                sid: Some(first.clone()),
                reason: DisconnectReason::ForcedClose,
                reconnecting: true
            }
        );
        socket.wait_connected().await.expect("connected again");
        recv(&mut auths).await;
        let second = manager.engine().expect("engine").sid().to_owned();
        assert_ne!(first, second);
        // Stays connected, and the manager never said it was idle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(socket.connected());
        while let Ok(ev) = events.try_recv() {
            assert_ne!(ev, EngineEvent::Idle);
        }

        // With another socket on the connection, the session stays.
        let other = manager.socket("/other", SocketConfig::default());
        other.connect();
        other.wait_connected().await.expect("other");
        socket.disconnect();
        socket.connect();
        socket.wait_connected().await.expect("connected again");
        assert_eq!(manager.engine().map(|e| e.sid().to_owned()), Some(second));
        io.close();
    })
    .await;
}
