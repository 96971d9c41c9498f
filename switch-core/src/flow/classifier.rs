//! Tuple space search (Srinivasan et al., as in OVS's megaflow classifier):
//! the rules of a table are grouped by mask into subtables, each a hash map
//! from masked key to the best rule with that mask and value. A lookup
//! masks the key once per subtable and probes it; subtables are sorted by
//! the best rank they hold, so the search stops at the first subtable that
//! cannot beat the match found so far.
//!
//! The cost is one hash probe per distinct mask, whatever the number of
//! rules: 10,000 rules written with a handful of mask shapes (a MAC, a
//! 5-tuple, a few prefix lengths) cost what 100 do. Why TSS rather than a
//! decision tree: see docs/architecture.md.

use rustc_hash::FxHashMap;

use super::key::FlowKey;

/// A rule's place in the priority order: priority in the high half, and
/// in the low half the complement of its index, so that among rules of
/// one priority the older (lower index) wins.
pub type Rank = u64;

/// The rank of rule `index` at `priority`.
pub fn rank(priority: u16, index: u32) -> Rank {
    (priority as u64) << 32 | (u32::MAX - index) as u64
}

/// One entry to classify: a (value, mask) pair of a rule. A rule whose
/// port ranges expand to several prefixes has one entry per prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The bits that must match (already masked).
    pub value: FlowKey,
    /// Which bits must match.
    pub mask: FlowKey,
    /// Its rule's rank.
    pub rank: Rank,
    /// Its rule, by index in the flow plan.
    pub rule: u32,
}

#[derive(Clone, Debug)]
struct Subtable {
    mask: FlowKey,
    /// The highest rank among the entries.
    best: Rank,
    /// Masked value to (rank, rule) of the best entry with that value.
    entries: FxHashMap<FlowKey, (Rank, u32)>,
}

/// The compiled rules of one table.
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    subtables: Vec<Subtable>,
}

impl Classifier {
    /// Builds the subtables of `entries`.
    pub fn build(entries: &[Entry]) -> Classifier {
        let mut by_mask: FxHashMap<FlowKey, Subtable> = FxHashMap::default();
        for e in entries {
            let st = by_mask.entry(e.mask).or_insert_with(|| Subtable {
                mask: e.mask,
                best: 0,
                entries: FxHashMap::default(),
            });
            st.best = st.best.max(e.rank);
            let slot = st.entries.entry(e.value).or_insert((e.rank, e.rule));
            if e.rank > slot.0 {
                *slot = (e.rank, e.rule);
            }
        }
        let mut subtables: Vec<Subtable> = by_mask.into_values().collect();
        subtables.sort_by_key(|s| core::cmp::Reverse(s.best));
        Classifier { subtables }
    }

    /// The best-ranked rule matching `key`, if any.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<u32> {
        let mut found: Option<(Rank, u32)> = None;
        for st in &self.subtables {
            if found.is_some_and(|(r, _)| r >= st.best) {
                break;
            }
            if let Some(&(r, rule)) = st.entries.get(&key.masked(&st.mask)) {
                if found.is_none_or(|(best, _)| r > best) {
                    found = Some((r, rule));
                }
            }
        }
        found.map(|(_, rule)| rule)
    }

    /// Number of distinct masks: what a miss costs, in hash probes at most.
    pub fn subtables(&self) -> usize {
        self.subtables.len()
    }
}

/// The reference the classifier and the cache are tested against: every
/// entry in turn, the best rank wins.
pub fn linear(entries: &[Entry], key: &FlowKey) -> Option<u32> {
    entries.iter().filter(|e| key.masked(&e.mask) == e.value).max_by_key(|e| e.rank).map(|e| e.rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::Field;
    use proptest::prelude::*;

    fn entry(fields: &[(Field, u64, u64)], priority: u16, rule: u32) -> Entry {
        let (mut value, mut mask) = (FlowKey::default(), FlowKey::default());
        for &(f, v, m) in fields {
            value.set(f, v & m);
            mask.set(f, m);
        }
        Entry { value, mask, rank: rank(priority, rule), rule }
    }

    #[test]
    fn priority_then_age_wins() {
        let e = [
            entry(&[(Field::TpDst, 80, 0xffff)], 10, 0),
            entry(&[(Field::NwProto, 6, 0xff)], 20, 1),
            entry(&[(Field::NwProto, 6, 0xff)], 20, 2),
            entry(&[], 0, 3),
        ];
        let c = Classifier::build(&e);
        let mut k = FlowKey::default();
        k.set(Field::TpDst, 80);
        assert_eq!(c.lookup(&k), Some(0));
        k.set(Field::NwProto, 6);
        assert_eq!(c.lookup(&k), Some(1));
        assert_eq!(c.lookup(&FlowKey::default()), Some(3));
        assert_eq!(c.subtables(), 3);
        assert_eq!(Classifier::build(&e[..1]).lookup(&FlowKey::default()), None);
    }

    /// Small value spaces, so that random keys hit random rules often.
    fn arb_entry() -> impl Strategy<Value = (Vec<(u8, u64, u64)>, u16)> {
        (prop::collection::vec((0u8..4, 0u64..4, prop::sample::select(vec![0u64, 1, 2, 3])), 0..3), 0u16..4)
    }

    fn field(i: u8) -> Field {
        [Field::TpDst, Field::NwProto, Field::DlSrc, Field::SrcLo][i as usize]
    }

    proptest! {
        #[test]
        fn tss_agrees_with_linear(rules in prop::collection::vec(arb_entry(), 0..40),
                                  keys in prop::collection::vec(prop::collection::vec(0u64..4, 4), 1..40)) {
            let entries: Vec<Entry> = rules.iter().enumerate().map(|(i, (fs, p))| {
                let fs: Vec<_> = fs.iter().map(|&(f, v, m)| (field(f), v, m)).collect();
                entry(&fs, *p, i as u32)
            }).collect();
            let c = Classifier::build(&entries);
            for k in keys {
                let mut key = FlowKey::default();
                for (i, v) in k.iter().enumerate() {
                    key.set(field(i as u8), *v);
                }
                prop_assert_eq!(c.lookup(&key), linear(&entries, &key));
            }
        }
    }
}
