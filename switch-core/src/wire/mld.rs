//! MLDv2 multicast listener reports (RFC 3810 section 5.2), the IPv6
//! analogue of [`super::igmp`]: what a VTEP sends to join the IPv6
//! multicast groups its VNIs flood to, so that MLD-snooping switches and
//! multicast routers on the underlay deliver them to it.
//!
//! ```text
//! |  Type = 143   |    Reserved   |           Checksum            |
//! |           Reserved            |  Nr of Mcast Address Records  |
//! |  Record Type  |  Aux Data Len |     Number of Sources (N)     |
//! |                                                               |
//! |                 Multicast Address (16 bytes)                  |
//! |                                                               |
//! ```
//!
//! RFC 3810 section 5 wants every MLD message sent from a link-local
//! source with hop limit 1 ([`HOP_LIMIT`]) and a hop-by-hop Router Alert
//! ([`HOP_BY_HOP_ROUTER_ALERT`]), so routers look at it though it is not
//! addressed to them.

use std::net::Ipv6Addr;

use super::icmpv6::{self, Icmpv6Packet};
use super::ipv4::IpProtocol;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const RECORDS: Range<usize> = 6..8;
    pub const RECORD_TYPE: usize = 8;
    pub const GROUP: Range<usize> = 12..28;
}

/// A version 2 multicast listener report.
pub const TYPE_V2_REPORT: u8 = icmpv6::MLD_V2_REPORT;
/// A record "change to exclude mode" with no sources: a join of the whole
/// group (RFC 3810 section 5.2.12).
pub const CHANGE_TO_EXCLUDE: u8 = 4;
/// Bytes of a report with one record and no sources.
pub const JOIN_LEN: usize = field::GROUP.end;
/// Where reports go: all MLDv2-capable routers (ff02::16).
pub const ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
/// The hop limit of every MLD message (RFC 3810 section 5), which keeps it
/// on the link.
pub const HOP_LIMIT: u8 = 1;

/// A hop-by-hop options header to put between the IPv6 header (next header
/// [`IpProtocol::HOPOPT`]) and a report: next header ICMPv6, length 0 (8
/// bytes), a Router Alert option (type 5, length 2) with value 0 for MLD
/// (RFC 2711), and a PadN option of length 0 to fill the 8 bytes.
pub const HOP_BY_HOP_ROUTER_ALERT: [u8; 8] = [IpProtocol::ICMPV6, 0, 5, 2, 0, 0, 1, 0];

/// Writes into `buf` (at least [`JOIN_LEN`] bytes; panics otherwise) a
/// report from `src` joining `group`, checksum included over the pseudo
/// header to [`ALL_MLDV2_ROUTERS`]. Returns [`JOIN_LEN`].
pub fn emit_join(buf: &mut [u8], src: Ipv6Addr, group: Ipv6Addr) -> usize {
    let b = &mut buf[..JOIN_LEN];
    b.fill(0);
    b[field::TYPE] = TYPE_V2_REPORT;
    b[field::RECORDS].copy_from_slice(&1u16.to_be_bytes());
    b[field::RECORD_TYPE] = CHANGE_TO_EXCLUDE;
    b[field::GROUP].copy_from_slice(&group.octets());
    Icmpv6Packet::new_unchecked(b).fill_checksum(src, ALL_MLDV2_ROUTERS);
    JOIN_LEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv6Slice, Icmpv6Type, Ipv6RawExtHeader};
    use proptest::prelude::*;

    #[test]
    fn a_join_is_a_valid_report_for_its_group() {
        let src: Ipv6Addr = "fe80::ff:fe00:1".parse().unwrap();
        let group: Ipv6Addr = "ff0e::1:2".parse().unwrap();
        let mut b = [0xffu8; 32];
        assert_eq!(emit_join(&mut b, src, group), JOIN_LEN);
        let mut want = vec![143, 0, b[2], b[3], 0, 0, 0, 1, 4, 0, 0, 0];
        want.extend_from_slice(&group.octets());
        assert_eq!(&b[..JOIN_LEN], &want[..]);
        assert_eq!(&b[JOIN_LEN..], &[0xff; 4], "nothing written past the report");
        let p = Icmpv6Packet::new_checked(&b[..JOIN_LEN]).unwrap();
        assert!(p.verify_checksum(src, ALL_MLDV2_ROUTERS));
        assert!(!p.verify_checksum(src, icmpv6::ALL_NODES), "the pseudo header is the routers' address");
    }

    #[test]
    fn router_alert_header_reads_back_with_etherparse() {
        let (h, rest) = Ipv6RawExtHeader::from_slice(&HOP_BY_HOP_ROUTER_ALERT).unwrap();
        assert!(rest.is_empty());
        assert_eq!(h.next_header.0, IpProtocol::ICMPV6);
        assert_eq!(h.header_len(), 8);
        // Router Alert, 2 bytes, MLD; then PadN with no padding bytes.
        assert_eq!(h.payload(), &[5, 2, 0, 0, 1, 0]);
    }

    proptest! {
        #[test]
        fn join_checksum_agrees_with_etherparse(src in any::<[u8; 16]>(), group in any::<[u8; 16]>()) {
            let mut b = [0u8; JOIN_LEN];
            emit_join(&mut b, Ipv6Addr::from(src), Ipv6Addr::from(group));
            let dst = ALL_MLDV2_ROUTERS.octets();
            prop_assert!(Icmpv6Slice::from_slice(&b).unwrap().is_checksum_valid(src, dst));
            let t = Icmpv6Type::Unknown { type_u8: 143, code_u8: 0, bytes5to8: [0, 0, 0, 1] };
            let want = t.calc_checksum(src, dst, &b[8..]).unwrap();
            prop_assert_eq!(u16::from_be_bytes([b[2], b[3]]), want);
            prop_assert_eq!(&b[12..], &group[..]);
        }
    }
}
