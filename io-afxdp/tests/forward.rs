//! End-to-end tests on real veth pairs: a 2-port AF_XDP port set doing a
//! trivial L2 forward (port 0 <-> port 1), checked with ping, with xvs-gen
//! traffic counted by an XDP_DROP sink, and by the switch's own counters.
//!
//! They need root (namespaces, veth, AF_XDP) and skip with a message
//! otherwise; CI runs as root, so there they run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{have_root, StopFlag, Topo};
use io_afxdp::worker::WorkerConfig;
use io_afxdp::{
    spawn_worker, xdp_query, BindMode, Error, PortSet, PortSetConfig, PortSpec, UmemSharing, WorkerIo, XdpAttachMode,
    XdpDropSink, XdpMode,
};
use switch_core::pipeline::Batch;
use switch_core::port::{FramePool, PortTx, TxFrame};
use switch_core::types::{Nanos, PortId};

/// Sends every frame out of the other port.
fn cross_connect(batch: &mut Batch, io: &mut WorkerIo, _now: Nanos) {
    for d in &batch.descs[..batch.len] {
        let out = PortId(1 - d.in_port.0);
        io.send(out, TxFrame { buf: d.buf, head: d.head, len: d.len });
    }
}

fn ping(t: &Topo, from: usize, to_ip: &str) -> bool {
    let out = t.in_host(from, &["ping", "-c", "3", "-i", "0.2", "-W", "2", to_ip]);
    if !out.status.success() {
        eprintln!("ping failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

/// Runs xvs-gen in host 0 towards host 1 and returns (sent, delivered at a
/// sink on host 1).
fn gen_through(t: &Topo, count: u64, rate: u64, flows: u32) -> (u64, u64) {
    let (sent, delivered, _) = gen_through_sized(t, count, rate, flows, 64);
    (sent, delivered)
}

/// Like `gen_through` with a frame size; also returns the XDP bytes the sink
/// counted (veth leaves out the 14-byte Ethernet header).
fn gen_through_sized(t: &Topo, count: u64, rate: u64, flows: u32, size: u16) -> (u64, u64, u64) {
    let gen = env!("CARGO_BIN_EXE_xvs-gen");
    let sink = env!("CARGO_BIN_EXE_xvs-sink");
    let h1 = &t.host_if[1];
    let out = t.in_host(1, &[sink, "attach", h1, "--mode", "native"]);
    assert!(out.status.success(), "sink attach: {}", String::from_utf8_lossy(&out.stderr));
    let counters = |t: &Topo| -> (u64, u64) {
        let out = t.in_host(1, &[sink, "stats", h1]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sink stats JSON");
        (v["xdp_drops"].as_u64().unwrap(), v["xdp_bytes"].as_u64().unwrap())
    };
    let before = counters(t);
    let dst = t.host_mac(1);
    let (count, rate, flows, size) = (count.to_string(), rate.to_string(), flows.to_string(), size.to_string());
    let out = t.in_host(
        0,
        &[
            gen,
            "--iface",
            &t.host_if[0],
            "--count",
            &count,
            "--rate",
            &rate,
            "--flows",
            &flows,
            "--size",
            &size,
            "--dst-mac",
            &dst,
            "--src-ip",
            "10.99.0.1",
            "--dst-ip",
            "10.99.0.2",
        ],
    );
    assert!(out.status.success(), "xvs-gen: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("gen JSON");
    std::thread::sleep(Duration::from_millis(300));
    let after = counters(t);
    let out = t.in_host(1, &[sink, "detach", h1]);
    assert!(out.status.success());
    (v["sent"].as_u64().unwrap(), after.0 - before.0, after.1 - before.1)
}

fn open_pair(t: &Topo, cfg: &PortSetConfig) -> Result<PortSet, Error> {
    PortSet::open(&[PortSpec::new(&t.sw_if[0], PortId(0)), PortSpec::new(&t.sw_if[1], PortId(1))], cfg)
}

fn assert_detached(t: &Topo) {
    for i in 0..2 {
        let idx = io_afxdp::ifindex(&t.sw_if[i]).unwrap();
        let st = xdp_query(idx).unwrap();
        assert!(!st.is_attached(), "{} still has XDP attached after shutdown: {st:?}", t.sw_if[i]);
    }
}

#[test]
fn l2_forward_over_shared_umem() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    let ports = open_pair(&t, &PortSetConfig::default()).expect("open port set");
    assert_eq!(ports.umem_count(), 1);
    for q in ports.queue_infos() {
        assert_eq!(q.bind_mode, BindMode::Copy, "veth has no zero-copy");
        assert_eq!(q.xdp_mode, Some(XdpAttachMode::Native), "auto picks native XDP on veth");
        assert_eq!(q.umem, 0);
    }
    let io = ports.into_single_worker();
    let stats = io.stats();
    let stop = StopFlag::new();
    let h = spawn_worker(WorkerConfig { core: Some(1), ..Default::default() }, io, cross_connect, stop.flag())
        .expect("spawn worker");
    t.settle();

    assert!(ping(&t, 0, "10.99.0.2"), "ping h0 -> h1 through the switch");
    assert!(ping(&t, 1, "10.99.0.1"), "ping h1 -> h0 through the switch");

    let (sent, delivered) = gen_through(&t, 20_000, 50_000, 16);

    stop.stop();
    let io = h.join().expect("worker exits cleanly");
    let p0 = stats.port_totals(PortId(0));
    let p1 = stats.port_totals(PortId(1));
    let q: Vec<_> = stats.queues.iter().map(|q| q.snapshot()).collect();
    eprintln!("sent {sent}, delivered {delivered}\nport0 {p0:?}\nport1 {p1:?}\n{q:#?}");
    assert_eq!(sent, 20_000);
    assert_eq!(p0.rx_packets, p1.tx_packets + p1.tx_ring_full, "every frame received on port 0 was sent to port 1");
    assert_eq!(p1.rx_packets, p0.tx_packets + p0.tx_ring_full);
    assert_eq!(p1.tx_ring_full, 0);
    assert_eq!(stats.bad_buf.get(), 0);
    assert_eq!(stats.umem_copies.get(), 0, "shared UMEM never copies");
    assert!(delivered <= p1.tx_packets, "the sink only sees what the switch sent");
    // On an otherwise idle machine nothing is lost; allow 1% for a
    // descheduled worker on a loaded CI host.
    assert!(delivered * 100 >= sent * 99, "delivered {delivered} of {sent}");
    drop(io);
    assert_detached(&t);
}

#[test]
fn l2_forward_over_separate_umems_copies() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    let cfg = PortSetConfig { umem_sharing: UmemSharing::PerPort, ..Default::default() };
    let ports = open_pair(&t, &cfg).expect("open port set");
    assert_eq!(ports.umem_count(), 2);
    let io = ports.into_single_worker();
    let stats = io.stats();
    let stop = StopFlag::new();
    let h = spawn_worker(WorkerConfig::default(), io, cross_connect, stop.flag()).expect("spawn worker");
    t.settle();
    assert!(ping(&t, 0, "10.99.0.2"), "ping through the copy path");
    let (sent, delivered) = gen_through(&t, 5_000, 50_000, 4);
    stop.stop();
    let io = h.join().unwrap();
    assert_eq!(sent, 5_000);
    assert!(delivered * 100 >= sent * 99, "delivered {delivered} of {sent}");
    let copies = stats.umem_copies.get();
    let tx = stats.port_totals(PortId(0)).tx_packets + stats.port_totals(PortId(1)).tx_packets;
    assert!(copies >= delivered, "every forwarded frame is copied ({copies})");
    assert_eq!(copies, tx, "each transmitted frame crossed UMEMs once");
    assert_eq!(stats.copy_alloc_fail.get(), 0);
    drop(io);
    assert_detached(&t);
}

/// Pushes an 802.1Q tag into the headroom: the MACs move 4 bytes forward
/// and the frame is sent from `head - 4`. This is what xsk-rs's FrameDesc
/// cannot express and our own TX ring mapping can.
fn push_vlan_100(batch: &mut Batch, io: &mut WorkerIo, _now: Nanos) {
    for d in &batch.descs[..batch.len] {
        let h = d.head as usize;
        let b = io.buffer_mut(d.buf);
        b.copy_within(h..h + 12, h - 4);
        b[h + 8..h + 12].copy_from_slice(&[0x81, 0x00, 0x00, 100]);
        io.send(PortId(1 - d.in_port.0), TxFrame { buf: d.buf, head: d.head - 4, len: d.len + 4 });
    }
}

#[test]
fn vlan_tag_pushed_into_headroom_goes_out_on_the_wire() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    let ports = open_pair(&t, &PortSetConfig::default()).unwrap();
    let io = ports.into_single_worker();
    let stats = io.stats();
    let stop = StopFlag::new();
    let h = spawn_worker(WorkerConfig::default(), io, push_vlan_100, stop.flag()).unwrap();
    t.settle();
    let (sent, delivered, bytes) = gen_through_sized(&t, 2_000, 20_000, 1, 100);
    stop.stop();
    drop(h.join().unwrap());
    eprintln!("sent {sent} delivered {delivered} bytes {bytes}");
    assert!(delivered * 100 >= sent * 99, "delivered {delivered} of {sent}");
    // 100-byte frames + 4-byte tag - 14 bytes of Ethernet header veth leaves
    // out of its XDP byte count.
    assert_eq!(bytes, delivered * 90, "every frame arrived 4 bytes longer");
    assert_eq!(
        stats.port_totals(PortId(1)).tx_bytes,
        stats.port_totals(PortId(0)).rx_bytes + 4 * stats.port_totals(PortId(0)).rx_packets
    );
    assert_eq!(
        stats.queues[1].kernel_tx_invalid_descs.get(),
        0,
        "the kernel accepted descriptors starting in the headroom"
    );
}

/// Forwards a copy made with `alloc` + `copy_frame` and releases the
/// original, the way the flood stage replicates frames.
fn forward_copy(batch: &mut Batch, io: &mut WorkerIo, _now: Nanos) {
    for d in &batch.descs[..batch.len] {
        let Some(copy) = io.alloc() else {
            io.release(d.buf);
            continue;
        };
        io.copy_frame(d.buf, copy, d.head as usize, d.len as usize);
        io.release(d.buf);
        io.send(PortId(1 - d.in_port.0), TxFrame { buf: copy, head: d.head, len: d.len });
    }
}

#[test]
fn alloc_copy_release_path_forwards_and_leaks_nothing() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    let ports = open_pair(&t, &PortSetConfig::default()).unwrap();
    let io = ports.into_single_worker();
    let free_at_start = io.free_chunks();
    let stats = io.stats();
    let stop = StopFlag::new();
    let h = spawn_worker(WorkerConfig::default(), io, forward_copy, stop.flag()).unwrap();
    t.settle();
    assert!(ping(&t, 0, "10.99.0.2"));
    let (sent, delivered) = gen_through(&t, 5_000, 50_000, 8);
    stop.stop();
    let io = h.join().unwrap();
    assert!(delivered * 100 >= sent * 99, "delivered {delivered} of {sent}");
    assert_eq!(stats.bad_buf.get(), 0);
    // Everything sent has completed and the fill rings are topped up again,
    // so the free stack is back where it started (give or take one refill
    // batch per queue).
    let free_at_end = io.free_chunks();
    assert!(free_at_start.abs_diff(free_at_end) < 2 * 32, "chunks leaked: {free_at_start} -> {free_at_end}");
}

#[test]
fn stale_xdp_program_is_detached_and_bind_retried() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    // A program left behind by a previous run.
    XdpDropSink::attach(&t.sw_if[0], XdpMode::Native, false).unwrap().leak();
    let idx = io_afxdp::ifindex(&t.sw_if[0]).unwrap();
    assert!(xdp_query(idx).unwrap().is_attached());

    let ports = open_pair(&t, &PortSetConfig::default()).expect("open despite a stale program");
    let io = ports.into_single_worker();
    let stop = StopFlag::new();
    let h = spawn_worker(WorkerConfig::default(), io, cross_connect, stop.flag()).unwrap();
    t.settle();
    assert!(ping(&t, 0, "10.99.0.2"), "the port works after the stale program was replaced");
    stop.stop();
    drop(h.join().unwrap());
    assert_detached(&t);
}

