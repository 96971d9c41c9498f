//! The sending side of the overlay: frames the L2 path sends to a tunnel
//! port leave encapsulated, on the VTEP's underlay port.
//!
//! [`EncapTx`] wraps the backend for the batches of a plan that has an
//! overlay. Sends to a physical port pass straight through (one compare);
//! a send to a tunnel port pushes the tunnel's headers into the frame's
//! headroom ([`udp::encap`]) and sends the result on the underlay port.
//! The output stage is unchanged: for it, a remote VTEP is one more port.
//!
//! A next hop without a MAC yet gets an ARP request (at most one per
//! second per next hop and worker), and the frame is dropped, as a host
//! drops what it cannot resolve in time. A frame too big for the underlay
//! is dropped and, when it is IPv4 with DF, answered with an ICMP
//! "fragmentation needed" ([`icmp`]; at most [`PMTU_PER_SECOND`] per
//! second and worker).

mod icmp;
mod ipip;
pub(super) mod udp;
mod underlay;

use std::net::IpAddr;

use super::{DropReason, Observer, TraceEvent, WorkerCounters};
use crate::bridge::ForwardingPlan;
use crate::fdb::{FdbKey, FdbTable};
use crate::overlay::spec::NEIGHBOR_PROBE_SECS;
use crate::overlay::{OverlayPlan, TunnelPlan, VtepPlan};
use crate::port::{BufId, FramePool, PortTx, TxFrame};
use crate::types::{MacAddr, PortId};

/// Next hops whose last ARP request time each worker remembers; a larger
/// index shares a slot (and so, at worst, a request per second).
const SOLICIT_SLOTS: usize = 64;
/// ICMP errors (fragmentation needed, time exceeded) one worker sends per
/// second at most.
pub const PMTU_PER_SECOND: u32 = 100;

/// Per-worker overlay state that outlives a batch.
#[derive(Clone, Debug)]
pub struct OverlayState {
    /// Per next-hop slot: the second (plus one) of its last ARP request.
    solicited: [u32; SOLICIT_SLOTS],
    /// The second (plus one) the PMTU answers in `pmtu_sent` were sent in.
    pmtu_second: u32,
    /// PMTU answers sent in `pmtu_second`.
    pmtu_sent: u32,
    /// The second (plus one) the next IGMP reports are due; 0: at once.
    igmp_due: u32,
}

impl Default for OverlayState {
    fn default() -> Self {
        OverlayState { solicited: [0; SOLICIT_SLOTS], pmtu_second: 0, pmtu_sent: 0, igmp_due: 0 }
    }
}

/// Seconds between a VTEP's IGMP reports for its groups: well inside the
/// 260 s group membership interval of RFC 3376's defaults, so a snooping
/// switch never times the VTEP out, with no querier needed.
pub const IGMP_REPORT_SECS: u32 = 60;

/// The backend, seen through the overlay for one batch.
pub(super) struct EncapTx<'a, IO, O> {
    /// `ov.first_tunnel`, here so that the per-send test is one load.
    first_tunnel: u16,
    io: &'a mut IO,
    plan: &'a ForwardingPlan,
    fdb: &'a FdbTable,
    ov: &'a OverlayPlan,
    counters: &'a WorkerCounters,
    state: &'a mut OverlayState,
    now_s: u32,
    /// Set while the frames of the batch being sent came from a remote
    /// VTEP: they never leave to another one (split horizon).
    pub from_tunnel: bool,
    /// What became of the last send to a tunnel or gateway port, kept only
    /// when the batch's observer `O` traces.
    trace: Option<TraceEvent>,
    observer: core::marker::PhantomData<O>,
}

impl<'a, IO, O: Observer> EncapTx<'a, IO, O> {
    /// Wraps `io` for one batch of `plan` (whose overlay is `ov`) and `fdb`;
    /// when the batch's observer `O` traces, what becomes of each tunnel send
    /// is kept for [`PortTx::take_trace`].
    pub fn new(
        io: &'a mut IO,
        plan: &'a ForwardingPlan,
        fdb: &'a FdbTable,
        ov: &'a OverlayPlan,
        counters: &'a WorkerCounters,
        state: &'a mut OverlayState,
        now_s: u32,
    ) -> Self {
        EncapTx {
            first_tunnel: ov.first_tunnel,
            io,
            plan,
            fdb,
            ov,
            counters,
            state,
            now_s,
            from_tunnel: false,
            trace: None,
            observer: core::marker::PhantomData,
        }
    }

    /// Keeps `event` as what became of the current tunnel send, when the
    /// batch is traced.
    #[inline(always)]
    pub(super) fn note(&mut self, event: TraceEvent) {
        if O::ENABLED {
            self.trace = Some(event);
        }
    }
}

