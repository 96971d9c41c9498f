//! Runtime settings that are not part of the forwarding spec: batch size,
//! AF_XDP dataplane knobs, per-port queues, and the control thread.
//!
//! Every struct's `Default` is the value used when the key is omitted from
//! `xvs.toml`; `docs/config.md` lists the same defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

/// `[switch]`: settings of the packet pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchSettings {
    /// Frames per receive burst, 1..=`switch_core::pipeline::MAX_BURST`
    /// (default 32, like OVS's `NETDEV_MAX_BURST`).
    pub batch_size: usize,
}

impl Default for SwitchSettings {
    fn default() -> Self {
        SwitchSettings { batch_size: 32 }
    }
}

/// How the XDP program is attached (`dataplane.xdp_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum XdpMode {
    /// Try native (driver) mode, fall back to generic (skb) mode.
    #[default]
    Auto,
    /// Native driver mode only; fail if the driver lacks XDP support.
    Native,
    /// Generic mode (`XDP_FLAGS_SKB_MODE`): works everywhere, slower.
    Skb,
}

impl XdpMode {
    /// The word used in `xvs.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            XdpMode::Auto => "auto",
            XdpMode::Native => "native",
            XdpMode::Skb => "skb",
        }
    }
}

/// A feature that can be forced on, forced off, or tried (`auto`):
/// `dataplane.zero_copy` and `dataplane.hugepages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Toggle {
    /// Try it, and fall back silently when unavailable.
    #[default]
    Auto,
    /// Require it; fail when unavailable.
    On,
    /// Never use it.
    Off,
}

impl Toggle {
    /// The word used in `xvs.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Toggle::Auto => "auto",
            Toggle::On => "on",
            Toggle::Off => "off",
        }
    }
}

/// `[dataplane]`: AF_XDP sockets, UMEM and poll-mode workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataplaneSettings {
    /// XDP attach mode (default auto).
    pub xdp_mode: XdpMode,
    /// Zero-copy AF_XDP (default auto: try zero-copy, fall back to copy).
    pub zero_copy: Toggle,
    /// Back the UMEM with huge pages (default auto).
    pub hugepages: Toggle,
    /// UMEM frames: a power of two in 1024..=1048576 (default 16384).
    pub frames: u32,
    /// RX ring entries: a power of two in 64..=16384 (default 2048).
    pub rx_ring: u32,
    /// TX ring entries: a power of two in 64..=16384 (default 2048).
    pub tx_ring: u32,
    /// Fill ring entries: a power of two in 64..=16384 (default 4096).
    pub fill_ring: u32,
    /// Completion ring entries: a power of two in 64..=16384 (default 4096).
    pub comp_ring: u32,
    /// One poll-mode worker per listed CPU, in order; never empty, no
    /// duplicates (default `[0]`).
    pub worker_cpus: Vec<usize>,
    /// Back off (sleep) when idle instead of busy polling (default false).
    pub idle_backoff: bool,
    /// Ask the kernel for socket busy polling, `SO_PREFER_BUSY_POLL`
    /// (default true).
    pub busy_poll: bool,
}

impl Default for DataplaneSettings {
    fn default() -> Self {
        DataplaneSettings {
            xdp_mode: XdpMode::Auto,
            zero_copy: Toggle::Auto,
            hugepages: Toggle::Auto,
            frames: 16384,
            rx_ring: 2048,
            tx_ring: 2048,
            fill_ring: 4096,
            comp_ring: 4096,
            worker_cpus: vec![0],
            idle_backoff: false,
            busy_poll: true,
        }
    }
}

/// `[control]`: the control thread's endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlSettings {
    /// Unix socket of the HTTP/JSON control API (default
    /// `/run/xvs/xvs.sock`).
    pub socket: PathBuf,
    /// Where to serve Prometheus `/metrics` over TCP (default: nowhere).
    pub metrics_listen: Option<SocketAddr>,
    /// A loopback TCP address that serves the control API too, to callers
    /// that present the bearer token (default: nowhere).
    pub api_listen: Option<SocketAddr>,
    /// The file holding that token; required with `api_listen`, read at
    /// start, and refused when others may read it.
    pub api_token_file: Option<PathBuf>,
}

impl Default for ControlSettings {
    fn default() -> Self {
        ControlSettings {
            socket: PathBuf::from("/run/xvs/xvs.sock"),
            metrics_listen: None,
            api_listen: None,
            api_token_file: None,
        }
    }
}

/// Per-port runtime settings; `Config::ports[i]` belongs to
/// `Config::spec.ports[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortRuntime {
    /// Network interface to open with AF_XDP (same as the spec's
    /// `PortSpec::interface`); `None` for ports without one.
    pub interface: Option<String>,
    /// RX queues of the interface to poll, 1..=64 (default 1): queues
    /// `0..queues`.
    pub queues: u16,
}
