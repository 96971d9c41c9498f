//! The API thread: axum on a current-thread tokio runtime, confined to this
//! one thread. It maps each route to a typed [`Command`], hands it to the
//! control thread over a bounded channel, and awaits the reply without
//! blocking other connections. The control thread never waits on it: it
//! polls the channel between its own chores.
//!
//! Listeners:
//! * the control socket (Unix, mode 0600, its owner only): the JSON API;
//! * `api_listen` (TCP on loopback), if set: the same API, for callers that
//!   send `Authorization: Bearer <token>`; anyone else gets 401;
//! * `metrics_listen` (TCP), if set: Prometheus `/metrics` and nothing else.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crossbeam::channel::{bounded, Receiver, Sender, TrySendError};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::service::ControlPlane;
use crate::command::{
    ApiError, Command, FdbAdd, FdbDelete, FdbFilter, FdbQuery, FlowAdd, FlowReplace, Reply, TraceRequest,
};
use crate::metrics::Metrics;

/// What the API thread asks of the control thread.
pub enum ApiCall {
    /// Execute a command; the reply goes back on `reply`.
    Command {
        /// The command.
        command: Command,
        /// Where the control thread sends the result.
        reply: oneshot::Sender<Reply>,
    },
    /// Bring the exported metrics up to date and render them.
    Scrape {
        /// Where the control thread sends the exposition text.
        reply: oneshot::Sender<String>,
    },
}

impl Api {
    /// Answers every call queued so far, on the control thread; returns how
    /// many there were.
    pub fn answer(&self, control: &mut ControlPlane, metrics: &Metrics) -> usize {
        let mut n = 0;
        while let Ok(call) = self.calls.try_recv() {
            // A caller that gave up has dropped its receiver: nothing to do.
            match call {
                ApiCall::Command { command, reply } => drop(reply.send(control.execute(command))),
                ApiCall::Scrape { reply } => drop(reply.send(metrics.scrape(control))),
            }
            n += 1;
        }
        n
    }
}

