//! The 64-bit FDB key, and its keyed hash (a bijection, so a table slot can
//! store part of the hash and still identify its key exactly).

use crate::types::{BdId, MacAddr};

/// (bridge domain, MAC) packed into one word, so a slot compare is one
/// instruction and the key fits an atomic.
///
/// Layout, as little-endian bytes: the domain (2 bytes), then the MAC's six
/// octets in wire order. That is exactly what a little-endian load of a
/// frame's six address bytes becomes after a left shift by 16, so parse
/// builds a key with one shift and one OR, and no byte swaps
/// ([`FdbKey::from_wire`]).
///
/// Every 64-bit value is a possible key: the table marks empty and deleted
/// slots in its own slot encoding, not with reserved keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Default)]
pub struct FdbKey(pub u64);

impl FdbKey {
    /// The I/G (group) bit of the MAC: bit 0 of its first octet.
    pub const GROUP_BIT: u64 = 1 << 16;

    /// Packs a key.
    #[inline]
    pub fn new(bd: BdId, mac: MacAddr) -> FdbKey {
        let [b0, b1] = bd.0.to_le_bytes();
        let [m0, m1, m2, m3, m4, m5] = mac.0;
        FdbKey(u64::from_le_bytes([b0, b1, m0, m1, m2, m3, m4, m5]))
    }

    /// Packs a key from `word`, a little-endian load of eight frame bytes
    /// starting at the MAC's first octet. The two bytes after the MAC are
    /// shifted out.
    #[inline(always)]
    pub fn from_wire(bd: BdId, word: u64) -> FdbKey {
        FdbKey((word << 16) | bd.0 as u64)
    }

    /// The domain.
    #[inline]
    pub fn bd(self) -> BdId {
        BdId(self.0 as u16)
    }

    /// The MAC.
    #[inline]
    pub fn mac(self) -> MacAddr {
        let [_, _, m0, m1, m2, m3, m4, m5] = self.0.to_le_bytes();
        MacAddr([m0, m1, m2, m3, m4, m5])
    }

    /// True for a group (multicast or broadcast) MAC.
    #[inline(always)]
    pub fn is_group(self) -> bool {
        self.0 & Self::GROUP_BIT != 0
    }

    /// True for ff:ff:ff:ff:ff:ff.
    #[inline]
    pub fn is_broadcast(self) -> bool {
        self.0 >> 16 == 0xffff_ffff_ffff
    }

    /// True for 00:00:00:00:00:00.
    #[inline]
    pub fn is_zero_mac(self) -> bool {
        self.0 >> 16 == 0
    }
}

/// The keyed hash of one FDB table: a byte swap, then a multiply by the
/// table's own random odd constant. Its top bits pick a key's home slot.
///
/// Keyed, because chains are short and capped ([`MAX_DISPLACEMENT`]): with a
/// hash anyone can compute, a host could send a few dozen source MACs
/// crafted to land next to a victim's home slot, fill that chain, and keep
/// the victim's MAC from ever being learned, so its traffic would flood.
/// Multiply-shift with a random odd multiplier is a universal family
/// (Dietzfelbinger et al.): two given keys share a home with probability at
/// most 2/2^bits, whatever keys the sender picks, as long as it cannot
/// learn the multiplier.
///
/// The swap puts the MAC's last octets, which differ most between
/// addresses, in the low bits, from where the multiply's carries reach all
/// the top bits. Both steps are invertible, so the hash is a bijection on
/// 64-bit words and [`FdbHasher::unhash`] gives the key back: the table
/// relies on that, storing only the hash bits a slot's position does not
/// already imply. One `bswap` and one multiply by a memory operand.
///
/// [`MAX_DISPLACEMENT`]: super::MAX_DISPLACEMENT
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdbHasher {
    multiplier: u64,
    /// `multiplier`'s inverse modulo 2^64.
    inverse: u64,
}

impl FdbHasher {
    /// A hasher keyed from the operating system's randomness (the same
    /// source as std's `HashMap` keys), so no one outside the process can
    /// predict where a key lands.
    pub fn random() -> FdbHasher {
        use std::hash::BuildHasher;
        FdbHasher::from_seed(std::collections::hash_map::RandomState::new().hash_one(0x7876_735f_6664_6221_u64))
    }

