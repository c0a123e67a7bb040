//! The Admin UI's server side (`socketio::admin`), driven through the
//! admin namespace by the npm `socket.io-client` (tests/node/sio-client.mjs)
//! as the official UI drives it: authentication, `config`, `all_sockets`,
//! `server_stats`, the development-mode events, and the UI's actions on
//! real clients. A last test runs the npm server with
//! `@socket.io/admin-ui`'s `instrument()` (tests/node/admin-server-sio.mjs)
//! beside ours and compares what the same admin client receives; another
//! runs two of our servers in a cluster on Redis, and one drives the
//! official UI in headless Chromium.
//!
//! Needs `npm ci --prefix tests/node`; the cluster test needs
//! `redis-server` (skipped without it unless `SOCKETIO_RS_REQUIRE_REDIS` is
//! set), the browser test Chromium (skipped without it unless
//! `SOCKETIO_RS_REQUIRE_BROWSER` is set).

mod common;
mod redis_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value as Json};
use socketio::admin::{instrument, Admin, AdminAuth, AdminError, AdminMode, AdminOptions};
use socketio::{SocketIo, Value};

const USERNAME: &str = "admin";
const PASSWORD: &str = "s3cret!";

/// A bcrypt hash of [`PASSWORD`], made here (cost 4: fast).
fn password_hash() -> String {
    bcrypt::hash(PASSWORD, 4).expect("bcrypt hash")
}

/// The namespace `/` every test serves, as tests/node/admin-server-sio.mjs
/// does: `auth.user` goes into `socket.data` in a middleware; `join(room)`,
/// `set-data(v)` (`data.extra = v`) and `ping(...)` (answered with
/// `pong(...)`).
fn user_namespace(io: &SocketIo) {
    io.of("/").use_fn(|s| {
        if let Some(user) = s.handshake().auth.get("user").and_then(Value::as_str) {
            let mut data = indexmap::IndexMap::new();
            data.insert("user".to_owned(), Value::from(user));
            s.set_data(Value::Object(data));
        }
        Ok(())
    });
    io.on_connection(|socket| {
        socket.on("join", |s, args, _| {
            if let Some(room) = args.first().and_then(Value::as_str) {
                s.join(room.to_owned());
            }
        });
        socket.on("set-data", |s, args, _| {
            let mut data = s.data();
            if let Value::Object(o) = &mut data {
                o.insert(
                    "extra".to_owned(),
                    args.into_iter().next().unwrap_or_default(),
                );
            }
            s.set_data(data);
        });
        socket.on("ping", |s, args, _| {
            let _ = s.emit_args("pong", args);
        });
    });
}

/// Our server with the admin UI.
async fn start(opts: AdminOptions) -> (TestServer, Admin) {
    let io = SocketIo::new(config());
    user_namespace(&io);
    let admin = instrument(&io, opts).expect("instrument");
    (serve(io).await, admin)
}

fn open() -> AdminOptions {
    AdminOptions::new().auth(AdminAuth::Disabled)
}

/// A socket.io-client process against `url`.
async fn client_of(url: &str) -> NodeProc {
    let mut p = NodeProc::spawn("sio-client.mjs", &[url, "{}"], Duration::from_secs(30));
    p.expect("ready", |v| v["event"] == "ready").await;
    p
}

fn admin_conn(extra: Json) -> Json {
    let mut c = json!({ "nsp": "/admin", "opts": { "transports": ["websocket"] } });
    if let (Json::Object(c), Json::Object(e)) = (&mut c, extra) {
        c.extend(e);
    }
    c
}

fn basic(password: &str) -> Json {
    json!({ "auth": { "username": USERNAME, "password": password } })
}

/// The next event `name` of `client` matching `pred`, skipping the others.
async fn recv_where(
    p: &mut NodeProc,
    client: &str,
    name: &str,
    pred: impl Fn(&Json) -> bool,
) -> Json {
    p.expect(&format!("{name} at {client}"), |v| {
        v["event"] == "recv" && v["client"] == client && v["name"] == name && pred(&v["args"])
    })
    .await
}

/// The keys of an object, sorted (the lines are parsed without their
/// order).
fn keys(v: &Json) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    k.sort_unstable();
    k
}

fn sorted_keys<'a>(k: &[&'a str]) -> Vec<&'a str> {
    let mut k = k.to_vec();
    k.sort_unstable();
    k
}

fn server_socket(io: &SocketIo, nsp: &str, id: &str) -> Option<Arc<socketio::Socket>> {
    io.of(nsp)
        .sockets()
        .into_iter()
        .find(|s| s.id().as_str() == id)
}

fn rooms_of(io: &SocketIo, id: &str) -> Vec<String> {
    let mut r: Vec<String> = server_socket(io, "/", id)
        .map(|s| s.rooms().iter().map(|r| r.to_string()).collect())
        .unwrap_or_default();
    r.sort();
    r
}

