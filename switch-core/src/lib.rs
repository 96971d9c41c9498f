//! # switch-core: the I/O-free dataplane of xvs
//!
//! Everything that decides what happens to a frame lives here, and nothing here
//! touches a socket, a file or the clock. The caller passes frames in (through
//! the [`port`] traits) and passes time in (as [`types::Nanos`]), so every
//! forwarding decision can be unit-tested, replayed from pcap and benchmarked
//! in memory.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! port rx ─▶ wire (parse) ─▶ bridge (classify: port+VLAN ─▶ bridge domain)
//!        ─▶ fdb (learn src / look up dst) ─▶ pipeline (forward | flood) ─▶ port tx
//! ```
//!
//! * [`wire`]: zero-copy typed views over header bytes (smoltcp style).
//! * [`bridge`]: the compiled forwarding plan: ports, VLAN modes, bridge domains.
//! * [`fdb`]: the MAC table: a lock-free shared table with a single writer, and a
//!   per-worker learn cache in front of it.
//! * [`pipeline`]: the batch stages, drop reasons and per-worker counters.
//! * [`port`]: the traits a port backend implements, and an in-memory backend.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bridge;
pub mod fdb;
pub mod flow;
pub mod overlay;
pub mod pipeline;
pub mod port;
pub mod sim;
pub mod types;
pub mod wire;

pub use types::{BdId, MacAddr, Nanos, PortId, VlanId};
