//! Just enough HTTP/1.1 for a control socket: one request per connection,
//! `Content-Length` bodies, JSON in and out.
//!
//! Why not a framework: the control API serves a handful of operators and
//! scripts over a Unix socket. A blocking 200-line codec keeps the binary
//! free of an async runtime, and its limits (header and body caps, read
//! timeouts) are explicit here.

use std::io::{BufRead, BufReader, Read, Write};

/// Largest request or response body accepted.
pub const MAX_BODY: usize = 16 << 20;
const MAX_HEADER_LINES: usize = 64;
const MAX_LINE: usize = 8192;

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, `DELETE`...
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Decoded `key=value` pairs of the query string.
    pub query: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        Response { status, content_type: "application/json", body }
    }

    /// A JSON error `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Response {
        Response::json(status, &serde_json::json!({ "error": message.into() }))
    }

    /// A plain-text response (Prometheus exposition format and the like).
    pub fn text(status: u16, content_type: &'static str, body: String) -> Response {
        Response { status, content_type, body: body.into_bytes() }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Status",
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

fn read_line_capped<R: BufRead>(r: &mut R) -> std::io::Result<String> {
    let mut line = Vec::new();
    r.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if line.len() > MAX_LINE {
        return Err(bad("header line too long"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad("header is not UTF-8"))
}

/// Reads headers up to the blank line; returns (first line, content length).
fn read_head<R: BufRead>(r: &mut R) -> std::io::Result<(String, usize)> {
    let first = read_line_capped(r)?;
    let mut len = 0usize;
    for _ in 0..MAX_HEADER_LINES {
        let line = read_line_capped(r)?;
        if line.is_empty() {
            return Ok((first, len));
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().map_err(|_| bad("bad Content-Length"))?;
                if len > MAX_BODY {
                    return Err(bad("body too large"));
                }
            }
        }
    }
    Err(bad("too many header lines"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one request from a connection.
pub fn read_request<S: Read>(stream: S) -> std::io::Result<Request> {
    let mut r = BufReader::new(stream);
    let (first, len) = read_head(&mut r)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("empty request line"))?.to_string();
    let target = parts.next().ok_or_else(|| bad("no request target"))?;
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Request { method, path: percent_decode(path), query, body })
}

/// Writes a response and closes the exchange.
pub fn write_response<S: Write>(mut stream: S, resp: &Response) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    )?;
    stream.write_all(&resp.body)?;
    stream.flush()
}

/// Client side: sends a request and reads the response.
pub fn exchange<S: Read + Write>(
    mut stream: S,
    method: &str,
    target: &str,
    body: Option<&serde_json::Value>,
) -> std::io::Result<Response> {
    let body = body.map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
    write!(stream, "{method} {target} HTTP/1.1\r\nHost: xvs\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    stream.write_all(&body)?;
    stream.flush()?;
    let mut r = BufReader::new(stream);
    let (first, len) = read_head(&mut r)?;
    let status = first.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Response { status, content_type: "application/json", body })
}

/// Encodes a query-string value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_roundtrip_through_a_buffer() {
        let raw = b"POST /v1/fdb?vlan=10&mac=02%3A00%3A00%3A00%3A00%3A01 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        let req = read_request(&raw[..]).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/fdb");
        assert_eq!(req.param("mac"), Some("02:00:00:00:00:01"));
        assert_eq!(req.param("vlan"), Some("10"));
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn limits_are_enforced() {
        let raw = format!("GET / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert!(read_request(raw.as_bytes()).is_err());
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE));
        assert!(read_request(long.as_bytes()).is_err());
        assert!(read_request(&b""[..]).is_err());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn response_write_and_client_parse() {
        let mut buf = Vec::new();
        write_response(&mut buf, &Response::json(201, &serde_json::json!({"ok": true}))).unwrap();
        struct Duplex(std::io::Cursor<Vec<u8>>, Vec<u8>);
        impl Read for Duplex {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                self.0.read(b)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.1.write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let resp = exchange(Duplex(std::io::Cursor::new(buf), Vec::new()), "GET", "/x", None).unwrap();
        assert_eq!(resp.status, 201);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&resp.body).unwrap()["ok"], true);
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
