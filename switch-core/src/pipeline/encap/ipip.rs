//! A domain's L3 gateway and IP-in-IP encapsulation (RFC 2003), as Calico
//! runs it: hosts send packets for remote subnets to the gateway's MAC, the
//! L2 path delivers them to the gateway's port (its MAC is a static entry
//! there), and here they are routed:
//!
//! * ARP: a request for the gateway's address is answered; every ARP the
//!   gateway hears teaches it the sender's MAC ([`HostTable`]), which
//!   decapsulation needs to deliver packets back;
//! * IPv4 to the gateway's MAC: the longest-prefix route gives the remote
//!   node; the TTL is decremented (at 1, an ICMP time exceeded goes back),
//!   the Ethernet header is replaced by the route's outer Ethernet and
//!   IPv4 headers (protocol 4, TOS and DF copied from the inner packet,
//!   RFC 2003 section 3.1), and the packet leaves on the VTEP's underlay
//!   port. Too big for the underlay: dropped, with an ICMP "fragmentation
//!   needed" from the gateway when DF is set.
//!
//! [`HostTable`]: crate::overlay::plan::HostTable

use super::{icmp, EncapTx};
use crate::overlay::plan::{offset, GatewayPlan, RoutePlan};
use crate::pipeline::{DropReason, TraceEvent};
use crate::port::{FramePool, PortTx, TxFrame};
use crate::types::MacAddr;
use crate::wire::icmpv4;
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::{checksum, ethernet, ArpOperation, ArpPacket, EtherType, EthernetFrame};

/// Bytes IP-in-IP puts in front of the inner IPv4 packet: Ethernet 14,
/// IPv4 20 (a route's template).
const IPIP_ENCAP_LEN: usize = offset::UDP;

/// ICMP "time exceeded" (RFC 792), code 0: TTL exceeded in transit.
const TIME_EXCEEDED: u8 = 11;

/// What the gateway does with a frame.
enum Verdict {
    /// Sent (or handed to [`EncapTx::deliver`]): nothing more to do.
    Done,
    /// Give the buffer back; counted under the reason when there is one.
    Release(Option<DropReason>),
}

