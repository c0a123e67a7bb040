//! `ServerConfig::serve_client`: the browser client under the server's path,
//! answered as socket.io 4.8's `attachServe` / `serve` / `sendFile` answer
//! (headers, ETag and 304, gzip / deflate, any method, unknown names left to
//! the engine), byte for byte the files of the npm package
//! `socket.io-client` installed in tests/node.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{node_dir, serve, WAIT};
use engineio::server::{Cors, CorsOrigin};
use socketio::server::{ClientBundle, ClientBundleError, CLIENT_FILES};
use socketio::{ServerConfig, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `tests/node/node_modules/socket.io-client`.
fn package_dir() -> PathBuf {
    let dir = node_dir().join("node_modules/socket.io-client");
    assert!(
        dir.join("dist/socket.io.js").is_file(),
        "{} is missing: run `npm ci --prefix tests/node` first",
        dir.display()
    );
    dir
}

/// The version in the package's package.json, read here on its own.
fn package_version() -> String {
    let text = std::fs::read_to_string(package_dir().join("package.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"].as_str().unwrap().to_owned()
}

fn on_disk(name: &str) -> Vec<u8> {
    std::fs::read(package_dir().join("dist").join(name)).unwrap()
}

fn serving(mut config: ServerConfig) -> SocketIo {
    config.serve_client = Some(ClientBundle::load(package_dir()).expect("the bundle loads"));
    SocketIo::new(config)
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on its own connection, read to the end.
async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {target}: no complete answer within {WAIT:?}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let body = raw[split + 4..].to_vec();
    let reply = Reply {
        status: status.parse().unwrap(),
        headers,
        body,
    };
    assert!(
        reply.header("transfer-encoding").is_none(),
        "the bodies are whole: {:?}",
        reply.headers
    );
    reply
}

async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Reply {
    request(addr, "GET", target, headers, b"").await
}

/// What the reference's engine answers a request under its path that names
/// no transport: also its answer for a client file when `serveClient` is
/// false, and for a name that is not one of the client files.
fn assert_transport_unknown(r: &Reply, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text());
    assert_eq!(
        r.text(),
        r#"{"code":0,"message":"Transport unknown"}"#,
        "{what}"
    );
}

/// The reference's headers of a 200, and nothing about an encoding.
fn assert_served(r: &Reply, name: &str, version: &str) {
    assert_eq!(r.status, 200, "{name}: {}", r.text());
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=0"),
        "{name}"
    );
    let content_type = if name.ends_with(".map") {
        "application/json; charset=utf-8"
    } else {
        "application/javascript; charset=utf-8"
    };
    assert_eq!(r.header("content-type"), Some(content_type), "{name}");
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{version}\"").as_str()),
        "{name}"
    );
}

#[tokio::test]
async fn every_file_byte_for_byte_with_the_reference_headers() {
    let server = serve(serving(ServerConfig::default())).await;
    let version = package_version();
    assert_eq!(
        server.io.config().serve_client.as_ref().unwrap().version(),
        version
    );
    for name in CLIENT_FILES {
        let r = get(server.addr, &format!("/socket.io/{name}"), &[]).await;
        assert_served(&r, name, &version);
        assert_eq!(r.header("content-encoding"), None, "{name}");
        assert!(r.body == on_disk(name), "{name}: not the file on disk");
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str()),
            "{name}"
        );
    }
    // The query is not part of the name.
    let r = get(server.addr, "/socket.io/socket.io.min.js?v=1&x", &[]).await;
    assert_served(&r, "socket.io.min.js", &version);
    assert!(r.body == on_disk("socket.io.min.js"));
}

#[tokio::test]
async fn etag_and_304() {
    let server = serve(serving(ServerConfig::default())).await;
    let version = package_version();
    let strong = format!("\"{version}\"");
    let weak = format!("W/\"{version}\"");
    for (name, tag) in [
        ("socket.io.js", strong.as_str()),
        ("socket.io.js", weak.as_str()),
        ("socket.io.min.js.map", strong.as_str()),
        ("socket.io.esm.min.js.map", weak.as_str()),
    ] {
        let r = get(
            server.addr,
            &format!("/socket.io/{name}"),
            &[("If-None-Match", tag)],
        )
        .await;
        assert_eq!(r.status, 304, "{name} with {tag}");
        assert!(r.body.is_empty());
        // A bare 304, as the reference's `res.writeHead(304)`.
        for h in ["etag", "cache-control", "content-type", "content-encoding"] {
            assert_eq!(r.header(h), None, "{name} with {tag}: {h}");
        }
    }
    // Only the whole header value is compared, as the reference does.
    let other_versions = format!("\"0.0.0\", {strong}");
    for tag in ["\"0.0.0\"", version.as_str(), "*", other_versions.as_str()] {
        let r = get(
            server.addr,
            "/socket.io/socket.io.js",
            &[("If-None-Match", tag)],
        )
        .await;
        assert_served(&r, "socket.io.js", &version);
        assert!(r.body == on_disk("socket.io.js"), "If-None-Match: {tag}");
    }
}

