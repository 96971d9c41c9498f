//! For tables far bigger than the CPU caches: prefetch the table slots a
//! frame's lookups will read as soon as its keys are known, so that the cache
//! misses of the whole batch overlap instead of stalling one frame at a time
//! (DPDK's and VPP's batch-prefetch trick). Tables whose live entries fit in
//! the caches skip the first pass altogether.

use super::Ingress;
use crate::fdb::FdbTable;

/// Below this many live entries (a cache line each: 1 MiB, an L2's worth)
/// the entries in use stay cache-resident and the pass would only cost
/// instructions.
const MIN_ENTRIES: u64 = 1 << 14;

/// True when the table's live entries are too many to stay cache-resident.
#[inline]
pub(super) fn wanted(fdb: &FdbTable) -> bool {
    fdb.live_hint() >= MIN_ENTRIES
}

/// Prefetches the slots the learn step (only when the learn cache did not
/// vouch for the source) and the destination lookup (only for unicast) will
/// read.
#[inline(always)]
pub(super) fn prefetch(fdb: &FdbTable, f: &Ingress) {
    if !f.known {
        fdb.prefetch(f.src);
    }
    if !f.dst.is_group() {
        fdb.prefetch(f.dst);
    }
}
