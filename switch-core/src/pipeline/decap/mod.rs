//! The underlay stage: frames that arrive on a VTEP's underlay port.
//!
//! An underlay port has no domain, so classify leaves its frames without
//! one, and the batch loop's reject path ([`super::drop_desc`]) is where
//! they first stand out: when the plan has an overlay, that path *defers*
//! such a frame instead of dropping it (a bit in [`super::Tally`]). The L2
//! loop therefore pays nothing for the overlay, not even on a switch that
//! has one. After the loop, [`underlay_pass`] takes the deferred frames:
//!
//! * VXLAN or Geneve for one of the VTEP's VNIs, from an allowed remote, is
//!   decapsulated in place ([`udp::decap`]: the descriptor now describes
//!   the inner frame, received on the remote's tunnel port) and runs the
//!   rest of the L2 path, so its source MAC is learned against the remote;
//! * ARP (IPv6: neighbour solicitations) and ICMP echo for the VTEP's own
//!   address are answered, and ARP (neighbour advertisements) from a next
//!   hop resolves its MAC ([`local`]);
//! * VXLAN and Geneve sent to a multicast group the VTEP joined are taken
//!   like those sent to its address;
//! * IP-in-IP from a route's remote node is delivered into the domain of
//!   the gateway whose subnet holds the inner destination ([`ipip`]);
//! * everything else is dropped under a named reason.

pub(super) mod geneve;
pub(super) mod ipip;
pub(in crate::pipeline) mod local;
pub(super) mod udp;
pub(super) mod vxlan;

use super::encap::EncapTx;
use super::meta::{TunnelMeta, TunnelMetas};
use super::trace::{Observer, TraceEvent};
use super::{drop_desc, Ctx, DropReason, PktDesc, Tally};
use crate::fdb::LearnCache;
use crate::overlay::OverlayPlan;
use crate::port::{FramePool, PortTx, TxFrame};
use crate::types::PortId;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::ipv4::{IpProtocol, Ipv4Packet};
use crate::wire::ipv6::{self, Ipv6Packet};
use crate::wire::{ethernet, Error, EtherType, EthernetFrame};

/// An outer address family. UDP decapsulation ([`udp::decap`]) is compiled
/// once per family, so that IPv4's keys and compares are on 32-bit words,
/// not on `IpAddr`s; the VTEP's answers readdress their header through it.
pub(super) trait Family: Copy + Eq + Into<IpAddr> {
    /// True when `udp`'s checksum verifies: over IPv4 a zero checksum means
    /// "none" (RFC 768); over IPv6 it fails, as RFC 8200 section 8.1 has it
    /// and as the kernel's vxlan device does without `udp6zerocsumrx`.
    fn udp_checksum_ok(udp: &crate::wire::UdpPacket<&[u8]>, src: Self, dst: Self) -> bool;
    /// This family's entry of the batch's last-tunnel cache.
    fn last(cache: &mut udp::LastTunnel) -> &mut Option<(udp::TunnelKey<Self>, PortId)>;
    /// Addresses the IP header at the start of `packet` from `src` to `dst`
    /// with TTL or hop limit `hop_limit`, and fills the header checksum
    /// where the family has one.
    fn readdress(packet: &mut [u8], src: Self, dst: Self, hop_limit: u8);
}

impl Family for Ipv4Addr {
    #[inline]
    fn udp_checksum_ok(udp: &crate::wire::UdpPacket<&[u8]>, src: Self, dst: Self) -> bool {
        udp.verify_checksum_v4(src, dst)
    }
    #[inline]
    fn last(cache: &mut udp::LastTunnel) -> &mut Option<(udp::TunnelKey<Self>, PortId)> {
        &mut cache.v4
    }
    fn readdress(packet: &mut [u8], src: Self, dst: Self, hop_limit: u8) {
        let mut ip = Ipv4Packet::new_unchecked(packet);
        ip.set_dst_addr(dst);
        ip.set_src_addr(src);
        ip.set_ttl(hop_limit);
        ip.fill_checksum();
    }
}

