//! The batch pipeline: parse → classify → learn → forward/flood → output.
//!
//! Each stage is a loop over the whole batch (VPP style), so a stage's code
//! and data stay hot while it runs over 32-64 frames. Stages communicate
//! through the batch's descriptors and verdicts and a small per-worker
//! scratch area; nothing allocates and nothing locks.
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
pub mod trace;

use std::sync::Arc;

pub use batch::{Batch, PktDesc, Verdict, MAX_BURST};
pub use counters::{Counter, CounterSnapshot, WorkerCounters};
pub use drop::DropReason;
pub use output::apply_egress_tag;
pub use trace::{NoTrace, Observer, TraceEvent, TraceLog};

use crate::bridge::ForwardingPlan;
use crate::fdb::{FdbTable, LearnCache, LearnQueue};
use crate::port::{FramePool, PortTx};
use crate::types::Nanos;

/// Per-frame facts one stage leaves for the next, indexed like the batch.
#[derive(Clone, Debug)]
pub(crate) struct Scratch {
    /// Source MAC as u64.
    pub src: [u64; MAX_BURST],
    /// Destination MAC as u64.
    pub dst: [u64; MAX_BURST],
    /// EtherType at offset 12 (a TPID when tagged).
    pub ethertype: [u16; MAX_BURST],
    /// TCI at offset 14, valid when `has_tci`.
    pub tci: [u16; MAX_BURST],
    /// Frame is long enough to hold a tag.
    pub has_tci: [bool; MAX_BURST],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { src: [0; MAX_BURST], dst: [0; MAX_BURST], ethertype: [0; MAX_BURST], tci: [0; MAX_BURST], has_tci: [false; MAX_BURST] }
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
    scratch: Box<Scratch>,
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
        Pipeline { cache: LearnCache::new(settings.refresh_after), queue, counters, scratch: Box::default() }
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
        parse::run(batch, n, io, &mut self.scratch, obs);
        classify::run(plan, batch, n, &self.scratch, obs);
        learn::run(fdb, &mut self.cache, &self.queue, &self.counters, batch, n, &self.scratch, now_s, obs);
        forward::run(fdb, &self.counters, batch, n, &self.scratch, obs);
        output::run(plan, &self.counters, batch, n, io, obs);
        batch.len = 0;
    }
}

#[cfg(test)]
mod tests;
