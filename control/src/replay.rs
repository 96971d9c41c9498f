//! `xvs replay`: the real pipeline over pcap input, offline.
//!
//! Frames from every input file are merged in timestamp order (ties keep
//! file order, then position in the file) and fed to one in-memory switch
//! ([`switch_core::sim::SwitchSim`]) with the configured batch size. A batch
//! holds frames that arrived within [`BATCH_WINDOW`] of each other and never
//! spans two seconds of capture time, and the FDB ages whenever the second
//! changes, as the control thread does once a second on a live switch.
//! The output is one pcap per port plus `summary.json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use switch_core::bridge::PlanError;
use switch_core::pipeline::MAX_BURST;
use switch_core::sim::SwitchSim;
use switch_core::{Nanos, PortId};
use xvs_config::Config;

use crate::pcapio::{read_capture, write_capture, Captured, PcapIoError};
use crate::views;

/// One `--in PORT=FILE` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayInput {
    /// Port name from the config.
    pub port: String,
    /// Capture file.
    pub path: PathBuf,
}

impl std::str::FromStr for ReplayInput {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (port, path) = s.split_once('=').ok_or_else(|| format!("expected PORT=FILE, got {s:?}"))?;
        if port.is_empty() || path.is_empty() {
            return Err(format!("expected PORT=FILE, got {s:?}"));
        }
        Ok(ReplayInput { port: port.to_string(), path: PathBuf::from(path) })
    }
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// `--in` names a port the config does not have.
    #[error("--in {port}=...: no port named {port:?} in the config (ports: {known})")]
    UnknownPort {
        /// The name given.
        port: String,
        /// The config's port names.
        known: String,
    },
    /// A capture could not be read or written.
    #[error(transparent)]
    Pcap(#[from] PcapIoError),
    /// The config's switch could not be compiled.
    #[error("config: {0}")]
    Plan(#[from] PlanError),
    /// The config's flow rules could not be compiled.
    #[error("config: flow {0}")]
    Flows(#[from] switch_core::flow::SpecError),
    /// The output directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Frames join one batch only if they arrived within this window of the
/// batch's first frame: a live worker polling continuously would have picked
/// up frames further apart in separate bursts, after learning from the first.
pub const BATCH_WINDOW: Duration = Duration::from_micros(50);

/// A frame from an input capture, bound to its ingress port.
pub(crate) struct Timed {
    pub ts: Duration,
    pub port: PortId,
    pub data: Vec<u8>,
}

/// Reads every input and merges the frames in timestamp order (stable: equal
/// timestamps keep file order, then capture order).
pub(crate) fn load_inputs(sim: &SwitchSim, inputs: &[ReplayInput]) -> Result<Vec<Timed>, ReplayError> {
    let mut frames: Vec<Timed> = Vec::new();
    for input in inputs {
        let port = sim.plan.port_id(&input.port).ok_or_else(|| ReplayError::UnknownPort {
            port: input.port.clone(),
            known: sim.plan.ports.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        frames.extend(read_capture(&input.path)?.into_iter().map(|c| Timed { ts: c.ts, port, data: c.data }));
    }
    frames.sort_by_key(|f| f.ts);
    Ok(frames)
}

/// Feeds frames through the switch in batches that never span two seconds,
/// aging the FDB whenever the second changes, and hands every transmitted
/// frame to `out`.
pub(crate) fn drive(sim: &mut SwitchSim, frames: &[Timed], mut out: impl FnMut(PortId, Captured)) {
    let mut aged_at: Option<u64> = None;
    let mut i = 0;
    while i < frames.len() {
        let ts = frames[i].ts;
        let second = ts.as_secs();
        if aged_at.is_some_and(|s| second > s) {
            sim.writer.age(second as u32);
        }
        aged_at = Some(second);
        sim.now = Nanos(ts.as_nanos() as u64);
        let mut n = 0;
        while i < frames.len()
            && n < sim.batch_size
            && frames[i].ts.as_secs() == second
            && frames[i].ts - ts <= BATCH_WINDOW
        {
            sim.inject(frames[i].port, &frames[i].data);
            i += 1;
            n += 1;
        }
        sim.run();
        for (port, data) in sim.take_all_tx() {
            out(port, Captured { ts, data });
        }
    }
}

/// The in-memory switch of `config`, flow rules included, with `chunks`
/// buffers: what `replay` and `trace` run on.
pub fn sim_for(config: &Config, chunks: usize) -> Result<SwitchSim, ReplayError> {
    let mut sim = SwitchSim::with_chunks(&config.spec, chunks)?;
    let flows = crate::flows::FlowStore::from_config(&config.flows);
    sim.plan = std::sync::Arc::new(flows.apply(&sim.plan)?);
    Ok(sim)
}

/// Runs a replay and writes `out_dir/<port>.pcap` and `out_dir/summary.json`.
/// Returns the summary.
pub fn replay(config: &Config, inputs: &[ReplayInput], out_dir: &Path) -> Result<serde_json::Value, ReplayError> {
    let mut sim = sim_for(config, 8192)?;
    sim.batch_size = config.switch.batch_size.clamp(1, MAX_BURST);
    sim.io.set_capture(true);

    let frames = load_inputs(&sim, inputs)?;
    let mut outputs: Vec<Vec<Captured>> = vec![Vec::new(); sim.plan.ports.len()];
    drive(&mut sim, &frames, |port, c| outputs[port.index()].push(c));

    std::fs::create_dir_all(out_dir).map_err(|source| ReplayError::Io { path: out_dir.to_path_buf(), source })?;
    for (p, frames) in outputs.iter().enumerate() {
        write_capture(&out_dir.join(format!("{}.pcap", sim.plan.ports[p].name)), frames)?;
    }

    let summary = summarize(&sim, frames.len());
    let path = out_dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    std::fs::write(&path, text).map_err(|source| ReplayError::Io { path, source })?;
    Ok(summary)
}

fn summarize(sim: &SwitchSim, frames_in: usize) -> serde_json::Value {
    let counters = sim.pipeline.counters().snapshot();
    let now = sim.now.as_secs_u32();
    let ports: serde_json::Map<_, _> = sim
        .plan
        .ports
        .iter()
        .zip(sim.io.port_stats())
        .map(|(p, s)| {
            (
                p.name.clone(),
                json!({
                    "rx_packets": s.rx_packets,
                    "rx_bytes": s.rx_bytes,
                    "rx_too_big": s.rx_too_big,
                    "tx_packets": s.tx_packets,
                    "tx_bytes": s.tx_bytes,
                }),
            )
        })
        .collect();
    json!({
        "frames_in": frames_in,
        "ports": ports,
        "drops": views::drop_map(&counters),
        "counters": views::counter_map(&counters),
        "fdb": views::fdb_rows(&sim.plan, &sim.writer.entries(), now),
        "fdb_stats": views::fdb_stats_json(&sim.writer.stats()),
        "mac_moves": views::move_rows(&sim.plan, sim.writer.recent_moves()),
    })
}
