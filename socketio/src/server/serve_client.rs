//! The browser client under the server's path, as the reference's
//! `serveClient`: `<path>/socket.io.js` and the other bundles of the npm
//! package `socket.io-client`, with their source maps.
//!
//! The bundles are not part of this crate: [`ClientBundle::load`] reads them
//! from an installed `socket.io-client` package (its `dist/` folder and the
//! version in its `package.json`), once, and the server answers from memory.
//! The reference serves by default; here it is off until a bundle is given
//! ([`crate::ServerConfig::serve_client`]), since there is none to serve
//! without one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// The files served, as the reference's `CLIENT_FILES`.
pub const CLIENT_FILES: [&str; 8] = [
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// Why a bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ClientBundleError {
    /// The environment variable naming the directory is unset or empty.
    #[error(
        "{} is not set: set it to the directory of the npm package socket.io-client \
         (e.g. node_modules/socket.io-client)",
        ClientBundle::ENV
    )]
    EnvUnset,
    /// No `socket.io.js` where the bundles should be.
    #[error(
        "no socket.io-client bundle in {dir}: expected socket.io.js in {dir}/dist (the npm \
         package socket.io-client; install it with `npm install socket.io-client`), \
         {dir}/client-dist (the package socket.io) or {dir} itself",
        dir = .0.display()
    )]
    NotFound(PathBuf),
    /// Some of the [`CLIENT_FILES`] are missing.
    #[error("the socket.io-client bundle in {} lacks {}", dir.display(), missing.join(", "))]
    MissingFiles {
        /// The directory of the bundles.
        dir: PathBuf,
        /// The files not there.
        missing: Vec<&'static str>,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The package's `package.json` has no usable version.
    #[error("{} has no version string (the ETag of the client files)", .0.display())]
    NoVersion(PathBuf),
}

/// The official browser client, read into memory, for
/// [`crate::ServerConfig::serve_client`]. Cheap to clone.
#[derive(Clone)]
pub struct ClientBundle {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    version: String,
    /// `"<version>"`, the reference's ETag.
    etag: HeaderValue,
    /// In the order of [`CLIENT_FILES`].
    files: Vec<File>,
}

struct File {
    body: Bytes,
    /// Compressed on the first request that wants it, then kept.
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
    deflate: OnceLock<Bytes>,
}

impl std::fmt::Debug for ClientBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBundle")
            .field("dir", &self.inner.dir)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

impl ClientBundle {
    /// The environment variable [`ClientBundle::from_env`] reads.
    pub const ENV: &'static str = "SOCKETIO_CLIENT_DIST";