impl Family for Ipv6Addr {
    #[inline]
    fn udp_checksum_ok(udp: &crate::wire::UdpPacket<&[u8]>, src: Self, dst: Self) -> bool {
        udp.verify_checksum_v6(src, dst)
    }
    #[inline]
    fn last(cache: &mut udp::LastTunnel) -> &mut Option<(udp::TunnelKey<Self>, PortId)> {
        &mut cache.v6
    }
    fn readdress(packet: &mut [u8], src: Self, dst: Self, hop_limit: u8) {
        let mut ip = Ipv6Packet::new_unchecked(packet);
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        ip.set_hop_limit(hop_limit);
    }
}

/// What the underlay stage did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Taken {
    /// Decapsulated: the descriptor now holds the inner frame.
    Inner,
    /// Answered in place: send the frame back out of its port.
    Answered,
    /// For the VTEP itself, with nothing to answer: give the buffer back.
    Absorbed,
    /// Dropped.
    Dropped(DropReason),
    /// Dropped once its tunnel port was known: that tunnel's rx drop too.
    DroppedFrom(DropReason, PortId),
}

/// True (and `d` deferred) when `reason` is classify's verdict on an
/// untagged frame from a VTEP's underlay port: see the module docs. Called
/// from the reject path only.
///
/// The frame's index comes from its descriptor's address, not from the
/// caller: the L2 loop's reject calls pass an index only for tracing, and
/// with tracing compiled out the compiler drops that argument, which saves
/// the loop keeping a counter (one instruction per frame).
#[inline]
pub(super) fn defer(tally: &mut Tally<'_>, d: &PktDesc, reason: DropReason) -> bool {
    let Some(ov) = tally.overlay else { return false };
    if reason != DropReason::UntaggedNotAllowed || ov.vtep_of_port(d.in_port).is_none() {
        return false;
    }
    let i = (d as *const PktDesc as usize).wrapping_sub(tally.base) / core::mem::size_of::<PktDesc>();
    if i >= 64 {
        return false;
    }
    tally.deferred |= 1 << i;
    true
}

#[cfg(test)]
thread_local! {
    /// Off in a test's thread: batches from an underlay port take the L2
    /// loop, the reference the direct path is checked against.
    pub(in crate::pipeline) static DIRECT: core::cell::Cell<bool> = const { core::cell::Cell::new(true) };
}

/// True when every frame of the batch came from one VTEP's underlay port:
/// [`admit`] then stands in for the L2 loop.
#[inline]
pub(super) fn direct(plan: &crate::bridge::ForwardingPlan, ov: &OverlayPlan, frames: &[PktDesc]) -> bool {
    #[cfg(test)]
    if !DIRECT.with(|d| d.get()) {
        return false;
    }
    let Some(first) = frames.first() else { return false };
    // An underlay port is in no domain: untagged frames have none.
    let underlay = ov.vtep_of_port(first.in_port).is_some()
        && plan.tagging_of(first.in_port).untagged_in == crate::types::BdId::NONE;
    underlay && frames.iter().all(|d| d.in_port == first.in_port)
}

/// What the L2 loop does with a frame of an underlay port, for a batch of
/// them only: parse and classify it (a runt, a tagged frame, a reserved
/// destination are dropped under the same reasons), then set it aside for
/// the underlay stage, as the loop's reject path does with an untagged
/// frame, which an underlay port's classify leaves without a domain.
/// Pinned against the L2 loop by `direct_underlay_batches_match_the_l2_loop`.
#[inline(never)]
pub(super) fn admit<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    tally: &mut Tally<'_>,
    frames: &mut [PktDesc],
    tx: &mut EncapTx<'_, IO, O>,
    obs: &mut O,
) {
    use super::{classify, parse};
    for (i, d) in frames.iter_mut().enumerate().take(64) {
        let verdict = match tx.frame(d.buf, d.head, d.len) {
            None => Err(DropReason::Truncated),
            Some(bytes) => {
                if O::ENABLED {
                    super::trace_parsed(obs, i, bytes);
                }
                parse::parse(bytes).and_then(|p| {
                    classify::classify(ctx.plan, d.in_port, &p, bytes).map_err(|r| parse::reserved_or(p, r))?;
                    parse::check_reserved(&p)
                })
            }
        };
        match verdict {
            Ok(()) => tally.deferred |= 1 << i,
            Err(reason) => drop_desc(tx, ctx.counters, obs, i, d, reason, tally),
        }
    }
}

