//! Builds and runs the C and C++ tests of the C API (tests/c) and the C
//! examples (examples/c) against the libsocketio.so / libsocketio.a that
//! cargo built for this test run, so `cargo test` covers the C surface.
//!
//! The C tests run under AddressSanitizer (leak checking included); the
//! server test drives the npm socket.io-client (tests/node, installed with
//! `npm ci --prefix tests/node`). Needs make, a C and a C++ compiler, node.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The folder of this test run's build, target/<profile>: the parent of
/// this test's `deps` folder.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// `cargo build -p socketio-ffi` into this run's target folder: `cargo
/// test` builds the library as an rlib only, not the .so and .a the C tests
/// link. Up to date, it takes a moment.
fn build_library() -> Result<(), String> {
    let dir = lib_dir();
    let target = dir.parent().ok_or("no target folder")?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "-p", "socketio-ffi", "--lib", "--target-dir"])
        .arg(target)
        .current_dir(root());
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
        None => return Err("no profile folder".into()),
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p socketio-ffi failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    for lib in ["libsocketio.so", "libsocketio.a"] {
        if !dir.join(lib).exists() {
            return Err(format!("{} is missing", dir.join(lib).display()));
        }
    }
    Ok(())
}

/// The scratch prefix the library is installed into, as a user would.
fn prefix() -> PathBuf {
    lib_dir().join("c-prefix")
}

fn out_dir() -> PathBuf {
    prefix().join("c-tests")
}

/// Runs `make` with these arguments; its output on failure.
fn make(args: &[String]) -> Result<(), String> {
    let out = Command::new("make")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "make {} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The library, `make -C ffi install` into a scratch prefix, then the
/// tests and examples built against that prefix through pkg-config, once
/// for every test of this file.
fn build() -> &'static Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_library()?;
        let prefix = prefix();
        make(&[
            "-C".into(),
            root().join("ffi").display().to_string(),
            "install".into(),
            "NO_BUILD=1".into(),
            format!("LIBSRC={}", lib_dir().display()),
            format!("PREFIX={}", prefix.display()),
        ])?;
        make(&[
            "-C".into(),
            root().join("tests/c").display().to_string(),
            format!("PREFIX={}", prefix.display()),
            format!("OUT={}", out_dir().display()),
            "all".into(),
        ])
    })
}

/// Output and exit code of `child`, killed after `limit`.
fn finish(mut child: Child, limit: Duration) -> (String, Option<i32>) {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (text, code)
}

/// Runs one test program; it must exit 0 and print "0 failed".
fn run(name: &str) {
    run_with(name, &[]);
}

