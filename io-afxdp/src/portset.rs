//! A set of AF_XDP ports over one shared UMEM, and the per-worker view of it
//! that implements the switch-core [`FramePool`] and [`PortTx`] traits.
//!
//! # Lifecycle
//!
//! 1. [`PortSet::open`] validates every interface name, creates the UMEM,
//!    binds one socket per (interface, queue), and pre-fills each fill ring.
//! 2. [`PortSet::into_workers`] splits the sockets among workers. Each
//!    (interface, queue) goes to exactly one worker, together with the UMEM
//!    chunks reserved for it, so a chunk only ever travels between the kernel
//!    and one thread.
//! 3. Each [`WorkerIo`] is moved into its worker thread (see
//!    [`crate::worker`]), which calls [`WorkerIo::maintain`],
//!    [`WorkerIo::rx_burst`] and [`WorkerIo::flush`] in its loop.
//! 4. Dropping the last `WorkerIo` (or an unsplit `PortSet`) closes the
//!    sockets; libxdp detaches its redirect program when the last socket on
//!    an interface closes, and as a safety net we then detach anything still
//!    attached to an interface that had no XDP program before we opened it.
//!
//! # Thread-safety
//!
//! `PortSet` and `WorkerIo` are `Send` but not `Sync`: a `WorkerIo` is used by
//! one thread at a time. Counters are exposed as `Arc<WorkerStats>` for other
//! threads to read.

use std::sync::Arc;

use switch_core::pipeline::{Batch, MAX_BURST};
use switch_core::port::{BufId, FramePool, PortTx, TxFrame};
use switch_core::types::{Nanos, PortId};
use xsk_rs::FrameDesc;

use crate::config::{PortSetConfig, PortSpec, UmemSharing};
use crate::error::Error;
use crate::iface::validate_interfaces;
use crate::socket::{detach_stale, BindRequest, XskQueue};
use crate::stats::{BindMode, QueueStats, WorkerStats};
use crate::txring::{kick, kick_rx, Kick};
use crate::umem::{decode_buf, encode_buf, ChunkPool, UmemArea, DEFAULT_HEADROOM, FRAME_SIZE};
use crate::xdp::{xdp_detach_all, xdp_query, XdpAttachMode};

/// Public description of one opened (interface, queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// Index in the port set (what [`PortSet::into_workers`] assigns).
    pub index: usize,
    /// Interface name.
    pub iface: String,
    /// Interface index.
    pub ifindex: u32,
    /// Queue id.
    pub queue: u32,
    /// Switch port.
    pub port: PortId,
    /// Copy or zero-copy, as the kernel reports it.
    pub bind_mode: BindMode,
    /// XDP hook the redirect program sits on.
    pub xdp_mode: Option<XdpAttachMode>,
    /// UMEM index (0 is the shared one).
    pub umem: usize,
}

impl QueueInfo {
    /// The description of socket `s`, at `index` in its owner's list.
    fn of(index: usize, s: &XskQueue) -> QueueInfo {
        QueueInfo {
            index,
            iface: s.iface.clone(),
            ifindex: s.ifindex,
            queue: s.queue,
            port: s.port,
            bind_mode: s.bind_mode,
            xdp_mode: s.xdp_mode,
            umem: s.umem,
        }
    }
}

/// Detaches leftover XDP programs once every socket is gone.
struct XdpCleanup {
    /// (name, ifindex, had a program before we opened it)
    ifaces: Vec<(String, u32, bool)>,
}

impl Drop for XdpCleanup {
    fn drop(&mut self) {
        for (name, ifindex, had_before) in &self.ifaces {
            if *had_before {
                continue;
            }
            match xdp_query(*ifindex) {
                Ok(st) if st.is_attached() => {
                    log::warn!("{name}: XDP program still attached after the last socket closed; detaching it");
                    if let Err(e) = xdp_detach_all(*ifindex) {
                        log::warn!("{name}: detaching XDP failed: {e}");
                    }
                }
                Ok(_) => {}
                // The interface may be gone already (test teardown).
                Err(e) => log::debug!("{name}: XDP query at cleanup failed: {e}"),
            }
        }
    }
}

