//! Poll-mode workers: one pinned thread per set of (interface, queue)
//! sockets, busy-polling them and handing each received batch to the
//! pipeline.
//!
//! One loop iteration:
//!
//! 1. `maintain`: reclaim TX completions, top up fill rings.
//! 2. For every owned queue: `rx_burst` into a cleared batch, and if
//!    anything arrived, call the [`Processor`] with the batch, the worker's
//!    [`WorkerIo`] (as `FramePool + PortTx`) and the loop's timestamp.
//! 3. `flush`: publish TX descriptors and kick.
//! 4. If nothing arrived and no TX work is pending, count an idle poll and,
//!    if an [`IdleBackoff`] is configured, spin → yield → sleep
//!    progressively.
//!
//! The loop ends when the shared stop flag becomes true; the thread then
//! flushes once more and returns its `WorkerIo`, so the caller decides when
//! the sockets close (dropping it closes them and detaches XDP).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switch_core::pipeline::Batch;
use switch_core::types::Nanos;

use crate::error::Error;
use crate::portset::WorkerIo;
use crate::stats::WorkerStats;

/// What a worker does with each received batch.
///
/// Every frame in the batch must be either sent (`PortTx::send`) or released
/// (`FramePool::release`) before returning, as `switch-core` requires; the
/// batch is cleared afterwards. About once a second (every [`TICK`]) the
/// worker also calls it with an empty batch, the tick the pipeline's timers
/// run on (IGMP reports, ARP for next hops), traffic or not.
pub trait Processor: Send + 'static {
    /// Processes one batch.
    fn process(&mut self, batch: &mut Batch, io: &mut WorkerIo, now: Nanos);
}

impl<F> Processor for F
where
    F: FnMut(&mut Batch, &mut WorkerIo, Nanos) + Send + 'static,
{
    fn process(&mut self, batch: &mut Batch, io: &mut WorkerIo, now: Nanos) {
        self(batch, io, now)
    }
}

/// How often a worker runs its processor on an empty batch (the tick).
pub const TICK: Duration = Duration::from_secs(1);

/// Progressive back-off when polls keep coming back empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleBackoff {
    /// Empty polls to keep spinning before backing off.
    pub spin_polls: u32,
    /// Further empty polls that only `yield` the CPU.
    pub yield_polls: u32,
    /// First sleep after that; doubles per empty poll.
    pub min_sleep: Duration,
    /// Longest sleep (bounds the added latency of the first frame after a
    /// quiet period).
    pub max_sleep: Duration,
}

impl Default for IdleBackoff {
    fn default() -> Self {
        IdleBackoff {
            spin_polls: 10_000,
            yield_polls: 1_000,
            min_sleep: Duration::from_micros(10),
            max_sleep: Duration::from_millis(1),
        }
    }
}

/// How a worker polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollConfig {
    /// `None`: busy-poll forever (the default, as DPDK/OVS PMDs do).
    pub idle: Option<IdleBackoff>,
}

/// Worker thread settings.
#[derive(Clone, Debug, Default)]
pub struct WorkerConfig {
    /// Thread name (defaults to `xvs-pmd-N`).
    pub name: Option<String>,
    /// CPU to pin to; `None` leaves the thread unpinned.
    pub core: Option<usize>,
    /// Polling behaviour.
    pub poll: PollConfig,
}

/// Nanoseconds on a monotonic clock shared by every worker in the process.
pub fn monotonic_now() -> Nanos {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let e = *EPOCH.get_or_init(Instant::now);
    Nanos(e.elapsed().as_nanos() as u64)
}

struct Backoff {
    cfg: Option<IdleBackoff>,
    empty: u32,
    sleep: Duration,
}

impl Backoff {
    fn new(cfg: Option<IdleBackoff>) -> Self {
        Backoff { cfg, empty: 0, sleep: Duration::ZERO }
    }

    #[inline]
    fn work(&mut self) {
        self.empty = 0;
    }

    #[inline]
    fn idle(&mut self) {
        let Some(c) = self.cfg else { return };
        self.empty = self.empty.saturating_add(1);
        if self.empty <= c.spin_polls {
            std::hint::spin_loop();
        } else if self.empty <= c.spin_polls.saturating_add(c.yield_polls) {
            self.sleep = c.min_sleep;
            std::thread::yield_now();
        } else {
            std::thread::sleep(self.sleep);
            self.sleep = (self.sleep * 2).min(c.max_sleep).max(c.min_sleep);
        }
    }
}

