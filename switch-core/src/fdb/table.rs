//! The shared MAC table: open addressing, linear probing, one writer, lock-free
//! readers, and one 8-byte word per slot.
//!
//! ## A slot is one word
//!
//! The table's [`FdbHasher`] is a bijection, and its top `log2(capacity)`
//! bits pick a key's home slot. So a slot only has to store the rest of the hash (the
//! *remainder*) and how far the entry sits from its home (its
//! *displacement*): together with the slot's index they give back the whole
//! hash, and so the key. What is left of the word holds what workers need:
//!
//! | bits | field |
//! |---|---|
//! | 0-12 | egress port |
//! | 13 | static |
//! | 14 | fresh: the writer saw the MAC within the refresh interval |
//! | 15-20 | displacement + 1 (0 marks an empty or deleted slot) |
//! | 21-63 | the remainder, in the top `64 - log2(capacity)` bits; zero below |
//!
//! For the remainder and the fields to fit, a table has at least 2^21 slots
//! (16 MiB). Half the memory of a key word plus a value word, and a lookup
//! is one load and one compare: a worker's two random reads per frame (the
//! source's check, the destination's lookup) cost a third less in a table
//! bigger than the caches, and there is no key/value/key re-check, because
//! an entry's identity and its value change together in one atomic store.
//!
//! The writer keeps the one thing workers never read, each entry's exact
//! last-seen second, in a parallel array of its own, so the slots stay
//! small; the fresh bit is what workers see of it (the writer clears it in
//! its aging pass, [`FdbTable::set_stale`]).
//!
//! Capacity is fixed at construction (a power of two, at least twice the
//! configured maximum entries, so probe chains stay short). An entry sits at
//! most [`MAX_DISPLACEMENT`] slots past its home; at a load of 1/2 the
//! longest chain in a million random inserts measured 30. Deleting leaves a
//! tombstone; the writer rebuilds the table when tombstones pile up.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use xvs_mem::HugeZeroed;

use super::key::{FdbHasher, FdbKey};
use crate::bridge::MAX_PORTS;
use crate::types::PortId;

/// Bits 0-12 of a slot: the egress port.
const PORT_MASK: u64 = (1 << 13) - 1;
/// Bit 13: a configured entry (never ages, moves or gets evicted).
const STATIC: u64 = 1 << 13;
/// Bit 14: seen within the refresh interval (always set on statics).
const FRESH: u64 = 1 << 14;
/// Bits 15-20: displacement + 1.
const DISP_SHIFT: u32 = 15;
const DISP_MASK: u64 = (1 << 6) - 1;
/// The fields below the remainder; also log2 of the smallest table.
const FIELD_BITS: u32 = DISP_SHIFT + 6;
/// Displacement 0 in a live slot's encoding.
const DISP_ONE: u64 = 1 << DISP_SHIFT;
/// The furthest an entry may sit past its home slot.
pub const MAX_DISPLACEMENT: usize = DISP_MASK as usize - 1;

const EMPTY: u64 = 0;
/// Non-zero with a zero displacement field, so it matches no key.
const TOMBSTONE: u64 = PORT_MASK;

const _: () = assert!(MAX_PORTS as u64 <= PORT_MASK + 1, "port ids must fit a slot's port field");

/// The identity (remainder and displacement field) of an entry `step`
/// slots past its home, from its identity at the home slot.
#[inline(always)]
fn at_step(identity: u64, step: usize) -> u64 {
    identity + ((step as u64) << DISP_SHIFT)
}

/// True when slot word `word` holds the entry whose identity there is
/// `identity`: every bit from the displacement field up agrees.
#[inline(always)]
fn holds(word: u64, identity: u64) -> bool {
    (word ^ identity) >> DISP_SHIFT == 0
}

/// An FDB value as the writer keeps it: egress port, flags and last-seen
/// second, in one word.
///
/// Layout: bits 0-15 port, bit 16 static, bit 17 fresh, bits 32-63 last seen
/// (seconds of the caller's clock).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FdbValue(pub u64);

impl FdbValue {
    const STATIC: u64 = 1 << 16;
    const FRESH: u64 = 1 << 17;

    /// A value just seen (or configured), so fresh.
    #[inline]
    pub fn new(port: PortId, is_static: bool, last_seen: u32) -> FdbValue {
        FdbValue(port.0 as u64 | if is_static { Self::STATIC } else { 0 } | Self::FRESH | ((last_seen as u64) << 32))
    }

