//! The embedding layer as the bindings use it, in Rust: a server and a
//! client, callbacks direct or queued, acks both ways, completions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use socketio::embed::{
    payload, Client, ClientOptions, Error, EventQueue, Runtime, Server, ServerOptions, Value,
};

const WAIT: Duration = Duration::from_secs(5);

fn server(queue: Option<EventQueue>) -> (Server, String) {
    let rt = Runtime::new(2).expect("runtime");
    let server = Server::new(ServerOptions {
        runtime: Some(rt),
        queue,
        ..ServerOptions::default()
    })
    .expect("server");
    let addr = server.listen("127.0.0.1:0").expect("listen");
    (server, format!("http://{addr}"))
}

/// Pumps `q` until `cond` holds.
fn until(q: Option<&EventQueue>, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + WAIT;
    while !cond() {
        if Instant::now() > end {
            return false;
        }
        match q {
            Some(q) => {
                q.poll(Some(Duration::from_millis(10)));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    true
}

#[test]
fn queued_server_sees_every_event_after_its_connection_callback() {
    let q = EventQueue::new().expect("queue");
    let (server, url) = server(Some(q.clone()));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let poller = std::thread::current().id();
    let s2 = seen.clone();
    server.of("/").on_connection(move |socket| {
        assert_eq!(
            std::thread::current().id(),
            poller,
            "queued: on the polling thread"
        );
        s2.lock().push("connection".into());
        let s3 = s2.clone();
        socket.on("n", move |_, _, args, ack| {
            s3.lock()
                .push(format!("n{}", args[0].as_u64().unwrap_or(99)));
            if let Some(ack) = ack {
                ack.send(args).expect("ack");
            }
        });
    });

    // The client emits right away, before the server's connection callback
    // can have run: nothing may be lost.
    let client = Client::new(&url, ClientOptions::default()).expect("client");
    client.connect(None).expect("connect");
    for i in 0..5u64 {
        client.emit("n", vec![Value::from(i)]).expect("emit");
    }
    let (tx, rx) = mpsc::channel();
    client
        .emit_with_ack("n", vec![Value::from(5u64)], Some(WAIT), move |r| {
            let _ = tx.send(r);
        })
        .expect("emit_with_ack");
    assert!(until(Some(&q), || seen.lock().len() == 7));
    assert_eq!(
        *seen.lock(),
        ["connection", "n0", "n1", "n2", "n3", "n4", "n5"]
    );
    let ack = rx.recv_timeout(WAIT).expect("ack completion");
    assert_eq!(ack, Ok(vec![Value::from(5u64)]));
    drop(client);
    drop(server);
}

#[test]
fn direct_callbacks_acks_and_refusals() {
    let (server, url) = server(None);
    server.of("/").on_connection(|socket| {
        socket.on("echo", |_, _, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        let (tx, _) = mpsc::channel::<()>();
        socket.emit_with_ack("ask", vec![Value::from("q")], None, move |r| {
            assert_eq!(r, Ok(vec![Value::from("a")]));
            drop(tx);
        });
    });
    server.of("/locked").use_middleware(|_, next| {
        next.refuse("no", Some(Value::from(7u64)));
    });

    let asked = Arc::new(AtomicUsize::new(0));
    let client = Client::new(&url, ClientOptions::default()).expect("client");
    let a = asked.clone();
    client.on("ask", move |_, _, ack| {
        a.fetch_add(1, Ordering::SeqCst);
        if let Some(ack) = ack {
            ack.send(vec![Value::from("a")]).expect("client ack");
        }
    });
    let (tx, rx) = mpsc::channel();
    client
        .connect(Some(Box::new(move |r| {
            let _ = tx.send(r);
        })))
        .expect("connect");
    assert_eq!(rx.recv_timeout(WAIT).expect("connected"), Ok(()));
    assert!(until(None, || asked.load(Ordering::SeqCst) == 1));

    let bins: [&[u8]; 1] = [b"\x00\x01"];
    let args = payload::decode(Some(r#"["x",{"b":{"_placeholder":true,"num":0}}]"#), &bins)
        .expect("payload");
    let (tx, rx) = mpsc::channel();
    client
        .emit_with_ack("echo", args.clone(), Some(WAIT), move |r| {
            let _ = tx.send(r);
        })
        .expect("emit_with_ack");
    assert_eq!(rx.recv_timeout(WAIT).expect("echo"), Ok(args));

    let locked = Client::new(&format!("{url}/locked"), ClientOptions::default()).expect("client");
    let (tx, rx) = mpsc::channel();
    locked
        .connect(Some(Box::new(move |r| {
            let _ = tx.send(r);
        })))
        .expect("connect");
    assert_eq!(
        rx.recv_timeout(WAIT).expect("refused"),
        Err(Error::Refused {
            message: "no".into(),
            data: Some(Value::from(7u64)),
        })
    );

    let (tx, rx) = mpsc::channel();
    server.close(Some(Box::new(move |r| {
        let _ = tx.send(r);
    })));
    assert_eq!(rx.recv_timeout(WAIT).expect("closed"), Ok(()));
    // As socket.io's listen() after close(): the server serves again.
    let addr = server.listen("127.0.0.1:0").expect("listen after close");
    assert_eq!(server.local_addr(), Some(addr));
    let (tx, rx) = mpsc::channel();
    server.close(Some(Box::new(move |r| {
        let _ = tx.send(r);
    })));
    assert_eq!(rx.recv_timeout(WAIT).expect("closed again"), Ok(()));
}

/// Callbacks that panic, in both dispatch modes: an event handler, a
/// middleware, a completion and a client handler. Each panic stays inside
/// the library (logged); the connection and the server keep working, and a
/// middleware that panicked before answering refuses the connection.
#[test]
fn panicking_callbacks_do_not_take_the_server_down() {
    for queued in [false, true] {
        let q = queued.then(|| EventQueue::new().expect("queue"));
        let (server, url) = server(q.clone());
        // Pumps the server's queue (when there is one) while the test waits
        // on the client side.
        let pumping = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let pump = q.clone().map(|q| {
            let on = pumping.clone();
            std::thread::spawn(move || {
                while on.load(Ordering::SeqCst) {
                    q.poll(Some(Duration::from_millis(10)));
                }
            })
        });
        server.of("/").on_connection(|socket| {
            socket.on("boom", |_, _, _, _| panic!("handler boom"));
            socket.on("echo", |_, _, args, ack| {
                if let Some(ack) = ack {
                    let _ = ack.send(args);
                }
            });
            socket.emit_with_ack("ask", vec![], Some(Duration::from_millis(50)), |_| {
                panic!("completion boom")
            });
        });
        server
            .of("/guarded")
            .use_middleware(|_, _next| panic!("middleware boom"));

        let client = Client::new(&url, ClientOptions::default()).expect("client");
        client.on("ask", |_, _, _| panic!("client handler boom"));
        let (tx, rx) = mpsc::channel();
        client
            .connect(Some(Box::new(move |r| {
                let _ = tx.send(r);
            })))
            .expect("connect");
        assert_eq!(rx.recv_timeout(WAIT).expect("connected"), Ok(()));

        client.emit("boom", vec![]).expect("emit boom");
        for i in 0..3u64 {
            let (tx, rx) = mpsc::channel();
            client
                .emit_with_ack("echo", vec![Value::from(i)], Some(WAIT), move |r| {
                    let _ = tx.send(r);
                })
                .expect("emit echo");
            assert_eq!(
                rx.recv_timeout(WAIT).expect("echo answered"),
                Ok(vec![Value::from(i)]),
                "queued: {queued}"
            );
        }

        let guarded =
            Client::new(&format!("{url}/guarded"), ClientOptions::default()).expect("client");
        let (tx, rx) = mpsc::channel();
        guarded
            .connect(Some(Box::new(move |r| {
                let _ = tx.send(r);
            })))
            .expect("connect");
        match rx.recv_timeout(WAIT).expect("refused in time") {
            Err(Error::Refused { message, .. }) => {
                assert_eq!(message, "middleware did not answer")
            }
            other => panic!("queued: {queued}: {other:?}"),
        }
        assert!(client.connected(), "queued: {queued}");

        pumping.store(false, Ordering::SeqCst);
        if let Some(p) = pump {
            p.join().expect("pump thread");
        }
    }
}

/// A `postgres://` adapter URL joins a Postgres cluster: with nothing
/// listening there, the server is refused at once with the broker named
/// (and the URL, which may hold a password, not repeated).
#[test]
fn postgres_url_selects_the_postgres_adapter() {
    use socketio::embed::{RedisFlavour, RedisOptions};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let rt = Runtime::new(2).expect("runtime");
    let options = |flavour| ServerOptions {
        runtime: Some(rt.clone()),
        redis: Some(RedisOptions::new(
            format!("postgres://app:secret@127.0.0.1:{port}/app"),
            flavour,
        )),
        ..ServerOptions::default()
    };
    let started = Instant::now();
    let err = Server::new(options(RedisFlavour::Classic)).expect_err("nothing listens there");
    let text = err.to_string();
    assert!(text.contains("Postgres cluster"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = Server::new(options(RedisFlavour::Streams)).expect_err("no flavour");
    assert!(err.to_string().contains("flavour"), "{err}");
}
