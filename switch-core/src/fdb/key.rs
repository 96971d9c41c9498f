//! The 64-bit FDB key, and its hash (a bijection, so a table slot can store
//! part of the hash and still identify its key exactly).

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

/// The odd multiplier of [`fdb_hash`]: 2^64 divided by the golden ratio.
const HASH_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// `HASH_MULTIPLIER`'s inverse modulo 2^64, by Newton's iteration (each step
/// doubles the number of correct low bits, and an odd number is its own
/// inverse to 3 bits, so five steps give 96 > 64).
const HASH_MULTIPLIER_INVERSE: u64 = {
    let mut x = HASH_MULTIPLIER;
    let mut step = 0;
    while step < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(HASH_MULTIPLIER.wrapping_mul(x)));
        step += 1;
    }
    x
};

/// Fibonacci hashing: multiply by 2^64/phi and keep the top bits. A
/// product's top bits depend on every input bit, but the low input bits
/// reach them through the most carries, so the key is byte-swapped first:
/// that puts the MAC's last octets (what differs between a NIC vendor's
/// addresses, often sequentially) in the low bits, where the multiply spreads
/// sequential inputs evenly over the table. One `bswap` and one multiply.
///
/// Both steps are invertible (the multiplier is odd), so the hash is a
/// bijection on 64-bit words and [`fdb_unhash`] recovers the key. The shared
/// table relies on that: a slot stores only the hash bits its position does
/// not already imply.
#[inline]
pub fn fdb_hash(key: FdbKey) -> u64 {
    key.0.swap_bytes().wrapping_mul(HASH_MULTIPLIER)
}

/// The key whose [`fdb_hash`] is `hash`.
#[inline]
pub fn fdb_unhash(hash: u64) -> FdbKey {
    FdbKey(hash.wrapping_mul(HASH_MULTIPLIER_INVERSE).swap_bytes())
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
        assert_eq!(HASH_MULTIPLIER.wrapping_mul(HASH_MULTIPLIER_INVERSE), 1);
        let mut x = 0x0123_4567_89ab_cdefu64;
        for edge in [0, 1, u64::MAX, 1 << 63, 0xffff] {
            assert_eq!(fdb_unhash(fdb_hash(FdbKey(edge))), FdbKey(edge));
        }
        for _ in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            assert_eq!(fdb_unhash(fdb_hash(FdbKey(x))), FdbKey(x));
            assert_eq!(fdb_hash(fdb_unhash(x)), x);
        }
    }
}
