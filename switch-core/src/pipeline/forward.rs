//! Stage 4, forward: destination lookup. Group addresses and unknown unicast
//! flood; a destination learned on the ingress port is dropped (the frame is
//! already on its segment).

use super::trace::FloodCause;
use super::{DropReason, Verdict};
use crate::fdb::{FdbKey, FdbTable, Home};
use crate::types::PortId;

/// The forwarding decision for the (domain, destination) key `dst`, whose
/// hash `home` gives (computed only for a unicast destination).
#[inline(always)]
pub(super) fn forward(fdb: &FdbTable, dst: FdbKey, home: impl FnOnce() -> Home, in_port: PortId) -> Verdict {
    if dst.is_group() {
        return Verdict::Flood;
    }
    lookup(fdb, home(), in_port)
}

/// [`forward`] for a destination known to be unicast, whose hash is `home`.
#[inline(always)]
pub(super) fn lookup(fdb: &FdbTable, home: Home, in_port: PortId) -> Verdict {
    match fdb.lookup_at(home) {
        Some(v) if v.port() == in_port => Verdict::Drop(DropReason::SameSegment),
        Some(v) => Verdict::Forward(v.port()),
        None => Verdict::Flood,
    }
}

/// Why [`forward`] flooded a frame with destination key `dst`.
#[inline]
pub(super) fn flood_cause(dst: FdbKey) -> FloodCause {
    if !dst.is_group() {
        FloodCause::UnknownUnicast
    } else if dst.is_broadcast() {
        FloodCause::Broadcast
    } else {
        FloodCause::Multicast
    }
}
