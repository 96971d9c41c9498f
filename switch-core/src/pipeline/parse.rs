//! Stage 1, parse: check the frame fits its buffer, read the addresses, the
//! outer EtherType and (when present) the TCI, and reject sources that must
//! never be learned and destinations a bridge must never forward.

use super::trace::{Observer, TraceEvent};
use super::{Batch, DropReason, Scratch, Verdict};
use crate::port::FramePool;
use crate::types::MacAddr;
use crate::wire::ethernet::{self, EthernetFrame};

/// 01:80:c2:00:00:00 - 01:80:c2:00:00:0f, as the top 44 bits of a u64 MAC.
const RESERVED_PREFIX: u64 = 0x0180_c200_0000 >> 4;

pub(super) fn run<P: FramePool, O: Observer>(batch: &mut Batch, n: usize, io: &P, scratch: &mut Scratch, obs: &mut O) {
    for i in 0..n {
        let d = batch.descs[i];
        let start = d.head as usize;
        let Some(bytes) = io.buffer(d.buf).get(start..start + d.len as usize) else {
            batch.verdicts[i] = Verdict::Drop(DropReason::Truncated);
            continue;
        };
        let Ok(frame) = EthernetFrame::new_checked(bytes) else {
            batch.verdicts[i] = Verdict::Drop(DropReason::Truncated);
            continue;
        };
        let src = frame.src_addr();
        let dst = frame.dst_addr();
        let ethertype = frame.ethertype();
        let tci = bytes.get(ethernet::HEADER_LEN..ethernet::HEADER_LEN + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        // A tag must be followed by its inner EtherType to be usable.
        let has_tci = bytes.len() >= ethernet::HEADER_LEN + 4;
        obs.event(i, TraceEvent::Parsed { dst, src, ethertype, tci });
        let (s, t) = (src.to_u64(), dst.to_u64());
        scratch.src[i] = s;
        scratch.dst[i] = t;
        scratch.ethertype[i] = ethertype;
        scratch.tci[i] = tci.unwrap_or(0);
        scratch.has_tci[i] = has_tci;
        batch.verdicts[i] = if src.is_multicast() {
            Verdict::Drop(DropReason::SrcMacMulticast)
        } else if s == MacAddr::ZERO.to_u64() {
            Verdict::Drop(DropReason::SrcMacZero)
        } else if t >> 4 == RESERVED_PREFIX {
            Verdict::Drop(DropReason::ReservedMulticast)
        } else {
            Verdict::Pending
        };
    }
}