/// Runs the poll loop on the current thread until `stop` is set, and
/// returns the `WorkerIo` after a final flush.
pub fn run_worker<P: Processor>(mut io: WorkerIo, mut processor: P, poll: PollConfig, stop: &AtomicBool) -> WorkerIo {
    let stats = io.stats();
    let mut batch = Batch::new();
    let mut backoff = Backoff::new(poll.idle);
    let queues = io.queue_count();
    if queues == 0 {
        // Nothing to poll (more workers than queues): do not burn a CPU.
        log::warn!("worker {} has no queues; idling until stopped", stats.worker);
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        return io;
    }
    let mut next_tick = Nanos(0);
    while !stop.load(Ordering::Relaxed) {
        let now = monotonic_now();
        io.maintain(now);
        if now.0 >= next_tick.0 {
            next_tick = Nanos(now.0 + TICK.as_nanos() as u64);
            batch.clear();
            processor.process(&mut batch, &mut io, now);
        }
        let mut got = 0;
        for q in 0..queues {
            batch.clear();
            let n = io.rx_burst(q, &mut batch);
            if n > 0 {
                got += n;
                processor.process(&mut batch, &mut io, now);
            }
        }
        let tx_left = io.flush();
        stats.loops.add(1);
        if got == 0 {
            stats.idle_loops.add(1);
            if tx_left == 0 {
                backoff.idle();
            }
        } else {
            backoff.work();
        }
    }
    io.flush();
    io.maintain(monotonic_now());
    io.refresh_kernel_stats();
    io
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    SIGNALLED.store(true, Ordering::Relaxed);
}

/// Installs SIGINT/SIGTERM handlers that set a process-wide flag, and
/// returns that flag (for command-line tools that stop on Ctrl-C).
pub fn stop_on_signals() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only performs an atomic store, which is
        // async-signal-safe, and has the signature signal(2) expects.
        unsafe { libc::signal(sig, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
    }
    &SIGNALLED
}

/// A running worker thread.
#[derive(Debug)]
pub struct WorkerHandle {
    thread: JoinHandle<WorkerIo>,
    stats: Arc<WorkerStats>,
}

impl WorkerHandle {
    /// The worker's counters.
    pub fn stats(&self) -> &Arc<WorkerStats> {
        &self.stats
    }

    /// Waits for the worker to stop (set the stop flag first) and returns its
    /// `WorkerIo`; drop that to close the sockets.
    pub fn join(self) -> std::thread::Result<WorkerIo> {
        self.thread.join()
    }
}

/// Pins the calling thread to the first CPU that no worker uses, so the
/// control thread (and the threads it spawns, which inherit the mask) never
/// preempts a poll-mode worker. Returns that CPU, or `None` when every CPU
/// runs a worker (then the thread is left unpinned) or pinning failed.
///
/// Why: a busy-polling worker shares its CPU with nobody. Left to the
/// scheduler, the control thread's wake-ups (and its once-a-second FDB aging
/// sweep) land on a worker's CPU about half the time on a 2-CPU machine, and
/// the worker's RX ring overflows while it waits (seen on the veth bench as
/// `kernel_rx_ring_full`). OVS keeps its non-PMD threads off `pmd-cpu-mask`
/// and DPDK its main lcore off the forwarding lcores for the same reason.
pub fn pin_current_off(worker_cpus: &[usize]) -> Option<usize> {
    let cores = core_affinity::get_core_ids()?;
    let free = cores.into_iter().find(|c| !worker_cpus.contains(&c.id))?;
    core_affinity::set_for_current(free).then_some(free.id)
}

/// Starts a worker thread that owns `io`, pinned to `cfg.core` if given.
/// Fails if the thread cannot be created or pinned.
pub fn spawn_worker<P: Processor>(
    cfg: WorkerConfig,
    io: WorkerIo,
    processor: P,
    stop: Arc<AtomicBool>,
) -> Result<WorkerHandle, Error> {
    let stats = io.stats();
    let name = cfg.name.clone().unwrap_or_else(|| format!("xvs-pmd-{}", stats.worker));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let core = cfg.core;
    let poll = cfg.poll;
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            if let Some(c) = core {
                if !core_affinity::set_for_current(core_affinity::CoreId { id: c }) {
                    let _ = ready_tx.send(Err(format!("could not pin to CPU {c}")));
                    return io;
                }
            }
            let _ = ready_tx.send(Ok(()));
            run_worker(io, processor, poll, &stop)
        })
        .map_err(|source| Error::Worker { name: name.clone(), source })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(WorkerHandle { thread, stats }),
        Ok(Err(msg)) => {
            let _ = thread.join();
            Err(Error::Worker { name, source: std::io::Error::other(msg) })
        }
        Err(_) => {
            let _ = thread.join();
            Err(Error::Worker { name, source: std::io::Error::other("worker thread exited before starting") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_spins_then_yields_then_sleeps_up_to_cap() {
        let cfg = IdleBackoff {
            spin_polls: 2,
            yield_polls: 1,
            min_sleep: Duration::from_micros(1),
            max_sleep: Duration::from_micros(4),
        };
        let mut b = Backoff::new(Some(cfg));
        for _ in 0..3 {
            b.idle();
        }
        assert_eq!(b.sleep, Duration::from_micros(1));
        for _ in 0..5 {
            b.idle();
        }
        assert_eq!(b.sleep, Duration::from_micros(4), "capped");
        b.work();
        assert_eq!(b.empty, 0);
    }

    #[test]
    fn busy_poll_never_sleeps() {
        let mut b = Backoff::new(None);
        let t = Instant::now();
        for _ in 0..100_000 {
            b.idle();
        }
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(b.empty, 0);
    }

    #[test]
    fn clock_is_monotonic() {
        let a = monotonic_now();
        let b = monotonic_now();
        assert!(b >= a);
    }
}
