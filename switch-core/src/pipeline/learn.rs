//! Stage 3, learn: report source MACs to the FDB writer through the worker's
//! learn cache. Frames are never held back by learning; the one exception is
//! a source that is a static entry on another port, which is dropped as a
//! spoof.
//!
//! Two halves: the ingress pass probes every source against the private
//! learn cache (`LearnCache::probe`) and marks the misses, the common case
//! being all hits; [`report`] then handles the misses against the shared
//! table, after the prefetch pass has touched their slots.

use super::trace::{Observer, TraceEvent};
use super::{Batch, DropReason, Scratch, Verdict, WorkerCounters};
use crate::fdb::{FdbKey, FdbTable, LearnCache, LearnOutcome, LearnQueue};

/// Reports the sources the ingress pass marked as learn-cache misses.
#[allow(clippy::too_many_arguments)]
pub(super) fn report<O: Observer>(
    fdb: &FdbTable,
    cache: &mut LearnCache,
    queue: &LearnQueue,
    counters: &WorkerCounters,
    batch: &mut Batch,
    n: usize,
    scratch: &Scratch,
    now: u32,
    obs: &mut O,
) {
    let mut reported = 0;
    let mut lost = 0;
    for (i, (d, verdict)) in batch.descs[..n].iter().zip(batch.verdicts[..n].iter_mut()).enumerate() {
        if !scratch.learn_miss[i] || !matches!(*verdict, Verdict::Pending) {
            continue;
        }
        let outcome = cache.report(fdb, queue, FdbKey::from_parts(d.bd, scratch.src[i]), d.in_port, now);
        if O::ENABLED {
            obs.event(i, TraceEvent::Learned(outcome));
        }
        match outcome {
            LearnOutcome::Known => {}
            LearnOutcome::Reported => reported += 1,
            LearnOutcome::QueueFull => lost += 1,
            LearnOutcome::StaticConflict => *verdict = Verdict::Drop(DropReason::StaticMacMove),
        }
    }
    if reported != 0 {
        counters.learn_events.add(reported);
    }
    if lost != 0 {
        counters.learn_queue_full.add(lost);
    }
}
