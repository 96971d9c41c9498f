//! `xvs run`: the switch on AF_XDP ports.
//!
//! Threads:
//! * one poll-mode worker per configured CPU (io-afxdp), each owning some
//!   (port, queue) sockets, its pipeline, learn cache, learn queue and
//!   counters. Workers load the plan and FDB snapshots once per batch.
//! * the control thread (this one): drains learn queues into the FDB writer,
//!   ages entries once a second, and answers API requests. It is the only
//!   writer of switch state, so nothing the workers read is ever locked.
//! * the API thread (axum on a current-thread runtime), which only moves
//!   requests to the control thread and answers back; it also serves
//!   Prometheus `/metrics` on `metrics_listen`.
//!
//! Start-up validates every interface before touching any, so a typo never
//! leaves half the ports with XDP attached. Shutdown (SIGINT/SIGTERM) stops
//! the workers, closes the sockets (which detaches the XDP programs) and
//! removes the API socket.

mod afxdp_stats;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::cache::Cache;
use arc_swap::ArcSwap;
use io_afxdp::worker::{monotonic_now, spawn_worker, IdleBackoff, PollConfig, WorkerConfig};
use io_afxdp::{PortSet, PortSetConfig};
use switch_core::bridge::ForwardingPlan;
use switch_core::fdb::{FdbWriter, LearnQueue};
use switch_core::pipeline::{NoTrace, Pipeline, PipelineSettings, WorkerCounters};
use switch_core::PortId;
use xvs_config::{Config, Toggle};

use crate::api::server;
use crate::api::service::{ControlPlane, Reloader};
use crate::metrics::Metrics;

/// Learn events one worker may have in flight before it starts dropping
/// (and counting) them.
const LEARN_QUEUE_LEN: usize = 16384;

