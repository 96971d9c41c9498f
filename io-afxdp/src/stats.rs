//! Per-worker counters.
//!
//! # Thread-safety
//!
//! Every counter has exactly one writer, the worker thread that owns the
//! queue, which bumps it with a relaxed load + store (no read-modify-write
//! bus lock) once per burst. Any other thread may read them at any time with
//! a relaxed load; a reader may see a burst's packets before its bytes, which
//! is fine for monitoring. Each block is cache-line aligned so two workers'
//! counters never share a line.

use std::sync::atomic::{AtomicU64, Ordering};

use switch_core::types::PortId;

use crate::xdp::XdpAttachMode;

/// A single-writer monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        if n != 0 {
            self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    /// Overwrites the value (for mirrors of kernel counters).
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How an AF_XDP socket ended up bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindMode {
    /// Zero-copy: the NIC DMAs straight into the UMEM.
    ZeroCopy,
    /// Copy mode: the kernel copies between skbs/xdp buffers and the UMEM
    /// (the only mode veth offers).
    Copy,
}

impl BindMode {
    /// Short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            BindMode::ZeroCopy => "zerocopy",
            BindMode::Copy => "copy",
        }
    }
}

/// Identity and counters of one (interface, queue) socket.
#[derive(Debug)]
#[repr(align(64))]
pub struct QueueStats {
    /// Switch port the queue belongs to.
    pub port: PortId,
    /// Interface name.
    pub iface: String,
    /// Queue id.
    pub queue: u32,
    /// Bind mode obtained.
    pub bind_mode: BindMode,
    /// XDP hook the redirect program is attached at.
    pub xdp_mode: Option<XdpAttachMode>,
    /// UMEM the socket uses (0 = the shared one).
    pub umem: usize,
    /// Frames received.
    pub rx_packets: Counter,
    /// Bytes received (Ethernet header included, FCS excluded).
    pub rx_bytes: Counter,
    /// Frames placed on the TX ring.
    pub tx_packets: Counter,
    /// Bytes placed on the TX ring.
    pub tx_bytes: Counter,
    /// Frames dropped because the TX ring was full (drop-and-count, never
    /// stall).
    pub tx_ring_full: Counter,
    /// Fill-ring top-ups that found the fill ring completely drained, or
    /// that needed frames while the free-chunk stack was empty. Either means
    /// the kernel may have dropped received frames for lack of buffers.
    pub fill_ring_empty: Counter,
    /// `sendto` kicks issued.
    pub tx_kicks: Counter,
    /// Kicks that reported the device busy (EBUSY/ENOBUFS/ENETDOWN) or
    /// failed; transmission resumes next loop.
    pub tx_kick_busy: Counter,
    /// Kernel `XDP_STATISTICS`: received frames dropped for other reasons.
    pub kernel_rx_dropped: Counter,
    /// Kernel: received frames dropped because the RX ring was full.
    pub kernel_rx_ring_full: Counter,
    /// Kernel: times the fill ring was empty when a frame arrived.
    pub kernel_rx_fill_ring_empty: Counter,
    /// Kernel: invalid TX descriptors rejected.
    pub kernel_tx_invalid_descs: Counter,
}

impl QueueStats {
    pub(crate) fn new(
        port: PortId,
        iface: &str,
        queue: u32,
        bind_mode: BindMode,
        xdp_mode: Option<XdpAttachMode>,
        umem: usize,
    ) -> Self {
        QueueStats {
            port,
            iface: iface.to_string(),
            queue,
            bind_mode,
            xdp_mode,
            umem,
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            tx_ring_full: Counter::default(),
            fill_ring_empty: Counter::default(),
            tx_kicks: Counter::default(),
            tx_kick_busy: Counter::default(),
            kernel_rx_dropped: Counter::default(),
            kernel_rx_ring_full: Counter::default(),
            kernel_rx_fill_ring_empty: Counter::default(),
            kernel_tx_invalid_descs: Counter::default(),
        }
    }