#[tokio::test]
async fn instrument_refuses_what_the_reference_refuses() {
    let io = SocketIo::new(config());
    let e = instrument(&io, AdminOptions::new()).expect_err("auth is required");
    assert_eq!(e, AdminError::MissingAuth);
    assert_eq!(
        e.to_string(),
        "the `auth` option must be specified or explicitly set to `false`"
    );
    let e = instrument(
        &io,
        AdminOptions::new().auth(AdminAuth::basic(USERNAME, PASSWORD)),
    )
    .expect_err("a password is not a hash");
    assert_eq!(e, AdminError::InvalidPasswordHash);
    assert_eq!(
        e.to_string(),
        "the `password` field must be a valid bcrypt hash"
    );
    let e =
        instrument(&io, open().server_stats_interval(Duration::ZERO)).expect_err("a zero interval");
    assert_eq!(e, AdminError::InvalidStatsInterval);
    assert_eq!("production".parse::<AdminMode>(), Ok(AdminMode::Production));
    assert!("prod".parse::<AdminMode>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused() {
    let opts = AdminOptions::new().auth(AdminAuth::basic(USERNAME, password_hash()));
    let (server, _admin) = start(opts).await;
    let mut p = client_of(&server.url()).await;
    let attempts = [
        ("wrong-password", basic("nope")),
        (
            "wrong-username",
            json!({ "auth": { "username": "root", "password": PASSWORD } }),
        ),
        ("no-auth", json!({})),
        (
            "password-not-a-string",
            json!({ "auth": { "username": USERNAME, "password": 42 } }),
        ),
        (
            "unknown-session",
            json!({ "auth": { "sessionId": "0123456789abcdef" } }),
        ),
    ];
    for (client, auth) in &attempts {
        p.send_connect(client, admin_conn(auth.clone())).await;
    }
    for (client, _) in &attempts {
        let line = p
            .expect(&format!("refusal of {client}"), |v| {
                v["client"] == *client && (v["event"] == "connect" || v["event"] == "connect_error")
            })
            .await;
        assert_eq!(line["event"], "connect_error", "{client}: {line}");
        assert_eq!(line["message"], "invalid credentials", "{client}: {line}");
    }
    assert!(
        server.io.of("/admin").sockets().is_empty(),
        "no admin socket got in"
    );
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_password_opens_a_session_that_logs_in_again() {
    let opts = AdminOptions::new().auth(AdminAuth::basic(USERNAME, password_hash()));
    let (server, _admin) = start(opts).await;
    let mut p = client_of(&server.url()).await;
    p.connect("ui", admin_conn(basic(PASSWORD))).await;
    let session = p.recv("ui", "session").await;
    let id = session["args"][0].as_str().expect("session id").to_owned();
    assert_eq!(id.len(), 16, "{session}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{session}");
    let config = p.recv("ui", "config").await;
    assert_eq!(
        config["args"][0],
        json!({ "supportedFeatures": [
            "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
            "AGGREGATED_EVENTS", "ALL_EVENTS"
        ] })
    );

    // The session id alone lets a UI back in, with no new session.
    p.connect("ui2", admin_conn(json!({ "auth": { "sessionId": id } })))
        .await;
    p.recv("ui2", "config").await;
    let sessions =
        p.take(|v| v["event"] == "recv" && v["client"] == "ui2" && v["name"] == "session");
    assert!(sessions.is_empty(), "{sessions:?}");
    assert_eq!(server.io.of("/admin").sockets().len(), 2);
    p.finish().await;
}

/// `AdminAuth::custom`: the application's check sees the CONNECT payload
/// (here plain credentials, as python-socketio's `instrument()` takes
/// them); a UI it accepts gets a session id like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_check_decides_who_logs_in() {
    let auth = AdminAuth::custom(|payload| async move {
        payload.get("username").and_then(Value::as_str) == Some("ops")
            && payload.get("password").and_then(Value::as_str) == Some("plain")
    });
    let (server, _admin) = start(AdminOptions::new().auth(auth)).await;
    let mut p = client_of(&server.url()).await;
    p.send_connect(
        "bad",
        admin_conn(json!({ "auth": { "username": "ops", "password": "nope" } })),
    )
    .await;
    let refused = p.expect_event("connect_error", "bad").await;
    assert_eq!(refused["message"], "invalid credentials");
    p.connect(
        "ui",
        admin_conn(json!({ "auth": { "username": "ops", "password": "plain" } })),
    )
    .await;
    let session = p.recv("ui", "session").await["args"][0].clone();
    p.connect(
        "ui2",
        admin_conn(json!({ "auth": { "sessionId": session } })),
    )
    .await;
    p.recv("ui2", "config").await;
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_sockets_describes_every_socket_as_the_reference() {
    let (server, _admin) = start(open()).await;
    let mut p = client_of(&server.url()).await;
    let user = p
        .connect(
            "u",
            json!({
                "auth": { "user": "bob" },
                "opts": { "transports": ["websocket"], "query": { "foo": "bar" } },
            }),
        )
        .await;
    let uid = user["id"].as_str().expect("id").to_owned();
    let engine = user["engine"].as_str().expect("engine id").to_owned();
    let ui = p.connect("ui", admin_conn(json!({}))).await;
    let ui_id = ui["id"].as_str().expect("id").to_owned();
    let all = p.recv("ui", "all_sockets").await;
    let all = all["args"][0].as_array().expect("an array").clone();
    assert_eq!(all.len(), 2, "{all:?}");

    let s = all
        .iter()
        .find(|s| s["id"] == uid.as_str())
        .expect("the user socket");
    assert_eq!(
        keys(s),
        sorted_keys(&[
            "id",
            "clientId",
            "transport",
            "nsp",
            "data",
            "handshake",
            "rooms"
        ])
    );
    assert_eq!(s["clientId"], engine[..12]);
    assert_eq!(s["transport"], "websocket");
    assert_eq!(s["nsp"], "/");
    assert_eq!(s["data"], json!({ "user": "bob" }));
    assert_eq!(s["rooms"], json!([uid]));
    let h = &s["handshake"];
    assert_eq!(
        keys(h),
        sorted_keys(&["address", "headers", "query", "issued", "secure", "time", "url", "xdomain"])
    );
    assert_eq!(h["address"], "127.0.0.1");
    assert!(h["headers"]["host"].is_string(), "{h}");
    assert_eq!(h["query"]["foo"], "bar");
    assert_eq!(h["query"]["EIO"], "4");
    assert!(
        h["issued"].as_u64().is_some_and(|t| t > 1_600_000_000_000),
        "{h}"
    );
    assert_eq!(h["secure"], false);
    assert!(
        h["time"]
            .as_str()
            .is_some_and(|t| t.ends_with("GMT+0000 (Coordinated Universal Time)")),
        "{h}"
    );
    assert!(
        h["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("/socket.io/?") && u.contains("foo=bar")),
        "{h}"
    );
    assert!(h["xdomain"].is_boolean());

    let me = all
        .iter()
        .find(|s| s["id"] == ui_id.as_str())
        .expect("the admin socket");
    assert_eq!(me["nsp"], "/admin");
    assert_eq!(me["data"], json!({}));

    // As the reference, `socket.data` carries `_admin` for the cluster.
    let data = server_socket(&server.io, "/", &uid).expect("socket").data();
    assert_eq!(
        data.get("_admin").and_then(|a| a.get("clientId")),
        Some(&Value::from(&engine[..12]))
    );
    assert_eq!(data.get("user"), Some(&Value::from("bob")));
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_join_emit_leave_and_disconnect_real_clients() {
    let (server, _admin) = start(open()).await;
    let mut p = client_of(&server.url()).await;
    let user = p.connect("u", json!({})).await;
    let uid = user["id"].as_str().expect("id").to_owned();
    let other = p.connect("v", json!({})).await;
    let vid = other["id"].as_str().expect("id").to_owned();
    p.connect("ui", admin_conn(json!({}))).await;
    p.recv("ui", "all_sockets").await;

    // join: the whole namespace, then only the sockets in a room.
    p.emit("ui", "join", json!(["/", "everyone"])).await;
    for id in [&uid, &vid] {
        recv_where(&mut p, "ui", "room_joined", |a| {
            a[1] == "everyone" && a[2] == id.as_str()
        })
        .await;
    }
    p.emit("ui", "join", json!(["/", "nobody", "no-such-room"]))
        .await;
    p.emit("ui", "join", json!(["/", "u-only", uid])).await;
    recv_where(&mut p, "ui", "room_joined", |a| {
        a == &json!(["/", "u-only", uid, a[3]]) && a[3].is_string()
    })
    .await;
    assert_eq!(
        rooms_of(&server.io, &uid),
        sorted(&[&uid, "everyone", "u-only"])
    );
    assert_eq!(rooms_of(&server.io, &vid), sorted(&[&vid, "everyone"]));

    // emit: to the sockets of a room.
    p.emit("ui", "emit", json!(["/", "u-only", "hello", 1, "two"]))
        .await;
    let hello = p.recv("u", "hello").await;
    assert_eq!(hello["args"], json!([1, "two"]));

    // leave.
    p.emit("ui", "leave", json!(["/", "everyone", vid])).await;
    recv_where(&mut p, "ui", "room_left", |a| {
        a[1] == "everyone" && a[2] == vid.as_str()
    })
    .await;
    assert_eq!(rooms_of(&server.io, &vid), sorted(&[&vid]));
    assert_eq!(
        rooms_of(&server.io, &uid),
        sorted(&[&uid, "everyone", "u-only"])
    );

    // _disconnect: the sockets of a room, the connection kept.
    p.emit("ui", "_disconnect", json!(["/", false, "u-only"]))
        .await;
    assert_eq!(p.disconnected("u").await, "io server disconnect");
    recv_where(&mut p, "ui", "socket_disconnected", |a| {
        a[0] == "/" && a[1] == uid.as_str() && a[2] == "server namespace disconnect"
    })
    .await;
    // The other one never heard "hello" and is still there.
    assert!(server_socket(&server.io, "/", &vid).is_some());
    let stray = p.take(|v| v["client"] == "v" && v["name"] == "hello");
    assert!(stray.is_empty(), "{stray:?}");

    // _disconnect with close: the whole connection.
    p.emit("ui", "_disconnect", json!(["/", true])).await;
    assert_eq!(p.disconnected("v").await, "io server disconnect");
    eventually("no socket left in /", || {
        server.io.of("/").sockets().is_empty()
    })
    .await;
    p.finish().await;
}

fn sorted(rooms: &[&str]) -> Vec<String> {
    let mut r: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
    r.sort();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_refuses_the_actions() {
    let (server, admin) = start(open().readonly(true)).await;
    assert_eq!(
        admin.supported_features(),
        ["AGGREGATED_EVENTS", "ALL_EVENTS"]
    );
    let mut p = client_of(&server.url()).await;
    let user = p.connect("u", json!({})).await;
    let uid = user["id"].as_str().expect("id").to_owned();
    let ui = p.connect("ui", admin_conn(json!({}))).await;
    let ui_id = ui["id"].as_str().expect("id").to_owned();
    let config = p.recv("ui", "config").await;
    assert_eq!(
        config["args"][0],
        json!({ "supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"] })
    );
    p.recv("ui", "all_sockets").await;
    p.emit("ui", "join", json!(["/", "room"])).await;
    p.emit("ui", "emit", json!(["/", null, "hello"])).await;
    p.emit("ui", "leave", json!(["/", uid])).await;
    p.emit("ui", "_disconnect", json!(["/", true])).await;
    // The admin socket's events are handled in order: once one sent after
    // them is seen, they have been handled (by nothing).
    let probe = server_socket(&server.io, "/admin", &ui_id).expect("admin socket");
    let (tx, mut seen) = record();
    probe.on("probe", move |_, _, _| {
        let _ = tx.send(());
    });
    p.emit("ui", "probe", json!([])).await;
    seen.next().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rooms_of(&server.io, &uid), sorted(&[&uid]));
    let stray =
        p.take(|v| v["client"] == "u" && (v["event"] == "disconnect" || v["name"] == "hello"));
    assert!(stray.is_empty(), "{stray:?}");
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stats_counts_clients_transports_and_namespaces() {
    let opts = open()
        .server_id("rust-under-test")
        .server_stats_interval(Duration::from_millis(400));
    let (server, admin) = start(opts).await;
    assert_eq!(admin.server_id(), "rust-under-test");
    let mut p = client_of(&server.url()).await;
    p.connect("polling", json!({ "opts": { "transports": ["polling"] } }))
        .await;
    p.connect("ws", json!({ "opts": { "transports": ["websocket"] } }))
        .await;
    p.connect("ui", admin_conn(json!({}))).await;
    // What happened before the UI joined went out in stats it did not get;
    // a connection after it is reported to it.
    p.connect("late", json!({ "opts": { "transports": ["websocket"] } }))
        .await;

    let mut events: BTreeMap<String, u64> = BTreeMap::new();
    let mut stats = Json::Null;
    for _ in 0..30 {
        let line = p.recv("ui", "server_stats").await;
        stats = line["args"][0].clone();
        tally(&mut events, &stats);
        let counted = |k: &str| events.get(k).copied().unwrap_or(0) > 0;
        if stats["clientsCount"] == 4
            && stats["pollingClientsCount"] == 1
            && [
                "rawConnection",
                "packetsIn",
                "bytesIn",
                "packetsOut",
                "bytesOut",
            ]
            .iter()
            .all(|k| counted(k))
        {
            break;
        }
    }
    assert_eq!(
        keys(&stats),
        sorted_keys(&[
            "serverId",
            "hostname",
            "pid",
            "uptime",
            "clientsCount",
            "pollingClientsCount",
            "aggregatedEvents",
            "namespaces"
        ])
    );
    assert_eq!(stats["serverId"], "rust-under-test");
    assert!(stats["hostname"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(stats["pid"], std::process::id());
    assert!(stats["uptime"].as_f64().is_some_and(|u| u > 0.0), "{stats}");
    assert_eq!(stats["clientsCount"], 4, "{stats}");
    assert_eq!(stats["pollingClientsCount"], 1, "{stats}");
    assert_eq!(
        stats["namespaces"],
        json!([{ "name": "/", "socketsCount": 3 }, { "name": "/admin", "socketsCount": 1 }])
    );
    for e in stats["aggregatedEvents"].as_array().expect("array") {
        assert!(
            e["timestamp"].as_u64().is_some_and(|t| t % 1000 == 0),
            "{e}"
        );
        assert!(e["type"].is_string() && e["count"].is_u64(), "{e}");
    }
    for k in [
        "rawConnection",
        "packetsIn",
        "bytesIn",
        "packetsOut",
        "bytesOut",
    ] {
        assert!(events.get(k).copied().unwrap_or(0) > 0, "{k}: {events:?}");
    }

    // The polling client leaves: counted out, its reason aggregated.
    p.send(json!({ "cmd": "disconnect", "client": "polling" }))
        .await;
    let stats = loop {
        let line = p.recv("ui", "server_stats").await;
        let s = line["args"][0].clone();
        tally(&mut events, &s);
        if s["clientsCount"] == 3 {
            break s;
        }
    };
    assert_eq!(stats["pollingClientsCount"], 0);
    assert_eq!(
        stats["namespaces"][0],
        json!({ "name": "/", "socketsCount": 2 })
    );
    assert!(
        events.keys().any(|k| k.starts_with("rawDisconnection/")),
        "{events:?}"
    );
    p.finish().await;
}

/// Adds the aggregated events of a `server_stats` to `events`
/// (`type` or `type/subType`).
fn tally(events: &mut BTreeMap<String, u64>, stats: &Json) {
    for e in stats["aggregatedEvents"].as_array().into_iter().flatten() {
        let mut key = e["type"].as_str().unwrap_or_default().to_owned();
        if let Some(sub) = e["subType"].as_str() {
            key = format!("{key}/{sub}");
        }
        *events.entry(key).or_default() += e["count"].as_u64().unwrap_or(0);
    }
}

/// A client on long-polling whose socket joins before its upgrade: its
/// name, socket id, `socket_connected` line, `room_joined` line (its own
/// room) and `socket_updated` line (the upgrade). The CONNECT and the
/// upgrade race on two HTTP connections, and once in a while the upgrade
/// wins (the socket then joins already on WebSocket, with no update to
/// report): that client leaves, and another tries.
async fn connect_then_upgrade(
    p: &mut NodeProc,
    base: &str,
    extra: Json,
) -> (String, String, Json, Json, Json) {
    for attempt in 0..5 {
        let name = format!("{base}{attempt}");
        let line = p.connect(&name, extra.clone()).await;
        let id = line["id"].as_str().expect("id").to_owned();
        let connected =
            recv_where(p, "ui", "socket_connected", |a| a[0]["id"] == id.as_str()).await;
        let own_room = recv_where(p, "ui", "room_joined", |a| {
            a[1] == id.as_str() && a[2] == id.as_str()
        })
        .await;
        if connected["args"][0]["transport"] != "polling" {
            assert_eq!(
                connected["args"][0]["transport"], "websocket",
                "{connected}"
            );
            p.send(json!({ "cmd": "disconnect", "client": name })).await;
            continue;
        }
        p.send(json!({ "cmd": "wait_upgrade", "manager": name }))
            .await;
        p.expect("upgrade", |v| {
            v["event"] == "upgraded" && v["manager"] == name.as_str()
        })
        .await;
        let updated = recv_where(p, "ui", "socket_updated", |a| {
            a[0]["id"] == id.as_str() && a[0]["transport"].is_string()
        })
        .await;
        return (name, id, connected, own_room, updated);
    }
    panic!("five clients in a row upgraded before their socket joined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_mode_reports_each_socket_as_it_goes() {
    let (server, _admin) = start(open()).await;
    let mut p = client_of(&server.url()).await;
    p.connect("ui", admin_conn(json!({}))).await;
    p.recv("ui", "all_sockets").await;

    // Polling first, then the upgrade.
    let (u, uid, connected, own_room, updated) =
        connect_then_upgrade(&mut p, "u", json!({ "auth": { "user": "ann" } })).await;
    let u = u.as_str();
    let s = &connected["args"][0];
    assert_eq!(s["nsp"], "/");
    assert_eq!(s["transport"], "polling");
    assert_eq!(s["data"], json!({ "user": "ann" }));
    assert!(connected["args"][1]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(own_room["args"][0], "/");
    assert_eq!(
        updated["args"][0],
        json!({ "id": uid, "nsp": "/", "transport": "websocket" })
    );

    // Events both ways.
    p.emit(u, "ping", json!([1, { "a": true }])).await;
    let received = recv_where(&mut p, "ui", "event_received", |a| a[1] == uid.as_str()).await;
    assert_eq!(received["args"][0], "/");
    assert_eq!(received["args"][1], uid.as_str());
    assert_eq!(received["args"][2], json!(["ping", 1, { "a": true }]));
    let sent = recv_where(&mut p, "ui", "event_sent", |a| a[1] == uid.as_str()).await;
    assert_eq!(sent["args"][2], json!(["pong", 1, { "a": true }]));

    // Data set by a handler.
    p.emit(u, "set-data", json!(["x"])).await;
    let updated = recv_where(&mut p, "ui", "socket_updated", |a| {
        a[0]["id"] == uid.as_str() && a[0]["data"].is_object()
    })
    .await;
    assert_eq!(
        updated["args"][0],
        json!({ "id": uid, "nsp": "/", "data": { "user": "ann", "extra": "x" } })
    );

    // Leaving: the room, then the socket.
    p.send(json!({ "cmd": "disconnect", "client": u })).await;
    recv_where(&mut p, "ui", "room_left", |a| a[1] == uid.as_str()).await;
    let gone = recv_where(&mut p, "ui", "socket_disconnected", |a| {
        a[1] == uid.as_str()
    })
    .await;
    assert_eq!(gone["args"][0], "/");
    assert_eq!(gone["args"][1], uid.as_str());
    assert_eq!(gone["args"][2], "client namespace disconnect");
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_sends_stats_only_on_its_own_namespace() {
    let opts = open().mode(AdminMode::Production).namespace_name("custom");
    let (server, admin) = start(opts).await;
    assert_eq!(admin.namespace_name(), "/custom");
    let mut p = client_of(&server.url()).await;
    p.send_connect("ui-default", admin_conn(json!({}))).await;
    let refused = p.expect_event("connect_error", "ui-default").await;
    assert_eq!(refused["message"], "Invalid namespace");

    let user = p.connect("u", json!({})).await;
    let uid = user["id"].as_str().expect("id").to_owned();
    p.connect("ui", json!({ "nsp": "/custom" })).await;
    let config = p.recv("ui", "config").await;
    assert_eq!(
        config["args"][0]["supportedFeatures"],
        json!([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
            "AGGREGATED_EVENTS"
        ])
    );
    let stats = p.recv("ui", "server_stats").await;
    assert!(stats["args"][0]["namespaces"].is_array());
    p.emit("u", "ping", json!([])).await;
    p.recv("u", "pong").await;
    p.recv("ui", "server_stats").await;
    let verbose = p.take(|v| {
        v["client"] == "ui"
            && v["event"] == "recv"
            && !(v["name"] == "config" || v["name"] == "server_stats")
    });
    assert!(verbose.is_empty(), "{verbose:?}");
    // No `_admin` in the data in production mode.
    assert_eq!(
        server_socket(&server.io, "/", &uid).expect("socket").data(),
        Value::Null
    );
    // The actions work in production mode too.
    p.emit("ui", "join", json!(["/", "prod-room"])).await;
    eventually("joined", || {
        rooms_of(&server.io, &uid).contains(&"prod-room".to_owned())
    })
    .await;
    p.finish().await;
}

// ---------------------------------------------------------------------------
// Against the reference

/// The type structure of a JSON value: objects keep their keys, arrays
/// become the set of their elements' shapes, scalars their type name.
fn shape(v: &Json) -> Json {
    match v {
        Json::Null => json!("null"),
        Json::Bool(_) => json!("boolean"),
        Json::Number(_) => json!("number"),
        Json::String(_) => json!("string"),
        Json::Array(items) => {
            let mut shapes: Vec<Json> = items.iter().map(shape).collect();
            shapes.sort_by_key(|s| s.to_string());
            shapes.dedup();
            json!({ "array of": shapes })
        }
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// What an admin client hears from the server at `url`, by event: the
/// arguments of the first occurrence of each, after the same steps.
async fn observe(url: &str, hash_auth: bool) -> BTreeMap<&'static str, Json> {
    let mut p = client_of(url).await;
    let mut seen = BTreeMap::new();
    p.connect(
        "u",
        json!({
            "auth": { "user": "bob" },
            "opts": { "transports": ["websocket"], "query": { "foo": "bar" } },
        }),
    )
    .await;
    let auth = match hash_auth {
        true => basic(PASSWORD),
        false => json!({}),
    };
    p.connect("ui", admin_conn(auth)).await;
    if hash_auth {
        seen.insert("session", p.recv("ui", "session").await["args"].clone());
    }
    seen.insert("config", p.recv("ui", "config").await["args"].clone());
    seen.insert(
        "all_sockets",
        p.recv("ui", "all_sockets").await["args"].clone(),
    );
    seen.insert(
        "server_stats",
        p.recv("ui", "server_stats").await["args"].clone(),
    );

    // A client arriving on polling, then upgrading.
    let (w, wid, connected, own_room, updated) = connect_then_upgrade(&mut p, "w", json!({})).await;
    let w = w.as_str();
    seen.insert("socket_connected", connected["args"].clone());
    seen.insert("room_joined", own_room["args"].clone());
    seen.insert("socket_updated (transport)", updated["args"].clone());

    p.emit(w, "ping", json!([1, "two"])).await;
    let args = recv_where(&mut p, "ui", "event_received", |a| a[1] == wid.as_str()).await;
    seen.insert("event_received", args["args"].clone());
    let args = recv_where(&mut p, "ui", "event_sent", |a| a[1] == wid.as_str()).await;
    seen.insert("event_sent", args["args"].clone());
    p.emit(w, "set-data", json!([{ "n": 1 }])).await;
    let args = recv_where(&mut p, "ui", "socket_updated", |a| {
        a[0]["id"] == wid.as_str() && a[0]["data"].is_object()
    })
    .await;
    seen.insert("socket_updated (data)", args["args"].clone());

    p.emit("ui", "join", json!(["/", "shapes", wid])).await;
    let args = recv_where(&mut p, "ui", "room_joined", |a| a[1] == "shapes").await;
    seen.insert("room_joined (action)", args["args"].clone());
    p.emit("ui", "leave", json!(["/", "shapes", "shapes"]))
        .await;
    let args = recv_where(&mut p, "ui", "room_left", |a| a[1] == "shapes").await;
    seen.insert("room_left", args["args"].clone());
    p.emit("ui", "emit", json!(["/", wid, "hello", { "x": [1] }]))
        .await;
    seen.insert("emit (action)", p.recv(w, "hello").await["args"].clone());
    p.emit("ui", "_disconnect", json!(["/", false, wid])).await;
    seen.insert("disconnect reason", json!(p.disconnected(w).await));
    let args = recv_where(&mut p, "ui", "socket_disconnected", |a| {
        a[1] == wid.as_str()
    })
    .await;
    seen.insert("socket_disconnected", args["args"].clone());
    p.finish().await;
    seen
}

/// The parts of two observations that must be equal in shape, with
/// `aggregatedEvents` checked apart (what it holds depends on timing).
fn comparable(mut seen: BTreeMap<&'static str, Json>) -> BTreeMap<&'static str, Json> {
    if let Some(stats) = seen.get_mut("server_stats") {
        let events = stats[0]["aggregatedEvents"].take();
        for e in events.as_array().expect("aggregatedEvents is an array") {
            let mut k = keys(e);
            k.retain(|k| *k != "subType");
            assert_eq!(k, ["count", "timestamp", "type"], "{e}");
            assert!(e.get("subType").is_none_or(Json::is_string), "{e}");
        }
        stats[0]["aggregatedEvents"] = json!([]);
    }
    seen.into_iter().map(|(k, v)| (k, shape(&v))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_shapes_match_the_npm_reference() {
    let hash = password_hash();
    let opts = AdminOptions::new()
        .auth(AdminAuth::basic(USERNAME, hash.clone()))
        .server_id("shapes");
    let (server, _admin) = start(opts).await;
    let mut node = NodeProc::spawn(
        "admin-server-sio.mjs",
        &[&json!({ "hash": hash, "serverId": "shapes" }).to_string()],
        Duration::from_secs(60),
    );
    let port = node.expect("port", |v| v["port"].is_u64()).await["port"].clone();
    let (our_url, npm_url) = (server.url(), format!("http://127.0.0.1:{port}"));
    let (ours, theirs) = tokio::join!(observe(&our_url, true), observe(&npm_url, true));
    // Exactly equal where nothing depends on the process or the moment.
    for k in ["config", "emit (action)", "disconnect reason"] {
        assert_eq!(ours[k], theirs[k], "{k}");
    }
    assert_eq!(ours["server_stats"][0]["serverId"], "shapes");
    assert_eq!(theirs["server_stats"][0]["serverId"], "shapes");
    let (ours, theirs) = (comparable(ours), comparable(theirs));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (k, shape) in &theirs {
        assert_eq!(
            &ours[k], shape,
            "the shape of {k} differs:\nours   {}\nnpm    {}",
            ours[k], shape
        );
    }
    drop(node);
}

// ---------------------------------------------------------------------------
// The official UI in a browser

/// Where Debian puts Chromium; `CHROMIUM_PATH` overrides it (the script
/// reads the same variable).
fn chromium() -> std::path::PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/usr/bin/chromium"))
}

/// The UI's files, as `@socket.io/admin-ui` ships them.
fn ui_dir() -> std::path::PathBuf {
    node_dir().join("node_modules/@socket.io/admin-ui/ui/dist")
}

/// One file of the UI, read per request.
async fn ui_file(rel: String) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    if rel.split('/').any(|part| part == ".." || part.is_empty()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let content_type = match rel.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("map") => "application/json",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(ui_dir().join(&rel)).await {
        Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The UI's files and the Socket.IO server on one origin, on 127.0.0.1:0.
async fn serve_with_ui(io: &SocketIo) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::extract::Path;
    use axum::routing::get;
    let mut app = axum::Router::new()
        .route("/", get(|| ui_file("index.html".to_owned())))
        .route("/favicon.png", get(|| ui_file("favicon.png".to_owned())));
    for dir in ["js", "css", "img"] {
        app = app.route(
            &format!("/{dir}/{{file}}"),
            get(move |Path(file): Path<String>| ui_file(format!("{dir}/{file}"))),
        );
    }
    let app = app.fallback_service(io.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// The official UI logs in (a wrong password first), lists a client's
/// socket, shows the server, and logs in again after a reload with the
/// session id it kept. Skipped, loudly, without Chromium, unless
/// `SOCKETIO_RS_REQUIRE_BROWSER` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_ui_in_headless_chromium() {
    let chromium = chromium();
    if !chromium.exists() {
        assert!(
            std::env::var_os("SOCKETIO_RS_REQUIRE_BROWSER").is_none(),
            "SOCKETIO_RS_REQUIRE_BROWSER is set but there is no Chromium at {}",
            chromium.display()
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\nSKIPPED official_ui_in_headless_chromium: no Chromium at {} \
             (set SOCKETIO_RS_REQUIRE_BROWSER=1 to make this a failure)\n",
            chromium.display()
        );
        return;
    }
    assert!(
        ui_dir().join("index.html").is_file(),
        "{} is missing: run `npm ci --prefix tests/node`",
        ui_dir().display()
    );
    let io = SocketIo::new(config());
    user_namespace(&io);
    instrument(
        &io,
        AdminOptions::new()
            .auth(AdminAuth::basic(USERNAME, password_hash()))
            .server_id("browser-under-test"),
    )
    .expect("instrument");
    let (addr, http) = serve_with_ui(&io).await;
    let url = format!("http://{addr}");

    let mut p = client_of(&url).await;
    let user = p.connect("u", json!({ "auth": { "user": "carol" } })).await;
    let uid = user["id"].as_str().expect("id").to_owned();

    let script = node_dir().join("admin-ui-browser.mjs");
    let opts = json!({
        "url": url,
        "username": USERNAME,
        "password": PASSWORD,
        "socketId": uid,
        "serverId": "browser-under-test",
    });
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(opts.to_string())
        .current_dir(node_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("could not start `node`; Node 20 must be on PATH");
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("the browser script finishes within 90 s")
        .expect("the browser script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("PASS"),
        "browser test failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    println!("{stdout}");
    p.finish().await;
    io.close();
    http.abort();
}

// ---------------------------------------------------------------------------
// A cluster

/// Two of our servers on Redis, each instrumented, sharing a Redis session
/// store: a UI on one sees both servers' stats, the sockets of the other
/// (with the client and transport their `data._admin` carries), acts on
/// them, hears their events, and its session id works on the other server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ui_on_one_server_administers_the_cluster() {
    use redis_support::{rust_server, wait_servers, Flavour, Redis};
    use socketio::admin::RedisStore;
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, Flavour::Classic).await;
    let b = rust_server(&redis, Flavour::Classic).await;
    wait_servers(&a.io, 2).await;
    let store = RedisStore::new(&redis.url()).await.expect("redis store");
    let hash = password_hash();
    for (server, id) in [(&a, "server-a"), (&b, "server-b")] {
        let opts = AdminOptions::new()
            .auth(AdminAuth::basic(USERNAME, hash.clone()))
            .server_id(id)
            .store(store.clone());
        instrument(&server.io, opts).expect("instrument");
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.io.of("/admin").server_count().await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/admin never spanned both servers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut on_b = client_of(&b.url()).await;
    let user = on_b
        .connect("u", json!({ "opts": { "transports": ["websocket"] } }))
        .await;
    let uid = user["id"].as_str().expect("id").to_owned();
    let engine = user["engine"].as_str().expect("engine").to_owned();

    let mut on_a = client_of(&a.url()).await;
    on_a.connect("ui", admin_conn(basic(PASSWORD))).await;
    let session = on_a.recv("ui", "session").await["args"][0].clone();
    let all = on_a.recv("ui", "all_sockets").await;
    let remote = all["args"][0]
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["id"] == uid.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("the socket on b is not listed: {all}"));
    assert_eq!(remote["clientId"], engine[..12]);
    assert_eq!(remote["transport"], "websocket");
    assert_eq!(remote["nsp"], "/");
    assert_eq!(remote["rooms"], json!([uid]));

    // Both servers' stats reach the UI.
    let mut ids = std::collections::BTreeSet::new();
    while ids.len() < 2 {
        let stats = on_a.recv("ui", "server_stats").await;
        ids.insert(
            stats["args"][0]["serverId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["server-a", "server-b"]
    );

    // An action on a, carried out on b, reported by b.
    on_a.emit("ui", "join", json!(["/", "cluster-room", uid]))
        .await;
    recv_where(&mut on_a, "ui", "room_joined", |a| {
        a[1] == "cluster-room" && a[2] == uid.as_str()
    })
    .await;
    let joined = server_socket(&b.io, "/", &uid)
        .expect("socket on b")
        .rooms();
    assert!(joined.iter().any(|r| &**r == "cluster-room"), "{joined:?}");
    on_b.emit_ack("u", "join", json!(["own-room"])).await;
    let received = recv_where(&mut on_a, "ui", "event_received", |a| a[1] == uid.as_str()).await;
    assert_eq!(received["args"][2], json!(["join", "own-room"]));

    // The session id from a logs in on b.
    on_b.connect(
        "ui2",
        admin_conn(json!({ "auth": { "sessionId": session } })),
    )
    .await;
    on_b.recv("ui2", "config").await;
    on_a.finish().await;
    on_b.finish().await;
}

/// One of our servers and an npm one with `@socket.io/admin-ui`, in one
/// cluster on Redis: each UI lists the other server's sockets with their
/// client and transport (the `data._admin` both keep), sees both servers'
/// stats, and an action from the npm UI reaches our socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_cluster_with_the_npm_instrument() {
    use redis_support::{rust_server, wait_servers, Flavour, Redis};
    let Some(redis) = Redis::start().await else {
        return;
    };
    let ours = rust_server(&redis, Flavour::Classic).await;
    instrument(&ours.io, open().server_id("rust")).expect("instrument");
    let mut node = NodeProc::spawn(
        "admin-server-sio.mjs",
        &[&json!({ "redis": redis.url(), "serverId": "node" }).to_string()],
        Duration::from_secs(60),
    );
    let port = node.expect("port", |v| v["port"].is_u64()).await["port"].clone();
    let node_url = format!("http://127.0.0.1:{port}");
    wait_servers(&ours.io, 2).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while ours.io.of("/admin").server_count().await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/admin never spanned both servers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let ws = json!({ "opts": { "transports": ["websocket"] } });
    let mut on_ours = client_of(&ours.url()).await;
    let r = on_ours.connect("r", ws.clone()).await;
    let mut on_node = client_of(&node_url).await;
    let n = on_node.connect("n", ws.clone()).await;
    let (rid, nid) = (r["id"].as_str().expect("id"), n["id"].as_str().expect("id"));
    let (r_engine, n_engine) = (
        r["engine"].as_str().expect("engine"),
        n["engine"].as_str().expect("engine"),
    );

    on_ours.connect("ui", admin_conn(json!({}))).await;
    on_node.connect("ui", admin_conn(json!({}))).await;
    for (p, other, engine) in [(&mut on_ours, nid, n_engine), (&mut on_node, rid, r_engine)] {
        let all = p.recv("ui", "all_sockets").await;
        let s = all["args"][0]
            .as_array()
            .expect("array")
            .iter()
            .find(|s| s["id"] == other)
            .cloned()
            .unwrap_or_else(|| panic!("{other} is not listed: {all}"));
        assert_eq!(s["clientId"], engine[..12], "{s}");
        assert_eq!(s["transport"], "websocket", "{s}");
        let mut ids = std::collections::BTreeSet::new();
        while ids.len() < 2 {
            let stats = p.recv("ui", "server_stats").await;
            ids.insert(
                stats["args"][0]["serverId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["node", "rust"]);
    }

    // The npm UI has our socket join a room; we report it to both UIs.
    on_node
        .emit("ui", "join", json!(["/", "mixed-room", rid]))
        .await;
    recv_where(&mut on_node, "ui", "room_joined", |a| {
        a[1] == "mixed-room" && a[2] == rid
    })
    .await;
    recv_where(&mut on_ours, "ui", "room_joined", |a| {
        a[1] == "mixed-room" && a[2] == rid
    })
    .await;
    // And ours has the npm socket leave the cluster.
    on_ours
        .emit("ui", "_disconnect", json!(["/", false, nid]))
        .await;
    assert_eq!(on_node.disconnected("n").await, "io server disconnect");
    recv_where(&mut on_ours, "ui", "socket_disconnected", |a| a[1] == nid).await;
    on_ours.finish().await;
    on_node.finish().await;
    drop(node);
}
