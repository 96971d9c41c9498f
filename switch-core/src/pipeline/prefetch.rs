//! Between learn-probe and the shared-table stages: touch the table slots
//! the rest of the batch will read, so that with a table far bigger than the
//! CPU caches the misses of all frames overlap instead of stalling one frame
//! at a time (DPDK's and VPP's batch-prefetch trick).
//!
//! switch-core has no `unsafe`, so there is no prefetch instruction here: a
//! plain load whose result is discarded does the same job on an out-of-order
//! core, at the price of a few instructions per frame. Tables whose live
//! entries fit in the caches skip the pass.

use super::parse::GROUP_BIT;
use super::{Batch, Scratch, Verdict};
use crate::fdb::{FdbKey, FdbTable};

/// Below this many live entries (a cache line each: 1 MiB, an L2's worth)
/// the entries in use stay cache-resident and the pass would only cost
/// instructions.
const MIN_ENTRIES: u64 = 1 << 14;

/// True when the table's live entries are too many to stay cache-resident.
#[inline]
pub(super) fn wanted(fdb: &FdbTable) -> bool {
    fdb.live_hint() >= MIN_ENTRIES
}

pub(super) fn run(fdb: &FdbTable, batch: &Batch, n: usize, scratch: &Scratch) {
    let mut sink = 0u64;
    for (i, (d, v)) in batch.descs[..n].iter().zip(&batch.verdicts[..n]).enumerate() {
        if !matches!(v, Verdict::Pending) || !scratch.deferred[i] {
            continue;
        }
        if scratch.learn_miss[i] {
            sink ^= fdb.touch(FdbKey::from_parts(d.bd, scratch.src[i]));
        }
        if scratch.dst[i] & GROUP_BIT == 0 {
            sink ^= fdb.touch(FdbKey::from_parts(d.bd, scratch.dst[i]));
        }
    }
    core::hint::black_box(sink);
}