    /// A plain copy of the counters.
    pub fn snapshot(&self) -> QueueSnapshot {
        QueueSnapshot {
            port: self.port,
            iface: self.iface.clone(),
            queue: self.queue,
            bind_mode: self.bind_mode,
            xdp_mode: self.xdp_mode,
            rx_packets: self.rx_packets.get(),
            rx_bytes: self.rx_bytes.get(),
            tx_packets: self.tx_packets.get(),
            tx_bytes: self.tx_bytes.get(),
            tx_ring_full: self.tx_ring_full.get(),
            fill_ring_empty: self.fill_ring_empty.get(),
            tx_kicks: self.tx_kicks.get(),
            tx_kick_busy: self.tx_kick_busy.get(),
            kernel_rx_dropped: self.kernel_rx_dropped.get(),
            kernel_rx_ring_full: self.kernel_rx_ring_full.get(),
            kernel_rx_fill_ring_empty: self.kernel_rx_fill_ring_empty.get(),
            kernel_tx_invalid_descs: self.kernel_tx_invalid_descs.get(),
        }
    }
}

/// A point-in-time copy of one queue's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // same fields as QueueStats
pub struct QueueSnapshot {
    pub port: PortId,
    pub iface: String,
    pub queue: u32,
    pub bind_mode: BindMode,
    pub xdp_mode: Option<XdpAttachMode>,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_ring_full: u64,
    pub fill_ring_empty: u64,
    pub tx_kicks: u64,
    pub tx_kick_busy: u64,
    pub kernel_rx_dropped: u64,
    pub kernel_rx_ring_full: u64,
    pub kernel_rx_fill_ring_empty: u64,
    pub kernel_tx_invalid_descs: u64,
}

/// Counters of one worker: its queues plus worker-wide events.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerStats {
    /// Worker number.
    pub worker: usize,
    /// One block per owned (interface, queue), in poll order.
    pub queues: Vec<QueueStats>,
    /// Frames copied from one UMEM to another because the output port's
    /// socket uses a different UMEM than the buffer.
    pub umem_copies: Counter,
    /// Frames sent to a port this worker has no TX queue on (dropped).
    pub tx_no_queue: Counter,
    /// Frames whose `head`/`len` fell outside their chunk (dropped).
    pub tx_bad_frame: Counter,
    /// `send`/`release` of a buffer the pipeline did not hold (ignored, so a
    /// double free cannot corrupt the rings).
    pub bad_buf: Counter,
    /// UMEM copies that found no free chunk in the target UMEM (dropped).
    pub copy_alloc_fail: Counter,
    /// Poll-loop iterations.
    pub loops: Counter,
    /// Iterations that received nothing.
    pub idle_loops: Counter,
}

impl WorkerStats {
    pub(crate) fn new(worker: usize, queues: Vec<QueueStats>) -> Self {
        WorkerStats {
            worker,
            queues,
            umem_copies: Counter::default(),
            tx_no_queue: Counter::default(),
            tx_bad_frame: Counter::default(),
            bad_buf: Counter::default(),
            copy_alloc_fail: Counter::default(),
            loops: Counter::default(),
            idle_loops: Counter::default(),
        }
    }

    /// Sum of the queues' counters for `port` on this worker.
    pub fn port_totals(&self, port: PortId) -> PortTotals {
        let mut t = PortTotals::default();
        for q in self.queues.iter().filter(|q| q.port == port) {
            t.rx_packets += q.rx_packets.get();
            t.rx_bytes += q.rx_bytes.get();
            t.tx_packets += q.tx_packets.get();
            t.tx_bytes += q.tx_bytes.get();
            t.tx_ring_full += q.tx_ring_full.get();
        }
        t
    }
}

/// Per-port sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortTotals {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Frames dropped on a full TX ring.
    pub tx_ring_full: u64,
}

impl std::ops::AddAssign for PortTotals {
    fn add_assign(&mut self, o: PortTotals) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.tx_ring_full += o.tx_ring_full;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counters_are_readable_from_another_thread() {
        let s = Arc::new(WorkerStats::new(0, vec![QueueStats::new(PortId(1), "x", 0, BindMode::Copy, None, 0)]));
        let w = Arc::clone(&s);
        std::thread::spawn(move || {
            for _ in 0..1000 {
                w.queues[0].rx_packets.add(2);
                w.queues[0].rx_bytes.add(128);
            }
        })
        .join()
        .unwrap();
        assert_eq!(s.queues[0].rx_packets.get(), 2000);
        assert_eq!(s.port_totals(PortId(1)).rx_bytes, 128_000);
        assert_eq!(s.port_totals(PortId(0)), PortTotals::default());
        assert!(std::mem::align_of::<QueueStats>() >= 64);
    }
}
