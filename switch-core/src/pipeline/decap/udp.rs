//! UDP tunnels, after the outer IPv4 or IPv6 header passed
//! [`super::ipv4`]'s or [`super::ipv6`]'s checks: the destination port picks VXLAN or Geneve, the UDP checksum is
//! verified when configured, the tunnel header is checked ([`super::vxlan`],
//! [`super::geneve`]), then what both share: the VNI, the source-VTEP
//! allowlist, the inner frame's checks, and the RFC 6040 ECN rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Inner;
use crate::overlay::{Encap, InnerVlan, OverlayPlan, VtepPlan};
use crate::pipeline::DropReason;
use crate::types::{MacAddr, PortId};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::udp::{self, UdpPacket};
use crate::wire::{ethernet, EtherType, Ipv6Packet};

/// ECN codepoint "congestion experienced".
pub(super) const ECN_CE: u8 = 0b11;

/// What the outer IP header says about a UDP datagram.
pub(super) struct Outer<A> {
    /// Source address.
    pub src: A,
    /// Destination address: the VTEP's, or a group it joined.
    pub dst: A,
    /// The ECN field.
    pub ecn: u8,
    /// Where the IP payload (the UDP datagram) is in the frame; within it.
    pub l4: core::ops::Range<usize>,
}

/// The tunnel port the last packet of a batch was taken for, per family,
/// and what it was looked up by. The frames of a batch mostly come from a
/// few remotes, so one entry spares most of them the two hash lookups (VPP's
/// VXLAN input keeps the same one-entry cache).
#[derive(Default)]
pub(in crate::pipeline) struct LastTunnel {
    pub(super) v4: Option<(TunnelKey<Ipv4Addr>, PortId)>,
    pub(super) v6: Option<(TunnelKey<Ipv6Addr>, PortId)>,
}

/// What picks a tunnel port: the VTEP, the VNI and its encapsulation, and
/// the outer source and destination (a group's packets belong to that
/// group's VNI only).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::pipeline) struct TunnelKey<A> {
    vtep: u16,
    encap: Encap,
    vni: u32,
    src: A,
    dst: A,
}

/// The tunnel port of `key`, from the batch's cache or looked up (and then
/// kept).
#[inline]
fn tunnel_port<A: super::Family>(
    ov: &OverlayPlan,
    vtep: &VtepPlan,
    key: TunnelKey<A>,
    cache: &mut LastTunnel,
) -> Result<PortId, DropReason> {
    let last = A::last(cache);
    match *last {
        Some((k, port)) if k == key => Ok(port),
        _ => {
            let port = lookup_tunnel(ov, vtep, key.vtep, key.encap, key.vni, key.src.into(), key.dst.into())?;
            *last = Some((key, port));
            Ok(port)
        }
    }
}

/// [`tunnel_port`]'s lookup, out of line: the VNI, then the source-VTEP
/// allowlist.
#[inline(never)]
fn lookup_tunnel(
    ov: &OverlayPlan,
    vtep: &VtepPlan,
    vtep_i: u16,
    encap: Encap,
    vni: u32,
    src: IpAddr,
    dst: IpAddr,
) -> Result<PortId, DropReason> {
    let vni_i = match ov.vni(vtep_i, vni) {
        Some((i, plan)) if plan.encap == encap && (dst == vtep.address || plan.group == Some(dst)) => i,
        _ => return Err(DropReason::DecapUnknownVni),
    };
    ov.source(vni_i, src).ok_or(DropReason::DecapSourceNotAllowed)
}

/// Checks the UDP and tunnel headers of the datagram `outer` describes in
/// `frame` (an Ethernet frame whose IP header is valid and for `vtep`),
/// applies the outer ECN to the inner packet, and says where the inner
/// frame is.
#[inline]
pub(super) fn decap<A: super::Family>(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &VtepPlan,
    frame: &mut [u8],
    outer: Outer<A>,
    cache: &mut LastTunnel,
    meta: &mut crate::pipeline::meta::TunnelMeta,
) -> Result<Inner, Refused> {
    let Outer { src, dst, ecn, l4 } = outer;
    let l4_at = l4.start;
    let datagram = frame.get(l4).ok_or(DropReason::DecapTruncated)?;
    let udp = UdpPacket::new_checked(datagram).map_err(|_| DropReason::DecapTruncated)?;
    let encap = match udp.dst_port() {
        p if p == vtep.udp_port => Encap::Vxlan,
        p if p == vtep.geneve_port => Encap::Geneve,
        _ => return Err(DropReason::UnderlayUnsupported.into()),
    };
    if vtep.verify_udp_checksum && !A::udp_checksum_ok(&udp, src, dst) {
        return Err(DropReason::DecapBadUdpChecksum.into());
    }
    let payload = udp.payload();
    let (vni, tunnel_len) = match encap {
        Encap::Vxlan => super::vxlan::header(payload, meta)?,
        Encap::Geneve => super::geneve::header(payload, meta)?,
    };
    let port = tunnel_port(ov, vtep, TunnelKey { vtep: vtep_i, encap, vni, src, dst }, cache)?;
    // From here on a refusal is the tunnel's, counted as its rx drop.
    let from = |reason| Refused { reason, tunnel: Some(port) };
    let inner = &payload[tunnel_len..];
    let checked = check_inner(inner);
    let (mut offset, mut inner_len) = (l4_at + udp::HEADER_LEN + tunnel_len, inner.len());
    if let Err(reason) = checked {
        (offset, inner_len) = strip_inner_vlan(ov, port, reason, frame, offset, inner_len).map_err(from)?;
    }
    if ecn == ECN_CE {
        mark_ce(&mut frame[offset..offset + inner_len]).map_err(from)?;
    }
    Ok(Inner { offset: offset as u16, len: inner_len as u16, port })
}