/// Why the switch could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A port has no `interface` key.
    #[error("port {0:?} has no interface; `xvs run` needs one for every port")]
    NoInterface(String),
    /// An interface does not exist (checked before any is touched).
    #[error("{0}")]
    Interface(io_afxdp::Error),
    /// The config's switch could not be compiled.
    #[error("config: {0}")]
    Plan(#[from] switch_core::bridge::PlanError),
    /// The config's flow rules could not be compiled.
    #[error("config: flow {0}")]
    Flows(#[from] switch_core::flow::SpecError),
    /// Opening AF_XDP sockets failed.
    #[error("AF_XDP: {0}")]
    Afxdp(io_afxdp::Error),
    /// The TCP API's token file is unusable.
    #[error("control.api_token_file {path}: {reason}")]
    ApiToken {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The control socket or the metrics listener could not be opened.
    #[error("{0}")]
    Api(#[from] server::StartError),
    /// A worker thread could not start.
    #[error("worker: {0}")]
    Worker(io_afxdp::Error),
    /// A VTEP's underlay interface has no readable MAC address (and the
    /// config sets none).
    #[error("interface {0:?}: cannot read its MAC address from /sys/class/net; set the vtep's `mac`")]
    NoInterfaceMac(String),
    /// A port's interface MTU could not be read.
    #[error("interface {0:?}: cannot read its MTU from /sys/class/net")]
    NoInterfaceMtu(String),
    /// A port's configured MTU is not its interface's.
    #[error("port {port:?}: mtu = {configured} in the config, but interface {interface:?} has MTU {actual}; set it with `ip link set {interface} mtu {configured}`, or remove the port's `mtu` to use the interface's")]
    MtuMismatch {
        /// Port name.
        port: String,
        /// Its interface.
        interface: String,
        /// The config's `mtu`.
        configured: u16,
        /// The interface's MTU.
        actual: u16,
    },
    /// A port has fewer queues than there are workers.
    #[error("port {port:?} has {queues} queue(s) but there are {workers} workers: a worker transmits only through queues it owns, so every port needs at least one queue per worker (set `queues = {workers}` or use fewer worker_cpus)")]
    TooFewQueues {
        /// Port name.
        port: String,
        /// Its queues.
        queues: u16,
        /// Configured workers.
        workers: usize,
    },
}

/// The TCP API's bearer token: the file's first line. The file must be
/// readable by its owner only, as an SSH key must.
fn read_token(path: &std::path::Path) -> Result<String, RunError> {
    use std::os::unix::fs::PermissionsExt;
    let refuse = |reason: String| RunError::ApiToken { path: path.display().to_string(), reason };
    let meta = std::fs::metadata(path).map_err(|e| refuse(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!("its mode is {mode:03o}, so others may read it; chmod 600 it")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.len() < 16 {
        return Err(refuse("the token (its first line) is shorter than 16 characters".into()));
    }
    Ok(token)
}

/// The spec `xvs run` compiles: the config's, with what comes from the
/// interfaces `names` (one per port) filled in. A VTEP without a configured
/// MAC uses its underlay interface's: peers address it there, and it sends
/// from there.
fn resolve_spec(config: &Config, names: &[String]) -> Result<switch_core::bridge::SwitchSpec, RunError> {
    let mut spec = config.spec.clone();
    for v in spec.overlay.vteps.iter_mut().filter(|v| v.mac.is_none()) {
        let Some(iface) = names.get(v.port) else { return Err(RunError::NoInterface(v.name.clone())) };
        v.mac = Some(interface_mac(iface).ok_or_else(|| RunError::NoInterfaceMac(iface.clone()))?);
        log::info!("vtep {} at {} uses {iface}'s MAC {}", v.name, v.address, v.mac.unwrap_or_default());
    }
    // Each port's MTU is its interface's: the kernel drops longer frames
    // unseen, so the plan drops them itself, counted (`egress_too_big`).
    for (p, iface) in spec.ports.iter_mut().zip(names) {
        let actual = interface_mtu(iface).ok_or_else(|| RunError::NoInterfaceMtu(iface.clone()))?;
        match p.mtu {
            Some(configured) if configured != actual => {
                let (port, interface) = (p.name.clone(), iface.clone());
                return Err(RunError::MtuMismatch { port, interface, configured, actual });
            }
            _ => p.mtu = Some(actual),
        }
    }
    // A VTEP cannot send more than its underlay link carries: larger packets
    // would vanish in the kernel, and PMTU answers would name the wrong MTU.
    for v in &mut spec.overlay.vteps {
        let link = spec.ports.get(v.port).and_then(|p| p.mtu).unwrap_or(v.mtu);
        if v.mtu > link {
            log::warn!("vtep {}: mtu = {} is above its underlay interface's MTU {link}; using {link}", v.name, v.mtu);
            v.mtu = link;
        }
    }
    Ok(spec)
}

/// The MAC address of interface `iface`, from sysfs.
fn interface_mac(iface: &str) -> Option<switch_core::MacAddr> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address")).ok()?;
    text.trim().parse().ok()
}

/// `iface`'s MTU, from sysfs. Above 65535 (not an Ethernet MTU) is clamped.
fn interface_mtu(iface: &str) -> Option<u16> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/mtu")).ok()?;
    text.trim().parse::<u32>().ok().map(|m| m.min(u32::from(u16::MAX)) as u16)
}

/// Maps the config's dataplane section onto the AF_XDP port set settings.
fn portset_config(config: &Config) -> PortSetConfig {
    let d = &config.dataplane;
    let queues: u32 = config.ports.iter().map(|p| p.queues as u32).sum::<u32>().max(1);
    PortSetConfig {
        rx_ring: d.rx_ring,
        tx_ring: d.tx_ring,
        fill_ring: d.fill_ring,
        comp_ring: d.comp_ring,
        batch_size: config.switch.batch_size,
        // Each queue needs its fill ring's worth of chunks plus room for frames
        // in flight on TX; the config's total is spread over the queues.
        frames_per_queue: (d.frames / queues).max(d.fill_ring * 2).next_power_of_two(),
        xdp_mode: match d.xdp_mode {
            xvs_config::XdpMode::Auto => io_afxdp::XdpMode::Auto,
            xvs_config::XdpMode::Native => io_afxdp::XdpMode::Native,
            xvs_config::XdpMode::Skb => io_afxdp::XdpMode::Skb,
        },
        zero_copy: match d.zero_copy {
            Toggle::Auto => io_afxdp::ZeroCopy::Try,
            Toggle::On => io_afxdp::ZeroCopy::Require,
            Toggle::Off => io_afxdp::ZeroCopy::Off,
        },
        hugepages: match d.hugepages {
            Toggle::Auto => io_afxdp::HugePages::Auto,
            Toggle::On => io_afxdp::HugePages::On,
            Toggle::Off => io_afxdp::HugePages::Off,
        },
        ..PortSetConfig::default()
    }
}

/// Runs the switch until `stop` becomes true (the binary sets it from
/// SIGINT/SIGTERM). `ready` is called once the switch forwards.
pub fn run(
    config: &Config,
    source: Option<&Path>,
    stop: Arc<AtomicBool>,
    ready: impl FnOnce(),
) -> Result<(), RunError> {
    // 1. Validate every interface before touching any.
    let mut names = Vec::new();
    for (p, rt) in config.spec.ports.iter().zip(&config.ports) {
        names.push(rt.interface.clone().ok_or_else(|| RunError::NoInterface(p.name.clone()))?);
    }
    let token = config.control.api_token_file.as_deref().map(read_token).transpose()?;
    io_afxdp::validate_interfaces(&names).map_err(RunError::Interface)?;
    let workers = config.dataplane.worker_cpus.len().max(1);
    for (p, rt) in config.spec.ports.iter().zip(&config.ports) {
        if (rt.queues as usize) < workers {
            return Err(RunError::TooFewQueues { port: p.name.clone(), queues: rt.queues, workers });
        }
    }

    // 2. Tables.
    let spec = resolve_spec(config, &names)?;
    let plan = ForwardingPlan::compile(&spec)?;
    let plan = Arc::new(crate::flows::FlowStore::from_config(&config.flows).apply(&plan)?);
    let writer = FdbWriter::new(&config.spec.fdb, &plan);
    if writer.aging_secs() != config.spec.fdb.aging_secs {
        log::warn!(
            "fdb.aging_secs = {} is below the shortest aging time that keeps MACs in use; using {} s",
            config.spec.fdb.aging_secs,
            writer.aging_secs()
        );
    }
    let unplaced = writer.stats().refused_chain_full;
    if unplaced > 0 {
        log::warn!(
            "{unplaced} configured static FDB entries found no table slot near their hash (see `refused_chain_full`)"
        );
    }
    let plan_swap = Arc::new(ArcSwap::new(plan.clone()));
    let fdb_swap = writer.shared();

    // 3. Sockets.
    let specs: Vec<io_afxdp::PortSpec> = names
        .iter()
        .zip(&config.ports)
        .enumerate()
        .map(|(i, (iface, rt))| io_afxdp::PortSpec {
            iface: iface.clone(),
            port: PortId(i as u16),
            queues: (0..rt.queues as u32).collect(),
        })
        .collect();
    let portset = PortSet::open(&specs, &portset_config(config)).map_err(RunError::Afxdp)?;
    for q in portset.queue_infos() {
        log::info!(
            "port {} ({} queue {}): {} mode, XDP {}",
            plan.ports[q.port.index()].name,
            q.iface,
            q.queue,
            q.bind_mode.name(),
            q.xdp_mode.map(|m| m.name()).unwrap_or("shared")
        );
    }
    let cpus = if config.dataplane.worker_cpus.is_empty() { vec![0] } else { config.dataplane.worker_cpus.clone() };
    let assignment = portset.assign_by_queue_id(cpus.len());
    let details = afxdp_stats::Details::of(&portset);
    let ios = portset.into_workers(&assignment).map_err(RunError::Afxdp)?;

    // 4. Workers.
    let settings = PipelineSettings::for_aging(config.spec.fdb.aging_secs);
    let poll =
        PollConfig { idle: (config.dataplane.idle_backoff || !config.dataplane.busy_poll).then(IdleBackoff::default) };
    let mut handles = Vec::new();
    let mut queues = Vec::new();
    let mut counters = Vec::new();
    let mut io_stats = Vec::new();
    for (w, io) in ios.into_iter().enumerate() {
        let queue = Arc::new(LearnQueue::new(LEARN_QUEUE_LEN));
        let wc = Arc::new(WorkerCounters::default());
        let mut pipeline = Pipeline::new(settings, queue.clone(), wc.clone());
        // RCU read side: one snapshot of each table per batch. The caches
        // keep the worker's own reference and check the published pointer
        // with one atomic load, so a batch pays no reference counting while
        // the tables stay the same.
        let (mut plan_view, mut fdb_view) = (Cache::new(plan_swap.clone()), Cache::new(fdb_swap.clone()));
        let processor = move |batch: &mut switch_core::pipeline::Batch, io: &mut io_afxdp::WorkerIo, now| {
            let plan = plan_view.load();
            let fdb = fdb_view.load();
            pipeline.process(plan, fdb, batch, io, now, &mut NoTrace);
        };
        let cfg = WorkerConfig { name: Some(format!("xvs-pmd-{w}")), core: cpus.get(w).copied(), poll };
        let h = spawn_worker(cfg, io, processor, stop.clone()).map_err(RunError::Worker)?;
        io_stats.push(h.stats().clone());
        handles.push(h);
        queues.push(queue);
        counters.push(wc);
        log::info!("worker {w} pinned to CPU {}", cpus.get(w).copied().unwrap_or(0));
    }

    // 5. Control thread, off the workers' CPUs (the API thread started
    // below inherits the mask).
    match io_afxdp::pin_current_off(&cpus) {
        Some(c) => log::info!("control thread pinned to CPU {c}, away from the workers"),
        None => log::warn!("every CPU runs a worker: the control thread shares them"),
    }
    let listeners = server::Listeners {
        socket: config.control.socket.clone(),
        metrics: config.control.metrics_listen,
        tcp: config.control.api_listen.zip(token),
    };
    let api = server::start(&listeners, stop.clone())?;
    let metrics = Metrics::new(std::time::SystemTime::now());
    let dataplane = Box::new(afxdp_stats::AfxdpStats { workers: io_stats, details });
    let mut control =
        ControlPlane::new(plan_swap, writer, queues, counters, dataplane, config, Box::new(monotonic_now));
    // SIGHUP, like `xvs config reload`, re-reads the file the switch was
    // started with.
    let hangup = Arc::new(AtomicBool::new(false));
    if let Some(path) = source {
        let names = names.clone();
        let resolve = move |c: &Config| resolve_spec(c, &names).map_err(|e| e.to_string());
        control = control.with_reload(Reloader { source: path.to_path_buf(), resolve: Box::new(resolve) });
        if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, hangup.clone()) {
            log::warn!("SIGHUP will not reload the config: {e}");
        }
    }
    log::info!(
        "xvs running: {} ports, {} workers, control API on {}{}",
        plan.ports.len(),
        handles.len(),
        listeners.socket.display(),
        api.tcp.map(|a| format!(", on tcp {a} with its token")).unwrap_or_default()
            + &api.metrics.map(|a| format!(", metrics on http://{a}/metrics")).unwrap_or_default()
    );
    ready();
    while !stop.load(Ordering::Relaxed) {
        if hangup.swap(false, Ordering::Relaxed) {
            match control.reload() {
                Ok(v) => log::info!("SIGHUP: {v}"),
                Err(e) => log::error!("SIGHUP: {e}"),
            }
        }
        let learned = control.housekeeping();
        let served = api.answer(&mut control, &metrics);
        if learned == 0 && served == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    // 6. Shutdown: workers first (they return their sockets), then close.
    log::info!("xvs stopping");
    for h in handles {
        match h.join() {
            Ok(io) => drop(io),
            Err(_) => log::error!("a worker panicked"),
        }
    }
    let _ = api.thread.join();
    log::info!("xvs stopped");
    Ok(())
}