    /// Reads the bundles of an installed npm package. `dir` is the package's
    /// directory (`node_modules/socket.io-client`, what
    /// `path.dirname(require.resolve('socket.io-client/package.json'))`
    /// gives), whose `dist/` holds the files; the package `socket.io`'s
    /// directory (its `client-dist/`) and a `dist/` folder itself work too.
    /// The version for the ETag is the one of the `package.json` next to the
    /// files' folder. Fails, saying what is missing, unless all of
    /// [`CLIENT_FILES`] are there.
    pub fn load(dir: impl AsRef<Path>) -> Result<ClientBundle, ClientBundleError> {
        let dir = dir.as_ref();
        let (dist, package) = [dir.join("dist"), dir.join("client-dist")]
            .into_iter()
            .map(|d| (d, dir.join("package.json")))
            .chain(std::iter::once((
                dir.to_path_buf(),
                dir.join("../package.json"),
            )))
            .find(|(d, _)| d.join("socket.io.js").is_file())
            .ok_or_else(|| ClientBundleError::NotFound(dir.to_path_buf()))?;
        let missing: Vec<&'static str> = CLIENT_FILES
            .into_iter()
            .filter(|name| !dist.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(ClientBundleError::MissingFiles { dir: dist, missing });
        }
        let read = |path: PathBuf| {
            std::fs::read(&path).map_err(|source| ClientBundleError::Io { path, source })
        };
        let manifest = read(package.clone())?;
        let version = serde_json::from_slice::<serde_json::Value>(&manifest)
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_owned))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ClientBundleError::NoVersion(package.clone()))?;
        let etag = HeaderValue::from_str(&format!("\"{version}\""))
            .map_err(|_| ClientBundleError::NoVersion(package))?;
        let mut files = Vec::with_capacity(CLIENT_FILES.len());
        for name in CLIENT_FILES {
            files.push(File {
                body: Bytes::from(read(dist.join(name))?),
                br: OnceLock::new(),
                gzip: OnceLock::new(),
                deflate: OnceLock::new(),
            });
        }
        Ok(ClientBundle {
            inner: Arc::new(Inner {
                dir: dist,
                version,
                etag,
                files,
            }),
        })
    }

    /// [`ClientBundle::load`] of the directory in the environment variable
    /// `SOCKETIO_CLIENT_DIST`.
    pub fn from_env() -> Result<ClientBundle, ClientBundleError> {
        match std::env::var_os(Self::ENV) {
            Some(dir) if !dir.is_empty() => Self::load(PathBuf::from(dir)),
            _ => Err(ClientBundleError::EnvUnset),
        }
    }

    /// The folder the files were read from.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The package's version, the files' ETag.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The content of one of [`CLIENT_FILES`], as read.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        let i = CLIENT_FILES.iter().position(|f| *f == name)?;
        Some(&self.inner.files[i].body)
    }

    /// The answer to a request for `<path>/<name>`, as the reference's
    /// `attachServe`: `None` unless the path names one of [`CLIENT_FILES`],
    /// whatever the method. `path` is the server's, with its slashes.
    pub(crate) fn respond(
        &self,
        path: &str,
        parts: &http::request::Parts,
    ) -> Option<Response<Full<Bytes>>> {
        let name = parts.uri.path().strip_prefix(path)?;
        let i = CLIENT_FILES.iter().position(|f| *f == name)?;
        Some(self.serve(i, &parts.headers))
    }

    /// The reference's `serve` and `sendFile`.
    fn serve(&self, i: usize, req: &HeaderMap) -> Response<Full<Bytes>> {
        let inner = &*self.inner;
        let weak = format!("W/\"{}\"", inner.version);
        if let Some(tag) = joined(req, header::IF_NONE_MATCH) {
            if tag.as_bytes() == inner.etag.as_bytes() || tag == weak {
                let mut res = Response::new(Full::new(Bytes::new()));
                *res.status_mut() = StatusCode::NOT_MODIFIED;
                return res;
            }
        }
        let file = &inner.files[i];
        let encoding = joined(req, header::ACCEPT_ENCODING)
            .and_then(|accept| negotiate(&accept, &["br", "gzip", "deflate"]));
        let body = match encoding {
            Some("br") => file.br.get_or_init(|| brotli(&file.body)).clone(),
            Some("gzip") => file.gzip.get_or_init(|| compress(&file.body, true)).clone(),
            Some(_) => file
                .deflate
                .get_or_init(|| compress(&file.body, false))
                .clone(),
            None => file.body.clone(),
        };
        let mut res = Response::new(Full::new(body));
        let h = res.headers_mut();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=0"),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if CLIENT_FILES[i].ends_with(".map") {
                "application/json; charset=utf-8"
            } else {
                "application/javascript; charset=utf-8"
            }),
        );
        h.insert(header::ETAG, inner.etag.clone());
        if let Some(encoding) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        res
    }
}

/// A request header as Node gives it: repeated values joined with ", ".
fn joined(req: &HeaderMap, name: header::HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for v in req.get_all(name) {
        let v = v.to_str().ok()?;
        match &mut out {
            Some(s) => {
                s.push_str(", ");
                s.push_str(v);
            }
            None => out = Some(v.to_owned()),
        }
    }
    out
}

/// gzip, or the zlib stream HTTP calls `deflate`, as Node's `createGzip` /
/// `createDeflate` (default level).
fn compress(body: &[u8], gzip: bool) -> Bytes {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    let out = Vec::with_capacity(body.len() / 3);
    let done = if gzip {
        let mut e = GzEncoder::new(out, Compression::default());
        e.write_all(body).and_then(|()| e.finish())
    } else {
        let mut e = ZlibEncoder::new(out, Compression::default());
        e.write_all(body).and_then(|()| e.finish())
    };
    // Writing to memory cannot fail.
    Bytes::from(done.unwrap_or_default())
}