    /// Egress port.
    #[inline]
    pub fn port(self) -> PortId {
        PortId(self.0 as u16)
    }

    /// True for configured entries that never age, move or get evicted.
    #[inline]
    pub fn is_static(self) -> bool {
        self.0 & Self::STATIC != 0
    }

    /// True while workers may take the entry as seen recently (see
    /// [`FdbHit::is_fresh`]).
    #[inline]
    pub fn is_fresh(self) -> bool {
        self.0 & Self::FRESH != 0
    }

    /// Last time (seconds) the writer saw the MAC on its port.
    #[inline]
    pub fn last_seen(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The same value seen again at `secs`: a new last-seen second, and
    /// fresh.
    #[inline]
    pub fn with_last_seen(self, secs: u32) -> FdbValue {
        FdbValue((self.0 & 0xffff_ffff) | Self::FRESH | ((secs as u64) << 32))
    }

    /// The same value, no longer fresh.
    #[inline]
    pub fn stale(self) -> FdbValue {
        FdbValue(self.0 & !Self::FRESH)
    }

    /// The slot fields of this value (identity left to the caller).
    #[inline]
    fn fields(self) -> u64 {
        (self.0 & PORT_MASK)
            | if self.is_static() { STATIC } else { 0 }
            | if self.is_fresh() || self.is_static() { FRESH } else { 0 }
    }

    /// The value a slot word and its last-seen second stand for.
    #[inline]
    fn from_slot(word: u64, last_seen: u32) -> FdbValue {
        let hit = FdbHit(word);
        let v = FdbValue::new(hit.port(), hit.is_static(), last_seen);
        if hit.is_fresh() {
            v
        } else {
            v.stale()
        }
    }
}

/// What a worker's lookup finds: the entry's slot word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FdbHit(u64);

impl FdbHit {
    /// Egress port.
    #[inline(always)]
    pub fn port(self) -> PortId {
        PortId((self.0 & PORT_MASK) as u16)
    }

    /// True for configured entries (never age, move or get evicted).
    #[inline(always)]
    pub fn is_static(self) -> bool {
        self.0 & STATIC != 0
    }

    /// True when the writer saw the MAC within the refresh interval (or it
    /// is static), so a worker has nothing to report for it.
    #[inline(always)]
    pub fn is_fresh(self) -> bool {
        self.0 & FRESH != 0
    }

    /// On `port` and fresh, in one compare. `port` must be a port of the
    /// plan (below `MAX_PORTS`), as every classified frame's is.
    #[inline(always)]
    pub fn fresh_on(self, port: PortId) -> bool {
        self.0 & (PORT_MASK | FRESH) == port.0 as u64 | FRESH
    }
}

/// A (key, value) pair read out of the table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Entry {
    /// The key.
    pub key: FdbKey,
    /// The value.
    pub value: FdbValue,
}

/// A key as one [`FdbTable`] addresses it: its hash, from which the
/// table takes the home slot and the remainder. Worth keeping when one batch
/// both prefetches and looks up the same key: see [`FdbTable::lookup_at`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Home(u64);

/// Keeps the generation counter off the slots' cache lines: workers read it
/// once per batch and the writer bumps it rarely.
#[repr(align(128))]
struct Padded(AtomicU64);

/// The shared table. See the module docs for the slot encoding.
pub struct FdbTable {
    /// On 2 MiB pages when the table is that big (always, at 16 MiB or
    /// more): on 4 KiB pages nearly every random lookup would also miss the
    /// TLB.
    slots: HugeZeroed<AtomicU64>,
    /// Each slot's last-seen second: the writer's alone (workers see only
    /// the fresh bit), so it stays out of the slots' cache lines.
    last_seen: HugeZeroed<AtomicU32>,
    /// The keyed hash (see [`FdbHasher`]); a rebuilt table keeps its
    /// table's, so every entry lands no further from home than before.
    hasher: FdbHasher,
    /// `log2(capacity)`: a hash shifted left by this is a slot's remainder.
    bits: u32,
    /// `64 - bits`: a hash shifted right by this is its home slot.
    shift: u32,
    /// `capacity - 1`, for the writer's probe walk. Lookups wrap through
    /// `HugeZeroed::wrapped` instead; deriving this from the slice length in
    /// the writer measured 5 more instructions per learned MAC, so it stays.
    mask: usize,
    generation: Padded,
    /// Live entries, as last published by the writer: a hint for readers
    /// (the large-table path's choice), never used for correctness.
    live: Padded,
}