#[tokio::test]
async fn brotli_gzip_and_deflate_as_the_client_asks() {
    let server = serve(serving(ServerConfig::default())).await;
    let version = package_version();
    for (accept, want) in [
        // What browsers send: the reference's `accepts` takes the first.
        ("gzip, deflate, br, zstd", Some("gzip")),
        ("deflate, gzip, br, zstd", Some("deflate")),
        ("gzip;q=0.5, deflate", Some("deflate")),
        ("identity", None),
        ("gzip;q=0, deflate;q=0", None),
        ("br", Some("br")),
        ("br, gzip", Some("br")),
    ] {
        for name in ["socket.io.js", "socket.io.msgpack.min.js.map"] {
            // Twice: the second comes from the cached encoding.
            for _ in 0..2 {
                let r = get(
                    server.addr,
                    &format!("/socket.io/{name}"),
                    &[("Accept-Encoding", accept)],
                )
                .await;
                assert_served(&r, name, &version);
                assert_eq!(r.header("content-encoding"), want, "{name}, {accept}");
                let mut plain = Vec::new();
                match want {
                    Some("br") => {
                        brotli::BrotliDecompress(&mut &r.body[..], &mut plain).unwrap();
                    }
                    Some("gzip") => {
                        flate2::read::GzDecoder::new(&r.body[..])
                            .read_to_end(&mut plain)
                            .unwrap();
                    }
                    // HTTP's deflate is the zlib format, as Node's createDeflate.
                    Some(_) => {
                        flate2::read::ZlibDecoder::new(&r.body[..])
                            .read_to_end(&mut plain)
                            .unwrap();
                    }
                    None => plain = r.body.clone(),
                }
                assert!(plain == on_disk(name), "{name}, {accept}: not the file");
                if want.is_some() {
                    assert!(r.body.len() < plain.len() / 2, "{name}: compressed");
                }
            }
        }
    }
}

#[tokio::test]
async fn any_method_is_answered_as_a_get() {
    let server = serve(serving(ServerConfig::default())).await;
    let version = package_version();
    let file = on_disk("socket.io.js");
    // HEAD: the same head, no body.
    let r = request(server.addr, "HEAD", "/socket.io/socket.io.js", &[], b"").await;
    assert_served(&r, "socket.io.js", &version);
    assert!(r.body.is_empty());
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = request(server.addr, method, "/socket.io/socket.io.js", &[], b"{}").await;
        assert_served(&r, "socket.io.js", &version);
        assert!(r.body == file, "{method}");
    }
}

#[tokio::test]
async fn other_names_are_the_engines() {
    let server = serve(serving(ServerConfig::default())).await;
    for target in [
        "/socket.io/socket.io.jsx",
        "/socket.io/socket.io.esm.js",
        "/socket.io/foo",
        "/socket.io/",
        "/socket.io//socket.io.js",
        "/socket.io/socket%2Eio.js",
        "/socket.io/dist/socket.io.js",
    ] {
        assert_transport_unknown(&get(server.addr, target, &[]).await, target);
    }
    // Outside the path: the standalone listener's 404.
    let r = get(server.addr, "/socket.io.js", &[]).await;
    assert_eq!(r.status, 404);
    // Socket.IO itself is untouched.
    let r = get(server.addr, "/socket.io/?EIO=4&transport=polling", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("0{\"sid\":"), "{}", r.text());
}

#[tokio::test]
async fn off_by_default() {
    assert!(ServerConfig::default().serve_client.is_none());
    let server = serve(SocketIo::new(ServerConfig::default())).await;
    for name in CLIENT_FILES {
        let target = format!("/socket.io/{name}");
        assert_transport_unknown(&get(server.addr, &target, &[]).await, &target);
    }
}

#[tokio::test]
async fn under_a_custom_path() {
    let mut config = ServerConfig::default();
    config.engine.path = "/chat/io".into();
    let server = serve(serving(config)).await;
    let r = get(server.addr, "/chat/io/socket.io.min.js", &[]).await;
    assert_served(&r, "socket.io.min.js", &package_version());
    assert!(r.body == on_disk("socket.io.min.js"));
    assert_eq!(
        get(server.addr, "/socket.io/socket.io.js", &[])
            .await
            .status,
        404
    );
}