/// Why a packet was not decapsulated, and the tunnel port it came from when
/// that was known by then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::pipeline) struct Refused {
    /// The drop reason.
    pub reason: DropReason,
    /// The tunnel, once the VNI and the source VTEP named it.
    pub tunnel: Option<PortId>,
}

impl From<DropReason> for Refused {
    fn from(reason: DropReason) -> Self {
        Refused { reason, tunnel: None }
    }
}

/// What an inner frame must be to enter its domain: a whole Ethernet
/// header, from an individual, non-zero source, and untagged (RFC 7348
/// section 6.1; a VNI is one VLAN, and a tag inside it would be another
/// domain's).
fn check_inner(inner: &[u8]) -> Result<(), DropReason> {
    let Some(h) = inner.get(..ethernet::HEADER_LEN) else { return Err(DropReason::DecapInnerTruncated) };
    let src = MacAddr([h[6], h[7], h[8], h[9], h[10], h[11]]);
    if src.is_multicast() || src.is_zero() {
        return Err(DropReason::DecapInnerBadSource);
    }
    match u16::from_be_bytes([h[12], h[13]]) {
        EtherType::VLAN | EtherType::QINQ => Err(DropReason::DecapInnerVlan),
        _ => Ok(()),
    }
}

/// A tagged inner frame (`reason` is [`check_inner`]'s verdict on the frame
/// at `frame[offset..offset + len]`) on a VNI that strips the tag: the MACs
/// move up over the tag, and the result is checked again (a second tag is
/// dropped). Any other verdict stands.
#[cold]
fn strip_inner_vlan(
    ov: &OverlayPlan,
    port: PortId,
    reason: DropReason,
    frame: &mut [u8],
    offset: usize,
    len: usize,
) -> Result<(usize, usize), DropReason> {
    let strips = ov.tunnel(port).is_some_and(|t| t.inner_vlan == InnerVlan::Strip);
    if reason != DropReason::DecapInnerVlan || !strips {
        return Err(reason);
    }
    // A tag is as long as the TCI and EtherType its view covers; the MACs
    // are the 12 bytes in front of it.
    let (tag, macs) = (crate::wire::vlan::HEADER_LEN, 12);
    // The EtherType alone says tagged: a 14- or 15-byte frame has no whole
    // tag to remove (and the move would run past its end).
    if len < macs + tag {
        return Err(DropReason::DecapInnerTruncated);
    }
    frame.copy_within(offset..offset + macs, offset + tag);
    let (offset, len) = (offset + tag, len - tag);
    check_inner(&frame[offset..offset + len])?;
    Ok((offset, len))
}

/// RFC 6040 section 4.2, for an outer CE: an ECN-capable inner IP packet is
/// marked CE too, a not-ECT one is dropped (the congestion signal cannot be
/// passed on), and a non-IP inner frame is left alone.
pub(super) fn mark_ce(inner: &mut [u8]) -> Result<(), DropReason> {
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
        f[6] = 2;
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

    #[test]
    fn inner_frames_must_be_whole_individual_and_untagged() {
        let f = ipv4_inner(0);
        assert_eq!(check_inner(&f), Ok(()));
        assert_eq!(check_inner(&f[..13]), Err(DropReason::DecapInnerTruncated));
        let mut m = f.clone();
        m[6] = 1;
        assert_eq!(check_inner(&m), Err(DropReason::DecapInnerBadSource));
        let mut z = f.clone();
        z[6] = 0;
        assert_eq!(check_inner(&z), Err(DropReason::DecapInnerBadSource));
        for tpid in [EtherType::VLAN, EtherType::QINQ] {
            let mut t = f.clone();
            t[12..14].copy_from_slice(&tpid.to_be_bytes());
            assert_eq!(check_inner(&t), Err(DropReason::DecapInnerVlan));
        }
    }
}