impl core::fmt::Debug for FdbTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FdbTable").field("capacity", &self.capacity()).finish()
    }
}

/// Where a writer-side insert landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// The key was new and is now in slot `slot`.
    Inserted { slot: usize, reused_tombstone: bool },
    /// The key existed, in slot `slot`; its previous value is returned.
    Updated { slot: usize, old: FdbValue },
    /// No free slot within [`MAX_DISPLACEMENT`] of the key's home (at a
    /// load of 1/2, about one insert in a billion).
    Full,
}

impl FdbTable {
    /// A table sized for `max_entries` live entries at a load factor of at
    /// most 1/2, and at least 2^21 slots (see the module docs), with a
    /// random hash key.
    pub fn with_capacity_for(max_entries: usize) -> FdbTable {
        FdbTable::with_capacity_and_hasher(max_entries, FdbHasher::random())
    }

    /// [`FdbTable::with_capacity_for`] with the given hash key.
    pub fn with_capacity_and_hasher(max_entries: usize, hasher: FdbHasher) -> FdbTable {
        let cap = (max_entries.max(8) * 2).next_power_of_two().max(1 << FIELD_BITS);
        // Home slots fit in 32 bits (a 2^32-slot table would be 32 GiB).
        assert!(cap <= 1 << 32, "FDB table of {cap} slots");
        // EMPTY is 0, so fresh zeroed memory is an empty table.
        const _: () = assert!(EMPTY == 0);
        let bits = cap.trailing_zeros();
        FdbTable {
            slots: HugeZeroed::new(cap),
            last_seen: HugeZeroed::new(cap),
            hasher,
            bits,
            shift: 64 - bits,
            mask: cap - 1,
            generation: Padded(AtomicU64::new(0)),
            live: Padded(AtomicU64::new(0)),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of slot memory, the writer's last-seen array included.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * (core::mem::size_of::<AtomicU64>() + core::mem::size_of::<AtomicU32>())
    }

    /// The table's hash key.
    pub fn hasher(&self) -> FdbHasher {
        self.hasher
    }

    /// `key` as this table addresses it.
    #[inline(always)]
    pub fn home(&self, key: FdbKey) -> Home {
        Home(self.hasher.hash(key))
    }

    /// Looks a key up. Lock-free; safe to call from any number of threads
    /// while the writer works.
    #[inline(always)]
    pub fn lookup(&self, key: FdbKey) -> Option<FdbHit> {
        self.lookup_at(self.home(key))
    }

    /// The home slot's index and the word a live entry there would carry
    /// above its fields, for displacement 0.
    #[inline(always)]
    fn index_and_identity(&self, home: Home) -> (usize, u64) {
        ((home.0 >> self.shift) as usize, (home.0 << self.bits) | DISP_ONE)
    }

    /// [`FdbTable::lookup`] of the key whose [`FdbTable::home`] is `home`.
    ///
    /// The home slot is checked inline; the collision walk is out of line.
    /// At the table's load (at most 1/2, usually far less) most lookups end
    /// at the home slot, and keeping the walk's loop out of the caller's
    /// body leaves the hot path with fewer registers to juggle.
    #[inline(always)]
    pub fn lookup_at(&self, home: Home) -> Option<FdbHit> {
        let (index, identity) = self.index_and_identity(home);
        let word = self.slots.wrapped(index).load(Ordering::Acquire);
        if holds(word, identity) {
            Some(FdbHit(word))
        } else if word == EMPTY {
            None
        } else {
            self.lookup_chain(index, identity)
        }
    }

    /// The rest of [`FdbTable::lookup_at`]'s walk, from the slot after the
    /// home slot `index`.
    #[inline(never)]
    fn lookup_chain(&self, index: usize, identity: u64) -> Option<FdbHit> {
        for step in 1..=MAX_DISPLACEMENT {
            let word = self.slots.wrapped(index + step).load(Ordering::Acquire);
            if holds(word, at_step(identity, step)) {
                return Some(FdbHit(word));
            }
            if word == EMPTY {
                return None;
            }
        }
        None
    }

    /// A hint for the large-table path: start loading `home`'s slot into
    /// the caches, so the miss overlaps with other frames' work.
    #[inline(always)]
    pub fn prefetch(&self, home: Home) {
        xvs_mem::prefetch(self.slots.wrapped(self.index_and_identity(home).0));
    }

    /// The writer's prefetch: `key`'s home slot and its last-seen second.
    /// Returns the home slot's index, for the writer's own per-slot arrays.
    #[inline]
    pub(crate) fn prefetch_for_writer(&self, key: FdbKey) -> usize {
        let (index, _) = self.index_and_identity(self.home(key));
        xvs_mem::prefetch(self.slots.wrapped(index));
        xvs_mem::prefetch(self.last_seen.wrapped(index));
        index
    }

    /// The current generation: bumped whenever an entry moves or disappears,
    /// so workers know to drop cached knowledge.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.0.load(Ordering::Acquire)
    }