/// Runs the underlay stage over the frames the batch loop deferred, then the
/// rest of the L2 path over the inner frames.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn underlay_pass<IO: FramePool + PortTx, O: Observer>(
    ctx: Ctx<'_>,
    ov: &OverlayPlan,
    cache: &mut LearnCache,
    tally: &mut Tally<'_>,
    frames: &mut [PktDesc],
    metas: &mut TunnelMetas,
    tx: &mut EncapTx<'_, IO, O>,
    obs: &mut O,
) {
    let mut pending = core::mem::take(&mut tally.deferred);
    let mut last = udp::LastTunnel::default();
    while pending != 0 {
        let i = pending.trailing_zeros() as usize;
        pending &= pending - 1;
        let (Some(d), Some(meta)) = (frames.get_mut(i), metas.get_mut(i)) else { continue };
        ctx.counters.underlay_received.add(1);
        match underlay(ov, ctx, d, tx, &mut last, meta) {
            Taken::Inner => {
                ctx.counters.decapsulated.add(1);
                // Tunnel ports count what came from their remote; a gateway
                // port (IP-in-IP) has no tunnel counters.
                let is_tunnel = d.in_port.0 < ov.first_gateway;
                if let Some(c) = ctx.counters.tunnel(usize::from(d.in_port.0 - ov.first_tunnel)).filter(|_| is_tunnel) {
                    c.rx_packets.add(1);
                    c.rx_bytes.add(u64::from(d.len));
                }
                if O::ENABLED {
                    obs.event(i, TraceEvent::Decapsulated { vni: meta.vni, tunnel: d.in_port });
                    for o in meta.options() {
                        obs.event(i, TraceEvent::GeneveOption(*o));
                    }
                }
                if !ov.suppression.is_empty() {
                    if let Some(t) = ov.tunnel(d.in_port) {
                        super::suppress::snoop_inner(ov, t.bd, d, &*tx, ctx.now_s, ctx.counters);
                    }
                }
                tx.from_tunnel = true;
                super::one_in_cache(ctx, cache, tally, i, d, tx, obs);
                tx.from_tunnel = false;
            }
            Taken::Answered => {
                tally.slow();
                if O::ENABLED {
                    obs.event(i, TraceEvent::Answered { port: d.in_port });
                }
                tx.send(d.in_port, TxFrame { buf: d.buf, head: d.head, len: d.len });
            }
            Taken::Absorbed => {
                tally.slow();
                ctx.counters.underlay_absorbed.add(1);
                if O::ENABLED {
                    obs.event(i, TraceEvent::Absorbed);
                }
                tx.release(d.buf);
            }
            Taken::Dropped(reason) => {
                count_drop(ctx.counters, ov, d, None);
                drop_desc(tx, ctx.counters, obs, i, d, reason, tally)
            }
            Taken::DroppedFrom(reason, tunnel) => {
                count_drop(ctx.counters, ov, d, Some(tunnel));
                drop_desc(tx, ctx.counters, obs, i, d, reason, tally)
            }
        }
    }
}

