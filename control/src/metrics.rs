//! Prometheus exposition, through metrics-exporter-prometheus.
//!
//! Workers keep their single-writer counters; nothing on the hot path knows
//! this module exists. At scrape time the control thread sums them and sets
//! the exporter's counters to the sums (`absolute`), then renders. Every
//! series is registered at start, so all of them are exported from zero.
//!
//! Names follow Prometheus conventions: the `xvs_` prefix, `_total` on
//! counters, bytes and seconds as units, and labels that the config bounds
//! (port, queue, worker, bridge, vni, vtep, reason), never a MAC or an IP
//! address a frame chose. The sets come from their one source:
//! `worker_counters!` and `drop_reasons!` give names and help text.

use metrics::{counter, describe_counter, describe_gauge, gauge, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use switch_core::bridge::ForwardingPlan;
use switch_core::pipeline::{CounterSnapshot, DropReason};
use switch_core::BdId;

use crate::api::service::ControlPlane;

/// The exporter: a recorder of its own (not the process-global one, so
/// tests can run several) and its handle for rendering.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    start_time: f64,
}

/// Per-queue drop reasons, and the AF_XDP counter each comes from.
const QUEUE_DROPS: [&str; 4] = ["tx_ring_full", "kernel_rx_ring_full", "kernel_rx_dropped", "kernel_tx_invalid_descs"];

/// The metrics every scrape carries, with their help text.
const COUNTERS: &[(&str, &str)] = &[
    ("xvs_port_receive_packets_total", "Frames received on a port (on a tunnel port: inner frames decapsulated)."),
    ("xvs_port_receive_bytes_total", "Bytes received on a port."),
    ("xvs_port_transmit_packets_total", "Frames sent on a port (on a tunnel port: inner frames encapsulated)."),
    ("xvs_port_transmit_bytes_total", "Bytes sent on a port."),
    ("xvs_queue_drops_total", "Frames an AF_XDP queue lost, by reason."),
    (
        "xvs_queue_fill_ring_empty_total",
        "Times a queue's fill ring was empty (side: xvs found it so, or the kernel did).",
    ),
    ("xvs_pipeline_drops_total", "Frames the pipeline dropped, by worker and reason."),
    ("xvs_worker_busy_loops_total", "Poll loops of a worker that found frames."),
    ("xvs_worker_idle_loops_total", "Poll loops of a worker that found none."),
    ("xvs_fdb_learned_total", "New dynamic FDB entries."),
    ("xvs_fdb_refreshed_total", "Refreshes of an FDB entry's last-seen time."),
    ("xvs_fdb_aged_total", "FDB entries removed by aging."),
    ("xvs_fdb_evicted_total", "FDB entries evicted to make room."),
    ("xvs_fdb_moves_total", "MAC moves, by result: applied, dampened (flapping), or refused (static entry)."),
    ("xvs_fdb_refusals_total", "New MACs not learned, by reason."),
    ("xvs_fdb_rebuilds_total", "FDB table rebuilds (tombstone cleanup)."),
    ("xvs_vni_packets_total", "Inner frames per VNI and VTEP, by direction (rx: decapsulated, tx: encapsulated)."),
    ("xvs_vni_bytes_total", "Inner bytes per VNI and VTEP, by direction."),
    ("xvs_vni_drops_total", "Frames of a VNI dropped, by direction (rx: from the remote, tx: to it)."),
    ("xvs_flow_rule_packets_total", "Frames a flow rule matched, by rule id and table."),
    ("xvs_flow_rule_bytes_total", "Bytes of the frames a flow rule matched, as received."),
];

impl Metrics {
    /// Registers every metric's description; values come at scrape time.
    pub fn new(start_time: std::time::SystemTime) -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let start_time = start_time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        with_local_recorder(&recorder, || {
            for (name, help) in COUNTERS {
                describe_counter!(*name, *help);
            }
            for (name, help) in CounterSnapshot::default().named().iter().zip(CounterSnapshot::HELP) {
                describe_counter!(pipeline_name(name.0), one_line(help));
            }
            describe_gauge!("xvs_fdb_entries", "Live FDB entries per bridge and type.");
            describe_gauge!("xvs_build_info", "Always 1; the version is a label.");
            describe_gauge!("xvs_start_time_seconds", "When the switch started, in seconds since the Unix epoch.");
        });
        Metrics { recorder, handle, start_time }
    }

    /// Brings every value up to date from `cp` and renders the exposition.
    pub fn scrape(&self, cp: &ControlPlane) -> String {
        with_local_recorder(&self.recorder, || {
            gauge!("xvs_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            gauge!("xvs_start_time_seconds").set(self.start_time);
            let plan = cp.plan.load();
            export_ports(cp, &plan);
            export_pipeline(cp);
            export_fdb(cp, &plan);
            export_overlay(cp, &plan);
            export_flows(cp);
        });
        self.handle.render()
    }
}

/// `xvs_pipeline_<counter>_total`.
fn pipeline_name(counter: &str) -> String {
    format!("xvs_pipeline_{counter}_total")
}