    /// A hasher keyed from `seed`, for reproducible runs (replay, tests,
    /// benchmarks). The multiplier is the seed put through SplitMix64's
    /// finalizer, made odd.
    pub const fn from_seed(seed: u64) -> FdbHasher {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let multiplier = (z ^ (z >> 31)) | 1;
        FdbHasher { multiplier, inverse: inverse_mod_2_64(multiplier) }
    }

    /// The hash of `key`.
    #[inline(always)]
    pub fn hash(&self, key: FdbKey) -> u64 {
        key.0.swap_bytes().wrapping_mul(self.multiplier)
    }

    /// The key whose [`FdbHasher::hash`] is `hash`.
    #[inline]
    pub fn unhash(&self, hash: u64) -> FdbKey {
        FdbKey(hash.wrapping_mul(self.inverse).swap_bytes())
    }
}

/// The inverse of odd `x` modulo 2^64, by Newton's iteration: an odd number
/// is its own inverse to 3 bits, and each step doubles the correct low
/// bits, so five steps give 96 > 64.
const fn inverse_mod_2_64(x: u64) -> u64 {
    let mut y = x;
    let mut step = 0;
    while step < 5 {
        y = y.wrapping_mul(2u64.wrapping_sub(x.wrapping_mul(y)));
        step += 1;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack() {
        let mac = MacAddr([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let k = FdbKey::new(BdId(7), mac);
        assert_eq!(k.bd(), BdId(7));
        assert_eq!(k.mac(), mac);
        assert_ne!(k.0, 0);
        // A frame's address bytes, followed by two bytes the shift drops.
        let wire = u64::from_le_bytes([0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0xaa, 0xbb]);
        assert_eq!(FdbKey::from_wire(BdId(7), wire), k);
        assert!(!k.is_group() && !k.is_broadcast() && !k.is_zero_mac());
        assert!(FdbKey::new(BdId(7), MacAddr([0x01, 0, 0x5e, 0, 0, 1])).is_group());
        assert!(FdbKey::new(BdId(7), MacAddr([0xff; 6])).is_broadcast());
        assert!(FdbKey::new(BdId(7), MacAddr([0; 6])).is_zero_mac());
    }

    #[test]
    fn hash_is_a_bijection() {
        for h in [FdbHasher::from_seed(0), FdbHasher::from_seed(u64::MAX), FdbHasher::random()] {
            assert_eq!(h.multiplier.wrapping_mul(h.inverse), 1);
            let mut x = 0x0123_4567_89ab_cdefu64;
            for edge in [0, 1, u64::MAX, 1 << 63, 0xffff] {
                assert_eq!(h.unhash(h.hash(FdbKey(edge))), FdbKey(edge));
            }
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                assert_eq!(h.unhash(h.hash(FdbKey(x))), FdbKey(x));
                assert_eq!(h.hash(h.unhash(x)), x);
            }
        }
    }

    #[test]
    fn hashers_are_keyed() {
        let (a, b) = (FdbHasher::random(), FdbHasher::random());
        assert_ne!(a, b, "two tables drew the same key");
        assert_eq!(FdbHasher::from_seed(7), FdbHasher::from_seed(7));
        assert_ne!(FdbHasher::from_seed(7), FdbHasher::from_seed(8));
        // Keys that share a home under one hasher scatter under another.
        let k = |n: u64| FdbKey::new(BdId(1), MacAddr::from_u64(0x0200_0000_0000 | n));
        let top = |h: FdbHasher, key| h.hash(key) >> (64 - 21);
        let crafted: Vec<FdbKey> = (0..64).map(|n| a.unhash((top(a, k(1)) << 43) | n)).collect();
        assert!(crafted.iter().all(|&c| top(a, c) == top(a, k(1))));
        let still_together = crafted.iter().filter(|&&c| top(b, c).abs_diff(top(b, k(1))) < 64).count();
        assert!(still_together <= 2, "{still_together} of 64 crafted keys still land near the victim");
    }
}