/// Sockets on a set of interfaces, sharing one UMEM (see the module docs).
pub struct PortSet {
    queues: Vec<XskQueue>,
    /// Per queue: its chunks that are not on the fill ring.
    spare: Vec<Vec<u64>>,
    areas: Vec<Arc<UmemArea>>,
    cfg: PortSetConfig,
    max_port: usize,
    cleanup: Arc<XdpCleanup>,
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortSet").field("queues", &self.queue_infos()).field("umems", &self.areas.len()).finish()
    }
}

impl PortSet {
    /// Opens every (interface, queue) in `ports`.
    ///
    /// All interface names are checked before anything is touched; the error
    /// names the first missing one. On failure, sockets already opened are
    /// closed again.
    pub fn open(ports: &[PortSpec], cfg: &PortSetConfig) -> Result<PortSet, Error> {
        cfg.validate()?;
        if ports.is_empty() {
            return Err(Error::Config("no ports given".into()));
        }
        let names: Vec<&str> = ports.iter().map(|p| p.iface.as_str()).collect();
        let ifindices = validate_interfaces(&names)?;
        let mut seen = std::collections::HashSet::new();
        for p in ports {
            if p.queues.is_empty() {
                return Err(Error::Config(format!("port {} ({}) has no queues", p.port.0, p.iface)));
            }
            for &q in &p.queues {
                if !seen.insert((p.iface.as_str(), q)) {
                    return Err(Error::Config(format!("{} queue {q} is listed twice", p.iface)));
                }
            }
        }
        let mut port_ids = std::collections::HashSet::new();
        for p in ports {
            if !port_ids.insert(p.port) {
                return Err(Error::Config(format!("switch port {} is used by two interfaces", p.port.0)));
            }
        }

        // Declared before the sockets so that, on an early return, the
        // sockets drop first and the cleanup then sees their final state.
        let mut had_before = Vec::new();
        for (p, &idx) in ports.iter().zip(&ifindices) {
            if had_before.iter().any(|(n, _, _): &(String, u32, bool)| n == &p.iface) {
                continue;
            }
            let st =
                xdp_query(idx).map_err(|source| Error::Xdp { what: "querying", iface: p.iface.clone(), source })?;
            had_before.push((p.iface.clone(), idx, st.is_attached()));
        }
        let cleanup = Arc::new(XdpCleanup { ifaces: had_before });

        let fpq = cfg.frames_per_queue;
        let total_queues: u32 = ports.iter().map(|p| p.queues.len() as u32).sum();
        let mut areas: Vec<Arc<UmemArea>> = Vec::new();
        // Per area: next unassigned chunk and number of sockets bound.
        let mut next_chunk: Vec<u32> = Vec::new();
        let mut bound: Vec<u32> = Vec::new();
        let new_area = |frames: u32, areas: &mut Vec<Arc<UmemArea>>, next: &mut Vec<u32>, bound: &mut Vec<u32>| {
            let a = UmemArea::new_xsk(frames, cfg.fill_ring, cfg.comp_ring, cfg.hugepages)?;
            log::info!(
                "UMEM {}: {} frames of {} B ({} MiB, hugepages: {})",
                areas.len(),
                frames,
                FRAME_SIZE,
                a.len() >> 20,
                a.hugepages()
            );
            areas.push(Arc::new(a));
            next.push(0);
            bound.push(0);
            Ok::<usize, Error>(areas.len() - 1)
        };
        let too_big = || Error::Config(format!("{total_queues} queues x {fpq} frames do not fit one UMEM"));
        if cfg.umem_sharing == UmemSharing::Shared {
            new_area(fpq.checked_mul(total_queues).ok_or_else(too_big)?, &mut areas, &mut next_chunk, &mut bound)?;
        }

        let mut queues: Vec<XskQueue> = Vec::new();
        let mut spare: Vec<Vec<u64>> = Vec::new();
        let mut ifaces_bound: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (p, &ifindex) in ports.iter().zip(&ifindices) {
            let mut area_idx = match cfg.umem_sharing {
                UmemSharing::Shared => 0,
                UmemSharing::PerPort => new_area(fpq * p.queues.len() as u32, &mut areas, &mut next_chunk, &mut bound)?,
            };
            for &q in &p.queues {
                let mut req = BindRequest::from_config(&p.iface, ifindex, q, cfg);
                let may_detach = cfg.detach_stale_xdp && !ifaces_bound.contains(&p.iface);
                req.first_on_umem = bound[area_idx] == 0;
                let sock = match open_retrying(&mut areas, area_idx, p.port, &req, cfg, may_detach) {
                    Ok(s) => s,
                    Err(e)
                        if !req.first_on_umem
                            && area_idx == 0
                            && cfg.umem_sharing == UmemSharing::Shared
                            && e.raw_os_error() != Some(libc::EBUSY) =>
                    {
                        // The kernel makes this socket inherit the first
                        // socket's mode; this interface cannot do that.
                        // Give the port a UMEM of its own and copy.
                        log::warn!("{} queue {q}: cannot join the shared UMEM ({e}); using a separate UMEM, frames to and from it will be copied", p.iface);
                        area_idx = new_area(fpq * p.queues.len() as u32, &mut areas, &mut next_chunk, &mut bound)?;
                        req.first_on_umem = true;
                        open_retrying(&mut areas, area_idx, p.port, &req, cfg, may_detach)?
                    }
                    Err(e) => return Err(e),
                };
                bound[area_idx] += 1;
                ifaces_bound.insert(p.iface.clone());

                let first = next_chunk[area_idx];
                next_chunk[area_idx] += fpq;
                let chunks: Vec<u64> = (first..first + fpq).map(|i| (i as u64) * FRAME_SIZE as u64).collect();
                let mut sock = sock;
                let n_fill = (fill_level(cfg) as usize).min(chunks.len());
                let descs: Vec<FrameDesc> = chunks[..n_fill]
                    .iter()
                    .map(|&c| areas[area_idx].fill_desc(c).expect("chunk of this UMEM"))
                    .collect();
                // SAFETY: these chunks were just carved out for this queue and
                // nothing else has seen them; they belong to the UMEM the fill
                // ring is tied to.
                let produced = unsafe { sock.fill.produce(&descs) };
                if produced != n_fill {
                    return Err(Error::Config(format!(
                        "{} queue {q}: fill ring took {produced} of {n_fill} frames",
                        p.iface
                    )));
                }
                spare.push(chunks[n_fill..].to_vec());
                queues.push(sock);
            }
        }
        let max_port = ports.iter().map(|p| p.port.index()).max().unwrap_or(0);
        Ok(PortSet { queues, spare, areas, cfg: cfg.clone(), max_port, cleanup })
    }

