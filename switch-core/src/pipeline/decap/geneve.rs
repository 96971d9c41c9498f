//! The Geneve header (RFC 8926 section 3): version, options, OAM and
//! critical bits, protocol type, VNI.
//!
//! Every option is walked (its length must stay inside the options area,
//! which must stay inside the packet). xvs processes no option itself, so
//! any option marked critical drops the packet, as section 3.5 requires;
//! the others go into the frame's metadata ([`TunnelMeta`]), for flow
//! rules to match and `xvs trace` to show.

use crate::pipeline::meta::TunnelMeta;
use crate::pipeline::DropReason;
use crate::wire::geneve::{self, GenevePacket, PROTOCOL_ETHERNET};

/// The VNI of the Geneve header at the start of `udp_payload`, and the
/// header's length, options included.
pub(super) fn header(udp_payload: &[u8], meta: &mut TunnelMeta) -> Result<(u32, usize), DropReason> {
    if udp_payload.len() < geneve::HEADER_LEN {
        return Err(DropReason::DecapTruncated);
    }
    let g = GenevePacket::new_unchecked(udp_payload);
    if g.version() != 0 {
        return Err(DropReason::GeneveBadVersion);
    }
    if g.header_len() > udp_payload.len() {
        return Err(DropReason::GeneveOptionsTruncated);
    }
    meta.reset(g.vni());
    for o in g.options() {
        match o {
            Err(_) => return Err(DropReason::GeneveOptionsTruncated),
            Ok(o) if o.is_critical() => return Err(DropReason::GeneveUnknownCritical),
            Ok(o) => meta.push_option(&o),
        }
    }
    if g.oam() {
        return Err(DropReason::GeneveOam);
    }
    if g.protocol_type() != PROTOCOL_ETHERNET {
        return Err(DropReason::GeneveNotEthernet);
    }
    Ok((g.vni(), g.header_len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(p: &[u8]) -> Result<(u32, usize), DropReason> {
        super::header(p, &mut TunnelMeta::default())
    }
    use crate::wire::geneve::{GeneveOption, TYPE_CRITICAL};

    /// A Geneve header with options of `(type, data words)`, then 14 bytes
    /// of inner frame.
    fn packet(options: &[(u8, u8)]) -> Vec<u8> {
        let opt_len: usize = options.iter().map(|(_, w)| 4 + 4 * *w as usize).sum();
        let mut p = vec![0u8; 8 + opt_len + 14];
        let mut g = GenevePacket::new_unchecked(&mut p[..]);
        g.set_opt_len((opt_len / 4) as u8);
        g.set_protocol_type(PROTOCOL_ETHERNET);
        g.set_vni(0x1234);
        let mut at = 8;
        for (t, w) in options {
            let mut o = GeneveOption::new_unchecked(&mut p[at..at + 4 + 4 * *w as usize]);
            o.set_class(0x0102);
            o.set_option_type(*t);
            o.set_length(*w);
            at += 4 + 4 * *w as usize;
        }
        p
    }

    #[test]
    fn valid_headers_give_the_vni_and_length() {
        assert_eq!(header(&packet(&[])), Ok((0x1234, 8)));
        assert_eq!(header(&packet(&[(1, 1), (2, 0)])), Ok((0x1234, 8 + 8 + 4)));
    }

    #[test]
    fn each_bad_header_has_its_reason() {
        assert_eq!(header(&packet(&[])[..7]), Err(DropReason::DecapTruncated));
        let mut v1 = packet(&[]);
        v1[0] |= 0x40;
        assert_eq!(header(&v1), Err(DropReason::GeneveBadVersion));
        // Options announced past the packet.
        let mut long = packet(&[]);
        long[0] = 20;
        assert_eq!(header(&long), Err(DropReason::GeneveOptionsTruncated));
        // An option whose data runs past the options area.
        let mut tlv = packet(&[(1, 1)]);
        tlv[8 + 3] = 5;
        assert_eq!(header(&tlv), Err(DropReason::GeneveOptionsTruncated));
        // An options length set on an empty option list... is one empty
        // option header short: truncated too.
        let mut empty = packet(&[]);
        empty[0] = 1;
        empty.truncate(8 + 2);
        assert_eq!(header(&empty), Err(DropReason::GeneveOptionsTruncated));
        assert_eq!(header(&packet(&[(1, 0), (TYPE_CRITICAL | 3, 1)])), Err(DropReason::GeneveUnknownCritical));
        let mut oam = packet(&[]);
        oam[1] |= 0x80;
        assert_eq!(header(&oam), Err(DropReason::GeneveOam));
        let mut ip = packet(&[]);
        ip[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(header(&ip), Err(DropReason::GeneveNotEthernet));
    }
}
