//! The batch pipeline: parse → classify → learn → forward/flood → output.
//!
//! Each stage is a function in its own file, composed statically into two
//! halves per frame:
//!
//! 1. `ingress`: `parse` → `classify` → learn-cache
//!    probe (the worker's private cache; a miss also checks the source may
//!    be learned at all);
//! 2. `finish`: `learn` (only on a learn-cache miss: the shared
//!    table, and an event to the FDB writer when the source is new, moved or
//!    stale) → `forward` (destination lookup) →
//!    `output` (tag rewrite, flood replication, send or recycle).
//!
//! and two ways to run them over a batch, chosen once per batch:
//!
//! * `process_in_cache`: the FDB's live entries fit in the CPU caches, so
//!   each frame runs both halves in one go while its header is in registers;
//! * `process_prefetched`: the FDB is far bigger than the caches (1M MACs
//!   is 16 MiB), so a frame's ingress runs `prefetch::DISTANCE` frames
//!   ahead of its finish and prefetches (`prefetch`) the table slots its
//!   lookups will read; by the time the frame is finished they are loaded,
//!   and the cache misses overlap each other and the other frames' work
//!   instead of stalling one frame at a time.
//!
//! Why not one loop per stage (VPP's vectors)? A batch of 32-64 descriptors
//! sits in L1 either way; per-stage loops only add a reload and re-check of
//! each frame's state at every stage (measured: about a third of the
//! instructions per packet). A batch-wide split is kept only where the
//! whole batch matters: before the shared-table accesses of a large table.
//! Nothing allocates and nothing locks.
//!
//! Overlays run out of line, only for the batches of a plan that has one
//! ([`overlay_batch`]): `decap` takes the frames of a VTEP's underlay port
//! after the L2 loop has set them aside (classify gives them no domain),
//! and `encap` wraps the backend, so a send to a tunnel port leaves
//! encapsulated. A plan without an overlay runs the L2 loop alone.

mod acl;
mod batch;
mod classify;
mod counters;
mod decap;
mod drop;
mod encap;
mod forward;
mod learn;
pub mod meta;
mod output;
mod parse;
mod prefetch;
mod suppress;
pub mod trace;

use std::sync::Arc;

pub use batch::{Batch, PktDesc, Verdict, MAX_BURST};
pub use counters::{Counter, CounterSnapshot, RuleCounters, TunnelCounters, WorkerCounters, TUNNEL_COUNTERS};
pub use drop::DropReason;
pub use encap::OverlayState;
pub use meta::{GeneveOptionMeta, TunnelMeta, TunnelMetas};
pub use output::apply_egress_tag;
pub use trace::{NoTrace, Observer, TraceEvent, TraceLog};

use crate::bridge::ForwardingPlan;
use crate::fdb::{FdbKey, FdbTable, Home, LearnCache, LearnQueue};
use crate::flow::{FlowCache, FlowPlan};
use crate::overlay::OverlayPlan;
use crate::port::{FramePool, PortTx};
use crate::types::Nanos;
use output::drop_desc;
use parse::Parsed;

/// What the large-table path's ingress of a frame leaves for its finish, indexed
/// like the batch.
#[derive(Clone, Debug)]
pub(crate) struct Scratch {
    /// Each frame's ingress result (meaningful where `ready` has its bit).
    pub frames: [Ingress; MAX_BURST],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { frames: [Ingress::default(); MAX_BURST] }
    }
}

/// A frame that passed ingress: its FDB keys (and, on the large-table path,
/// their hashes, `Home`). 32 bytes, no padding, so storing one in the scratch
/// array copies no stray bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ingress {
    /// (domain, source MAC).
    pub src: FdbKey,
    /// (domain, destination MAC); the MAC part may be a group address.
    pub dst: FdbKey,
    /// `src`'s hash: set by the large-table path's ingress only.
    pub src_home: Home,
    /// `dst`'s hash: set by the large-table path's ingress only.
    pub dst_home: Home,
}