/// Brotli as Node's `createBrotliCompress` with its defaults (quality 11,
/// a 4 MiB window): the best ratio, paid once per file.
fn brotli(body: &[u8]) -> Bytes {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(body.len() / 4);
    let mut input = body;
    // Writing to memory cannot fail.
    match brotli::BrotliCompress(&mut input, &mut out, &params) {
        Ok(_) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

/// The encoding the npm package `negotiator` (0.6, through `accepts`) picks
/// among `provided` for this `Accept-Encoding`; `None`: identity.
fn negotiate(accept: &str, provided: &[&'static str]) -> Option<&'static str> {
    struct Spec {
        encoding: String,
        q: f64,
        i: usize,
    }
    let accepts: Vec<Spec> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let (encoding, params) = parse_encoding(item.trim())?;
            let q = params
                .and_then(|params| {
                    params.split(';').find_map(|p| {
                        let mut kv = p.trim().split('=');
                        (kv.next() == Some("q")).then(|| parse_float(kv.next().unwrap_or("")))
                    })
                })
                .unwrap_or(1.0);
            Some(Spec {
                encoding: encoding.to_owned(),
                q,
                i,
            })
        })
        .collect();
    // JavaScript's `a || b` on numbers: NaN and 0 give way.
    let or = |a: f64, b: f64| if a == 0.0 || a.is_nan() { b } else { a };
    struct Priority {
        i: usize,
        o: f64,
        q: f64,
        s: f64,
    }
    let mut priorities: Vec<Priority> = provided
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut best = Priority {
                i: index,
                o: -1.0,
                q: 0.0,
                s: 0.0,
            };
            for spec in &accepts {
                let s = if spec.encoding.to_lowercase() == name.to_lowercase() {
                    1.0
                } else if spec.encoding == "*" {
                    0.0
                } else {
                    continue;
                };
                let o = spec.i as f64;
                if or(or(best.s - s, best.q - spec.q), best.o - o) < 0.0 {
                    best = Priority {
                        i: index,
                        o,
                        q: spec.q,
                        s,
                    };
                }
            }
            best
        })
        .filter(|p| p.q > 0.0)
        .collect();
    priorities.sort_by(|a, b| {
        let d = or(
            or(or(b.q - a.q, b.s - a.s), a.o - b.o),
            a.i as f64 - b.i as f64,
        );
        d.partial_cmp(&0.0).unwrap_or(std::cmp::Ordering::Equal)
    });
    priorities.first().map(|p| provided[p.i])
}

/// `negotiator`'s `/^\s*([^\s;]+)\s*(?:;(.*))?$/` on one item.
fn parse_encoding(item: &str) -> Option<(&str, Option<&str>)> {
    let item = item.trim_start();
    let end = item
        .find(|c: char| c.is_whitespace() || c == ';')
        .unwrap_or(item.len());
    if end == 0 {
        return None;
    }
    let (encoding, rest) = item.split_at(end);
    let rest = rest.trim_start();
    if rest.is_empty() {
        Some((encoding, None))
    } else {
        rest.strip_prefix(';')
            .map(|params| (encoding, Some(params)))
    }
}

/// JavaScript's `parseFloat`: the longest number at the start, else NaN.
fn parse_float(s: &str) -> f64 {
    let s = s.trim_start();
    if s.starts_with("Infinity") || s.starts_with("+Infinity") {
        return f64::INFINITY;
    }
    if s.starts_with("-Infinity") {
        return f64::NEG_INFINITY;
    }
    let candidate: String = s
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        .collect();
    (1..=candidate.len())
        .rev()
        .find_map(|n| {
            let prefix = &candidate[..n];
            // Rust takes "inf" / "nan", JavaScript does not; neither gets here.
            prefix.parse::<f64>().ok()
        })
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers of `require('accepts')(req).encodings(['br', 'gzip',
    /// 'deflate'])` (negotiator 0.6.3) for these headers.
    #[test]
    fn negotiates_as_the_reference() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("gzip", Some("gzip")),
            ("deflate", Some("deflate")),
            ("gzip, deflate, br, zstd", Some("gzip")),
            ("deflate, gzip, br, zstd", Some("deflate")),
            ("br", Some("br")),
            ("BR", Some("br")),
            ("br, gzip", Some("br")),
            ("br;q=0.9, gzip", Some("gzip")),
            ("*", Some("br")),
            ("identity", None),
            ("gzip;q=0.5, deflate", Some("deflate")),
            ("gzip;q=0, *", Some("br")),
            ("br;q=0, *", Some("gzip")),
            ("*;q=0.5, gzip;q=0.2", Some("br")),
            ("*;q=0.5, br;q=0.1", Some("gzip")),
            ("GZIP", Some("gzip")),
            ("gzip x", None),
            ("gzip ;q=0.9, deflate;q=0.8", Some("gzip")),
            ("gzip;q=abc", None),
            ("gzip;q=0.5x, deflate;q=0.4", Some("gzip")),
            ("deflate;q=1, gzip;q=1", Some("deflate")),
            ("*, gzip;q=0.1", Some("br")),
            (" , gzip", Some("gzip")),
        ];
        for (accept, want) in cases {
            assert_eq!(
                negotiate(accept, &["br", "gzip", "deflate"]),
                *want,
                "Accept-Encoding: {accept:?}"
            );
        }
    }

    #[test]
    fn brotli_round_trips() {
        let body: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let packed = brotli(&body);
        assert!(!packed.is_empty() && packed.len() < body.len() / 4);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &packed[..], &mut out).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn parse_float_as_javascript() {
        assert_eq!(parse_float("0.5"), 0.5);
        assert_eq!(parse_float(" 1e-1x"), 0.1);
        assert_eq!(parse_float("1."), 1.0);
        assert_eq!(parse_float(".5"), 0.5);
        assert!(parse_float("").is_nan());
        assert!(parse_float("x1").is_nan());
        assert!(parse_float("-").is_nan());
    }
}
