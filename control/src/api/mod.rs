//! The control API: HTTP/JSON on a Unix socket (mode 0600), and Prometheus
//! `/metrics` on `metrics_listen`.
//!
//! * [`service::ControlPlane`] owns the FDB writer and executes typed
//!   [`Command`](crate::command::Command)s; it runs on the control thread,
//!   so the FDB keeps exactly one writer.
//! * [`server`] is axum on the API thread: it maps routes to commands and
//!   hands them to the control thread over a channel.
//! * [`client`] is what the `xvs fdb|port|tunnel|stats` commands use.
//!
//! Routes (JSON in and out; request types in [`crate::command`]):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/fdb?bridge=&vlan=&vni=&port=&mac=&type=` | FDB entries ([`FdbQuery`](crate::command::FdbQuery)) |
//! | POST | `/v1/fdb` `{bridge?, vlan, mac, port}` | add a static entry (201) |
//! | DELETE | `/v1/fdb?bridge=&vlan=&mac=` | remove an entry |
//! | POST | `/v1/fdb/flush` `{bridge?, vlan?, vni?, port?}` (body optional) | flush dynamic entries |
//! | GET | `/v1/fdb/moves` | recent MAC moves |
//! | POST | `/v1/trace` `{in_port, frame}` (hex) | one frame through the current tables, off the workers |
//! | GET | `/v1/ports` | ports, modes, counters |
//! | GET | `/v1/bridges` | bridges, their domains (VLAN, VNIs, members and their tagging, FDB entries) |
//! | GET | `/v1/tunnels` | VTEPs, next hops, tunnels, gateways, routes |
//! | GET | `/v1/stats` | pipeline, drop, FDB, overlay and dataplane counters |
//! | GET | `/v1/version` | version and uptime |
//! | GET | `/v1/config` | `{"toml": ...}`: the running config in canonical form |
//! | POST | `/v1/config/reload` | re-read the config file and apply it (409 when it needs a restart) |
//! | GET | `/v1/health` | `{"status": "ok"}` while the control thread answers |
//!
//! On `metrics_listen`: `GET /metrics` (see docs/metrics.md).

pub mod client;
pub mod server;
pub mod service;
