//! The overlay stages through [`SwitchSim`]: two switches joined by VXLAN
//! (over IPv4 with ARP, and over IPv6 with neighbour discovery), the VTEP's
//! own ARP and ping, every decap drop reason, split horizon, and two
//! proptests (overlay frames against a reference model, and the L2 path
//! unchanged by an overlay it does not use).

use std::net::Ipv4Addr;

use proptest::prelude::*;

use crate::bridge::spec::{BridgeSpec, PortMode, PortSpec, SwitchSpec};
use crate::fdb::FdbKey;
use crate::overlay::{Encap, GatewaySpec, GeneveOptionSpec, RouteSpec, VniSpec, VtepPlan, VtepSpec};
use crate::pipeline::{DropReason, TraceEvent, TraceLog};
use crate::sim::SwitchSim;
use crate::types::{MacAddr, PortId, VlanId};
use crate::wire::geneve::{self, GeneveOption, GenevePacket};
use crate::wire::icmpv4::{self, Icmpv4Packet};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::udp::{UdpPacket, UdpRepr};
use crate::wire::vxlan::{VxlanPacket, VxlanRepr};
use crate::wire::{checksum, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame};

const H10: PortId = PortId(0); // access 10 (VNI 100)
const H20: PortId = PortId(1); // access 20 (VNI 200)
const UP: PortId = PortId(2); // underlay
const A: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
const C: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 3);
const STRANGER: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 9);

fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, n])
}

fn port(name: &str, mode: PortMode) -> PortSpec {
    PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None, mtu: None }
}

fn vni(vni: u32, vlan: u16, remotes: Vec<Ipv4Addr>) -> VniSpec {
    VniSpec {
        vni,
        vtep: 0,
        bridge: 0,
        vlan: VlanId(vlan),
        remotes: remotes.into_iter().map(Into::into).collect(),
        ..VniSpec::default()
    }
}

/// A switch with VTEP `local`: VLAN 10 ↔ VNI 100 towards `remotes10`,
/// VLAN 20 ↔ VNI 200 towards `remotes20`.
fn spec(local: Ipv4Addr, remotes10: &[Ipv4Addr], remotes20: &[Ipv4Addr]) -> SwitchSpec {
    let mut s = SwitchSpec {
        bridges: vec![BridgeSpec { name: "br0".into() }],
        ports: vec![
            port("h10", PortMode::Access { vlan: VlanId(10) }),
            port("h20", PortMode::Access { vlan: VlanId(20) }),
            port("up", PortMode::Underlay),
        ],
        ..SwitchSpec::default()
    };
    s.overlay.vteps.push(VtepSpec::new("vtep0", 2, local, 24));
    s.overlay.vnis.push(vni(100, 10, remotes10.to_vec()));
    s.overlay.vnis.push(vni(200, 20, remotes20.to_vec()));
    s
}

fn vtep_mac(ip: Ipv4Addr) -> MacAddr {
    VtepPlan::default_mac(ip)
}

/// An inner frame: `dst` ← `src`, an IPv4 packet with TOS `tos`.
fn inner(dst: MacAddr, src: MacAddr, tos: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(34)];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&EtherType::IPV4.to_be_bytes());
    let repr = Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, src.0[5]),
        dst_addr: Ipv4Addr::new(10, 0, 0, dst.0[5]),
        protocol: IpProtocol::UDP,
        payload_len: f.len() - 34,
        ttl: 64,
        tos,
        ident: 0,
        dont_frag: false,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]));
    f
}

/// What a peer VTEP at `src` sends to the VTEP at `dst`.
#[derive(Clone, Debug)]
struct Outer {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dst_mac: MacAddr,
    vni: u32,
    flags: u8,
    tos: u8,
    udp_port: u16,
    frag: bool,
    /// A Geneve header (options included) instead of VXLAN's.
    geneve: Option<Vec<u8>>,
}

impl Outer {
    fn new(src: Ipv4Addr, dst: Ipv4Addr, vni: u32) -> Outer {
        Outer { src, dst, dst_mac: vtep_mac(dst), vni, flags: 0x08, tos: 0, udp_port: 4789, frag: false, geneve: None }
    }

    /// Geneve to `vni` with `options` (class 0x0102, (type, data)).
    fn geneve(src: Ipv4Addr, dst: Ipv4Addr, vni: u32, options: &[(u8, &[u8])]) -> Outer {
        let opt_len: usize = options.iter().map(|(_, d)| 4 + d.len()).sum();
        let mut h = vec![0u8; 8 + opt_len];
        let mut g = GenevePacket::new_unchecked(&mut h[..]);
        g.set_opt_len((opt_len / 4) as u8);
        g.set_protocol_type(geneve::PROTOCOL_ETHERNET);
        g.set_vni(vni);
        let mut at = 8;
        for (t, d) in options {
            let mut o = GeneveOption::new_unchecked(&mut h[at..at + 4 + d.len()]);
            o.set_class(0x0102);
            o.set_option_type(*t);
            o.set_length((d.len() / 4) as u8);
            o.data_mut().copy_from_slice(d);
            at += 4 + d.len();
        }
        Outer { udp_port: 6081, geneve: Some(h), ..Outer::new(src, dst, vni) }
    }

    fn wrap(&self, inner: &[u8]) -> Vec<u8> {
        if let Some(h) = &self.geneve {
            let mut f = Outer { geneve: None, ..self.clone() }.wrap(&[h.as_slice(), inner].concat()[8..]);
            f[42..42 + h.len()].copy_from_slice(h);
            return f;
        }
        let mut f = vec![0u8; 50 + inner.len()];
        let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
        eth.set_dst_addr(self.dst_mac);
        eth.set_src_addr(vtep_mac(self.src));
        eth.set_ethertype(EtherType::IPV4);
        let ip = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: IpProtocol::UDP,
            payload_len: 16 + inner.len(),
            ttl: 64,
            tos: self.tos,
            ident: 7,
            dont_frag: !self.frag,
        };
        let mut ipv = Ipv4Packet::new_unchecked(&mut f[14..]);
        ip.emit(&mut ipv);
        if self.frag {
            ipv.set_more_frags(true);
            ipv.fill_checksum();
        }
        UdpRepr { src_port: 50000, dst_port: self.udp_port, payload_len: 8 + inner.len() }
            .emit(&mut UdpPacket::new_unchecked(&mut f[34..]));
        VxlanRepr { vni: self.vni }.emit(&mut VxlanPacket::new_unchecked(&mut f[42..]));
        f[42] = self.flags;
        f[50..].copy_from_slice(inner);
        f
    }
}

fn arp(op: ArpOperation, src_mac: MacAddr, src_ip: Ipv4Addr, dst_mac: MacAddr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(if op == ArpOperation::Request { MacAddr::BROADCAST } else { dst_mac });
    eth.set_src_addr(src_mac);
    eth.set_ethertype(EtherType::ARP);
    ArpRepr {
        operation: op,
        sender_hardware_addr: src_mac,
        sender_protocol_addr: src_ip,
        target_hardware_addr: dst_mac,
        target_protocol_addr: target,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut f[14..42]));
    f
}

fn drops(sim: &SwitchSim, r: DropReason) -> u64 {
    sim.pipeline.counters().snapshot().drops_for(r)
}

fn on(out: &[(PortId, Vec<u8>)], p: PortId) -> Vec<Vec<u8>> {
    out.iter().filter(|(q, _)| *q == p).map(|(_, f)| f.clone()).collect()
}

/// Resolves `sim`'s next hop `ip` (at `vtep_mac(ip)`) with an ARP reply.
fn resolve(sim: &mut SwitchSim, local: Ipv4Addr, ip: Ipv4Addr) {
    let reply = arp(ArpOperation::Reply, vtep_mac(ip), ip, vtep_mac(local), local);
    assert!(sim.send(UP, &reply).is_empty());
}

/// The VXLAN header fields of an outer frame: (src, dst, VNI, inner).
fn unwrap(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, u32, Vec<u8>) {
    let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
    assert!(ip.verify_checksum());
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    let vx = VxlanPacket::new_checked(udp.payload()).unwrap();
    (ip.src_addr(), ip.dst_addr(), vx.vni(), vx.payload().to_vec())
}

