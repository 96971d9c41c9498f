//! Stage 4, forward: destination lookup. Group addresses and unknown unicast
//! flood; a destination learned on the ingress port is dropped (the frame is
//! already on its segment).
//!
//! The lookups run in two passes over the batch: the first touches every
//! destination's home slot so that, with a table far bigger than the CPU
//! caches, the misses overlap instead of stalling one frame at a time.

use super::trace::{FloodCause, Observer, TraceEvent};
use super::{Batch, DropReason, Scratch, Verdict, WorkerCounters};
use crate::fdb::{FdbKey, FdbTable};

pub(super) fn run<O: Observer>(fdb: &FdbTable, counters: &WorkerCounters, batch: &mut Batch, n: usize, scratch: &Scratch, obs: &mut O) {
    let mut sink = 0u64;
    for i in 0..n {
        if batch.verdicts[i] == Verdict::Pending && scratch.dst[i] >> 40 & 1 == 0 {
            sink ^= fdb.touch(FdbKey::from_parts(batch.descs[i].bd, scratch.dst[i]));
        }
    }
    core::hint::black_box(sink);
    let mut unknown = 0;
    for i in 0..n {
        if batch.verdicts[i] != Verdict::Pending {
            continue;
        }
        let d = &batch.descs[i];
        let dst = scratch.dst[i];
        // I/G bit: the low bit of the first octet, bit 40 of the u64 form.
        if dst >> 40 & 1 == 1 {
            let cause = if dst == 0xffff_ffff_ffff { FloodCause::Broadcast } else { FloodCause::Multicast };
            obs.event(i, TraceEvent::Flood(cause));
            batch.verdicts[i] = Verdict::Flood;
            continue;
        }
        batch.verdicts[i] = match fdb.lookup(FdbKey::from_parts(d.bd, dst)) {
            Some(v) if v.port() == d.in_port => Verdict::Drop(DropReason::SameSegment),
            Some(v) => {
                obs.event(i, TraceEvent::LookupHit { port: v.port() });
                Verdict::Forward(v.port())
            }
            None => {
                obs.event(i, TraceEvent::Flood(FloodCause::UnknownUnicast));
                unknown += 1;
                Verdict::Flood
            }
        };
    }
    if unknown != 0 {
        counters.unknown_unicast.add(unknown);
    }
}