    /// The opened queues, in index order.
    pub fn queue_infos(&self) -> Vec<QueueInfo> {
        self.queues.iter().enumerate().map(|(index, s)| QueueInfo::of(index, s)).collect()
    }

    /// The bind mode obtained (of the first socket; with a shared UMEM every
    /// socket has the same one).
    pub fn bind_mode(&self) -> BindMode {
        self.queues[0].bind_mode
    }

    /// Number of UMEMs in use (1 unless some port could not share).
    pub fn umem_count(&self) -> usize {
        self.areas.len()
    }

    /// Whether the (first) UMEM is on huge pages.
    pub fn hugepages(&self) -> bool {
        self.areas[0].hugepages()
    }

    /// An assignment that gives worker `w` every queue whose id is
    /// `w mod workers` (so each worker transmits on its own queue of every
    /// port, as OVS's PMDs do).
    pub fn assign_by_queue_id(&self, workers: usize) -> Vec<Vec<usize>> {
        let workers = workers.max(1);
        let mut a = vec![Vec::new(); workers];
        for (i, s) in self.queues.iter().enumerate() {
            a[s.queue as usize % workers].push(i);
        }
        a
    }

    /// Splits the sockets among workers: `assignment[w]` lists the queue
    /// indices worker `w` owns. Every queue must appear exactly once.
    pub fn into_workers(self, assignment: &[Vec<usize>]) -> Result<Vec<WorkerIo>, Error> {
        let n = self.queues.len();
        let mut owner = vec![usize::MAX; n];
        for (w, qs) in assignment.iter().enumerate() {
            for &q in qs {
                if q >= n {
                    return Err(Error::Config(format!("worker {w} is assigned queue {q}, but there are only {n}")));
                }
                if owner[q] != usize::MAX {
                    return Err(Error::Config(format!("queue {q} is assigned to workers {} and {w}", owner[q])));
                }
                owner[q] = w;
            }
        }
        if let Some(q) = owner.iter().position(|&o| o == usize::MAX) {
            return Err(Error::Config(format!("queue {q} is assigned to no worker")));
        }
        let PortSet { queues, spare, areas, cfg, max_port, cleanup } = self;
        let mut slots: Vec<Option<(XskQueue, Vec<u64>)>> = queues.into_iter().zip(spare).map(Some).collect();
        let ports: std::collections::BTreeSet<PortId> = slots.iter().flatten().map(|(s, _)| s.port).collect();
        let mut out = Vec::with_capacity(assignment.len());
        for (w, qs) in assignment.iter().enumerate() {
            let mine: Vec<(XskQueue, Vec<u64>)> = qs.iter().map(|&q| slots[q].take().expect("checked above")).collect();
            // A worker transmits only through sockets it owns, so it needs a
            // queue on every port it may forward to.
            let missing: Vec<u16> =
                ports.iter().filter(|p| !mine.iter().any(|(s, _)| s.port == **p)).map(|p| p.0).collect();
            if !mine.is_empty() && !missing.is_empty() {
                log::warn!(
                    "worker {w} owns no queue on port(s) {missing:?}: frames it forwards there are dropped \
                     (tx_no_queue); give every port at least as many queues as there are workers"
                );
            }
            out.push(WorkerIo::new(w, mine, &areas, &cfg, max_port, Arc::clone(&cleanup)));
        }
        Ok(out)
    }

