//! Stage 3, learn: report source MACs to the FDB writer through the worker's
//! learn cache. Frames are never held back by learning; the one exception is
//! a source that is a static entry on another port, which is dropped as a
//! spoof.
//!
//! Two halves: ingress probes every source against the private learn cache
//! (`LearnCache::probe`), the common case being a hit that needs nothing
//! more; [`learn`] handles the misses against the shared table.
//!
//! Sources that must never be learned (group and all-zero addresses) are
//! rejected by [`check_source`] on a learn-cache miss only: the cache holds
//! nothing but sources that passed it, so a hit proves the check passed.

use super::trace::{Observer, TraceEvent};
use super::{DropReason, WorkerCounters};
use crate::fdb::{FdbKey, FdbTable, Home, LearnCache, LearnOutcome, LearnQueue};
use crate::types::PortId;

/// Rejects source MACs that must never be learned: group addresses and
/// 00:00:00:00:00:00.
#[inline(always)]
pub(super) fn check_source(src: FdbKey) -> Result<(), DropReason> {
    if src.is_group() {
        Err(DropReason::SrcMacMulticast)
    } else if src.is_zero_mac() {
        Err(DropReason::SrcMacZero)
    } else {
        Ok(())
    }
}

/// Learns the source `src` of frame `i`, seen on `port`,
/// after the learn cache did not vouch for it (or, with `TABLE_FIRST`, was
/// not asked: then the shared table is asked first, with the hash the
/// large-table path's ingress computed, `src_home`). Fails only for a spoofed static MAC.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn learn<const TABLE_FIRST: bool, O: Observer>(
    fdb: &FdbTable,
    cache: &mut LearnCache,
    queue: &LearnQueue,
    counters: &WorkerCounters,
    src: FdbKey,
    src_home: Home,
    port: PortId,
    now: u32,
    i: usize,
    obs: &mut O,
) -> Result<(), DropReason> {
    let outcome = if TABLE_FIRST {
        cache.learn_table_first(fdb, queue, src, src_home, port, now)
    } else {
        cache.report(fdb, queue, src, port, now)
    };
    if O::ENABLED {
        obs.event(i, TraceEvent::Learned(outcome));
    }
    match outcome {
        LearnOutcome::Known => {}
        LearnOutcome::Reported => counters.learn_events.add(1),
        LearnOutcome::QueueFull => counters.learn_queue_full.add(1),
        LearnOutcome::StaticConflict => return Err(DropReason::StaticMacMove),
    }
    Ok(())
}
