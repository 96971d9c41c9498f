//! What a VTEP answers for its own address on the underlay: ARP, or
//! neighbour solicitations over IPv6 (without which no peer ever sends it
//! a packet), and ICMP or ICMPv6 echo (operators ping VTEPs). ARP and
//! neighbour discovery from a next hop also resolve that next hop's MAC.
//!
//! Answers are built in place in the request's buffer and go back out of
//! the port the request came in on.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::Taken;
use crate::overlay::{OverlayPlan, VtepPlan};
use crate::pipeline::{Ctx, DropReason, PktDesc, WorkerCounters};
use crate::port::FramePool;
use crate::types::MacAddr;
use crate::wire::icmpv4::{self, Icmpv4Packet};
use crate::wire::icmpv6::{self, Icmpv6Packet, NdpPacket};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::{self, Ipv6Packet};
use crate::wire::{ethernet, ArpOperation, ArpPacket, EthernetFrame};

/// The TTL or hop limit of an echo reply.
const ECHO_HOP_LIMIT: u8 = 64;

/// An ARP frame on `vtep`'s port: a request for the VTEP's address is
/// answered; any ARP whose sender is a next hop updates that next hop.
pub(super) fn arp(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &VtepPlan,
    address: Ipv4Addr,
    frame: &mut [u8],
    ctx: Ctx<'_>,
) -> Taken {
    let counters = ctx.counters;
    let Ok(arp) = ArpPacket::new_checked(&frame[ethernet::HEADER_LEN..]) else {
        return Taken::Dropped(DropReason::UnderlayBadArp);
    };
    let (op, sha, spa, tpa) =
        (arp.operation(), arp.sender_hardware_addr(), arp.sender_protocol_addr(), arp.target_protocol_addr());
    if sha.is_multicast() || sha.is_zero() {
        return Taken::Dropped(DropReason::UnderlayBadArp);
    }
    let next_hop = ov.neighbors.find(vtep_i, spa.into());
    if let Some(n) = next_hop {
        if ov.neighbors.resolve(n, sha, ctx.now_s) {
            counters.neighbor_updates.add(1);
        }
    }
    match op {
        ArpOperation::Request if tpa == address && spa != address => {
            reply_arp(frame, vtep.mac, address, sha);
            counters.underlay_replies.add(1);
            Taken::Answered
        }
        _ if tpa == address || next_hop.is_some() => Taken::Absorbed,
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
pub(super) fn icmp_echo(vtep: &VtepPlan, address: Ipv4Addr, frame: &mut [u8], counters: &WorkerCounters) -> Taken {
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
    let requester = EthernetFrame::new_unchecked(&*frame).src_addr();
    answer(frame, vtep, requester, address, src, ECHO_HOP_LIMIT, counters)
}

/// Bytes of the neighbour advertisement a VTEP answers with: Ethernet,
/// IPv6, the ICMPv6 message (24) and the target link-layer option (8).
const NA_FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + icmpv6::NA_LEN + icmpv6::LL_OPTION_LEN;

/// An ICMPv6 message on an IPv6 VTEP's port, `l4` its place in the frame:
/// neighbour discovery ([`ndp`]) and echo for the VTEP's address; other
/// messages to the address are unsupported, and those to a group (router
/// advertisements, MLD) are not for the switch.
#[allow(clippy::too_many_arguments)]
pub(super) fn icmpv6<P: FramePool>(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &VtepPlan,
    address: Ipv6Addr,
    io: &mut P,
    d: &mut PktDesc,
    l4: Range<usize>,
    ctx: Ctx<'_>,
) -> Taken {
    let counters = ctx.counters;
    let head = d.head as usize;
    // The buffer from the frame on: an advertisement may be longer than
    // the solicitation it answers.
    let Some(frame) = io.buffer_mut(d.buf).get_mut(head..) else { return Taken::Dropped(DropReason::Truncated) };
    let (src, dst, hop_limit) = {
        let ip = Ipv6Packet::new_unchecked(&frame[ethernet::HEADER_LEN..]);
        (ip.src_addr(), ip.dst_addr(), ip.hop_limit())
    };
    let Some(Ok(icmp)) = frame.get(l4.clone()).map(Icmpv6Packet::new_checked) else {
        return Taken::Dropped(DropReason::DecapTruncated);
    };
    match icmp.msg_type() {
        icmpv6::NEIGHBOR_SOLICIT | icmpv6::NEIGHBOR_ADVERT => {
            let valid = hop_limit == icmpv6::NDP_HOP_LIMIT
                && icmp.code() == 0
                && icmp.verify_checksum(src, dst)
                && NdpPacket::new_checked(icmp.into_inner()).is_ok();
            if !valid {
                return Taken::Dropped(DropReason::UnderlayBadNdp);
            }
            ndp(ov, vtep_i, vtep, address, frame, d, l4, ctx)
        }
        icmpv6::ECHO_REQUEST if dst == address => {
            if icmp.code() != 0 {
                return Taken::Dropped(DropReason::UnderlayUnsupported);
            }
            if !icmp.verify_checksum(src, dst) {
                return Taken::Dropped(DropReason::UnderlayBadIcmp);
            }
            Icmpv6Packet::new_unchecked(&mut frame[l4]).make_echo_reply(address, src);
            let requester = EthernetFrame::new_unchecked(&*frame).src_addr();
            answer(frame, vtep, requester, address, src, ECHO_HOP_LIMIT, counters)
        }
        _ if dst == address => Taken::Dropped(DropReason::UnderlayUnsupported),
        _ => Taken::Dropped(DropReason::UnderlayNotForUs),
    }
}

/// A valid neighbour solicitation or advertisement (RFC 4861 section 7.1)
/// in `frame` (the buffer from the frame's start): a solicitation for the
/// VTEP's address is answered, and one from a next hop, or an
/// advertisement for one, resolves that next hop's MAC.
#[allow(clippy::too_many_arguments)]
fn ndp(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &VtepPlan,
    address: Ipv6Addr,
    frame: &mut [u8],
    d: &mut PktDesc,
    l4: Range<usize>,
    ctx: Ctx<'_>,
) -> Taken {
    let counters = ctx.counters;
    let (src, eth_src) = {
        let ip = Ipv6Packet::new_unchecked(&frame[ethernet::HEADER_LEN..]);
        (ip.src_addr(), EthernetFrame::new_unchecked(&frame[..]).src_addr())
    };
    let (kind, target, ll) = {
        let ndp = NdpPacket::new_unchecked(&frame[l4]);
        let kind = ndp.msg_type();
        let option = if kind == icmpv6::NEIGHBOR_SOLICIT { icmpv6::SOURCE_LL_ADDR } else { icmpv6::TARGET_LL_ADDR };
        (kind, ndp.target_addr(), ndp.ll_option(option))
    };
    // Whose MAC the message tells: a solicitation's sender, an
    // advertisement's target.
    let (who, mac) = if kind == icmpv6::NEIGHBOR_SOLICIT { (src, ll) } else { (target, ll.or(Some(eth_src))) };
    let next_hop = ov.neighbors.find(vtep_i, who.into());
    if let (Some(n), Some(mac)) = (next_hop, mac.filter(|m| !m.is_multicast() && !m.is_zero())) {
        if ov.neighbors.resolve(n, mac, ctx.now_s) {
            counters.neighbor_updates.add(1);
        }
    }
    if kind != icmpv6::NEIGHBOR_SOLICIT || target != address {
        return if target == address || next_hop.is_some() {
            Taken::Absorbed
        } else {
            Taken::Dropped(DropReason::UnderlayNotForUs)
        };
    }
    // Duplicate address detection (an unspecified source) is answered to
    // all nodes, unsolicited (RFC 4861 section 7.2.4).
    let dad = src.is_unspecified();
    let (dst, dst_mac) =
        if dad { (icmpv6::ALL_NODES, icmpv6::multicast_mac(icmpv6::ALL_NODES)) } else { (src, ll.unwrap_or(eth_src)) };
    let Some(out) = frame.get_mut(..NA_FRAME_LEN) else { return Taken::Dropped(DropReason::Truncated) };
    let flags = if dad { icmpv6::NA_OVERRIDE } else { icmpv6::NA_SOLICITED | icmpv6::NA_OVERRIDE };
    let body_at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    let n = icmpv6::emit_neighbor_advert(&mut out[body_at..], address, dst, address, vtep.mac, flags);
    let mut ip = Ipv6Packet::new_unchecked(&mut out[ethernet::HEADER_LEN..body_at]);
    ip.set_traffic_class(0);
    ip.set_flow_label(0);
    ip.set_payload_len(n as u16);
    d.len = (body_at + n) as u16;
    answer(out, vtep, dst_mac, address, dst, icmpv6::NDP_HOP_LIMIT, counters)
}

/// Turns `frame` (an Ethernet frame whose IP payload already holds the
/// answer) around to go back out of the port it came in on: Ethernet from
/// `vtep`'s MAC to `dst_mac`, IP from `src` to `dst` with `hop_limit`.
/// Counts the reply.
fn answer<A: super::Family>(
    frame: &mut [u8],
    vtep: &VtepPlan,
    dst_mac: MacAddr,
    src: A,
    dst: A,
    hop_limit: u8,
    counters: &WorkerCounters,
) -> Taken {
    let mut eth = EthernetFrame::new_unchecked(&mut *frame);
    eth.set_dst_addr(dst_mac);
    eth.set_src_addr(vtep.mac);
    A::readdress(&mut frame[ethernet::HEADER_LEN..], src, dst, hop_limit);
    counters.underlay_replies.add(1);
    Taken::Answered
}
