//! Our own mapping of an AF_XDP socket's TX ring.
//!
//! # Why not `xsk_rs::TxQueue::produce`
//!
//! xsk-rs 0.11 writes TX descriptors only from `FrameDesc`s, and a
//! `FrameDesc`'s address cannot be set from outside the crate: its fields are
//! `pub(crate)` and the only constructors are `Umem::new` (one descriptor per
//! chunk, at the fixed packet offset) and the RX/completion rings (whatever
//! address the kernel reports). That cannot express "the frame now starts 4
//! bytes earlier, in the headroom", which VLAN push and tunnel encap need.
//!
//! The kernel interface itself has no such limit: in an aligned UMEM a TX
//! descriptor may point anywhere in a chunk as long as `addr + len` stays
//! inside it. So we map the same TX ring a second time from the socket's fd
//! (`getsockopt(XDP_MMAP_OFFSETS)` + `mmap(XDP_PGOFF_TX_RING)`, the documented
//! kernel ABI) and produce descriptors ourselves. xsk-rs's `TxQueue` is kept
//! alive (it owns the socket) but never produces, so libxdp's cached producer
//! state for the ring is simply unused and there is exactly one producer.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

/// One mapped TX ring; single producer (this struct), single consumer (the
/// kernel).
pub(crate) struct TxRing {
    map: *mut libc::c_void,
    map_len: usize,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut libc::xdp_desc,
    size: u32,
    mask: u32,
    /// Next slot to write (ahead of the published producer until `submit`).
    prod: u32,
    /// Producer value last published to the kernel.
    published: u32,
    /// Consumer value last read from the kernel.
    cons: u32,
}

// SAFETY: the mapping is owned by this struct and only accessed through
// `&mut self` (or atomics for the shared indices), so moving it to the worker
// thread that uses it is fine.
unsafe impl Send for TxRing {}

