//! A single-threaded switch in memory: one pipeline, its FDB writer and a
//! [`MemIo`] backend, driven by a caller-controlled clock.
//!
//! This is the harness for unit tests, `xvs replay`, `xvs trace` and the
//! benchmarks, in the spirit of quinn-proto's `Pair`: the same stage code as
//! the AF_XDP workers, with time and I/O in the caller's hands. After every
//! batch the writer drains the learn queue, so results are deterministic.

use std::sync::Arc;

use crate::bridge::{FdbSpec, ForwardingPlan, PlanError, SwitchSpec};
use crate::fdb::{FdbWriter, LearnQueue};
use crate::pipeline::{Batch, NoTrace, Observer, Pipeline, PipelineSettings, WorkerCounters, MAX_BURST};
use crate::port::memory::MemIo;
use crate::types::{Nanos, PortId};

/// Chunk size of the simulated UMEM: big enough for a 9000-byte jumbo frame
/// plus headroom.
pub const SIM_CHUNK: usize = crate::port::memory::CHUNK_SIZE;
/// Headroom in front of injected frames, as on AF_XDP ports.
pub const SIM_HEADROOM: u16 = 384;

/// The FDB hash key of a simulated switch whose spec sets none.
pub const SIM_HASH_SEED: u64 = 0x7876_7321;

/// The simulated switch. Fields are public so tests can inspect anything.
pub struct SwitchSim {
    /// The compiled plan.
    pub plan: Arc<ForwardingPlan>,
    /// The FDB writer (owns the shared table).
    pub writer: FdbWriter,
    /// The worker pipeline.
    pub pipeline: Pipeline,
    /// The in-memory ports.
    pub io: MemIo,
    /// Frames per batch (1..=64).
    pub batch_size: usize,
    /// The current time.
    pub now: Nanos,
    queue: Arc<LearnQueue>,
    batch: Batch,
}

impl core::fmt::Debug for SwitchSim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SwitchSim").field("now", &self.now).finish_non_exhaustive()
    }
}

impl SwitchSim {
    /// Compiles `spec` and builds a switch with `chunks` buffers.
    pub fn with_chunks(spec: &SwitchSpec, chunks: usize) -> Result<SwitchSim, PlanError> {
        let plan = Arc::new(ForwardingPlan::compile(spec)?);
        // A fixed hash key unless the spec names one: where entries land
        // decides eviction candidates, and a replay must give the same
        // result every time.
        let fdb = FdbSpec { hash_seed: spec.fdb.hash_seed.or(Some(SIM_HASH_SEED)), ..spec.fdb.clone() };
        let writer = FdbWriter::new(&fdb, &plan);
        let queue = Arc::new(LearnQueue::new(4096));
        let pipeline = Pipeline::new(
            PipelineSettings::for_aging(spec.fdb.aging_secs),
            queue.clone(),
            Arc::new(WorkerCounters::default()),
        );
        Ok(SwitchSim {
            io: MemIo::new(plan.ports.len(), chunks, SIM_HEADROOM),
            plan,
            writer,
            pipeline,
            batch_size: 32,
            now: Nanos(0),
            queue,
            batch: Batch::new(),
        })
    }

    /// Compiles `spec` and builds a switch with 4096 buffers.
    pub fn new(spec: &SwitchSpec) -> Result<SwitchSim, PlanError> {
        SwitchSim::with_chunks(spec, 4096)
    }

    /// Queues a frame as received on `port`. A frame longer than the port's
    /// `max_frame` (its MTU, plus the Ethernet header and one tag) is
    /// refused and counted as `rx_too_big`, as the real path never sees one:
    /// the kernel drops it before AF_XDP.
    pub fn inject(&mut self, port: PortId, frame: &[u8]) -> bool {
        let max = self.plan.ports.get(port.index()).map_or(u16::MAX, |p| p.max_frame);
        if frame.len() > usize::from(max) {
            self.io.port_stats_mut(port).rx_too_big += 1;
            return false;
        }
        self.io.inject(port, frame)
    }

    /// Replaces the flow rules (compiled against the plan's ports), as the
    /// control plane does: the next batch sees all of them or none.
    pub fn set_flows(&mut self, rules: &[(u32, crate::flow::FlowRule)]) -> Result<(), crate::flow::SpecError> {
        let flows =
            if rules.is_empty() { None } else { Some(Arc::new(crate::flow::FlowPlan::compile(rules, &self.plan)?)) };
        self.plan = Arc::new(self.plan.with_flows(flows));
        Ok(())
    }

    /// Processes every queued frame, batch by batch, applying learn events
    /// after each batch.
    pub fn run(&mut self) {
        self.run_observed(&mut NoTrace);
    }

    /// [`SwitchSim::run`] with an observer (frame indexes restart per batch).
    pub fn run_observed<O: Observer>(&mut self, obs: &mut O) {
        let size = self.batch_size.clamp(1, MAX_BURST);
        while self.io.fill_batch(&mut self.batch, size) > 0 {
            let fdb = self.writer.shared().load_full();
            self.pipeline.process(&self.plan, &fdb, &mut self.batch, &mut self.io, self.now, obs);
            self.writer.drain(std::slice::from_ref(&self.queue), usize::MAX);
        }
    }

    /// Runs the worker's periodic tick (an empty batch, as io-afxdp's
    /// workers send about once a second): the overlay's timers.
    pub fn tick(&mut self) {
        let fdb = self.writer.shared().load_full();
        self.batch.clear();
        self.pipeline.process(&self.plan, &fdb, &mut self.batch, &mut self.io, self.now, &mut NoTrace);
    }

    /// Sends one frame through and returns what came out, per port.
    pub fn send(&mut self, port: PortId, frame: &[u8]) -> Vec<(PortId, Vec<u8>)> {
        self.inject(port, frame);
        self.run();
        self.take_all_tx()
    }

    /// Takes everything transmitted so far, in port order.
    pub fn take_all_tx(&mut self) -> Vec<(PortId, Vec<u8>)> {
        let mut out = Vec::new();
        for p in 0..self.plan.ports.len() {
            let port = PortId(p as u16);
            out.extend(self.io.take_tx(port).into_iter().map(|f| (port, f)));
        }
        out
    }

    /// Moves the clock forward and runs aging. Returns entries aged out.
    pub fn advance_secs(&mut self, secs: u64) -> usize {
        self.now = Nanos(self.now.0 + secs * 1_000_000_000);
        self.writer.age(self.now.as_secs_u32())
    }
}