    /// Everything on one worker.
    pub fn into_single_worker(self) -> WorkerIo {
        let all: Vec<usize> = (0..self.queues.len()).collect();
        self.into_workers(&[all]).expect("identity assignment is valid").pop().expect("one worker")
    }
}

/// Binds a socket, retrying EBUSY with back-off.
///
/// EBUSY means an XDP program we did not expect is attached (typically left
/// by a previous run; libxdp refuses to replace a program that is not its
/// dispatcher) or the queue is bound elsewhere. If we have no socket on the
/// interface yet and `may_detach` is set, the program is detached before
/// retrying. When the failed socket was the first on its UMEM, libxdp leaves
/// the UMEM's own fd bound after the failed program attach, so the retry
/// needs a fresh UMEM; nothing has used the old one yet, so it is replaced.
fn open_retrying(
    areas: &mut [Arc<UmemArea>],
    area_idx: usize,
    port: PortId,
    req: &BindRequest<'_>,
    cfg: &PortSetConfig,
    may_detach: bool,
) -> Result<XskQueue, Error> {
    let mut delay = cfg.bind_retry_delay;
    let mut attempt = 0;
    loop {
        match XskQueue::open(&areas[area_idx], area_idx, port, req) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < cfg.bind_retries => {
                attempt += 1;
                log::warn!("{} queue {}: {e}; retry {attempt}/{} in {delay:?}", req.iface, req.queue, cfg.bind_retries);
                if may_detach {
                    detach_stale(req.iface, req.ifindex);
                }
                if req.first_on_umem {
                    let frames = areas[area_idx].frames();
                    areas[area_idx] = Arc::new(UmemArea::new_xsk(frames, cfg.fill_ring, cfg.comp_ring, cfg.hugepages)?);
                }
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
            }
            r => return r,
        }
    }
}

/// Counts gathered during a burst and published once per flush.
#[derive(Clone, Copy, Default)]
struct Pending {
    tx_packets: u64,
    tx_bytes: u64,
    tx_ring_full: u64,
}

/// Frames reclaimed from a completion ring per call.
const COMP_BATCH: usize = 256;
/// Refresh the kernel's XDP_STATISTICS mirrors this often.
const KERNEL_STATS_PERIOD_NS: u64 = 1_000_000_000;

/// One worker's sockets, chunk pools and counters.
///
/// Implements [`FramePool`] and [`PortTx`] for the pipeline. `send` writes
/// straight into the output socket's TX ring (the unpublished tail of the
/// ring is the per-port TX queue); `flush` publishes and kicks.
pub struct WorkerIo {
    socks: Vec<XskQueue>,
    /// Indexed by UMEM index; `None` for UMEMs this worker has no chunk of.
    pools: Vec<Option<ChunkPool>>,
    /// Pool that `alloc` draws from.
    alloc_umem: usize,
    /// Switch port index → local socket used to transmit on it.
    tx_of_port: Vec<Option<u16>>,
    pending: Vec<Pending>,
    scratch: Vec<FrameDesc>,
    stats: Arc<WorkerStats>,
    batch_size: usize,
    fill_ring: u32,
    /// Frames kept in each fill ring; see [`fill_level`].
    fill_level: u32,
    tx_kick_budget: u32,
    next_kernel_stats: u64,
    /// Last: dropped after the sockets.
    _cleanup: Arc<XdpCleanup>,
}