#[test]
fn two_switches_resolve_each_other_and_bridge_a_vlan_across_vxlan() {
    let mut a = SwitchSim::new(&spec(A, &[B], &[B])).unwrap();
    let mut b = SwitchSim::new(&spec(B, &[A], &[A])).unwrap();
    let hello = inner(MacAddr::BROADCAST, mac(1), 0, 60);

    // A floods into VNI 100, but B's MAC is unknown: the copy for B is
    // dropped and A asks for B.
    let out = a.send(H10, &hello);
    assert_eq!(drops(&a, DropReason::EncapNexthopUnresolved), 1);
    let asks = on(&out, UP);
    assert_eq!(asks.len(), 1);
    let ask = ArpPacket::new_checked(&asks[0][14..]).unwrap();
    assert_eq!(
        (ask.operation(), ask.sender_protocol_addr(), ask.target_protocol_addr()),
        (ArpOperation::Request, A, B)
    );
    // Asking again within the second sends nothing more.
    assert!(on(&a.send(H10, &hello), UP).is_empty());

    // B answers A's request, and learns A's MAC from it.
    let answer = on(&b.send(UP, &asks[0]), UP);
    assert_eq!(answer.len(), 1);
    let reply = ArpPacket::new_checked(&answer[0][14..]).unwrap();
    assert_eq!(
        (reply.operation(), reply.sender_hardware_addr(), reply.sender_protocol_addr()),
        (ArpOperation::Reply, vtep_mac(B), B)
    );
    assert_eq!(EthernetFrame::new_checked(&answer[0][..]).unwrap().dst_addr(), vtep_mac(A));
    assert_eq!(b.pipeline.counters().snapshot().neighbor_updates, 1);
    assert!(a.send(UP, &answer[0]).is_empty());
    let sa = a.pipeline.counters().snapshot();
    assert_eq!((sa.neighbor_updates, sa.underlay_absorbed), (1, 1));

    // Now A's flood reaches B encapsulated, and B delivers the inner frame
    // on VLAN 10 only, learning its source on the tunnel from A.
    let out = a.send(H10, &hello);
    let wire = on(&out, UP);
    assert_eq!(wire.len(), 1);
    assert_eq!(unwrap(&wire[0]), (A, B, 100, hello.clone()));
    let delivered = b.send(UP, &wire[0]);
    assert_eq!(delivered, vec![(H10, hello.clone())]);
    let tunnel_from_a = b.plan.port_id("vxlan100@192.168.100.1").unwrap();
    assert_eq!(
        b.writer.shared().load().lookup(FdbKey::new(b.plan.domain(0, 10).unwrap(), mac(1))).map(|h| h.port()),
        Some(tunnel_from_a)
    );

    // B's host answers by unicast: it leaves B encapsulated (B learned A's
    // MAC from the ARP request) and arrives at A's host, which A learns.
    let back = inner(mac(1), mac(2), 0, 80);
    let out = b.send(H10, &back);
    let wire = on(&out, UP);
    assert_eq!(wire.len(), 1, "{out:?}");
    assert_eq!(unwrap(&wire[0]), (B, A, 100, back.clone()));
    assert_eq!(a.send(UP, &wire[0]), vec![(H10, back.clone())]);
    // And A's next unicast to it is encapsulated without a flood.
    let out = a.send(H10, &inner(mac(2), mac(1), 0, 70));
    assert_eq!(out.len(), 1);
    assert_eq!(unwrap(&out[0].1).2, 100);
    let (sa, sb) = (a.pipeline.counters().snapshot(), b.pipeline.counters().snapshot());
    assert_eq!((sa.encapsulated, sa.decapsulated, sb.encapsulated, sb.decapsulated), (2, 1, 1, 1));
    assert_eq!(sb.underlay_replies, 1);
    assert_eq!(a.io.chunks_in_use() + b.io.chunks_in_use(), 0);
}

