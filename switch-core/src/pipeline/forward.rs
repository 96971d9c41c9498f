//! Stage 4, forward: destination lookup. Group addresses and unknown unicast
//! flood; a destination learned on the ingress port is dropped (the frame is
//! already on its segment).

use super::parse::GROUP_BIT;
use super::trace::FloodCause;
use super::{DropReason, Verdict};
use crate::fdb::{FdbKey, FdbTable};
use crate::types::{BdId, PortId};

/// The forwarding decision for destination `dst` (u64 form) in `bd`, and
/// why it floods when it does.
#[inline(always)]
pub(super) fn forward(fdb: &FdbTable, bd: BdId, dst: u64, in_port: PortId) -> (Verdict, Option<FloodCause>) {
    if dst & GROUP_BIT != 0 {
        let cause = if dst == 0xffff_ffff_ffff { FloodCause::Broadcast } else { FloodCause::Multicast };
        return (Verdict::Flood, Some(cause));
    }
    match fdb.lookup(FdbKey::from_parts(bd, dst)) {
        Some(v) if v.port() == in_port => (Verdict::Drop(DropReason::SameSegment), None),
        Some(v) => (Verdict::Forward(v.port()), None),
        None => (Verdict::Flood, Some(FloodCause::UnknownUnicast)),
    }
}
