//! The CLI side of the control API.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::http::{exchange, Response};

/// Sends one request to the switch listening on `socket`.
pub fn call(
    socket: &Path,
    method: &str,
    target: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot reach xvs at {}: {e} (is `xvs run` running?)", socket.display()))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let Response { status, body, .. } =
        exchange(stream, method, target, body).map_err(|e| format!("control API: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("control API sent non-JSON: {e}"))?;
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        Err(value["error"].as_str().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}")))
    }
}
