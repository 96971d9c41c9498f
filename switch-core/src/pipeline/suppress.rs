//! ARP suppression in the domains of VNIs that have it: the hosts' IP →
//! MAC bindings are snooped from ARP (requests, gratuitous ARP, and every
//! ARP that arrives decapsulated from a remote VTEP), and a broadcast
//! request from a local port for a known address is answered by xvs on
//! that port instead of being flooded, across the overlay or anywhere.
//!
//! Only floods reach this (a request is a broadcast), and only on a plan
//! with an overlay, so neither the L2 path's unicast frames nor an
//! L2-only plan pay for it. A request from a remote VTEP is not answered
//! here (the remote suppresses for its own hosts); its sender is learned.

use super::output::apply_egress_tag;
use super::trace::{Observer, TraceEvent};
use super::{PktDesc, Tally, WorkerCounters};
use crate::bridge::ForwardingPlan;
use crate::overlay::plan::Suppression;
use crate::overlay::OverlayPlan;
use crate::port::{FramePool, PortTx, TxFrame};
use crate::types::{BdId, MacAddr};
use crate::wire::{arp, ethernet, ArpOperation, ArpPacket, EtherType, EthernetFrame, VlanTag};

/// Where the ARP header of frame `bytes` starts, behind the `tag_len`
/// bytes (0 or 4) of VLAN tag classify consumed, if the frame is ARP.
fn arp_at(bytes: &[u8], tag_len: usize) -> Option<usize> {
    let eth = EthernetFrame::new_checked(bytes).ok()?;
    let ethertype = match tag_len {
        0 => eth.ethertype(),
        _ => VlanTag::new_checked(eth.payload()).ok()?.ethertype(),
    };
    (ethertype == EtherType::ARP).then_some(ethernet::HEADER_LEN + tag_len)
}

/// Learns the sender of the ARP packet `a`, when its MAC is a host's
/// (unicast, not zero, the frame's own source) and its address is set (a
/// probe's is 0.0.0.0) and in the domain's subnet.
fn snoop<T: AsRef<[u8]>>(sup: &Suppression, src: MacAddr, a: &ArpPacket<T>, now_s: u32, counters: &WorkerCounters) {
    let (sha, spa) = (a.sender_hardware_addr(), a.sender_protocol_addr());
    if sha != src || sha.is_multicast() || sha.is_zero() || spa.is_unspecified() {
        return;
    }
    if sup.hosts.learn_at(spa, sha, now_s) {
        counters.arp_snooped.add(1);
    }
}

/// Snoops a frame decapsulated into domain `bd` (the tunnel port's).
#[cold]
pub(super) fn snoop_inner<P: FramePool>(
    ov: &OverlayPlan,
    bd: BdId,
    d: &PktDesc,
    io: &P,
    now_s: u32,
    counters: &WorkerCounters,
) {
    let Some(sup) = ov.suppression(bd) else { return };
    let Some(bytes) = io.frame(d.buf, d.head, d.len) else { return };
    let Some(at) = arp_at(bytes, 0) else { return };
    let (Ok(eth), Ok(a)) = (EthernetFrame::new_checked(bytes), ArpPacket::new_checked(&bytes[at..])) else { return };
    snoop(sup, eth.src_addr(), &a, now_s, counters);
}

/// For a flooded frame `d` of a domain with suppression: snoops it if it
/// is ARP, and answers it on its ingress port if it is a request from a
/// local port for a known host. True when answered (the frame has been
/// turned into the reply and sent, and must not be flooded).
#[allow(clippy::too_many_arguments)]
#[cold]
#[inline(never)]
pub(super) fn answered<IO: FramePool + PortTx, O: Observer>(
    plan: &ForwardingPlan,
    ov: &OverlayPlan,
    counters: &WorkerCounters,
    now_s: u32,
    i: usize,
    d: &PktDesc,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) -> bool {
    let Some(sup) = ov.suppression(d.bd) else { return false };
    let Some(bytes) = io.frame(d.buf, d.head, d.len) else { return false };
    let Some(at) = arp_at(bytes, d.tag_len as usize) else { return false };
    let (Ok(eth), Ok(a)) = (EthernetFrame::new_checked(bytes), ArpPacket::new_checked(&bytes[at..])) else {
        return false;
    };
    snoop(sup, eth.src_addr(), &a, now_s, counters);
    let (sha, spa, tpa) = (a.sender_hardware_addr(), a.sender_protocol_addr(), a.target_protocol_addr());
    // Requests only, from a local port, and not a host's announcement or
    // duplicate-address probe of its own address.
    let local = d.in_port.0 < ov.first_tunnel;
    if a.operation() != ArpOperation::Request || !local || spa == tpa || spa.is_unspecified() {
        return false;
    }
    let Some(mac) = sup.hosts.get(tpa).filter(|m| *m != sha) else {
        counters.arp_suppress_misses.add(1);
        return false;
    };
    let tag = plan.ports.get(d.in_port.index()).and_then(|p| p.egress.get(d.bd.index())).copied();
    let Some(tag) = tag else { return false };
    let chunk = io.buffer_mut(d.buf);
    let (h, end) = (d.head as usize, d.head as usize + d.len as usize);
    let Some(frame) = chunk.get_mut(h..end) else { return false };
    let mut e = EthernetFrame::new_unchecked(&mut *frame);
    e.set_dst_addr(sha);
    e.set_src_addr(mac);
    ArpPacket::new_unchecked(&mut frame[at..at + arp::HEADER_LEN]).make_reply(mac, tpa);
    let Ok((head, len)) = apply_egress_tag(chunk, d.head, d.len, d.tag_len, d.pcp, tag) else { return false };
    counters.arp_suppressed.add(1);
    tally.slow();
    if O::ENABLED {
        obs.event(i, TraceEvent::ArpAnswered { port: d.in_port });
    }
    io.send(d.in_port, TxFrame { buf: d.buf, head, len });
    true
}
