//! gzip / deflate of large polling responses, as the reference's
//! `httpCompression`.

use std::io::Write;

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use http::{header, HeaderMap};

/// Compresses `body` with the first of gzip and deflate the client accepts.
pub(crate) fn maybe_compress(body: Vec<u8>, req: &HeaderMap) -> (Vec<u8>, Option<&'static str>) {
    let accepted = req
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(name)
        })
        .collect::<Vec<_>>();
    let accepts = |n: &str| accepted.iter().any(|a| a == n || a == "*");
    let out = if accepts("gzip") {
        let mut e = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .map(|v| (v, "gzip"))
    } else if accepts("deflate") {
        let mut e = ZlibEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .map(|v| (v, "deflate"))
    } else {
        return (body, None);
    };
    match out {
        Ok((v, enc)) => (v, Some(enc)),
        Err(_) => (body, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
        h
    }

    #[test]
    fn picks_gzip_then_deflate() {
        let body = vec![b'4'; 2000];
        let (gz, enc) = maybe_compress(body.clone(), &headers("deflate, gzip"));
        assert_eq!(enc, Some("gzip"));
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        assert_eq!(
            maybe_compress(body.clone(), &headers("gzip;q=0, deflate")).1,
            Some("deflate")
        );
        assert_eq!(maybe_compress(body.clone(), &headers("br")).1, None);
        assert_eq!(maybe_compress(body, &HeaderMap::new()).1, None);
    }
}
