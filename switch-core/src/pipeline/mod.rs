//! The batch pipeline: parse → classify → learn (probe) → prefetch →
//! learn (report) → forward/flood → output.
//!
//! Each stage is a function in its own file. They are composed statically
//! into passes over the batch:
//!
//! 1. ingress: [`parse`](parse) → [`classify`](classify) → learn probe
//!    (the worker's private learn cache), per frame. A frame whose source
//!    the cache vouches for continues straight to egress (step 4) while its
//!    header is hot, unless the table is large (then step 2 pays off);
//! 2. prefetch (large tables only): touch the shared-table slots the next
//!    steps will read, for the whole batch, so their cache misses overlap;
//! 3. learn report: learn-cache misses go to the shared table and, when new,
//!    moved or stale, to the FDB writer's queue;
//! 4. egress: [`forward`](forward) (destination lookup) → [`output`](output)
//!    (tag rewrite, flood replication, send or recycle), per frame, for the
//!    frames that waited.
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
    /// Egress waits for the batch-wide passes.
    pub deferred: [bool; MAX_BURST],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            src: [0; MAX_BURST],
            dst: [0; MAX_BURST],
            learn_miss: [false; MAX_BURST],
            deferred: [false; MAX_BURST],
        }
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
    pub fn process<IO, O>(
        &mut self,
        plan: &ForwardingPlan,
        fdb: &FdbTable,
        batch: &mut Batch,
        io: &mut IO,
        now: Nanos,
        obs: &mut O,
    ) where
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
        // Tables whose live entries spill out of the CPU caches get the
        // batch-wide prefetch; then every frame takes the deferred path.
        let big_table = prefetch::wanted(fdb);
        let mut tally = Tally::default();

        // Pass 1: ingress (parse → classify → learn probe). A frame whose
        // source the learn cache vouches for goes straight on to egress
        // (forward → output); the rest wait for the batch-wide passes. All
        // frames from one source in a batch get the same probe result, so
        // per-source order is kept.
        let mut deferred = 0;
        let mut misses = 0;
        for (i, (d, verdict)) in batch.descs[..n].iter_mut().zip(batch.verdicts[..n].iter_mut()).enumerate() {
            *verdict = ingress(plan, &self.cache, &mut self.scratch, i, d, io, now_s, obs);
            let miss = self.scratch.learn_miss[i];
            misses += miss as usize;
            let defer = matches!(*verdict, Verdict::Pending) && (miss || big_table);
            self.scratch.deferred[i] = defer;
            if defer {
                deferred += 1;
            } else {
                egress(plan, fdb, &self.counters, &self.scratch, i, d, verdict, io, obs, &mut tally);
            }
        }
        if deferred != 0 {
            // Pass 2: overlap the shared-table cache misses of the batch.
            if big_table {
                prefetch::run(fdb, batch, n, &self.scratch);
            }
            // Pass 3: report unknown, moved or stale sources to the writer.
            if misses != 0 {
                learn::report(fdb, &mut self.cache, &self.queue, &self.counters, batch, n, &self.scratch, now_s, obs);
            }
            // Pass 4: egress for the deferred frames.
            for (i, (d, verdict)) in batch.descs[..n].iter().zip(batch.verdicts[..n].iter_mut()).enumerate() {
                if self.scratch.deferred[i] {
                    egress(plan, fdb, &self.counters, &self.scratch, i, d, verdict, io, obs, &mut tally);
                }
            }
        }
        self.counters.forwarded.add(tally.forwarded);
        if tally.unknown != 0 {
            self.counters.unknown_unicast.add(tally.unknown);
        }
        batch.len = 0;
    }
}

/// Per-batch counts, added to the worker's counters once per batch.
#[derive(Default)]
struct Tally {
    forwarded: u64,
    unknown: u64,
}

/// Egress for one frame: destination lookup (if still undecided), then
/// output.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn egress<IO: FramePool + PortTx, O: Observer>(
    plan: &ForwardingPlan,
    fdb: &FdbTable,
    counters: &WorkerCounters,
    scratch: &Scratch,
    i: usize,
    d: &PktDesc,
    verdict: &mut Verdict,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally,
) {
    if matches!(*verdict, Verdict::Pending) {
        let (v, flood_cause) = forward::forward(fdb, d.bd, scratch.dst[i], d.in_port);
        if let Some(trace::FloodCause::UnknownUnicast) = flood_cause {
            tally.unknown += 1;
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
    tally.forwarded += output::output(plan, counters, i, d, *verdict, io, obs) as u64;
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
