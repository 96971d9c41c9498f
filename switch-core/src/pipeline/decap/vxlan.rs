//! The VXLAN header (RFC 7348 section 5): 8 bytes, the I flag and the VNI.

use crate::pipeline::meta::TunnelMeta;
use crate::pipeline::DropReason;
use crate::wire::vxlan::{self, VxlanPacket};
use crate::wire::Error;

/// The VNI of the VXLAN header at the start of `udp_payload`, and the
/// header's length; `meta` gets the VNI (VXLAN carries no options).
pub(super) fn header(udp_payload: &[u8], meta: &mut TunnelMeta) -> Result<(u32, usize), DropReason> {
    match VxlanPacket::new_checked(udp_payload) {
        Ok(vx) => {
            meta.reset(vx.vni());
            Ok((vx.vni(), vxlan::HEADER_LEN))
        }
        Err(Error::Truncated { .. }) => Err(DropReason::DecapTruncated),
        // The only other refusal: no I flag, so the VNI is not valid.
        Err(_) => Err(DropReason::VxlanNoIFlag),
    }
}
