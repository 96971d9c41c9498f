//! The per-worker exact-match flow cache in front of the classifier, as
//! OVS's EMC is in front of its megaflows: a direct-mapped array of
//! (key, verdict) entries, each stamped with the flow plan's generation, so
//! a new plan invalidates every entry without a pass over them. Fixed size,
//! allocated once when the worker starts; a lookup or fill never allocates.

use super::key::FlowKey;

/// Entries per worker: 4096 of 72 bytes (288 KiB), enough for the flows of
/// a busy access port; a conflict costs a classifier lookup, not a wrong
/// answer.
pub const ENTRIES: usize = 4096;

/// "No rule matched", as the cache stores it.
const NO_RULE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    key: FlowKey,
    /// The flow plan generation the entry was filled under; 0 never is one.
    generation: u32,
    rule: u32,
}

/// One worker's flow cache.
#[derive(Debug)]
pub struct FlowCache {
    entries: Box<[Entry]>,
}

impl Default for FlowCache {
    fn default() -> Self {
        FlowCache { entries: vec![Entry::default(); ENTRIES].into_boxed_slice() }
    }
}

/// A hash of the whole key: the words folded in pairs, each rotated by its
/// own amount, then two independent multiplies. Not a chain of eight
/// dependent multiplies (FxHash's), which cost a third of a cache hit; the
/// index only spreads flows over slots, and the full key is compared.
#[inline(always)]
fn hash(key: &FlowKey) -> u64 {
    let w = &key.0;
    let a = w[0] ^ w[1].rotate_left(17) ^ w[2].rotate_left(31) ^ w[3].rotate_left(47);
    let b = w[4] ^ w[5].rotate_left(23) ^ w[6].rotate_left(41) ^ w[7].rotate_left(7);
    a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
}

/// Key equality as one OR of XORs: no early exits, and no call to
/// `memcmp`, which the derived `==` on 64 bytes becomes.
#[inline(always)]
fn same(a: &FlowKey, b: &FlowKey) -> bool {
    a.0.iter().zip(b.0.iter()).fold(0u64, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[inline(always)]
fn slot(key: &FlowKey) -> usize {
    (hash(key) >> (64 - ENTRIES.trailing_zeros())) as usize
}

impl FlowCache {
    /// The cached verdict for `key` under `generation`: `Some(rule)` where a
    /// rule matched, `Some(None)` where none did, `None` on a miss.
    #[inline(always)]
    pub fn get(&self, generation: u32, key: &FlowKey) -> Option<Option<u32>> {
        let e = self.entries.get(slot(key))?;
        if e.generation == generation && same(&e.key, key) {
            Some((e.rule != NO_RULE).then_some(e.rule))
        } else {
            None
        }
    }

    /// Remembers the classifier's answer for `key`.
    #[inline]
    pub fn put(&mut self, generation: u32, key: &FlowKey, rule: Option<u32>) {
        if let Some(e) = self.entries.get_mut(slot(key)) {
            *e = Entry { key: *key, generation, rule: rule.unwrap_or(NO_RULE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_generation() {
        let mut c = FlowCache::default();
        let k = FlowKey([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(c.get(1, &k), None);
        c.put(1, &k, Some(7));
        assert_eq!(c.get(1, &k), Some(Some(7)));
        assert_eq!(c.get(2, &k), None, "a new plan's generation misses");
        c.put(2, &k, None);
        assert_eq!(c.get(2, &k), Some(None));
        assert_eq!(c.get(2, &FlowKey([1, 2, 3, 4, 5, 6, 7, 9])), None);
    }
}