/// Counts an underlay drop of `d` as its VTEP's, and as `tunnel`'s when the
/// packet named one.
#[cold]
#[inline(never)]
fn count_drop(counters: &super::WorkerCounters, ov: &OverlayPlan, d: &PktDesc, tunnel: Option<PortId>) {
    if let Some(c) = ov.vtep_of_port(d.in_port).and_then(|(i, _)| counters.vtep_rx_drops.get(usize::from(i))) {
        c.add(1);
    }
    if let Some(c) = tunnel.and_then(|t| counters.tunnel(usize::from(t.0.wrapping_sub(ov.first_tunnel)))) {
        c.rx_drops.add(1);
    }
}

/// The underlay stage for one frame on a VTEP's port.
fn underlay<P: FramePool>(
    ov: &OverlayPlan,
    ctx: Ctx<'_>,
    d: &mut PktDesc,
    io: &mut P,
    last: &mut udp::LastTunnel,
    meta: &mut TunnelMeta,
) -> Taken {
    let Some((vtep_i, vtep)) = ov.vtep_of_port(d.in_port) else { return Taken::Dropped(DropReason::UnknownPort) };
    let (head, len) = (d.head as usize, d.len as usize);
    let Some(frame) = io.buffer_mut(d.buf).get_mut(head..head + len) else {
        return Taken::Dropped(DropReason::Truncated);
    };
    let Ok(eth) = EthernetFrame::new_checked(&*frame) else { return Taken::Dropped(DropReason::Truncated) };
    // One 8-byte load serves both tests (the I/G bit is bit 40 of it).
    let dst = eth.dst_addr_u64();
    let for_us = dst == vtep.mac.to_u64();
    let multicast = dst & 1 << 40 != 0;
    // Multicast frames may be for a group the VTEP joined (the IP
    // destination decides) and, over IPv6, for its solicited-node address.
    let maybe_group = multicast && !ov.groups.is_empty();
    match (eth.ethertype(), vtep.address) {
        (EtherType::ARP, IpAddr::V4(address)) => local::arp(ov, vtep_i, vtep, address, frame, ctx),
        (EtherType::IPV4, IpAddr::V4(address)) if for_us || maybe_group => {
            ipv4(ov, vtep_i, vtep, address, frame, d, ctx.counters, (last, meta))
        }
        (EtherType::IPV6, IpAddr::V6(address)) if for_us || multicast => {
            ipv6(ov, vtep_i, vtep, address, io, d, ctx, (last, meta))
        }
        (EtherType::ARP | EtherType::IPV4 | EtherType::IPV6, _) => Taken::Dropped(DropReason::UnderlayNotForUs),
        _ if for_us => Taken::Dropped(DropReason::UnderlayUnsupported),
        _ => Taken::Dropped(DropReason::UnderlayNotForUs),
    }
}