#[test]
fn without_detach_a_stale_program_is_an_error() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 1);
    t.enter_switch_ns();
    XdpDropSink::attach(&t.sw_if[1], XdpMode::Native, false).unwrap().leak();
    let cfg = PortSetConfig {
        detach_stale_xdp: false,
        bind_retries: 1,
        bind_retry_delay: Duration::from_millis(10),
        ..Default::default()
    };
    let err = open_pair(&t, &cfg).expect_err("a foreign program blocks the bind");
    eprintln!("error as reported: {err}");
    assert!(err.to_string().contains(&t.sw_if[1]), "error names the interface: {err}");
    // Port 0 was opened first and closed again on the error path.
    let idx0 = io_afxdp::ifindex(&t.sw_if[0]).unwrap();
    assert!(!xdp_query(idx0).unwrap().is_attached(), "no program left on the port opened before the failure");
    let idx1 = io_afxdp::ifindex(&t.sw_if[1]).unwrap();
    assert!(xdp_query(idx1).unwrap().is_attached(), "the foreign program was not touched");
}

#[test]
fn missing_interface_is_named_before_anything_is_opened() {
    // Needs no privileges: validation happens before any socket exists.
    let err = PortSet::open(
        &[PortSpec::new("lo", PortId(0)), PortSpec::new("xvs-missing9", PortId(1))],
        &PortSetConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(&err, Error::NoSuchInterface { name } if name == "xvs-missing9"), "{err}");
}

