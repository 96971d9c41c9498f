//! # io-afxdp: the AF_XDP backend of xvs
//!
//! This crate moves frames between network interfaces and the I/O-free
//! `switch-core` pipeline. It is the only crate in xvs allowed `unsafe`;
//! every unsafe block carries a `// SAFETY:` comment.
//!
//! * [`portset`]: a [`PortSet`] opens one AF_XDP socket per (interface,
//!   queue), all over one shared UMEM (xsk-rs 0.11), and splits them into
//!   per-worker [`WorkerIo`]s that implement `switch_core::port::FramePool`
//!   and `PortTx`.
//! * [`worker`]: pinned poll-mode worker threads ([`spawn_worker`]).
//! * [`umem`]: the chunk layout (4096-byte chunks, packet at offset 512, so
//!   512 bytes of headroom) and how a `BufId` names a chunk.
//! * [`xdp`]: query/attach/detach XDP programs, and the `XDP_DROP` sink.
//! * [`iface`]: interface validation and `ethtool -S` counters.
//! * [`gen`]: the UDP traffic generator behind the `xvs-gen` binary.
//! * [`stats`]: per-worker single-writer counters.
//!
//! ## What the kernel gives us on veth (kernel 6.18)
//!
//! Zero-copy bind fails (EOPNOTSUPP), so sockets run in copy mode; the XDP
//! redirect program runs in native mode; need_wakeup works, and in copy mode
//! every `sendto` transmits at most 32 frames. See `docs/afxdp.md`.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod gen;
pub mod iface;
pub mod portset;
mod socket;
pub mod stats;
mod txring;
pub mod umem;
pub mod worker;
pub mod xdp;

pub use config::{PortSetConfig, PortSpec, UmemSharing, ZeroCopy};
pub use error::Error;
pub use iface::{ethtool_stat, ethtool_stats, ifindex, validate_interfaces};
pub use portset::{PortSet, QueueInfo, WorkerIo};
pub use stats::{BindMode, PortTotals, QueueSnapshot, QueueStats, WorkerStats};
pub use umem::HugePages;
pub use worker::{
    monotonic_now, pin_current_off, run_worker, spawn_worker, stop_on_signals, IdleBackoff, PollConfig, Processor,
    WorkerConfig, WorkerHandle,
};
pub use xdp::{
    load_xdp_drop, xdp_attach, xdp_detach, xdp_detach_all, xdp_drops, xdp_query, XdpAttachMode, XdpDropSink, XdpMode,
    XdpState,
};
