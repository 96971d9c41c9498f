//! UDP tunnels over IPv4 or IPv6, VXLAN (RFC 7348) and Geneve (RFC 8926):
//! the tunnel's header template (50 bytes for VXLAN over IPv4, 70 over
//! IPv6, plus the options for Geneve; see `overlay/template.rs`) goes into
//! the headroom in front of the inner frame, and the per-frame fields are
//! patched in. The payload is never moved.
//!
//! Per-frame fields: the next hop's MAC; the TOS (DSCP fixed or inherited,
//! ECN copied from the inner packet, RFC 6040's normal mode); the IPv4
//! total length and header checksum (the template's precomputed sum plus
//! the two changed words); the UDP source port (a hash of the inner flow,
//! so that ECMP in the underlay spreads tunnels: RFC 7348 section 5, RFC
//! 8926 section 3.3); the UDP length, and the UDP checksum when the VTEP
//! computes them. The tunnel header itself has no per-frame field.
//!
//! Over IPv6 the traffic class takes the TOS's place, the flow label
//! carries the inner flow's hash as well (RFC 6438), the payload length
//! the IPv4 total length's, and the UDP checksum is always computed (RFC
//! 8200 section 8.1): the template's constant sum plus the lengths, the
//! source port and a sum over the inner frame.

use std::net::IpAddr;

use crate::overlay::plan::{offset, offset6, VXLAN4_ENCAP_LEN};
use crate::overlay::{TunnelPlan, VtepPlan};
use crate::pipeline::DropReason;
use crate::types::MacAddr;
use crate::wire::ipv4::{self, IpProtocol, Ipv4Packet};
use crate::wire::udp::UdpPacket;
use crate::wire::{checksum, ethernet, EtherType, EthernetFrame, Ipv6Packet};

/// Pushes `t`'s headers in front of the inner frame at
/// `chunk[head..head + len]`. Returns the outer frame's (head, len).
/// Inlined into the one caller per backend: a call would spill and
/// reload its registers on every frame.
#[inline]
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
    if t.remote.is_ipv6() {
        encap6(t, vtep, nexthop, whole, ip_len);
        return Ok(((h - push) as u16, (n + push) as u16));
    }
    let (outer, inner) = whole.split_at_mut(push);
    let flow = InnerFlow::of(inner);
    let tos = match vtep.dscp {
        Some(dscp) => dscp << 2 | (flow.tos & 0b11),
        None => flow.tos,
    };
    let src_port = source_port(vtep, flow.hash);
    // The fixed part (Ethernet, IPv4, UDP, the 8-byte VXLAN or Geneve base
    // header) as an array: a constant-length copy and no bounds checks on
    // the fields below. Geneve's options follow it.
    if outer.len() > VXLAN4_ENCAP_LEN {
        copy_options(outer, &t.template);
    }
    let (Some(fixed), Some(fixed_t)) =
        (outer.first_chunk_mut::<VXLAN4_ENCAP_LEN>(), t.template.first_chunk::<VXLAN4_ENCAP_LEN>())
    else {
        return Err(DropReason::Truncated);
    };
    *fixed = *fixed_t;
    EthernetFrame::new_unchecked(&mut fixed[..offset::IP]).set_dst_addr(nexthop);
    let mut ip = Ipv4Packet::new_unchecked(&mut fixed[offset::IP..offset::UDP]);
    ip.set_tos(tos);
    ip.set_total_len(ip_len as u16);
    // The template's sum holds every other field; TOS is the low byte of
    // the first word, whose high byte (version, IHL) is in the sum already.
    ip.set_checksum(checksum::finish(checksum::combine(t.ip_sum, ip_len as u32 + u32::from(tos))));
    let mut udp = UdpPacket::new_unchecked(&mut fixed[offset::UDP..offset::TUNNEL]);
    udp.set_src_port(src_port);
    udp.set_len((ip_len - ipv4::HEADER_LEN) as u16);
    if vtep.udp_checksum {
        fill_udp_checksum_v4(vtep, t, whole);
    }
    Ok(((h - push) as u16, (n + push) as u16))
}

