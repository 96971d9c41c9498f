//! Stage 4, forward: destination lookup. Group addresses and unknown unicast
//! flood. (A destination learned on the ingress port is found like any
//! other: the output stage, which keeps frames off their ingress port for
//! floods too, drops it as `SameSegment`.)

use super::trace::FloodCause;
use super::Verdict;
use crate::fdb::{FdbKey, FdbTable, Home};

/// The forwarding decision for the (domain, destination) key `dst`, whose
/// hash `home` gives (computed only for a unicast destination).
#[inline(always)]
pub(super) fn forward(fdb: &FdbTable, dst: FdbKey, home: impl FnOnce() -> Home) -> Verdict {
    if dst.is_group() {
        return Verdict::Flood;
    }
    lookup(fdb, home())
}

/// [`forward`] for a destination known to be unicast, whose hash is `home`.
#[inline(always)]
pub(super) fn lookup(fdb: &FdbTable, home: Home) -> Verdict {
    match fdb.lookup_at(home) {
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