impl TxRing {
    /// Maps the TX ring of the bound AF_XDP socket `fd`, which was created
    /// with `size` TX descriptors.
    pub(crate) fn map(fd: RawFd, size: u32) -> io::Result<TxRing> {
        if !size.is_power_of_two() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "TX ring size must be a power of two"));
        }
        // SAFETY: all-zero is a valid value for this plain C struct.
        let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let mut optlen = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: `off` is a writable buffer of `optlen` bytes that outlives
        // the call.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_XDP,
                libc::XDP_MMAP_OFFSETS,
                (&mut off as *mut libc::xdp_mmap_offsets).cast(),
                &mut optlen,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if optlen as usize != std::mem::size_of::<libc::xdp_mmap_offsets>() {
            // Kernels before 5.4 lack the flags field, and so need_wakeup.
            return Err(io::Error::new(io::ErrorKind::Unsupported, "kernel lacks XDP ring flags (need_wakeup)"));
        }
        let map_len = off.tx.desc as usize + size as usize * std::mem::size_of::<libc::xdp_desc>();
        // SAFETY: mapping a region of the socket at the kernel-defined TX ring
        // page offset; the kernel validates the length against the ring it
        // created. The result is checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                libc::XDP_PGOFF_TX_RING,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let at = |o: u64| (map as usize + o as usize) as *mut u8;
        let producer = at(off.tx.producer) as *const AtomicU32;
        let consumer = at(off.tx.consumer) as *const AtomicU32;
        let flags = at(off.tx.flags) as *const AtomicU32;
        let descs = at(off.tx.desc) as *mut libc::xdp_desc;
        // SAFETY: the offsets come from the kernel and lie inside the mapping;
        // the ring indices are naturally aligned u32s shared with the kernel,
        // which is exactly what AtomicU32 models.
        let (prod, cons) = unsafe { ((*producer).load(Ordering::Relaxed), (*consumer).load(Ordering::Acquire)) };
        Ok(TxRing { map, map_len, producer, consumer, flags, descs, size, mask: size - 1, prod, published: prod, cons })
    }

    /// Free slots, re-reading the kernel's consumer index only when the
    /// cached view says the ring is full (like libxdp's cached consumer).
    #[inline]
    pub(crate) fn free(&mut self) -> u32 {
        let free = self.size - self.prod.wrapping_sub(self.cons);
        if free > 0 {
            return free;
        }
        self.refresh();
        self.size - self.prod.wrapping_sub(self.cons)
    }

    #[inline]
    fn refresh(&mut self) {
        // SAFETY: `consumer` points into our live mapping (see `map`).
        // Acquire pairs with the kernel's release store, so the kernel has
        // finished reading the descriptors before we overwrite the slots.
        self.cons = unsafe { (*self.consumer).load(Ordering::Acquire) };
    }

    /// Writes one descriptor into the next slot. The caller checked `free()`.
    #[inline]
    pub(crate) fn push(&mut self, addr: u64, len: u32) {
        debug_assert!(self.prod.wrapping_sub(self.cons) < self.size);
        let slot = (self.prod & self.mask) as usize;
        // SAFETY: `slot < size`, so the descriptor lies inside the mapped
        // descriptor array, and the slot is ours: it is past the consumer and
        // not yet published.
        unsafe { self.descs.add(slot).write(libc::xdp_desc { addr, len, options: 0 }) };
        self.prod = self.prod.wrapping_add(1);
    }

    /// Publishes written descriptors to the kernel.
    #[inline]
    pub(crate) fn submit(&mut self) {
        if self.prod != self.published {
            // SAFETY: `producer` points into our live mapping. Release makes
            // the descriptor writes visible before the new index.
            unsafe { (*self.producer).store(self.prod, Ordering::Release) };
            self.published = self.prod;
        }
    }

    /// Published descriptors the kernel has not consumed yet (refreshes the
    /// consumer index).
    #[inline]
    pub(crate) fn outstanding(&mut self) -> u32 {
        self.refresh();
        self.published.wrapping_sub(self.cons)
    }

    /// The kernel's need_wakeup flag for this ring. Always set in copy mode,
    /// where every transmit happens inside `sendto`.
    #[inline]
    pub(crate) fn needs_wakeup(&self) -> bool {
        // SAFETY: `flags` points into our live mapping.
        unsafe { (*self.flags).load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0 }
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region `map` created; no pointer into
        // it survives this struct.
        unsafe { libc::munmap(self.map, self.map_len) };
    }
}

/// What a TX kick returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kick {
    /// The kernel processed its budget; more may be left (EAGAIN included:
    /// copy mode returns it after 32 frames when work remains).
    Progress,
    /// The device or socket is busy (EBUSY, ENOBUFS, ENETDOWN): try next loop.
    Busy,
    /// Any other error.
    Error(i32),
}

/// `sendto(fd, NULL, 0, MSG_DONTWAIT)`: asks the kernel to process the TX
/// ring. Never blocks.
#[inline]
pub(crate) fn kick(fd: RawFd) -> Kick {
    // SAFETY: a zero-length send with null buffers on a socket fd we own;
    // MSG_DONTWAIT keeps it from blocking.
    let rc = unsafe { libc::sendto(fd, std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
    if rc >= 0 {
        return Kick::Progress;
    }
    match io::Error::last_os_error().raw_os_error().unwrap_or(0) {
        libc::EAGAIN => Kick::Progress,
        libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN => Kick::Busy,
        e => Kick::Error(e),
    }
}

/// `recvfrom(fd, NULL, 0, MSG_DONTWAIT)`: wakes the kernel's RX/fill
/// processing when the fill ring asks for it. Never blocks.
#[inline]
pub(crate) fn kick_rx(fd: RawFd) {
    // SAFETY: a zero-length receive with null buffers on a socket fd we own;
    // MSG_DONTWAIT keeps it from blocking.
    unsafe {
        libc::recvfrom(fd, std::ptr::null_mut(), 0, libc::MSG_DONTWAIT, std::ptr::null_mut(), std::ptr::null_mut())
    };
}