impl std::fmt::Debug for WorkerIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerIo").field("worker", &self.stats.worker).field("queues", &self.socks.len()).finish()
    }
}

/// Frames a worker keeps queued in each fill ring: half the RX ring (as
/// DPDK's AF_XDP driver does), at least two bursts, at most the fill ring.
///
/// Filling the whole fill ring buys nothing (the kernel cannot hold more
/// than an RX ring's worth of received frames for us anyway) and costs
/// cache: every frame in circulation is a 4 KiB chunk the kernel's copy
/// writes into and the worker reads, so a smaller circle keeps them warm.
/// Measured on the veth harness (docs/afxdp.md): xvs/testpmd at 64 B went
/// from 0.83 with a full fill ring to 1.06 with this level.
pub(crate) fn fill_level(cfg: &PortSetConfig) -> u32 {
    (cfg.rx_ring / 2).max(2 * cfg.batch_size as u32).min(cfg.fill_ring)
}

impl WorkerIo {
    fn new(
        worker: usize,
        mine: Vec<(XskQueue, Vec<u64>)>,
        areas: &[Arc<UmemArea>],
        cfg: &PortSetConfig,
        max_port: usize,
        cleanup: Arc<XdpCleanup>,
    ) -> WorkerIo {
        let mut pools: Vec<Option<ChunkPool>> = (0..areas.len()).map(|_| None).collect();
        let mut socks = Vec::with_capacity(mine.len());
        let mut tx_of_port = vec![None; max_port + 1];
        let mut qstats = Vec::with_capacity(mine.len());
        for (s, chunks) in mine {
            pools[s.umem].get_or_insert_with(|| ChunkPool::new(Arc::clone(&areas[s.umem]))).add_free(chunks);
            let slot = &mut tx_of_port[s.port.index()];
            if slot.is_none() {
                *slot = Some(socks.len() as u16);
            }
            qstats.push(QueueStats::new(s.port, &s.iface, s.queue, s.bind_mode, s.xdp_mode, s.umem));
            socks.push(s);
        }
        let alloc_umem = socks.first().map(|s| s.umem).unwrap_or(0);
        let n = socks.len();
        WorkerIo {
            socks,
            pools,
            alloc_umem,
            tx_of_port,
            pending: vec![Pending::default(); n],
            scratch: vec![FrameDesc::default(); COMP_BATCH.max(MAX_BURST)],
            stats: Arc::new(WorkerStats::new(worker, qstats)),
            batch_size: cfg.batch_size,
            fill_ring: cfg.fill_ring,
            fill_level: fill_level(cfg),
            tx_kick_budget: cfg.tx_kick_budget,
            next_kernel_stats: 0,
            _cleanup: cleanup,
        }
    }

    /// Number of (interface, queue) sockets this worker polls.
    pub fn queue_count(&self) -> usize {
        self.socks.len()
    }

    /// Description of local queue `i` (its `index` is the local one).
    pub fn queue_info(&self, i: usize) -> QueueInfo {
        QueueInfo::of(i, &self.socks[i])
    }

    /// The worker's counters, for other threads to read.
    pub fn stats(&self) -> Arc<WorkerStats> {
        Arc::clone(&self.stats)
    }

    /// Free chunks across this worker's pools (for tests and gauges).
    pub fn free_chunks(&self) -> usize {
        self.pools.iter().flatten().map(|p| p.free_len()).sum()
    }