/// As the reference, which runs its `cors` middleware before serving a
/// client file: the CORS headers on the file and on its 304, and a preflight
/// answered 204 without it.
#[tokio::test]
async fn cors_headers_as_the_engines() {
    let mut config = ServerConfig::default();
    config.engine.cors = Some(Cors {
        origin: CorsOrigin::List(vec!["http://a.example".into()]),
        ..Cors::default()
    });
    let server = serve(serving(config)).await;
    let version = package_version();
    let origin = ("Origin", "http://a.example");
    let r = get(server.addr, "/socket.io/socket.io.js", &[origin]).await;
    assert_served(&r, "socket.io.js", &version);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://a.example")
    );
    assert!(r.body == on_disk("socket.io.js"));
    let etag = format!("\"{version}\"");
    let r = get(
        server.addr,
        "/socket.io/socket.io.js",
        &[origin, ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://a.example")
    );
    let r = request(
        server.addr,
        "OPTIONS",
        "/socket.io/socket.io.js",
        &[origin, ("Access-Control-Request-Method", "GET")],
        b"",
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), None);
    assert!(r.header("access-control-allow-methods").is_some());
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "socketio-serve-client-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn message(e: ClientBundleError) -> String {
    e.to_string()
}

#[test]
fn clear_errors_for_a_missing_or_incomplete_bundle() {
    let scratch = Scratch::new();
    let dir = scratch.0.as_path();

    // Nothing there.
    let nowhere = dir.join("nowhere");
    let e = ClientBundle::load(&nowhere).unwrap_err();
    assert!(matches!(e, ClientBundleError::NotFound(ref d) if d == &nowhere));
    let m = message(e);
    assert!(m.contains(&nowhere.display().to_string()), "{m}");
    assert!(m.contains("npm install socket.io-client"), "{m}");

    // A dist/ with only socket.io.js.
    scratch.write(
        "package.json",
        r#"{"name":"socket.io-client","version":"9.9.9"}"#,
    );
    scratch.write("dist/socket.io.js", "//");
    let e = ClientBundle::load(dir).unwrap_err();
    match &e {
        ClientBundleError::MissingFiles { dir: d, missing } => {
            assert_eq!(d, &dir.join("dist"));
            let want: Vec<&str> = CLIENT_FILES
                .into_iter()
                .filter(|f| *f != "socket.io.js")
                .collect();
            assert_eq!(missing, &want);
        }
        other => panic!("{other:?}"),
    }
    let m = message(e);
    assert!(
        m.contains("lacks socket.io.esm.min.js, socket.io.esm.min.js.map"),
        "{m}"
    );

    // Every file, and a package.json without a version.
    for name in CLIENT_FILES {
        scratch.write(&format!("dist/{name}"), name);
    }
    scratch.write("package.json", r#"{"name":"socket.io-client"}"#);
    let e = ClientBundle::load(dir).unwrap_err();
    assert!(matches!(e, ClientBundleError::NoVersion(ref p) if p == &dir.join("package.json")));
    assert!(message(e).contains("no version"));

    // Complete: the package directory or its dist/ alike.
    scratch.write(
        "package.json",
        r#"{"name":"socket.io-client","version":"9.9.9"}"#,
    );
    for from in [dir.to_path_buf(), dir.join("dist")] {
        let bundle = ClientBundle::load(&from).unwrap();
        assert_eq!(bundle.version(), "9.9.9");
        assert_eq!(bundle.dir(), dir.join("dist"));
        for name in CLIENT_FILES {
            assert_eq!(bundle.file(name), Some(name.as_bytes()));
        }
        assert_eq!(bundle.file("other.js"), None);
    }
    // The package socket.io keeps its copy in client-dist/.
    let socket_io = Scratch::new();
    socket_io.write("package.json", r#"{"name":"socket.io","version":"4.0.0"}"#);
    for name in CLIENT_FILES {
        socket_io.write(&format!("client-dist/{name}"), name);
    }
    let bundle = ClientBundle::load(&socket_io.0).unwrap();
    assert_eq!(bundle.version(), "4.0.0");
    assert_eq!(bundle.dir(), socket_io.0.join("client-dist"));
}

#[test]
fn from_the_environment() {
    // The only test of this binary touching the variable.
    std::env::remove_var(ClientBundle::ENV);
    let e = ClientBundle::from_env().unwrap_err();
    assert!(matches!(e, ClientBundleError::EnvUnset));
    assert!(message(e).contains("SOCKETIO_CLIENT_DIST"));
    std::env::set_var(ClientBundle::ENV, package_dir());
    let bundle = ClientBundle::from_env().unwrap();
    std::env::remove_var(ClientBundle::ENV);
    assert_eq!(bundle.version(), package_version());
    assert_eq!(bundle.dir(), package_dir().join("dist"));
    assert!(bundle.file("socket.io.js").unwrap() == on_disk("socket.io.js"));
}

/// Mounted with `service()` in another app, the files are served too.
#[tokio::test]
async fn through_the_service() {
    let io = serving(ServerConfig::default());
    let svc = io.service();
    let req = http::Request::get("/socket.io/socket.io.esm.min.js")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = svc.handle(req).await;
    assert_eq!(res.status(), 200);
    use http_body_util::BodyExt;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body == on_disk("socket.io.esm.min.js"));
}
