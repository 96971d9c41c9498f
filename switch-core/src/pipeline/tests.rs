//! Behaviour of the whole pipeline, driven through [`crate::sim::SwitchSim`].

use proptest::prelude::*;

use crate::bridge::spec::{BridgeSpec, FdbSpec, PortMode, PortSpec, StaticMacSpec, SwitchSpec, VlanSet};
use crate::pipeline::{DropReason, TraceEvent, TraceLog, MAX_BURST};
use crate::sim::SwitchSim;
use crate::types::{MacAddr, PortId, VlanId};

const H1: PortId = PortId(0); // access 10
const H2: PortId = PortId(1); // access 10
const H3: PortId = PortId(2); // access 20
const TRUNK: PortId = PortId(3); // trunk 10,20,30 native 10
const CUST: PortId = PortId(4); // dot1q-tunnel s-vlan 30
const PROV: PortId = PortId(5); // 802.1ad trunk carrying 30

fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, n])
}

fn access(name: &str, vlan: u16) -> PortSpec {
    PortSpec {
        name: name.into(),
        interface: None,
        bridge: 0,
        mode: PortMode::Access { vlan: VlanId(vlan) },
        mac_limit: None,
        mtu: None,
    }
}

fn vlans(v: &[u16]) -> VlanSet {
    let mut s = VlanSet::new();
    v.iter().for_each(|x| s.insert(*x));
    s
}

pub(super) fn spec() -> SwitchSpec {
    SwitchSpec {
        bridges: vec![BridgeSpec { name: "br0".into() }],
        ports: vec![
            access("h1", 10),
            access("h2", 10),
            access("h3", 20),
            PortSpec {
                name: "trunk".into(),
                interface: None,
                bridge: 0,
                mode: PortMode::Trunk {
                    allowed: vlans(&[10, 20]),
                    native: Some(VlanId(10)),
                    native_tagged: false,
                    tpid: 0x8100,
                },
                mac_limit: None,
                mtu: None,
            },
            PortSpec {
                name: "cust".into(),
                interface: None,
                bridge: 0,
                mode: PortMode::Dot1qTunnel { s_vlan: VlanId(30) },
                mac_limit: None,
                mtu: None,
            },
            PortSpec {
                name: "prov".into(),
                interface: None,
                bridge: 0,
                mode: PortMode::Trunk { allowed: vlans(&[30]), native: None, native_tagged: false, tpid: 0x88a8 },
                mac_limit: None,
                mtu: None,
            },
        ],
        fdb: FdbSpec::default(),
        overlay: Default::default(),
    }
}

fn eth(dst: MacAddr, src: MacAddr, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(&[0x45; 46]);
    f
}

fn tagged(dst: MacAddr, src: MacAddr, tpid: u16, tci: u16, inner: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&inner.to_be_bytes());
    f.extend_from_slice(&[0x45; 46]);
    f
}

fn ports(out: &[(PortId, Vec<u8>)]) -> Vec<u16> {
    out.iter().map(|(p, _)| p.0).collect()
}

fn drops(sim: &SwitchSim, r: DropReason) -> u64 {
    sim.pipeline.counters().snapshot().drops_for(r)
}