#[test]
fn the_vtep_answers_ping_and_ignores_what_is_not_for_it() {
    let mut sim = SwitchSim::new(&spec(A, &[B], &[B])).unwrap();
    let mut ping = vec![0u8; 14 + 20 + 16];
    let mut eth = EthernetFrame::new_unchecked(&mut ping[..]);
    eth.set_dst_addr(vtep_mac(A));
    eth.set_src_addr(mac(0x42));
    eth.set_ethertype(EtherType::IPV4);
    let ip = Ipv4Repr {
        src_addr: STRANGER,
        dst_addr: A,
        protocol: IpProtocol::ICMP,
        payload_len: 16,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut ping[14..]));
    ping[34] = icmpv4::ECHO_REQUEST;
    ping[38..50].copy_from_slice(b"\x00\x01\x00\x07abcdefgh");
    let c = checksum::checksum(&ping[34..]);
    ping[36..38].copy_from_slice(&c.to_be_bytes());

    let out = sim.send(UP, &ping);
    assert_eq!(out.len(), 1);
    let (p, pong) = &out[0];
    assert_eq!(*p, UP);
    let eth = EthernetFrame::new_checked(&pong[..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (mac(0x42), vtep_mac(A)));
    let ip = Ipv4Packet::new_checked(&pong[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src_addr(), ip.dst_addr()), (A, STRANGER));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(icmp.msg_type(), icmpv4::ECHO_REPLY);
    assert!(icmp.verify_checksum());
    assert_eq!(&ip.payload()[4..], &ping[38..]);

    // A corrupt ping, ARP for someone else, and a frame for another MAC.
    ping[45] ^= 0xff;
    assert!(sim.send(UP, &ping).is_empty());
    assert_eq!(drops(&sim, DropReason::UnderlayBadIcmp), 1);
    let other = arp(ArpOperation::Request, mac(0x42), STRANGER, MacAddr::ZERO, C);
    assert!(sim.send(UP, &other).is_empty());
    let mut elsewhere = Outer::new(B, A, 100);
    elsewhere.dst_mac = mac(0x77);
    assert!(sim.send(UP, &elsewhere.wrap(&inner(mac(1), mac(2), 0, 60))).is_empty());
    assert_eq!(drops(&sim, DropReason::UnderlayNotForUs), 2);
    let s = sim.pipeline.counters().snapshot();
    assert_eq!((s.underlay_received, s.underlay_replies), (4, 1));
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn every_bad_outer_header_is_dropped_under_its_reason() {
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vteps[0].verify_udp_checksum = true;
    let mut sim = SwitchSim::new(&s).unwrap();
    resolve(&mut sim, A, B);
    let good = Outer::new(B, A, 100);
    let payload = inner(MacAddr::BROADCAST, mac(5), 0, 60);
    let cases: Vec<(DropReason, Vec<u8>)> = vec![
        (DropReason::DecapUnknownVni, Outer { vni: 999, ..good.clone() }.wrap(&payload)),
        (DropReason::VxlanNoIFlag, Outer { flags: 0, ..good.clone() }.wrap(&payload)),
        (DropReason::DecapSourceNotAllowed, Outer { src: STRANGER, ..good.clone() }.wrap(&payload)),
        (DropReason::UnderlayNotForUs, Outer { dst: C, ..good.clone() }.wrap(&payload)),
        (DropReason::UnderlayUnsupported, Outer { udp_port: 4790, ..good.clone() }.wrap(&payload)),
        (DropReason::DecapFragment, Outer { frag: true, ..good.clone() }.wrap(&payload)),
        (DropReason::DecapEcnCeNotEct, Outer { tos: 3, ..good.clone() }.wrap(&payload)),
        (DropReason::DecapInnerTruncated, good.wrap(&payload[..13])),
        (DropReason::DecapTruncated, good.wrap(&payload)[..46].to_vec()),
        (DropReason::DecapTruncated, good.wrap(&payload)[..20].to_vec()),
        (DropReason::Truncated, good.wrap(&payload)[..13].to_vec()),
        (DropReason::DecapBadIpChecksum, {
            let mut f = good.wrap(&payload);
            f[22] ^= 1; // TTL
            f
        }),
        (DropReason::DecapBadUdpChecksum, {
            let mut f = good.wrap(&payload);
            f[40] = 0x12; // a non-zero, wrong checksum
            f
        }),
        (DropReason::UnderlayBadIp, {
            let mut f = good.wrap(&payload);
            f[14] = 0x44; // IHL 4
            f
        }),
        (DropReason::UnderlayBadArp, {
            let mut f = arp(ArpOperation::Request, mac(9), B, MacAddr::ZERO, A);
            f[19] = 5; // hardware length
            f
        }),
        (DropReason::UnderlayBadArp, arp(ArpOperation::Request, MacAddr::BROADCAST, B, MacAddr::ZERO, A)),
        (DropReason::VlanNotAllowed, {
            let mut f = good.wrap(&payload);
            f.splice(12..12, [0x81, 0x00, 0x00, 0x0a]);
            f
        }),
    ];
    for (reason, frame) in &cases {
        let before = drops(&sim, *reason);
        let out = sim.send(UP, frame);
        assert!(out.is_empty(), "{reason:?}: {out:?}");
        assert_eq!(drops(&sim, *reason), before + 1, "{reason:?}");
    }
    // The good packet still goes through, and CE is carried to an
    // ECN-capable inner packet.
    assert_eq!(sim.send(UP, &good.wrap(&payload)), vec![(H10, payload.clone())]);
    let out = sim.send(UP, &Outer { tos: 3, ..good.clone() }.wrap(&inner(MacAddr::BROADCAST, mac(5), 1, 60)));
    let ip = Ipv4Packet::new_checked(&out[0].1[14..]).unwrap();
    assert_eq!((ip.ecn(), ip.verify_checksum()), (3, true));
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn remote_vteps_do_not_hear_each_other_through_us() {
    // VNI 200 has two remotes, B and C.
    let mut sim = SwitchSim::new(&spec(A, &[B], &[B, C])).unwrap();
    resolve(&mut sim, A, B);
    resolve(&mut sim, A, C);
    // A local broadcast in VLAN 20 reaches both remotes (head-end
    // replication), with a TOS copied from the inner packet.
    let out = sim.send(H20, &inner(MacAddr::BROADCAST, mac(1), 0xb8, 60));
    let remotes: Vec<_> = on(&out, UP).iter().map(|f| unwrap(f).1).collect();
    assert_eq!(remotes, vec![B, C]);
    assert_eq!(Ipv4Packet::new_checked(&on(&out, UP)[0][14..]).unwrap().tos(), 0xb8);
    // A broadcast from B reaches the local port only, not C.
    let from_b = Outer::new(B, A, 200);
    let out = sim.send(UP, &from_b.wrap(&inner(MacAddr::BROADCAST, mac(0x0b), 0, 60)));
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![H20]);
    // C's host is learned on C's tunnel; B's unicast to it is not relayed.
    let from_c = Outer::new(C, A, 200);
    sim.send(UP, &from_c.wrap(&inner(MacAddr::BROADCAST, mac(0x0c), 0, 60)));
    assert!(sim.send(UP, &from_b.wrap(&inner(mac(0x0c), mac(0x0b), 0, 60))).is_empty());
    assert_eq!(drops(&sim, DropReason::SplitHorizon), 1);
    // A frame too big for the underlay MTU is refused, not fragmented.
    let out = sim.send(H20, &inner(mac(0x0c), mac(1), 0, 1465));
    assert!(out.is_empty());
    assert_eq!(drops(&sim, DropReason::EncapTooBig), 1);
    assert_eq!(sim.send(H20, &inner(mac(0x0c), mac(1), 0, 1464)).len(), 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn too_big_df_packets_get_frag_needed_from_their_destination() {
    let mut sim = SwitchSim::new(&spec(A, &[B], &[B])).unwrap();
    resolve(&mut sim, A, B);
    // mac(0x0b) lives behind B, mac(1) on h20.
    sim.send(UP, &Outer::new(B, A, 200).wrap(&inner(MacAddr::BROADCAST, mac(0x0b), 0, 60)));
    sim.send(H20, &inner(MacAddr::BROADCAST, mac(1), 0, 60));
    sim.take_all_tx();
    let mut big = inner(mac(0x0b), mac(1), 0, 1514);
    Ipv4Packet::new_unchecked(&mut big[14..]).set_dont_frag(true);
    Ipv4Packet::new_unchecked(&mut big[14..]).fill_checksum();
    let out = sim.send(H20, &big);
    assert_eq!(out.len(), 1, "{out:?}");
    let (port, answer) = &out[0];
    assert_eq!(*port, H20);
    let eth = EthernetFrame::new_checked(&answer[..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (mac(1), mac(0x0b)));
    let ip = Ipv4Packet::new_checked(&answer[14..]).unwrap();
    assert!(ip.verify_checksum());
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum());
    // 1500 - 50 bytes of VXLAN = 1450 for the inner IP packet.
    assert_eq!((icmp.msg_type(), icmp.code(), icmp.rest_of_header()), (3, 4, [0, 0, 0x05, 0xaa]));
    let s = sim.pipeline.counters().snapshot();
    assert_eq!((s.drops_for(DropReason::EncapTooBig), s.pmtu_answers), (1, 1));
    // Without DF, only the drop.
    assert!(sim.send(H20, &inner(mac(0x0b), mac(1), 0, 1514)).is_empty());
    assert_eq!(sim.pipeline.counters().snapshot().pmtu_answers, 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn a_group_vni_floods_to_its_group_joins_it_and_takes_its_packets() {
    const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vnis[0].group = Some(GROUP.into());
    let mut sim = SwitchSim::new(&s).unwrap();
    // The tick joins the group and asks for the unresolved next hop (B).
    sim.tick();
    let out = on(&sim.take_all_tx(), UP);
    let igmp: Vec<_> = out.iter().filter(|f| f[23] == IpProtocol::IGMP).collect();
    assert_eq!(igmp.len(), 1, "one report for one group");
    let ip = Ipv4Packet::new_checked(&igmp[0][14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.dst_addr(), ip.ttl(), ip.header_len()), (Ipv4Addr::new(224, 0, 0, 22), 1, 24));
    assert_eq!(&ip.payload()[12..16], &GROUP.octets());
    assert_eq!(EthernetFrame::new_checked(&igmp[0][..]).unwrap().dst_addr(), MacAddr([1, 0, 0x5e, 0, 0, 0x16]));
    assert!(out.iter().any(|f| ArpPacket::new_checked(&f[14..]).is_ok_and(|a| a.target_protocol_addr() == B)));
    let s = sim.pipeline.counters().snapshot();
    assert_eq!((s.igmp_reports, s.arp_requests), (1, 1));
    // A second tick within the minute sends no report.
    sim.tick();
    assert_eq!(sim.pipeline.counters().snapshot().igmp_reports, 1);

    // A flood in VLAN 10 goes to the group only, without ARP.
    let out = sim.send(H10, &inner(MacAddr::BROADCAST, mac(1), 0, 60));
    let wire = on(&out, UP);
    assert_eq!(wire.len(), 1, "{out:?}");
    assert_eq!(EthernetFrame::new_checked(&wire[0][..]).unwrap().dst_addr(), MacAddr([1, 0, 0x5e, 1, 1, 1]));
    assert_eq!(unwrap(&wire[0]).1, GROUP);
    // B's packets to the group are taken; a group we did not join is not.
    let from_b = Outer { dst: GROUP, dst_mac: MacAddr([1, 0, 0x5e, 1, 1, 1]), ..Outer::new(B, A, 100) };
    let hello = inner(MacAddr::BROADCAST, mac(0x0b), 0, 60);
    assert_eq!(sim.send(UP, &from_b.wrap(&hello)), vec![(H10, hello.clone())]);
    let other = Outer { dst: Ipv4Addr::new(239, 9, 9, 9), ..from_b.clone() };
    assert!(sim.send(UP, &other.wrap(&hello)).is_empty());
    assert_eq!(drops(&sim, DropReason::UnderlayNotForUs), 1);
    // Unicast to B's host goes to B itself once B is resolved.
    resolve(&mut sim, A, B);
    let out = sim.send(H10, &inner(mac(0x0b), mac(1), 0, 60));
    assert_eq!(out.len(), 1);
    assert_eq!(unwrap(&out[0].1).1, B);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

/// Node `local` routing VLAN 10's `subnet` (gateway `.1`) and reaching
/// `remote_subnet` through IP-in-IP to `remote`.
fn ipip_spec(local: Ipv4Addr, remote: Ipv4Addr, subnet: [u8; 3], remote_subnet: [u8; 3]) -> SwitchSpec {
    let mut s = spec(local, &[], &[]);
    s.overlay.vnis.clear();
    let [a, b, c] = subnet;
    s.overlay.gateways.push(GatewaySpec {
        bridge: 0,
        vlan: VlanId(10),
        address: Ipv4Addr::new(a, b, c, 1),
        prefix_len: 24,
        mac: None,
        neighbors: vec![],
    });
    let [a, b, c] = remote_subnet;
    s.overlay.routes.push(RouteSpec { prefix: Ipv4Addr::new(a, b, c, 0), prefix_len: 24, via: remote, vtep: 0 });
    s
}

/// An IPv4/UDP frame from (`smac`, `src`) to (`dmac`, `dst`) with `ttl`.
fn routed(dmac: MacAddr, smac: MacAddr, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Vec<u8> {
    let mut f = inner(dmac, smac, 0x28, 80);
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.set_ttl(ttl);
    ip.set_dont_frag(true);
    ip.fill_checksum();
    f
}

#[test]
fn two_nodes_route_between_their_subnets_over_ip_in_ip() {
    let mut a = SwitchSim::new(&ipip_spec(A, B, [10, 10, 0], [10, 20, 0])).unwrap();
    let mut b = SwitchSim::new(&ipip_spec(B, A, [10, 20, 0], [10, 10, 0])).unwrap();
    let (gw_a, gw_b) =
        (VtepPlan::default_mac(Ipv4Addr::new(10, 10, 0, 1)), VtepPlan::default_mac(Ipv4Addr::new(10, 20, 0, 1)));
    let (ha, hb) = (Ipv4Addr::new(10, 10, 0, 2), Ipv4Addr::new(10, 20, 0, 2));
    resolve(&mut a, A, B);
    resolve(&mut b, B, A);

    // The host asks for its gateway; the gateway answers and learns it.
    let ask = arp(ArpOperation::Request, mac(1), ha, MacAddr::ZERO, Ipv4Addr::new(10, 10, 0, 1));
    let out = a.send(H10, &ask);
    let reply = on(&out, H10);
    assert_eq!(reply.len(), 1, "{out:?}");
    let r = ArpPacket::new_checked(&reply[0][14..]).unwrap();
    assert_eq!((r.operation(), r.sender_hardware_addr(), r.target_protocol_addr()), (ArpOperation::Reply, gw_a, ha));

    // A routes a packet for B's subnet into IP-in-IP: protocol 4, TOS and
    // DF copied, the inner TTL decremented, no inner Ethernet header.
    let pkt = routed(gw_a, mac(1), ha, hb, 64);
    let out = a.send(H10, &pkt);
    let wire = on(&out, UP);
    assert_eq!(wire.len(), 1, "{out:?}");
    let outer = Ipv4Packet::new_checked(&wire[0][14..]).unwrap();
    assert!(outer.verify_checksum());
    assert_eq!((outer.protocol(), outer.src_addr(), outer.dst_addr()), (IpProtocol::IPIP, A, B));
    assert_eq!((outer.tos(), outer.dont_frag(), usize::from(outer.total_len())), (0x28, true, 20 + 66));
    let inner_ip = Ipv4Packet::new_checked(outer.payload()).unwrap();
    assert!(inner_ip.verify_checksum());
    assert_eq!((inner_ip.ttl(), inner_ip.dst_addr()), (63, hb));

    // B does not know the host yet: it asks for it in VLAN 10...
    let out = b.send(UP, &wire[0]);
    let asks = on(&out, H10);
    assert_eq!(asks.len(), 1, "{out:?}");
    let q = ArpPacket::new_checked(&asks[0][14..]).unwrap();
    assert_eq!((q.operation(), q.sender_hardware_addr(), q.target_protocol_addr()), (ArpOperation::Request, gw_b, hb));
    assert_eq!(drops(&b, DropReason::IpipHostUnresolved), 1);
    // ...the host answers, and the next packet is delivered to it.
    assert!(b.send(H10, &arp(ArpOperation::Reply, mac(2), hb, gw_b, Ipv4Addr::new(10, 20, 0, 1))).is_empty());
    let out = b.send(UP, &wire[0]);
    assert_eq!(out.len(), 1, "{out:?}");
    let (port, f) = &out[0];
    assert_eq!(*port, H10);
    let eth = EthernetFrame::new_checked(&f[..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr(), eth.ethertype()), (mac(2), gw_b, EtherType::IPV4));
    assert_eq!(&f[14..], &wire[0][34..], "the inner packet arrives as it left A");

    // TTL 1: time exceeded from the gateway; no route: dropped; a stranger's
    // IP-in-IP: refused.
    let out = a.send(H10, &routed(gw_a, mac(1), ha, hb, 1));
    let te = Ipv4Packet::new_checked(&on(&out, H10)[0][14..]).unwrap().payload().to_vec();
    assert_eq!((te[0], te[1]), (11, 0));
    assert_eq!(drops(&a, DropReason::IpipTtlExceeded), 1);
    assert!(a.send(H10, &routed(gw_a, mac(1), ha, Ipv4Addr::new(10, 99, 0, 1), 64)).is_empty());
    assert_eq!(drops(&a, DropReason::IpipNoRoute), 1);
    let mut stranger = wire[0].clone();
    stranger[26..30].copy_from_slice(&STRANGER.octets());
    Ipv4Packet::new_unchecked(&mut stranger[14..]).fill_checksum();
    assert!(b.send(UP, &stranger).is_empty());
    assert_eq!(drops(&b, DropReason::DecapSourceNotAllowed), 1);
    assert_eq!(a.io.chunks_in_use() + b.io.chunks_in_use(), 0);
}

#[test]
fn with_remote_learning_off_only_static_remote_macs_are_known() {
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vnis[0].no_learning = true;
    s.overlay.vnis[0].static_macs.push(crate::overlay::RemoteMacSpec { mac: mac(0x99), remote: B.into() });
    let mut sim = SwitchSim::new(&s).unwrap();
    resolve(&mut sim, A, B);
    let tunnel = sim.plan.port_id("vxlan100@192.168.100.2").unwrap();
    let bd = sim.plan.domain(0, 10).unwrap();
    // A remote host's frames are delivered, but its MAC is not learned...
    let from_b = Outer::new(B, A, 100);
    sim.send(UP, &from_b.wrap(&inner(MacAddr::BROADCAST, mac(0x0b), 0, 60)));
    assert_eq!(sim.writer.shared().load().lookup(FdbKey::new(bd, mac(0x0b))), None);
    assert!(sim.writer.stats().refused_no_learning >= 1);
    // ...so unicast to it floods (to B and any other flood target), while
    // the static remote MAC goes straight to its tunnel.
    let out = sim.send(H10, &inner(mac(0x0b), mac(1), 0, 60));
    assert_eq!(sim.pipeline.counters().snapshot().unknown_unicast, 1, "{out:?}");
    assert_eq!(sim.writer.shared().load().lookup(FdbKey::new(bd, mac(0x99))).map(|h| h.port()), Some(tunnel));
    let before = sim.pipeline.counters().snapshot().unknown_unicast;
    assert_eq!(sim.send(H10, &inner(mac(0x99), mac(1), 0, 60)).len(), 1);
    assert_eq!(sim.pipeline.counters().snapshot().unknown_unicast, before);
    // Local learning is unaffected.
    assert_eq!(sim.writer.shared().load().lookup(FdbKey::new(bd, mac(1))).map(|h| h.port()), Some(H10));
}

#[test]
fn trace_shows_decap_and_encap() {
    let mut sim = SwitchSim::new(&spec(A, &[B], &[B])).unwrap();
    resolve(&mut sim, A, B);
    sim.inject(UP, &Outer::new(B, A, 100).wrap(&inner(MacAddr::BROADCAST, mac(5), 0, 60)));
    let mut log = TraceLog::default();
    sim.run_observed(&mut log);
    let tunnel = sim.plan.port_id("vxlan100@192.168.100.2").unwrap();
    assert!(log.events.iter().any(|(_, e)| *e == TraceEvent::Decapsulated { vni: 100, tunnel }));
    sim.take_all_tx();
    sim.inject(H10, &inner(mac(5), mac(1), 0, 60));
    let mut log = TraceLog::default();
    sim.run_observed(&mut log);
    let events: Vec<TraceEvent> = log.events.iter().map(|(_, e)| *e).collect();
    let at = events.iter().position(|e| matches!(e, TraceEvent::Output { port, .. } if *port == tunnel));
    let encapsulated = TraceEvent::Encapsulated { port: UP, len: 60 + 50 };
    assert_eq!(at.and_then(|i| events.get(i + 1)), Some(&encapsulated), "{events:?}");
    assert_eq!(sim.take_all_tx().len(), 1);
    // An encap drop is the frame's last step, under its reason.
    let mut log = TraceLog::default();
    sim.inject(H10, &inner(mac(5), mac(1), 0, 1500));
    sim.run_observed(&mut log);
    assert_eq!(log.events.last().map(|(_, e)| *e), Some(TraceEvent::Dropped(DropReason::EncapTooBig)));
}

/// A switch whose VLAN 10 is carried in Geneve VNI 5000 to B, with two
/// options on every packet it sends.
fn geneve_spec() -> SwitchSpec {
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vnis[0].vni = 5000;
    s.overlay.vnis[0].encap = Encap::Geneve;
    s.overlay.vnis[0].geneve_options = vec![
        GeneveOptionSpec { class: 0x0102, option_type: 0x01, data: vec![0x12, 0x34, 0xab, 0xcd] },
        GeneveOptionSpec { class: 0xffff, option_type: 0x22, data: vec![1, 2, 3, 4, 5, 6, 7, 8] },
    ];
    s
}

#[test]
fn geneve_carries_its_options_and_refuses_what_it_cannot_process() {
    let mut sim = SwitchSim::new(&geneve_spec()).unwrap();
    resolve(&mut sim, A, B);
    assert_eq!(sim.plan.port_id("geneve5000@192.168.100.2"), Some(PortId(3)));
    // Encap: UDP 6081, version 0, C clear, Ethernet payload, VNI, and the
    // configured options in order.
    let hello = inner(MacAddr::BROADCAST, mac(1), 0, 60);
    let out = sim.send(H10, &hello);
    let wire = on(&out, UP);
    assert_eq!(wire.len(), 1);
    let ip = Ipv4Packet::new_checked(&wire[0][14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(usize::from(ip.total_len()), wire[0].len() - 14);
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    assert_eq!(udp.dst_port(), 6081);
    let g = GenevePacket::new_checked(udp.payload()).unwrap();
    assert_eq!((g.version(), g.critical(), g.oam(), g.protocol_type(), g.vni()), (0, false, false, 0x6558, 5000));
    let opts: Vec<(u16, u8, Vec<u8>)> = g
        .options()
        .map(|o| o.map(|o| (o.class(), o.option_type(), o.data().to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(opts, vec![(0x0102, 0x01, vec![0x12, 0x34, 0xab, 0xcd]), (0xffff, 0x22, vec![1, 2, 3, 4, 5, 6, 7, 8])]);
    assert_eq!(g.payload(), &hello[..]);

    // Decap: non-critical options are skipped; the inner frame arrives.
    let back = inner(mac(1), mac(7), 0, 60);
    let good = Outer::geneve(B, A, 5000, &[(0x01, &[9, 9, 9, 9]), (0x7f, &[])]);
    sim.inject(UP, &good.wrap(&back));
    let mut log = TraceLog::default();
    sim.run_observed(&mut log);
    assert_eq!(sim.take_all_tx(), vec![(H10, back.clone())]);
    // ...and are the frame's metadata, in the batch's side array, and its
    // trace.
    let meta = *sim.pipeline.tunnel_meta().get(0).unwrap();
    let kept: Vec<(u16, u8, Vec<u8>)> =
        meta.options().iter().map(|o| (o.class, o.option_type, o.data().to_vec())).collect();
    assert_eq!((meta.vni, kept), (5000, vec![(0x0102, 0x01, vec![9; 4]), (0x0102, 0x7f, vec![])]));
    let traced: Vec<_> = log
        .events
        .iter()
        .filter_map(|(_, e)| if let TraceEvent::GeneveOption(o) = e { Some(*o) } else { None })
        .collect();
    assert_eq!(traced, meta.options());
    let tunnel = sim.plan.port_id("geneve5000@192.168.100.2").unwrap();
    let bd = sim.plan.domain(0, 10).unwrap();
    assert_eq!(sim.writer.shared().load().lookup(FdbKey::new(bd, mac(7))).map(|h| h.port()), Some(tunnel));

    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = good.wrap(&back);
        f(&mut p);
        p
    };
    let cases: Vec<(DropReason, Vec<u8>)> = vec![
        (
            DropReason::GeneveUnknownCritical,
            Outer::geneve(B, A, 5000, &[(0x01, &[]), (0x80, &[1, 2, 3, 4])]).wrap(&back),
        ),
        (DropReason::GeneveOam, bad(&|p| p[43] |= 0x80)),
        (DropReason::GeneveBadVersion, bad(&|p| p[42] |= 0x40)),
        (DropReason::GeneveNotEthernet, bad(&|p| p[44..46].copy_from_slice(&0x0800u16.to_be_bytes()))),
        // The first option's length runs past the options area.
        (DropReason::GeneveOptionsTruncated, bad(&|p| p[50 + 3] = 9)),
        (DropReason::DecapUnknownVni, Outer::geneve(B, A, 5001, &[]).wrap(&back)),
        (DropReason::DecapUnknownVni, Outer::new(B, A, 5000).wrap(&back)),
        (DropReason::DecapSourceNotAllowed, Outer::geneve(C, A, 5000, &[]).wrap(&back)),
        (
            DropReason::DecapInnerVlan,
            Outer::geneve(B, A, 5000, &[]).wrap(&{
                let mut t = back.clone();
                t.splice(12..12, [0x81, 0x00, 0x00, 0x0a]);
                t
            }),
        ),
    ];
    for (reason, frame) in &cases {
        let before = drops(&sim, *reason);
        assert!(sim.send(UP, frame).is_empty(), "{reason:?}");
        assert_eq!(drops(&sim, *reason), before + 1, "{reason:?}");
    }
    assert_eq!(sim.io.chunks_in_use(), 0);
}

/// `inner_vlan = "strip"`: a tagged inner frame enters the VNI's domain
/// without its tag (either TPID), byte for byte the untagged frame; a second
/// tag, or a tag with no room for an Ethernet header behind it, is still
/// dropped; and a VNI left at the default drops every tagged frame.
#[test]
fn a_stripping_vni_removes_one_inner_tag() {
    let mut spec = spec(A, &[B], &[B]);
    spec.overlay.vnis[0].inner_vlan = crate::overlay::InnerVlan::Strip;
    let mut sim = SwitchSim::with_chunks(&spec, 256).unwrap();
    resolve(&mut sim, A, B);
    let tagged = |f: &[u8], tags: &[[u8; 4]]| {
        let mut t = f.to_vec();
        for tag in tags.iter().rev() {
            t.splice(12..12, *tag);
        }
        t
    };
    let (q, ad) = ([0x81, 0x00, 0x00, 0x64], [0x88, 0xa8, 0x00, 0x64]);
    let plain = inner(mac(1), mac(7), 0, 60);
    for tag in [q, ad] {
        let out = sim.send(UP, &Outer::new(B, A, 100).wrap(&tagged(&plain, &[tag])));
        assert_eq!(out, vec![(H10, plain.clone())], "TPID {:02x}{:02x}", tag[0], tag[1]);
    }
    let before = drops(&sim, DropReason::DecapInnerVlan);
    assert!(sim.send(UP, &Outer::new(B, A, 100).wrap(&tagged(&plain, &[ad, q]))).is_empty());
    assert_eq!(drops(&sim, DropReason::DecapInnerVlan), before + 1, "a second tag is dropped");
    let before = drops(&sim, DropReason::DecapInnerTruncated);
    assert!(sim.send(UP, &Outer::new(B, A, 100).wrap(&tagged(&plain, &[q])[..16])).is_empty());
    assert_eq!(drops(&sim, DropReason::DecapInnerTruncated), before + 1, "no Ethernet header behind the tag");
    // VNI 200 keeps the default.
    let before = drops(&sim, DropReason::DecapInnerVlan);
    assert!(sim.send(UP, &Outer::new(B, A, 200).wrap(&tagged(&inner(mac(2), mac(8), 0, 60), &[q]))).is_empty());
    assert_eq!(drops(&sim, DropReason::DecapInnerVlan), before + 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

/// One VXLAN packet from the proptest's space.
#[derive(Clone, Debug)]
struct Case {
    src: Ipv4Addr,
    vni: u32,
    i_flag: bool,
    /// `None`: broadcast; `Some((0, n))`: local host `mac(n)` (1 is on
    /// VLAN 10, 2 on VLAN 20, 3 nowhere); `Some((r, n))`: remote host `n`
    /// behind remote `r` (1: B, 2: C).
    dst: Option<(u8, u8)>,
    src_host: u8,
    len: usize,
}

/// Remote host `n` behind remote `r` (B: 1, C: 2, the stranger: 3).
fn remote_mac(r: u8, n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x10 + r, n])
}

fn remote_index(ip: Ipv4Addr) -> u8 {
    match ip {
        B => 1,
        C => 2,
        _ => 3,
    }
}

fn arb_case() -> impl Strategy<Value = Case> {
    let dst = prop_oneof![Just(None), (0u8..3, 1u8..4).prop_map(Some)];
    (
        prop::sample::select(vec![B, C, STRANGER]),
        prop::sample::select(vec![100u32, 200, 300]),
        prop::bool::weighted(0.9),
        dst,
        1u8..4,
        14usize..200,
    )
        .prop_map(|(src, vni, i_flag, dst, src_host, len)| Case { src, vni, i_flag, dst, src_host, len })
}

proptest! {
    /// Decap against a reference model: the verdict and the exact inner
    /// frame on the exact ports, for packets of any VNI, source, flags,
    /// destination and length, with learning in between.
    #[test]
    fn decap_matches_the_reference_model(cases in prop::collection::vec(arb_case(), 1..40)) {
        // VNI 100: remote B; VNI 200: remotes B and C.
        let mut sim = SwitchSim::with_chunks(&spec(A, &[B], &[B, C]), 256).unwrap();
        resolve(&mut sim, A, B);
        resolve(&mut sim, A, C);
        // Local hosts mac(1) on VLAN 10, mac(2) on VLAN 20.
        sim.send(H10, &inner(MacAddr::BROADCAST, mac(1), 0, 60));
        sim.send(H20, &inner(MacAddr::BROADCAST, mac(2), 0, 60));
        sim.take_all_tx();
        // The model's FDB: the remote each (VNI, MAC) was learned behind.
        let mut learned: std::collections::HashMap<(u32, MacAddr), Ipv4Addr> = Default::default();
        for c in &cases {
            let dst = match c.dst {
                None => MacAddr::BROADCAST,
                Some((0, n)) => mac(n),
                Some((r, n)) => remote_mac(r, n),
            };
            let src_mac = remote_mac(remote_index(c.src), c.src_host);
            let mut f = inner(dst, src_mac, 0, 60);
            f.resize(c.len, 0xaa);
            let outer = Outer { flags: if c.i_flag { 0x08 } else { 0 }, ..Outer::new(c.src, A, c.vni) };
            let before = sim.pipeline.counters().snapshot();
            let out = sim.send(UP, &outer.wrap(&f));
            let after = sim.pipeline.counters().snapshot();
            let (vlan_port, allowed) = match c.vni {
                100 => (Some(H10), c.src == B),
                200 => (Some(H20), c.src == B || c.src == C),
                _ => (None, false),
            };
            let header_drop = if !c.i_flag {
                Some(DropReason::VxlanNoIFlag)
            } else if vlan_port.is_none() {
                Some(DropReason::DecapUnknownVni)
            } else if !allowed {
                Some(DropReason::DecapSourceNotAllowed)
            } else {
                None
            };
            let verdict = match header_drop {
                Some(r) => Err(r),
                None => {
                    // Unicast to a MAC behind a remote is never relayed to
                    // a remote (split horizon), nor sent back to its own;
                    // everything else reaches the VLAN's one local port.
                    let v = match learned.get(&(c.vni, dst)) {
                        Some(r) if *r == c.src => Err(DropReason::SameSegment),
                        Some(_) => Err(DropReason::SplitHorizon),
                        None => Ok(vlan_port),
                    };
                    learned.insert((c.vni, src_mac), c.src);
                    prop_assert_eq!(after.decapsulated, before.decapsulated + 1);
                    v
                }
            };
            match verdict {
                Err(r) => {
                    prop_assert!(out.is_empty(), "{:?}: {:?}", r, out);
                    prop_assert_eq!(after.drops_for(r), before.drops_for(r) + 1, "{:?}", r);
                }
                Ok(p) => prop_assert_eq!(out, vec![(p.unwrap(), f.clone())]),
            }
        }
        for ((vni, m), remote) in &learned {
            let bd = sim.plan.domain(0, if *vni == 100 { 10 } else { 20 }).unwrap();
            let tunnel = sim.plan.port_id(&format!("vxlan{vni}@{remote}")).unwrap();
            prop_assert_eq!(sim.writer.shared().load().lookup(FdbKey::new(bd, *m)).map(|h| h.port()), Some(tunnel));
        }
        prop_assert_eq!(sim.io.chunks_in_use(), 0);
    }

    /// The per-batch last-tunnel cache changes no decap verdict: the same
    /// packets, all in batches or each in a batch of its own, are taken for
    /// the same tunnels and dropped for the same decap reasons, whatever
    /// mix of remotes, VNIs and flags shares a batch.
    #[test]
    fn batched_decap_takes_what_one_by_one_decap_takes(cases in prop::collection::vec(arb_case(), 1..80)) {
        let sim = || {
            let mut sim = SwitchSim::with_chunks(&spec(A, &[B], &[B, C]), 256).unwrap();
            resolve(&mut sim, A, B);
            resolve(&mut sim, A, C);
            sim
        };
        let (mut alone, mut batched) = (sim(), sim());
        let base = (alone.pipeline.counters().snapshot(), batched.pipeline.counters().snapshot());
        for c in &cases {
            let dst = c.dst.map_or(MacAddr::BROADCAST, |(r, n)| if r == 0 { mac(n) } else { remote_mac(r, n) });
            let mut f = inner(dst, remote_mac(remote_index(c.src), c.src_host), 0, 60);
            f.resize(c.len, 0xaa);
            let outer = Outer { flags: if c.i_flag { 0x08 } else { 0 }, ..Outer::new(c.src, A, c.vni) };
            alone.send(UP, &outer.wrap(&f));
            batched.inject(UP, &outer.wrap(&f));
        }
        batched.run();
        let (a, b) = (alone.pipeline.counters().snapshot(), batched.pipeline.counters().snapshot());
        prop_assert_eq!(a.decapsulated - base.0.decapsulated, b.decapsulated - base.1.decapsulated);
        for r in [
            DropReason::VxlanNoIFlag,
            DropReason::DecapUnknownVni,
            DropReason::DecapSourceNotAllowed,
            DropReason::DecapInnerTruncated,
            DropReason::DecapInnerBadSource,
        ] {
            prop_assert_eq!(a.drops_for(r) - base.0.drops_for(r), b.drops_for(r) - base.1.drops_for(r), "{:?}", r);
        }
        for i in 0..3 {
            let rx = |s: &SwitchSim| s.pipeline.counters().tunnel(i).map(|t| t.rx_packets.get());
            prop_assert_eq!(rx(&alone), rx(&batched), "tunnel {}", i);
        }
    }

    /// The feature machinery changes nothing for traffic that uses no
    /// feature: L2 frames between the access ports of a switch with a VTEP
    /// (whose VNIs are on other VLANs) leave on the same ports, byte for
    /// byte, with the same counts, as on the same switch without the VTEP.
    #[test]
    fn l2_path_is_unchanged_by_an_unused_overlay(
        frames in prop::collection::vec((0u16..2, 1u8..5, prop::sample::select(vec![0u8, 1, 2, 3, 4, 0xff])), 1..60),
    ) {
        // The VNIs bridge VLANs 30 and 40, which no access port carries.
        let mut with = spec(A, &[B], &[B]);
        with.overlay.vnis[0].vlan = VlanId(30);
        with.overlay.vnis[1].vlan = VlanId(40);
        let mut without = with.clone();
        without.overlay = Default::default();
        let mut a = SwitchSim::with_chunks(&with, 256).unwrap();
        let mut b = SwitchSim::with_chunks(&without, 256).unwrap();
        for (p, src, dst) in &frames {
            let dst = if *dst == 0xff { MacAddr::BROADCAST } else { mac(*dst) };
            let f = inner(dst, mac(*src), 0, 64);
            a.inject(PortId(*p), &f);
            b.inject(PortId(*p), &f);
        }
        a.run();
        b.run();
        let out = a.take_all_tx();
        prop_assert!(out.iter().all(|(p, _)| *p != UP));
        prop_assert_eq!(out, b.take_all_tx());
        let (sa, sb) = (a.pipeline.counters().snapshot(), b.pipeline.counters().snapshot());
        prop_assert_eq!(sa, sb);
    }
}

const A6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const B6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// A switch with the IPv6 VTEP `local`/64: VLAN 10 ↔ VNI 100 towards
/// `remote`, which it verifies UDP checksums from.
fn spec6(local: std::net::Ipv6Addr, remote: std::net::Ipv6Addr) -> SwitchSpec {
    let mut s = spec(A, &[], &[]);
    s.overlay.vteps[0] = VtepSpec::new("vtep0", 2, local, 64);
    s.overlay.vteps[0].verify_udp_checksum = true;
    s.overlay.vnis = vec![VniSpec { remotes: vec![remote.into()], ..vni(100, 10, vec![]) }];
    s
}

#[test]
fn two_switches_resolve_each_other_by_ndp_and_bridge_a_vlan_over_ipv6() {
    use crate::wire::icmpv6::{self, Icmpv6Packet};
    use crate::wire::Ipv6Packet;
    let mut a = SwitchSim::new(&spec6(A6, B6)).unwrap();
    let mut b = SwitchSim::new(&spec6(B6, A6)).unwrap();
    let hello = inner(MacAddr::BROADCAST, mac(1), 0, 60);

    // A's flood cannot go out yet: A solicits B at B's solicited-node group.
    let out = a.send(H10, &hello);
    assert_eq!(drops(&a, DropReason::EncapNexthopUnresolved), 1);
    let asks = on(&out, UP);
    assert_eq!(asks.len(), 1, "{out:?}");
    let ip = Ipv6Packet::new_checked(&asks[0][14..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr(), ip.hop_limit()), (A6, "ff02::1:ff00:2".parse().unwrap(), 255));
    let ns = Icmpv6Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(ns.msg_type(), icmpv6::NEIGHBOR_SOLICIT);

    // A solicitation with a broken checksum is refused by name.
    let mut broken = asks[0].clone();
    *broken.last_mut().unwrap() ^= 0xff;
    assert!(b.send(UP, &broken).is_empty());
    assert_eq!(drops(&b, DropReason::UnderlayBadNdp), 1);

    // B advertises itself to A (and learns A from the solicitation's
    // link-layer option); A takes the advertisement.
    let answer = on(&b.send(UP, &asks[0]), UP);
    assert_eq!(answer.len(), 1);
    let ip = Ipv6Packet::new_checked(&answer[0][14..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (B6, A6));
    assert_eq!(Icmpv6Packet::new_checked(ip.payload()).unwrap().msg_type(), icmpv6::NEIGHBOR_ADVERT);
    assert!(a.send(UP, &answer[0]).is_empty());
    assert_eq!(a.pipeline.counters().snapshot().neighbor_updates, 1);

    // The flood now crosses in VXLAN/UDP/IPv6, checksummed, and B
    // delivers it on VLAN 10, learning its source behind A.
    let wire = on(&a.send(H10, &hello), UP);
    assert_eq!(wire.len(), 1);
    let ip = Ipv6Packet::new_checked(&wire[0][14..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr(), ip.next_header()), (A6, B6, IpProtocol::UDP));
    assert!(UdpPacket::new_checked(ip.payload()).unwrap().verify_checksum_v6(A6, B6));
    assert_eq!(b.send(UP, &wire[0]), vec![(H10, hello.clone())]);
    let from_a = b.plan.port_id("vxlan100@fd00::1").unwrap();
    let key = FdbKey::new(b.plan.domain(0, 10).unwrap(), mac(1));
    assert_eq!(b.writer.shared().load().lookup(key).map(|h| h.port()), Some(from_a));

    // And back, by unicast, with no solicitation (B learned A's MAC).
    let back = inner(mac(1), mac(2), 0, 80);
    let wire_back = on(&b.send(H10, &back), UP);
    assert_eq!(wire_back.len(), 1);
    assert_eq!(a.send(UP, &wire_back[0]), vec![(H10, back)]);

    // Bad outer packets, each under its reason: a zero UDP checksum (which
    // IPv6 does not allow), a wrong one, and a fragment header.
    let mut zero = wire[0].clone();
    zero[60..62].copy_from_slice(&[0, 0]);
    let mut wrong = wire[0].clone();
    wrong[61] ^= 0x5a;
    assert!(b.send(UP, &zero).is_empty() && b.send(UP, &wrong).is_empty());
    assert_eq!(drops(&b, DropReason::DecapBadUdpChecksum), 2);
    let mut frag = wire[0].clone();
    frag[20] = 44;
    assert!(b.send(UP, &frag).is_empty());
    assert_eq!(drops(&b, DropReason::DecapFragment), 1);
    let (sa, sb) = (a.pipeline.counters().snapshot(), b.pipeline.counters().snapshot());
    assert_eq!((sa.encapsulated, sa.decapsulated, sb.encapsulated, sb.decapsulated), (1, 1, 1, 1));
    assert_eq!(a.io.chunks_in_use() + b.io.chunks_in_use(), 0);
}

/// A resolved next hop is asked again once it has been silent for its
/// VTEP's `neighbor_refresh_secs`, and forgotten 5 s later without an
/// answer: frames to it then drop as unresolved (and ask), until an answer,
/// here from a new MAC, resolves it again.
#[test]
fn silent_next_hops_are_asked_again_then_forgotten() {
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vteps[0].neighbor_refresh_secs = 20;
    let mut sim = SwitchSim::new(&s).unwrap();
    resolve(&mut sim, A, B);
    let arps = |sim: &mut SwitchSim| {
        sim.tick();
        let out = sim.take_all_tx();
        out.iter()
            .filter(|(p, f)| *p == UP && EthernetFrame::new_unchecked(&f[..]).ethertype() == EtherType::ARP)
            .count()
    };
    let snapshot = |sim: &SwitchSim| sim.pipeline.counters().snapshot();
    let hello = inner(MacAddr::BROADCAST, mac(1), 0, 60);
    sim.advance_secs(19);
    assert_eq!(arps(&mut sim), 0, "trusted for 20 s");
    sim.advance_secs(1);
    assert_eq!(arps(&mut sim), 1, "then asked again, once a second");
    assert_eq!(on(&sim.send(H10, &hello), UP).len(), 1, "still used while asked");
    sim.advance_secs(4);
    assert_eq!((arps(&mut sim), snapshot(&sim).neighbor_expiries), (1, 0));
    sim.advance_secs(1);
    assert_eq!((arps(&mut sim), snapshot(&sim).neighbor_expiries), (1, 1), "forgotten 5 s later");
    let before = snapshot(&sim).drops_for(DropReason::EncapNexthopUnresolved);
    sim.send(H10, &hello);
    assert_eq!(snapshot(&sim).drops_for(DropReason::EncapNexthopUnresolved), before + 1);
    // B answers from a new MAC: frames go there.
    let moved = MacAddr([2, 0x42, 0, 0, 0, 2]);
    assert!(sim.send(UP, &arp(ArpOperation::Reply, moved, B, vtep_mac(A), A)).is_empty());
    let out = on(&sim.send(H10, &hello), UP);
    assert_eq!(out.len(), 1);
    assert_eq!(EthernetFrame::new_unchecked(&out[0][..]).dst_addr(), moved);
    assert_eq!(arps(&mut sim), 0, "heard from just now");
}

/// Drops are counted per tunnel and per VTEP: a packet refused once its
/// tunnel is known is that tunnel's rx drop, every underlay drop is its
/// VTEP's, and a frame that cannot leave encapsulated is its tunnel's tx
/// drop.
#[test]
fn drops_are_counted_per_tunnel_and_per_vtep() {
    let mut sim = SwitchSim::new(&spec(A, &[B], &[B])).unwrap();
    resolve(&mut sim, A, B);
    let tunnel = sim.plan.port_id("vxlan100@192.168.100.2").unwrap();
    let t = usize::from(tunnel.0 - sim.plan.first_tunnel);
    let counts = |sim: &SwitchSim| {
        let c = sim.pipeline.counters();
        let tc = c.tunnel(t).unwrap();
        (tc.rx_drops.get(), tc.tx_drops.get(), c.vtep_rx_drops[0].get())
    };
    // A multicast inner source, from B in VNI 100: the tunnel's and the VTEP's.
    let bad = inner(mac(1), MacAddr([0x01, 0, 0x5e, 0, 0, 1]), 0, 60);
    assert!(sim.send(UP, &Outer::new(B, A, 100).wrap(&bad)).is_empty());
    assert_eq!(counts(&sim), (1, 0, 1));
    // An unknown VNI names no tunnel: the VTEP's only.
    assert!(sim.send(UP, &Outer::new(B, A, 999).wrap(&inner(mac(1), mac(7), 0, 60))).is_empty());
    assert_eq!(counts(&sim), (1, 0, 2));
    // Too big for the underlay: the tunnel's tx drop.
    sim.send(UP, &Outer::new(B, A, 100).wrap(&inner(MacAddr::BROADCAST, mac(7), 0, 60)));
    sim.take_all_tx();
    assert!(on(&sim.send(H10, &inner(mac(7), mac(1), 0, 1500)), UP).is_empty());
    assert_eq!(counts(&sim), (1, 1, 2));
}

/// One underlay frame of the proptest below: VXLAN from a remote (or a
/// stranger) for a VNI, with or without the I flag; ARP for the VTEP; a
/// tagged, runt, reserved-destination or multicast-source frame; or bytes.
fn arb_underlay_frame() -> impl Strategy<Value = Vec<u8>> {
    let vxlan =
        (prop::sample::select(vec![B, C, STRANGER]), prop::sample::select(vec![100u32, 200, 300]), any::<bool>())
            .prop_map(|(src, vni, i_flag)| {
                let outer = Outer { flags: if i_flag { 0x08 } else { 0 }, ..Outer::new(src, A, vni) };
                outer.wrap(&inner(MacAddr::BROADCAST, remote_mac(remote_index(src), 1), 0, 60))
            });
    let arp_req = Just(arp(ArpOperation::Request, vtep_mac(B), B, MacAddr::ZERO, A));
    let mangled = (vxlan.clone(), 0usize..14, any::<u8>(), 0usize..70).prop_map(|(mut f, at, b, cut)| {
        f[at] = b;
        f.truncate(f.len().saturating_sub(cut));
        f
    });
    let tagged = (vxlan.clone(), prop::sample::select(vec![0u16, 5, 0xfff])).prop_map(|(mut f, vid)| {
        f.splice(12..12, [0x81, 0x00, (vid >> 8) as u8, vid as u8]);
        f
    });
    let reserved = vxlan.clone().prop_map(|mut f| {
        f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 0x0e]);
        f
    });
    let runt = prop::collection::vec(any::<u8>(), 0..20);
    prop_oneof![vxlan, arp_req, mangled, tagged, reserved, runt]
}

proptest! {
    /// A batch of an underlay port goes straight to the underlay stage
    /// (`decap::admit`); it must end exactly as the L2 loop's way, which
    /// sets such frames aside: the same frames out, the same counters.
    #[test]
    fn direct_underlay_batches_match_the_l2_loop(frames in prop::collection::vec(arb_underlay_frame(), 1..40)) {
        let sim = || {
            let mut sim = SwitchSim::with_chunks(&spec(A, &[B], &[B, C]), 256).unwrap();
            resolve(&mut sim, A, B);
            resolve(&mut sim, A, C);
            sim.take_all_tx();
            sim
        };
        let (mut direct, mut reference) = (sim(), sim());
        for f in &frames {
            direct.inject(UP, f);
            reference.inject(UP, f);
        }
        direct.run();
        super::decap::DIRECT.with(|d| d.set(false));
        reference.run();
        super::decap::DIRECT.with(|d| d.set(true));
        prop_assert_eq!(direct.take_all_tx(), reference.take_all_tx());
        prop_assert_eq!(direct.pipeline.counters().snapshot(), reference.pipeline.counters().snapshot());
        prop_assert_eq!(direct.io.chunks_in_use(), 0);
    }
}

/// ARP suppression in VNI 100's domain: the remote host's binding is
/// snooped from its decapsulated ARP, a local request for it is answered
/// on the local port and sent nowhere else, an unknown address floods as
/// before, and VNI 200's domain (without suppression) is untouched.
#[test]
fn arp_suppression_answers_known_hosts_locally_and_floods_unknown_ones() {
    let mut s = spec(A, &[B], &[B]);
    s.overlay.vnis[0].arp_suppression = Some((Ipv4Addr::new(10, 1, 0, 0), 24));
    s.overlay.vnis[0].arp_static = vec![(Ipv4Addr::new(10, 1, 0, 50), mac(50))];
    let mut sim = SwitchSim::new(&s).unwrap();
    resolve(&mut sim, A, B);
    let (local_ip, remote_ip) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2));

    // The remote host's request arrives decapsulated: snooped, and flooded
    // to the local host as always (the remote VTEP asks, we do not answer).
    let remote_ask = arp(ArpOperation::Request, mac(2), remote_ip, MacAddr::ZERO, local_ip);
    let out = sim.send(UP, &Outer::new(B, A, 100).wrap(&remote_ask));
    assert_eq!(out, vec![(H10, remote_ask.clone())]);
    assert_eq!(sim.pipeline.counters().snapshot().arp_snooped, 1);

    // The local host asks for the remote one: answered on h10 only.
    let ask = arp(ArpOperation::Request, mac(1), local_ip, MacAddr::ZERO, remote_ip);
    let out = sim.send(H10, &ask);
    let want = {
        let mut r = arp(ArpOperation::Reply, mac(2), remote_ip, mac(1), local_ip);
        r[0..6].copy_from_slice(&mac(1).0);
        r
    };
    assert_eq!(out, vec![(H10, want)], "answered locally, nothing across the overlay");
    // A static binding is answered too; an unknown address floods to B.
    let out = sim.send(H10, &arp(ArpOperation::Request, mac(1), local_ip, MacAddr::ZERO, Ipv4Addr::new(10, 1, 0, 50)));
    assert_eq!(ArpPacket::new_checked(&out[0].1[14..]).unwrap().sender_hardware_addr(), mac(50));
    let unknown = arp(ArpOperation::Request, mac(1), local_ip, MacAddr::ZERO, Ipv4Addr::new(10, 1, 0, 9));
    let out = sim.send(H10, &unknown);
    assert_eq!(on(&out, UP).len(), 1, "unknown: flooded across the overlay");
    let c = sim.pipeline.counters().snapshot();
    assert_eq!((c.arp_suppressed, c.arp_suppress_misses), (2, 1));
    // Announcements teach, they are not answered; a different VLAN's ARP
    // for a known address floods (VNI 200 has no suppression).
    let garp =
        arp(ArpOperation::Request, mac(3), Ipv4Addr::new(10, 1, 0, 3), MacAddr::ZERO, Ipv4Addr::new(10, 1, 0, 3));
    assert_eq!(on(&sim.send(H10, &garp), UP).len(), 1);
    let other = arp(ArpOperation::Request, mac(4), local_ip, MacAddr::ZERO, remote_ip);
    assert_eq!(on(&sim.send(H20, &other), UP).len(), 1);
    let sup = sim.plan.overlay.as_deref().unwrap().suppression(sim.plan.domain(0, 10).unwrap()).unwrap();
    assert_eq!(sup.hosts.get(Ipv4Addr::new(10, 1, 0, 3)), Some(mac(3)));
    assert_eq!(sup.hosts.get(local_ip), Some(mac(1)));
    // Aging forgets learned hosts, never the static one.
    assert_eq!(sup.hosts.age(10_000, 300), 3);
    assert_eq!(sup.hosts.get(Ipv4Addr::new(10, 1, 0, 50)), Some(mac(50)));
    assert_eq!(sim.io.chunks_in_use(), 0);
}
