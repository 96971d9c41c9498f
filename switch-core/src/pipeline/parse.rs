//! Stage 1, parse: check the frame fits its buffer, read the addresses, the
//! outer EtherType and (when present) the TCI; and ([`check_reserved`])
//! reject destinations a bridge must never forward. (Sources that must never be learned are the
//! learn stage's business: see [`super::learn::check_source`].)
//!
//! The common frame (16 bytes or more) is read with two little-endian loads
//! from one fixed-size array, which hold both MACs and the EtherType: bytes 0-7 (the destination, then two source
//! bytes) and 6-13 (the source, then the EtherType). Little-endian because
//! that is the FDB key's byte order ([`FdbKey::from_wire`]): a key is the
//! load shifted left by 16, with no byte swaps. The TCI is read only for a
//! tagged frame. The rare frame of 14 or 15 bytes is zero-padded to 16
//! first.

use super::DropReason;
use crate::fdb::FdbKey;
use crate::types::BdId;
use crate::wire::ethernet::{self, EthernetFrame};
use crate::wire::EtherType;

/// 01:80:c2:00:00:0X, the 802.1D reserved destinations: the first four
/// octets as a little-endian `u32`...
const RESERVED_FIRST4: u32 = u32::from_le_bytes([0x01, 0x80, 0xc2, 0x00]);
/// ...and octets 4 and 5 (`00`, `0X`) as a little-endian `u16`, masked.
const RESERVED_LAST2_MASK: u16 = u16::from_le_bytes([0xff, 0xf0]);
/// Bytes the fast path reads: addresses, EtherType and a TCI's worth.
const FAST_LEN: usize = ethernet::HEADER_LEN + 2;
/// A tag is usable only with its inner EtherType: 14 + 4 bytes.
const TAGGED_MIN: usize = ethernet::HEADER_LEN + 4;

/// What parse reads from a frame, in wire byte order.
#[derive(Clone, Copy, Debug)]
pub(super) struct Parsed {
    /// Bytes 0-7 as a little-endian word: the destination MAC in the low 48
    /// bits, in wire order.
    dst_word: u64,
    /// Bytes 6-13 as a little-endian word: the source MAC in the low 48 bits,
    /// the EtherType's two bytes on top.
    src_word: u64,
}

impl Parsed {
    /// True when the destination is a group (multicast or broadcast)
    /// address.
    #[inline(always)]
    pub fn dst_is_group(&self) -> bool {
        self.dst_word & 1 != 0
    }

    /// (domain, destination) key; the MAC may be a group address.
    #[inline(always)]
    pub fn dst_key(&self, bd: BdId) -> FdbKey {
        FdbKey::from_wire(bd, self.dst_word)
    }

    /// (domain, source) key.
    #[inline(always)]
    pub fn src_key(&self, bd: BdId) -> FdbKey {
        FdbKey::from_wire(bd, self.src_word)
    }

    /// The EtherType (or TPID) at offset 12 as its two wire bytes loaded
    /// little-endian: compare it with a TPID in the same form
    /// ([`crate::bridge::PortTagging`]) and no swap is needed.
    #[inline(always)]
    pub fn ethertype_wire(&self) -> u16 {
        (self.src_word >> 48) as u16
    }

    /// The EtherType (or TPID) at offset 12.
    #[cfg(test)]
    pub fn ethertype(&self) -> u16 {
        self.ethertype_wire().swap_bytes()
    }
}