    /// Live entries as last published by the writer (approximate while it
    /// works).
    #[inline]
    pub fn live_hint(&self) -> u64 {
        self.live.0.load(Ordering::Relaxed)
    }

    // ---- writer side: only `FdbWriter` calls these (single writer) ----

    pub(crate) fn set_live_hint(&self, live: u64) {
        self.live.0.store(live, Ordering::Relaxed);
    }

    /// Starts a rebuilt table's generation after its predecessor's, so a
    /// worker that synced to the old one cannot take a later change for one
    /// it has seen.
    pub(crate) fn set_generation(&self, generation: u64) {
        self.generation.0.store(generation, Ordering::Release);
    }

    /// True when slot `i` has never held an entry (no probe chain crosses
    /// it). Single writer only.
    pub(crate) fn is_empty_at(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(|s| s.load(Ordering::Relaxed) == EMPTY)
    }

    pub(crate) fn bump_generation(&self) {
        self.generation.0.fetch_add(1, Ordering::AcqRel);
    }

    /// Where `key` is: its slot index and word. Single writer only.
    #[inline]
    fn find(&self, key: FdbKey) -> Option<(usize, u64)> {
        let (home, identity) = self.index_and_identity(self.home(key));
        for step in 0..=MAX_DISPLACEMENT {
            let i = (home + step) & self.mask;
            let word = self.slots[i].load(Ordering::Relaxed);
            if holds(word, at_step(identity, step)) {
                return Some((i, word));
            }
            if word == EMPTY {
                return None;
            }
        }
        None
    }

    /// The value of `key` with its last-seen second. Single writer only
    /// (workers use [`FdbTable::lookup`]).
    #[inline]
    pub(crate) fn get(&self, key: FdbKey) -> Option<FdbValue> {
        let (i, word) = self.find(key)?;
        Some(FdbValue::from_slot(word, self.last_seen[i].load(Ordering::Relaxed)))
    }

    /// Inserts or updates. Single writer only.
    pub(crate) fn upsert(&self, key: FdbKey, value: FdbValue) -> Upsert {
        let (home, identity) = self.index_and_identity(self.home(key));
        let mut first_free: Option<(usize, u64)> = None;
        for step in 0..=MAX_DISPLACEMENT {
            let i = (home + step) & self.mask;
            let here = at_step(identity, step);
            let word = self.slots[i].load(Ordering::Relaxed);
            if holds(word, here) {
                let old = FdbValue::from_slot(word, self.last_seen[i].load(Ordering::Relaxed));
                self.publish(i, here, value);
                return Upsert::Updated { slot: i, old };
            }
            if word == TOMBSTONE && first_free.is_none() {
                first_free = Some((i, here));
            }
            if word == EMPTY {
                let (target, at) = first_free.unwrap_or((i, here));
                self.publish(target, at, value);
                return Upsert::Inserted { slot: target, reused_tombstone: first_free.is_some() };
            }
        }
        match first_free {
            Some((target, at)) => {
                self.publish(target, at, value);
                Upsert::Inserted { slot: target, reused_tombstone: true }
            }
            None => Upsert::Full,
        }
    }

