//! Stage 2, classify: ingress port + outer tag → bridge domain.
//!
//! A tag counts only when its TPID is the one the port recognises (0x8100
//! for 802.1Q ports, 0x88a8 for 802.1ad provider trunks); anything else is
//! payload, exactly as a C-VLAN or S-VLAN bridge port would see it. A frame
//! that matches no domain of its port is dropped here, so it can never reach
//! another VLAN.

use super::trace::{Observer, TraceEvent};
use super::{Batch, DropReason, Scratch, Verdict};
use crate::bridge::plan::IngressRule;
use crate::bridge::ForwardingPlan;
use crate::types::BdId;

pub(super) fn run<O: Observer>(plan: &ForwardingPlan, batch: &mut Batch, n: usize, scratch: &Scratch, obs: &mut O) {
    for i in 0..n {
        if batch.verdicts[i] != Verdict::Pending {
            continue;
        }
        let d = &mut batch.descs[i];
        let Some(port) = plan.ports.get(d.in_port.index()) else {
            batch.verdicts[i] = Verdict::Drop(DropReason::UnknownPort);
            continue;
        };
        let result = match port.ingress {
            IngressRule::Tunnel { bd } => Ok((bd, 0, 0)),
            IngressRule::Vlan { tpid, untagged } if scratch.ethertype[i] == tpid => {
                if !scratch.has_tci[i] {
                    Err(DropReason::Truncated)
                } else {
                    let tci = scratch.tci[i];
                    let vid = tci & 0x0fff;
                    let pcp = (tci >> 13) as u8;
                    if vid == 0 {
                        // Priority-tagged: the frame belongs to the untagged
                        // VLAN, and its priority is kept.
                        if untagged == BdId::NONE {
                            Err(DropReason::VlanNotAllowed)
                        } else {
                            Ok((untagged, 4, pcp))
                        }
                    } else if vid == 0x0fff {
                        Err(DropReason::ReservedVlan)
                    } else {
                        match port.vid_to_bd[vid as usize] {
                            BdId::NONE => Err(DropReason::VlanNotAllowed),
                            bd => Ok((bd, 4, pcp)),
                        }
                    }
                }
            }
            IngressRule::Vlan { untagged, .. } => {
                if untagged == BdId::NONE {
                    Err(DropReason::UntaggedNotAllowed)
                } else {
                    Ok((untagged, 0, 0))
                }
            }
        };
        match result {
            Ok((bd, tag_len, pcp)) => {
                d.bd = bd;
                d.tag_len = tag_len;
                d.pcp = pcp;
                obs.event(i, TraceEvent::Classified { port: d.in_port, bd, tag_len });
            }
            Err(reason) => batch.verdicts[i] = Verdict::Drop(reason),
        }
    }
}