/// Tunables of a worker's pipeline.
#[derive(Clone, Copy, Debug)]
pub struct PipelineSettings {
    /// Seconds for which the learn cache vouches for a source before it asks
    /// the shared table again (which says whether the writer wants a
    /// refresh report). A quarter of the aging time: see
    /// [`refresh_interval`](crate::fdb::refresh_interval).
    pub refresh_after: u32,
}

impl PipelineSettings {
    /// Settings derived from the configured FDB aging time (the writer's
    /// [`refresh_interval`](crate::fdb::refresh_interval) of the aging time
    /// it applies).
    pub fn for_aging(aging_secs: u32) -> PipelineSettings {
        PipelineSettings { refresh_after: crate::fdb::refresh_interval(crate::fdb::effective_aging(aging_secs)) }
    }
}

/// One worker's pipeline: its private learn cache, its learn queue to the
/// FDB writer, its counters, scratch space, and its overlay state.
pub struct Pipeline {
    cache: LearnCache,
    queue: Arc<LearnQueue>,
    counters: Arc<WorkerCounters>,
    scratch: Scratch,
    overlay: OverlayState,
    /// The side array of the batch's decapsulated frames.
    tunnel_meta: TunnelMetas,
    /// The flow cache in front of the plan's flow rules.
    flows: FlowCache,
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
        Pipeline {
            cache: LearnCache::new(settings.refresh_after),
            queue,
            counters,
            scratch: Scratch::default(),
            overlay: OverlayState::default(),
            tunnel_meta: TunnelMetas::default(),
            flows: FlowCache::default(),
        }
    }

    /// The metadata of the frames the last batch decapsulated, by their
    /// index in it (flow rules and tests read it).
    pub fn tunnel_meta(&self) -> &TunnelMetas {
        &self.tunnel_meta
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
            // An empty batch is the worker's periodic tick (see
            // `io_afxdp::worker::Processor`): the overlay's timers.
            if let Some(ov) = plan.overlay.as_deref() {
                let now_s = now.as_secs_u32();
                encap::EncapTx::<_, NoTrace>::new(io, plan, fdb, ov, &self.counters, &mut self.overlay, now_s).tick();
            }
            return;
        }
        if self.cache.sync(fdb) {
            self.counters.learn_cache_resets.add(1);
        }
        self.counters.batches.add(1);
        self.counters.packets.add(n as u64);
        let Pipeline { cache, queue, counters, scratch, overlay, tunnel_meta, flows } = self;
        let counters: &WorkerCounters = counters;
        let ctx = Ctx { plan, fdb, queue, counters, now_s: now.as_secs_u32() };
        let mut state = (cache, scratch, overlay, tunnel_meta);
        let frames = &mut batch.descs[..n];
        let (sent, slow) = match plan.flows.as_deref() {
            None => (n, switch(ctx, &mut state, frames, io, obs)),
            Some(rules) => with_rules(ctx, rules, flows, &mut state, frames, io, obs),
        };
        // Every frame the slow ways did not take was sent by `unicast`'s
        // common path.
        counters.forwarded.add((sent - slow) as u64);
        batch.len = 0;
    }
}

/// A worker's per-batch state, as [`switch`] takes it.
type BatchState<'s> = (&'s mut LearnCache, &'s mut Scratch, &'s mut OverlayState, &'s mut TunnelMetas);

/// The L2 path, and the overlay's when the plan has one, over `frames`.
/// Returns how many frames took a slow way out (see [`Tally`]).
#[inline(always)]
fn switch<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    (cache, scratch, overlay, tunnel_meta): &mut BatchState<'_>,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) -> usize {
    let mut tally = Tally::default();
    match ctx.plan.overlay.as_deref() {
        None => process_l2(ctx, cache, &mut tally, scratch, frames, io, obs),
        Some(ov) => overlay_batch(ctx, ov, cache, &mut tally, scratch, (overlay, tunnel_meta), frames, io, obs),
    }
    tally.slow
}

