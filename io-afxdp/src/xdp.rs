//! XDP program plumbing: query, attach and detach programs on an interface,
//! and the two-instruction `XDP_DROP` program benchmarks use as a counting
//! sink.
//!
//! Attach/detach/query go through libbpf (`bpf_xdp_attach`,
//! `bpf_xdp_detach`, `bpf_xdp_query`, linked in by `libxdp-sys`, which xsk-rs
//! already builds), which speaks rtnetlink `IFLA_XDP` for us. The drop program
//! is loaded with libbpf's thin `bpf_prog_load` wrapper around `BPF_PROG_LOAD`.
//! Netlink attachments are used rather than BPF links on purpose: they
//! survive the loading process, so `xvs-sink attach` can exit and the
//! benchmark can read counters afterwards (and `xvs-sink detach` or
//! `ip link set DEV xdp off` removes them).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::Error;
use crate::iface::{ethtool_stats, ifindex};

const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1 << 0;
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const XDP_FLAGS_HW_MODE: u32 = 1 << 3;

/// Which XDP hook to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum XdpMode {
    /// Native (driver) mode, falling back to generic (skb) mode when the
    /// native attach fails (no driver support, or an MTU native XDP cannot
    /// take). Sockets ask for each mode explicitly; `flags()` of `Auto` is 0,
    /// the kernel's own choice, which is what the drop sink uses.
    #[default]
    Auto,
    /// Native/driver mode (`XDP_FLAGS_DRV_MODE`). veth supports it.
    Native,
    /// Generic mode (`XDP_FLAGS_SKB_MODE`): works everywhere, slowest.
    Skb,
}

impl XdpMode {
    /// The `XDP_FLAGS_*` mode bits.
    pub fn flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Native => XDP_FLAGS_DRV_MODE,
            XdpMode::Skb => XDP_FLAGS_SKB_MODE,
        }
    }
}

impl std::str::FromStr for XdpMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(XdpMode::Auto),
            "native" | "drv" | "driver" => Ok(XdpMode::Native),
            "skb" | "generic" => Ok(XdpMode::Skb),
            _ => Err(format!("unknown XDP mode {s:?} (expected auto, native or skb)")),
        }
    }
}

/// The hook a program is actually attached at, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XdpAttachMode {
    /// Driver (native) hook.
    Native,
    /// Generic (skb) hook.
    Skb,
    /// Offloaded to the NIC.
    Hw,
    /// Programs on more than one hook.
    Multi,
}

impl XdpAttachMode {
    /// Short lowercase name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            XdpAttachMode::Native => "native",
            XdpAttachMode::Skb => "skb",
            XdpAttachMode::Hw => "hw",
            XdpAttachMode::Multi => "multi",
        }
    }
}

/// What is attached to an interface's XDP hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct XdpState {
    /// The attach mode, or `None` when no program is attached.
    pub mode: Option<XdpAttachMode>,
    /// Program id on the driver hook (0 = none).
    pub drv_prog_id: u32,
    /// Program id on the generic hook (0 = none).
    pub skb_prog_id: u32,
    /// Program id offloaded to hardware (0 = none).
    pub hw_prog_id: u32,
}

impl XdpState {
    /// True when any program is attached.
    pub fn is_attached(&self) -> bool {
        self.mode.is_some()
    }

    /// Ids of every attached program.
    pub fn prog_ids(&self) -> impl Iterator<Item = u32> {
        [self.drv_prog_id, self.skb_prog_id, self.hw_prog_id].into_iter().filter(|&id| id != 0)
    }
}

fn libbpf_err(rc: i32) -> io::Error {
    // libbpf 1.x returns -errno.
    io::Error::from_raw_os_error(if rc < 0 { -rc } else { libc::EINVAL })
}

/// Reads the XDP attachment state of `ifindex`.
pub fn xdp_query(ifindex: u32) -> io::Result<XdpState> {
    // SAFETY: all-zero is valid for this plain C options struct.
    let mut opts: libxdp_sys::bpf_xdp_query_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libxdp_sys::bpf_xdp_query_opts>();
    // SAFETY: `opts` is a properly sized, writable options struct that
    // outlives the call.
    let rc = unsafe { libxdp_sys::bpf_xdp_query(ifindex as i32, 0, &mut opts) };
    if rc < 0 {
        return Err(libbpf_err(rc));
    }
    let mode = match opts.attach_mode {
        1 => Some(XdpAttachMode::Native),
        2 => Some(XdpAttachMode::Skb),
        3 => Some(XdpAttachMode::Hw),
        4 => Some(XdpAttachMode::Multi),
        _ => None,
    };
    Ok(XdpState { mode, drv_prog_id: opts.drv_prog_id, skb_prog_id: opts.skb_prog_id, hw_prog_id: opts.hw_prog_id })
}

