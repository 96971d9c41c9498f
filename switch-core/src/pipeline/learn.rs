//! Stage 3, learn: report source MACs to the FDB writer through the worker's
//! learn cache. Frames are never held back by learning; the one exception is
//! a source that is a static entry on another port, which is dropped as a
//! spoof.

use super::trace::{Observer, TraceEvent};
use super::{Batch, DropReason, Scratch, Verdict, WorkerCounters};
use crate::fdb::{FdbKey, FdbTable, LearnCache, LearnOutcome, LearnQueue};

#[allow(clippy::too_many_arguments)]
pub(super) fn run<O: Observer>(
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
    for i in 0..n {
        if batch.verdicts[i] != Verdict::Pending {
            continue;
        }
        let d = &batch.descs[i];
        let outcome = cache.learn(fdb, queue, FdbKey::from_parts(d.bd, scratch.src[i]), d.in_port, now);
        obs.event(i, TraceEvent::Learned(outcome));
        match outcome {
            LearnOutcome::Known => {}
            LearnOutcome::Reported => reported += 1,
            LearnOutcome::QueueFull => lost += 1,
            LearnOutcome::StaticConflict => batch.verdicts[i] = Verdict::Drop(DropReason::StaticMacMove),
        }
    }
    if reported != 0 {
        counters.learn_events.add(reported);
    }
    if lost != 0 {
        counters.learn_queue_full.add(lost);
    }
}