impl<IO: FramePool + PortTx, O: crate::pipeline::Observer> EncapTx<'_, IO, O> {
    /// A frame the L2 path sent to gateway `g`'s port.
    pub(super) fn gateway_send(&mut self, g: &GatewayPlan, frame: TxFrame) {
        let verdict = match self.io.frame(frame.buf, frame.head, frame.len).and_then(|b| {
            let eth = EthernetFrame::new_checked(b).ok()?;
            Some((eth.ethertype(), eth.dst_addr_u64() == g.mac.to_u64()))
        }) {
            Some((EtherType::ARP, _)) => self.gateway_arp(g, frame),
            Some((EtherType::IPV4, true)) => self.route(g, frame),
            Some(_) => {
                self.counters.gateway_absorbed.add(1);
                Verdict::Release(None)
            }
            None => Verdict::Release(Some(DropReason::Truncated)),
        };
        if let Verdict::Release(reason) = verdict {
            match reason {
                Some(r) => {
                    self.counters.drop(r);
                    self.note(TraceEvent::Dropped(r));
                }
                None => self.note(TraceEvent::Absorbed),
            }
            self.io.release(frame.buf);
        }
    }

    /// ARP heard by gateway `g`: learn the sender, answer a request for `g`.
    fn gateway_arp(&mut self, g: &GatewayPlan, frame: TxFrame) -> Verdict {
        let Some(bytes) = self.io.frame(frame.buf, frame.head, frame.len) else { return Verdict::Release(None) };
        let Ok(arp) = ArpPacket::new_checked(&bytes[ethernet::HEADER_LEN..]) else {
            return Verdict::Release(Some(DropReason::GatewayBadPacket));
        };
        let (op, sha, spa, tpa) =
            (arp.operation(), arp.sender_hardware_addr(), arp.sender_protocol_addr(), arp.target_protocol_addr());
        if sha.is_multicast() || sha.is_zero() {
            return Verdict::Release(Some(DropReason::GatewayBadPacket));
        }
        if spa != g.address && g.hosts.learn(spa, sha) {
            self.counters.host_updates.add(1);
        }
        if op != ArpOperation::Request || tpa != g.address {
            self.counters.gateway_absorbed.add(1);
            return Verdict::Release(None);
        }
        let chunk = self.io.buffer_mut(frame.buf);
        let h = frame.head as usize;
        let Some(f) = chunk.get_mut(h..h + usize::from(frame.len)) else { return Verdict::Release(None) };
        crate::pipeline::decap::local::reply_arp(f, g.mac, g.address, sha);
        self.counters.gateway_replies.add(1);
        self.deliver(g.bd, sha, frame);
        Verdict::Done
    }

    /// An IPv4 packet to gateway `g`'s MAC: routed into IP-in-IP.
    fn route(&mut self, g: &GatewayPlan, frame: TxFrame) -> Verdict {
        let ov = self.ov;
        let Some(bytes) = self.io.frame(frame.buf, frame.head, frame.len) else { return Verdict::Release(None) };
        let Ok(ip) = Ipv4Packet::new_checked(&bytes[ethernet::HEADER_LEN..]) else {
            return Verdict::Release(Some(DropReason::GatewayBadPacket));
        };
        if !ip.verify_checksum() {
            return Verdict::Release(Some(DropReason::GatewayBadPacket));
        }
        let (dst, ttl, tos, df, ip_len) = (ip.dst_addr(), ip.ttl(), ip.tos(), ip.dont_frag(), ip.total_len());
        if dst == g.address {
            self.counters.gateway_absorbed.add(1);
            return Verdict::Release(None);
        }
        let Some(r) = ov.route(dst) else { return Verdict::Release(Some(DropReason::IpipNoRoute)) };
        let Some(vtep) = ov.vteps.get(usize::from(r.vtep)) else { return Verdict::Release(None) };
        if ttl <= 1 {
            self.counters.drop(DropReason::IpipTtlExceeded);
            self.note(TraceEvent::Dropped(DropReason::IpipTtlExceeded));
            return self.answer(g, frame, TIME_EXCEEDED, 0, [0; 4]);
        }
        let outer_len = usize::from(ip_len) + ipv4::HEADER_LEN;
        if outer_len > usize::from(vtep.mtu) {
            self.counters.drop(DropReason::EncapTooBig);
            self.note(TraceEvent::Dropped(DropReason::EncapTooBig));
            if !df {
                return Verdict::Release(None);
            }
            let [hi, lo] = (vtep.mtu - ipv4::HEADER_LEN as u16).to_be_bytes();
            return self.answer(g, frame, icmpv4::DEST_UNREACHABLE, icmpv4::CODE_FRAG_NEEDED, [0, 0, hi, lo]);
        }
        let Some(nexthop) = ov.neighbors.mac(r.nexthop) else {
            self.solicit(r.nexthop);
            return Verdict::Release(Some(DropReason::EncapNexthopUnresolved));
        };
        let Some((head, len)) = encap(r, nexthop, self.io.buffer_mut(frame.buf), frame.head, ip_len, tos, df) else {
            return Verdict::Release(Some(DropReason::NoHeadroom));
        };
        self.counters.encapsulated.add(1);
        self.note(TraceEvent::Encapsulated { port: vtep.port, len });
        self.io.send(vtep.port, TxFrame { buf: frame.buf, head, len });
        Verdict::Done
    }

    /// Turns the packet in `frame` into an ICMP error `kind`/`code` (with
    /// `rest` after the checksum) from gateway `g` to its sender, and
    /// delivers it in `g`'s domain.
    fn answer(&mut self, g: &GatewayPlan, frame: TxFrame, kind: u8, code: u8, rest: [u8; 4]) -> Verdict {
        let (mac, ip) = (g.mac, g.address);
        if !self.answer_icmp(g.bd, frame, |bytes, out| icmp::error(bytes, mac, ip, kind, code, rest, out)) {
            return Verdict::Release(None);
        }
        self.counters.gateway_replies.add(1);
        Verdict::Done
    }
}

/// Pushes route `r`'s outer headers in front of the IPv4 packet of the
/// frame at `chunk[head..]` (whose Ethernet header they replace), after
/// decrementing its TTL. Returns the outer frame's (head, len), or `None`
/// without the 20 bytes of headroom it needs. The template's and the
/// inner header's fixed sizes are arrays here, so no field needs a bounds
/// check.
#[inline]
fn encap(
    r: &RoutePlan,
    nexthop: MacAddr,
    chunk: &mut [u8],
    head: u16,
    ip_len: u16,
    tos: u8,
    df: bool,
) -> Option<(u16, u16)> {
    let inner_at = usize::from(head) + ethernet::HEADER_LEN;
    let start = inner_at.checked_sub(r.template.len())?;
    let whole = chunk.get_mut(start..inner_at + usize::from(ip_len))?;
    let (outer, inner) = whole.split_at_mut(r.template.len());
    let outer: &mut [u8; IPIP_ENCAP_LEN] = outer.try_into().ok()?;
    let template: &[u8; IPIP_ENCAP_LEN] = r.template.as_slice().try_into().ok()?;
    Ipv4Packet::new_unchecked(inner.first_chunk_mut::<{ ipv4::HEADER_LEN }>()?).decrement_ttl();
    *outer = *template;
    EthernetFrame::new_unchecked(&mut outer[..offset::IP]).set_dst_addr(nexthop);
    let total = ip_len + ipv4::HEADER_LEN as u16;
    let mut ip = Ipv4Packet::new_unchecked(&mut outer[offset::IP..]);
    ip.set_tos(tos);
    ip.set_total_len(total);
    ip.set_dont_frag(df);
    // The template's sum has every other field: TOS is the low byte of the
    // first word, DF bit 14 of the flags word.
    let flags = if df { 0x4000 } else { 0 };
    ip.set_checksum(checksum::finish(checksum::combine(r.ip_sum, u32::from(total) + u32::from(tos) + flags)));
    Some((start as u16, total + ethernet::HEADER_LEN as u16))
}
