//! The outer headers a tunnel pushes, built once per tunnel when the plan
//! is compiled: Ethernet (the VTEP's MAC, IPv4 or IPv6), IPv4 (DF, TTL,
//! UDP, the two addresses) or IPv6 (hop limit, UDP, the two addresses), UDP
//! (the destination port), then the VXLAN header (I flag, VNI) or the
//! Geneve header (version 0, the options' length and C bit, Ethernet
//! payload, VNI, and the VNI's options).
//!
//! The per-frame fields (next-hop MAC, TOS or traffic class and flow
//! label, lengths, checksums, source port) stay zero; `pipeline/encap`
//! patches them at fixed offsets, which are the same for both
//! encapsulations of one address family.

use std::net::{IpAddr, Ipv4Addr};

use super::plan::VtepPlan;
use super::spec::{Encap, GeneveOptionSpec};
use crate::wire::geneve::{self, GeneveOption, GenevePacket, PROTOCOL_ETHERNET, TYPE_CRITICAL};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::udp::UdpPacket;
use crate::wire::vxlan::{self, VxlanPacket, FLAG_I};
use crate::wire::{checksum, EtherType, EthernetFrame};

/// Offsets of the headers in an IPv4 template.
pub mod offset {
    /// The outer IPv4 header.
    pub const IP: usize = 14;
    /// The outer UDP header.
    pub const UDP: usize = 34;
    /// The tunnel header (VXLAN or Geneve).
    pub const TUNNEL: usize = 42;
}

/// Offsets of the headers in an IPv6 template.
pub mod offset6 {
    /// The outer IPv6 header.
    pub const IP: usize = 14;
    /// The outer UDP header.
    pub const UDP: usize = 54;
    /// The tunnel header (VXLAN or Geneve).
    pub const TUNNEL: usize = 62;
}

/// Bytes VXLAN over IPv4 puts in front of the inner frame: Ethernet 14, IPv4
/// 20, UDP 8, VXLAN 8.
pub const VXLAN4_ENCAP_LEN: usize = offset::TUNNEL + vxlan::HEADER_LEN;
/// Bytes VXLAN over IPv6 puts in front of the inner frame: Ethernet 14, IPv6
/// 40, UDP 8, VXLAN 8.
pub const VXLAN6_ENCAP_LEN: usize = offset6::TUNNEL + vxlan::HEADER_LEN;
/// The longest template: Geneve over IPv6 with the most options.
pub const MAX_ENCAP_LEN: usize = offset6::TUNNEL + geneve::HEADER_LEN + geneve::MAX_OPTIONS_LEN;

/// Bytes IP-in-IP over IPv4 puts in front of the inner IP packet (which
/// loses its Ethernet header): Ethernet 14, IPv4 20.
pub const IPIP_ENCAP_LEN: usize = offset::UDP;

