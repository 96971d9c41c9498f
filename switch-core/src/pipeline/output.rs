//! Stage 5, output: rewrite VLAN tags for each egress port ([`unicast`]),
//! replicate floods ([`flood`]), hand frames to the backend, and recycle drops
//! ([`drop_frame`]).
//!
//! Tag rewriting works in place in the frame's chunk: popping a tag moves the
//! 12 address bytes forward by 4, pushing one moves them back into headroom,
//! and re-tagging overwrites 4 bytes. The payload is never moved.

use super::trace::{Observer, TraceEvent};
use super::{DropReason, PktDesc, Tally, WorkerCounters};
use crate::bridge::{EgressTag, ForwardingPlan};
use crate::port::{FramePool, PortTx, TxFrame};
use crate::types::PortId;
use crate::wire::vlan;

/// Bytes of destination plus source MAC: what moves when a tag is pushed or
/// popped.
const ADDRS: usize = 12;
/// Bytes of an 802.1Q/802.1ad tag (TPID + TCI).
const TAG: usize = 4;

/// Rewrites the frame at `chunk[head..head+len]`, which carries `tag_len`
/// bytes of ingress tag (0 or 4) after its addresses, so that it leaves with
/// `tag`. Returns the new (head, len).
///
/// Fails with [`DropReason::NoHeadroom`] when a push has no room in front of
/// the frame, and with [`DropReason::EgressNotMember`] for `NotMember`.
#[inline]
pub fn apply_egress_tag(
    chunk: &mut [u8],
    head: u16,
    len: u16,
    tag_len: u8,
    pcp: u8,
    tag: EgressTag,
) -> Result<(u16, u16), DropReason> {
    let h = head as usize;
    if h + len as usize > chunk.len() || (len as usize) < ADDRS + tag_len as usize {
        return Err(DropReason::Truncated);
    }
    match (tag, tag_len) {
        (EgressTag::NotMember, _) => Err(DropReason::EgressNotMember),
        (EgressTag::Untagged, 0) => Ok((head, len)),
        (EgressTag::Untagged, _) => {
            chunk.copy_within(h..h + ADDRS, h + TAG);
            Ok((head + TAG as u16, len - TAG as u16))
        }
        (EgressTag::Tagged { tpid, vid }, 0) => {
            if h < TAG {
                return Err(DropReason::NoHeadroom);
            }
            chunk.copy_within(h..h + ADDRS, h - TAG);
            write_tag(&mut chunk[h - TAG + ADDRS..h + ADDRS], tpid, pcp, vid);
            Ok((head - TAG as u16, len + TAG as u16))
        }
        (EgressTag::Tagged { tpid, vid }, _) => {
            write_tag(&mut chunk[h + ADDRS..h + ADDRS + TAG], tpid, pcp, vid);
            Ok((head, len))
        }
    }
}

/// [`apply_egress_tag`] for the frame `d` describes (in `chunk`, which may
/// be a copy at the same offset), leaving on `port`, then `port`'s frame
/// limit: the frame as it would go on the wire must fit the port's MTU.
#[inline(always)]
fn retag_for(
    plan: &ForwardingPlan,
    port: PortId,
    chunk: &mut [u8],
    d: &PktDesc,
    tag: EgressTag,
) -> Result<(u16, u16), DropReason> {
    let (head, len) = apply_egress_tag(chunk, d.head, d.len, d.tag_len, d.pcp, tag)?;
    if len <= plan.shortest_max_frame {
        return Ok((head, len));
    }
    match plan.ports.get(port.index()) {
        Some(p) if len > p.max_frame => Err(DropReason::EgressTooBig),
        _ => Ok((head, len)),
    }
}

#[inline]
fn write_tag(dst: &mut [u8], tpid: u16, pcp: u8, vid: u16) {
    let tci = vlan::tci(pcp, false, vid);
    dst[..2].copy_from_slice(&tpid.to_be_bytes());
    dst[2..4].copy_from_slice(&tci.to_be_bytes());
}

