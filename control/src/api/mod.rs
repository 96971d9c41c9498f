//! The control API: HTTP/JSON on a Unix socket (mode 0600).
//!
//! * [`service::ControlPlane`] owns the FDB writer and answers requests; it
//!   runs on the control thread, so the FDB keeps exactly one writer.
//! * [`server`] accepts connections on its own thread and forwards each
//!   request to the control thread over a channel.
//! * [`client`] is what the `xvs fdb|port|stats` commands use.
//!
//! Routes (all JSON):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/fdb?bridge=&vlan=&port=` | FDB entries |
//! | POST | `/v1/fdb` `{bridge?, vlan, mac, port}` | add a static entry |
//! | DELETE | `/v1/fdb?bridge=&vlan=&mac=` | remove an entry |
//! | POST | `/v1/fdb/flush` `{bridge?, vlan?, port?}` | flush dynamic entries |
//! | GET | `/v1/fdb/moves` | recent MAC moves |
//! | GET | `/v1/ports` | ports, modes, counters |
//! | GET | `/v1/stats` | pipeline, drop, FDB and dataplane counters |

pub mod client;
pub mod http;
pub mod server;
pub mod service;