    /// Receives up to the configured batch size from local queue `queue`
    /// into `batch` (appending; never beyond `MAX_BURST`), then tops up that
    /// queue's fill ring. Returns the number of frames added.
    pub fn rx_burst(&mut self, queue: usize, batch: &mut Batch) -> usize {
        let room = self.batch_size.min(MAX_BURST - batch.len);
        if room == 0 {
            return 0;
        }
        let s = &mut self.socks[queue];
        // SAFETY: the RX ring only carries chunks of the UMEM this socket is
        // bound to; `scratch` is plain descriptor storage.
        let n = unsafe { s.rx.consume(&mut self.scratch[..room]) };
        if n == 0 {
            return 0;
        }
        let pool = self.pools[s.umem].as_mut().expect("a worker has a pool for each of its sockets' UMEMs");
        let mut bytes = 0u64;
        let mut bad = 0u64;
        for d in &self.scratch[..n] {
            let addr = d.addr() as u64;
            let base = addr & !(FRAME_SIZE as u64 - 1);
            let len = d.lengths().data();
            if !pool.mark_held(base) {
                bad += 1;
            }
            bytes += len as u64;
            batch.push(encode_buf(s.umem, base), (addr - base) as u16, len as u16, s.port);
        }
        let qs = &self.stats.queues[queue];
        qs.rx_packets.add(n as u64);
        qs.rx_bytes.add(bytes);
        self.stats.bad_buf.add(bad);
        self.refill(queue);
        n
    }

    /// Tops up local queue `i`'s fill ring from the free stack.
    fn refill(&mut self, i: usize) {
        let s = &mut self.socks[i];
        let pool = self.pools[s.umem].as_mut().expect("pool for socket UMEM");
        let qs = &self.stats.queues[i];
        let free = s.fill.nb_free(self.fill_ring) as usize;
        let queued = self.fill_ring as usize - free.min(self.fill_ring as usize);
        let mut want = (self.fill_level as usize).saturating_sub(queued);
        // Refill in batches to amortise the ring update.
        let wants = want >= self.batch_size;
        if free >= self.fill_ring as usize || (wants && pool.free_len() == 0) {
            // The kernel has taken every buffer we gave it, or it needs more
            // and we have none: received frames may be dropped.
            qs.fill_ring_empty.add(1);
        }
        if !wants || pool.free_len() == 0 {
            return;
        }
        while want > 0 && pool.free_len() > 0 {
            let k = want.min(self.scratch.len()).min(pool.free_len());
            for d in &mut self.scratch[..k] {
                *d = pool.pop_free_desc().expect("counted above");
            }
            // SAFETY: the chunks came off this worker's free stack, so
            // neither the kernel nor the pipeline holds them, and they belong
            // to the UMEM this fill ring is tied to.
            let done = unsafe { s.fill.produce(&self.scratch[..k]) };
            if done < k {
                // produce() is all-or-nothing; put the chunks back.
                for d in &self.scratch[..k] {
                    pool.push_free(d.addr() as u64 & !(FRAME_SIZE as u64 - 1));
                }
                break;
            }
            want -= k;
        }
        if s.fill.needs_wakeup() {
            kick_rx(s.fd);
        }
    }

    /// Per-loop housekeeping: reclaims completions, tops up every fill ring
    /// and, about once a second, mirrors the kernel's socket statistics.
    pub fn maintain(&mut self, now: Nanos) {
        for i in 0..self.socks.len() {
            reclaim_into(&mut self.socks[i], &mut self.pools, &mut self.scratch);
            self.refill(i);
        }
        if now.0 >= self.next_kernel_stats {
            self.next_kernel_stats = now.0 + KERNEL_STATS_PERIOD_NS;
            self.refresh_kernel_stats();
        }
    }

    /// Copies the kernel's `XDP_STATISTICS` for every socket into the
    /// counters.
    pub fn refresh_kernel_stats(&mut self) {
        for (s, qs) in self.socks.iter().zip(&self.stats.queues) {
            if let Ok(k) = s.rx.fd().xdp_statistics() {
                qs.kernel_rx_dropped.set(k.rx_dropped());
                qs.kernel_rx_ring_full.set(k.rx_ring_full());
                qs.kernel_rx_fill_ring_empty.set(k.rx_fill_ring_empty_descs());
                qs.kernel_tx_invalid_descs.set(k.tx_invalid_descs());
            }
        }
    }