/// A batch of a plan with flow rules: the ingress rules first (`acl`),
/// then [`switch`] over the frames they let through. Returns (frames
/// switched, frames of those that took a slow way out). Out of line, so
/// that a plan without rules does not carry it.
#[inline(never)]
fn with_rules<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    rules: &FlowPlan,
    flows: &mut FlowCache,
    state: &mut BatchState<'_>,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) -> (usize, usize) {
    let mut orig = [0; MAX_BURST];
    let kept = acl::ingress(ctx.plan, rules, flows, ctx.counters, frames, io, obs, &mut orig);
    let frames = &mut frames[..kept];
    // Only a trace needs the frames' received indexes; the workers' path
    // runs the very code a plan without rules does.
    let slow = if O::ENABLED {
        switch(ctx, state, frames, io, &mut acl::Reindexed { obs, orig })
    } else {
        switch(ctx, state, frames, io, obs)
    };
    (kept, slow)
}

/// How many frames of a batch took a slow way out: dropped (by
/// [`drop_desc`], which counts it), flooded, or sent by `unicast`'s general
/// path (which counts it as forwarded itself). The batch's other frames
/// were all sent by `unicast`'s common path, which therefore counts
/// nothing: [`Pipeline::process`] adds them to the `forwarded` counter once
/// per batch. (Out-of-line callees update this through a reference, so it
/// lives in memory, not in a register the per-frame code would miss.)
///
/// On a plan with an overlay it also carries the overlay, and the frames of
/// underlay ports that the reject path set aside for the underlay stage
/// (see `decap`).
#[derive(Default)]
pub(crate) struct Tally<'a> {
    slow: usize,
    /// Bit `i`: frame `i` waits for the underlay stage.
    deferred: u64,
    /// The plan's overlay, on the batches of a plan that has one.
    overlay: Option<&'a OverlayPlan>,
    /// The address of the batch's first descriptor, from which the reject
    /// path finds a deferred frame's index (see `decap::defer`).
    base: usize,
}

impl Tally<'_> {
    /// Counts one frame that took a slow way out.
    #[inline(always)]
    pub(crate) fn slow(&mut self) {
        self.slow += 1;
    }
}

/// The L2 path over a batch, in the way the FDB's size calls for.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn process_l2<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    tally: &mut Tally<'_>,
    scratch: &mut Scratch,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) {
    if prefetch::wanted(ctx.fdb) {
        process_prefetched(ctx, cache, tally, scratch, frames, io, obs);
    } else {
        process_in_cache(ctx, cache, tally, frames, io, obs);
    }
}

/// A batch of a plan with an overlay: the L2 path with the backend wrapped
/// for encapsulation, then the underlay stage over the frames the L2 path
/// set aside. Out of line, so that an L2-only plan's batches do not carry
/// it.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn overlay_batch<'p, IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'p>,
    ov: &'p OverlayPlan,
    cache: &mut LearnCache,
    tally: &mut Tally<'p>,
    scratch: &mut Scratch,
    (state, metas): (&mut OverlayState, &mut TunnelMetas),
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) {
    let mut tx = encap::EncapTx::<_, O>::new(io, ctx.plan, ctx.fdb, ov, ctx.counters, state, ctx.now_s);
    tally.overlay = Some(ov);
    tally.base = frames.as_ptr() as usize;
    // A batch from one VTEP's port (a backend fills a batch from one rx
    // queue) goes straight to the underlay stage, as VPP's per-interface
    // input does; other batches take the L2 loop, which sets aside what is
    // for the underlay stage.
    if decap::direct(ctx.plan, ov, frames) {
        decap::admit(ctx, tally, frames, &mut tx, obs);
    } else {
        process_l2(ctx, cache, tally, scratch, frames, &mut tx, obs);
    }
    if tally.deferred != 0 {
        decap::underlay_pass(ctx, ov, cache, tally, frames, metas, &mut tx, obs);
    }
}

/// The batch when everything its frames need is cache-resident: one pass,
/// each frame from parse to output while its header is in registers.
#[inline(never)]
fn process_in_cache<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    tally: &mut Tally<'_>,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) {
    for (i, d) in frames.iter_mut().enumerate() {
        one_in_cache(ctx, cache, tally, i, d, io, obs);
    }
}