/// Sends frame `i` to `port`, the port the FDB has its destination on,
/// re-tagged for that port, and counts it as forwarded; or drops and counts
/// it, as `SameSegment` when `port` is the frame's ingress port (it is
/// already on the destination's segment). The common path counts nothing:
/// see [`Tally`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn unicast<IO, O>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    port: PortId,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) where
    IO: FramePool + PortTx,
    O: Observer,
{
    // Untagged in, untagged out (every access-to-access frame): nothing to
    // rewrite, so the frame's bytes are not touched, and the port's packed
    // tagging answers without the egress tag lookup. A send of its own, so
    // that the frame's fields go straight from the descriptor to the backend
    // rather than through a join with the rewrite path's results.
    //
    // The test is `d.tag_len == 0 && d.bd == untagged_out` as one compare:
    // domain, tag length and priority are adjacent in the descriptor, so
    // the compiler reads them with one load, and an untagged frame's
    // priority is 0 (should it not be, the frame takes the general path,
    // which sends it unchanged all the same).
    if plan.tagging_of(port).untagged_out.0 as u32 == untagged_class(d) && port != d.in_port {
        trace_untagged_out(obs, i, port);
        // Never a tunnel or gateway port: the plan keeps those off this
        // path, so the backend's send needs no test for them.
        io.send_switched(port, TxFrame { buf: d.buf, head: d.head, len: d.len });
        return;
    }
    unicast_slow(plan, counters, i, d, port, io, obs, tally);
}

/// Frame `d`'s domain, tag length and priority as the one word the untagged
/// fast path compares with a port's untagged domain: equal only for an
/// untagged frame (priority 0) of that domain.
#[inline(always)]
fn untagged_class(d: &PktDesc) -> u32 {
    d.bd.0 as u32 | (d.tag_len as u32) << 16 | (d.pcp as u32) << 24
}

/// The trace of an untagged frame sent unchanged on `port`.
#[inline(always)]
fn trace_untagged_out<O: Observer>(obs: &mut O, i: usize, port: PortId) {
    if O::ENABLED {
        obs.event(i, TraceEvent::LookupHit { port });
        obs.event(i, TraceEvent::Output { port, tag: EgressTag::Untagged });
    }
}

/// [`unicast`] past its fast path. A tunnel or gateway port, which the plan
/// keeps off that path, gets the same test here, against the domain it
/// takes untagged frames into (and sends them untagged in), then the send;
/// anything else takes [`unicast_rewrite`]. Out of line and small, so that
/// neither the fast path nor this one pays for the other.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn unicast_slow<IO, O>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    port: PortId,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) where
    IO: FramePool + PortTx,
    O: Observer,
{
    let tunnel = port.0 >= plan.first_tunnel;
    if tunnel && plan.tagging_of(port).untagged_in.0 as u32 == untagged_class(d) && port != d.in_port {
        trace_untagged_out(obs, i, port);
        send(io, obs, i, port, TxFrame { buf: d.buf, head: d.head, len: d.len });
        return;
    }
    unicast_rewrite(plan, counters, i, d, port, io, obs, tally);
}

/// [`unicast`] for a frame whose tags may change, or which goes back to its
/// ingress port: drops the latter, and for the others looks up the egress
/// tag and rewrites the frame for it. Out of line, so that the descriptor's
/// fields it reads are not loaded on the common path ahead of its test, and
/// so that the common path has one way out to the uncommon ones.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn unicast_rewrite<IO, O>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    port: PortId,
    io: &mut IO,
    obs: &mut O,
    tally: &mut Tally<'_>,
) where
    IO: FramePool + PortTx,
    O: Observer,
{
    tally.slow();
    if port == d.in_port {
        drop_frame(io, counters, obs, i, d.buf, DropReason::SameSegment);
        return;
    }
    if O::ENABLED {
        obs.event(i, TraceEvent::LookupHit { port });
    }
    let tag = plan.ports.get(port.index()).and_then(|p| p.egress.get(d.bd.index()).copied()).unwrap_or_default();
    match retag_for(plan, port, io.buffer_mut(d.buf), d, tag) {
        Ok((head, len)) => {
            if O::ENABLED {
                obs.event(i, TraceEvent::Output { port, tag });
            }
            // A per-worker counter: one add to a line no other core writes.
            counters.forwarded.add(1);
            send(io, obs, i, port, TxFrame { buf: d.buf, head, len });
        }
        Err(reason) => drop_frame(io, counters, obs, i, d.buf, reason),
    }
}

