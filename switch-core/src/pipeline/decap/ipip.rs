//! IP-in-IP decapsulation (RFC 2003), after the outer IPv4 header passed
//! [`super::ipv4`]'s checks: the source must be the remote node of one of
//! the VTEP's routes; the inner IPv4 packet's destination picks the
//! gateway whose subnet holds it; and the packet gets an Ethernet header
//! again, from the gateway's MAC to the host's (from [`HostTable`]), so
//! that it enters the gateway's domain like a frame the gateway sent.
//!
//! A host whose MAC is not known yet is asked for: the packet is counted
//! (`ipip_host_unresolved`) and its buffer becomes the gateway's ARP
//! request, flooded in the domain; the host's answer teaches the gateway
//! (`encap/ipip.rs`). One request per such packet, never more, so nothing
//! is amplified.
//!
//! [`HostTable`]: crate::overlay::plan::HostTable

use super::Inner;
use crate::overlay::plan::GatewayPlan;
use crate::overlay::OverlayPlan;
use crate::pipeline::{DropReason, WorkerCounters};
use crate::types::MacAddr;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::{arp, ethernet, ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetFrame};

/// Decapsulates the IP-in-IP packet in `frame` (an Ethernet frame whose
/// outer IPv4 header is valid and for VTEP `vtep`): says where the rebuilt
/// inner frame is, and the gateway port it enters from.
pub(super) fn decap(
    ov: &OverlayPlan,
    vtep: u16,
    frame: &mut [u8],
    counters: &WorkerCounters,
) -> Result<Inner, DropReason> {
    let (src, ecn, inner_at, end) = {
        let ip = Ipv4Packet::new_unchecked(&frame[ethernet::HEADER_LEN..]);
        let at = ethernet::HEADER_LEN + ip.header_len();
        (ip.src_addr(), ip.ecn(), at, ethernet::HEADER_LEN + usize::from(ip.total_len()))
    };
    if !ov.ipip_source(vtep, src) {
        return Err(DropReason::DecapSourceNotAllowed);
    }
    let (dst, inner_len) = match Ipv4Packet::new_checked(&frame[inner_at..end]) {
        Ok(inner) => (inner.dst_addr(), usize::from(inner.total_len())),
        Err(Error::Truncated { .. }) => return Err(DropReason::DecapInnerTruncated),
        Err(_) => return Err(DropReason::GatewayBadPacket),
    };
    let g = ov.gateway_for(dst).ok_or(DropReason::IpipNoGateway)?;
    let Some(mac) = g.hosts.get(dst) else {
        counters.drop(DropReason::IpipHostUnresolved);
        let len = ask_for(g, dst, frame);
        return Ok(Inner { offset: 0, len, port: g.port });
    };
    let at = inner_at - ethernet::HEADER_LEN;
    let mut eth = EthernetFrame::new_unchecked(&mut frame[at..inner_at]);
    eth.set_dst_addr(mac);
    eth.set_src_addr(g.mac);
    eth.set_ethertype(EtherType::IPV4);
    // RFC 6040 section 4.2 for an outer CE, as for the UDP tunnels.
    if ecn == super::udp::ECN_CE {
        super::udp::mark_ce(&mut frame[at..inner_at + inner_len])?;
    }
    Ok(Inner { offset: at as u16, len: (ethernet::HEADER_LEN + inner_len) as u16, port: g.port })
}

/// Writes over `frame` gateway `g`'s broadcast "who has `dst`?"; its length.
fn ask_for(g: &GatewayPlan, dst: std::net::Ipv4Addr, frame: &mut [u8]) -> u16 {
    let mut eth = EthernetFrame::new_unchecked(&mut *frame);
    eth.set_dst_addr(MacAddr::BROADCAST);
    eth.set_src_addr(g.mac);
    eth.set_ethertype(EtherType::ARP);
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: g.mac,
        sender_protocol_addr: g.address,
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: dst,
    };
    let end = ethernet::HEADER_LEN + arp::HEADER_LEN;
    repr.emit(&mut ArpPacket::new_unchecked(&mut frame[ethernet::HEADER_LEN..end]));
    end as u16
}
