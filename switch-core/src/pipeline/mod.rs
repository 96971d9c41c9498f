//! The batch pipeline: parse → classify → learn (probe) → prefetch →
//! learn (report) → forward/flood → output.
//!
//! Each stage is a function in its own file. They are composed statically
//! into four passes over the batch:
//!
//! 1. ingress: [`parse`](parse) → [`classify`](classify) → learn probe
//!    (the worker's private learn cache), per frame;
//! 2. prefetch: touch the shared-table slots the next passes will read, for
//!    the whole batch, so their cache misses overlap;
//! 3. learn report: learn-cache misses go to the shared table and, when new,
//!    moved or stale, to the FDB writer's queue;
//! 4. egress: [`forward`](forward) (destination lookup) → [`output`](output)
//!    (tag rewrite, flood replication, send or recycle), per frame.
//!
//! Why not one loop per stage (VPP's vectors)? A batch of 32-64 descriptors
//! sits in L1 either way; per-stage loops only add a reload and re-check of
//! each frame's state at every stage (measured: about a third of the
//! instructions per packet). Batch-wide passes are kept where the whole
//! batch matters: between the private probe and the shared-table accesses.
//! Nothing allocates and nothing locks.
//!
//! Overlays add `decap` after classify and `encap` before output; the stage
//! list below is where they slot in.

mod batch;
mod classify;
mod counters;
mod drop;
mod forward;
mod learn;
mod output;
mod parse;
mod prefetch;
pub mod trace;

use std::sync::Arc;

pub use batch::{Batch, PktDesc, Verdict, MAX_BURST};
pub use counters::{Counter, CounterSnapshot, WorkerCounters};
pub use drop::DropReason;
pub use output::apply_egress_tag;
pub use trace::{NoTrace, Observer, TraceEvent, TraceLog};

use crate::bridge::ForwardingPlan;
use crate::fdb::{FdbKey, FdbTable, LearnCache, LearnQueue};
use crate::port::{FramePool, PortTx};
use crate::types::Nanos;

/// Per-frame facts the ingress pass leaves for the later passes, indexed
/// like the batch.
#[derive(Clone, Debug)]
pub(crate) struct Scratch {
    /// Source MAC as u64.
    pub src: [u64; MAX_BURST],
    /// Destination MAC as u64.
    pub dst: [u64; MAX_BURST],
    /// The learn cache did not vouch for the source.
    pub learn_miss: [bool; MAX_BURST],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { src: [0; MAX_BURST], dst: [0; MAX_BURST], learn_miss: [false; MAX_BURST] }
    }
}

/// Tunables of a worker's pipeline.
#[derive(Clone, Copy, Debug)]
pub struct PipelineSettings {
    /// Seconds after which a known source MAC is reported again so the FDB
    /// writer can refresh its last-seen time. A quarter of the aging time
    /// keeps aging accurate to 25% while sending each MAC's refresh rarely.
    pub refresh_after: u32,
}

impl PipelineSettings {
    /// Settings derived from the FDB aging time.
    pub fn for_aging(aging_secs: u32) -> PipelineSettings {
        PipelineSettings { refresh_after: (aging_secs / 4).max(1) }
    }
}

/// One worker's pipeline: its private learn cache, its learn queue to the
/// FDB writer, its counters, and scratch space.
pub struct Pipeline {
    cache: LearnCache,
    queue: Arc<LearnQueue>,
    counters: Arc<WorkerCounters>,
    scratch: Scratch,
}