    /// Publishes queued frames to the TX rings and kicks the kernel, then
    /// reclaims completions. Returns the frames still waiting in TX rings
    /// (non-zero means the caller should not sleep).
    ///
    /// Copy mode transmits at most 32 frames per `sendto`, so a queue is
    /// kicked repeatedly while its ring holds work, up to `tx_kick_budget`
    /// kicks; whatever remains is kicked on the next call. A kick that finds
    /// the device busy ends that queue's kicking for this call. Nothing here
    /// blocks.
    pub fn flush(&mut self) -> u32 {
        let WorkerIo { socks, pools, pending, scratch, stats, tx_kick_budget, .. } = self;
        let mut left = 0;
        for (i, s) in socks.iter_mut().enumerate() {
            let p = std::mem::take(&mut pending[i]);
            let qs = &stats.queues[i];
            qs.tx_packets.add(p.tx_packets);
            qs.tx_bytes.add(p.tx_bytes);
            qs.tx_ring_full.add(p.tx_ring_full);
            s.tx.submit();
            let mut budget = *tx_kick_budget;
            loop {
                let out = s.tx.outstanding();
                if out == 0 || budget == 0 || !s.tx.needs_wakeup() {
                    left += out;
                    break;
                }
                budget -= 1;
                qs.tx_kicks.add(1);
                match kick(s.fd) {
                    Kick::Progress => {}
                    Kick::Busy => {
                        qs.tx_kick_busy.add(1);
                        left += s.tx.outstanding();
                        break;
                    }
                    Kick::Error(e) => {
                        qs.tx_kick_busy.add(1);
                        log::debug!(
                            "{} queue {}: TX kick failed: {}",
                            s.iface,
                            s.queue,
                            std::io::Error::from_raw_os_error(e)
                        );
                        left += s.tx.outstanding();
                        break;
                    }
                }
                // A full completion ring makes the kernel refuse more TX, so
                // reap between kicks.
                reclaim_into(s, pools, scratch);
            }
            reclaim_into(s, pools, scratch);
        }
        left
    }

    #[inline]
    fn pool_of(&mut self, buf: BufId) -> Option<(&mut ChunkPool, u64)> {
        let (u, chunk) = decode_buf(buf);
        let pool = self.pools.get_mut(u)?.as_mut()?;
        Some((pool, chunk))
    }

    /// Copies a frame into a chunk of UMEM `dst`, releasing the original.
    /// Returns the new chunk, or `None` (frame dropped and counted) when
    /// `dst` has no free chunk.
    fn copy_to_umem(&mut self, src_umem: usize, src_chunk: u64, head: usize, len: usize, dst: usize) -> Option<u64> {
        let (src_pool, dst_pool) = two_mut(&mut self.pools, src_umem, dst);
        let (src_pool, dst_pool) = (src_pool.as_mut()?, dst_pool.as_mut()?);
        let Some(new) = dst_pool.alloc() else {
            self.stats.copy_alloc_fail.add(1);
            src_pool.release(src_chunk);
            return None;
        };
        dst_pool.chunk_mut(new)[head..head + len].copy_from_slice(&src_pool.chunk(src_chunk)[head..head + len]);
        src_pool.release(src_chunk);
        self.stats.umem_copies.add(1);
        Some(new)
    }
}

/// Moves completed TX chunks of `s` back to its UMEM's free stack.
fn reclaim_into(s: &mut XskQueue, pools: &mut [Option<ChunkPool>], scratch: &mut [FrameDesc]) {
    let pool = pools[s.umem].as_mut().expect("pool for socket UMEM");
    let n_max = COMP_BATCH.min(scratch.len());
    loop {
        // SAFETY: the completion ring only returns chunks of this socket's
        // UMEM that we put on its TX ring.
        let n = unsafe { s.comp.consume(&mut scratch[..n_max]) };
        for d in &scratch[..n] {
            pool.push_free(d.addr() as u64 & !(FRAME_SIZE as u64 - 1));
        }
        if n < n_max {
            break;
        }
    }
}

/// Mutable references to two different elements.
fn two_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (l, r) = v.split_at_mut(b);
        (&mut l[a], &mut r[0])
    } else {
        let (l, r) = v.split_at_mut(a);
        (&mut r[0], &mut l[b])
    }
}

impl FramePool for WorkerIo {
    fn buffer(&self, buf: BufId) -> &[u8] {
        let (u, chunk) = decode_buf(buf);
        match self.pools.get(u).and_then(|p| p.as_ref()) {
            Some(p) => p.chunk(chunk),
            None => panic!("BufId {:#x} names UMEM {u}, which this worker has no chunks of", buf.0),
        }
    }

