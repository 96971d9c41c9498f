//! The ICMP errors the switch sends ([`error`]), and first among them path
//! MTU discovery across the overlay: an inner IPv4 packet with DF set
//! that the encapsulation would make too big for the underlay is answered
//! with an ICMP "fragmentation needed" (RFC 792 type 3 code 4) carrying the
//! MTU the overlay leaves it (RFC 1191), so the sender lowers its path MTU.
//! Overlays never fragment. An inner IPv6 packet (which routers never
//! fragment) that does not fit gets an ICMPv6 "packet too big" (RFC 4443
//! section 3.2, RFC 8201) the same way.
//!
//! The answer comes from the packet's destination (its MAC and IP address),
//! as the Linux vxlan device does for bridged traffic: the switch has no
//! address of its own in the VLAN, and the sender takes the PMTU for the
//! path to that destination.

use std::net::Ipv4Addr;

use crate::types::MacAddr;
use crate::wire::icmpv4::{self, Icmpv4Packet};
use crate::wire::icmpv6;
use crate::wire::ipv4::{self, IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::wire::{ethernet, EtherType, EthernetFrame};

/// Bytes of the offending packet an ICMP error quotes: its IP header and 8
/// bytes more (RFC 792).
const QUOTED_AFTER_HEADER: usize = 8;
/// The largest answer: an ICMPv6 error fills IPv6's minimum MTU (RFC 4443
/// section 2.4 (c)); an ICMPv4 one is smaller (IPv4, ICMP, a 60-byte quoted
/// header and 8).
pub(super) const MAX_ANSWER: usize = ethernet::HEADER_LEN + 1280;

/// Writes into `out` the answer to the untagged inner frame `inner` that
/// does not fit an overlay carrying IP packets of at most `mtu` bytes:
/// [`frag_needed`] for IPv4, [`packet_too_big`] for IPv6. `None` when no
/// answer is due.
pub(super) fn too_big(inner: &[u8], mtu: u16, out: &mut [u8]) -> Option<usize> {
    match EthernetFrame::new_checked(inner).ok()?.ethertype() {
        EtherType::IPV4 => frag_needed(inner, mtu, out),
        EtherType::IPV6 => packet_too_big(inner, mtu, out),
        _ => None,
    }
}

/// Writes into `out` the ICMPv6 "packet too big" answer, announcing `mtu`,
/// from the destination (MAC and address) of the IPv6 packet in the
/// untagged `inner` to its sender, quoting as much of it as fits in 1280
/// bytes. `None` when the packet fits, or is one no error is sent about
/// (RFC 4443 section 2.4 (e): link-layer group frames, a multicast,
/// unspecified or loopback source or destination, or an ICMPv6 error).
pub(super) fn packet_too_big(inner: &[u8], mtu: u16, out: &mut [u8]) -> Option<usize> {
    let eth = EthernetFrame::new_checked(inner).ok()?;
    let group = |m: MacAddr| m.is_multicast() || m.is_zero();
    if eth.ethertype() != EtherType::IPV6 || group(eth.dst_addr()) || group(eth.src_addr()) {
        return None;
    }
    let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let one_host = |a: std::net::Ipv6Addr| !(a.is_multicast() || a.is_unspecified() || a.is_loopback());
    let packet_len = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    if packet_len <= usize::from(mtu) || !one_host(src) || !one_host(dst) {
        return None;
    }
    // ICMPv6 errors have types below 128 (RFC 4443 section 2.1).
    if ip.next_header() == IpProtocol::ICMPV6 && ip.payload().first().is_none_or(|&t| t < 128) {
        return None;
    }
    let quoted = &eth.payload()[..packet_len.min(eth.payload().len())];
    let at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    let room = out.len().min(MAX_ANSWER);
    let icmp_len = icmpv6::emit_packet_too_big(&mut out[at..room], dst, src, u32::from(mtu), quoted);
    let mut e = EthernetFrame::new_unchecked(&mut out[..ethernet::HEADER_LEN]);
    e.set_dst_addr(eth.src_addr());
    e.set_src_addr(eth.dst_addr());
    e.set_ethertype(EtherType::IPV6);
    let repr = Ipv6Repr {
        src_addr: dst,
        dst_addr: src,
        next_header: IpProtocol::ICMPV6,
        payload_len: icmp_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[ethernet::HEADER_LEN..at]));
    Some(at + icmp_len)
}

