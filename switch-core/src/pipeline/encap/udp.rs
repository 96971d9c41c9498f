//! UDP tunnels over IPv4, VXLAN (RFC 7348) and Geneve (RFC 8926): the
//! tunnel's header template (50 bytes for VXLAN, 50 plus the options for
//! Geneve; see `overlay/template.rs`) goes into the headroom in front of the
//! inner frame, and the per-frame fields are patched in. The payload is
//! never moved.
//!
//! Per-frame fields: the next hop's MAC; the TOS (DSCP fixed or inherited,
//! ECN copied from the inner packet, RFC 6040's normal mode); the IPv4
//! total length and header checksum (the template's precomputed sum plus
//! the two changed words); the UDP source port (a hash of the inner flow,
//! so that ECMP in the underlay spreads tunnels: RFC 7348 section 5, RFC
//! 8926 section 3.3); the UDP length, and the UDP checksum when the VTEP
//! computes them. The tunnel header itself has no per-frame field.

use crate::overlay::plan::offset;
use crate::overlay::{TunnelPlan, VtepPlan};
use crate::pipeline::DropReason;
use crate::types::MacAddr;
use crate::wire::ipv4::{self, IpProtocol, Ipv4Packet};
use crate::wire::udp::UdpPacket;
use crate::wire::{checksum, ethernet, EtherType, EthernetFrame};

/// Pushes `t`'s headers in front of the inner frame at
/// `chunk[head..head + len]`. Returns the outer frame's (head, len).
pub(crate) fn encap(
    t: &TunnelPlan,
    vtep: &VtepPlan,
    nexthop: MacAddr,
    chunk: &mut [u8],
    head: u16,
    len: u16,
) -> Result<(u16, u16), DropReason> {
    let (h, n, push) = (head as usize, len as usize, t.template.len());
    // The IPv4 packet: everything but the outer Ethernet header.
    let ip_len = n + push - ethernet::HEADER_LEN;
    if ip_len > usize::from(vtep.mtu) {
        return Err(DropReason::EncapTooBig);
    }
    if h < push {
        return Err(DropReason::NoHeadroom);
    }
    let Some(whole) = chunk.get_mut(h - push..h + n) else { return Err(DropReason::Truncated) };
    let (outer, inner) = whole.split_at_mut(push);
    let inner_tos = inner_tos(inner);
    let tos = match vtep.dscp {
        Some(dscp) => dscp << 2 | (inner_tos & 0b11),
        None => inner_tos,
    };
    let src_port = source_port(vtep, flow_hash(inner));
    outer.copy_from_slice(&t.template);
    EthernetFrame::new_unchecked(&mut outer[..offset::IP]).set_dst_addr(nexthop);
    let mut ip = Ipv4Packet::new_unchecked(&mut outer[offset::IP..offset::UDP]);
    ip.set_tos(tos);
    ip.set_total_len(ip_len as u16);
    // The template's sum holds every other field; TOS is the low byte of
    // the first word, whose high byte (version, IHL) is in the sum already.
    ip.set_checksum(checksum::finish(checksum::combine(t.ip_sum, ip_len as u32 + u32::from(tos))));
    let mut udp = UdpPacket::new_unchecked(&mut outer[offset::UDP..offset::TUNNEL]);
    udp.set_src_port(src_port);
    udp.set_len((ip_len - ipv4::HEADER_LEN) as u16);
    if vtep.udp_checksum {
        let mut udp = UdpPacket::new_unchecked(&mut whole[offset::UDP..]);
        udp.fill_checksum_v4(vtep.address, t.remote);
    }
    Ok(((h - push) as u16, (n + push) as u16))
}

/// The inner packet's TOS (IPv4) or traffic class (IPv6), 0 for others.
fn inner_tos(inner: &[u8]) -> u8 {
    match (ethertype(inner), inner.get(14..16)) {
        (EtherType::IPV4, Some(b)) => b[1],
        (EtherType::IPV6, Some(b)) => (b[0] << 4) | (b[1] >> 4),
        _ => 0,
    }
}

fn ethertype(frame: &[u8]) -> u16 {
    frame.get(12..14).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

/// A hash of the inner flow: the MACs and EtherType, plus for IPv4 the
/// addresses and protocol, and for unfragmented TCP and UDP the ports.
fn flow_hash(inner: &[u8]) -> u32 {
    // Whole-word loads (the frame has at least an Ethernet header): bytes
    // 0-7 and 6-13 cover both MACs and the EtherType.
    let load8 = |at: usize| inner.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
    let word = |r: core::ops::Range<usize>| {
        inner.get(r).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, |b| u64::from(u32::from_le_bytes(b)))
    };
    let mut h = mix(load8(0), load8(6));
    if ethertype(inner) == EtherType::IPV4 {
        if let Ok(ip) = Ipv4Packet::new_checked(&inner[ethernet::HEADER_LEN..]) {
            let addrs = u64::from(u32::from(ip.src_addr())) << 32 | u64::from(u32::from(ip.dst_addr()));
            h = mix(h, addrs ^ u64::from(ip.protocol()));
            let l4 = matches!(ip.protocol(), IpProtocol::TCP | IpProtocol::UDP) && !ip.is_fragment();
            if l4 {
                let at = ethernet::HEADER_LEN + ip.header_len();
                h = mix(h, word(at..at + 4));
            }
        }
    }
    (h >> 32) as u32 ^ h as u32
}