/// Hands frame `i` to the backend for `port`; when tracing, with what the
/// backend reports it did (the overlay's encapsulation, or its drop).
#[inline(always)]
fn send<IO: PortTx, O: Observer>(io: &mut IO, obs: &mut O, i: usize, port: PortId, frame: TxFrame) {
    io.send(port, frame);
    if O::ENABLED {
        if let Some(event) = io.take_trace() {
            obs.event(i, event);
        }
    }
}

/// Counts a dropped frame under `reason` and gives its buffer back.
///
/// Out of line and cold: drops are the exception, and when this was inlined
/// the compiler merged its `release` with the send path's recycling into
/// one shared tail, which cost every forwarded frame jumps and a register
/// loaded with the drop reason ahead of each check.
#[cold]
#[inline(never)]
pub(super) fn drop_frame<IO: FramePool, O: Observer>(
    io: &mut IO,
    counters: &WorkerCounters,
    obs: &mut O,
    i: usize,
    buf: crate::port::BufId,
    reason: DropReason,
) {
    if O::ENABLED {
        obs.event(i, TraceEvent::Dropped(reason));
    }
    counters.drop(reason);
    io.release(buf);
}

/// [`drop_frame`] for the frame `d` describes, counted in `tally`; or,
/// for a frame from a VTEP's underlay port, which classify rejects for
/// want of a domain, its deferral to the underlay stage (see
/// `pipeline/decap`).
#[cold]
#[inline(never)]
pub(super) fn drop_desc<IO: FramePool, O: Observer>(
    io: &mut IO,
    counters: &WorkerCounters,
    obs: &mut O,
    i: usize,
    d: &PktDesc,
    reason: DropReason,
    tally: &mut Tally<'_>,
) {
    if super::decap::defer(tally, d, reason) {
        return;
    }
    tally.slow();
    drop_frame(io, counters, obs, i, d.buf, reason);
}

/// Head-end replication within the domain, skipping the ingress port (split
/// horizon). Every member but the last gets a copy; the last gets the
/// original buffer, so a two-port domain floods without copying.
pub(super) fn flood<IO, O>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    io: &mut IO,
    obs: &mut O,
) where
    IO: FramePool + PortTx,
    O: Observer,
{
    let in_port: PortId = d.in_port;
    let from_tunnel = in_port.0 >= plan.first_tunnel;
    let members = match plan.domains.get(d.bd.index()) {
        Some(dp) if from_tunnel => dp.flood.get(..dp.flood_local).unwrap_or(&[]),
        Some(dp) => dp.flood.as_slice(),
        None => &[],
    };
    let Some(last) = members.iter().rposition(|m| m.port != in_port) else {
        drop_frame(io, counters, obs, i, d.buf, DropReason::FloodNoMembers);
        return;
    };
    counters.flooded.add(1);
    // A tag push adds at most 4 bytes: below that, no member's limit can be
    // reached, and the replication loop is compiled without the check.
    if usize::from(d.len) + TAG > usize::from(plan.shortest_max_frame) {
        replicate::<IO, O, true>(plan, counters, i, d, members, last, io, obs);
    } else {
        replicate::<IO, O, false>(plan, counters, i, d, members, last, io, obs);
    }
}