/// Writes into `out` the "fragmentation needed" answer to the untagged
/// inner frame `inner`, for an overlay that carries IP packets of at most
/// `mtu` bytes, from the packet's destination. Returns its length, or
/// `None` when no answer is due (see [`error`]; and DF must be set).
pub(super) fn frag_needed(inner: &[u8], mtu: u16, out: &mut [u8]) -> Option<usize> {
    let eth = EthernetFrame::new_checked(inner).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    // Only a unicast packet that is itself too big (not a small one in a
    // padded frame) gets an answer, from the one host it was for.
    let d = ip.dst_addr();
    let unicast = !(d.is_multicast() || d.is_broadcast() || d.is_unspecified() || d.is_loopback());
    if !ip.dont_frag() || !unicast || ip.total_len() <= mtu {
        return None;
    }
    let [hi, lo] = mtu.to_be_bytes();
    let rest = [0, 0, hi, lo];
    error(inner, eth.dst_addr(), ip.dst_addr(), icmpv4::DEST_UNREACHABLE, icmpv4::CODE_FRAG_NEEDED, rest, out)
}

/// Writes into `out` an ICMP error `kind`/`code` (with `rest` in the four
/// bytes after the checksum) from (`mac`, `ip`) to the sender of the IPv4
/// packet in the untagged `frame`, quoting its header and 8 bytes. Returns
/// its length, or `None` for packets no error is sent about (RFC 1122
/// section 3.2.2, RFC 1812 4.3.2.7: not IPv4, malformed or with a bad
/// header checksum, fragments past the first, link-layer broadcasts or
/// multicasts, from a group, broadcast or unspecified address, or ICMP
/// errors themselves).
pub(super) fn error(
    frame: &[u8],
    mac: MacAddr,
    ip: Ipv4Addr,
    kind: u8,
    code: u8,
    rest: [u8; 4],
    out: &mut [u8],
) -> Option<usize> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    // Never about a link-layer broadcast or multicast (RFC 1812 4.3.2.7),
    // nor from a group source MAC.
    let group = |m: MacAddr| m.is_multicast() || m.is_zero();
    if eth.ethertype() != EtherType::IPV4 || group(eth.dst_addr()) || group(eth.src_addr()) {
        return None;
    }
    let p = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let src = p.src_addr();
    let one_host = !(src.is_multicast() || src.is_broadcast() || src.is_unspecified() || src.is_loopback());
    if !p.verify_checksum() || p.frag_offset() != 0 || !one_host {
        return None;
    }
    if p.protocol() == IpProtocol::ICMP
        && !matches!(p.payload().first(), Some(&(icmpv4::ECHO_REQUEST | icmpv4::ECHO_REPLY)))
    {
        return None;
    }
    let quoted = &eth.payload()[..(p.header_len() + QUOTED_AFTER_HEADER).min(usize::from(p.total_len()))];
    let icmp_len = icmpv4::HEADER_LEN + quoted.len();
    let len = ethernet::HEADER_LEN + ipv4::HEADER_LEN + icmp_len;
    let out = out.get_mut(..len)?;
    out.fill(0);
    let mut e = EthernetFrame::new_unchecked(&mut *out);
    e.set_dst_addr(eth.src_addr());
    e.set_src_addr(mac);
    e.set_ethertype(EtherType::IPV4);
    let repr = Ipv4Repr {
        src_addr: ip,
        dst_addr: p.src_addr(),
        protocol: IpProtocol::ICMP,
        payload_len: icmp_len,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: false,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[ethernet::HEADER_LEN..]));
    let at = ethernet::HEADER_LEN + ipv4::HEADER_LEN;
    out[at + icmpv4::HEADER_LEN..].copy_from_slice(quoted);
    let mut icmp = Icmpv4Packet::new_unchecked(&mut out[at..]);
    icmp.set_msg_type(kind);
    icmp.set_code(code);
    icmp.set_rest_of_header(rest);
    icmp.fill_checksum();
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(df: bool, protocol: u8, first: u8) -> Vec<u8> {
        let mut f = vec![0u8; 1514];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&EtherType::IPV4.to_be_bytes());
        let repr = Ipv4Repr {
            src_addr: [10, 0, 0, 1].into(),
            dst_addr: [10, 0, 0, 2].into(),
            protocol,
            payload_len: 1480,
            ttl: 64,
            tos: 0,
            ident: 9,
            dont_frag: df,
        };
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]));
        f[34] = first;
        f
    }

    #[test]
    fn answers_df_packets_with_the_overlay_mtu() {
        let big = packet(true, IpProtocol::UDP, 0x55);
        let mut out = [0u8; MAX_ANSWER];
        let n = frag_needed(&big, 1450, &mut out).unwrap();
        let eth = EthernetFrame::new_checked(&out[..n]).unwrap();
        assert_eq!((eth.dst_addr().0, eth.src_addr().0), ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]));
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr()), ([10, 0, 0, 2].into(), [10, 0, 0, 1].into()));
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum());
        assert_eq!((icmp.msg_type(), icmp.code(), icmp.rest_of_header()), (3, 4, [0, 0, 0x05, 0xaa]));
        assert_eq!(&ip.payload()[8..], &big[14..14 + 28], "the IP header and 8 bytes are quoted");
    }

    /// An untagged 1514-byte frame with an IPv6 packet, next header
    /// `next`, first payload byte `first`.
    fn packet6(next: u8, first: u8) -> Vec<u8> {
        let mut f = vec![0u8; 1514];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&EtherType::IPV6.to_be_bytes());
        let repr = Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: next,
            payload_len: 1460,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 7,
        };
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut f[14..]));
        f[54] = first;
        f
    }

    #[test]
    fn answers_big_ipv6_packets_with_packet_too_big() {
        let big = packet6(IpProtocol::UDP, 0x55);
        let mut out = [0u8; MAX_ANSWER];
        let n = too_big(&big, 1430, &mut out).unwrap();
        assert_eq!(n, 14 + 1280, "the answer fills the minimum MTU");
        // A second implementation reads it back, checksum included.
        let p = etherparse::SlicedPacket::from_ethernet(&out[..n]).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &p.net else { panic!("not IPv6") };
        let h = ip.header();
        assert_eq!(
            (h.source_addr().to_string(), h.destination_addr().to_string()),
            ("2001:db8::2".into(), "2001:db8::1".into())
        );
        let Some(etherparse::TransportSlice::Icmpv6(icmp)) = &p.transport else { panic!("not ICMPv6") };
        assert_eq!(icmp.icmp_type(), etherparse::Icmpv6Type::PacketTooBig { mtu: 1430 });
        let header = ip.header().to_header();
        let want = icmp.icmp_type().calc_checksum(header.source, header.destination, icmp.payload()).unwrap();
        assert_eq!(icmp.checksum(), want);
        assert_eq!(icmp.payload(), &big[14..14 + 1280 - 48], "the packet is quoted from its header on");
        let eth = EthernetFrame::new_checked(&out[..n]).unwrap();
        assert_eq!((eth.dst_addr().0, eth.src_addr().0), ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]));
    }

    #[test]
    fn no_packet_too_big_about_what_fits_or_errors() {
        let mut out = [0u8; MAX_ANSWER];
        assert_eq!(too_big(&packet6(IpProtocol::UDP, 0), 1500, &mut out), None, "the packet fits");
        assert_eq!(too_big(&packet6(IpProtocol::ICMPV6, 1), 1430, &mut out), None, "an ICMPv6 error");
        assert!(too_big(&packet6(IpProtocol::ICMPV6, 128), 1430, &mut out).is_some(), "an echo request");
        let mut group = packet6(IpProtocol::UDP, 0);
        group[38] = 0xff;
        assert_eq!(too_big(&group, 1430, &mut out), None, "a multicast destination");
        let mut bcast = packet6(IpProtocol::UDP, 0);
        bcast[..6].fill(0xff);
        assert_eq!(too_big(&bcast, 1430, &mut out), None, "a link-layer broadcast");
        assert_eq!(too_big(&packet6(IpProtocol::UDP, 0)[..40], 1430, &mut out), None, "truncated");
    }

    #[test]
    fn no_answer_without_df_or_to_icmp_errors() {
        let mut out = [0u8; MAX_ANSWER];
        assert_eq!(frag_needed(&packet(false, IpProtocol::UDP, 0), 1450, &mut out), None);
        assert_eq!(frag_needed(&packet(true, IpProtocol::ICMP, 3), 1450, &mut out), None);
        assert!(frag_needed(&packet(true, IpProtocol::ICMP, icmpv4::ECHO_REQUEST), 1450, &mut out).is_some());
        let mut bcast = packet(true, IpProtocol::UDP, 0);
        bcast[..6].fill(0xff);
        assert_eq!(frag_needed(&bcast, 1450, &mut out), None, "no answer to a link-layer broadcast");
        assert_eq!(frag_needed(&packet(true, IpProtocol::UDP, 0), 1500, &mut out), None, "the packet fits");
        let mut arp = packet(true, IpProtocol::UDP, 0);
        arp[12..14].copy_from_slice(&EtherType::ARP.to_be_bytes());
        assert_eq!(frag_needed(&arp, 1450, &mut out), None);
    }
}