/// [`process_in_cache`] for frame `i`; also the way of a decapsulated
/// inner frame.
#[inline(always)]
fn one_in_cache<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    tally: &mut Tally<'_>,
    i: usize,
    d: &mut PktDesc,
    io: &mut IO,
    obs: &mut O,
) {
    let Some(p) = classified_or_dropped(ctx, i, d, io, obs, tally) else { return };
    // The destination's kind, tested once: the rest of the frame's way
    // is compiled once for each kind, so a unicast frame skips the
    // reserved-destination check (those are group addresses) and the
    // forward stage's group test.
    if p.dst_is_group() {
        rest_in_cache::<{ dst::GROUP }, _, _>(ctx, cache, i, d, &p, io, obs, tally);
    } else {
        rest_in_cache::<{ dst::UNICAST }, _, _>(ctx, cache, i, d, &p, io, obs, tally);
    }
}

/// [`process_in_cache`] for one classified frame whose destination is of
/// the kind `DST`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rest_in_cache<const DST: u8, IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    i: usize,
    d: &PktDesc,
    p: &Parsed,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) {
    match ingress::<true, DST, _>(ctx.plan, cache, i, d, p, ctx.now_s, obs) {
        Ok((f, known)) => finish::<false, DST, _, _>(ctx, cache, i, d, f, known, io, obs, tally),
        Err(reason) => drop_desc(io, ctx.counters, obs, i, d, reason, tally),
    }
}

/// The batch when the FDB is bigger than the caches, software-pipelined:
/// frame `i + D` (`D` = [`prefetch::DISTANCE`]) is ingressed and its table
/// slots prefetched just before frame `i` is finished, so each frame's
/// slots have had `D` frames' work to arrive, and the misses overlap that
/// work as well as each other. Frames are finished in batch order, and no
/// frame's ingress sees the effects of an earlier frame's finish that the
/// small-table path would show it: ingress reads only the plan, and the
/// learn events that change the table are applied after the batch.
#[inline(never)]
fn process_prefetched<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    tally: &mut Tally<'_>,
    scratch: &mut Scratch,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
) {
    let n = frames.len();
    let Some(scratch) = scratch.frames.get_mut(..n) else { return };
    // Bit `i`: frame `i` passed ingress and waits in `scratch[i]`.
    let mut ready = 0u64;
    let lead = n.min(prefetch::DISTANCE);
    for i in 0..lead {
        ready |= start_prefetched(ctx, cache, i, frames, scratch, io, obs, tally);
    }
    for i in lead..n {
        ready |= start_prefetched(ctx, cache, i, frames, scratch, io, obs, tally);
        finish_prefetched(ctx, cache, i - prefetch::DISTANCE, frames, scratch, ready, io, obs, tally);
    }
    for j in n.saturating_sub(prefetch::DISTANCE)..n {
        finish_prefetched(ctx, cache, j, frames, scratch, ready, io, obs, tally);
    }
}

/// The first half of [`process_prefetched`] for frame `i`: classify and
/// ingress it (without the learn-cache probe: on this path the shared table
/// is asked about every source), keep the result in `scratch[i]` and
/// prefetch the slots its lookups will read. Returns frame `i`'s `ready`
/// bit, or 0 once a frame that failed has been dropped and counted.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn start_prefetched<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    i: usize,
    frames: &mut [PktDesc],
    scratch: &mut [Ingress],
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) -> u64 {
    let (Some(d), Some(slot)) = (frames.get_mut(i), scratch.get_mut(i)) else { return 0 };
    let Some(p) = classified_or_dropped(ctx, i, d, io, obs, tally) else { return 0 };
    // As in `process_in_cache`: unicast frames skip the reserved-destination
    // check.
    let ingressed = if p.dst_is_group() {
        ingress::<false, { dst::GROUP }, _>(ctx.plan, cache, i, d, &p, ctx.now_s, obs)
    } else {
        ingress::<false, { dst::UNICAST }, _>(ctx.plan, cache, i, d, &p, ctx.now_s, obs)
    };
    match ingressed {
        Ok((mut f, _)) => {
            prefetch::prefetch(ctx.fdb, &mut f);
            *slot = f;
            1 << i
        }
        Err(reason) => {
            drop_desc(io, ctx.counters, obs, i, d, reason, tally);
            0
        }
    }
}

