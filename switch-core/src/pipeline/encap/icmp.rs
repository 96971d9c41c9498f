//! The ICMP errors the switch sends ([`error`]), and first among them path
//! MTU discovery across the overlay: an inner IPv4 packet with DF set
//! that the encapsulation would make too big for the underlay is answered
//! with an ICMP "fragmentation needed" (RFC 792 type 3 code 4) carrying the
//! MTU the overlay leaves it (RFC 1191), so the sender lowers its path MTU.
//! Overlays never fragment.
//!
//! The answer comes from the packet's destination (its MAC and IP address),
//! as the Linux vxlan device does for bridged traffic: the switch has no
//! address of its own in the VLAN, and the sender takes the PMTU for the
//! path to that destination.

use std::net::Ipv4Addr;

use crate::types::MacAddr;
use crate::wire::icmpv4::{self, Icmpv4Packet};
use crate::wire::ipv4::{self, IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::{ethernet, EtherType, EthernetFrame};

/// Bytes of the offending packet an ICMP error quotes: its IP header and 8
/// bytes more (RFC 792).
const QUOTED_AFTER_HEADER: usize = 8;
/// The largest answer: Ethernet, IPv4, ICMP, a 60-byte quoted header and 8.
pub(super) const MAX_ANSWER: usize = ethernet::HEADER_LEN + ipv4::HEADER_LEN + icmpv4::HEADER_LEN + 60 + 8;

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