/// Copies the part of `template` past its fixed [`VXLAN4_ENCAP_LEN`]
/// bytes (Geneve's options) to the same offsets of `outer` (as long), in
/// 16-byte moves from the end back. The last move may reach into the fixed
/// part, which the caller writes afterwards. A run-time length would send
/// `copy_from_slice` to libc's `memcpy`: a call and its size dispatch on
/// every packet (28 instructions for 20 bytes of options).
#[inline(always)]
fn copy_options(outer: &mut [u8], template: &[u8]) {
    const PIECE: usize = 16;
    let mut end = outer.len().min(template.len());
    while end > VXLAN4_ENCAP_LEN {
        let start = end - PIECE;
        let (Some(d), Some(s)) = (outer.get_mut(start..end), template.get(start..end)) else { return };
        if let (Ok(d), Ok(s)) = (<&mut [u8; PIECE]>::try_from(d), <&[u8; PIECE]>::try_from(s)) {
            *d = *s;
        }
        end = start;
    }
}

/// The optional IPv4 UDP checksum over the whole outer UDP datagram in
/// `whole` (the outer frame), out of line: VTEPs send zero by default.
#[inline(never)]
fn fill_udp_checksum_v4(vtep: &VtepPlan, t: &TunnelPlan, whole: &mut [u8]) {
    if let (IpAddr::V4(src), IpAddr::V4(dst)) = (vtep.address, t.remote) {
        UdpPacket::new_unchecked(&mut whole[offset::UDP..]).fill_checksum_v4(src, dst);
    }
}

/// The IPv6 half of [`encap`]: `whole` is the template's room followed by
/// the inner frame, and `ip_len` the outer IPv6 packet's length, both
/// checked.
#[inline(never)]
fn encap6(t: &TunnelPlan, vtep: &VtepPlan, nexthop: MacAddr, whole: &mut [u8], ip_len: usize) {
    let (outer, inner) = whole.split_at_mut(t.template.len());
    let flow = InnerFlow::of(inner);
    let class = match vtep.dscp {
        Some(dscp) => dscp << 2 | (flow.tos & 0b11),
        None => flow.tos,
    };
    let hash = flow.hash;
    let src_port = source_port(vtep, hash);
    let inner_sum = checksum::sum(inner);
    outer.copy_from_slice(&t.template);
    EthernetFrame::new_unchecked(&mut outer[..offset6::IP]).set_dst_addr(nexthop);
    let udp_len = (ip_len - crate::wire::ipv6::HEADER_LEN) as u16;
    let mut ip = Ipv6Packet::new_unchecked(&mut outer[offset6::IP..offset6::UDP]);
    ip.set_traffic_class(class);
    ip.set_flow_label(hash & 0xf_ffff);
    ip.set_payload_len(udp_len);
    let mut udp = UdpPacket::new_unchecked(&mut outer[offset6::UDP..offset6::TUNNEL]);
    udp.set_src_port(src_port);
    udp.set_len(udp_len);
    // The length is in the sum twice: the pseudo header's and the UDP
    // header's own.
    let varying = 2 * u32::from(udp_len) + u32::from(src_port);
    let sum = checksum::combine(checksum::combine(t.ip_sum, varying), inner_sum);
    // A computed zero goes out as all ones: zero means "none" (RFC 768).
    udp.set_checksum(match checksum::finish(sum) {
        0 => 0xffff,
        c => c,
    });
}

/// What encapsulation reads of the inner frame: its flow's hash and its
/// TOS (IPv4) or traffic class (IPv6), 0 for other EtherTypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InnerFlow {
    /// A hash of the MACs and EtherType, plus for IPv4 and IPv6 the
    /// addresses and protocol, and for unfragmented TCP and UDP the ports.
    pub hash: u32,
    /// The inner TOS or traffic class (DSCP and ECN).
    pub tos: u8,
}

/// The inner flow's fields in two words, hashed once: for IP the
/// addresses, and the protocol with the ports; for other EtherTypes the
/// MACs (the IP flows between two hosts must spread, so IP leaves the MACs
/// out, as the kernel's flow dissector does).
struct FlowWords {
    a: u64,
    b: u64,
    tos: u8,
}