/// The second half of [`process_prefetched`] for frame `j`, if it passed
/// the first (its bit is set in `ready`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish_prefetched<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    j: usize,
    frames: &[PktDesc],
    scratch: &[Ingress],
    ready: u64,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) {
    if ready & (1 << j) == 0 {
        return;
    }
    if let (Some(d), Some(&f)) = (frames.get(j), scratch.get(j)) {
        // Without the probe, the learn cache never vouches: `known` is false.
        finish::<true, { dst::ANY }, _, _>(ctx, cache, j, d, f, false, io, obs, tally);
    }
}

/// What every frame of a batch shares.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    plan: &'a ForwardingPlan,
    fdb: &'a FdbTable,
    queue: &'a LearnQueue,
    counters: &'a WorkerCounters,
    now_s: u32,
}

/// What the code handling a frame knows of its destination MAC: the `DST`
/// parameter of [`ingress`] and [`finish`].
mod dst {
    /// Not tested yet.
    pub(super) const ANY: u8 = 0;
    /// An individual (unicast) address.
    pub(super) const UNICAST: u8 = 1;
    /// A group (multicast or broadcast) address.
    pub(super) const GROUP: u8 = 2;
}

/// [`classified`], or `None` once a frame that failed it has been dropped
/// and counted: how both batch loops start on a frame.
#[inline(always)]
fn classified_or_dropped<IO: FramePool, O: Observer>(
    ctx: Ctx<'_>,
    i: usize,
    d: &mut PktDesc,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) -> Option<Parsed> {
    match classified(ctx.plan, i, d, io, obs) {
        Ok(p) => Some(p),
        Err(reason) => {
            drop_desc(io, ctx.counters, obs, i, d, reason, tally);
            None
        }
    }
}

/// The first half of ingress for one frame: its bytes, parse and classify.
/// Sets the descriptor's domain and tag fields.
///
/// A reserved destination (01:80:c2:00:00:0X) is dropped as such, as
/// always, before anything but a frame that does not fit its buffer or is
/// a runt; but for a frame classify accepts, that check is [`ingress`]'s
/// (and only for group destinations), and here only on classify's failure
/// paths, so that the unicast frames need not make it.
#[inline(always)]
fn classified<P: FramePool, O: Observer>(
    plan: &ForwardingPlan,
    i: usize,
    d: &mut PktDesc,
    io: &P,
    obs: &mut O,
) -> Result<Parsed, DropReason> {
    let Some(bytes) = io.frame(d.buf, d.head, d.len) else { return Err(drop::reject(DropReason::Truncated)) };
    if O::ENABLED {
        trace_parsed(obs, i, bytes);
    }
    let Some(p) = parse::fast(bytes) else { return short_classified(plan, d, bytes) };
    classify_into(plan, d, p, bytes)
}

/// Classifies the frame `bytes`, parsed as `p`, into `d`'s domain and tag
/// fields.
#[inline(always)]
fn classify_into(plan: &ForwardingPlan, d: &mut PktDesc, p: Parsed, bytes: &[u8]) -> Result<Parsed, DropReason> {
    let c = classify::classify(plan, d.in_port, &p, bytes).map_err(|reason| parse::reserved_or(p, reason))?;
    d.bd = c.bd;
    d.tag_len = c.tag_len;
    d.pcp = c.pcp;
    Ok(p)
}

/// [`classified`] for a frame shorter than parse's fast path reads (a runt,
/// or a header without room for a tag): the whole of parse and classify,
/// out of line. Were the common path to call out for the short header and
/// then go on, the frame's bytes, which classify may read, would have to
/// survive the call, and would take registers the common path needs.
#[cold]
#[inline(never)]
fn short_classified(plan: &ForwardingPlan, d: &mut PktDesc, bytes: &[u8]) -> Result<Parsed, DropReason> {
    classify_into(plan, d, parse::parse(bytes)?, bytes)
}

