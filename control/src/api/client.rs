//! The CLI side of the control API: one HTTP/1.1 request over the Unix
//! socket, through hyper on a current-thread runtime that lives for the call.

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// How long the CLI waits for the switch.
const TIMEOUT: Duration = Duration::from_secs(15);

/// `path` with `query` as its query string (fields that are `None` left
/// out).
pub fn with_query(path: &str, query: &impl Serialize) -> Result<String, String> {
    let q = serde_urlencoded::to_string(query).map_err(|e| format!("query: {e}"))?;
    Ok(if q.is_empty() { path.to_string() } else { format!("{path}?{q}") })
}

/// Sends one request to the switch listening on `socket` and returns its
/// JSON answer, or the API's error message.
pub fn call(
    socket: &Path,
    method: Method,
    target: &str,
    body: Option<&impl Serialize>,
) -> Result<serde_json::Value, String> {
    let body = match body {
        Some(b) => serde_json::to_vec(b).map_err(|e| format!("request: {e}"))?,
        None => Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let (status, bytes) = runtime.block_on(async {
        tokio::time::timeout(TIMEOUT, exchange(socket, method, target, body))
            .await
            .map_err(|_| format!("xvs at {} did not answer within {TIMEOUT:?}", socket.display()))?
    })?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("control API sent non-JSON (HTTP {status}): {e}"))?;
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        Err(value["error"].as_str().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}")))
    }
}

async fn exchange(socket: &Path, method: Method, target: &str, body: Vec<u8>) -> Result<(u16, Bytes), String> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("cannot reach xvs at {}: {e} (is `xvs run` running?)", socket.display()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| format!("control API: {e}"))?;
    let driver = tokio::spawn(conn);
    let request = Request::builder()
        .method(method)
        .uri(target)
        .header(hyper::header::HOST, "xvs")
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("control API: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map_err(|e| format!("control API: {e}"))?.to_bytes();
    driver.abort();
    Ok((status, bytes))
}