impl InnerFlow {
    /// Reads `inner`, an Ethernet frame of at least its header (shorter
    /// frames hash as zeros).
    #[inline]
    pub(crate) fn of(inner: &[u8]) -> InnerFlow {
        let Some(eth) = inner.first_chunk::<{ ethernet::HEADER_LEN }>() else {
            return InnerFlow { hash: 0, tos: 0 };
        };
        let l3 = &inner[ethernet::HEADER_LEN..];
        let w = match u16::from_be_bytes([eth[12], eth[13]]) {
            EtherType::IPV4 => ipv4_words(l3),
            EtherType::IPV6 => ipv6_words(l3),
            _ => None,
        }
        .unwrap_or_else(|| FlowWords { a: load_le(&eth[..8]), b: load_le(&eth[6..]), tos: 0 });
        InnerFlow { hash: hash_words(w.a, w.b), tos: w.tos }
    }
}

/// [`InnerFlow::of`]'s IPv4 part. The ports count only for unfragmented
/// TCP and UDP, so that every fragment of a datagram hashes alike.
#[inline]
fn ipv4_words(l3: &[u8]) -> Option<FlowWords> {
    let hdr = l3.first_chunk::<{ ipv4::HEADER_LEN }>()?;
    let ip = Ipv4Packet::new_unchecked(&hdr[..]);
    let (proto, l4_at) = (ip.protocol(), ip.header_len());
    let addrs = u64::from(u32::from(ip.src_addr())) << 32 | u64::from(u32::from(ip.dst_addr()));
    let ported = matches!(proto, IpProtocol::TCP | IpProtocol::UDP) && !ip.is_fragment();
    let ports = match l3.get(l4_at..l4_at + 4) {
        Some(ports) if ported => load_le(ports),
        _ => 0,
    };
    Some(FlowWords { a: addrs, b: ports << 8 | u64::from(proto), tos: ip.tos() })
}

/// [`InnerFlow::of`]'s IPv6 part, out of line: the addresses, the next
/// header, and for TCP and UDP directly after the fixed header the ports.
#[inline(never)]
fn ipv6_words(l3: &[u8]) -> Option<FlowWords> {
    use crate::wire::ipv6::HEADER_LEN;
    let hdr = l3.first_chunk::<HEADER_LEN>()?;
    let ip = Ipv6Packet::new_unchecked(&hdr[..]);
    let (src, dst, next) = (u128::from(ip.src_addr()), u128::from(ip.dst_addr()), ip.next_header());
    let fold = |a: u128| (a >> 64) as u64 ^ (a as u64).rotate_left(32);
    let ports = match l3.get(HEADER_LEN..HEADER_LEN + 4) {
        Some(ports) if matches!(next, IpProtocol::TCP | IpProtocol::UDP) => load_le(ports),
        _ => 0,
    };
    let a = fold(src) ^ fold(dst).rotate_left(17);
    Some(FlowWords { a, b: ports << 8 | u64::from(next), tos: ip.traffic_class() })
}