/// The second half of ingress for one classified frame whose destination is
/// of the kind `DST`: the reserved-destination check (unless `DST` says
/// unicast), and (with `PROBE`) the learn-cache probe. Returns the keys and
/// whether the learn cache vouched for the source (known on this port, and
/// fresh).
///
/// Without `PROBE` the source counts as not vouched for, and [`finish`]
/// asks the shared table first: with a table far bigger than the caches the
/// private cache almost never holds the source, and probing it would only
/// cost instructions.
#[inline(always)]
fn ingress<const PROBE: bool, const DST: u8, O: Observer>(
    plan: &ForwardingPlan,
    cache: &LearnCache,
    i: usize,
    d: &PktDesc,
    p: &Parsed,
    now_s: u32,
    obs: &mut O,
) -> Result<(Ingress, bool), DropReason> {
    if DST != dst::UNICAST {
        parse::check_reserved(p)?;
    }
    let bd = d.bd;
    let src = p.src_key(bd);
    let known = PROBE && cache.probe(src, d.in_port, now_s);
    if !known {
        // Checks a learn-cache hit proves passed (the cache holds only
        // sources of frames that passed them): see `classify::classify`
        // and `learn::check_source`.
        classify::check_domain(plan, d.in_port, bd)?;
        learn::check_source(src)?;
    }
    if O::ENABLED {
        obs.event(i, TraceEvent::Classified { port: d.in_port, bd, tag_len: d.tag_len });
        if known {
            obs.event(i, TraceEvent::Learned(crate::fdb::LearnOutcome::Known));
        }
    }
    Ok((Ingress { src, dst: p.dst_key(bd), src_home: Home::default(), dst_home: Home::default() }, known))
}

/// The rest of a frame's way: learn (unless the learn cache vouched for the
/// source: `known`), forward (destination lookup), output. With `TABLE_FIRST` the
/// learn step asks the shared table before the learn cache (see
/// [`ingress`]). `DST` is what the caller knows of the destination.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish<const TABLE_FIRST: bool, const DST: u8, IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    cache: &mut LearnCache,
    i: usize,
    d: &PktDesc,
    f: Ingress,
    known: bool,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) {
    if !known {
        let learned = learn::learn::<TABLE_FIRST, O>(
            ctx.fdb,
            cache,
            ctx.queue,
            ctx.counters,
            f.src,
            f.src_home,
            d.in_port,
            ctx.now_s,
            i,
            obs,
        );
        if let Err(reason) = learned {
            drop_desc(io, ctx.counters, obs, i, d, reason, tally);
            return;
        }
    }
    let dst_home = || if TABLE_FIRST { f.dst_home } else { ctx.fdb.home(f.dst) };
    let verdict = match DST {
        dst::GROUP => Verdict::Flood,
        dst::UNICAST => forward::lookup(ctx.fdb, dst_home()),
        _ => forward::forward(ctx.fdb, f.dst, dst_home),
    };
    match verdict {
        Verdict::Forward(port) => output::unicast(ctx.plan, ctx.counters, i, d, port, io, obs, tally),
        Verdict::Flood => {
            if let Some(ov) = tally.overlay.filter(|ov| !ov.suppression.is_empty()) {
                if suppress::answered(ctx.plan, ov, ctx.counters, ctx.now_s, i, d, io, obs, tally) {
                    return;
                }
            }
            let cause = forward::flood_cause(f.dst);
            if cause == trace::FloodCause::UnknownUnicast {
                ctx.counters.unknown_unicast.add(1);
            }
            if O::ENABLED {
                obs.event(i, TraceEvent::Flood(cause));
            }
            tally.slow();
            output::flood(ctx.plan, ctx.counters, i, d, io, obs);
        }
        Verdict::Drop(reason) => drop_desc(io, ctx.counters, obs, i, d, reason, tally),
    }
}

/// The trace's view of a frame's header, taken before parse judges it, so a
/// trace shows the addresses of frames parse drops.
#[cold]
pub(super) fn trace_parsed<O: Observer>(obs: &mut O, i: usize, bytes: &[u8]) {
    if let Ok(f) = crate::wire::EthernetFrame::new_checked(bytes) {
        let tci = bytes.get(14..16).map(|b| u16::from_be_bytes([b[0], b[1]]));
        obs.event(i, TraceEvent::Parsed { dst: f.dst_addr(), src: f.src_addr(), ethertype: f.ethertype(), tci });
    }
}

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod tests;
