//! The API listener thread: accepts connections on the Unix socket and hands
//! each request to the control thread, which owns all state.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{bounded, Receiver, Sender};

use super::http::{read_request, write_response, Request, Response};

/// A request waiting for the control thread, with where to send the answer.
pub struct ApiCall {
    /// The request.
    pub request: Request,
    /// Where the control thread sends the response.
    pub reply: Sender<Response>,
}

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may wait for the control thread.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the socket (replacing a stale one), restricts it to its owner, and
/// starts the listener thread. Requests arrive on the returned receiver.
pub fn start(path: &Path, stop: Arc<AtomicBool>) -> std::io::Result<(Receiver<ApiCall>, JoinHandle<()>)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        // A live switch answers; a stale socket from a crash does not.
        if UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is in use by a running xvs", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    let (tx, rx) = bounded::<ApiCall>(64);
    let path: PathBuf = path.to_path_buf();
    let handle = std::thread::Builder::new().name("xvs-api".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => serve(stream, &tx),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = std::fs::remove_file(&path);
    })?;
    Ok((rx, handle))
}

fn serve(stream: UnixStream, tx: &Sender<ApiCall>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let resp = match read_request(&stream) {
        Ok(request) => {
            let (reply, answer) = bounded(1);
            if tx.send(ApiCall { request, reply }).is_err() {
                Response::error(503, "control thread is gone")
            } else {
                answer
                    .recv_timeout(REPLY_TIMEOUT)
                    .unwrap_or_else(|_| Response::error(503, "control thread did not answer"))
            }
        }
        Err(e) => Response::error(400, format!("bad request: {e}")),
    };
    let _ = write_response(&stream, &resp);
}