impl<IO: FramePool, O> FramePool for EncapTx<'_, IO, O> {
    #[inline(always)]
    fn buffer(&self, buf: BufId) -> &[u8] {
        self.io.buffer(buf)
    }
    #[inline(always)]
    fn frame(&self, buf: BufId, head: u16, len: u16) -> Option<&[u8]> {
        self.io.frame(buf, head, len)
    }
    #[inline(always)]
    fn buffer_mut(&mut self, buf: BufId) -> &mut [u8] {
        self.io.buffer_mut(buf)
    }
    #[inline(always)]
    fn alloc(&mut self) -> Option<BufId> {
        self.io.alloc()
    }
    #[inline(always)]
    fn release(&mut self, buf: BufId) {
        self.io.release(buf)
    }
    #[inline(always)]
    fn copy_frame(&mut self, from: BufId, to: BufId, offset: usize, len: usize) {
        self.io.copy_frame(from, to, offset, len)
    }
    #[inline(always)]
    fn headroom(&self) -> u16 {
        self.io.headroom()
    }
}

impl<IO: FramePool + PortTx, O: Observer> PortTx for EncapTx<'_, IO, O> {
    #[inline(always)]
    fn send(&mut self, port: PortId, frame: TxFrame) {
        if port.0 < self.first_tunnel {
            self.io.send(port, frame);
        } else {
            // The frame in pieces, in registers: a `TxFrame` argument would
            // be built on the stack ahead of the test, on every send.
            self.send_tunnel(port, frame.buf, frame.head, frame.len);
        }
    }

    #[inline(always)]
    fn send_switched(&mut self, port: PortId, frame: TxFrame) {
        self.io.send(port, frame);
    }

    fn take_trace(&mut self) -> Option<TraceEvent> {
        self.trace.take()
    }
}