    /// Writes slot `i`: the writer's last-seen second first, then the word
    /// (`identity`, the entry's remainder and displacement here, plus the
    /// value's fields) that readers see. An unchanged word is not stored
    /// again, so a refresh dirties no cache line workers read.
    fn publish(&self, i: usize, identity: u64, value: FdbValue) {
        self.last_seen[i].store(value.last_seen(), Ordering::Relaxed);
        let word = identity | value.fields();
        if self.slots[i].load(Ordering::Relaxed) != word {
            self.slots[i].store(word, Ordering::Release);
        }
    }

    /// Overwrites the value of an existing key; returns its slot. Single
    /// writer only.
    pub(crate) fn update(&self, key: FdbKey, value: FdbValue) -> Option<usize> {
        let (i, word) = self.find(key)?;
        self.publish(i, word & !(PORT_MASK | STATIC | FRESH), value);
        Some(i)
    }

    /// Removes a key, leaving a tombstone; returns the slot it was in and
    /// its value. Single writer only.
    pub(crate) fn remove(&self, key: FdbKey) -> Option<(usize, FdbValue)> {
        let (i, word) = self.find(key)?;
        self.slots[i].store(TOMBSTONE, Ordering::Release);
        Some((i, FdbValue::from_slot(word, self.last_seen[i].load(Ordering::Relaxed))))
    }

    /// Clears the fresh bit of the dynamic entry in slot `i`, so workers
    /// report its MAC again when they next see it. Single writer only.
    pub(crate) fn set_stale(&self, i: usize) {
        let Some(slot) = self.slots.get(i) else { return };
        let word = slot.load(Ordering::Relaxed);
        if (word >> DISP_SHIFT) & DISP_MASK != 0 && word & (FRESH | STATIC) == FRESH {
            slot.store(word & !FRESH, Ordering::Release);
        }
    }

    /// The live entry in slot `i`, if any. Single writer only (the
    /// last-seen second is the writer's).
    pub(crate) fn entry_at(&self, i: usize) -> Option<Entry> {
        let word = self.slots.get(i)?.load(Ordering::Acquire);
        let disp = (word >> DISP_SHIFT) & DISP_MASK;
        if disp == 0 {
            return None;
        }
        // The home slot, then the hash: home bits on top, remainder below.
        let home = i.wrapping_sub(disp as usize - 1) & self.mask;
        let hash = ((home as u64) << self.shift) | (word >> self.bits);
        let value = FdbValue::from_slot(word, self.last_seen[i].load(Ordering::Relaxed));
        Some(Entry { key: self.hasher.unhash(hash), value })
    }

    /// Every live entry, in slot order. A snapshot only if the writer is idle.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.slots.len()).filter_map(move |i| self.entry_at(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{BdId, MacAddr};

    fn k(n: u64) -> FdbKey {
        FdbKey::new(BdId(1), MacAddr::from_u64(0x0200_0000_0000 | n))
    }

    #[test]
    fn insert_lookup_update_remove() {
        let t = FdbTable::with_capacity_for(16);
        assert_eq!(t.lookup(k(1)), None);
        let landed = t.upsert(k(1), FdbValue::new(PortId(3), false, 10));
        assert_eq!(landed, Upsert::Inserted { slot: t.find(k(1)).unwrap().0, reused_tombstone: false });
        assert_eq!(t.lookup(k(1)).unwrap().port(), PortId(3));
        assert!(
            matches!(t.upsert(k(1), FdbValue::new(PortId(4), false, 11)), Upsert::Updated { old, .. } if old.port() == PortId(3))
        );
        assert_eq!(t.get(k(1)).unwrap().last_seen(), 11);
        assert!(t.update(k(1), FdbValue::new(PortId(4), true, 12)).is_some());
        assert!(t.lookup(k(1)).unwrap().is_static());
        assert!(t.remove(k(1)).is_some());
        assert_eq!(t.lookup(k(1)), None);
        assert!(matches!(
            t.upsert(k(1), FdbValue::new(PortId(1), false, 1)),
            Upsert::Inserted { reused_tombstone: true, .. }
        ));
    }

    #[test]
    fn collisions_and_tombstones_keep_chains_intact() {
        let t = FdbTable::with_capacity_for(64);
        for n in 0..64 {
            t.upsert(k(n), FdbValue::new(PortId(n as u16), false, 0));
        }
        for n in (0..64).step_by(2) {
            t.remove(k(n));
        }
        for n in 0..64 {
            assert_eq!(t.lookup(k(n)).map(|v| v.port().0 as u64), if n % 2 == 1 { Some(n) } else { None });
        }
        assert_eq!(t.entries().count(), 32);
    }

