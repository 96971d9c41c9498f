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
//! drops what it cannot resolve in time.

pub(super) mod udp;

use super::{DropReason, WorkerCounters};
use crate::overlay::{OverlayPlan, TunnelPlan};
use crate::port::{BufId, FramePool, PortTx, TxFrame};
use crate::types::{MacAddr, PortId};
use crate::wire::arp::{self, ArpOperation, ArpRepr};
use crate::wire::{ethernet, ArpPacket, EtherType, EthernetFrame};

/// Next hops whose last ARP request time each worker remembers; a larger
/// index shares a slot (and so, at worst, a request per second).
const SOLICIT_SLOTS: usize = 64;
/// Bytes of an ARP request on the wire (the Ethernet minimum, padding
/// included).
const ARP_FRAME_LEN: usize = 60;

/// Per-worker overlay state that outlives a batch.
#[derive(Clone, Debug)]
pub struct OverlayState {
    /// Per next-hop slot: the second (plus one) of its last ARP request.
    solicited: [u32; SOLICIT_SLOTS],
}

impl Default for OverlayState {
    fn default() -> Self {
        OverlayState { solicited: [0; SOLICIT_SLOTS] }
    }
}

/// The backend, seen through the overlay for one batch.
pub(super) struct EncapTx<'a, IO> {
    io: &'a mut IO,
    ov: &'a OverlayPlan,
    counters: &'a WorkerCounters,
    state: &'a mut OverlayState,
    now_s: u32,
    /// Set while the frames of the batch being sent came from a remote
    /// VTEP: they never leave to another one (split horizon).
    pub from_tunnel: bool,
}

impl<'a, IO> EncapTx<'a, IO> {
    /// Wraps `io` for one batch.
    pub fn new(
        io: &'a mut IO,
        ov: &'a OverlayPlan,
        counters: &'a WorkerCounters,
        state: &'a mut OverlayState,
        now_s: u32,
    ) -> Self {
        EncapTx { io, ov, counters, state, now_s, from_tunnel: false }
    }
}

impl<IO: FramePool> FramePool for EncapTx<'_, IO> {
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

impl<IO: FramePool + PortTx> PortTx for EncapTx<'_, IO> {
    #[inline(always)]
    fn send(&mut self, port: PortId, frame: TxFrame) {
        if port.0 < self.ov.first_tunnel {
            self.io.send(port, frame);
        } else {
            self.send_tunnel(port, frame);
        }
    }
}

impl<IO: FramePool + PortTx> EncapTx<'_, IO> {
    /// A send to tunnel port `port`: encapsulate, or drop and count.
    #[inline(never)]
    fn send_tunnel(&mut self, port: PortId, frame: TxFrame) {
        let ov = self.ov;
        let outcome = match ov.tunnel(port) {
            None => Err(DropReason::UnknownPort),
            Some(_) if self.from_tunnel => Err(DropReason::SplitHorizon),
            Some(t) => self.encap(t, frame),
        };
        match outcome {
            Ok(out) => {
                self.counters.encapsulated.add(1);
                if let Some(t) = self.counters.tunnel(usize::from(port.0 - ov.first_tunnel)) {
                    t.tx_packets.add(1);
                    t.tx_bytes.add(u64::from(frame.len));
                }
                self.io.send(out.0, out.1);
            }
            Err(reason) => {
                self.counters.drop(reason);
                self.io.release(frame.buf);
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

    /// Sends an ARP request for next hop `i`, unless this worker sent one
    /// this second.
    #[cold]
    fn solicit(&mut self, i: u16) {
        let slot = &mut self.state.solicited[i as usize % SOLICIT_SLOTS];
        let stamp = self.now_s.wrapping_add(1);
        if *slot == stamp {
            return;
        }
        let Some(n) = self.ov.neighbors.entries.get(i as usize) else { return };
        let Some(vtep) = self.ov.vteps.get(n.vtep as usize) else { return };
        let Some(buf) = self.io.alloc() else {
            self.counters.drop(DropReason::NoBuffer);
            return;
        };
        *slot = stamp;
        let head = self.io.headroom() as usize;
        let Some(bytes) = self.io.buffer_mut(buf).get_mut(head..head + ARP_FRAME_LEN) else {
            self.io.release(buf);
            return;
        };
        write_arp_request(bytes, vtep.mac, vtep.address, n.ip);
        self.counters.arp_requests.add(1);
        self.io.send(vtep.port, TxFrame { buf, head: head as u16, len: ARP_FRAME_LEN as u16 });
    }
}

/// An Ethernet broadcast "who has `target`? tell `ip` at `mac`" in `bytes`
/// (at least [`ARP_FRAME_LEN`] long; the padding is zeroed).
fn write_arp_request(bytes: &mut [u8], mac: MacAddr, ip: std::net::Ipv4Addr, target: std::net::Ipv4Addr) {
    bytes.fill(0);
    let mut eth = EthernetFrame::new_unchecked(&mut *bytes);
    eth.set_dst_addr(MacAddr::BROADCAST);
    eth.set_src_addr(mac);
    eth.set_ethertype(EtherType::ARP);
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: mac,
        sender_protocol_addr: ip,
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: target,
    };
    let end = ethernet::HEADER_LEN + arp::HEADER_LEN;
    repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[ethernet::HEADER_LEN..end]));
}
