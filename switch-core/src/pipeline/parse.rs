//! Stage 1, parse: check the frame fits its buffer, read the addresses, the
//! outer EtherType and (when present) the TCI, and reject sources that must
//! never be learned and destinations a bridge must never forward.

use super::DropReason;
use crate::wire::ethernet::{self, EthernetFrame};

/// 01:80:c2:00:00:00 - 01:80:c2:00:00:0f, as the top 44 bits of a u64 MAC.
const RESERVED_PREFIX: u64 = 0x0180_c200_0000 >> 4;
/// The I/G (group) bit of a MAC in `u64` form: bit 0 of the first octet.
pub(super) const GROUP_BIT: u64 = 1 << 40;
/// A tag is usable only with its inner EtherType: 14 + 4 bytes.
const TAGGED_MIN: usize = ethernet::HEADER_LEN + 4;

/// What parse learns about a frame.
#[derive(Clone, Copy, Debug)]
pub(super) struct Parsed {
    /// Destination MAC, low 48 bits.
    pub dst: u64,
    /// Source MAC, low 48 bits.
    pub src: u64,
    /// EtherType (or TPID) at offset 12.
    pub ethertype: u16,
    /// TCI at offset 14, when `has_tci`.
    pub tci: u16,
    /// The frame is long enough for a tag and its inner EtherType.
    pub has_tci: bool,
}

/// Parses one frame (the bytes from its first to its last).
#[inline(always)]
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, DropReason> {
    let frame = EthernetFrame::new_checked(bytes).map_err(|_| DropReason::Truncated)?;
    let src = frame.src_addr_u64();
    let dst = frame.dst_addr_u64();
    // EtherType and TCI in one load when a tag can be there.
    let (ethertype, tci, has_tci) = match bytes.get(12..16) {
        Some(&[a, b, c, d]) if bytes.len() >= TAGGED_MIN => {
            (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]), true)
        }
        _ => (frame.ethertype(), 0, false),
    };
    if src & GROUP_BIT != 0 {
        Err(DropReason::SrcMacMulticast)
    } else if src == 0 {
        Err(DropReason::SrcMacZero)
    } else if dst >> 4 == RESERVED_PREFIX {
        Err(DropReason::ReservedMulticast)
    } else {
        Ok(Parsed { dst, src, ethertype, tci, has_tci })
    }
}