    fn buffer_mut(&mut self, buf: BufId) -> &mut [u8] {
        match self.pool_of(buf) {
            Some((p, chunk)) => p.chunk_mut(chunk),
            None => panic!("BufId {:#x} names a UMEM this worker has no chunks of", buf.0),
        }
    }

    fn alloc(&mut self) -> Option<BufId> {
        let u = self.alloc_umem;
        let c = self.pools.get_mut(u)?.as_mut()?.alloc()?;
        Some(encode_buf(u, c))
    }

    fn release(&mut self, buf: BufId) {
        let ok = match self.pool_of(buf) {
            Some((p, chunk)) => p.release(chunk),
            None => false,
        };
        if !ok {
            self.stats.bad_buf.add(1);
        }
    }

    fn copy_frame(&mut self, from: BufId, to: BufId, offset: usize, len: usize) {
        let (fu, fc) = decode_buf(from);
        let (tu, tc) = decode_buf(to);
        let held = |pools: &[Option<ChunkPool>], u: usize, c: u64| {
            pools.get(u).and_then(|p| p.as_ref()).is_some_and(|p| p.is_held(c))
        };
        let in_chunk = offset.checked_add(len).is_some_and(|e| e <= FRAME_SIZE);
        if !in_chunk || !held(&self.pools, fu, fc) || !held(&self.pools, tu, tc) {
            // A pipeline bug; count it rather than take the worker down
            // (the in-memory backend ignores such copies too).
            self.stats.bad_buf.add(1);
            return;
        }
        if fu == tu {
            self.pools[fu].as_mut().expect("checked held").copy_within_pool(fc, tc, offset, len);
        } else {
            let (src, dst) = two_mut(&mut self.pools, fu, tu);
            let (src, dst) = (src.as_ref().expect("checked held"), dst.as_mut().expect("checked held"));
            dst.chunk_mut(tc)[offset..offset + len].copy_from_slice(&src.chunk(fc)[offset..offset + len]);
        }
    }

    fn headroom(&self) -> u16 {
        DEFAULT_HEADROOM
    }
}

impl PortTx for WorkerIo {
    fn send(&mut self, port: PortId, frame: TxFrame) {
        let Some(si) = self.tx_of_port.get(port.index()).copied().flatten() else {
            self.stats.tx_no_queue.add(1);
            self.release(frame.buf);
            return;
        };
        let si = si as usize;
        let (src_umem, src_chunk) = decode_buf(frame.buf);
        match self.pools.get(src_umem).and_then(|p| p.as_ref()) {
            Some(p) if p.is_held(src_chunk) => {}
            _ => {
                // Not ours to send (double send, or garbage): ignore rather
                // than put a chunk on two rings.
                self.stats.bad_buf.add(1);
                return;
            }
        }
        let (head, len) = (frame.head as usize, frame.len as usize);
        if len == 0 || head + len > FRAME_SIZE {
            self.stats.tx_bad_frame.add(1);
            self.release(frame.buf);
            return;
        }
        let dst_umem = self.socks[si].umem;
        if self.socks[si].tx.free() == 0 {
            self.pending[si].tx_ring_full += 1;
            self.release(frame.buf);
            return;
        }
        let chunk = if src_umem == dst_umem {
            src_chunk
        } else {
            match self.copy_to_umem(src_umem, src_chunk, head, len, dst_umem) {
                Some(c) => c,
                None => return,
            }
        };
        let pool = self.pools[dst_umem].as_mut().expect("pool for socket UMEM");
        pool.unmark_held(chunk);
        self.socks[si].tx.push(chunk + head as u64, len as u32);
        let p = &mut self.pending[si];
        p.tx_packets += 1;
        p.tx_bytes += len as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_level_is_half_the_rx_ring_within_bounds() {
        let d = PortSetConfig::default();
        assert_eq!(fill_level(&d), d.rx_ring / 2);
        assert_eq!(fill_level(&PortSetConfig { rx_ring: 64, batch_size: 64, ..d.clone() }), 128);
        assert_eq!(fill_level(&PortSetConfig { rx_ring: 16384, fill_ring: 1024, ..d }), 1024);
    }

    #[test]
    fn two_mut_gives_distinct_elements() {
        let mut v = vec![1, 2, 3];
        let (a, b) = two_mut(&mut v, 2, 0);
        std::mem::swap(a, b);
        assert_eq!(v, vec![3, 2, 1]);
    }
}