#[test]
fn unknown_unicast_floods_in_vlan_then_learned_unicast_is_forwarded() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let out = sim.send(H1, &eth(mac(2), mac(1), 0x0800));
    // h2 (untagged) and the trunk (native 10: untagged); never h3 or the QinQ ports.
    assert_eq!(ports(&out), vec![1, 3]);
    assert_eq!(out[0].1, eth(mac(2), mac(1), 0x0800));
    assert_eq!(out[1].1, eth(mac(2), mac(1), 0x0800));
    let out = sim.send(H2, &eth(mac(1), mac(2), 0x0800));
    assert_eq!(ports(&out), vec![0]);
    let out = sim.send(H1, &eth(mac(2), mac(1), 0x0800));
    assert_eq!(ports(&out), vec![1]);
    let bd10 = sim.plan.domain(0, 10).unwrap();
    assert_eq!(sim.writer.get(bd10, mac(1)).unwrap().port, H1);
    assert_eq!(sim.writer.get(bd10, mac(2)).unwrap().port, H2);
    let c = sim.pipeline.counters().snapshot();
    assert_eq!((c.forwarded, c.flooded, c.unknown_unicast), (2, 1, 1));
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn broadcast_never_leaves_its_vlan() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let out = sim.send(H3, &eth(MacAddr::BROADCAST, mac(3), 0x0806));
    assert_eq!(ports(&out), vec![3]);
    // VLAN 20 is not native on the trunk, so it leaves tagged 20.
    assert_eq!(out[0].1, tagged(MacAddr::BROADCAST, mac(3), 0x8100, 20, 0x0806));
    // A MAC learned in VLAN 20 is unknown in VLAN 10: h1 floods, in VLAN 10 only.
    let out = sim.send(H1, &eth(mac(3), mac(1), 0x0800));
    assert_eq!(ports(&out), vec![1, 3]);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn trunk_ingress_rules() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    // Tagged 20 from the trunk reaches h3 untagged, priority kept nowhere (access).
    let out = sim.send(TRUNK, &tagged(MacAddr::BROADCAST, mac(9), 0x8100, 0xa000 | 20, 0x0800));
    assert_eq!(ports(&out), vec![2]);
    assert_eq!(out[0].1, eth(MacAddr::BROADCAST, mac(9), 0x0800));
    // Untagged on the trunk is native VLAN 10.
    let out = sim.send(TRUNK, &eth(MacAddr::BROADCAST, mac(8), 0x0800));
    assert_eq!(ports(&out), vec![0, 1]);
    // VLAN 30 is not allowed on this trunk; 4095 is reserved.
    assert!(sim.send(TRUNK, &tagged(MacAddr::BROADCAST, mac(9), 0x8100, 30, 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::VlanNotAllowed), 1);
    assert!(sim.send(TRUNK, &tagged(MacAddr::BROADCAST, mac(9), 0x8100, 4095, 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::ReservedVlan), 1);
    // Priority-tagged on the trunk means native.
    let out = sim.send(TRUNK, &tagged(MacAddr::BROADCAST, mac(7), 0x8100, 0x6000, 0x0800));
    assert_eq!(ports(&out), vec![0, 1]);
    assert_eq!(out[0].1, eth(MacAddr::BROADCAST, mac(7), 0x0800));
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn access_ingress_rules() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    // A tag with a VLAN id on an access port is dropped, even for the port's own VLAN.
    assert!(sim.send(H1, &tagged(MacAddr::BROADCAST, mac(1), 0x8100, 10, 0x0800)).is_empty());
    assert!(sim.send(H1, &tagged(MacAddr::BROADCAST, mac(1), 0x8100, 20, 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::VlanNotAllowed), 2);
    // Priority-tagged is accepted; the trunk (native, untagged) gets it untagged.
    let out = sim.send(H1, &tagged(MacAddr::BROADCAST, mac(1), 0x8100, 0xe000, 0x0800));
    assert_eq!(ports(&out), vec![1, 3]);
    assert_eq!(out[1].1, eth(MacAddr::BROADCAST, mac(1), 0x0800));
}

#[test]
fn trunk_without_native_and_native_tagged() {
    let mut s = spec();
    s.ports[3].mode = PortMode::Trunk { allowed: vlans(&[10, 20]), native: None, native_tagged: false, tpid: 0x8100 };
    let mut sim = SwitchSim::new(&s).unwrap();
    assert!(sim.send(TRUNK, &eth(MacAddr::BROADCAST, mac(8), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::UntaggedNotAllowed), 1);

    s.ports[3].mode =
        PortMode::Trunk { allowed: vlans(&[10, 20]), native: Some(VlanId(10)), native_tagged: true, tpid: 0x8100 };
    let mut sim = SwitchSim::new(&s).unwrap();
    let out = sim.send(H1, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    assert_eq!(out[1], (TRUNK, tagged(MacAddr::BROADCAST, mac(1), 0x8100, 10, 0x0800)));
}

#[test]
fn qinq_pushes_and_pops_the_s_tag() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    // A customer frame with its own C-tag 100 enters S-VLAN 30 unchanged...
    let customer = tagged(MacAddr::BROADCAST, mac(5), 0x8100, 100, 0x0800);
    let out = sim.send(CUST, &customer);
    assert_eq!(ports(&out), vec![5]);
    // ...and crosses the provider trunk with an S-tag in front of the C-tag.
    let mut expect = customer.clone();
    expect.splice(12..12, [0x88, 0xa8, 0x00, 30]);
    assert_eq!(out[0].1, expect);
    // The reverse direction pops the S-tag and keeps the C-tag.
    let mut from_provider = tagged(mac(5), mac(6), 0x8100, 100, 0x0800);
    from_provider.splice(12..12, [0x88, 0xa8, 0x00, 30]);
    let out = sim.send(PROV, &from_provider);
    assert_eq!(ports(&out), vec![4]);
    assert_eq!(out[0].1, tagged(mac(5), mac(6), 0x8100, 100, 0x0800));
    // A C-tag (0x8100) on the 802.1ad trunk is not an S-tag: untagged, and no native S-VLAN.
    assert!(sim.send(PROV, &tagged(MacAddr::BROADCAST, mac(6), 0x8100, 30, 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::UntaggedNotAllowed), 1);
}

#[test]
fn bad_sources_reserved_destinations_and_runts_are_dropped() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    assert!(sim.send(H1, &eth(mac(2), MacAddr([0x01, 0, 0x5e, 0, 0, 1]), 0x0800)).is_empty());
    assert!(sim.send(H1, &eth(mac(2), MacAddr::BROADCAST, 0x0800)).is_empty());
    assert!(sim.send(H1, &eth(mac(2), MacAddr::ZERO, 0x0800)).is_empty());
    assert!(sim.send(H1, &eth(MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x0e]), mac(1), 0x88cc)).is_empty());
    assert!(sim.send(H1, &[0u8; 13]).is_empty());
    assert!(sim.send(TRUNK, &tagged(mac(1), mac(2), 0x8100, 20, 0x0800)[..16]).is_empty());
    assert_eq!(drops(&sim, DropReason::SrcMacMulticast), 2);
    assert_eq!(drops(&sim, DropReason::SrcMacZero), 1);
    assert_eq!(drops(&sim, DropReason::ReservedMulticast), 1);
    assert_eq!(drops(&sim, DropReason::Truncated), 2);
    // Nothing was learned from any of them.
    assert_eq!(sim.writer.stats().entries, 0);
    // 01:80:c2:00:00:10 is outside the reserved block and floods.
    assert_eq!(ports(&sim.send(H1, &eth(MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x10]), mac(1), 0x0800))), vec![1, 3]);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn reserved_destinations_are_dropped_as_such_before_any_other_check() {
    // Parse no longer checks the destination: unicast frames skip the
    // check, group frames make it after classify, and classify's failures
    // defer to it. The outcome must be as if it came first.
    let stp = MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x00]);
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let frames = [
        (H1, eth(stp, mac(1), 0x0027)),
        // A source that must never be learned.
        (H1, eth(stp, MacAddr::BROADCAST, 0x0027)),
        // A VLAN the trunk does not carry, the reserved VLAN, a cut-off tag.
        (TRUNK, tagged(stp, mac(2), 0x8100, 30, 0x0027)),
        (TRUNK, tagged(stp, mac(2), 0x8100, 0xfff, 0x0027)),
        (TRUNK, tagged(stp, mac(2), 0x8100, 10, 0x0027)[..16].to_vec()),
        // Untagged on a trunk without a native VLAN, and an unknown port.
        (PROV, eth(stp, mac(3), 0x0027)),
        (PortId(60), eth(stp, mac(4), 0x0027)),
        (PortId(60), tagged(stp, mac(4), 0x8100, 10, 0x0027)),
    ];
    for (port, f) in &frames {
        assert!(sim.send(*port, f).is_empty(), "{port:?} {f:x?}");
    }
    let c = sim.pipeline.counters().snapshot();
    assert_eq!(drops(&sim, DropReason::ReservedMulticast), frames.len() as u64);
    assert_eq!(c.total_drops(), frames.len() as u64);
    assert_eq!(sim.writer.stats().entries, 0);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn aging_and_refresh() {
    let mut s = spec();
    s.fdb.aging_secs = 300;
    let mut sim = SwitchSim::new(&s).unwrap();
    let bd10 = sim.plan.domain(0, 10).unwrap();
    sim.send(H1, &eth(mac(2), mac(1), 0x0800));
    sim.send(H2, &eth(mac(1), mac(2), 0x0800));
    // h1 keeps talking every 100 s; h2 goes quiet.
    for _ in 0..5 {
        sim.advance_secs(100);
        sim.send(H1, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    }
    assert!(sim.writer.get(bd10, mac(1)).is_some(), "refreshed entry must not age");
    assert!(sim.writer.get(bd10, mac(2)).is_none(), "idle entry must age out after 300 s");
    assert_eq!(sim.writer.stats().aged, 1);
    // Once aged, traffic to it floods again.
    assert_eq!(ports(&sim.send(H1, &eth(mac(2), mac(1), 0x0800))), vec![1, 3]);
}

#[test]
fn static_entries_forward_and_block_spoofing() {
    let mut s = spec();
    s.fdb.static_macs.push(StaticMacSpec { bridge: 0, vlan: VlanId(10), mac: mac(0x42), port: 1 });
    let mut sim = SwitchSim::new(&s).unwrap();
    assert_eq!(ports(&sim.send(H1, &eth(mac(0x42), mac(1), 0x0800))), vec![1]);
    // Someone on h1 claims the static MAC: dropped, and the entry does not move.
    assert!(sim.send(H1, &eth(mac(2), mac(0x42), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::StaticMacMove), 1);
    let bd10 = sim.plan.domain(0, 10).unwrap();
    assert_eq!(sim.writer.get(bd10, mac(0x42)).unwrap().port, H2);
    sim.advance_secs(100_000);
    assert!(sim.writer.get(bd10, mac(0x42)).is_some());
}

#[test]
fn mac_move_is_reported_with_ports() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    sim.send(H1, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    sim.now = crate::Nanos::from_secs(5);
    sim.send(H2, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    let moves: Vec<_> = sim.writer.recent_moves().map(|m| (m.mac, m.from, m.to, m.dampened)).collect();
    assert_eq!(moves, vec![(mac(1), H1, H2, false)]);
    assert_eq!(ports(&sim.send(H3, &eth(MacAddr::BROADCAST, mac(3), 0x0800))), vec![3]);
    // Traffic to the moved MAC now goes to h2.
    assert_eq!(ports(&sim.send(TRUNK, &eth(mac(1), mac(9), 0x0800))), vec![1]);
    assert_eq!(sim.writer.stats().moves, 1);
}

#[test]
fn flapping_mac_is_dampened() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let bd10 = sim.plan.domain(0, 10).unwrap();
    for i in 0..10u64 {
        sim.now = crate::Nanos::from_secs(i);
        let port = if i % 2 == 0 { H1 } else { H2 };
        sim.send(port, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    }
    let st = sim.writer.stats();
    assert_eq!(st.moves, 4, "move_max moves per window, then held");
    assert!(st.moves_dampened >= 1);
    assert!(sim.writer.recent_moves().any(|m| m.dampened));
    assert_eq!(sim.writer.get(bd10, mac(1)).unwrap().port, H1);
}

#[test]
fn frame_to_its_own_segment_is_dropped() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    sim.send(H1, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    sim.send(H1, &eth(MacAddr::BROADCAST, mac(11), 0x0800));
    assert!(sim.send(H1, &eth(mac(11), mac(1), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::SameSegment), 1);
}

#[test]
fn flood_without_other_members_is_counted() {
    let mut s = spec();
    s.ports.push(access("lonely", 99));
    let mut sim = SwitchSim::new(&s).unwrap();
    assert!(sim.send(PortId(6), &eth(MacAddr::BROADCAST, mac(1), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::FloodNoMembers), 1);
    assert!(sim.send(PortId(60), &eth(MacAddr::BROADCAST, mac(1), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::UnknownPort), 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn frames_from_unknown_ports_are_dropped_whatever_their_tags() {
    // Classify reads a port's tagging without a bounds check: a port the
    // plan does not have reads as no domain and TPID 0, so an EtherType of 0
    // takes the tagged path. Every kind of frame must still be an unknown
    // port's, whether or not the learn cache was asked.
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let frames = [
        eth(mac(2), mac(1), 0x0800),
        eth(mac(2), mac(1), 0x0000),
        eth(MacAddr::BROADCAST, mac(1), 0x0000),
        tagged(mac(2), mac(1), 0x8100, 10, 0x0800),
        tagged(mac(2), mac(1), 0x88a8, 30, 0x0800),
        tagged(mac(2), mac(1), 0x0000, 0, 0x0800),
    ];
    let mut sent = 0;
    for port in [PortId(6), PortId(4095), PortId(u16::MAX)] {
        for f in &frames {
            assert!(sim.send(port, f).is_empty(), "{port:?} {f:x?}");
            sent += 1;
        }
    }
    assert_eq!(drops(&sim, DropReason::UnknownPort), sent);
    assert_eq!(sim.pipeline.counters().snapshot().total_drops(), sent);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn flood_survives_buffer_exhaustion() {
    let mut s = spec();
    for i in 0..6 {
        s.ports.push(access(&format!("x{i}"), 10));
    }
    // One chunk: the received frame itself, nothing spare to copy into.
    let mut sim = SwitchSim::with_chunks(&s, 1).unwrap();
    let out = sim.send(H1, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    // The copies fail and are counted; the last member still gets the original.
    assert_eq!(out.len(), 1);
    assert_eq!(drops(&sim, DropReason::NoBuffer), 7);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn trace_reports_each_stage() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let mut log = TraceLog::default();
    sim.inject(TRUNK, &tagged(mac(2), mac(9), 0x8100, 20, 0x0800));
    sim.run_observed(&mut log);
    let kinds: Vec<_> = log.events.iter().map(|(_, e)| std::mem::discriminant(e)).collect();
    assert!(matches!(log.events[0].1, TraceEvent::Parsed { ethertype: 0x8100, tci: Some(20), .. }));
    assert!(matches!(log.events[1].1, TraceEvent::Classified { port: TRUNK, tag_len: 4, .. }));
    assert!(kinds.len() >= 5, "{:?}", log.events);
}

#[test]
fn learning_works_across_many_batches_and_macs() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    for n in 0..200u8 {
        sim.inject(H1, &eth(MacAddr::BROADCAST, MacAddr([2, 1, 0, 0, 0, n]), 0x0800));
    }
    sim.run();
    assert_eq!(sim.writer.stats().learned, 200);
    assert_eq!(sim.writer.port_counts()[0], 200);
    let c = sim.pipeline.counters().snapshot();
    assert_eq!(c.learn_events, 200);
    assert_eq!(c.batches, 7);
}

fn arb_frame() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let mac = prop_oneof![Just(1u8), Just(2), Just(3), Just(5), Just(0xff)];
    let tpid = prop_oneof![Just(0x8100u16), Just(0x88a8), Just(0x0800)];
    (0u16..6, mac.clone(), mac, tpid, 0u16..40, prop::bool::ANY, 0usize..80).prop_map(
        |(port, d, s, tpid, vid, double, len)| {
            let m = |b: u8| if b == 0xff { MacAddr::BROADCAST } else { MacAddr([2, 0, 0, 0, 0, b]) };
            let mut f = if double {
                let mut f = tagged(m(d), m(s), tpid, vid, 0x8100);
                f.splice(18..18, [0, 100, 0x08, 0x00]);
                f
            } else {
                tagged(m(d), m(s), tpid, vid, 0x0800)
            };
            f.truncate(len.max(1));
            (port, f)
        },
    )
}

proptest! {
    /// Whatever arrives, frames leave only on ports of the domain they were
    /// classified into, tagged as that port's plan says, and no buffer leaks.
    #[test]
    fn no_vlan_leaks_and_no_buffer_leaks(frames in prop::collection::vec(arb_frame(), 1..60)) {
        let mut sim = SwitchSim::with_chunks(&spec(), 64).unwrap();
        for (port, f) in &frames {
            let mut log = TraceLog::default();
            sim.inject(PortId(*port), f);
            sim.run_observed(&mut log);
            let bd = log.events.iter().find_map(|(_, e)| match e { TraceEvent::Classified { bd, .. } => Some(*bd), _ => None });
            for (out_port, _) in sim.take_all_tx() {
                let bd = bd.expect("output without classification");
                let tag = sim.plan.ports[out_port.index()].egress[bd.index()];
                prop_assert_ne!(tag, crate::bridge::EgressTag::NotMember);
                prop_assert_ne!(out_port, PortId(*port));
            }
        }
        prop_assert_eq!(sim.io.chunks_in_use(), 0);
    }

    /// The `forwarded` counter is taken per batch, as the frames that took
    /// no slow way out (see `Tally`): in mixed batches, it must still equal
    /// the frames the trace shows looked up and sent.
    #[test]
    fn forwarded_counts_every_unicast_send_in_mixed_batches(
        frames in prop::collection::vec(arb_frame(), 1..100),
        warm in prop::collection::vec(arb_frame(), 0..40),
    ) {
        let mut sim = SwitchSim::with_chunks(&spec(), 256).unwrap();
        // Some learning first, so that later batches have known
        // destinations (unicast) as well as unknown ones (floods).
        for (port, f) in &warm {
            sim.send(PortId(*port), f);
        }
        let before = sim.pipeline.counters().snapshot();
        for (port, f) in &frames {
            sim.inject(PortId(*port), f);
        }
        let mut log = TraceLog::default();
        sim.run_observed(&mut log);
        // Each frame's events are contiguous (the small-table path), and a
        // lookup hit is followed by the frame's output or its drop.
        let sent = log
            .events
            .windows(2)
            .filter(|w| matches!((&w[0].1, &w[1].1), (TraceEvent::LookupHit { .. }, TraceEvent::Output { .. })))
            .count() as u64;
        let c = sim.pipeline.counters().snapshot();
        prop_assert_eq!(c.forwarded - before.forwarded, sent);
        prop_assert_eq!(c.packets - before.packets, frames.len() as u64);
        sim.take_all_tx();
        prop_assert_eq!(sim.io.chunks_in_use(), 0);
    }
}

/// Learns `1 << 15` filler MACs in VLAN 20 (on h3) into `sim`'s FDB: enough
/// live entries that the pipeline takes the large-table path. No other test
/// frame uses their addresses.
fn add_fillers(sim: &mut SwitchSim) {
    use crate::fdb::{FdbKey, LearnEvent};
    let bd20 = sim.plan.domain(0, 20).unwrap();
    for n in 0..(1u64 << 15) {
        let filler = MacAddr::from_u64(0x0600_0000_0000 | n);
        sim.writer.apply(LearnEvent { key: FdbKey::new(bd20, filler), port: H3, at: 0 });
    }
    assert!(super::prefetch::wanted(&sim.writer.shared().load()));
}

/// The large-table path (prefetches ahead, shared table asked before the learn
/// cache) keeps every rule the small-table tests above check.
#[test]
fn large_table_path_learns_moves_floods_and_blocks_spoofing() {
    let mut s = spec();
    s.fdb.static_macs.push(StaticMacSpec { bridge: 0, vlan: VlanId(10), mac: mac(0x42), port: 1 });
    let mut sim = SwitchSim::new(&s).unwrap();
    add_fillers(&mut sim);
    let bd10 = sim.plan.domain(0, 10).unwrap();

    // Unknown unicast floods in VLAN 10 only; the source is learned.
    assert_eq!(ports(&sim.send(H1, &eth(mac(2), mac(1), 0x0800))), vec![1, 3]);
    assert_eq!(sim.writer.get(bd10, mac(1)).unwrap().port, H1);
    // Learned both ways: unicast, and no further learn events for known
    // sources (table first, no report).
    assert_eq!(ports(&sim.send(H2, &eth(mac(1), mac(2), 0x0800))), vec![0]);
    let events = sim.pipeline.counters().snapshot().learn_events;
    assert_eq!(ports(&sim.send(H1, &eth(mac(2), mac(1), 0x0800))), vec![1]);
    assert_eq!(sim.pipeline.counters().snapshot().learn_events, events);
    // A move is reported and followed.
    sim.now = crate::Nanos::from_secs(5);
    sim.send(TRUNK, &eth(MacAddr::BROADCAST, mac(1), 0x0800));
    assert_eq!(sim.writer.get(bd10, mac(1)).unwrap().port, TRUNK);
    assert_eq!(ports(&sim.send(H2, &eth(mac(1), mac(2), 0x0800))), vec![3]);
    // Spoofing the static MAC is dropped; a bad source is dropped; a frame
    // to its own segment is dropped.
    assert!(sim.send(H1, &eth(mac(2), mac(0x42), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::StaticMacMove), 1);
    assert!(sim.send(H1, &eth(mac(2), MacAddr::BROADCAST, 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::SrcMacMulticast), 1);
    assert!(sim.send(H2, &eth(mac(2), mac(7), 0x0800)).is_empty());
    assert_eq!(drops(&sim, DropReason::SameSegment), 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The large-table path works on several frames at once (frame `i + D`
    /// is ingressed before frame `i` is finished): in mixed batches of any
    /// size, with drops anywhere in them, it must send the same frames in
    /// the same order, and count the same drops, as the small-table path.
    /// The filler MACs are never any arbitrary frame's source or
    /// destination, so they change nothing but the path taken.
    #[test]
    fn large_and_small_table_paths_agree_on_mixed_batches(
        warm in prop::collection::vec(arb_frame(), 0..30),
        frames in prop::collection::vec(arb_frame(), 1..150),
        batch_size in 1usize..=MAX_BURST,
    ) {
        let mut small = SwitchSim::with_chunks(&spec(), 512).unwrap();
        let mut large = SwitchSim::with_chunks(&spec(), 512).unwrap();
        add_fillers(&mut large);
        for sim in [&mut small, &mut large] {
            sim.batch_size = batch_size;
            for (port, f) in &warm {
                sim.send(PortId(*port), f);
            }
            for (port, f) in &frames {
                sim.inject(PortId(*port), f);
            }
            sim.run();
        }
        prop_assert_eq!(small.take_all_tx(), large.take_all_tx());
        let (s, l) = (small.pipeline.counters().snapshot(), large.pipeline.counters().snapshot());
        prop_assert_eq!(s.drops, l.drops);
        prop_assert_eq!(
            (s.packets, s.forwarded, s.flooded, s.flood_copies, s.unknown_unicast),
            (l.packets, l.forwarded, l.flooded, l.flood_copies, l.unknown_unicast)
        );
        prop_assert_eq!(small.io.chunks_in_use(), 0);
        prop_assert_eq!(large.io.chunks_in_use(), 0);
    }
}

/// Every port's MTU bounds what it sends (and, in memory, what it
/// receives), as the kernel would, but counted: a frame too long for its
/// egress port, as tagged for that port, is dropped as `egress_too_big`,
/// on the unicast, flood and tag-push paths. Ports of the largest MTU keep
/// the untagged fast path; the smaller port gives it up.
#[test]
fn frames_longer_than_the_egress_mtu_are_dropped_and_counted() {
    use crate::types::BdId;
    let mut s = spec();
    s.ports[H2.index()].mtu = Some(1400);
    let mut sim = SwitchSim::new(&s).unwrap();
    assert_ne!(sim.plan.tagging_of(H1).untagged_out, BdId::NONE);
    assert_eq!(sim.plan.tagging_of(H2).untagged_out, BdId::NONE);
    let sized = |dst, src, len| {
        let mut f = eth(dst, src, 0x0800);
        f.resize(len, 0x45);
        f
    };
    let too_big = |sim: &SwitchSim| drops(sim, DropReason::EgressTooBig);
    sim.send(H2, &eth(mac(1), mac(2), 0x0800));
    // Known unicast to h2 (MTU 1400: frames up to 1418 bytes).
    assert_eq!(sim.send(H1, &sized(mac(2), mac(1), 1418)), vec![(H2, sized(mac(2), mac(1), 1418))]);
    assert!(sim.send(H1, &sized(mac(2), mac(1), 1419)).is_empty());
    assert_eq!(too_big(&sim), 1);
    // A flood in VLAN 10 leaves on the trunk (untagged native), not on h2.
    let bcast = sized(MacAddr::BROADCAST, mac(1), 1514);
    assert_eq!(sim.send(H1, &bcast), vec![(TRUNK, bcast.clone())]);
    assert_eq!(too_big(&sim), 2);
    // VLAN 20 leaves the trunk tagged: 1514 + 4 fits its 1518, 1518 + 4 not.
    let out = sim.send(H3, &sized(MacAddr::BROADCAST, mac(3), 1514));
    assert_eq!((ports(&out), out[0].1.len()), (vec![TRUNK.0], 1518));
    assert!(sim.send(H3, &sized(MacAddr::BROADCAST, mac(3), 1518)).is_empty());
    assert_eq!(too_big(&sim), 3);
    // What no 1500-byte interface receives never enters.
    assert!(!sim.inject(H1, &sized(mac(2), mac(1), 1519)));
    assert_eq!(sim.io.port_stats()[H1.index()].rx_too_big, 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}
