//! The 64-bit FDB key: bridge domain in the top 16 bits, MAC in the low 48.

use crate::types::{BdId, MacAddr};

/// (bridge domain, MAC) packed into one word, so a slot compare is one
/// instruction and the key fits an atomic.
///
/// Key 0 (domain 0) means "empty slot" and key `u64::MAX` (domain 0xffff,
/// broadcast MAC) means "deleted"; neither can be a learned key because domain
/// 0 is never assigned, domain 0xffff is reserved and group MACs are never
/// learned.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Default)]
pub struct FdbKey(pub u64);

impl FdbKey {
    /// Packs a key.
    #[inline]
    pub fn new(bd: BdId, mac: MacAddr) -> FdbKey {
        FdbKey(((bd.0 as u64) << 48) | mac.to_u64())
    }

    /// Packs a key from a MAC already in `u64` form. The MAC must fit in
    /// 48 bits (as [`MacAddr::to_u64`] and the Ethernet view's `*_u64`
    /// accessors guarantee); higher bits would corrupt the domain.
    #[inline]
    pub fn from_parts(bd: BdId, mac48: u64) -> FdbKey {
        debug_assert!(mac48 >> 48 == 0, "MAC wider than 48 bits");
        FdbKey(((bd.0 as u64) << 48) | mac48)
    }

    /// The domain.
    #[inline]
    pub fn bd(self) -> BdId {
        BdId((self.0 >> 48) as u16)
    }

    /// The MAC.
    #[inline]
    pub fn mac(self) -> MacAddr {
        MacAddr::from_u64(self.0)
    }
}

/// Fibonacci hashing: multiply by 2^64/phi and keep the top bits. One
/// multiply, and the top bits mix every input bit, so sequential MACs spread.
#[inline]
pub fn fdb_hash(key: FdbKey) -> u64 {
    key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
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
        assert_eq!(FdbKey::from_parts(BdId(7), mac.to_u64()), k);
        assert_eq!(k.mac(), MacAddr::from_u64(k.0 & 0xffff_ffff_ffff));
    }
}
