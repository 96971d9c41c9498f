//! An in-memory port backend: frames go in with [`MemIo::inject`] and come
//! out of [`MemIo::take_tx`]. Used by unit tests, `xvs replay`, `xvs trace`
//! and the benchmarks.
//!
//! Chunks live in one arena of fixed-size chunks, like an AF_XDP UMEM, so
//! the pipeline exercises the same headroom arithmetic it does on real ports.
//! A [`BufId`] is a chunk's index in the arena.

use std::collections::VecDeque;

use super::{BufId, FramePool, PortTx, TxFrame};
use crate::pipeline::Batch;
use crate::types::PortId;

/// Bytes per chunk: room for a 9000-byte jumbo frame plus headroom. Fixed,
/// like a UMEM's frame size, so that finding a frame is one bounds check on
/// the chunk index and one on the frame's end within the chunk; and a power
/// of two, as AF_XDP's aligned chunks are, so a chunk's offset is a shift.
/// (The arena is allocated zeroed, so untouched pages cost nothing.)
pub const CHUNK_SIZE: usize = 16384;

/// One chunk of the arena.
type Chunk = [u8; CHUNK_SIZE];

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
    /// Frames [`crate::sim::SwitchSim::inject`] refused because they are
    /// longer than the port's MTU allows (its `max_frame`): frames no
    /// interface of that MTU would have received.
    pub rx_too_big: u64,
}

/// The in-memory backend.
pub struct MemIo {
    /// The chunks; `BufId(i)` is `arena[i]`.
    arena: Box<[Chunk]>,
    headroom: u16,
    free: Vec<BufId>,
    rx: VecDeque<(PortId, BufId, u16)>,
    tx: Vec<Vec<Vec<u8>>>,
    capture: bool,
    /// Per-port counters, indexed by port, while capture is off. While it is
    /// on they are parked in `capture_stats` and this is empty: then the
    /// bounds check `send` makes anyway sends every frame down the capturing
    /// path, and the capture check costs the common path nothing of its own.
    stats: Vec<MemPortStats>,
    /// The per-port counters while capture is on (empty while it is off).
    capture_stats: Vec<MemPortStats>,
}

impl core::fmt::Debug for MemIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemIo").field("chunks", &self.arena.len()).field("free", &self.free.len()).finish()
    }
}

impl MemIo {
    /// A backend for `ports` ports with `chunks` chunks of [`CHUNK_SIZE`]
    /// bytes, injecting frames `headroom` bytes into their chunk.
    pub fn new(ports: usize, chunks: usize, headroom: u16) -> MemIo {
        MemIo {
            // Zeroed, so the allocation is lazily mapped (`alloc_zeroed`).
            arena: vec![[0u8; CHUNK_SIZE]; chunks].into_boxed_slice(),
            headroom,
            free: {
                let mut free = Vec::with_capacity(chunks);
                free.extend((0..chunks as u64).rev().map(BufId));
                free
            },
            rx: VecDeque::new(),
            tx: vec![Vec::new(); ports],
            capture: true,
            stats: Vec::new(),
            capture_stats: vec![MemPortStats::default(); ports],
        }
    }

    /// Keep transmitted frames for [`MemIo::take_tx`] (the default), or only
    /// count them (benchmarks).
    pub fn set_capture(&mut self, capture: bool) {
        if capture != self.capture {
            std::mem::swap(&mut self.stats, &mut self.capture_stats);
            self.capture = capture;
        }
    }

    /// Queues a received frame on `port`. Returns false (and counts it) when
    /// the frame does not fit a chunk or no chunk is free.
    pub fn inject(&mut self, port: PortId, frame: &[u8]) -> bool {
        let h = self.headroom as usize;
        if h + frame.len() > CHUNK_SIZE || frame.len() > u16::MAX as usize {
            self.port_stats_mut(port).rx_no_buffer += 1;
            return false;
        }
        let Some(buf) = self.free.pop() else {
            self.port_stats_mut(port).rx_no_buffer += 1;
            return false;
        };
        self.arena[buf.0 as usize][h..h + frame.len()].copy_from_slice(frame);
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
        if self.capture {
            &self.capture_stats
        } else {
            &self.stats
        }
    }

    /// Chunks not free: received but unprocessed, or leaked. A test that
    /// drained everything expects 0.
    pub fn chunks_in_use(&self) -> usize {
        self.arena.len() - self.free.len()
    }

    /// Port `port`'s counters, grown on demand.
    pub(crate) fn port_stats_mut(&mut self, port: PortId) -> &mut MemPortStats {
        let stats = if self.capture { &mut self.capture_stats } else { &mut self.stats };
        if stats.len() <= port.index() {
            stats.resize(port.index() + 1, MemPortStats::default());
            self.tx.resize(port.index() + 1, Vec::new());
        }
        &mut stats[port.index()]
    }

    /// `send` for a frame `stats` has no counters for: with capture on
    /// (every frame), keep a copy and count it; with capture off (a port
    /// beyond those the backend was made for), nothing to count.
    /// (The frame comes in pieces, not as a `TxFrame`, which the caller
    /// would otherwise build in memory before its bounds check.)
    #[cold]
    #[inline(never)]
    fn send_uncommon(&mut self, port: PortId, buf: BufId, head: u16, len: u16) {
        if !self.capture {
            return;
        }
        let bytes = self.frame(buf, head, len).map(|b| b.to_vec());
        let s = self.port_stats_mut(port);
        s.tx_packets += 1;
        s.tx_bytes += len as u64;
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

    /// The chunk `buf` names, if it is one of ours.
    #[inline]
    fn chunk(&self, buf: BufId) -> Option<&Chunk> {
        self.arena.get(usize::try_from(buf.0).ok()?)
    }
}

impl FramePool for MemIo {
    #[inline]
    fn buffer(&self, buf: BufId) -> &[u8] {
        self.chunk(buf).map_or(&[], |c| &c[..])
    }

    /// One check of the chunk index against the arena, one of the frame's
    /// end against the (constant) chunk size: `head + len` cannot wrap, so
    /// the start needs no check of its own.
    #[inline]
    fn frame(&self, buf: BufId, head: u16, len: u16) -> Option<&[u8]> {
        let head = head as usize;
        self.chunk(buf)?.get(head..head + len as usize)
    }

    fn buffer_mut(&mut self, buf: BufId) -> &mut [u8] {
        match usize::try_from(buf.0).ok().and_then(|i| self.arena.get_mut(i)) {
            Some(c) => &mut c[..],
            None => &mut [],
        }
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
        let (Ok(from), Ok(to), Some(end)) = (usize::try_from(from.0), usize::try_from(to.0), offset.checked_add(len))
        else {
            return;
        };
        if let Ok([src, dst]) = self.arena.get_disjoint_mut([from, to]) {
            if let (Some(s), Some(d)) = (src.get(offset..end), dst.get_mut(offset..end)) {
                d.copy_from_slice(s);
            }
        }
    }

    fn headroom(&self) -> u16 {
        self.headroom
    }
}

impl PortTx for MemIo {
    /// Counts the frame on its port and recycles its chunk, after keeping a
    /// copy when capture is on (see `stats`: one bounds check covers both).
    #[inline]
    fn send(&mut self, port: PortId, frame: TxFrame) {
        match self.stats.get_mut(port.index()) {
            Some(s) => {
                s.tx_packets += 1;
                s.tx_bytes += frame.len as u64;
            }
            None => self.send_uncommon(port, frame.buf, frame.head, frame.len),
        }
        self.recycle(frame.buf);
    }
}
