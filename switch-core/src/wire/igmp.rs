//! IGMPv3 membership reports (RFC 3376 section 4.2): what a VTEP sends to
//! join the multicast groups its VNIs flood to, so that IGMP-snooping
//! switches and multicast routers on the underlay deliver them to it.
//!
//! ```text
//! |  Type = 0x22  |    Reserved   |           Checksum            |
//! |           Reserved            |  Number of Group Records (M)  |
//! |  Record Type  |  Aux Data Len |     Number of Sources (N)     |
//! |                       Multicast Address                       |
//! ```

use std::net::Ipv4Addr;

use super::checksum;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const RECORDS: Range<usize> = 6..8;
    pub const RECORD_TYPE: usize = 8;
    pub const GROUP: Range<usize> = 12..16;
}

/// A version 3 membership report.
pub const TYPE_V3_REPORT: u8 = 0x22;
/// A group record "change to exclude mode" with no sources: a join of the
/// whole group (RFC 3376 section 4.2.12).
pub const CHANGE_TO_EXCLUDE: u8 = 4;
/// Bytes of a report with one group record and no sources.
pub const JOIN_LEN: usize = 16;
/// Where reports go: all IGMPv3-capable routers (224.0.0.22).
pub const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

/// Writes into `buf` (at least [`JOIN_LEN`] bytes; panics otherwise) a
/// report joining `group`, checksum included.
pub fn emit_join(buf: &mut [u8], group: Ipv4Addr) {
    let b = &mut buf[..JOIN_LEN];
    b.fill(0);
    b[field::TYPE] = TYPE_V3_REPORT;
    b[field::RECORDS].copy_from_slice(&1u16.to_be_bytes());
    b[field::RECORD_TYPE] = CHANGE_TO_EXCLUDE;
    b[field::GROUP].copy_from_slice(&group.octets());
    let c = checksum::checksum(b);
    b[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_is_a_valid_report_for_its_group() {
        let mut b = [0xffu8; 20];
        emit_join(&mut b, Ipv4Addr::new(239, 1, 1, 1));
        assert_eq!(&b[..JOIN_LEN], &[0x22, 0, b[2], b[3], 0, 0, 0, 1, 4, 0, 0, 0, 239, 1, 1, 1]);
        assert!(checksum::verifies(checksum::sum(&b[..JOIN_LEN])));
        assert_eq!(&b[JOIN_LEN..], &[0xff; 4], "nothing written past the report");
    }
}