/// An IPv4 packet to the VTEP's MAC: checked, then ICMP or UDP.
#[allow(clippy::too_many_arguments)]
#[inline]
fn ipv4(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &crate::overlay::VtepPlan,
    address: Ipv4Addr,
    frame: &mut [u8],
    d: &mut PktDesc,
    counters: &super::WorkerCounters,
    (last, meta): (&mut udp::LastTunnel, &mut TunnelMeta),
) -> Taken {
    let ip = match Ipv4Packet::new_checked(&frame[ethernet::HEADER_LEN..]) {
        Ok(ip) => ip,
        Err(e) => return Taken::Dropped(outer_error(e)),
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let to_group = dst != address;
    if to_group && (!ov.joined(vtep_i, dst.into()) || ip.protocol() != IpProtocol::UDP) {
        return Taken::Dropped(DropReason::UnderlayNotForUs);
    }
    if !ip.verify_checksum() {
        return Taken::Dropped(DropReason::DecapBadIpChecksum);
    }
    if ip.is_fragment() {
        return Taken::Dropped(DropReason::DecapFragment);
    }
    let l4 = ethernet::HEADER_LEN + ip.header_len()..ethernet::HEADER_LEN + usize::from(ip.total_len());
    match ip.protocol() {
        IpProtocol::ICMP => local::icmp_echo(vtep, address, frame, counters),
        IpProtocol::UDP => {
            let outer = udp::Outer { src, dst, ecn: ip.ecn(), l4 };
            taken(d, udp::decap(ov, vtep_i, vtep, frame, outer, last, meta))
        }
        IpProtocol::IPIP if !to_group => {
            meta.reset(0);
            taken(d, ipip::decap(ov, vtep_i, frame, counters))
        }
        _ => Taken::Dropped(DropReason::UnderlayUnsupported),
    }
}

/// An IPv6 packet on an IPv6 VTEP's port, to its MAC or a multicast MAC:
/// neighbour discovery and echo for its address ([`local`]), UDP tunnels
/// to its address or a group it joined. Extension headers before UDP are
/// not taken (a VTEP sends none), a fragment header least of all.
#[allow(clippy::too_many_arguments)]
fn ipv6<P: FramePool>(
    ov: &OverlayPlan,
    vtep_i: u16,
    vtep: &crate::overlay::VtepPlan,
    address: Ipv6Addr,
    io: &mut P,
    d: &mut PktDesc,
    ctx: Ctx<'_>,
    (last, meta): (&mut udp::LastTunnel, &mut TunnelMeta),
) -> Taken {
    let (head, len) = (d.head as usize, d.len as usize);
    let Some(frame) = io.buffer_mut(d.buf).get_mut(head..head + len) else {
        return Taken::Dropped(DropReason::Truncated);
    };
    let ip = match Ipv6Packet::new_checked(&frame[ethernet::HEADER_LEN..]) {
        Ok(ip) => ip,
        Err(e) => return Taken::Dropped(outer_error(e)),
    };
    let (src, dst, next, ecn) = (ip.src_addr(), ip.dst_addr(), ip.next_header(), ip.traffic_class() & udp::ECN_CE);
    let l4 = ethernet::HEADER_LEN + ipv6::HEADER_LEN
        ..ethernet::HEADER_LEN + ipv6::HEADER_LEN + usize::from(ip.payload_len());
    match next {
        IpProtocol::ICMPV6 => local::icmpv6(ov, vtep_i, vtep, address, io, d, l4, ctx),
        IpProtocol::UDP if dst == address || ov.joined(vtep_i, dst.into()) => {
            let outer = udp::Outer { src, dst, ecn, l4 };
            taken(d, udp::decap(ov, vtep_i, vtep, frame, outer, last, meta))
        }
        IpProtocol::IPV6_FRAG if dst == address => Taken::Dropped(DropReason::DecapFragment),
        _ if dst == address => Taken::Dropped(DropReason::UnderlayUnsupported),
        _ => Taken::Dropped(DropReason::UnderlayNotForUs),
    }
}

/// Points `d` at the inner frame a decapsulation found, or says why not.
fn taken(d: &mut PktDesc, decapsulated: Result<Inner, impl Into<udp::Refused>>) -> Taken {
    match decapsulated.map_err(Into::into) {
        Ok(inner) => {
            d.head += inner.offset;
            d.len = inner.len;
            d.in_port = inner.port;
            Taken::Inner
        }
        Err(udp::Refused { reason, tunnel: None }) => Taken::Dropped(reason),
        Err(udp::Refused { reason, tunnel: Some(t) }) => Taken::DroppedFrom(reason, t),
    }
}

/// The drop reason for an outer header a view rejected.
fn outer_error(e: Error) -> DropReason {
    match e {
        Error::Truncated { .. } => DropReason::DecapTruncated,
        Error::Malformed { .. } | Error::Checksum { .. } => DropReason::UnderlayBadIp,
    }
}

/// Where the inner frame of a decapsulated packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Inner {
    /// Bytes from the outer frame's start to the inner frame's.
    pub offset: u16,
    /// The inner frame's length.
    pub len: u16,
    /// The tunnel port of the (VNI, remote VTEP) it came from.
    pub port: PortId,
}