/// Attaches `prog` to `ifindex` in `mode` via netlink. Unless `replace`, the
/// call fails with EBUSY when a program is already attached in that mode.
pub fn xdp_attach(ifindex: u32, prog: BorrowedFd<'_>, mode: XdpMode, replace: bool) -> io::Result<()> {
    let flags = mode.flags() | if replace { 0 } else { XDP_FLAGS_UPDATE_IF_NOEXIST };
    // SAFETY: plain FFI call with a valid program fd; null options are
    // allowed by libbpf.
    let rc = unsafe { libxdp_sys::bpf_xdp_attach(ifindex as i32, prog.as_raw_fd(), flags, std::ptr::null()) };
    if rc < 0 {
        return Err(libbpf_err(rc));
    }
    Ok(())
}

/// Detaches the program attached to `ifindex` in `mode`. `Auto` means the
/// driver hook when the driver has one, as in the kernel.
pub fn xdp_detach(ifindex: u32, mode: XdpMode) -> io::Result<()> {
    // SAFETY: plain FFI call; null options are allowed by libbpf.
    let rc = unsafe { libxdp_sys::bpf_xdp_detach(ifindex as i32, mode.flags(), std::ptr::null()) };
    if rc < 0 {
        return Err(libbpf_err(rc));
    }
    Ok(())
}

/// Detaches whatever is attached to `ifindex` on the driver and generic hooks
/// (the equivalent of `ip link set DEV xdp off`, for both modes). Returns the
/// state found before detaching.
pub fn xdp_detach_all(ifindex: u32) -> io::Result<XdpState> {
    let st = xdp_query(ifindex)?;
    if st.drv_prog_id != 0 {
        xdp_detach(ifindex, XdpMode::Native)?;
    }
    if st.skb_prog_id != 0 {
        xdp_detach(ifindex, XdpMode::Skb)?;
    }
    if st.hw_prog_id != 0 {
        // SAFETY: plain FFI call; null options are allowed by libbpf.
        let rc = unsafe { libxdp_sys::bpf_xdp_detach(ifindex as i32, XDP_FLAGS_HW_MODE, std::ptr::null()) };
        if rc < 0 {
            return Err(libbpf_err(rc));
        }
    }
    Ok(st)
}