/// How long a request may wait for the control thread.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body: the biggest command is a few hundred bytes.
const MAX_BODY: usize = 64 << 10;
/// Requests queued for the control thread before new ones get 503.
const QUEUE: usize = 64;
/// How often the runtime looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The listeners' addresses.
#[derive(Clone, Debug)]
pub struct Listeners {
    /// The control socket.
    pub socket: PathBuf,
    /// Where `/metrics` is served, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// A loopback TCP address for the API, and the token callers must send.
    pub tcp: Option<(SocketAddr, String)>,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The control socket.
    #[error("control socket {path}: {source}")]
    Socket {
        /// Its path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The TCP API listener.
    #[error("api_listen {addr}: {source}")]
    Tcp {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The metrics listener.
    #[error("metrics_listen {addr}: {source}")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The runtime or the thread.
    #[error("API thread: {0}")]
    Thread(std::io::Error),
}

/// The running API thread.
pub struct Api {
    /// Calls for the control thread.
    pub calls: Receiver<ApiCall>,
    /// The thread; it ends once the stop flag is set.
    pub thread: JoinHandle<()>,
    /// Where `/metrics` is served (with the port the kernel chose for
    /// port 0).
    pub metrics: Option<SocketAddr>,
    /// Where the TCP API is served (likewise).
    pub tcp: Option<SocketAddr>,
}

/// Binds both listeners (so an error is reported before the switch runs),
/// then starts the API thread.
pub fn start(at: &Listeners, stop: Arc<AtomicBool>) -> Result<Api, StartError> {
    let socket = bind_socket(&at.socket)
        .map_err(|source| StartError::Socket { path: at.socket.display().to_string(), source })?;
    let metrics = at.metrics.map(|addr| bind_tcp(addr).map_err(|source| StartError::Metrics { addr, source }));
    let metrics = metrics.transpose()?;
    let tcp = at.tcp.as_ref().map(|(addr, token)| {
        let addr = *addr;
        bind_tcp(addr).map(|l| (l, token.clone())).map_err(|source| StartError::Tcp { addr, source })
    });
    let tcp = tcp.transpose()?;
    let metrics_addr = metrics.as_ref().and_then(|l| l.local_addr().ok());
    let tcp_addr = tcp.as_ref().and_then(|(l, _)| l.local_addr().ok());
    let (tx, rx) = bounded::<ApiCall>(QUEUE);
    let path = at.socket.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build();
    let runtime = runtime.map_err(StartError::Thread)?;
    let handle = std::thread::Builder::new()
        .name("xvs-api".into())
        .spawn(move || {
            runtime.block_on(serve(socket, tcp, metrics, tx, stop));
            let _ = std::fs::remove_file(&path);
        })
        .map_err(StartError::Thread)?;
    Ok(Api { calls: rx, thread: handle, metrics: metrics_addr, tcp: tcp_addr })
}

fn bind_tcp(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Binds the Unix socket, replacing a stale one, and restricts it to its
/// owner.
fn bind_socket(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        // A live switch answers; a stale socket from a crash does not.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is in use by a running xvs", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

async fn serve(
    socket: std::os::unix::net::UnixListener,
    tcp: Option<(std::net::TcpListener, String)>,
    metrics: Option<std::net::TcpListener>,
    tx: Sender<ApiCall>,
    stop: Arc<AtomicBool>,
) {
    let unix = serve_on("control socket", tokio::net::UnixListener::from_std(socket), routes(tx.clone()), &stop);
    let tcp = async {
        let Some((l, token)) = tcp else { return };
        let router = routes(tx.clone()).layer(middleware::from_fn_with_state(Arc::<str>::from(token), bearer));
        serve_on("api_listen", tokio::net::TcpListener::from_std(l), router, &stop).await
    };
    let metrics = async {
        let Some(l) = metrics else { return };
        serve_on("metrics_listen", tokio::net::TcpListener::from_std(l), metrics_routes(tx.clone()), &stop).await
    };
    tokio::join!(unix, tcp, metrics);
}

/// Serves `router` on `listener` (once registered with the runtime) until
/// the stop flag is set; failures are logged under `name`.
async fn serve_on<L>(name: &str, listener: std::io::Result<L>, router: Router, stop: &Arc<AtomicBool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let stop = stop.clone();
    let stopped = async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(STOP_POLL).await;
        }
    };
    let served = match listener {
        Ok(l) => axum::serve(l, router).with_graceful_shutdown(stopped).await,
        Err(e) => Err(e),
    };
    if let Err(e) = served {
        log::error!("{name}: {e}");
    }
}

/// Lets a request through only with `Authorization: Bearer <token>`,
/// compared in constant time so that response times do not reveal how much
/// of a guess was right.
async fn bearer(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        next.run(request).await
    } else {
        let e = ApiError {
            status: 401,
            message: "the TCP API needs Authorization: Bearer <token> (api_token_file)".into(),
        };
        let mut r = error(e);
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        r
    }
}

/// The JSON API's routes.
pub fn routes(tx: Sender<ApiCall>) -> Router {
    Router::new()
        .route("/v1/fdb", get(fdb_show).post(fdb_add).delete(fdb_delete))
        .route("/v1/fdb/flush", post(fdb_flush))
        .route("/v1/trace", post(trace))
        .route("/v1/arp", get(|s: State<Sender<ApiCall>>| run(s, Command::ArpShow)))
        .route("/v1/flows", get(|s: State<Sender<ApiCall>>| run(s, Command::FlowList)).post(flow_add))
        .route("/v1/flows/{id}", axum::routing::delete(flow_delete))
        .route("/v1/flows/ingress/{port}", axum::routing::put(flow_replace))
        .route("/v1/fdb/moves", get(|s: State<Sender<ApiCall>>| run(s, Command::FdbMoves)))
        .route("/v1/ports", get(|s: State<Sender<ApiCall>>| run(s, Command::Ports)))
        .route("/v1/bridges", get(|s: State<Sender<ApiCall>>| run(s, Command::Bridges)))
        .route("/v1/tunnels", get(|s: State<Sender<ApiCall>>| run(s, Command::Tunnels)))
        .route("/v1/stats", get(|s: State<Sender<ApiCall>>| run(s, Command::Stats)))
        .route("/v1/version", get(|s: State<Sender<ApiCall>>| run(s, Command::Version)))
        .route("/v1/health", get(|s: State<Sender<ApiCall>>| run(s, Command::Health)))
        .route("/v1/config", get(|s: State<Sender<ApiCall>>| run(s, Command::ConfigShow)))
        .route("/v1/config/reload", post(|s: State<Sender<ApiCall>>| run(s, Command::ConfigReload)))
        .fallback(|uri: axum::http::Uri| async move { error(ApiError::not_found(format!("no route {uri}"))) })
        .method_not_allowed_fallback(|m: axum::http::Method, uri: axum::http::Uri| async move {
            error(ApiError { status: 405, message: format!("{uri} does not take {m}") })
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(tx)
}

/// The metrics listener's one route.
pub fn metrics_routes(tx: Sender<ApiCall>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(tx)
}

async fn fdb_show(s: State<Sender<ApiCall>>, q: Result<Query<FdbQuery>, QueryRejection>) -> Response {
    match q {
        Ok(Query(f)) => run(s, Command::FdbShow(f)).await,
        Err(e) => refused(e.status(), e.body_text()),
    }
}

async fn fdb_delete(s: State<Sender<ApiCall>>, q: Result<Query<FdbDelete>, QueryRejection>) -> Response {
    match q {
        Ok(Query(d)) => run(s, Command::FdbDelete(d)).await,
        Err(e) => refused(e.status(), e.body_text()),
    }
}

async fn fdb_add(s: State<Sender<ApiCall>>, b: Result<Json<FdbAdd>, JsonRejection>) -> Response {
    match b {
        Ok(Json(a)) => created(run(s, Command::FdbAdd(a)).await),
        Err(e) => refused(e.status(), e.body_text()),
    }
}

async fn flow_add(s: State<Sender<ApiCall>>, b: Result<Json<FlowAdd>, JsonRejection>) -> Response {
    match b {
        Ok(Json(a)) => created(run(s, Command::FlowAdd(a)).await),
        Err(e) => refused(e.status(), e.body_text()),
    }
}

async fn flow_delete(s: State<Sender<ApiCall>>, id: Result<UrlPath<u32>, PathRejection>) -> Response {
    match id {
        Ok(UrlPath(id)) => run(s, Command::FlowDelete(id)).await,
        Err(e) => refused(StatusCode::BAD_REQUEST, format!("flow id: {}", e.body_text())),
    }
}

async fn flow_replace(
    s: State<Sender<ApiCall>>,
    port: UrlPath<String>,
    b: Result<Json<FlowReplace>, JsonRejection>,
) -> Response {
    match b {
        Ok(Json(rules)) => run(s, Command::FlowReplace { port: port.0, rules }).await,
        Err(e) => refused(e.status(), e.body_text()),
    }
}

/// A successful add answers 201.
fn created(mut r: Response) -> Response {
    if r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::CREATED;
    }
    r
}

async fn trace(s: State<Sender<ApiCall>>, b: Result<Json<TraceRequest>, JsonRejection>) -> Response {
    match b {
        Ok(Json(t)) => run(s, Command::Trace(t)).await,
        Err(e) => refused(e.status(), e.body_text()),
    }
}

/// The flush body may be left out: it means every dynamic entry.
async fn fdb_flush(s: State<Sender<ApiCall>>, body: Result<axum::body::Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return refused(e.status(), e.body_text()),
    };
    if body.is_empty() {
        return run(s, Command::FdbFlush(FdbFilter::default())).await;
    }
    match serde_json::from_slice::<FdbFilter>(&body) {
        Ok(f) => run(s, Command::FdbFlush(f)).await,
        Err(e) => refused(StatusCode::BAD_REQUEST, format!("request body: {e}")),
    }
}

async fn run(State(tx): State<Sender<ApiCall>>, command: Command) -> Response {
    let (reply, answer) = oneshot::channel();
    match ask(&tx, ApiCall::Command { command, reply }, answer).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) | Err(e) => error(e),
    }
}

async fn scrape(State(tx): State<Sender<ApiCall>>) -> Response {
    let (reply, answer) = oneshot::channel();
    match ask(&tx, ApiCall::Scrape { reply }, answer).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => error(e),
    }
}

/// Queues `call` for the control thread without blocking this thread, and
/// waits for its answer.
async fn ask<T>(tx: &Sender<ApiCall>, call: ApiCall, answer: oneshot::Receiver<T>) -> Result<T, ApiError> {
    let unavailable = |m: &str| ApiError { status: 503, message: m.to_string() };
    match tx.try_send(call) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return Err(unavailable("the control thread has too many requests queued")),
        Err(TrySendError::Disconnected(_)) => return Err(unavailable("the control thread is gone")),
    }
    match tokio::time::timeout(REPLY_TIMEOUT, answer).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(unavailable("the control thread dropped the request")),
        Err(_) => Err(unavailable("the control thread did not answer in time")),
    }
}

/// A request the server could not take (unparsable, too big), with the
/// extractor's status.
fn refused(status: StatusCode, message: String) -> Response {
    error(ApiError { status: status.as_u16(), message })
}

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json::<Value>(e.body())).into_response()
}