/// The TCI of a frame whose EtherType is a TPID, when the frame is long
/// enough for the tag and its inner EtherType. Read only for tagged frames,
/// so the common untagged frame neither loads it nor keeps it in a register.
#[inline]
pub(super) fn tci(bytes: &[u8]) -> Option<u16> {
    match bytes.get(ethernet::HEADER_LEN..TAGGED_MIN) {
        Some(&[hi, lo, _, _]) => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

/// Whether the EtherType behind the outer tag is itself a tag's (802.1Q or
/// 802.1ad).
pub(super) fn inner_is_tag(bytes: &[u8]) -> bool {
    match bytes.get(ethernet::HEADER_LEN..TAGGED_MIN) {
        Some(&[_, _, hi, lo]) => matches!(u16::from_be_bytes([hi, lo]), EtherType::VLAN | EtherType::QINQ),
        _ => false,
    }
}

/// Parses one frame (the bytes from its first to its last): drops runts
/// only. The caller checks the destination with [`check_reserved`].
#[inline(always)]
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, DropReason> {
    match fast(bytes) {
        Some(p) => Ok(p),
        None => {
            let (dst_word, src_word) = words(&short_header(bytes)?);
            Ok(Parsed { dst_word, src_word })
        }
    }
}

/// [`parse`] for the common frame, of 16 bytes or more; `None` for a
/// shorter one, which the caller must give to [`parse`].
#[inline(always)]
pub(super) fn fast(bytes: &[u8]) -> Option<Parsed> {
    let (dst_word, src_word) = words(bytes.first_chunk::<FAST_LEN>()?);
    Some(Parsed { dst_word, src_word })
}

/// Rejects the 802.1D reserved destinations, which a bridge never
/// forwards. They are group addresses, so a frame known to be for a
/// unicast destination needs no check.
#[inline(always)]
pub(super) fn check_reserved(p: &Parsed) -> Result<(), DropReason> {
    // One compare of the first four octets, then (rarely) the last two.
    if p.dst_word as u32 == RESERVED_FIRST4 && is_reserved_tail(p.dst_word) {
        return Err(DropReason::ReservedMulticast);
    }
    Ok(())
}

/// `reason`, unless `p`'s destination is reserved, which takes precedence:
/// for a stage that fails a frame before [`check_reserved`] was asked.
/// (`p` by value, so that the caller need not keep it in memory.)
#[cold]
#[inline(never)]
pub(super) fn reserved_or(p: Parsed, reason: DropReason) -> DropReason {
    match check_reserved(&p) {
        Err(reserved) => reserved,
        Ok(()) => reason,
    }
}

/// Octets 4 and 5 of a destination whose first four are 01:80:c2:00:
/// true for the reserved 00:0X. Out of line, so the common path keeps one
/// compare against a 32-bit immediate.
#[cold]
#[inline(never)]
fn is_reserved_tail(dst_word: u64) -> bool {
    (dst_word >> 32) as u16 & RESERVED_LAST2_MASK == 0
}

/// Little-endian words at offsets 0 and 6 (8 bytes each). Fixed offsets
/// into a fixed-size array: no bounds checks remain.
#[inline(always)]
fn words(h: &[u8; FAST_LEN]) -> (u64, u64) {
    (
        u64::from_le_bytes(h[0..8].try_into().unwrap_or_default()),
        u64::from_le_bytes(h[6..14].try_into().unwrap_or_default()),
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
    use crate::types::MacAddr;

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
            assert_eq!(p.dst_key(BdId(3)), FdbKey::new(BdId(3), MacAddr(UNI_A)), "len {len}");
            assert_eq!(p.src_key(BdId(3)), FdbKey::new(BdId(3), MacAddr(UNI_B)), "len {len}");
            assert_eq!(p.ethertype(), 0x8100, "len {len}");
            assert_eq!(tci(&f), (len >= 18).then_some(0x200a), "len {len}");
        }
    }

    #[test]
    fn reserved_destinations_and_runts_are_rejected() {
        for len in [14, 15, 64] {
            let checked = |f: &[u8]| parse(f).and_then(|p| check_reserved(&p).map(|()| p));
            let stp = frame(len, [0x01, 0x80, 0xc2, 0, 0, 0x0f], UNI_B, &[8, 0]);
            assert_eq!(checked(&stp).unwrap_err(), DropReason::ReservedMulticast);
            assert!(parse(&stp).unwrap().dst_is_group());
            for first in [0x00, 0x0f] {
                let stp = frame(len, [0x01, 0x80, 0xc2, 0, 0, first], UNI_B, &[8, 0]);
                assert_eq!(checked(&stp).unwrap_err(), DropReason::ReservedMulticast);
                let p = parse(&stp).unwrap();
                assert_eq!(reserved_or(p, DropReason::VlanNotAllowed), DropReason::ReservedMulticast);
            }
            for near in [[0x01, 0x80, 0xc2, 0, 0, 0x10], [0x01, 0x80, 0xc2, 0, 1, 0], [0x01, 0x80, 0xc2, 1, 0, 0]] {
                let p = checked(&frame(len, near, UNI_B, &[8, 0])).unwrap();
                assert_eq!(reserved_or(p, DropReason::VlanNotAllowed), DropReason::VlanNotAllowed, "{near:x?}");
            }
            assert!(!parse(&frame(len, UNI_A, UNI_B, &[8, 0])).unwrap().dst_is_group());
        }
        assert_eq!(parse(&[0u8; 13]).unwrap_err(), DropReason::Truncated);
        assert_eq!(parse(&[]).unwrap_err(), DropReason::Truncated);
    }
}