/// [`run`] with extra environment variables.
fn run_with(name: &str, env: &[(&str, String)]) {
    if let Err(e) = build() {
        panic!("{e}");
    }
    let child = Command::new(out_dir().join(name))
        .current_dir(root())
        .env("SIO_NODE_DIR", root().join("tests/node"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let (text, code) = finish(child, Duration::from_secs(60));
    println!("{text}");
    assert_eq!(code, Some(0), "{name} failed:\n{text}");
    assert!(
        text.contains(", 0 failed"),
        "{name}: no clean summary:\n{text}"
    );
}

#[test]
fn c_server_with_the_npm_client() {
    let client = root().join("tests/node/node_modules/socket.io-client");
    assert!(
        client.exists(),
        "{} is missing: run `npm ci --prefix tests/node`",
        client.display()
    );
    run("test_server");
}

/// The Admin UI from C (`sio_server_instrument`), driven by the npm
/// socket.io-client as the UI drives it: basic authentication, then a C
/// auth check through an event queue.
#[test]
fn c_admin_ui_with_the_npm_client() {
    run("test_admin");
}

#[test]
fn c_client_with_the_npm_server() {
    run("test_client_npm");
}

/// A private `redis-server` on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    /// `None` (the Redis part skipped) without the binary, unless
    /// SOCKETIO_RS_REQUIRE_REDIS is set.
    fn start() -> Option<Redis> {
        const BIN: &str = "/usr/bin/redis-server";
        if !Path::new(BIN).exists() {
            assert!(
                std::env::var_os("SOCKETIO_RS_REQUIRE_REDIS").is_none(),
                "SOCKETIO_RS_REQUIRE_REDIS is set but {BIN} is missing"
            );
            eprintln!("{BIN} not found: the C cluster test runs without Redis");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(BIN)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }
}

/// Dynamic namespaces, per-event middlewares, outgoing listeners and the
/// cluster calls from C; with redis-server, two C servers in one cluster.
#[test]
fn c_cluster_and_dynamic_namespaces() {
    c_cluster("classic");
}

/// The same two-server cluster on the sharded Redis adapter.
#[test]
fn c_cluster_sharded() {
    c_cluster("sharded");
}

/// The same two-server cluster on the Redis Streams adapter.
#[test]
fn c_cluster_streams() {
    c_cluster("streams");
}

fn c_cluster(flavour: &str) {
    run_with("test_cluster", &redis_env(&Redis::start(), flavour));
}

/// What a C test needs to join a cluster through `redis` (nothing without
/// one: the test then skips that part).
fn redis_env(redis: &Option<Redis>, flavour: &str) -> Vec<(&'static str, String)> {
    redis
        .as_ref()
        .map(|r| {
            vec![
                ("SIO_REDIS_URL", format!("redis://127.0.0.1:{}", r.port)),
                ("SIO_REDIS_FLAVOUR", flavour.to_owned()),
            ]
        })
        .unwrap_or_default()
}

/// The engine's options and hooks, checked with raw HTTP requests.
#[test]
fn c_engine_hooks_and_options() {
    run("test_engine");
}

/// The client's auth callback and its manager's events.
#[test]
fn c_client_auth_and_manager_events() {
    run("test_client_manager");
}

/// The Redis emitter from C: argument and connection errors; with
/// redis-server, an emitter reaching a C server's client.
#[test]
fn c_emitter() {
    run_with("test_emitter", &redis_env(&Redis::start(), "classic"));
}

#[test]
fn c_client_and_server() {
    run("test_client");
}

#[test]
fn cpp_wrapper_static_library() {
    // With redis-server, the wrapper's server-side emits and acks run
    // across two servers too.
    run_with("test_cpp", &redis_env(&Redis::start(), "classic"));
}

/// The chat examples talk: a line typed into chat_client comes back from
/// chat_server under the nickname it set.
#[test]
fn c_chat_examples() {
    chat_with("chat_client");
}

/// The same conversation with the C++ client.
#[test]
fn cpp_chat_client_example() {
    chat_with("chat_client_cpp");
}

fn chat_with(client_program: &str) {
    if let Err(e) = build() {
        panic!("{e}");
    }
    let mut server = Command::new(out_dir().join("chat_server"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chat_server");
    let mut first = String::new();
    let stdout = server.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("chat_server prints its port");
    let port: u16 = first
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let mut client = Command::new(out_dir().join(client_program))
        .arg(format!("http://127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat_client");
    client
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"/nick tester\n/join den\nhello from C\n")
        .expect("write to chat_client");
    let (text, code) = finish(client, Duration::from_secs(20));

    let _ = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    let stopped = loop {
        match server.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = server.kill();
                break server.wait().ok();
            }
        }
    };
    println!("{text}");
    assert_eq!(code, Some(0), "{client_program} failed:\n{text}");
    assert!(text.contains("* you are now tester"), "{text}");
    assert!(text.contains("tester: hello from C"), "{text}");
    assert!(
        stopped.is_some_and(|s| s.success()),
        "chat_server did not stop cleanly on SIGINT: {stopped:?}"
    );
}

/// A CMake project finds the installed package (`find_package(socketio)`)
/// and builds the C test and the C++ test against its shared and static
/// targets; both then run. Needs cmake: skipped without it, unless
/// SOCKETIO_RS_REQUIRE_CMAKE is set (as CI does).
#[test]
fn cmake_package_consumer() {
    if let Err(e) = build() {
        panic!("{e}");
    }
    let have_cmake = Command::new("cmake")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_cmake {
        assert!(
            std::env::var_os("SOCKETIO_RS_REQUIRE_CMAKE").is_none(),
            "cmake is required (SOCKETIO_RS_REQUIRE_CMAKE is set)"
        );
        eprintln!("cmake not found: the CMake package test is skipped");
        return;
    }
    let build_dir = prefix().join("cmake-build");
    let _ = std::fs::remove_dir_all(&build_dir);
    let step = |args: &[&str]| {
        let out = Command::new("cmake")
            .args(args)
            .output()
            .expect("run cmake");
        assert!(
            out.status.success(),
            "cmake {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let source = root().join("tests/c/cmake");
    let source = source.to_str().expect("UTF-8 path");
    let build = build_dir.to_str().expect("UTF-8 path");
    let prefix_arg = format!("-DCMAKE_PREFIX_PATH={}", prefix().display());
    step(&["-S", source, "-B", build, &prefix_arg]);
    step(&["--build", build]);
    for program in ["cmake_test_client", "cmake_test_cpp"] {
        let child = Command::new(build_dir.join(program))
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let (text, code) = finish(child, Duration::from_secs(60));
        println!("{text}");
        assert_eq!(code, Some(0), "{program} failed:\n{text}");
        assert!(text.contains(", 0 failed"), "{program}: {text}");
    }
}
