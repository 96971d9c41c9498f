//! One AF_XDP socket bound to an (interface, queue): creation with a
//! zero-copy → copy fallback, and the rings it owns. (EBUSY is retried one
//! level up, in `portset`, because a retry may need a fresh UMEM.)

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use switch_core::types::PortId;
use xsk_rs::config::{BindFlags, Interface, LibxdpFlags, QueueSize, SocketConfig, XdpFlags};
use xsk_rs::{CompQueue, FillQueue, RxQueue, Socket, TxQueue};

use crate::config::{PortSetConfig, ZeroCopy};
use crate::error::Error;
use crate::stats::BindMode;
use crate::txring::TxRing;
use crate::umem::UmemArea;
use crate::xdp::{probe_native_xdp, prog_name, xdp_detach_all, xdp_query, XdpAttachMode, XdpMode};

/// Everything needed to bind one socket.
pub(crate) struct BindRequest<'a> {
    pub iface: &'a str,
    pub ifindex: u32,
    pub queue: u32,
    pub rx_ring: u32,
    pub tx_ring: u32,
    pub xdp_mode: XdpMode,
    pub zero_copy: ZeroCopy,
    /// No XDP program: TX-only sockets (the generator) need none.
    pub inhibit_prog_load: bool,
    /// Whether this is the first socket on its UMEM. Only the first one's
    /// bind flags count: the kernel makes later sockets on a shared UMEM
    /// inherit its copy/zero-copy mode and need_wakeup setting.
    pub first_on_umem: bool,
}

impl<'a> BindRequest<'a> {
    /// A request with the port set's settings.
    pub(crate) fn from_config(iface: &'a str, ifindex: u32, queue: u32, cfg: &PortSetConfig) -> Self {
        BindRequest {
            iface,
            ifindex,
            queue,
            rx_ring: cfg.rx_ring,
            tx_ring: cfg.tx_ring,
            xdp_mode: cfg.xdp_mode,
            zero_copy: cfg.zero_copy,
            inhibit_prog_load: false,
            first_on_umem: true,
        }
    }
}

/// A bound socket with its four rings.
///
/// Field order is drop order: our TX ring mapping goes first, then xsk-rs's
/// handles; the last of those to drop deletes the socket (and, for the last
/// socket on the interface, libxdp detaches its XDP program).
pub(crate) struct XskQueue {
    pub tx: TxRing,
    pub rx: RxQueue,
    pub fill: FillQueue,
    pub comp: CompQueue,
    /// Never produces (see `txring`), but owns a handle on the socket.
    _txq: TxQueue,
    pub fd: RawFd,
    pub iface: String,
    pub ifindex: u32,
    pub queue: u32,
    pub port: PortId,
    pub umem: usize,
    pub bind_mode: BindMode,
    pub xdp_mode: Option<XdpAttachMode>,
}

fn errno_of(e: &xsk_rs::socket::SocketCreateError) -> Option<i32> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>()).and_then(|e| e.raw_os_error())
}

fn flags_name(f: BindFlags) -> &'static str {
    if f.contains(BindFlags::XDP_ZEROCOPY) {
        "zero-copy"
    } else if f.contains(BindFlags::XDP_COPY) {
        "copy"
    } else {
        "shared UMEM"
    }
}

/// Reads back whether the kernel bound `fd` in zero-copy mode.
pub(crate) fn bind_mode_of(fd: RawFd) -> io::Result<BindMode> {
    let mut opts = libc::xdp_options { flags: 0 };
    let mut len = std::mem::size_of::<libc::xdp_options>() as libc::socklen_t;
    // SAFETY: `opts` is a writable buffer of `len` bytes for the call.
    let rc = unsafe {
        libc::getsockopt(fd, libc::SOL_XDP, libc::XDP_OPTIONS, (&mut opts as *mut libc::xdp_options).cast(), &mut len)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if opts.flags & libc::XDP_OPTIONS_ZEROCOPY != 0 { BindMode::ZeroCopy } else { BindMode::Copy })
}

