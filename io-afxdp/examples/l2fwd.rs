//! Minimal AF_XDP cross-connect: every frame received on one interface is
//! sent out of the other, by one pinned poll-mode worker. Used to check that
//! the port set reaches the veth copy-mode limit.
//!
//! ```text
//! cargo run --release -p io-afxdp --example l2fwd -- IF_A IF_B [CPU] [SECONDS]
//! ```
//!
//! Set `XVS_IDLE_SPIN=N` to back off (yield, then sleep up to 100 µs) after
//! N empty polls instead of busy-polling forever.
//!
//! Prints a JSON line with per-port counters at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use io_afxdp::worker::WorkerConfig;
use io_afxdp::{spawn_worker, IdleBackoff, PollConfig, PortSet, PortSetConfig, PortSpec, WorkerIo};
use switch_core::pipeline::Batch;
use switch_core::port::{PortTx, TxFrame};
use switch_core::types::{Nanos, PortId};

fn cross_connect(batch: &mut Batch, io: &mut WorkerIo, _now: Nanos) {
    for d in &batch.descs[..batch.len] {
        io.send(PortId(1 - d.in_port.0), TxFrame { buf: d.buf, head: d.head, len: d.len });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: l2fwd IF_A IF_B [CPU] [SECONDS]");
        std::process::exit(2);
    }
    let cpu: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let secs: f64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(10.0);
    let ports = PortSet::open(
        &[PortSpec::new(&args[1], PortId(0)), PortSpec::new(&args[2], PortId(1))],
        &PortSetConfig::default(),
    )?;
    eprintln!("UMEMs: {}, hugepages: {}", ports.umem_count(), ports.hugepages());
    for q in ports.queue_infos() {
        eprintln!("{} q{}: {} mode, XDP {:?}, UMEM {}", q.iface, q.queue, q.bind_mode.name(), q.xdp_mode, q.umem);
    }
    let io = ports.into_single_worker();
    let stats = io.stats();
    let stop = Arc::new(AtomicBool::new(false));
    let sig = io_afxdp::stop_on_signals();
    let idle = std::env::var("XVS_IDLE_SPIN").ok().and_then(|v| v.parse().ok()).map(|spin_polls| IdleBackoff {
        spin_polls,
        yield_polls: 100,
        min_sleep: Duration::from_micros(5),
        max_sleep: Duration::from_micros(100),
    });
    let poll = PollConfig { idle };
    let h = spawn_worker(WorkerConfig { core: Some(cpu), poll, name: None }, io, cross_connect, Arc::clone(&stop))?;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs && !sig.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let io = h.join().map_err(|_| "worker panicked")?;
    let q: Vec<_> = stats.queues.iter().map(|q| q.snapshot()).collect();
    println!(
        "{}",
        serde_json::json!({
            "seconds": start.elapsed().as_secs_f64(),
            "loops": stats.loops.get(),
            "idle_loops": stats.idle_loops.get(),
            "queues": q.iter().map(|q| serde_json::json!({
                "iface": q.iface, "rx": q.rx_packets, "tx": q.tx_packets, "tx_ring_full": q.tx_ring_full,
                "fill_ring_empty": q.fill_ring_empty, "kicks": q.tx_kicks, "kick_busy": q.tx_kick_busy,
                "k_rx_dropped": q.kernel_rx_dropped, "k_rx_ring_full": q.kernel_rx_ring_full,
                "k_fill_empty": q.kernel_rx_fill_ring_empty,
            })).collect::<Vec<_>>(),
        })
    );
    drop(io);
    Ok(())
}
