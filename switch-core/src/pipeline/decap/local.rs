//! What a VTEP answers for its own address on the underlay: ARP (without
//! which no peer ever sends it a packet) and ICMP echo (operators ping
//! VTEPs). ARP from a next hop also resolves that next hop's MAC.
//!
//! Answers are built in place in the request's buffer and go back out of
//! the port the request came in on.

use std::net::Ipv4Addr;

use super::Taken;
use crate::overlay::{OverlayPlan, VtepPlan};
use crate::pipeline::{DropReason, WorkerCounters};
use crate::types::MacAddr;
use crate::wire::icmpv4::{self, Icmpv4Packet};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::{ethernet, ArpOperation, ArpPacket, EthernetFrame};

/// An ARP frame on `vtep`'s port: a request for the VTEP's address is
/// answered; any ARP whose sender is a next hop updates that next hop.
pub(super) fn arp(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &VtepPlan,
    frame: &mut [u8],
    counters: &WorkerCounters,
) -> Taken {
    let Ok(arp) = ArpPacket::new_checked(&frame[ethernet::HEADER_LEN..]) else {
        return Taken::Dropped(DropReason::UnderlayBadArp);
    };
    let (op, sha, spa, tpa) =
        (arp.operation(), arp.sender_hardware_addr(), arp.sender_protocol_addr(), arp.target_protocol_addr());
    if sha.is_multicast() || sha.is_zero() {
        return Taken::Dropped(DropReason::UnderlayBadArp);
    }
    let next_hop = ov.neighbors.find(vtep_i, spa);
    if let Some(n) = next_hop {
        if ov.neighbors.resolve(n, sha) {
            counters.neighbor_updates.add(1);
        }
    }
    match op {
        ArpOperation::Request if tpa == vtep.address && spa != vtep.address => {
            reply_arp(frame, vtep.mac, vtep.address, sha);
            counters.underlay_replies.add(1);
            Taken::Answered
        }
        _ if tpa == vtep.address || next_hop.is_some() => Taken::Absorbed,
        _ => Taken::Dropped(DropReason::UnderlayNotForUs),
    }
}

/// Turns the ARP request in `frame` (an Ethernet frame) into the reply "`ip`
/// is at `mac`", addressed to the requester `sha`.
pub(in crate::pipeline) fn reply_arp(frame: &mut [u8], mac: MacAddr, ip: Ipv4Addr, sha: MacAddr) {
    let mut eth = EthernetFrame::new_unchecked(&mut *frame);
    eth.set_dst_addr(sha);
    eth.set_src_addr(mac);
    ArpPacket::new_unchecked(&mut frame[ethernet::HEADER_LEN..]).make_reply(mac, ip);
}

/// An ICMP packet to `vtep`'s address: an echo request is answered, the
/// rest is not for the switch to handle.
pub(super) fn icmp_echo(vtep: &VtepPlan, frame: &mut [u8], counters: &WorkerCounters) -> Taken {
    let (ip_len, total_len, src) = {
        let ip = Ipv4Packet::new_unchecked(&frame[ethernet::HEADER_LEN..]);
        (ip.header_len(), usize::from(ip.total_len()), ip.src_addr())
    };
    let l4 = ethernet::HEADER_LEN + ip_len..ethernet::HEADER_LEN + total_len;
    let Ok(icmp) = Icmpv4Packet::new_checked(&frame[l4.clone()]) else {
        return Taken::Dropped(DropReason::DecapTruncated);
    };
    if icmp.msg_type() != icmpv4::ECHO_REQUEST || icmp.code() != 0 {
        return Taken::Dropped(DropReason::UnderlayUnsupported);
    }
    if !icmp.verify_checksum() {
        return Taken::Dropped(DropReason::UnderlayBadIcmp);
    }
    Icmpv4Packet::new_unchecked(&mut frame[l4]).make_echo_reply();
    let mut eth = EthernetFrame::new_unchecked(&mut *frame);
    let requester = eth.src_addr();
    eth.set_dst_addr(requester);
    eth.set_src_addr(vtep.mac);
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[ethernet::HEADER_LEN..]);
    ip.set_dst_addr(src);
    ip.set_src_addr(vtep.address);
    ip.set_ttl(64);
    ip.fill_checksum();
    counters.underlay_replies.add(1);
    Taken::Answered
}