/// The name the kernel knows BPF program `id` by (up to 15 bytes).
pub fn prog_name(id: u32) -> io::Result<String> {
    // SAFETY: plain FFI call; the returned fd is checked below.
    let fd = unsafe { libxdp_sys::bpf_prog_get_fd_by_id(id) };
    if fd < 0 {
        return Err(libbpf_err(fd));
    }
    // SAFETY: `fd` is a fresh descriptor we own; OwnedFd closes it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is valid for this plain C struct.
    let mut info: libxdp_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libxdp_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a writable buffer of `len` bytes for the call.
    let rc = unsafe { libxdp_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
    if rc < 0 {
        return Err(libbpf_err(rc));
    }
    // SAFETY: the kernel NUL-terminates the 16-byte name (it is zeroed
    // beforehand, and names are at most 15 bytes).
    let name = unsafe { CStr::from_ptr(info.name.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// Loads `r0 = XDP_DROP; exit`: the smallest possible XDP program.
pub fn load_xdp_drop() -> Result<OwnedFd, Error> {
    const XDP_DROP: i32 = 1;
    load_xdp_return(XDP_DROP, c"xvs_xdp_drop")
}

/// Loads `r0 = XDP_PASS; exit`: a program that changes nothing, for probing
/// whether a hook accepts a program at all.
pub fn load_xdp_pass() -> Result<OwnedFd, Error> {
    const XDP_PASS: i32 = 2;
    load_xdp_return(XDP_PASS, c"xvs_xdp_pass")
}

/// Loads a two-instruction XDP program that returns `action`.
fn load_xdp_return(action: i32, name: &'static CStr) -> Result<OwnedFd, Error> {
    const BPF_ALU64_MOV_K: u8 = 0x07 | 0xb0; // BPF_ALU64 | BPF_MOV | BPF_K
    const BPF_JMP_EXIT: u8 = 0x05 | 0x90; // BPF_JMP | BPF_EXIT
    let insn = |code: u8, imm: i32| libxdp_sys::bpf_insn {
        code,
        _bitfield_align_1: [],
        _bitfield_1: libxdp_sys::bpf_insn::new_bitfield_1(0, 0),
        off: 0,
        imm,
    };
    let prog = [insn(BPF_ALU64_MOV_K, action), insn(BPF_JMP_EXIT, 0)];
    // SAFETY: the name and license are NUL-terminated, `prog` is a valid
    // two-instruction array that outlives the call, and null options are
    // allowed by libbpf.
    let fd = unsafe {
        libxdp_sys::bpf_prog_load(
            libxdp_sys::bpf_prog_type_BPF_PROG_TYPE_XDP,
            name.as_ptr(),
            c"GPL".as_ptr(),
            prog.as_ptr(),
            prog.len(),
            std::ptr::null_mut(),
        )
    };
    if fd < 0 {
        return Err(Error::BpfLoad { name: "xvs_xdp_return", source: libbpf_err(fd) });
    }
    // SAFETY: `fd` is a fresh program descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Checks that `ifindex` accepts a program on its native (driver) hook, by
/// attaching an `XDP_PASS` program there and detaching it again. On veth the
/// native attach fails (ERANGE) when the peer's MTU does not fit one page,
/// and on drivers without XDP support it fails with EOPNOTSUPP. The probe
/// runs before any AF_XDP socket is bound, because a socket whose program
/// attach fails leaves its UMEM's descriptor bound to the queue (EBUSY for
/// every retry).
pub fn probe_native_xdp(ifindex: u32) -> io::Result<()> {
    let prog = load_xdp_pass().map_err(|e| io::Error::other(e.to_string()))?;
    xdp_attach(ifindex, prog.as_fd(), XdpMode::Native, false)?;
    xdp_detach(ifindex, XdpMode::Native)
}

/// An `XDP_DROP` program attached to an interface: everything arriving there
/// is counted (by the driver's `xdp_drops` counters) and dropped.
#[derive(Debug)]
pub struct XdpDropSink {
    iface: String,
    ifindex: u32,
    mode: XdpMode,
    attached: bool,
    detach_on_drop: bool,
}

impl XdpDropSink {
    /// Loads the drop program and attaches it to `iface` (native mode is what
    /// makes veth count `rx_queue_N_xdp_drops`). With `replace`, an existing
    /// program in the same mode is replaced instead of failing with EBUSY.
    pub fn attach(iface: &str, mode: XdpMode, replace: bool) -> Result<XdpDropSink, Error> {
        let ifindex = ifindex(iface)?;
        let prog = load_xdp_drop()?;
        xdp_attach(ifindex, prog.as_fd(), mode, replace).map_err(|source| Error::Xdp {
            what: "attaching",
            iface: iface.to_string(),
            source,
        })?;
        // The netlink attachment holds its own reference; our fd can close.
        Ok(XdpDropSink { iface: iface.to_string(), ifindex, mode, attached: true, detach_on_drop: true })
    }

    /// Keeps the program attached after this value is dropped (for a
    /// command-line `attach` that exits).
    pub fn leak(mut self) {
        self.detach_on_drop = false;
    }

    /// Total `XDP_DROP`s counted by the driver on this interface.
    pub fn drops(&self) -> Result<u64, Error> {
        xdp_drops(&self.iface)
    }

    /// Detaches the program now.
    pub fn detach(mut self) -> Result<(), Error> {
        self.do_detach()
    }

    fn do_detach(&mut self) -> Result<(), Error> {
        if !self.attached {
            return Ok(());
        }
        self.attached = false;
        let mode = match (self.mode, xdp_query(self.ifindex)) {
            (XdpMode::Auto, Ok(XdpState { mode: Some(XdpAttachMode::Skb), .. })) => XdpMode::Skb,
            (m, _) => m,
        };
        xdp_detach(self.ifindex, mode).map_err(|source| Error::Xdp {
            what: "detaching",
            iface: self.iface.clone(),
            source,
        })
    }
}

impl Drop for XdpDropSink {
    fn drop(&mut self) {
        if self.detach_on_drop {
            if let Err(e) = self.do_detach() {
                log::warn!("{e}");
            }
        }
    }
}

/// Sum of the driver's per-queue `rx_queue_N_xdp_drops` counters (what
/// `ethtool -S DEV` shows; veth has them).
pub fn xdp_drops(iface: &str) -> Result<u64, Error> {
    let stats = ethtool_stats(iface)?;
    Ok(stats.iter().filter(|(k, _)| k.starts_with("rx_queue_") && k.ends_with("_xdp_drops")).map(|(_, v)| *v).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_map_to_flags() {
        assert_eq!("auto".parse::<XdpMode>().unwrap().flags(), 0);
        assert_eq!("native".parse::<XdpMode>().unwrap().flags(), XDP_FLAGS_DRV_MODE);
        assert_eq!("skb".parse::<XdpMode>().unwrap().flags(), XDP_FLAGS_SKB_MODE);
        assert!("fast".parse::<XdpMode>().is_err());
    }

    #[test]
    fn drop_program_loads_when_root() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping: loading BPF programs needs root");
            return;
        }
        let fd = load_xdp_drop().expect("BPF_PROG_LOAD of a 2-insn XDP program");
        assert!(fd.as_raw_fd() >= 0);
    }
}