impl XskQueue {
    /// Creates and binds a socket on `area`'s UMEM.
    pub(crate) fn open(
        area: &UmemArea,
        umem_index: usize,
        port: PortId,
        req: &BindRequest<'_>,
    ) -> Result<XskQueue, Error> {
        let umem = area.xsk().ok_or_else(|| Error::Config("sockets need a kernel UMEM".into()))?;
        let wake = BindFlags::XDP_USE_NEED_WAKEUP;
        let attempts: Vec<BindFlags> = if !req.first_on_umem {
            // libxdp passes only XDP_SHARED_UMEM for these; the flags are
            // ignored but kept truthful.
            vec![wake]
        } else {
            match req.zero_copy {
                ZeroCopy::Try => vec![BindFlags::XDP_ZEROCOPY | wake, BindFlags::XDP_COPY | wake],
                ZeroCopy::Off => vec![BindFlags::XDP_COPY | wake],
                ZeroCopy::Require => vec![BindFlags::XDP_ZEROCOPY | wake],
            }
        };
        // `auto` asks for native mode explicitly when the interface takes a
        // native program and for generic mode otherwise: left to itself
        // (flags 0) the kernel picks native on veth and then refuses it
        // outright when, for example, the MTU does not fit a page. A later
        // queue of an interface whose program is already attached keeps that
        // program's mode.
        let xdp_mode = match req.xdp_mode {
            XdpMode::Auto if req.inhibit_prog_load => XdpMode::Auto,
            XdpMode::Auto => match xdp_query(req.ifindex).ok().and_then(|s| s.mode) {
                Some(XdpAttachMode::Skb) => XdpMode::Skb,
                Some(XdpAttachMode::Native) => XdpMode::Native,
                _ => match probe_native_xdp(req.ifindex) {
                    Ok(()) => XdpMode::Native,
                    Err(e) => {
                        log::warn!("{}: native XDP refused ({e}), falling back to generic (skb) mode", req.iface);
                        XdpMode::Skb
                    }
                },
            },
            mode => mode,
        };
        let ifname: Interface =
            req.iface.parse().map_err(|_| Error::BadInterfaceName { name: req.iface.to_string() })?;
        let libxdp_flags =
            if req.inhibit_prog_load { LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD } else { LibxdpFlags::empty() };
        let qs = |n: u32| QueueSize::new(n).map_err(|e| Error::Config(format!("ring size: {e}")));

        let mut last_err = None;
        for (i, &bind_flags) in attempts.iter().enumerate() {
            let config = SocketConfig::builder()
                .rx_queue_size(qs(req.rx_ring)?)
                .tx_queue_size(qs(req.tx_ring)?)
                .xdp_flags(XdpFlags::from_bits_truncate(xdp_mode.flags()))
                .libxdp_flags(libxdp_flags)
                .bind_flags(bind_flags)
                .build();
            // SAFETY: the port set never binds the same (interface, queue)
            // twice on one UMEM (checked before opening), which is the only
            // case where xsk-rs requires INHIBIT_PROG_LOAD.
            let created = unsafe { Socket::new(config, umem, &ifname, req.queue) };
            match created {
                Ok((txq, rx, Some((fill, comp)))) => {
                    let fd = txq.fd().as_raw_fd();
                    let tx = TxRing::map(fd, req.tx_ring).map_err(|source| Error::Rings {
                        iface: req.iface.to_string(),
                        queue: req.queue,
                        source,
                    })?;
                    let bind_mode = bind_mode_of(fd).map_err(|source| Error::Rings {
                        iface: req.iface.to_string(),
                        queue: req.queue,
                        source,
                    })?;
                    let xdp_mode =
                        if req.inhibit_prog_load { None } else { xdp_query(req.ifindex).ok().and_then(|s| s.mode) };
                    log::info!(
                        "{} queue {}: AF_XDP socket bound, {} mode, XDP {}, UMEM {}",
                        req.iface,
                        req.queue,
                        bind_mode.name(),
                        xdp_mode.map_or("none", |m| m.name()),
                        umem_index
                    );
                    return Ok(XskQueue {
                        tx,
                        rx,
                        fill,
                        comp,
                        _txq: txq,
                        fd,
                        iface: req.iface.to_string(),
                        ifindex: req.ifindex,
                        queue: req.queue,
                        port,
                        umem: umem_index,
                        bind_mode,
                        xdp_mode,
                    });
                }
                Ok((_, _, None)) => {
                    return Err(Error::Socket {
                        iface: req.iface.to_string(),
                        queue: req.queue,
                        what: "the queue is already bound on this UMEM".into(),
                        source: None,
                    })
                }
                Err(e) => {
                    let errno = errno_of(&e);
                    let source = errno.map(io::Error::from_raw_os_error);
                    let hint = if errno == Some(libc::EBUSY) {
                        "; another XDP program is attached (libxdp may blame the rlimit; it is not that) or the queue is in use; \
                         try `ip link set DEV xdp off`"
                    } else {
                        ""
                    };
                    let err = Error::Socket {
                        iface: req.iface.to_string(),
                        queue: req.queue,
                        what: format!("{} bind: {e}{hint}", flags_name(bind_flags)),
                        source,
                    };
                    let more = i + 1 < attempts.len();
                    if !(more && bind_flags.contains(BindFlags::XDP_ZEROCOPY)) {
                        return Err(err);
                    }
                    log::info!(
                        "{} queue {}: zero-copy refused ({}), falling back to copy mode",
                        req.iface,
                        req.queue,
                        errno.map(|n| io::Error::from_raw_os_error(n).to_string()).unwrap_or_else(|| e.to_string())
                    );
                    last_err = Some(err);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Config("no bind mode to try".into())))
    }
}

/// Detaches a leftover XDP program from an interface none of our sockets
/// uses yet, logging what it was.
pub(crate) fn detach_stale(iface: &str, ifindex: u32) {
    match xdp_query(ifindex) {
        Ok(st) if st.is_attached() => {
            let names: Vec<String> =
                st.prog_ids().map(|id| format!("{id} ({})", prog_name(id).unwrap_or_else(|_| "?".into()))).collect();
            log::warn!("{iface}: detaching stale XDP program(s) {}", names.join(", "));
            if let Err(e) = xdp_detach_all(ifindex) {
                log::warn!("{iface}: detaching stale XDP program failed: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => log::warn!("{iface}: querying XDP state failed: {e}"),
    }
}