impl<IO: FramePool + PortTx, O: Observer> EncapTx<'_, IO, O> {
    /// A send to tunnel port `port`: encapsulate, or drop and count.
    #[inline(never)]
    fn send_tunnel(&mut self, port: PortId, buf: BufId, head: u16, len: u16) {
        let frame = TxFrame { buf, head, len };
        let ov = self.ov;
        let Some(t) = ov.tunnel(port) else {
            match ov.gateway(port) {
                Some(g) if !self.from_tunnel => self.gateway_send(g, frame),
                // A remote's frame for the gateway (split horizon: the
                // remote routes its own traffic), or no such port.
                other => {
                    let reason = if other.is_some() { DropReason::SplitHorizon } else { DropReason::UnknownPort };
                    self.counters.drop(reason);
                    self.note(TraceEvent::Dropped(reason));
                    self.io.release(frame.buf);
                }
            }
            return;
        };
        let outcome = if self.from_tunnel { Err(DropReason::SplitHorizon) } else { self.encap(t, frame) };
        match outcome {
            Ok(out) => {
                self.counters.encapsulated.add(1);
                if let Some(c) = self.counters.tunnel(usize::from(port.0 - ov.first_tunnel)) {
                    c.tx_packets.add(1);
                    c.tx_bytes.add(u64::from(frame.len));
                }
                self.note(TraceEvent::Encapsulated { port: out.0, len: out.1.len });
                self.io.send(out.0, out.1);
            }
            Err(reason) => self.refuse(t, port, frame, reason),
        }
    }

    /// A frame for tunnel `t` (port `port`) that cannot leave encapsulated:
    /// counted (also as the tunnel's tx drop), answered when too big, and
    /// released.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, t: &TunnelPlan, port: PortId, frame: TxFrame, reason: DropReason) {
        self.counters.drop(reason);
        if let Some(c) = self.counters.tunnel(usize::from(port.0.wrapping_sub(self.ov.first_tunnel))) {
            c.tx_drops.add(1);
        }
        self.note(TraceEvent::Dropped(reason));
        if !(reason == DropReason::EncapTooBig && self.answer_too_big(t, frame)) {
            self.io.release(frame.buf);
        }
    }

    /// Turns `frame`, too big for tunnel `t`, into the ICMP answer to its
    /// sender, in its own buffer, and sends it back out of the sender's
    /// port. False (the caller releases the buffer) when no answer is due
    /// or possible.
    #[cold]
    fn answer_too_big(&mut self, t: &TunnelPlan, frame: TxFrame) -> bool {
        let Some(vtep) = self.ov.vteps.get(usize::from(t.vtep)) else { return false };
        let mtu = overlay_mtu(t, vtep);
        let sent = self.answer_icmp(t.bd, frame, |inner, out| icmp::too_big(inner, mtu, out));
        if sent {
            self.counters.pmtu_answers.add(1);
        }
        sent
    }

    /// Overwrites `frame` (an untagged frame of domain `bd`) with the ICMP
    /// error `build` makes of it, and delivers that to the frame's sender,
    /// within the per-worker ICMP rate limit. False (the caller releases the
    /// buffer) when `build` declines or the limit is reached.
    pub(super) fn answer_icmp(
        &mut self,
        bd: crate::types::BdId,
        frame: TxFrame,
        build: impl FnOnce(&[u8], &mut [u8]) -> Option<usize>,
    ) -> bool {
        if !self.may_send_icmp() {
            return false;
        }
        let mut answer = [0u8; icmp::MAX_ANSWER];
        let (n, sender) = {
            let Some(bytes) = self.io.frame(frame.buf, frame.head, frame.len) else { return false };
            let Some(n) = build(bytes, &mut answer) else { return false };
            (n, MacAddr::from_bytes(&bytes[6..12]).unwrap_or_default())
        };
        let head = frame.head as usize;
        let Some(dst) = self.io.buffer_mut(frame.buf).get_mut(head..head + n) else { return false };
        dst.copy_from_slice(&answer[..n]);
        self.deliver(bd, sender, TxFrame { buf: frame.buf, head: frame.head, len: n as u16 });
        true
    }

    /// True, and one more counted, while this worker has sent fewer than
    /// [`PMTU_PER_SECOND`] ICMP errors this second (RFC 1812 4.3.2.8: rate
    /// limit them).
    fn may_send_icmp(&mut self) -> bool {
        let stamp = self.now_s.wrapping_add(1);
        if self.state.pmtu_second != stamp {
            self.state.pmtu_second = stamp;
            self.state.pmtu_sent = 0;
        }
        if self.state.pmtu_sent >= PMTU_PER_SECOND {
            return false;
        }
        self.state.pmtu_sent += 1;
        true
    }

    /// Sends `frame`, an untagged frame of domain `bd` that the switch
    /// itself answers with, to `dst`: out of the port the FDB has it on, or,
    /// when the FDB does not know it (yet: the sender's learn event may
    /// still be queued), to every local member of the domain, as any
    /// unknown unicast. Never to a remote VTEP.
    fn deliver(&mut self, bd: crate::types::BdId, dst: MacAddr, frame: TxFrame) {
        let known = self.fdb.lookup(FdbKey::new(bd, dst)).map(|h| h.port()).filter(|p| p.0 < self.ov.first_tunnel);
        let members: &[crate::bridge::plan::FloodMember] = match (known, self.plan.domains.get(bd.index())) {
            (Some(_), _) | (None, None) => &[],
            (None, Some(d)) => d.flood.get(..d.flood_local).unwrap_or(&[]),
        };
        let single;
        let targets = match known {
            Some(port) => {
                let tag = self.plan.ports.get(port.index()).and_then(|p| p.egress.get(bd.index()).copied());
                single = [crate::bridge::plan::FloodMember { port, tag: tag.unwrap_or_default() }];
                &single[..]
            }
            None => members,
        };
        let Some((last, rest)) = targets.split_last() else {
            self.io.release(frame.buf);
            return;
        };
        for m in rest {
            let Some(copy) = self.io.alloc() else { continue };
            self.io.copy_frame(frame.buf, copy, frame.head as usize, frame.len as usize);
            self.send_tagged(copy, frame.head, frame.len, m.port, m.tag);
        }
        self.send_tagged(frame.buf, frame.head, frame.len, last.port, last.tag);
    }

    /// Sends the untagged frame `buf[head..head + len]` out of `port`,
    /// tagged as `tag`, or releases it when that fails.
    fn send_tagged(&mut self, buf: BufId, head: u16, len: u16, port: PortId, tag: crate::bridge::EgressTag) {
        match super::apply_egress_tag(self.io.buffer_mut(buf), head, len, 0, 0, tag) {
            Ok((head, len)) => self.io.send(port, TxFrame { buf, head, len }),
            Err(reason) => {
                self.counters.drop(reason);
                self.io.release(buf);
            }
        }
    }

    /// Encapsulates `frame` for tunnel `t`: the underlay port and the outer
    /// frame.
    fn encap(&mut self, t: &TunnelPlan, frame: TxFrame) -> Result<(PortId, TxFrame), DropReason> {
        let ov = self.ov;
        let vtep = ov.vteps.get(t.vtep as usize).ok_or(DropReason::UnknownPort)?;
        let Some(nexthop) = ov.neighbors.mac(t.nexthop) else {
            self.solicit(t.nexthop);
            return Err(DropReason::EncapNexthopUnresolved);
        };
        let (head, len) = udp::encap(t, vtep, nexthop, self.io.buffer_mut(frame.buf), frame.head, frame.len)?;
        Ok((vtep.port, TxFrame { buf: frame.buf, head, len }))
    }

    /// The overlay's timers, from the worker's periodic empty batch: IGMP
    /// reports for the groups the VTEPs joined (now, and every
    /// [`IGMP_REPORT_SECS`]), ARP for next hops not yet resolved, so that
    /// the first frames to a remote find its MAC, and for resolved ones not
    /// heard from in their VTEP's `neighbor_refresh_secs`, whose MAC is
    /// forgotten [`NEIGHBOR_PROBE_SECS`] later without an answer.
    pub fn tick(&mut self) {
        let now = self.now_s.wrapping_add(1);
        if self.state.igmp_due <= now {
            self.state.igmp_due = now + IGMP_REPORT_SECS;
            for &(vtep, group) in &self.ov.groups {
                self.report(vtep, group);
            }
        }
        for i in 0..self.ov.neighbors.entries.len() as u16 {
            match self.ov.neighbors.mac(i) {
                None => self.solicit(i),
                Some(mac) => self.refresh(i, mac),
            }
        }
    }

    /// Asks again for resolved next hop `i` (at `mac`) when it is due, and
    /// forgets its MAC when it stayed silent too long.
    fn refresh(&mut self, i: u16, mac: MacAddr) {
        let ov = self.ov;
        let (Some(age), Some(n)) = (ov.neighbors.age(i, self.now_s), ov.neighbors.entries.get(usize::from(i))) else {
            return;
        };
        let Some(refresh) = ov.vteps.get(usize::from(n.vtep)).map(|v| v.neighbor_refresh_secs) else { return };
        if age < refresh {
            return;
        }
        if age >= refresh.saturating_add(NEIGHBOR_PROBE_SECS) && ov.neighbors.expire(i, mac) {
            self.counters.neighbor_expiries.add(1);
        }
        self.solicit(i);
    }

    /// Sends a report joining `group` (IGMPv3, or MLDv2 over IPv6) out of
    /// VTEP `vtep`'s port.
    #[cold]
    fn report(&mut self, vtep: u16, group: IpAddr) {
        let Some(v) = self.ov.vteps.get(usize::from(vtep)) else { return };
        let sent = match (v.address, group) {
            (IpAddr::V4(ip), IpAddr::V4(group)) => {
                self.originate(v.port, underlay::IGMP_FRAME_LEN, |b| underlay::igmp_join(b, v.mac, ip, group))
            }
            (IpAddr::V6(_), IpAddr::V6(group)) => {
                self.originate(v.port, underlay::MLD_FRAME_LEN, |b| underlay::mld_join(b, v.mac, group))
            }
            _ => false,
        };
        if sent {
            self.counters.igmp_reports.add(1);
        }
    }

    /// Sends a frame of `len` bytes that the switch itself originates out of
    /// `port`, written by `write` into a fresh buffer (after the usual
    /// headroom). False when no buffer was free (counted as `no_buffer`).
    fn originate(&mut self, port: PortId, len: usize, write: impl FnOnce(&mut [u8])) -> bool {
        let Some(buf) = self.io.alloc() else {
            self.counters.drop(DropReason::NoBuffer);
            return false;
        };
        let head = self.io.headroom() as usize;
        let Some(bytes) = self.io.buffer_mut(buf).get_mut(head..head + len) else {
            self.io.release(buf);
            return false;
        };
        write(bytes);
        self.io.send(port, TxFrame { buf, head: head as u16, len: len as u16 });
        true
    }

    /// Sends an ARP request (a neighbour solicitation, over IPv6) for next
    /// hop `i`, unless this worker sent one this second.
    #[cold]
    fn solicit(&mut self, i: u16) {
        let slot = &mut self.state.solicited[i as usize % SOLICIT_SLOTS];
        let stamp = self.now_s.wrapping_add(1);
        if *slot == stamp {
            return;
        }
        *slot = stamp;
        let Some(n) = self.ov.neighbors.entries.get(i as usize) else { return };
        let Some(vtep) = self.ov.vteps.get(n.vtep as usize) else { return };
        let sent = match (vtep.address, n.ip) {
            (IpAddr::V4(ip), IpAddr::V4(target)) => {
                self.originate(vtep.port, underlay::ARP_FRAME_LEN, |b| underlay::arp_request(b, vtep.mac, ip, target))
            }
            (IpAddr::V6(ip), IpAddr::V6(target)) => self
                .originate(vtep.port, underlay::NS_FRAME_LEN, |b| underlay::neighbor_solicit(b, vtep.mac, ip, target)),
            _ => false,
        };
        if sent {
            self.counters.arp_requests.add(1);
        }
    }
}

/// The largest inner IP packet tunnel `t` carries within its VTEP's
/// underlay MTU: the outer IP packet holds the template past its Ethernet
/// header, then the inner Ethernet header, then the inner IP packet, so the
/// two Ethernet headers cancel out (1500 - 50 = 1450 for VXLAN).
fn overlay_mtu(t: &TunnelPlan, vtep: &VtepPlan) -> u16 {
    vtep.mtu.saturating_sub(t.template.len() as u16)
}
