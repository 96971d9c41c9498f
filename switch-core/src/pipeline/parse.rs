//! Stage 1, parse: check the frame fits its buffer, read the addresses, the
//! outer EtherType and (when present) the TCI, and reject destinations a
//! bridge must never forward. (Sources that must never be learned are the
//! learn stage's business: see [`super::learn::check_source`].)
//!
//! The common frame (16 bytes or more) is read with three big-endian loads
//! from one fixed-size array, which hold both MACs, the EtherType and the
//! TCI. The rare frame of 14 or 15 bytes is
//! zero-padded to 16 first.

use super::DropReason;
use crate::wire::ethernet::{self, EthernetFrame};

/// 01:80:c2:00:00:00 - 01:80:c2:00:00:0f, as the top 44 bits of a u64 MAC.
const RESERVED_PREFIX: u64 = 0x0180_c200_0000 >> 4;
/// The I/G (group) bit of a MAC in `u64` form: bit 0 of the first octet.
pub(super) const GROUP_BIT: u64 = 1 << 40;
/// The low 48 bits of a word: a MAC.
pub(super) const MAC_MASK: u64 = 0xffff_ffff_ffff;
/// Bytes the fast path loads: addresses, EtherType and a TCI's worth.
const FAST_LEN: usize = ethernet::HEADER_LEN + 2;
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
    // Three loads: the destination (bytes 0-5, with two source bytes), the
    // source with the EtherType (6-13), and the TCI (14-15).
    let (w0, w1, tci) = match bytes.first_chunk::<FAST_LEN>() {
        Some(h) => words(h),
        None => words(&short_header(bytes)?),
    };
    let dst = w0 >> 16;
    let src = w1 >> 16;
    if dst >> 4 == RESERVED_PREFIX {
        return Err(DropReason::ReservedMulticast);
    }
    Ok(Parsed { dst, src, ethertype: w1 as u16, tci, has_tci: bytes.len() >= TAGGED_MIN })
}

/// Big-endian words at offsets 0 (8 bytes), 6 (8 bytes) and 14 (2 bytes).
/// Fixed offsets into a fixed-size array: no bounds checks remain.
#[inline(always)]
fn words(h: &[u8; FAST_LEN]) -> (u64, u64, u16) {
    (
        u64::from_be_bytes(h[0..8].try_into().unwrap_or_default()),
        u64::from_be_bytes(h[6..14].try_into().unwrap_or_default()),
        u16::from_be_bytes([h[14], h[15]]),
    )
}

/// A frame of 14 or 15 bytes (a header, no room for a TCI), zero-padded to
/// the fast path's length; runts are truncated.
#[cold]
#[inline(never)]
fn short_header(bytes: &[u8]) -> Result<[u8; FAST_LEN], DropReason> {
    EthernetFrame::new_checked(bytes).map_err(|_| DropReason::Truncated)?;
    let mut h = [0u8; FAST_LEN];
    let n = bytes.len().min(FAST_LEN);
    h[..n].copy_from_slice(&bytes[..n]);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize, dst: [u8; 6], src: [u8; 6], rest: &[u8]) -> Vec<u8> {
        let mut f = [dst.as_slice(), src.as_slice(), rest].concat();
        f.resize(len, 0xee);
        f
    }

    const UNI_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const UNI_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

    #[test]
    fn fast_and_short_paths_agree() {
        for len in [14, 15, 16, 17, 18, 64] {
            let f = frame(len, UNI_A, UNI_B, &[0x81, 0x00, 0x20, 0x0a, 0x08, 0x00]);
            let p = parse(&f).unwrap();
            assert_eq!((p.dst, p.src), (0x0200_0000_000a, 0x0200_0000_000b), "len {len}");
            assert_eq!(p.ethertype, 0x8100, "len {len}");
            assert_eq!(p.has_tci, len >= 18, "len {len}");
            if len >= 16 {
                assert_eq!(p.tci, 0x200a, "len {len}");
            }
        }
    }

    #[test]
    fn reserved_destinations_and_runts_are_rejected() {
        for len in [14, 15, 64] {
            let stp = frame(len, [0x01, 0x80, 0xc2, 0, 0, 0x0f], UNI_B, &[8, 0]);
            assert_eq!(parse(&stp).unwrap_err(), DropReason::ReservedMulticast);
            let not_reserved = frame(len, [0x01, 0x80, 0xc2, 0, 0, 0x10], UNI_B, &[8, 0]);
            assert!(parse(&not_reserved).is_ok());
        }
        assert_eq!(parse(&[0u8; 13]).unwrap_err(), DropReason::Truncated);
        assert_eq!(parse(&[]).unwrap_err(), DropReason::Truncated);
    }
}
