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

/// A hash of the whole key (FxHash's multiply and rotate per word).
#[inline(always)]
fn hash(key: &FlowKey) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    key.0.iter().fold(0u64, |h, &w| (h.rotate_left(5) ^ w).wrapping_mul(K))
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
        if e.generation == generation && e.key == *key {
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