impl core::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline reporting learn events to `queue` and counting into
    /// `counters` (both shared with the control thread).
    pub fn new(settings: PipelineSettings, queue: Arc<LearnQueue>, counters: Arc<WorkerCounters>) -> Pipeline {
        Pipeline { cache: LearnCache::new(settings.refresh_after), queue, counters, scratch: Scratch::default() }
    }

    /// This worker's counters.
    pub fn counters(&self) -> &Arc<WorkerCounters> {
        &self.counters
    }

    /// This worker's learn queue.
    pub fn learn_queue(&self) -> &Arc<LearnQueue> {
        &self.queue
    }

    /// Runs every stage over `batch` and hands each frame to `io` (sent or
    /// released). `plan` and `fdb` are the snapshots the caller loaded for this
    /// batch, so every frame in it sees one consistent configuration.
    #[inline]
    pub fn process<IO, O>(&mut self, plan: &ForwardingPlan, fdb: &FdbTable, batch: &mut Batch, io: &mut IO, now: Nanos, obs: &mut O)
    where
        IO: FramePool + PortTx,
        O: Observer,
    {
        let n = batch.len.min(MAX_BURST);
        if n == 0 {
            return;
        }
        if self.cache.sync(fdb) {
            self.counters.learn_cache_resets.add(1);
        }
        self.counters.batches.add(1);
        self.counters.packets.add(n as u64);
        let now_s = now.as_secs_u32();
        let (descs, verdicts) = (&mut batch.descs[..n], &mut batch.verdicts[..n]);

        // Pass 1, ingress: parse → classify → learn probe (private cache).
        let mut misses = 0;
        for (i, (d, verdict)) in descs.iter_mut().zip(verdicts.iter_mut()).enumerate() {
            *verdict = ingress(plan, &self.cache, &mut self.scratch, i, d, io, now_s, obs);
            misses += self.scratch.learn_miss[i] as usize;
        }
        // Pass 2: overlap the shared-table cache misses of the whole batch.
        prefetch::run(fdb, batch, n, &self.scratch);
        // Pass 3: report unknown, moved or stale sources to the FDB writer.
        if misses != 0 {
            learn::report(fdb, &mut self.cache, &self.queue, &self.counters, batch, n, &self.scratch, now_s, obs);
        }
        // Pass 4, egress: forward (destination lookup) → output.
        let mut forwarded = 0;
        let mut unknown = 0;
        for (i, (d, verdict)) in batch.descs[..n].iter().zip(batch.verdicts[..n].iter_mut()).enumerate() {
            if matches!(*verdict, Verdict::Pending) {
                let (v, flood_cause) = forward::forward(fdb, d.bd, self.scratch.dst[i], d.in_port);
                if let Some(trace::FloodCause::UnknownUnicast) = flood_cause {
                    unknown += 1;
                }
                if O::ENABLED {
                    match (v, flood_cause) {
                        (_, Some(cause)) => obs.event(i, TraceEvent::Flood(cause)),
                        (Verdict::Forward(port), None) => obs.event(i, TraceEvent::LookupHit { port }),
                        _ => {}
                    }
                }
                *verdict = v;
            }
            forwarded += output::output(plan, &self.counters, i, d, *verdict, io, obs) as u64;
        }
        self.counters.forwarded.add(forwarded);
        if unknown != 0 {
            self.counters.unknown_unicast.add(unknown);
        }
        batch.len = 0;
    }
}

/// Pass 1 for one frame: parse, classify, probe the learn cache. Leaves
/// the addresses and the learn-cache verdict in `scratch`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn ingress<P: FramePool, O: Observer>(
    plan: &ForwardingPlan,
    cache: &LearnCache,
    scratch: &mut Scratch,
    i: usize,
    d: &mut PktDesc,
    io: &P,
    now_s: u32,
    obs: &mut O,
) -> Verdict {
    scratch.learn_miss[i] = false;
    let Some(bytes) = io.frame(d.buf, d.head, d.len) else {
        return Verdict::Drop(DropReason::Truncated);
    };
    if O::ENABLED {
        trace_parsed(obs, i, bytes);
    }
    let p = match parse::parse(bytes) {
        Ok(p) => p,
        Err(reason) => return Verdict::Drop(reason),
    };
    let Some(port) = plan.ports.get(d.in_port.index()) else {
        return Verdict::Drop(DropReason::UnknownPort);
    };
    let c = match classify::classify(port, &p) {
        Ok(c) => c,
        Err(reason) => return Verdict::Drop(reason),
    };
    d.bd = c.bd;
    d.tag_len = c.tag_len;
    d.pcp = c.pcp;
    scratch.src[i] = p.src;
    scratch.dst[i] = p.dst;
    let known = cache.probe(FdbKey::from_parts(c.bd, p.src), d.in_port, now_s);
    scratch.learn_miss[i] = !known;
    if O::ENABLED {
        obs.event(i, TraceEvent::Classified { port: d.in_port, bd: c.bd, tag_len: c.tag_len });
        if known {
            obs.event(i, TraceEvent::Learned(crate::fdb::LearnOutcome::Known));
        }
    }
    Verdict::Pending
}

/// The trace's view of a frame's header, taken before parse judges it, so a
/// trace shows the addresses of frames parse drops.
#[cold]
fn trace_parsed<O: Observer>(obs: &mut O, i: usize, bytes: &[u8]) {
    if let Ok(f) = crate::wire::EthernetFrame::new_checked(bytes) {
        let tci = bytes.get(14..16).map(|b| u16::from_be_bytes([b[0], b[1]]));
        obs.event(i, TraceEvent::Parsed { dst: f.dst_addr(), src: f.src_addr(), ethertype: f.ethertype(), tci });
    }
}

#[cfg(test)]
mod tests;
