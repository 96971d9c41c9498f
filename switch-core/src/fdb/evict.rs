//! The writer's eviction candidates: for each (domain, port), the slots of
//! its dynamic entries, so choosing a victim costs the same in a table of
//! 2^21 slots holding a thousand entries as in a full one.
//!
//! Before this, eviction scanned the table's slots from a cursor until it
//! had four entries of the victim port: about `4 * capacity / entries on
//! the port` slots, which with the 2^21-slot minimum table and a
//! `max_entries` of 1000 measured 89 µs per new MAC once the table was
//! full. Now a victim is the least recently seen of four entries drawn at
//! random from its (domain, port) list (approximate LRU, as Redis does it),
//! and every list update is O(1): each slot remembers its position in its
//! list, and removal swaps the last element in. Writer-only memory: 4 bytes
//! per slot and 4 per dynamic entry.
//!
//! Static entries are never listed, so they are never candidates, and a
//! port whose entries are all static is never picked as "the port with the
//! most entries".

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use crate::types::{BdId, PortId};

/// No list position: the slot holds no dynamic entry.
const UNLISTED: u32 = u32::MAX;

/// Candidates per eviction.
pub(crate) const EVICT_SAMPLES: usize = 4;

/// See the module docs.
pub(crate) struct EvictionLists {
    /// Slots of the dynamic entries of each (domain, port). Keyed by
    /// configuration, never by anything a frame chooses, so the fast
    /// unkeyed hash is safe here; its iteration order is also the same from
    /// run to run, which keeps `xvs replay` deterministic.
    lists: HashMap<(BdId, PortId), Vec<u32>, FxBuildHasher>,
    /// Each slot's position in its list, or `UNLISTED`.
    position: Vec<u32>,
    /// Dynamic entries per port, by port index (scratch for picking the
    /// biggest port, kept to avoid an allocation per eviction).
    per_port: Vec<u32>,
    /// xorshift64 state for sampling: eviction choices only need to be
    /// spread, not unpredictable.
    rng: u64,
}

