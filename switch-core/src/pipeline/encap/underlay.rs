//! Frames a VTEP itself sends on its underlay: requests that resolve its
//! next hops (ARP, or IPv6 neighbour solicitations) and reports that join
//! its multicast groups (IGMPv3, or MLDv2 over IPv6). Each writer fills a
//! fresh buffer of its frame's length.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::types::MacAddr;
use crate::wire::arp::{self, ArpOperation, ArpRepr};
use crate::wire::ipv4::IpProtocol;
use crate::wire::ipv6::{self, Ipv6Packet};
use crate::wire::{ethernet, icmpv6, mld, ArpPacket, EtherType, EthernetFrame};

/// Bytes of an ARP request on the wire (the Ethernet minimum, padding
/// included).
pub(super) const ARP_FRAME_LEN: usize = 60;

/// Bytes of an IGMP report on the wire: Ethernet, IPv4 with the Router
/// Alert option (24), the report (16); 54, padded to the Ethernet minimum.
pub(super) const IGMP_FRAME_LEN: usize = 60;

/// An IGMPv3 report from `ip` at `mac` joining `group`, to 224.0.0.22 with
/// TTL 1 and the Router Alert option (RFC 3376 section 4), in `bytes`.
pub(super) fn igmp_join(bytes: &mut [u8], mac: MacAddr, ip: Ipv4Addr, group: Ipv4Addr) {
    use crate::wire::igmp;
    use crate::wire::ipv4::Ipv4Packet;
    bytes.fill(0);
    let mut eth = EthernetFrame::new_unchecked(&mut *bytes);
    eth.set_dst_addr(crate::overlay::plan::multicast_mac(igmp::ALL_V3_ROUTERS.into()));
    eth.set_src_addr(mac);
    eth.set_ethertype(EtherType::IPV4);
    let ip_len = 24 + igmp::JOIN_LEN;
    let mut p = Ipv4Packet::new_unchecked(&mut bytes[ethernet::HEADER_LEN..ethernet::HEADER_LEN + ip_len]);
    p.set_version(4);
    p.set_header_len(24);
    p.set_tos(0xc0);
    p.set_total_len(ip_len as u16);
    p.set_ttl(1);
    p.set_protocol(IpProtocol::IGMP);
    p.set_src_addr(ip);
    p.set_dst_addr(igmp::ALL_V3_ROUTERS);
    // Router Alert (RFC 2113): routers look at the packet though it is not
    // for them.
    p.options_mut().copy_from_slice(&[0x94, 0x04, 0, 0]);
    p.fill_checksum();
    igmp::emit_join(p.payload_mut(), group);
}

/// An Ethernet broadcast "who has `target`? tell `ip` at `mac`" in `bytes`
/// (at least [`ARP_FRAME_LEN`] long; the padding is zeroed).
pub(super) fn arp_request(bytes: &mut [u8], mac: MacAddr, ip: Ipv4Addr, target: Ipv4Addr) {
    bytes.fill(0);
    let mut eth = EthernetFrame::new_unchecked(&mut *bytes);
    eth.set_dst_addr(MacAddr::BROADCAST);
    eth.set_src_addr(mac);
    eth.set_ethertype(EtherType::ARP);
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: mac,
        sender_protocol_addr: ip,
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: target,
    };
    let end = ethernet::HEADER_LEN + arp::HEADER_LEN;
    repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[ethernet::HEADER_LEN..end]));
}

/// Bytes of a neighbour solicitation with the source link-layer option:
/// Ethernet, IPv6, the ICMPv6 message (24) and the option (8).
pub(super) const NS_FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + 32;

/// A neighbour solicitation from `ip` at `mac` for `target`, to its
/// solicited-node group with hop limit 255 (RFC 4861 section 7.2.2), in
/// `bytes`.
pub(super) fn neighbor_solicit(bytes: &mut [u8], mac: MacAddr, ip: Ipv6Addr, target: Ipv6Addr) {
    let group = icmpv6::solicited_node(target);
    let body_at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    let n = icmpv6::emit_neighbor_solicit(&mut bytes[body_at..], ip, group, target, mac);
    write_ipv6(bytes, mac, icmpv6::multicast_mac(group), ip, group, IpProtocol::ICMPV6, icmpv6::NDP_HOP_LIMIT, n);
}

/// Bytes of an MLDv2 report: Ethernet, IPv6, the hop-by-hop header with
/// Router Alert (8), and the report.
pub(super) const MLD_FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + 8 + mld::JOIN_LEN;

/// An MLDv2 report from the link-local address of `mac` joining `group`,
/// to all MLDv2 routers with hop limit 1 and the Router Alert option (RFC
/// 3810 section 5), in `bytes`.
pub(super) fn mld_join(bytes: &mut [u8], mac: MacAddr, group: Ipv6Addr) {
    let src = icmpv6::link_local_from_mac(mac);
    let hbh_at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    bytes[hbh_at..hbh_at + 8].copy_from_slice(&mld::HOP_BY_HOP_ROUTER_ALERT);
    let n = mld::emit_join(&mut bytes[hbh_at + 8..], src, group);
    let dst = mld::ALL_MLDV2_ROUTERS;
    write_ipv6(bytes, mac, icmpv6::multicast_mac(dst), src, dst, IpProtocol::HOPOPT, 1, 8 + n);
}

/// The Ethernet and IPv6 headers in front of a payload of `len` bytes.
#[allow(clippy::too_many_arguments)]
fn write_ipv6(
    bytes: &mut [u8],
    mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    hop_limit: u8,
    len: usize,
) {
    let mut eth = EthernetFrame::new_unchecked(&mut *bytes);
    eth.set_dst_addr(dst_mac);
    eth.set_src_addr(mac);
    eth.set_ethertype(EtherType::IPV6);
    let mut ip = Ipv6Packet::new_unchecked(&mut bytes[ethernet::HEADER_LEN..ethernet::HEADER_LEN + ipv6::HEADER_LEN]);
    ip.set_version(6);
    ip.set_traffic_class(0);
    ip.set_flow_label(0);
    ip.set_payload_len(len as u16);
    ip.set_next_header(next);
    ip.set_hop_limit(hop_limit);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
}