    /// The key whose hash puts it at home slot `home` of `t` with
    /// remainder `rem`.
    fn key_at(t: &FdbTable, home: u64, rem: u64) -> FdbKey {
        t.hasher.unhash((home << t.shift) | rem)
    }

    /// Above the minimum size the remainder is shorter (and the gap below
    /// it wider): keys still come back exactly, across the wrap too.
    #[test]
    fn a_table_above_the_minimum_gives_back_its_keys() {
        let t = FdbTable::with_capacity_for((1 << FIELD_BITS) + 1);
        assert_eq!(t.capacity(), 1 << (FIELD_BITS + 2));
        let last = t.capacity() as u64 - 1;
        let mut keys: Vec<FdbKey> = (0..3).map(|r| key_at(&t, last, r << 30)).collect();
        keys.extend((0..2000).map(k));
        for (n, key) in keys.iter().enumerate() {
            assert!(matches!(
                t.upsert(*key, FdbValue::new(PortId(n as u16 % 4096), false, n as u32)),
                Upsert::Inserted { .. }
            ));
        }
        assert_eq!(t.entry_at(0).unwrap().key, keys[1]);
        assert_eq!(t.entries().count(), keys.len());
        for e in t.entries() {
            let n = keys.iter().position(|k| *k == e.key).expect("a key the table never had");
            assert_eq!((e.value.port(), e.value.last_seen()), (PortId(n as u16 % 4096), n as u32));
            assert_eq!(t.lookup(e.key).unwrap().port(), PortId(n as u16 % 4096));
        }
        assert_eq!(t.lookup(k(5000)), None);
    }

    #[test]
    fn slots_give_back_their_keys_across_the_wrap() {
        let t = FdbTable::with_capacity_for(16);
        assert_eq!(t.capacity(), 1 << FIELD_BITS);
        let last = t.capacity() as u64 - 1;
        // Three keys homed on the last slot: two of them wrap to slots 0, 1.
        let keys: Vec<FdbKey> = (0..3).map(|r| key_at(&t, last, r)).chain([k(1), k(2)]).collect();
        for (n, key) in keys.iter().enumerate() {
            t.upsert(*key, FdbValue::new(PortId(n as u16), false, n as u32));
        }
        assert_eq!(t.entry_at(0).unwrap().key, keys[1]);
        let mut found: Vec<Entry> = t.entries().collect();
        found.sort_by_key(|e| e.value.port());
        assert_eq!(found.iter().map(|e| e.key).collect::<Vec<_>>(), keys);
        for (n, e) in found.iter().enumerate() {
            assert_eq!((e.value.port(), e.value.last_seen()), (PortId(n as u16), n as u32));
            assert_eq!(t.lookup(e.key).unwrap().port(), PortId(n as u16));
        }
    }

    #[test]
    fn same_remainder_on_another_home_never_matches() {
        let t = FdbTable::with_capacity_for(16);
        // `a` is homed on slot 9 but pushed to slot 10 by `filler`; `b` is
        // homed on slot 10 with the same remainder. Only the displacement
        // tells them apart.
        let (filler, a, b) = (key_at(&t, 9, 77), key_at(&t, 9, 5), key_at(&t, 10, 5));
        t.upsert(filler, FdbValue::new(PortId(1), false, 0));
        t.upsert(a, FdbValue::new(PortId(2), false, 0));
        assert_eq!(t.entry_at(10).unwrap().key, a);
        assert_eq!(t.lookup(a).unwrap().port(), PortId(2));
        assert_eq!(t.lookup(b), None);
        assert_eq!(t.get(b), None);
        assert!(t.update(b, FdbValue::new(PortId(3), false, 0)).is_none());
        assert!(matches!(
            t.upsert(b, FdbValue::new(PortId(3), false, 0)),
            Upsert::Inserted { reused_tombstone: false, .. }
        ));
        assert_eq!((t.lookup(a).unwrap().port(), t.lookup(b).unwrap().port()), (PortId(2), PortId(3)));
    }

