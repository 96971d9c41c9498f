//! The unit of work: a burst of packet descriptors and their verdicts.

use crate::port::BufId;
use crate::types::{BdId, PortId};

/// The most frames one batch holds. Backends may fill fewer (the configured
/// batch size, usually 32 as in OVS's `NETDEV_MAX_BURST`).
pub const MAX_BURST: usize = 64;

/// One received frame, as the backend hands it to the pipeline, plus what the
/// parse and classify stages learn about it.
///
/// 24 bytes, so a 64-frame batch of descriptors fits in 24 cache lines.
/// `repr(C)` keeps `bd`, `tag_len` and `pcp` adjacent and in that order, so
/// the output stage reads all three with one load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct PktDesc {
    /// The chunk holding the frame.
    pub buf: BufId,
    /// Offset of the frame's first byte (the destination MAC) in the chunk.
    pub head: u16,
    /// Frame length in bytes.
    pub len: u16,
    /// Port the frame arrived on. Set by the backend.
    pub in_port: PortId,
    /// Bridge domain, set by the classify stage.
    pub bd: BdId,
    /// Bytes of VLAN tag the classify stage consumed (0 or 4). The output
    /// stage removes or rewrites them.
    pub tag_len: u8,
    /// Priority bits of the consumed tag, kept when the frame is re-tagged.
    pub pcp: u8,
}

/// What the forward stage decided for one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send to one port.
    Forward(PortId),
    /// Send to every member of the frame's bridge domain but the ingress port.
    Flood,
    /// Dropped, and counted under this reason.
    Drop(super::DropReason),
}

/// A burst of frames moving through the stages together.
///
/// Stages loop over `descs[..len]`; nothing here allocates after
/// construction.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Number of valid entries.
    pub len: usize,
    /// The frames.
    pub descs: [PktDesc; MAX_BURST],
}

impl Default for Batch {
    fn default() -> Self {
        Batch { len: 0, descs: [PktDesc::default(); MAX_BURST] }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties the batch for reuse.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// True when no more frames fit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }

    /// Appends a received frame. Returns false (and drops nothing) when full.
    #[inline]
    pub fn push(&mut self, buf: BufId, head: u16, len: u16, in_port: PortId) -> bool {
        if self.len == MAX_BURST {
            return false;
        }
        self.descs[self.len] = PktDesc { buf, head, len, in_port, ..PktDesc::default() };
        self.len += 1;
        true
    }
}