/// The outer headers of an IP-in-IP route from `vtep` to `via` (RFC 2003):
/// Ethernet (the VTEP's MAC), IPv4 protocol 4 with the VTEP's TTL; the
/// next-hop MAC, TOS, DF, length and checksum are per frame. Returns them
/// and the sum of the IPv4 header.
pub(crate) fn ipip(vtep: &VtepPlan, local: Ipv4Addr, via: Ipv4Addr) -> ([u8; IPIP_ENCAP_LEN], u32) {
    let mut t = [0u8; IPIP_ENCAP_LEN];
    let mut eth = EthernetFrame::new_unchecked(&mut t[..offset::IP]);
    eth.set_src_addr(vtep.mac);
    eth.set_ethertype(EtherType::IPV4);
    let mut ip = Ipv4Packet::new_unchecked(&mut t[offset::IP..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_ttl(vtep.ttl);
    ip.set_protocol(IpProtocol::IPIP);
    ip.set_src_addr(local);
    ip.set_dst_addr(via);
    let sum = checksum::sum(&t[offset::IP..]);
    (t, sum)
}

/// The outer headers of a tunnel from `vtep` to `remote` (of the VTEP's
/// family) for `vni`, with the per-frame fields zero, and the constant sum
/// [`super::TunnelPlan::ip_sum`] describes; `None` when `remote` is of the
/// other family.
pub(crate) fn build(
    vtep: &VtepPlan,
    remote: IpAddr,
    vni: u32,
    encap: Encap,
    options: &[GeneveOptionSpec],
) -> Option<(Vec<u8>, u32)> {
    let tunnel_len = match encap {
        Encap::Vxlan => vxlan::HEADER_LEN,
        Encap::Geneve => geneve::HEADER_LEN + options_len(options),
    };
    let (udp_at, tunnel_at) = match remote {
        IpAddr::V4(_) => (offset::UDP, offset::TUNNEL),
        IpAddr::V6(_) => (offset6::UDP, offset6::TUNNEL),
    };
    let mut t = vec![0u8; tunnel_at + tunnel_len];
    let mut eth = EthernetFrame::new_unchecked(&mut t[..offset::IP]);
    eth.set_src_addr(vtep.mac);
    let port = match encap {
        Encap::Vxlan => vtep.udp_port,
        Encap::Geneve => vtep.geneve_port,
    };
    UdpPacket::new_unchecked(&mut t[udp_at..tunnel_at]).set_dst_port(port);
    let header = &mut t[tunnel_at..];
    match encap {
        Encap::Vxlan => {
            let mut vx = VxlanPacket::new_unchecked(header);
            vx.set_flags(FLAG_I);
            vx.set_vni(vni);
        }
        Encap::Geneve => write_geneve(header, vni, options),
    }
    let sum = match (vtep.address, remote) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            EthernetFrame::new_unchecked(&mut t[..offset::IP]).set_ethertype(EtherType::IPV6);
            let mut ip = Ipv6Packet::new_unchecked(&mut t[offset6::IP..offset6::UDP]);
            ip.set_version(6);
            ip.set_next_header(IpProtocol::UDP);
            ip.set_hop_limit(vtep.ttl);
            ip.set_src_addr(src);
            ip.set_dst_addr(dst);
            // The UDP checksum's constant part: the pseudo header without
            // its length, and the UDP and tunnel headers as templated.
            let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::UDP, 0);
            checksum::combine(pseudo, checksum::sum(&t[offset6::UDP..]))
        }
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            EthernetFrame::new_unchecked(&mut t[..offset::IP]).set_ethertype(EtherType::IPV4);
            let mut ip = Ipv4Packet::new_unchecked(&mut t[offset::IP..offset::UDP]);
            ip.set_version(4);
            ip.set_header_len(20);
            ip.set_dont_frag(true);
            ip.set_ttl(vtep.ttl);
            ip.set_protocol(IpProtocol::UDP);
            ip.set_src_addr(src);
            ip.set_dst_addr(dst);
            checksum::sum(&t[offset::IP..offset::UDP])
        }
        _ => return None,
    };
    Some((t, sum))
}

/// Bytes the options take on the wire.
pub(crate) fn options_len(options: &[GeneveOptionSpec]) -> usize {
    options.iter().map(|o| geneve::OPTION_HEADER_LEN + o.data.len()).sum()
}

/// A Geneve header with `options` into `h` (exactly the header's length).
fn write_geneve(h: &mut [u8], vni: u32, options: &[GeneveOptionSpec]) {
    let mut g = GenevePacket::new_unchecked(&mut *h);
    g.set_version(0);
    g.set_opt_len((options_len(options) / 4) as u8);
    g.set_critical(options.iter().any(|o| o.option_type & TYPE_CRITICAL != 0));
    g.set_protocol_type(PROTOCOL_ETHERNET);
    g.set_vni(vni);
    let mut at = geneve::HEADER_LEN;
    for o in options {
        let len = geneve::OPTION_HEADER_LEN + o.data.len();
        let mut opt = GeneveOption::new_unchecked(&mut h[at..at + len]);
        opt.set_class(o.class);
        opt.set_option_type(o.option_type);
        opt.set_length((o.data.len() / 4) as u8);
        opt.data_mut().copy_from_slice(&o.data);
        at += len;
    }
}
