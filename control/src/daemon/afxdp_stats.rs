//! The control plane's view of AF_XDP counters.

use std::sync::Arc;

use io_afxdp::PortSet;
use io_afxdp::WorkerStats;
use serde_json::{json, Value};
use switch_core::PortId;

use crate::api::service::DataplaneStats;

/// Facts fixed at start-up.
pub(super) struct Details {
    umems: usize,
    hugepages: bool,
    bind_mode: &'static str,
}

impl Details {
    pub(super) fn of(ps: &PortSet) -> Details {
        Details { umems: ps.umem_count(), hugepages: ps.hugepages(), bind_mode: ps.bind_mode().name() }
    }
}

/// Sums io-afxdp's per-worker, per-queue counters.
pub(super) struct AfxdpStats {
    pub(super) workers: Vec<Arc<WorkerStats>>,
    pub(super) details: Details,
}

impl AfxdpStats {
    /// `port`'s counters summed over the workers' queues.
    fn totals(&self, port: PortId) -> io_afxdp::PortTotals {
        let mut t = io_afxdp::PortTotals::default();
        for w in &self.workers {
            t += w.port_totals(port);
        }
        t
    }
}

impl DataplaneStats for AfxdpStats {
    fn port(&self, index: usize) -> serde_json::Map<String, Value> {
        let port = PortId(index as u16);
        let t = self.totals(port);
        let mut modes = Vec::new();
        for w in &self.workers {
            for q in w.queues.iter().filter(|q| q.port == port) {
                modes.push(format!(
                    "q{}:{}/{}",
                    q.queue,
                    q.bind_mode.name(),
                    q.xdp_mode.map(|m| m.name()).unwrap_or("-")
                ));
            }
        }
        let v = json!({
            "rx_packets": t.rx_packets,
            "rx_bytes": t.rx_bytes,
            "tx_packets": t.tx_packets,
            "tx_bytes": t.tx_bytes,
            "tx_ring_full": t.tx_ring_full,
            "afxdp": modes.join(" "),
        });
        v.as_object().cloned().unwrap_or_default()
    }

    fn port_totals(&self, index: usize) -> [u64; 4] {
        let t = self.totals(PortId(index as u16));
        [t.rx_packets, t.rx_bytes, t.tx_packets, t.tx_bytes]
    }

    fn queues(&self) -> Vec<io_afxdp::QueueSnapshot> {
        self.workers.iter().flat_map(|w| w.queues.iter().map(|q| q.snapshot())).collect()
    }

    fn worker_loops(&self) -> Vec<(usize, u64, u64)> {
        self.workers.iter().map(|w| (w.worker, w.loops.get(), w.idle_loops.get())).collect()
    }

    fn details(&self) -> Value {
        let queues: Vec<Value> = self
            .workers
            .iter()
            .flat_map(|w| {
                w.queues.iter().map(move |q| {
                    let s = q.snapshot();
                    json!({
                        "worker": w.worker,
                        "iface": s.iface,
                        "queue": s.queue,
                        "bind_mode": s.bind_mode.name(),
                        "xdp_mode": s.xdp_mode.map(|m| m.name()),
                        "rx_packets": s.rx_packets,
                        "tx_packets": s.tx_packets,
                        "tx_ring_full": s.tx_ring_full,
                        "fill_ring_empty": s.fill_ring_empty,
                        "tx_kicks": s.tx_kicks,
                        "kernel_rx_dropped": s.kernel_rx_dropped,
                        "kernel_rx_ring_full": s.kernel_rx_ring_full,
                        "kernel_rx_fill_ring_empty": s.kernel_rx_fill_ring_empty,
                    })
                })
            })
            .collect();
        let workers: Vec<Value> = self
            .workers
            .iter()
            .map(|w| {
                json!({
                    "worker": w.worker,
                    "loops": w.loops.get(),
                    "idle_loops": w.idle_loops.get(),
                    "umem_copies": w.umem_copies.get(),
                    "copy_alloc_fail": w.copy_alloc_fail.get(),
                    "tx_no_queue": w.tx_no_queue.get(),
                })
            })
            .collect();
        json!({
            "bind_mode": self.details.bind_mode,
            "umems": self.details.umems,
            "hugepages": self.details.hugepages,
            "queues": queues,
            "workers": workers,
        })
    }
}
