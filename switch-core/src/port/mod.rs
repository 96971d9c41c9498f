//! The boundary between the dataplane and whatever moves bytes.
//!
//! The pipeline never owns memory or sockets. A port backend (AF_XDP in
//! `io-afxdp`, the in-memory [`memory::MemIo`] in tests, pcap in `xvs replay`)
//! implements two traits:
//!
//! * [`FramePool`]: buffers addressed by an opaque [`BufId`]. Each buffer is
//!   a fixed-size chunk (an AF_XDP UMEM frame). A frame occupies
//!   `buffer[head .. head + len]`; the bytes before `head` are headroom, so a
//!   VLAN tag or (later) a tunnel header can be pushed without copying the
//!   payload.
//! * [`PortTx`]: takes ownership of a buffer and queues it on a port.
//!
//! Frames come *in* as [`crate::pipeline::PktDesc`]s filled by the backend's
//! receive loop; the backend decides how to fill a batch, so there is no rx
//! trait to dispatch through.
//!
//! Ownership rule: every buffer handed to the pipeline is either sent with
//! [`PortTx::send`] or given back with [`FramePool::release`], exactly once.

pub mod memory;

use crate::types::PortId;

/// Opaque handle to a frame buffer. For AF_XDP it is the UMEM address of the
/// chunk; for the in-memory backend an index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct BufId(pub u64);

/// Buffers the pipeline may read, write, allocate (to copy a flooded frame)
/// and give back (when it drops one).
pub trait FramePool {
    /// The whole chunk behind `buf`, headroom included.
    fn buffer(&self, buf: BufId) -> &[u8];
    /// The frame `buf[head .. head + len]`, or `None` when it does not fit the
    /// chunk. Backends may override this with a single bounds check.
    #[inline]
    fn frame(&self, buf: BufId, head: u16, len: u16) -> Option<&[u8]> {
        self.buffer(buf).get(head as usize..head as usize + len as usize)
    }
    /// The whole chunk behind `buf`, writable.
    fn buffer_mut(&mut self, buf: BufId) -> &mut [u8];
    /// A free chunk, or `None` when the pool is empty (the caller counts it).
    fn alloc(&mut self) -> Option<BufId>;
    /// Gives a chunk back.
    fn release(&mut self, buf: BufId);
    /// Copies `len` bytes starting at `offset` in chunk `from` to the same
    /// offset in chunk `to` (used to replicate flooded frames). Both backends
    /// keep their chunks in one arena, so this is one `copy_within`.
    fn copy_frame(&mut self, from: BufId, to: BufId, offset: usize, len: usize);
    /// Default headroom to leave in front of a frame copied into a fresh
    /// chunk, so that tags and tunnel headers can still be pushed.
    fn headroom(&self) -> u16;
}

/// A frame queued for transmission.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TxFrame {
    /// The chunk holding the frame.
    pub buf: BufId,
    /// Offset of the first byte of the frame in the chunk.
    pub head: u16,
    /// Frame length in bytes.
    pub len: u16,
}

/// Where the output stage sends frames.
///
/// `send` never fails from the pipeline's point of view: the backend owns the
/// buffer from then on, and it counts and recycles what it cannot transmit
/// (full TX ring, unknown port). That keeps backpressure policy in one place.
pub trait PortTx {
    /// Queues `frame` on `port`.
    fn send(&mut self, port: PortId, frame: TxFrame);

    /// [`PortTx::send`] from the output stage's untagged fast path, which
    /// never sends to a tunnel or gateway port (the plan keeps them off it),
    /// so a backend that treats those ports specially may skip its test.
    #[inline(always)]
    fn send_switched(&mut self, port: PortId, frame: TxFrame) {
        self.send(port, frame);
    }

    /// What became of the last `send`, for a backend that does more than
    /// queue it (the overlay's encapsulation), when the batch is traced.
    /// The output stage asks only when it traces; plain backends have
    /// nothing to say.
    fn take_trace(&mut self) -> Option<crate::pipeline::TraceEvent> {
        None
    }
}