/// A doc comment as one line of help text.
fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn export_ports(cp: &ControlPlane, plan: &ForwardingPlan) {
    let first_tunnel = usize::from(plan.first_tunnel);
    for (i, p) in plan.ports.iter().enumerate() {
        let [rx_packets, rx_bytes, tx_packets, tx_bytes] = match i.checked_sub(first_tunnel) {
            Some(t) => {
                let c = cp.tunnel_totals(t);
                [c[0], c[1], c[2], c[3]]
            }
            None => cp.dataplane.port_totals(i),
        };
        let port = p.name.clone();
        counter!("xvs_port_receive_packets_total", "port" => port.clone()).absolute(rx_packets);
        counter!("xvs_port_receive_bytes_total", "port" => port.clone()).absolute(rx_bytes);
        counter!("xvs_port_transmit_packets_total", "port" => port.clone()).absolute(tx_packets);
        counter!("xvs_port_transmit_bytes_total", "port" => port).absolute(tx_bytes);
    }
    for q in cp.dataplane.queues() {
        let port = plan.ports.get(q.port.index()).map(|p| p.name.clone()).unwrap_or_default();
        let queue = q.queue.to_string();
        let drops = [q.tx_ring_full, q.kernel_rx_ring_full, q.kernel_rx_dropped, q.kernel_tx_invalid_descs];
        for (reason, n) in QUEUE_DROPS.iter().zip(drops) {
            counter!("xvs_queue_drops_total", "port" => port.clone(), "queue" => queue.clone(), "reason" => *reason)
                .absolute(n);
        }
        for (side, n) in [("xvs", q.fill_ring_empty), ("kernel", q.kernel_rx_fill_ring_empty)] {
            counter!("xvs_queue_fill_ring_empty_total", "port" => port.clone(), "queue" => queue.clone(), "side" => side)
                .absolute(n);
        }
    }
    for (worker, loops, idle) in cp.dataplane.worker_loops() {
        let worker = worker.to_string();
        counter!("xvs_worker_busy_loops_total", "worker" => worker.clone()).absolute(loops.saturating_sub(idle));
        counter!("xvs_worker_idle_loops_total", "worker" => worker).absolute(idle);
    }
}

fn export_pipeline(cp: &ControlPlane) {
    for (w, c) in cp.counters.iter().enumerate() {
        let s = c.snapshot();
        let worker = w.to_string();
        for (name, v) in s.named() {
            counter!(pipeline_name(name), "worker" => worker.clone()).absolute(v);
        }
        for &r in DropReason::ALL {
            counter!("xvs_pipeline_drops_total", "worker" => worker.clone(), "reason" => r.name())
                .absolute(s.drops_for(r));
        }
    }
}

fn export_fdb(cp: &ControlPlane, plan: &ForwardingPlan) {
    let mut per_bridge = vec![(0u64, 0u64); plan.bridges.len()];
    for (i, d) in plan.domains.iter().enumerate().skip(1) {
        let (all, statics) = cp.writer.domain_entries(BdId(i as u16));
        if let Some(b) = per_bridge.get_mut(d.bridge) {
            b.0 += u64::from(all - statics);
            b.1 += u64::from(statics);
        }
    }
    for (bridge, (dynamic, statics)) in plan.bridges.iter().zip(per_bridge) {
        gauge!("xvs_fdb_entries", "bridge" => bridge.clone(), "type" => "dynamic").set(dynamic as f64);
        gauge!("xvs_fdb_entries", "bridge" => bridge.clone(), "type" => "static").set(statics as f64);
    }
    let s = cp.writer.stats();
    counter!("xvs_fdb_learned_total").absolute(s.learned);
    counter!("xvs_fdb_refreshed_total").absolute(s.refreshed);
    counter!("xvs_fdb_aged_total").absolute(s.aged);
    counter!("xvs_fdb_evicted_total").absolute(s.evicted);
    counter!("xvs_fdb_rebuilds_total").absolute(s.rebuilds);
    for (result, n) in [("applied", s.moves), ("dampened", s.moves_dampened), ("refused_static", s.static_move_refused)]
    {
        counter!("xvs_fdb_moves_total", "result" => result).absolute(n);
    }
    let refusals = [
        ("port_limit", s.refused_port_limit),
        ("no_learning", s.refused_no_learning),
        ("full", s.refused_full),
        ("chain_full", s.refused_chain_full),
    ];
    for (reason, n) in refusals {
        counter!("xvs_fdb_refusals_total", "reason" => reason).absolute(n);
    }
}

fn export_flows(cp: &ControlPlane) {
    for (id, s) in cp.flows().iter() {
        let [packets, bytes] = cp.rule_counts(id);
        let labels = [("id", id.to_string()), ("table", s.rule.table.to_string())];
        counter!("xvs_flow_rule_packets_total", &labels).absolute(packets);
        counter!("xvs_flow_rule_bytes_total", &labels).absolute(bytes);
    }
}

fn export_overlay(cp: &ControlPlane, plan: &ForwardingPlan) {
    for v in cp.vni_totals(plan) {
        let (vni, vtep) = (v.vni.to_string(), v.vtep.clone());
        let c = v.counters;
        for (direction, packets, bytes, drops) in [("rx", c[0], c[1], c[4]), ("tx", c[2], c[3], c[5])] {
            let labels = [("vni", vni.clone()), ("vtep", vtep.clone()), ("direction", direction.to_string())];
            counter!("xvs_vni_packets_total", &labels).absolute(packets);
            counter!("xvs_vni_bytes_total", &labels).absolute(bytes);
            counter!("xvs_vni_drops_total", &labels).absolute(drops);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_one_line_per_counter() {
        assert_eq!(one_line(" Frames dropped,\n by reason.\n"), "Frames dropped, by reason.");
        assert!(CounterSnapshot::HELP.iter().all(|h| !one_line(h).is_empty()));
    }
}
