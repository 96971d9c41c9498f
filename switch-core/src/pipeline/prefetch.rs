//! For tables far bigger than the CPU caches: prefetch the table slots a
//! frame's lookups will read as soon as its keys are known, so that the cache
//! misses of several frames overlap each other and other frames' work
//! instead of stalling one frame at a time (DPDK's and VPP's batch-prefetch
//! trick). Tables whose live entries fit in the caches skip the prefetch
//! altogether.

use super::Ingress;
use crate::fdb::FdbTable;

/// Below this many live entries (a cache line each: 1 MiB, an L2's worth)
/// the entries in use stay cache-resident and the pass would only cost
/// instructions.
const MIN_ENTRIES: u64 = 1 << 14;

/// How many frames ahead of the one being finished the large-table path
/// ingresses and prefetches. It has to cover a slot read that misses every
/// cache and the TLB, which on the VMs measured (nested paging) takes the
/// work of more than 8 frames. Paired runs at 1M MACs (docs/performance.md):
/// 2 was 1.8x slower than the old whole-batch pass, 8 no faster than it,
/// and 12, 16 and 20 alike, 15-35% faster whenever memory was contended.
/// Half of a 32-frame burst also leaves half the batch's work to overlap.
pub(super) const DISTANCE: usize = 16;

/// True when the table's live entries are too many to stay cache-resident.
#[inline]
pub(super) fn wanted(fdb: &FdbTable) -> bool {
    fdb.live_hint() >= MIN_ENTRIES
}

/// Computes the hashes of `f`'s keys (kept in `f`, so the frame's finish does
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