#[test]
fn two_workers_each_own_one_queue_of_every_port() {
    if !have_root() {
        return;
    }
    let mut t = Topo::new(2, 2);
    t.enter_switch_ns();
    let specs = [
        PortSpec { iface: t.sw_if[0].clone(), port: PortId(0), queues: vec![0, 1] },
        PortSpec { iface: t.sw_if[1].clone(), port: PortId(1), queues: vec![0, 1] },
    ];
    let ports = PortSet::open(&specs, &PortSetConfig::default()).expect("open 2x2 queues");
    assert_eq!(ports.queue_infos().len(), 4);
    let assign = ports.assign_by_queue_id(2);
    assert_eq!(assign.len(), 2);
    let ios = ports.into_workers(&assign).unwrap();
    let stop = StopFlag::new();
    let mut handles = Vec::new();
    for (w, io) in ios.into_iter().enumerate() {
        assert_eq!(io.queue_count(), 2);
        let cfg = WorkerConfig { core: Some(w % 2), poll: Default::default(), name: None };
        handles.push(spawn_worker(cfg, io, cross_connect, stop.flag()).unwrap());
    }
    t.settle();
    assert!(ping(&t, 0, "10.99.0.2"));
    let (sent, delivered) = gen_through(&t, 10_000, 50_000, 64);
    stop.stop();
    let stats: Vec<_> = handles.iter().map(|h| Arc::clone(h.stats())).collect();
    let ios: Vec<WorkerIo> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sent, 10_000);
    assert!(delivered * 100 >= sent * 99, "delivered {delivered} of {sent}");
    let per_worker: Vec<u64> = stats.iter().map(|s| s.port_totals(PortId(0)).rx_packets).collect();
    eprintln!("port 0 rx per worker: {per_worker:?}");
    assert!(per_worker.iter().sum::<u64>() >= delivered);
    for s in &stats {
        // Each worker transmits on its own queue of the other port.
        assert_eq!(
            s.port_totals(PortId(0)).rx_packets,
            s.port_totals(PortId(1)).tx_packets + s.port_totals(PortId(1)).tx_ring_full
        );
    }
    drop(ios);
    assert_detached(&t);
}
