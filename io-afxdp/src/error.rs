//! Errors of the AF_XDP backend: one variant per failure site, each naming
//! the interface/queue it concerns and wrapping the OS error.

use std::io;

/// Everything that can go wrong while opening, running or tearing down AF_XDP
/// ports and XDP helpers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An interface named in the configuration does not exist.
    #[error("interface {name:?} does not exist")]
    NoSuchInterface {
        /// The missing interface.
        name: String,
    },
    /// An interface name that the kernel could never accept.
    #[error("invalid interface name {name:?} (must be 1..=15 bytes without NUL or '/')")]
    BadInterfaceName {
        /// The offending name.
        name: String,
    },
    /// The configuration is inconsistent.
    #[error("invalid AF_XDP configuration: {0}")]
    Config(String),
    /// The UMEM could not be created.
    #[error("creating a UMEM of {frames} frames (hugepages: {hugepages})")]
    Umem {
        /// Frames requested.
        frames: u32,
        /// Whether huge pages were requested.
        hugepages: bool,
        /// xsk-rs's error (its source is the OS error).
        #[source]
        source: xsk_rs::umem::UmemCreateError,
    },
    /// An AF_XDP socket could not be created or bound.
    #[error("binding an AF_XDP socket to {iface} queue {queue} ({what})")]
    Socket {
        /// Interface.
        iface: String,
        /// Queue id.
        queue: u32,
        /// What was being attempted (mode, retry).
        what: String,
        /// The OS error, when xsk-rs reported one.
        #[source]
        source: Option<io::Error>,
    },
    /// The socket was bound but its rings could not be set up.
    #[error("setting up the rings of {iface} queue {queue}")]
    Rings {
        /// Interface.
        iface: String,
        /// Queue id.
        queue: u32,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Querying, attaching or detaching an XDP program failed.
    #[error("{what} XDP program on {iface}")]
    Xdp {
        /// "attaching", "detaching" or "querying".
        what: &'static str,
        /// Interface.
        iface: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Loading a BPF program failed.
    #[error("loading the {name} BPF program")]
    BpfLoad {
        /// Program name.
        name: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading ethtool statistics failed.
    #[error("reading ethtool statistics of {iface}")]
    Ethtool {
        /// Interface.
        iface: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A worker thread could not be started or pinned.
    #[error("starting worker {name}")]
    Worker {
        /// Thread name.
        name: String,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The OS error number behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Socket { source: Some(e), .. } => e.raw_os_error(),
            Error::Rings { source, .. }
            | Error::Xdp { source, .. }
            | Error::BpfLoad { source, .. }
            | Error::Ethtool { source, .. }
            | Error::Worker { source, .. } => source.raw_os_error(),
            Error::Umem { source, .. } => std::error::Error::source(source)
                .and_then(|s| s.downcast_ref::<io::Error>())
                .and_then(|e| e.raw_os_error()),
            _ => None,
        }
    }
}
