//! The control API over its real transport: axum on the Unix socket and on
//! the metrics listener, a control thread answering as `xvs run`'s does, and
//! the CLI's client. No AF_XDP: the dataplane reports nothing.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::Method;
use serde_json::{json, Value};
use switch_core::bridge::ForwardingPlan;
use switch_core::fdb::{FdbWriter, LearnQueue};
use switch_core::pipeline::WorkerCounters;
use switch_core::Nanos;
use xvs_control::api::client::{call, with_query};
use xvs_control::api::server::{self, Listeners};
use xvs_control::api::service::{ControlPlane, NoDataplane};
use xvs_control::command::{FdbAdd, FdbFilter};
use xvs_control::metrics::Metrics;

const NO_BODY: Option<&()> = None;
const TOKEN: &str = "test-token-0123456789abcdef";

/// A control thread and its API, stopped on drop.
struct Switch {
    socket: PathBuf,
    metrics: Option<std::net::SocketAddr>,
    tcp: Option<std::net::SocketAddr>,
    stop: Arc<AtomicBool>,
    control: Option<JoinHandle<()>>,
}

impl Switch {
    fn start(name: &str, with_metrics: bool) -> Switch {
        let socket = std::env::temp_dir().join(format!("xvs-api-{name}-{}.sock", std::process::id()));
        let config = xvs_config::Config::embedded_default();
        let listeners = Listeners {
            socket: socket.clone(),
            metrics: with_metrics.then(|| "127.0.0.1:0".parse().unwrap()),
            tcp: Some(("127.0.0.1:0".parse().unwrap(), TOKEN.to_string())),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let api = server::start(&listeners, stop.clone()).expect("start the API");
        let (metrics, tcp) = (api.metrics, api.tcp);
        let stopping = stop.clone();
        let control = std::thread::spawn(move || {
            let plan = Arc::new(ForwardingPlan::compile(&config.spec).unwrap());
            let writer = FdbWriter::new(&config.spec.fdb, &plan);
            let mut control = ControlPlane::new(
                Arc::new(ArcSwap::new(plan)),
                writer,
                vec![Arc::new(LearnQueue::new(64))],
                vec![Arc::new(WorkerCounters::default())],
                Box::new(NoDataplane),
                &config,
                Box::new(|| Nanos::from_secs(100)),
            );
            let exporter = Metrics::new(std::time::SystemTime::now());
            while !stopping.load(Ordering::Relaxed) {
                control.housekeeping();
                if api.answer(&mut control, &exporter) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let _ = api.thread.join();
        });
        Switch { socket, metrics, tcp, stop, control: Some(control) }
    }

    /// One raw HTTP/1.1 exchange, for what the CLI never sends.
    fn raw(&self, request: &str) -> (u16, Value) {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.control.take() {
            let _ = c.join();
        }
    }
}

fn request(method: &str, target: &str, body: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: xvs\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn typed_commands_over_the_socket_and_errors_that_name_the_field() {
    let sw = Switch::start("typed", false);
    let mode = std::fs::metadata(&sw.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the control socket is its owner's only");

    let add = FdbAdd { bridge: None, vlan: 10, mac: "02:00:00:00:00:09".into(), port: "h2".into() };
    let v = call(&sw.socket, Method::POST, "/v1/fdb", Some(&add)).unwrap();
    assert_eq!(v["added"], json!({"domain": "br0/10", "mac": "02:00:00:00:00:09", "port": "h2"}));
    let f = FdbFilter { vlan: Some(10), ..FdbFilter::default() };
    let v = call(&sw.socket, Method::GET, &with_query("/v1/fdb", &f).unwrap(), NO_BODY).unwrap();
    assert_eq!((v["count"].as_u64(), v["entries"][0]["type"].as_str()), (Some(1), Some("static")), "{v}");
    let e = call(&sw.socket, Method::GET, "/v1/fdb?port=h9", NO_BODY).unwrap_err();
    assert_eq!(e, r#"port: no port named "h9""#);
    assert_eq!(call(&sw.socket, Method::GET, "/v1/health", NO_BODY).unwrap()["status"], "ok");
    assert_eq!(call(&sw.socket, Method::GET, "/v1/version", NO_BODY).unwrap()["version"], env!("CARGO_PKG_VERSION"));

    // What the CLI never sends: each is refused with a JSON error (422 for
    // well-formed JSON of the wrong shape, as axum answers).
    let cases = [
        (request("GET", "/v1/fdb?prot=h1", ""), 400, "prot"),
        (request("GET", "/v1/fdb?vlan=ten", ""), 400, "vlan"),
        (
            request("POST", "/v1/fdb", r#"{"vlan": 10, "mac": "02:00:00:00:00:01", "port": "h1", "prio": 1}"#),
            422,
            "prio",
        ),
        (request("POST", "/v1/fdb", r#"{"mac": "02:00:00:00:00:01", "port": "h1"}"#), 422, "vlan"),
        (request("POST", "/v1/fdb", "{not json"), 400, "JSON"),
        (request("POST", "/v1/fdb/flush", r#"{"vlam": 10}"#), 400, "vlam"),
        (request("DELETE", "/v1/fdb?vlan=10", ""), 400, "mac"),
        (request("PUT", "/v1/fdb", ""), 405, "PUT"),
        (request("GET", "/v2/nothing", ""), 404, "/v2/nothing"),
    ];
    for (req, status, names) in cases {
        let (got, body) = sw.raw(&req);
        let msg = body["error"].as_str().unwrap_or_default();
        assert_eq!(got, status, "{req}\n-> {body}");
        assert!(msg.contains(names), "{req}\n-> {msg:?} does not name {names:?}");
    }
    // A body past the limit is refused before it is read whole.
    let big = format!(r#"{{"vlan": 10, "mac": "{}", "port": "h1"}}"#, "0".repeat(100 << 10));
    assert_eq!(sw.raw(&request("POST", "/v1/fdb", &big)).0, 413);
    // The flush body may be left out.
    assert_eq!(sw.raw(&request("POST", "/v1/fdb/flush", "")).1["flushed"], 0);
}

/// A client that sends half a request and waits holds its own connection,
/// not the API: others are answered meanwhile, many at once.
#[test]
fn a_stalled_client_does_not_hold_up_the_others() {
    let sw = Switch::start("stall", false);
    let mut stalled = UnixStream::connect(&sw.socket).unwrap();
    stalled.write_all(b"POST /v1/fdb HTTP/1.1\r\nHost: xvs\r\nContent-Length: 100\r\n\r\n{\"vlan\"").unwrap();
    let t0 = Instant::now();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let socket = sw.socket.clone();
            std::thread::spawn(move || {
                call(&socket, Method::GET, "/v1/stats", NO_BODY).map(|v| v["uptime_secs"].clone())
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), Ok(json!(100)));
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "16 clients took {:?} behind a stalled one", t0.elapsed());
    drop(stalled);
}

#[test]
fn metrics_are_served_in_the_exposition_format_from_zero() {
    let sw = Switch::start("metrics", true);
    let addr = sw.metrics.expect("metrics listener");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("content-type: text/plain; version=0.0.4"), "{out}");
    let want = [
        "# TYPE xvs_pipeline_drops_total counter",
        "xvs_pipeline_drops_total{worker=\"0\",reason=\"truncated\"} 0",
        "xvs_pipeline_packets_total{worker=\"0\"} 0",
        "# HELP xvs_pipeline_packets_total Frames received into the pipeline.",
        "xvs_port_receive_packets_total{port=\"h1\"} 0",
        "xvs_fdb_entries{bridge=\"br0\",type=\"static\"} 0",
        "xvs_fdb_moves_total{result=\"dampened\"} 0",
        "xvs_vni_packets_total{vni=\"100\",vtep=\"vtep0\",direction=\"tx\"} 0",
        "xvs_build_info{version=",
        "xvs_start_time_seconds ",
    ];
    for w in want {
        assert!(out.contains(w), "missing {w:?} in\n{out}");
    }
    // A static entry shows in the next scrape.
    let add = FdbAdd { bridge: None, vlan: 10, mac: "02:00:00:00:00:09".into(), port: "h2".into() };
    call(&sw.socket, Method::POST, "/v1/fdb", Some(&add)).unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("xvs_fdb_entries{bridge=\"br0\",type=\"static\"} 1"), "{out}");
    // The metrics listener serves nothing else.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /v1/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
}

/// The TCP API answers only callers with the token.
#[test]
fn the_tcp_api_wants_the_bearer_token() {
    let sw = Switch::start("tcp", false);
    let addr = sw.tcp.expect("TCP API");
    let get = |auth: Option<&str>| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        write!(s, "GET /v1/health HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    for auth in [None, Some("Bearer wrong"), Some("Basic dGVzdA=="), Some(&format!("Bearer {TOKEN}x")[..])] {
        let out = get(auth);
        assert!(out.starts_with("HTTP/1.1 401"), "{auth:?}: {out}");
        assert!(out.to_ascii_lowercase().contains("www-authenticate: bearer"), "{out}");
        assert!(out.contains("needs Authorization: Bearer"), "{out}");
    }
    let out = get(Some(&format!("Bearer {TOKEN}")));
    assert!(out.starts_with("HTTP/1.1 200") && out.contains("\"ok\""), "{out}");
}
