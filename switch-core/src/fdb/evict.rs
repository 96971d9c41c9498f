//! The writer's eviction candidates: for each port, and for each (domain,
//! port), the slots of its dynamic entries, so choosing a victim costs the
//! same in a table of 2^21 slots holding a thousand entries as in a full
//! one, and does not grow with the number of domains.
//!
//! Before this, eviction scanned the table's slots from a cursor until it
//! had four entries of the victim port: about `4 * capacity / entries on
//! the port` slots, which with the 2^21-slot minimum table and a
//! `max_entries` of 1000 averaged 579 µs per new MAC over 300K new MACs
//! into a full table (0.48 µs now). Now a victim is the least recently seen of four entries drawn at
//! random from its port's list (or, for a domain's limit, its (domain,
//! port) list): approximate LRU, as Redis does it. Every list update is
//! O(1): each slot remembers its position in its list, and removal swaps
//! the last element in. Writer-only memory: 8 bytes per slot and 8 per
//! dynamic entry.
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

/// Lists of slots under keys of type `K`, each slot in at most one list,
/// with O(1) add and remove: each slot remembers its position, and removal
/// swaps the list's last element in.
struct SlotLists<K> {
    /// Keyed by configuration (ports, domains), never by anything a frame
    /// chooses, so the fast unkeyed hash is safe here; its iteration order
    /// is also the same from run to run, which keeps `xvs replay`
    /// deterministic.
    lists: HashMap<K, Vec<u32>, FxBuildHasher>,
    /// Each slot's position in its list, or `UNLISTED`.
    position: Vec<u32>,
}

impl<K: core::hash::Hash + Eq + Copy + core::fmt::Debug> SlotLists<K> {
    fn new(capacity: usize) -> Self {
        SlotLists { lists: HashMap::default(), position: vec![UNLISTED; capacity] }
    }

    fn clear(&mut self, capacity: usize) {
        self.lists.values_mut().for_each(Vec::clear);
        self.position.clear();
        self.position.resize(capacity, UNLISTED);
    }

    fn add(&mut self, key: K, slot: usize) {
        let list = self.lists.entry(key).or_default();
        self.position[slot] = list.len() as u32;
        list.push(slot as u32);
    }

    fn remove(&mut self, key: K, slot: usize) {
        let at = core::mem::replace(&mut self.position[slot], UNLISTED);
        if at == UNLISTED {
            return;
        }
        let Some(list) = self.lists.get_mut(&key) else {
            debug_assert!(false, "slot {slot} listed under a missing {key:?}");
            return;
        };
        debug_assert_eq!(list.get(at as usize), Some(&(slot as u32)));
        list.swap_remove(at as usize);
        if let Some(&moved) = list.get(at as usize) {
            self.position[moved as usize] = at;
        }
    }

    fn len(&self, key: K) -> usize {
        self.lists.get(&key).map_or(0, Vec::len)
    }

    fn memory_bytes(&self) -> usize {
        self.position.capacity() * 4
            + self.lists.capacity() * (core::mem::size_of::<K>() + 32)
            + self.lists.values().map(|l| l.capacity() * 4).sum::<usize>()
    }
}

/// Where eviction draws its candidates from: the slots of each port's
/// dynamic entries, and of each (domain, port)'s. See the module docs.
pub(crate) struct EvictionLists {
    /// For the global limit: evict from the port with the most entries.
    by_port: SlotLists<PortId>,
    /// For a domain's limit: evict from the domain's port with the most.
    by_domain_port: SlotLists<(BdId, PortId)>,
    /// xorshift64 state for sampling: eviction choices only need to be
    /// spread, not unpredictable.
    rng: u64,
}

/// The list an eviction draws from, as chosen by [`EvictionLists::pick`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Victims {
    /// Any dynamic entry of this port.
    Port(PortId),
    /// A dynamic entry of this port in this domain.
    DomainPort(BdId, PortId),
}

