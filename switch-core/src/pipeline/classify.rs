//! Stage 2, classify: ingress port + outer tag → bridge domain.
//!
//! A tag counts only when its TPID is the one the port recognises (0x8100
//! for 802.1Q ports, 0x88a8 for 802.1ad provider trunks); anything else is
//! payload, exactly as a C-VLAN or S-VLAN bridge port would see it. A frame
//! that matches no domain of its port is dropped here, so it can never reach
//! another VLAN.

use super::parse::{self, Parsed};
use super::DropReason;
use crate::bridge::{ForwardingPlan, PortTagging};
use crate::types::{BdId, PortId};

/// The domain a frame belongs to, and the tag bytes it arrived with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Class {
    /// Bridge domain.
    pub bd: BdId,
    /// Bytes of tag consumed (0 or 4).
    pub tag_len: u8,
    /// Priority of the consumed tag.
    pub pcp: u8,
}

/// Classifies one parsed frame received on `port`.
///
/// The common frame carries no tag the port recognises and takes the port's
/// untagged domain: one compare on the packed [`PortTagging`]. Tagged frames
/// read the port's VLAN array.
///
/// An untagged frame on a port that takes none (a trunk without a native
/// VLAN, or a port the plan does not have) comes out with the domain
/// `BdId::NONE`, not an error: the caller must reject it with
/// [`check_domain`] before the frame goes anywhere. The ingress path does so
/// only when the learn cache does not vouch for the frame's source, because
/// the cache only ever holds sources of frames that passed that check (and
/// a key's domain is part of it), which saves the common frame a compare
/// and a branch. For the same reason the port's tagging is read without a
/// bounds check ([`ForwardingPlan::tagging_of`]).
#[inline(always)]
pub(super) fn classify(plan: &ForwardingPlan, port: PortId, p: &Parsed, bytes: &[u8]) -> Result<Class, DropReason> {
    let rule = plan.tagging_of(port);
    if p.ethertype_wire() as u32 != rule.tpid_wire {
        return Ok(Class { bd: rule.untagged_in, tag_len: 0, pcp: 0 });
    }
    tagged(plan, port, rule, bytes)
}

/// Rejects a frame [`classify`] left without a domain: an untagged frame on
/// a port that takes no untagged frames, or on a port the plan does not
/// have (tagged frames are judged in `tagged`, which never returns
/// `BdId::NONE`).
#[inline(always)]
pub(super) fn check_domain(plan: &ForwardingPlan, port: PortId, bd: BdId) -> Result<(), DropReason> {
    if bd == BdId::NONE {
        Err(no_domain(plan, port))
    } else {
        Ok(())
    }
}

/// Why an untagged frame on `port` has no domain.
#[cold]
#[inline(never)]
fn no_domain(plan: &ForwardingPlan, port: PortId) -> DropReason {
    if port.index() < plan.ports.len() {
        DropReason::UntaggedNotAllowed
    } else {
        DropReason::UnknownPort
    }
}

/// A frame whose outer tag the port recognises.
#[inline]
fn tagged(plan: &ForwardingPlan, port: PortId, rule: PortTagging, bytes: &[u8]) -> Result<Class, DropReason> {
    let Some(port_plan) = plan.ports.get(port.index()) else { return Err(DropReason::UnknownPort) };
    let tci = parse::tci(bytes).ok_or(DropReason::Truncated)?;
    let vid = tci & 0x0fff;
    let pcp = (tci >> 13) as u8;
    if vid == 0 {
        // Priority-tagged: the frame belongs to the untagged VLAN, and its
        // priority is kept. A tag under the priority tag is refused: where
        // the untagged VLAN leaves untagged, the next switch would read it
        // as the frame's VLAN (VLAN hopping).
        if rule.untagged_in == BdId::NONE || parse::inner_is_tag(bytes) {
            Err(DropReason::VlanNotAllowed)
        } else {
            Ok(Class { bd: rule.untagged_in, tag_len: 4, pcp })
        }
    } else if vid == 0x0fff {
        Err(DropReason::ReservedVlan)
    } else {
        match port_plan.vid_to_bd.get(vid as usize) {
            Some(&bd) if bd != BdId::NONE => Ok(Class { bd, tag_len: 4, pcp }),
            _ => Err(DropReason::VlanNotAllowed),
        }
    }
}
