//! An in-memory port backend: frames go in with [`MemIo::inject`] and come
//! out of [`MemIo::take_tx`]. Used by unit tests, `xvs replay`, `xvs trace`
//! and the benchmarks.
//!
//! Chunks live in one arena, like an AF_XDP UMEM, so the pipeline exercises
//! the same headroom arithmetic it does on real ports.

use std::collections::VecDeque;

use super::{BufId, FramePool, PortTx, TxFrame};
use crate::pipeline::Batch;
use crate::types::PortId;

/// Per-port packet and byte counts kept by [`MemIo`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
///
/// Packets and bytes of one direction are not neighbours on purpose: as
/// neighbours, the compiler turns `send`'s two adds into one vector add
/// that takes seven instructions instead of two. A cache line each, so
/// indexing is a shift.
#[repr(align(64))]
pub struct MemPortStats {
    /// Frames received (injected).
    pub rx_packets: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Frames injected but refused because no chunk was free.
    pub rx_no_buffer: u64,
}

/// The in-memory backend.
pub struct MemIo {
    arena: Vec<u8>,
    chunk_size: usize,
    headroom: u16,
    free: Vec<BufId>,
    chunks: usize,
    rx: VecDeque<(PortId, BufId, u16)>,
    tx: Vec<Vec<Vec<u8>>>,
    capture: bool,
    stats: Vec<MemPortStats>,
}

impl core::fmt::Debug for MemIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemIo").field("chunks", &self.chunks).field("free", &self.free.len()).finish()
    }
}

impl MemIo {
    /// A backend for `ports` ports with `chunks` chunks of `chunk_size`
    /// bytes, injecting frames `headroom` bytes into their chunk.
    pub fn new(ports: usize, chunks: usize, chunk_size: usize, headroom: u16) -> MemIo {
        MemIo {
            arena: vec![0; chunks * chunk_size],
            chunk_size,
            headroom,
            free: {
                let mut free = Vec::with_capacity(chunks);
                free.extend((0..chunks as u64).rev().map(|i| BufId(i * chunk_size as u64)));
                free
            },
            chunks,
            rx: VecDeque::new(),
            tx: vec![Vec::new(); ports],
            capture: true,
            stats: vec![MemPortStats::default(); ports],
        }
    }

    /// Keep transmitted frames for [`MemIo::take_tx`] (the default), or only
    /// count them (benchmarks).
    pub fn set_capture(&mut self, capture: bool) {
        self.capture = capture;
    }

    /// Queues a received frame on `port`. Returns false (and counts it) when
    /// the frame does not fit a chunk or no chunk is free.
    pub fn inject(&mut self, port: PortId, frame: &[u8]) -> bool {
        let h = self.headroom as usize;
        if h + frame.len() > self.chunk_size || frame.len() > u16::MAX as usize {
            self.port_stats_mut(port).rx_no_buffer += 1;
            return false;
        }
        let Some(buf) = self.free.pop() else {
            self.port_stats_mut(port).rx_no_buffer += 1;
            return false;
        };
        let base = buf.0 as usize;
        self.arena[base + h..base + h + frame.len()].copy_from_slice(frame);
        self.rx.push_back((port, buf, frame.len() as u16));
        let s = self.port_stats_mut(port);
        s.rx_packets += 1;
        s.rx_bytes += frame.len() as u64;
        true
    }

    /// Moves up to `max` queued frames into `batch`. Returns how many.
    pub fn fill_batch(&mut self, batch: &mut Batch, max: usize) -> usize {
        batch.clear();
        while batch.len < max && !batch.is_full() {
            let Some((port, buf, len)) = self.rx.pop_front() else { break };
            batch.push(buf, self.headroom, len, port);
        }
        batch.len
    }

    /// Frames waiting to be processed.
    pub fn pending_rx(&self) -> usize {
        self.rx.len()
    }

    /// Takes the frames transmitted on `port` so far.
    pub fn take_tx(&mut self, port: PortId) -> Vec<Vec<u8>> {
        self.tx.get_mut(port.index()).map(std::mem::take).unwrap_or_default()
    }

    /// Per-port counters.
    pub fn port_stats(&self) -> &[MemPortStats] {
        &self.stats
    }

    /// Chunks not free: received but unprocessed, or leaked. A test that
    /// drained everything expects 0.
    pub fn chunks_in_use(&self) -> usize {
        self.chunks - self.free.len()
    }

    fn port_stats_mut(&mut self, port: PortId) -> &mut MemPortStats {
        if self.stats.len() <= port.index() {
            self.stats.resize(port.index() + 1, MemPortStats::default());
            self.tx.resize(port.index() + 1, Vec::new());
        }
        &mut self.stats[port.index()]
    }

    /// Keeps a copy of a transmitted frame (off the benchmarks' path).
    #[cold]
    #[inline(never)]
    fn capture_tx(&mut self, port: PortId, buf: BufId, head: u16, len: u16) {
        let start = buf.0 as usize + head as usize;
        let bytes = self.arena.get(start..start + len as usize).map(|b| b.to_vec());
        self.port_stats_mut(port);
        if let Some(b) = bytes {
            self.tx[port.index()].push(b);
        }
    }

    /// Puts a chunk back on the free list. The list was allocated for every
    /// chunk, so the push never reallocates.
    #[inline]
    fn recycle(&mut self, buf: BufId) {
        if self.free.len() < self.free.capacity() {
            self.free.push(buf);
        }
    }

    fn chunk_range(&self, buf: BufId) -> core::ops::Range<usize> {
        let base = (buf.0 as usize).min(self.arena.len());
        base..(base + self.chunk_size).min(self.arena.len())
    }
}

impl FramePool for MemIo {
    #[inline]
    fn buffer(&self, buf: BufId) -> &[u8] {
        let base = buf.0 as usize;
        self.arena.get(base..base + self.chunk_size).unwrap_or(&[])
    }

    #[inline]
    fn frame(&self, buf: BufId, head: u16, len: u16) -> Option<&[u8]> {
        let end = head as usize + len as usize;
        if end > self.chunk_size {
            return None;
        }
        let base = buf.0 as usize;
        self.arena.get(base + head as usize..base + end)
    }

    fn buffer_mut(&mut self, buf: BufId) -> &mut [u8] {
        let r = self.chunk_range(buf);
        &mut self.arena[r]
    }

    fn alloc(&mut self) -> Option<BufId> {
        self.free.pop()
    }

    #[inline]
    fn release(&mut self, buf: BufId) {
        debug_assert!(!self.free.contains(&buf), "double release of {buf:?}");
        self.recycle(buf);
    }

    fn copy_frame(&mut self, from: BufId, to: BufId, offset: usize, len: usize) {
        let src = from.0 as usize + offset;
        let dst = to.0 as usize + offset;
        if offset + len <= self.chunk_size && src + len <= self.arena.len() && dst + len <= self.arena.len() {
            self.arena.copy_within(src..src + len, dst);
        }
    }

    fn headroom(&self) -> u16 {
        self.headroom
    }
}

impl PortTx for MemIo {
    #[inline]
    fn send(&mut self, port: PortId, frame: TxFrame) {
        if self.capture {
            self.capture_tx(port, frame.buf, frame.head, frame.len);
        }
        if let Some(s) = self.stats.get_mut(port.index()) {
            s.tx_packets += 1;
            s.tx_bytes += frame.len as u64;
        }
        self.recycle(frame.buf);
    }
}