impl EvictionLists {
    /// Empty lists for a table of `capacity` slots.
    pub(crate) fn new(capacity: usize) -> EvictionLists {
        EvictionLists {
            lists: HashMap::default(),
            position: vec![UNLISTED; capacity],
            per_port: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Forgets every slot (after a rebuild moved them all), keeping the
    /// lists' allocations.
    pub(crate) fn clear(&mut self, capacity: usize) {
        self.lists.values_mut().for_each(Vec::clear);
        self.position.clear();
        self.position.resize(capacity, UNLISTED);
    }

    /// Lists `slot` as a dynamic entry of (`bd`, `port`).
    pub(crate) fn add(&mut self, bd: BdId, port: PortId, slot: usize) {
        let list = self.lists.entry((bd, port)).or_default();
        self.position[slot] = list.len() as u32;
        list.push(slot as u32);
    }

    /// Starts loading `slot`'s list position into the caches.
    #[inline]
    pub(crate) fn prefetch(&self, slot: usize) {
        if let Some(p) = self.position.get(slot) {
            xvs_mem::prefetch(p);
        }
    }

    /// Unlists `slot` from (`bd`, `port`); a no-op for a slot not listed
    /// (a static entry).
    pub(crate) fn remove(&mut self, bd: BdId, port: PortId, slot: usize) {
        let at = core::mem::replace(&mut self.position[slot], UNLISTED);
        if at == UNLISTED {
            return;
        }
        let Some(list) = self.lists.get_mut(&(bd, port)) else {
            debug_assert!(false, "slot {slot} listed under a missing ({bd:?}, {port:?})");
            return;
        };
        debug_assert_eq!(list.get(at as usize), Some(&(slot as u32)));
        list.swap_remove(at as usize);
        if let Some(&moved) = list.get(at as usize) {
            self.position[moved as usize] = at;
        }
    }

    /// The (domain, port) to evict from: in `bd`, its port with the most
    /// dynamic entries; in the whole table, the port with the most dynamic
    /// entries, and that port's biggest domain. Ties go to the lower port
    /// (then domain) number. `None` when there is no dynamic entry.
    pub(crate) fn pick(&mut self, bd: Option<BdId>) -> Option<(BdId, PortId)> {
        let port = match bd {
            Some(bd) => {
                return self
                    .lists
                    .iter()
                    .filter(|((b, _), l)| *b == bd && !l.is_empty())
                    .max_by_key(|((_, p), l)| (l.len(), core::cmp::Reverse(p.0)))
                    .map(|(k, _)| *k);
            }
            None => {
                self.per_port.iter_mut().for_each(|c| *c = 0);
                for ((_, p), l) in &self.lists {
                    if self.per_port.len() <= p.index() {
                        self.per_port.resize(p.index() + 1, 0);
                    }
                    self.per_port[p.index()] += l.len() as u32;
                }
                let (i, _) = self
                    .per_port
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .max_by_key(|(i, c)| (**c, core::cmp::Reverse(*i)))?;
                PortId(i as u16)
            }
        };
        self.lists
            .iter()
            .filter(|((_, p), l)| *p == port && !l.is_empty())
            .max_by_key(|((b, _), l)| (l.len(), core::cmp::Reverse(b.0)))
            .map(|(k, _)| *k)
    }

    /// The candidates in (`bd`, `port`): [`EVICT_SAMPLES`] slots drawn at
    /// random (with replacement) from its list, or the whole list when it
    /// is no longer than that (so a small one gets an exact LRU).
    pub(crate) fn sample(&mut self, bd: BdId, port: PortId) -> impl Iterator<Item = usize> + '_ {
        let list = self.lists.get(&(bd, port)).map(Vec::as_slice).unwrap_or_default();
        let exact = list.len() <= EVICT_SAMPLES;
        let rng = &mut self.rng;
        (0..if exact { list.len() } else { EVICT_SAMPLES }).map(move |n| {
            if exact {
                return list[n] as usize;
            }
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            list[(*rng % list.len() as u64) as usize] as usize
        })
    }

    /// Every listed (domain, port, slot), sorted; for consistency checks.
    #[cfg(test)]
    pub(crate) fn listed(&self) -> Vec<(BdId, PortId, usize)> {
        let mut out: Vec<_> =
            self.lists.iter().flat_map(|(&(b, p), l)| l.iter().map(move |&s| (b, p, s as usize))).collect();
        out.sort();
        for &(_, _, slot) in &out {
            assert_ne!(self.position[slot], UNLISTED, "slot {slot} listed but has no position");
        }
        out
    }

    /// Dynamic entries listed for (`bd`, `port`).
    #[cfg(test)]
    pub(crate) fn len(&self, bd: BdId, port: PortId) -> usize {
        self.lists.get(&(bd, port)).map_or(0, Vec::len)
    }

    /// Bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.position.capacity() * 4
            + self.per_port.capacity() * 4
            + self.lists.capacity() * 32
            + self.lists.values().map(|l| l.capacity() * 4).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_track_slots_through_swap_removes() {
        let mut e = EvictionLists::new(64);
        let (bd, p) = (BdId(1), PortId(2));
        for slot in [5, 9, 12, 40] {
            e.add(bd, p, slot);
        }
        e.remove(bd, p, 9); // 40 moves into 9's place
        e.remove(bd, p, 63); // never listed: a no-op
        e.remove(bd, p, 40);
        assert_eq!(e.len(bd, p), 2);
        let seen: std::collections::BTreeSet<usize> =
            (0..20).flat_map(|_| e.sample(bd, p).collect::<Vec<_>>()).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![5, 12]);
        e.clear(64);
        assert_eq!(e.len(bd, p), 0);
        assert_eq!(e.sample(bd, p).count(), 0);
    }

    #[test]
    fn picks_the_biggest_port_then_its_biggest_domain() {
        let mut e = EvictionLists::new(64);
        let mut slot = 0;
        let mut add = |e: &mut EvictionLists, bd, port, n| {
            for _ in 0..n {
                e.add(BdId(bd), PortId(port), slot);
                slot += 1;
            }
        };
        add(&mut e, 1, 0, 3);
        add(&mut e, 2, 1, 2);
        add(&mut e, 3, 1, 2);
        add(&mut e, 1, 2, 4);
        // Port 1 holds 4 over two domains, port 2 holds 4: the tie goes to 1.
        assert_eq!(e.pick(None), Some((BdId(2), PortId(1))));
        assert_eq!(e.pick(Some(BdId(1))), Some((BdId(1), PortId(2))));
        assert_eq!(e.pick(Some(BdId(9))), None);
        assert_eq!(EvictionLists::new(8).pick(None), None);
    }
}