/// [`flood`]'s copies to `members[..=last]` (but the ingress port), each
/// re-tagged for its port and, when `LIMITED`, checked against its port's
/// frame limit.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn replicate<IO, O, const LIMITED: bool>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    members: &[crate::bridge::plan::FloodMember],
    last: usize,
    io: &mut IO,
    obs: &mut O,
) where
    IO: FramePool + PortTx,
    O: Observer,
{
    let in_port = d.in_port;
    let (start, end) = (d.head as usize, d.head as usize + d.len as usize);
    let retag = |chunk: &mut [u8], m: &crate::bridge::plan::FloodMember| {
        if LIMITED {
            retag_for(plan, m.port, chunk, d, m.tag)
        } else {
            apply_egress_tag(chunk, d.head, d.len, d.tag_len, d.pcp, m.tag)
        }
    };
    for m in &members[..last] {
        if m.port == in_port {
            continue;
        }
        let Some(copy) = io.alloc() else {
            obs.event(i, TraceEvent::Dropped(DropReason::NoBuffer));
            counters.drop(DropReason::NoBuffer);
            continue;
        };
        io.copy_frame(d.buf, copy, start, end - start);
        counters.flood_copies.add(1);
        match retag(io.buffer_mut(copy), m) {
            Ok((head, len)) => {
                obs.event(i, TraceEvent::Output { port: m.port, tag: m.tag });
                send(io, obs, i, m.port, TxFrame { buf: copy, head, len });
            }
            Err(reason) => drop_frame(io, counters, obs, i, copy, reason),
        }
    }
    let m = members[last];
    match retag(io.buffer_mut(d.buf), &m) {
        Ok((head, len)) => {
            obs.event(i, TraceEvent::Output { port: m.port, tag: m.tag });
            send(io, obs, i, m.port, TxFrame { buf: d.buf, head, len });
        }
        Err(reason) => drop_frame(io, counters, obs, i, d.buf, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tagged: bool) -> (Vec<u8>, u16, u16) {
        let mut chunk = vec![0u8; 64];
        let head = 8usize;
        let mut f = vec![1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2];
        if tagged {
            f.extend_from_slice(&[0x81, 0x00, 0xa0, 0x0a]);
        }
        f.extend_from_slice(&[0x08, 0x00, 0xde, 0xad]);
        chunk[head..head + f.len()].copy_from_slice(&f);
        (chunk, head as u16, f.len() as u16)
    }

    fn bytes(chunk: &[u8], r: (u16, u16)) -> Vec<u8> {
        chunk[r.0 as usize..(r.0 + r.1) as usize].to_vec()
    }

    #[test]
    fn push_pop_retag_and_keep() {
        let (mut c, h, l) = frame(false);
        let r = apply_egress_tag(&mut c, h, l, 0, 3, EgressTag::Tagged { tpid: 0x88a8, vid: 20 }).unwrap();
        assert_eq!(bytes(&c, r), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x88, 0xa8, 0x60, 20, 0x08, 0x00, 0xde, 0xad]);

        let (mut c, h, l) = frame(true);
        let r = apply_egress_tag(&mut c, h, l, 4, 5, EgressTag::Untagged).unwrap();
        assert_eq!(bytes(&c, r), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x00, 0xde, 0xad]);

        let (mut c, h, l) = frame(true);
        let r = apply_egress_tag(&mut c, h, l, 4, 5, EgressTag::Tagged { tpid: 0x8100, vid: 30 }).unwrap();
        assert_eq!(bytes(&c, r), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x81, 0x00, 0xa0, 30, 0x08, 0x00, 0xde, 0xad]);

        let (mut c, h, l) = frame(false);
        assert_eq!(apply_egress_tag(&mut c, h, l, 0, 0, EgressTag::Untagged).unwrap(), (h, l));
        assert_eq!(apply_egress_tag(&mut c, h, l, 0, 0, EgressTag::NotMember), Err(DropReason::EgressNotMember));
    }

    #[test]
    fn push_without_headroom_and_bad_bounds_fail() {
        let (mut c, _, l) = frame(false);
        c.copy_within(8..8 + l as usize, 0);
        assert_eq!(
            apply_egress_tag(&mut c, 0, l, 0, 0, EgressTag::Tagged { tpid: 0x8100, vid: 1 }),
            Err(DropReason::NoHeadroom)
        );
        assert_eq!(apply_egress_tag(&mut c, 60, 10, 0, 0, EgressTag::Untagged), Err(DropReason::Truncated));
        assert_eq!(apply_egress_tag(&mut c, 0, 13, 4, 0, EgressTag::Untagged), Err(DropReason::Truncated));
    }
}
