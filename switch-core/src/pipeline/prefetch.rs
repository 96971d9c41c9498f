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

/// Computes the hashes of `f`'s keys (kept in `f`, so the second pass does
/// not hash again) and prefetches the home slots the learn step (which asks
/// the table about every source on this path) and the destination lookup
/// (only for unicast) will read.
#[inline(always)]
pub(super) fn prefetch(fdb: &FdbTable, f: &mut Ingress) {
    f.src_home = fdb.home(f.src);
    fdb.prefetch(f.src_home);
    if !f.dst.is_group() {
        f.dst_home = fdb.home(f.dst);
        fdb.prefetch(f.dst_home);
    }
}
