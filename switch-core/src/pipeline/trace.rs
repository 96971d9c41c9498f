//! Hooks that let `xvs trace` watch a frame go through the stages.
//!
//! The pipeline is generic over an [`Observer`]. Workers use [`NoTrace`],
//! whose empty inlined method makes every hook (and the building of its
//! argument) compile away. `xvs trace` uses [`TraceLog`], which records each
//! step. Both run the same stage code, so a trace shows exactly what the
//! dataplane does.

use crate::bridge::EgressTag;
use crate::fdb::LearnOutcome;
use crate::types::{BdId, MacAddr, PortId};

use super::DropReason;

/// Why a frame was flooded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodCause {
    /// ff:ff:ff:ff:ff:ff.
    Broadcast,
    /// Any other group address.
    Multicast,
    /// Unicast, not in the FDB.
    UnknownUnicast,
}

/// One observable step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// Parse: addresses, outer EtherType, and the TCI when a tag follows.
    Parsed {
        /// Destination.
        dst: MacAddr,
        /// Source.
        src: MacAddr,
        /// EtherType (or TPID) at offset 12.
        ethertype: u16,
        /// TCI at offset 14, when the frame is long enough.
        tci: Option<u16>,
    },
    /// Classify: the domain the frame belongs to.
    Classified {
        /// Ingress port.
        port: PortId,
        /// Domain.
        bd: BdId,
        /// Tag bytes consumed.
        tag_len: u8,
    },
    /// Learn step result.
    Learned(LearnOutcome),
    /// Destination found in the FDB.
    LookupHit {
        /// Egress port.
        port: PortId,
    },
    /// Flood decision.
    Flood(FloodCause),
    /// Sent on a port with this tagging.
    Output {
        /// Port.
        port: PortId,
        /// Tagging.
        tag: EgressTag,
    },
    /// Dropped.
    Dropped(DropReason),
    /// The underlay stage decapsulated the frame: what follows is the inner
    /// frame's way, from the tunnel port of its (VNI, remote VTEP).
    Decapsulated {
        /// The VNI.
        vni: u32,
        /// The tunnel port it was received on.
        tunnel: PortId,
    },
    /// A Geneve option the decapsulated frame arrived with (one event each,
    /// after [`TraceEvent::Decapsulated`]), as kept in its metadata.
    GeneveOption(crate::pipeline::meta::GeneveOptionMeta),
    /// The frame sent to a tunnel or gateway port left encapsulated: VXLAN
    /// or Geneve for a tunnel, IP-in-IP for a gateway's route.
    Encapsulated {
        /// The underlay port it left on.
        port: PortId,
        /// The outer frame's length.
        len: u16,
    },
    /// The underlay stage answered the frame (ARP or ICMP echo for a VTEP's
    /// address) and sent the answer back out of `port`.
    Answered {
        /// The underlay port.
        port: PortId,
    },
    /// The frame was for a VTEP itself and needed no answer (an ARP reply
    /// or announcement).
    Absorbed,
    /// An ARP request for a known host was answered on its ingress port
    /// (ARP suppression) instead of being flooded.
    ArpAnswered {
        /// The port the request came from, and the answer left on.
        port: PortId,
    },
    /// A flow rule of the ingress port's table matched.
    Rule {
        /// The rule's id.
        id: u32,
    },
    /// A copy of the frame, as received, was sent to this port (a rule's
    /// `mirror`).
    Mirrored {
        /// The mirror port.
        port: PortId,
    },
    /// The frame was sent as received to this port instead of being
    /// switched (a rule's `output`).
    RuleOutput {
        /// The port.
        port: PortId,
    },
}

/// Receives trace events. See the module docs.
pub trait Observer {
    /// False for observers that ignore every event, so stages can skip
    /// building them (the compiler would mostly do so anyway; this makes it
    /// certain).
    const ENABLED: bool = true;
    /// Called with the frame's index in the batch and the step.
    fn event(&mut self, pkt: usize, ev: TraceEvent);
}

/// The no-op observer of the hot path.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrace;

impl Observer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn event(&mut self, _pkt: usize, _ev: TraceEvent) {}
}

/// Records every event, for `xvs trace` and tests.
#[derive(Clone, Debug, Default)]
pub struct TraceLog {
    /// (frame index, event) in order.
    pub events: Vec<(usize, TraceEvent)>,
}

impl Observer for TraceLog {
    fn event(&mut self, pkt: usize, ev: TraceEvent) {
        self.events.push((pkt, ev));
    }
}
