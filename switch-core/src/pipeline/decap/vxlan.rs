//! VXLAN decapsulation (RFC 7348), after the outer IPv4 header passed
//! [`super::ipv4`]'s checks: the UDP port and checksum, the I flag, the VNI,
//! the source-VTEP allowlist, the inner frame's length, and the RFC 6040
//! ECN rules.

use super::Inner;
use crate::overlay::{OverlayPlan, VtepPlan};
use crate::pipeline::DropReason;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::udp::{self, UdpPacket};
use crate::wire::vxlan::{self, VxlanPacket};
use crate::wire::{ethernet, EtherType, Ipv6Packet};

/// ECN codepoint "congestion experienced".
const ECN_CE: u8 = 0b11;

/// Checks the UDP and VXLAN headers of the IPv4 packet in `frame` (an
/// Ethernet frame whose IPv4 header is valid and for `vtep`), applies the
/// outer ECN to the inner packet, and says where the inner frame is.
pub(super) fn decap(ov: &OverlayPlan, vtep_i: u16, vtep: &VtepPlan, frame: &mut [u8]) -> Result<Inner, DropReason> {
    let ip = Ipv4Packet::new_unchecked(&frame[ethernet::HEADER_LEN..]);
    let (src, dst, ecn, ip_len) = (ip.src_addr(), ip.dst_addr(), ip.ecn(), ip.header_len());
    let udp = UdpPacket::new_checked(ip.payload()).map_err(|_| DropReason::DecapTruncated)?;
    if udp.dst_port() != vtep.udp_port {
        return Err(DropReason::UnderlayUnsupported);
    }
    if vtep.verify_udp_checksum && !udp.verify_checksum_v4(src, dst) {
        return Err(DropReason::DecapBadUdpChecksum);
    }
    let vx = match VxlanPacket::new_checked(udp.payload()) {
        Ok(vx) => vx,
        Err(crate::wire::Error::Truncated { .. }) => return Err(DropReason::DecapTruncated),
        Err(_) => return Err(DropReason::VxlanNoIFlag),
    };
    let (vni_i, _) = ov.vni(vtep_i, vx.vni()).ok_or(DropReason::VxlanUnknownVni)?;
    let port = ov.source(vni_i, src).ok_or(DropReason::VxlanSourceNotAllowed)?;
    let inner_len = vx.payload().len();
    if inner_len < ethernet::HEADER_LEN {
        return Err(DropReason::DecapInnerTruncated);
    }
    let offset = ethernet::HEADER_LEN + ip_len + udp::HEADER_LEN + vxlan::HEADER_LEN;
    if ecn == ECN_CE {
        mark_ce(&mut frame[offset..offset + inner_len])?;
    }
    Ok(Inner { offset: offset as u16, len: inner_len as u16, port })
}

/// RFC 6040 section 4.2, for an outer CE: an ECN-capable inner IP packet is
/// marked CE too, a not-ECT one is dropped (the congestion signal cannot be
/// passed on), and a non-IP inner frame is left alone.
fn mark_ce(inner: &mut [u8]) -> Result<(), DropReason> {
    let ethertype = u16::from_be_bytes([inner[12], inner[13]]);
    let l3 = &mut inner[ethernet::HEADER_LEN..];
    match ethertype {
        EtherType::IPV4 => {
            let Ok(mut ip) = Ipv4Packet::new_checked(l3) else { return Ok(()) };
            match ip.ecn() {
                0 => Err(DropReason::DecapEcnCeNotEct),
                ECN_CE => Ok(()),
                _ => {
                    ip.set_ecn(ECN_CE);
                    ip.fill_checksum();
                    Ok(())
                }
            }
        }
        EtherType::IPV6 => {
            let Ok(mut ip) = Ipv6Packet::new_checked(l3) else { return Ok(()) };
            let tc = ip.traffic_class();
            match tc & ECN_CE {
                0 => Err(DropReason::DecapEcnCeNotEct),
                _ => {
                    ip.set_traffic_class(tc | ECN_CE);
                    Ok(())
                }
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_inner(ecn: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20];
        f[12..14].copy_from_slice(&EtherType::IPV4.to_be_bytes());
        let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_total_len(20);
        ip.set_ecn(ecn);
        ip.fill_checksum();
        f
    }

    #[test]
    fn ce_marks_ect_drops_not_ect_and_keeps_checksums() {
        for ecn in [1, 2, 3] {
            let mut f = ipv4_inner(ecn);
            mark_ce(&mut f).unwrap();
            let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
            assert_eq!(ip.ecn(), ECN_CE);
            assert!(ip.verify_checksum());
        }
        assert_eq!(mark_ce(&mut ipv4_inner(0)), Err(DropReason::DecapEcnCeNotEct));
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&EtherType::ARP.to_be_bytes());
        assert_eq!(mark_ce(&mut arp), Ok(()));
    }
}