impl EvictionLists {
    /// Empty lists for a table of `capacity` slots.
    pub(crate) fn new(capacity: usize) -> EvictionLists {
        EvictionLists {
            by_port: SlotLists::new(capacity),
            by_domain_port: SlotLists::new(capacity),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Forgets every slot (after a rebuild moved them all), keeping the
    /// lists' allocations.
    pub(crate) fn clear(&mut self, capacity: usize) {
        self.by_port.clear(capacity);
        self.by_domain_port.clear(capacity);
    }

    /// Lists `slot` as a dynamic entry of (`bd`, `port`).
    pub(crate) fn add(&mut self, bd: BdId, port: PortId, slot: usize) {
        self.by_port.add(port, slot);
        self.by_domain_port.add((bd, port), slot);
    }

    /// Starts loading `slot`'s list positions into the caches.
    #[inline]
    pub(crate) fn prefetch(&self, slot: usize) {
        if let (Some(a), Some(b)) = (self.by_port.position.get(slot), self.by_domain_port.position.get(slot)) {
            xvs_mem::prefetch(a);
            xvs_mem::prefetch(b);
        }
    }

    /// Unlists `slot` from (`bd`, `port`); a no-op for a slot not listed
    /// (a static entry).
    pub(crate) fn remove(&mut self, bd: BdId, port: PortId, slot: usize) {
        self.by_port.remove(port, slot);
        self.by_domain_port.remove((bd, port), slot);
    }

    /// The list to evict from: in `bd`, its port with the most dynamic
    /// entries; in the whole table, the port with the most dynamic entries.
    /// Ties go to the lower port number. `None` when there is no dynamic
    /// entry to evict. Costs one look at each port (not at each domain).
    pub(crate) fn pick(&self, bd: Option<BdId>) -> Option<Victims> {
        let entries = |p: PortId| match bd {
            Some(bd) => self.by_domain_port.len((bd, p)),
            None => self.by_port.len(p),
        };
        let (_, port) = self
            .by_port
            .lists
            .keys()
            .map(|&p| (entries(p), p))
            .filter(|(n, _)| *n > 0)
            .max_by_key(|(n, p)| (*n, core::cmp::Reverse(p.0)))?;
        Some(match bd {
            Some(bd) => Victims::DomainPort(bd, port),
            None => Victims::Port(port),
        })
    }

    /// The candidates in `from`: [`EVICT_SAMPLES`] slots drawn at random
    /// (with replacement) from its list, or the whole list when it is no
    /// longer than that (so a small one gets an exact LRU).
    pub(crate) fn sample(&mut self, from: Victims) -> impl Iterator<Item = usize> + '_ {
        let list = match from {
            Victims::Port(p) => self.by_port.lists.get(&p),
            Victims::DomainPort(bd, p) => self.by_domain_port.lists.get(&(bd, p)),
        };
        let list = list.map(Vec::as_slice).unwrap_or_default();
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

    /// Every listed (domain, port, slot), sorted, after checking that the
    /// per-port lists hold the same slots; for consistency checks.
    #[cfg(test)]
    pub(crate) fn listed(&self) -> Vec<(BdId, PortId, usize)> {
        let mut out: Vec<_> = self
            .by_domain_port
            .lists
            .iter()
            .flat_map(|(&(b, p), l)| l.iter().map(move |&s| (b, p, s as usize)))
            .collect();
        out.sort();
        let mut ports: Vec<_> =
            self.by_port.lists.iter().flat_map(|(&p, l)| l.iter().map(move |&s| (p, s as usize))).collect();
        ports.sort_by_key(|&(p, s)| (s, p));
        let mut want: Vec<_> = out.iter().map(|&(_, p, s)| (p, s)).collect();
        want.sort_by_key(|&(p, s)| (s, p));
        assert_eq!(ports, want, "per-port and per-(domain, port) lists disagree");
        for &(_, _, slot) in &out {
            assert_ne!(self.by_port.position[slot], UNLISTED, "slot {slot} listed but has no position");
            assert_ne!(self.by_domain_port.position[slot], UNLISTED, "slot {slot} listed but has no position");
        }
        out
    }

    /// Bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.by_port.memory_bytes() + self.by_domain_port.memory_bytes()
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
        assert_eq!(e.listed(), vec![(bd, p, 5), (bd, p, 12)]);
        for from in [Victims::Port(p), Victims::DomainPort(bd, p)] {
            assert_eq!(e.sample(from).collect::<Vec<_>>(), vec![5, 12], "a short list is taken whole");
        }
        for slot in 20..30 {
            e.add(bd, p, slot);
        }
        let seen: std::collections::BTreeSet<usize> =
            (0..50).flat_map(|_| e.sample(Victims::Port(p)).collect::<Vec<_>>()).collect();
        assert!(seen.len() > 8 && seen.iter().all(|s| [5, 12].contains(s) || (20..30).contains(s)), "{seen:?}");
        e.clear(64);
        assert_eq!(e.listed(), vec![]);
        assert_eq!(e.sample(Victims::DomainPort(bd, p)).count(), 0);
    }

    #[test]
    fn picks_the_biggest_port_overall_or_in_a_domain() {
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
        assert_eq!(e.pick(None), Some(Victims::Port(PortId(1))));
        assert_eq!(e.pick(Some(BdId(1))), Some(Victims::DomainPort(BdId(1), PortId(2))));
        assert_eq!(e.pick(Some(BdId(3))), Some(Victims::DomainPort(BdId(3), PortId(1))));
        assert_eq!(e.pick(Some(BdId(9))), None);
        assert_eq!(EvictionLists::new(8).pick(None), None);
    }
}
