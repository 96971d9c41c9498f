//! Stage 2, classify: ingress port + outer tag → bridge domain.
//!
//! A tag counts only when its TPID is the one the port recognises (0x8100
//! for 802.1Q ports, 0x88a8 for 802.1ad provider trunks); anything else is
//! payload, exactly as a C-VLAN or S-VLAN bridge port would see it. A frame
//! that matches no domain of its port is dropped here, so it can never reach
//! another VLAN.

use super::parse::Parsed;
use super::DropReason;
use crate::bridge::plan::{IngressRule, PortPlan};
use crate::types::BdId;

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
#[inline(always)]
pub(super) fn classify(port: &PortPlan, p: &Parsed) -> Result<Class, DropReason> {
    match port.ingress {
        IngressRule::Tunnel { bd } => Ok(Class { bd, tag_len: 0, pcp: 0 }),
        IngressRule::Vlan { tpid, untagged } if p.ethertype == tpid => {
            if !p.has_tci {
                return Err(DropReason::Truncated);
            }
            let vid = p.tci & 0x0fff;
            let pcp = (p.tci >> 13) as u8;
            if vid == 0 {
                // Priority-tagged: the frame belongs to the untagged VLAN,
                // and its priority is kept.
                if untagged == BdId::NONE {
                    Err(DropReason::VlanNotAllowed)
                } else {
                    Ok(Class { bd: untagged, tag_len: 4, pcp })
                }
            } else if vid == 0x0fff {
                Err(DropReason::ReservedVlan)
            } else {
                match port.vid_to_bd.get(vid as usize) {
                    Some(&bd) if bd != BdId::NONE => Ok(Class { bd, tag_len: 4, pcp }),
                    _ => Err(DropReason::VlanNotAllowed),
                }
            }
        }
        IngressRule::Vlan { untagged, .. } => {
            if untagged == BdId::NONE {
                Err(DropReason::UntaggedNotAllowed)
            } else {
                Ok(Class { bd: untagged, tag_len: 0, pcp: 0 })
            }
        }
    }
}