/// Up to 8 bytes of `b` as a little-endian word (zero-extended).
#[inline(always)]
fn load_le(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// Two words folded into 32 bits: `a` times an odd constant, `b` xored
/// in, and splitmix64's multiply-xorshift finish, so that a change in any
/// input bit reaches every output bit.
#[inline(always)]
fn hash_words(a: u64, b: u64) -> u32 {
    let mut x = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    (x >> 32) as u32 ^ x as u32
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
    use std::net::{Ipv4Addr, Ipv6Addr};

    use crate::bridge::{BridgeSpec, ForwardingPlan, PortMode, PortSpec, SwitchSpec};
    use crate::overlay::{VniSpec, VtepSpec};
    use crate::types::VlanId;
    use crate::wire::{UdpPacket, VxlanPacket};

    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
    const REMOTE: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
    const HOP: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x99]);

    fn plan(dscp: Option<u8>, udp_checksum: bool) -> ForwardingPlan {
        plan_on(LOCAL.into(), 24, REMOTE.into(), dscp, udp_checksum)
    }

    fn plan_on(
        local: std::net::IpAddr,
        prefix: u8,
        remote: std::net::IpAddr,
        dscp: Option<u8>,
        udp_checksum: bool,
    ) -> ForwardingPlan {
        let port = |name: &str, mode| PortSpec {
            name: name.into(),
            interface: None,
            bridge: 0,
            mode,
            mac_limit: None,
            mtu: None,
        };
        let mut vtep = VtepSpec::new("vtep0", 1, local, prefix);
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
            remotes: vec![remote],
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
    fn ipv6_outer_headers_are_valid_and_carry_the_inner_flow() {
        let (local, remote): (Ipv6Addr, Ipv6Addr) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        for dscp in [None, Some(46)] {
            // `udp_checksum = false` does not apply: IPv6 always sums.
            let p = plan_on(local.into(), 64, remote.into(), dscp, false);
            let ov = p.overlay.as_deref().unwrap();
            let (t, v) = (&ov.tunnels[0], &ov.vteps[0]);
            // 70 bytes of headers need more headroom than `chunk` leaves.
            let mut c = vec![0u8; 64];
            c.extend_from_slice(&chunk(0x29, 1234).0);
            let (head, len) = encap(t, v, HOP, &mut c, 128, 60).unwrap();
            assert_eq!((head, len), (128 - 70, 60 + 70));
            let f = &c[head as usize..(head + len) as usize];
            let eth = EthernetFrame::new_checked(f).unwrap();
            assert_eq!((eth.dst_addr(), eth.src_addr(), eth.ethertype()), (HOP, v.mac, EtherType::IPV6));
            let ip = Ipv6Packet::new_checked(&f[14..]).unwrap();
            assert_eq!((ip.src_addr(), ip.dst_addr(), ip.payload_len(), ip.hop_limit()), (local, remote, 76, 64));
            assert_eq!(ip.next_header(), IpProtocol::UDP);
            assert_eq!(ip.traffic_class() & 3, 0x29 & 3, "ECN copied");
            assert_eq!(ip.traffic_class() >> 2, dscp.unwrap_or(0x29 >> 2));
            let udp = UdpPacket::new_checked(ip.payload()).unwrap();
            assert_eq!((udp.dst_port(), udp.len()), (4789, 76));
            assert_ne!(ip.flow_label(), 0, "the flow label carries the inner flow's hash");
            assert_ne!(udp.checksum(), 0);
            assert!(udp.verify_checksum_v6(local, remote));
            // A second implementation agrees on the checksum.
            let parsed = etherparse::SlicedPacket::from_ethernet(f).unwrap();
            let Some(etherparse::TransportSlice::Udp(u)) = parsed.transport else { panic!("no UDP") };
            let Some(etherparse::NetSlice::Ipv6(n)) = parsed.net else { panic!("no IPv6") };
            let want = u.to_header().calc_checksum_ipv6(&n.header().to_header(), u.payload()).unwrap();
            assert_eq!(udp.checksum(), want);
            assert_eq!(VxlanPacket::new_checked(udp.payload()).unwrap().payload(), &chunk(0x29, 1234).0[64..124]);
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
    fn options_are_copied_whole_at_every_length() {
        let template: Vec<u8> = (0..VXLAN4_ENCAP_LEN + 252).map(|i| i as u8 ^ 0x5a).collect();
        for m in (4..=252).step_by(4) {
            let n = VXLAN4_ENCAP_LEN + m;
            let mut outer = vec![0u8; n];
            copy_options(&mut outer, &template[..n]);
            assert_eq!(outer[VXLAN4_ENCAP_LEN..], template[VXLAN4_ENCAP_LEN..n], "{m} bytes of options");
            // Whatever reached into the fixed part is the template's own.
            let touched = outer[..VXLAN4_ENCAP_LEN].iter().zip(&template).filter(|(o, _)| **o != 0);
            assert!(touched.clone().all(|(o, t)| o == t), "{m} bytes of options");
        }
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
