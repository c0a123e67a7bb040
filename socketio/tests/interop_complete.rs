//! The msgpack parser, dynamic namespaces, `fetch_sockets`, server-side
//! emits and `all_rooms`, against the npm `socket.io-client` 4.8 (and
//! `socket.io-msgpack-parser` 3) in `tests/node`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use socketio::server::ParserKind;
use socketio::{ConnectError, ServerConfig, Socket, SocketIo, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;

/// Longest a node client may run; each script also stops itself after 8 s.
const NODE_TIMEOUT: Duration = Duration::from_secs(12);
/// Longest wait for one server-side step (a connection, an event).
const STEP_TIMEOUT: Duration = Duration::from_secs(8);

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node")
}

/// A node script running in the background; killed when dropped.
struct NodeClient {
    task: JoinHandle<Result<std::process::Output, String>>,
}

fn spawn_node(script: &str, args: &[&str]) -> NodeClient {
    for package in ["socket.io-client", "socket.io-msgpack-parser"] {
        assert!(
            node_dir().join("node_modules").join(package).exists(),
            "npm peers missing ({package}): run npm ci --prefix tests/node"
        );
    }
    let child = tokio::process::Command::new("node")
        .arg(node_dir().join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    // The child is owned by the task: if the test fails, the runtime drops
    // the task, and with it the child, which kills node.
    let task = tokio::spawn(async move {
        tokio::time::timeout(NODE_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| format!("node client did not finish within {NODE_TIMEOUT:?}"))?
            .map_err(|e| format!("node client output: {e}"))
    });
    NodeClient { task }
}

impl NodeClient {
    /// Waits for the script to exit successfully and parses the JSON it printed.
    async fn report(self) -> serde_json::Value {
        let out = self
            .task
            .await
            .expect("node task")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "node client failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "node client printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

async fn listen(io: &SocketIo) -> String {
    let listener = io.listen("127.0.0.1:0").await.expect("listen");
    format!("http://{}", listener.local_addr())
}

async fn recv<T>(rx: &mut UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(STEP_TIMEOUT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("channel closed waiting for {what}"))
}

/// Polls `check` every 20 ms until it holds, for at most [`STEP_TIMEOUT`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `Value` as JSON, binaries as `{"$bin": hex}` (what the node scripts print).
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => json!(s),
        Value::Binary(b) => json!({ "$bin": hex(b) }),
        Value::Array(a) => a.iter().map(to_json).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ids(sockets: &[Arc<Socket>]) -> BTreeSet<String> {
    sockets.iter().map(|s| s.id().to_string()).collect()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn auth_str<'a>(socket: &'a Socket, key: &str) -> Option<&'a str> {
    socket.handshake().auth.get(key).and_then(Value::as_str)
}

// ---------------------------------------------------------------- msgpack

/// What the msgpack client sends (see sio4-msgpack.mjs), as it prints it.
fn msgpack_payload() -> serde_json::Value {
    let bin300: Vec<u8> = (0..300).map(|i| (i % 256) as u8).collect();
    json!([
        {
            "text": "héllo ✓",
            "int": 42,
            "neg": -7,
            "float": 1.5,
            "big": 1_099_511_627_776_u64,
            "yes": true,
            "nil": null,
            "bin": { "$bin": "000102ff" },
            "nested": {
                "list": [1, { "$bin": "deadbeef" }, { "deep": { "$bin": hex(b"deep") } }],
                "empty": { "$bin": "" }
            },
            "ab": { "$bin": "070809" }
        },
        { "$bin": hex(&bin300) }
    ])
}

#[tokio::test]
async fn msgpack_client_round_trips_nested_binary_with_acks() {
    let io = SocketIo::new(ServerConfig::default().parser(ParserKind::MsgPack));
    let (echo_tx, mut echo_rx) = unbounded_channel();
    let (ack_tx, mut ack_rx) = unbounded_channel();
    io.on_connection(move |socket| {
        let echo_tx = echo_tx.clone();
        socket.on("echo", move |socket, args, ack| {
            let _ = echo_tx.send(args.clone());
            socket.emit_args("echoed", args.clone()).unwrap();
            ack.expect("the client asked for an ack")
                .send(args)
                .unwrap();
        });
        let ack_tx = ack_tx.clone();
        tokio::spawn(async move {
            let question = obj([("n", Value::from(7)), ("bin", Value::from(vec![1u8, 2, 3]))]);
            let answer = socket
                .emit_with_ack_args("question", vec![question], Duration::from_secs(5))
                .await;
            let ok = answer.is_ok();
            let _ = ack_tx.send(answer);
            if ok {
                socket.emit("done", &true).unwrap();
            }
        });
    });
    let url = listen(&io).await;
    let client = spawn_node("sio4-msgpack.mjs", &[&url, "echo"]);

    // The server decoded the client's msgpack: buffers are binaries, exactly.
    let received = recv(&mut echo_rx, "the echo event").await;
    let expected = msgpack_payload();
    assert_eq!(to_json(&Value::Array(received.clone())), expected);
    assert_eq!(
        received[0].get("nested").and_then(|n| n.get("list")),
        Some(&Value::Array(vec![
            Value::from(1),
            Value::from(vec![0xde, 0xad, 0xbe, 0xef]),
            obj([("deep", Value::from(b"deep".to_vec()))]),
        ]))
    );
    // An ArrayBuffer (msgpack ext type 0) arrives as plain binary too.
    assert_eq!(
        received[0]
            .get("ab")
            .and_then(Value::as_binary)
            .map(|b| &b[..]),
        Some(&[7u8, 8, 9][..])
    );

    // The client's answer to the server's emit_with_ack.
    let answer = recv(&mut ack_rx, "the client's ack")
        .await
        .expect("the client acknowledged the question");
    assert_eq!(
        to_json(&Value::Array(answer)),
        json!([
            "answer",
            { "$bin": "040506" },
            { "got": 7, "bytes": { "$bin": "010203" }, "list": [{ "$bin": "010203" }, null, 3.25] }
        ])
    );

    let report = client.report().await;
    assert_eq!(report["sent"], expected, "the script sent what we expect");
    assert_eq!(report["echoed"], expected, "event echoed byte for byte");
    assert_eq!(report["acked"], expected, "ack echoed byte for byte");
    assert_eq!(report["sameEcho"], true);
    assert_eq!(report["sameAck"], true);
    // Buffers come back as Node Buffers, the ArrayBuffer as a Buffer (bin).
    assert_eq!(report["echoedKinds"][0]["bin"], "Buffer");
    assert_eq!(report["echoedKinds"][0]["nested"]["list"][1], "Buffer");
    assert_eq!(report["echoedKinds"][0]["nested"]["empty"], "Buffer");
    assert_eq!(report["echoedKinds"][0]["ab"], "Buffer");
    assert_eq!(report["echoedKinds"][1], "Buffer");
    assert_eq!(report["ackedKinds"][1], "Buffer");
    assert_eq!(
        report["question"],
        json!({ "n": 7, "bin": { "$bin": "010203" } })
    );
    assert_eq!(report["questionKinds"]["bin"], "Buffer");
    assert_eq!(report["done"], true);
    assert_eq!(report["textMessages"], 0, "msgpack packets are binary");
}

#[tokio::test]
async fn default_parser_client_cannot_connect_to_a_msgpack_server() {
    let io = SocketIo::new(ServerConfig::default().parser(ParserKind::MsgPack));
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    io.on_connection(move |_| {
        count.fetch_add(1, Ordering::SeqCst);
    });
    let url = listen(&io).await;
    let report = spawn_node("sio4-msgpack.mjs", &[&url, "default"])
        .report()
        .await;
    assert_eq!(report["connected"], false, "report: {report}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    assert!(io.sockets().sockets().is_empty());
}

// ------------------------------------------------------ dynamic namespaces

#[tokio::test]
async fn regex_parent_namespace_creates_guards_broadcasts_and_cleans_up_children() {
    let io = SocketIo::new(ServerConfig::default().cleanup_empty_child_namespaces(true));
    let parent = io.of_regex(r"^/dynamic-\d+$").expect("valid regex");
    parent.use_middleware(|socket| async move {
        match auth_str(&socket, "token") {
            Some("secret") => Ok(()),
            _ => Err(ConnectError::new("bad token").with_data(obj([
                ("code", Value::from(4001)),
                ("nsp", Value::from(socket.nsp())),
            ]))),
        }
    });
    let (conn_tx, mut conn_rx) = unbounded_channel();
    let weak_parent = Arc::downgrade(&parent);
    parent.on_connection(move |socket| {
        let same_parent = socket
            .namespace()
            .parent()
            .zip(weak_parent.upgrade())
            .is_some_and(|(a, b)| Arc::ptr_eq(&a, &b));
        // Reported once answered, so the answer precedes the broadcast.
        let conn_tx = conn_tx.clone();
        socket.on("whoami", move |socket, _, ack| {
            if let Some(ack) = ack {
                ack.send(vec![Value::from(socket.nsp()), Value::from(same_parent)])
                    .unwrap();
            }
            let _ = conn_tx.send(socket);
        });
    });
    let url = listen(&io).await;
    let client = spawn_node("sio4-dynamic.mjs", &[&url]);

    let mut connected = BTreeSet::new();
    for _ in 0..2 {
        let socket = recv(&mut conn_rx, "a child connection and whoami").await;
        connected.insert(socket.nsp().to_owned());
    }
    assert_eq!(connected, set(["/dynamic-101", "/dynamic-102"]));
    let children = || -> BTreeSet<String> {
        parent
            .children()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    };
    assert!(children().is_superset(&connected), "{:?}", children());
    assert!(!children().contains("/dynamic-abc"));
    for child in parent.children() {
        if connected.contains(child.name()) {
            assert_eq!(child.sockets().len(), 1, "{}", child.name());
            assert!(child.parent().is_some_and(|p| Arc::ptr_eq(&p, &parent)));
        }
    }

    // Reaches the sockets of every child; the client then leaves /dynamic-101.
    parent.emit("broadcast", &"to every child").unwrap();
    eventually("/dynamic-101 to be cleaned up", || {
        !children().contains("/dynamic-101")
    })
    .await;
    assert!(children().contains("/dynamic-102"), "{:?}", children());

    let child102 = parent
        .children()
        .into_iter()
        .find(|c| c.name() == "/dynamic-102")
        .expect("/dynamic-102 is still there");
    child102.broadcast().emit_args("bye", vec![]).unwrap();
    let report = client.report().await;
    assert_eq!(
        report["whoami"],
        json!({ "/dynamic-101": ["/dynamic-101", true], "/dynamic-102": ["/dynamic-102", true] })
    );
    assert_eq!(
        report["broadcast"],
        json!({ "/dynamic-101": "to every child", "/dynamic-102": "to every child" })
    );
    assert_eq!(
        report["errors"]["/dynamic-abc"],
        json!({ "message": "Invalid namespace", "data": null })
    );
    assert_eq!(
        report["errors"]["/dynamic-103"],
        json!({ "message": "bad token", "data": { "code": 4001, "nsp": "/dynamic-103" } })
    );
    // A child whose only client the middlewares refused is dropped too.
    eventually("the refused /dynamic-103 to be cleaned up", || {
        !children().contains("/dynamic-103")
    })
    .await;
    assert_eq!(
        report["disconnects"]["/dynamic-101"],
        "io client disconnect"
    );
    // The node client has exited: the last child empties and goes too.
    eventually("/dynamic-102 to be cleaned up", || {
        !children().contains("/dynamic-102")
    })
    .await;
}

// ---------------------------------------------------------- fetch_sockets

/// A server whose sockets keep `{name}` from their auth as data and join the
/// rooms of a "join" event, reporting each join on the returned channel.
fn rooms_server() -> (SocketIo, UnboundedReceiver<Arc<Socket>>) {
    let io = SocketIo::new(ServerConfig::default());
    let (tx, rx) = unbounded_channel();
    io.on_connection(move |socket| {
        let name = auth_str(&socket, "name").unwrap_or_default().to_owned();
        socket.set_data(obj([("name", Value::from(name))]));
        let tx = tx.clone();
        socket.on("join", move |socket, args, ack| {
            let rooms: Vec<String> = args
                .first()
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            socket.join(rooms);
            if let Some(ack) = ack {
                ack.send(vec![Value::from(socket.id().to_string())])
                    .unwrap();
            }
            let _ = tx.send(socket);
        });
    });
    (io, rx)
}

fn name_of(socket: &Socket) -> String {
    socket
        .data()
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn fetch_sockets_returns_handles_that_emit_join_leave_read_and_disconnect() {
    let (io, mut joins) = rooms_server();
    let url = listen(&io).await;
    let alice_client = spawn_node("sio4-fetch.mjs", &[&url, "alice", "room1,room2"]);
    let bob_client = spawn_node("sio4-fetch.mjs", &[&url, "bob", "room2"]);
    let mut joined = Vec::new();
    for _ in 0..2 {
        joined.push(recv(&mut joins, "a join").await);
    }
    let by_name = |name: &str| {
        joined
            .iter()
            .find(|s| name_of(s) == name)
            .unwrap_or_else(|| panic!("{name} joined"))
            .id()
            .to_string()
    };
    let (alice, bob) = (by_name("alice"), by_name("bob"));

    // Exactly the right sockets, on SocketIo, Namespace and BroadcastOperator.
    let room1 = io.in_("room1").fetch_sockets().await;
    assert_eq!(ids(&room1), BTreeSet::from([alice.clone()]));
    let both = BTreeSet::from([alice.clone(), bob.clone()]);
    assert_eq!(ids(&io.in_("room2").fetch_sockets().await), both);
    assert_eq!(ids(&io.fetch_sockets().await), both);
    assert_eq!(ids(&io.sockets().fetch_sockets().await), both);
    assert_eq!(ids(&io.to(["room1", "room2"]).fetch_sockets().await), both);
    assert_eq!(
        ids(&io.except("room1").fetch_sockets().await),
        BTreeSet::from([bob.clone()])
    );
    assert_eq!(
        ids(&io.in_("room2").except("room1").fetch_sockets().await),
        BTreeSet::from([bob.clone()])
    );
    assert!(io.in_("nowhere").fetch_sockets().await.is_empty());

    // The handle reads the data set on connect and the handshake.
    let handle = room1[0].clone();
    assert_eq!(to_json(&handle.data()), json!({ "name": "alice" }));
    assert_eq!(auth_str(&handle, "name"), Some("alice"));
    assert_eq!(auth_str(&handle, "token"), Some("tok-alice"));
    assert_eq!(handle.handshake().address, "127.0.0.1");
    assert_eq!(handle.nsp(), "/");
    // Data set through a handle is the socket's own.
    handle.set_data(obj([
        ("name", Value::from("alice")),
        ("seen", Value::from(true)),
    ]));
    let again = io.in_("room1").fetch_sockets().await;
    assert_eq!(
        to_json(&again[0].data()),
        json!({ "name": "alice", "seen": true })
    );

    // Emit, join and leave through the handle.
    handle.emit("direct", &"hello alice").unwrap();
    handle.join("room3");
    let rooms: BTreeSet<String> = handle.rooms().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rooms,
        BTreeSet::from([
            alice.clone(),
            "room1".into(),
            "room2".into(),
            "room3".into()
        ])
    );
    assert_eq!(
        ids(&io.in_("room3").fetch_sockets().await),
        BTreeSet::from([alice.clone()])
    );
    handle.leave("room2");
    let rooms: BTreeSet<String> = handle.rooms().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rooms,
        BTreeSet::from([alice.clone(), "room1".into(), "room3".into()])
    );
    assert_eq!(
        ids(&io.in_("room2").fetch_sockets().await),
        BTreeSet::from([bob.clone()])
    );
    io.to("room3").emit("r3", &"only alice").unwrap();

    // Disconnect through the handle: the client sees "io server disconnect".
    handle.disconnect(false);
    let alice_report = alice_client.report().await;
    assert_eq!(alice_report["id"], alice.as_str());
    assert_eq!(alice_report["joinedAs"], alice.as_str());
    assert_eq!(
        alice_report["events"],
        json!([["direct", "hello alice"], ["r3", "only alice"]])
    );
    assert_eq!(alice_report["disconnect"], "io server disconnect");
    assert_eq!(
        ids(&io.fetch_sockets().await),
        BTreeSet::from([bob.clone()])
    );

    let bob_handle = io.fetch_sockets().await.pop().expect("bob is still there");
    assert_eq!(auth_str(&bob_handle, "name"), Some("bob"));
    bob_handle.emit_args("bye", vec![]).unwrap();
    let bob_report = bob_client.report().await;
    assert_eq!(bob_report["id"], bob.as_str());
    assert_eq!(bob_report["events"], json!([["bye"]]));
    assert_eq!(bob_report["disconnect"], serde_json::Value::Null);
}

// ------------------------------------------ server-side emit and all_rooms

#[tokio::test]
async fn server_side_emit_alone_and_all_rooms() {
    let (io, mut joins) = rooms_server();
    let url = listen(&io).await;
    let client = spawn_node("sio4-fetch.mjs", &[&url, "carol", "a,b"]);
    let carol = recv(&mut joins, "carol's join").await;

    let ns = io.sockets();
    let started = Instant::now();
    let acks = tokio::time::timeout(
        Duration::from_secs(2),
        ns.server_side_emit_with_ack("ping", vec![Value::from("x")], Duration::from_secs(5)),
    )
    .await
    .expect("server_side_emit_with_ack returns without waiting for its timeout");
    assert!(acks.is_empty(), "no other server answers: {acks:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    tokio::time::timeout(
        Duration::from_secs(2),
        ns.server_side_emit("hello", vec![Value::from(1)]),
    )
    .await
    .expect("server_side_emit returns");
    tokio::time::timeout(Duration::from_secs(2), io.server_side_emit("hello", vec![]))
        .await
        .expect("SocketIo::server_side_emit returns");

    let all: BTreeSet<String> = ns.all_rooms().await.iter().map(|r| r.to_string()).collect();
    assert_eq!(all, set(["a", "b", carol.id().as_str()]));
    let local: BTreeSet<String> = ns.rooms().iter().map(|r| r.to_string()).collect();
    assert_eq!(all, local);

    carol.emit_args("bye", vec![]).unwrap();
    let report = client.report().await;
    assert_eq!(report["events"], json!([["bye"]]));
    // Once the client has gone, so have its rooms.
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !ns.all_rooms().await.is_empty() {
        assert!(Instant::now() < deadline, "rooms left: {:?}", ns.rooms());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