    #[test]
    fn a_chain_holds_at_most_max_displacement_plus_one() {
        let t = FdbTable::with_capacity_for(16);
        let keys: Vec<FdbKey> = (0..=MAX_DISPLACEMENT as u64 + 1).map(|r| key_at(&t, 100, r)).collect();
        let (fit, over) = keys.split_at(MAX_DISPLACEMENT + 1);
        for key in fit {
            assert!(matches!(t.upsert(*key, FdbValue::new(PortId(1), false, 0)), Upsert::Inserted { .. }));
        }
        assert_eq!(t.upsert(over[0], FdbValue::new(PortId(1), false, 0)), Upsert::Full);
        assert!(fit.iter().all(|key| t.lookup(*key).is_some()));
        assert_eq!(t.lookup(over[0]), None);
        // A tombstone on the chain makes room again.
        t.remove(fit[3]);
        assert!(matches!(
            t.upsert(over[0], FdbValue::new(PortId(1), false, 0)),
            Upsert::Inserted { reused_tombstone: true, .. }
        ));
        assert_eq!(t.entries().count(), MAX_DISPLACEMENT + 1);
    }

    #[test]
    fn freshness_is_what_workers_see_of_last_seen() {
        let t = FdbTable::with_capacity_for(16);
        t.upsert(k(1), FdbValue::new(PortId(4), false, 50));
        t.upsert(k(2), FdbValue::new(PortId(4), true, 0));
        assert!(t.lookup(k(1)).unwrap().fresh_on(PortId(4)));
        assert!(!t.lookup(k(1)).unwrap().fresh_on(PortId(5)));
        let slot = |key| t.find(key).unwrap().0;
        t.set_stale(slot(k(1)));
        t.set_stale(slot(k(2)));
        let hit = t.lookup(k(1)).unwrap();
        assert!(!hit.is_fresh() && !hit.fresh_on(PortId(4)) && hit.port() == PortId(4));
        assert!(!t.get(k(1)).unwrap().is_fresh());
        // Statics stay fresh; a refresh makes a dynamic entry fresh again.
        assert!(t.lookup(k(2)).unwrap().fresh_on(PortId(4)));
        t.update(k(1), t.get(k(1)).unwrap().with_last_seen(60));
        assert!(t.lookup(k(1)).unwrap().fresh_on(PortId(4)));
        assert_eq!(t.get(k(1)).unwrap().last_seen(), 60);
        // Empty and deleted slots are left alone.
        t.remove(k(1));
        t.set_stale(slot(k(2)) ^ 1);
        assert_eq!(t.entries().count(), 1);
    }

    #[test]
    fn value_packing() {
        let v = FdbValue::new(PortId(0xfffe), true, u32::MAX);
        assert_eq!(v.port(), PortId(0xfffe));
        assert!(v.is_static());
        assert_eq!(v.last_seen(), u32::MAX);
        assert_eq!(v.with_last_seen(5).last_seen(), 5);
        assert!(v.with_last_seen(5).is_static());
        assert!(v.is_fresh() && !v.stale().is_fresh() && v.stale().with_last_seen(1).is_fresh());
        for port in [0, 1, MAX_PORTS as u16 - 1] {
            let v = FdbValue::new(PortId(port), false, 9).stale();
            assert_eq!(FdbValue::from_slot(DISP_ONE | v.fields(), 9), v);
        }
        let _ = MacAddr::ZERO;
    }

    #[test]
    fn concurrent_readers_never_see_torn_entries() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let t = Arc::new(FdbTable::with_capacity_for(1024));
        let stop = Arc::new(AtomicBool::new(false));
        // Invariant the writer keeps: the port of key n is always n % 7 or
        // n % 7 + 100; a reader must never see anything else.
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let t = t.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut seen = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for n in 0..512u64 {
                            if let Some(v) = t.lookup(k(n)) {
                                let p = v.port().0 as u64;
                                assert!(p == n % 7 || p == n % 7 + 100, "torn value {p} for {n}");
                                seen += 1;
                            }
                        }
                    }
                    seen
                })
            })
            .collect();
        for round in 0..200u64 {
            for n in 0..512u64 {
                let port = if round % 2 == 0 { n % 7 } else { n % 7 + 100 };
                if (n + round) % 5 == 0 {
                    t.remove(k(n));
                } else {
                    t.upsert(k(n), FdbValue::new(PortId(port as u16), false, round as u32));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
    }
}