/// One round of a multiply-xorshift mix (as in splitmix64's finaliser).
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x
}

/// `hash` mapped onto the VTEP's source-port range (a multiply, not a
/// modulo, so every port in the range is equally likely).
fn source_port(vtep: &VtepPlan, hash: u32) -> u16 {
    let off = (u64::from(hash) * u64::from(vtep.src_port_span)) >> 32;
    vtep.src_port_lo.wrapping_add(off as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    use crate::bridge::{BridgeSpec, ForwardingPlan, PortMode, PortSpec, SwitchSpec};
    use crate::overlay::{VniSpec, VtepSpec};
    use crate::types::VlanId;
    use crate::wire::{UdpPacket, VxlanPacket};

    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
    const REMOTE: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
    const HOP: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x99]);

    fn plan(dscp: Option<u8>, udp_checksum: bool) -> ForwardingPlan {
        let port = |name: &str, mode| PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None };
        let mut vtep = VtepSpec::new("vtep0", 1, LOCAL, 24);
        vtep.dscp = dscp;
        vtep.udp_checksum = udp_checksum;
        let mut s = SwitchSpec {
            bridges: vec![BridgeSpec { name: "br0".into() }],
            ports: vec![port("h1", PortMode::Access { vlan: VlanId(10) }), port("up", PortMode::Underlay)],
            ..SwitchSpec::default()
        };
        s.overlay.vteps.push(vtep);
        s.overlay.vnis.push(VniSpec {
            vni: 5000,
            vtep: 0,
            bridge: 0,
            vlan: VlanId(10),
            remotes: vec![REMOTE],
            ..VniSpec::default()
        });
        ForwardingPlan::compile(&s).unwrap()
    }

    /// An inner IPv4/UDP frame with TOS `tos`, at offset 64 of a chunk.
    fn chunk(tos: u8, sport: u16) -> (Vec<u8>, u16, u16) {
        let mut c = vec![0u8; 256];
        let f = &mut c[64..64 + 60];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&EtherType::IPV4.to_be_bytes());
        let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_total_len(46);
        ip.set_tos(tos);
        ip.set_protocol(IpProtocol::UDP);
        ip.fill_checksum();
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        (c, 64, 60)
    }

    #[test]
    fn outer_headers_are_valid_and_carry_the_inner_flow() {
        for (dscp, csum) in [(None, false), (Some(46), true)] {
            let p = plan(dscp, csum);
            let ov = p.overlay.as_deref().unwrap();
            let (t, v) = (&ov.tunnels[0], &ov.vteps[0]);
            let (mut c, h, l) = chunk(0x29, 1234);
            let (head, len) = encap(t, v, HOP, &mut c, h, l).unwrap();
            assert_eq!((head, len), (14, 110));
            let f = &c[head as usize..(head + len) as usize];
            let eth = EthernetFrame::new_checked(f).unwrap();
            assert_eq!((eth.dst_addr(), eth.src_addr(), eth.ethertype()), (HOP, v.mac, EtherType::IPV4));
            let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
            assert!(ip.verify_checksum());
            assert!(ip.dont_frag());
            assert_eq!((ip.src_addr(), ip.dst_addr(), ip.total_len(), ip.ttl()), (LOCAL, REMOTE, 96, 64));
            assert_eq!(ip.ecn(), 0x29 & 3, "ECN copied");
            assert_eq!(ip.dscp(), dscp.unwrap_or(0x29 >> 2));
            let udp = UdpPacket::new_checked(ip.payload()).unwrap();
            assert_eq!((udp.dst_port(), udp.len()), (4789, 76));
            assert!((49152..=65535).contains(&udp.src_port()));
            assert_eq!(udp.checksum() != 0, csum);
            assert!(udp.verify_checksum_v4(LOCAL, REMOTE));
            let vx = VxlanPacket::new_checked(udp.payload()).unwrap();
            assert_eq!(vx.vni(), 5000);
            assert_eq!(vx.payload(), &chunk(0x29, 1234).0[64..124]);
        }
    }

    #[test]
    fn source_port_follows_the_flow_and_spreads() {
        let p = plan(None, false);
        let ov = p.overlay.as_deref().unwrap();
        let port_of = |sport| {
            let (mut c, h, l) = chunk(0, sport);
            let (head, _) = encap(&ov.tunnels[0], &ov.vteps[0], HOP, &mut c, h, l).unwrap();
            UdpPacket::new_unchecked(&c[head as usize + 34..]).src_port()
        };
        assert_eq!(port_of(1000), port_of(1000));
        let distinct: std::collections::HashSet<u16> = (0..64).map(|s| port_of(1000 + s)).collect();
        assert!(distinct.len() > 48, "{} distinct source ports of 64 flows", distinct.len());
    }

    #[test]
    fn too_big_and_no_headroom_are_refused() {
        let p = plan(None, false);
        let ov = p.overlay.as_deref().unwrap();
        let (t, v) = (&ov.tunnels[0], &ov.vteps[0]);
        let mut c = vec![0u8; 2048];
        assert_eq!(encap(t, v, HOP, &mut c, 64, 1465), Err(DropReason::EncapTooBig));
        assert!(encap(t, v, HOP, &mut c, 64, 1464).is_ok());
        assert_eq!(encap(t, v, HOP, &mut c, 49, 60), Err(DropReason::NoHeadroom));
        assert_eq!(encap(t, v, HOP, &mut c, 2000, 60), Err(DropReason::Truncated));
    }
}
