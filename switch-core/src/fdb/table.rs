//! The shared MAC table: open addressing, linear probing, one writer, lock-free
//! readers.
//!
//! A slot is two `AtomicU64`s, key then value, 16 bytes, four to a cache line.
//! Readers load key (Acquire), then value (Acquire), then the key again: if
//! the key is unchanged the value belongs to it, because the writer always
//! stores a slot's value before publishing its key (Release), and retires a
//! slot by overwriting the key. Values are single words, so an update is one
//! store and a reader sees the old or the new value, never a mix.
//!
//! Capacity is fixed at construction (a power of two, at least twice the
//! configured maximum entries, so probe chains stay short). Deleting leaves a
//! tombstone; the writer rebuilds the table when tombstones pile up.

use std::sync::atomic::{AtomicU64, Ordering};

use xvs_mem::HugeZeroed;

use super::key::{fdb_hash, FdbKey};
use crate::types::PortId;

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = u64::MAX;

/// An FDB value: egress port, flags and last-seen second, in one word.
///
/// Layout: bits 0-15 port, bit 16 static, bits 32-63 last seen (seconds of
/// the caller's clock).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FdbValue(pub u64);

impl FdbValue {
    const STATIC: u64 = 1 << 16;

    /// Builds a value.
    #[inline]
    pub fn new(port: PortId, is_static: bool, last_seen: u32) -> FdbValue {
        FdbValue(port.0 as u64 | if is_static { Self::STATIC } else { 0 } | ((last_seen as u64) << 32))
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

    /// Last time (seconds) the writer saw the MAC on its port.
    #[inline]
    pub fn last_seen(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The same value with a new last-seen second.
    #[inline]
    pub fn with_last_seen(self, secs: u32) -> FdbValue {
        FdbValue((self.0 & 0xffff_ffff) | ((secs as u64) << 32))
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

/// A slot: `[key, value]`. An array rather than a struct so it can live in
/// [`HugeZeroed`] memory (all-zero is a valid, empty slot).
type Slot = [AtomicU64; 2];

/// The key word of a slot.
#[inline(always)]
fn key_of(slot: &Slot) -> &AtomicU64 {
    &slot[0]
}

/// The value word of a slot.
#[inline(always)]
fn value_of(slot: &Slot) -> &AtomicU64 {
    &slot[1]
}

/// Where a key's probe chain starts in one [`FdbTable`]: the slot index its
/// hash selects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Home(u32);

/// What one slot says about a looked-up key.
enum Probe {
    /// The key, with its value.
    Found(FdbValue),
    /// An empty slot: the key is not in the table.
    Empty,
    /// Another key or a tombstone: walk on.
    Other,
}

/// Keeps the generation counter off the slots' cache lines: workers read it
/// once per batch and the writer bumps it rarely.
#[repr(align(128))]
struct Padded(AtomicU64);

/// The shared table. See the module docs for the concurrency protocol.
pub struct FdbTable {
    /// On 2 MiB pages when the table is that big: a 1M-entry table spans
    /// 32 MiB, and on 4 KiB pages nearly every random lookup would also miss
    /// the TLB.
    slots: HugeZeroed<Slot>,
    /// `64 - log2(capacity)`: the hash's top bits index the table.
    shift: u32,
    /// `capacity - 1`, for the writer's probe walk. Lookups wrap through
    /// `HugeZeroed::wrapped` instead; deriving this from the slice length in
    /// the writer measured 5 more instructions per learned MAC, so it stays.
    mask: usize,
    generation: Padded,
    /// Live entries, as last published by the writer: a hint for readers
    /// (the prefetch pass), never used for correctness.
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
    /// The key was new and is now in the table.
    Inserted { reused_tombstone: bool },
    /// The key existed; its previous value is returned.
    Updated(FdbValue),
    /// No free slot on the probe chain (cannot happen below the load limit).
    Full,
}

impl FdbTable {
    /// A table sized for `max_entries` live entries at a load factor of at
    /// most 1/2.
    pub fn with_capacity_for(max_entries: usize) -> FdbTable {
        let cap = (max_entries.max(8) * 2).next_power_of_two();
        // Slot indexes fit a `Home` (a 2^32-slot table would be 64 GiB).
        assert!(cap <= 1 << 32, "FDB table of {cap} slots");
        // EMPTY is 0, so fresh zeroed memory is an empty table.
        const _: () = assert!(EMPTY == 0);
        let slots = HugeZeroed::new(cap);
        FdbTable {
            slots,
            shift: 64 - cap.trailing_zeros(),
            mask: cap - 1,
            generation: Padded(AtomicU64::new(0)),
            live: Padded(AtomicU64::new(0)),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of slot memory.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * core::mem::size_of::<Slot>()
    }

    /// Where `key`'s probe chain starts. Worth keeping when one batch both
    /// prefetches and looks up the same key: see [`FdbTable::lookup_at`].
    #[inline(always)]
    pub fn home(&self, key: FdbKey) -> Home {
        // The top `log2(capacity)` bits (capacity is at most 2^32).
        Home((fdb_hash(key) >> self.shift) as u32)
    }

    /// Looks a key up. Lock-free; safe to call from any number of threads
    /// while the writer works.
    ///
    /// The home slot is checked inline; the collision walk is out of line.
    /// At the table's load (at most 1/2, usually far less) most lookups end
    /// at the home slot, and keeping the walk's loop out of the caller's
    /// body leaves the hot path with fewer registers to juggle.
    #[inline(always)]
    pub fn lookup(&self, key: FdbKey) -> Option<FdbValue> {
        self.lookup_at(key, self.home(key))
    }

    /// [`FdbTable::lookup`] with the key's [`FdbTable::home`] already
    /// computed (by this table: a `Home` from another table stays in bounds
    /// but may miss the key).
    #[inline(always)]
    pub fn lookup_at(&self, key: FdbKey, home: Home) -> Option<FdbValue> {
        let home = home.0 as usize;
        match Self::probe_slot(self.slots.wrapped(home), key) {
            Probe::Found(v) => Some(v),
            Probe::Empty => None,
            Probe::Other => self.lookup_chain(key, home),
        }
    }

    /// The rest of [`FdbTable::lookup`]'s walk, from the slot after `home`.
    #[inline(never)]
    fn lookup_chain(&self, key: FdbKey, home: usize) -> Option<FdbValue> {
        // The table is never full (load <= 1/2), so an EMPTY slot ends every
        // probe chain; the bound (every slot once) only guards against a
        // writer bug.
        for step in 1..self.slots.len() {
            match Self::probe_slot(self.slots.wrapped(home + step), key) {
                Probe::Found(v) => return Some(v),
                Probe::Empty => return None,
                Probe::Other => {}
            }
        }
        None
    }

    /// One slot of a lookup's walk.
    #[inline(always)]
    fn probe_slot(slot: &Slot, key: FdbKey) -> Probe {
        let k = key_of(slot).load(Ordering::Acquire);
        if k == key.0 {
            let v = value_of(slot).load(Ordering::Acquire);
            // Still our key: the value belongs to it. Otherwise the slot was
            // retired and reused between the loads: keep walking.
            if key_of(slot).load(Ordering::Acquire) == key.0 {
                return Probe::Found(FdbValue(v));
            }
            Probe::Other
        } else if k == EMPTY {
            Probe::Empty
        } else {
            Probe::Other
        }
    }

    /// A hint for the batch prefetch pass: start loading the home slot
    /// `home` into the caches, so the miss overlaps with other frames' work.
    #[inline(always)]
    pub fn prefetch(&self, home: Home) {
        xvs_mem::prefetch(self.slots.wrapped(home.0 as usize));
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

    pub(crate) fn bump_generation(&self) {
        self.generation.0.fetch_add(1, Ordering::AcqRel);
    }

    /// Inserts or updates. Single writer only.
    pub(crate) fn upsert(&self, key: FdbKey, value: FdbValue) -> Upsert {
        let mut i = self.home(key).0 as usize;
        let mut first_free: Option<usize> = None;
        for _ in 0..self.slots.len() {
            let slot = &self.slots[i];
            let k = key_of(slot).load(Ordering::Relaxed);
            if k == key.0 {
                let old = value_of(slot).swap(value.0, Ordering::Release);
                return Upsert::Updated(FdbValue(old));
            }
            if k == TOMBSTONE && first_free.is_none() {
                first_free = Some(i);
            }
            if k == EMPTY {
                let target = first_free.unwrap_or(i);
                let reused = first_free.is_some();
                self.publish(target, key, value);
                return Upsert::Inserted { reused_tombstone: reused };
            }
            i = (i + 1) & self.mask;
        }
        match first_free {
            Some(target) => {
                self.publish(target, key, value);
                Upsert::Inserted { reused_tombstone: true }
            }
            None => Upsert::Full,
        }
    }

    fn publish(&self, i: usize, key: FdbKey, value: FdbValue) {
        let slot = &self.slots[i];
        value_of(slot).store(value.0, Ordering::Release);
        key_of(slot).store(key.0, Ordering::Release);
    }

    /// Overwrites the value of an existing key. Single writer only.
    pub(crate) fn update(&self, key: FdbKey, value: FdbValue) -> bool {
        matches!(self.find_slot(key), Some(i) if { value_of(&self.slots[i]).store(value.0, Ordering::Release); true })
    }

    /// Removes a key, leaving a tombstone. Single writer only.
    pub(crate) fn remove(&self, key: FdbKey) -> Option<FdbValue> {
        let i = self.find_slot(key)?;
        let v = value_of(&self.slots[i]).load(Ordering::Relaxed);
        key_of(&self.slots[i]).store(TOMBSTONE, Ordering::Release);
        Some(FdbValue(v))
    }

    fn find_slot(&self, key: FdbKey) -> Option<usize> {
        let mut i = self.home(key).0 as usize;
        for _ in 0..self.slots.len() {
            let k = key_of(&self.slots[i]).load(Ordering::Relaxed);
            if k == key.0 {
                return Some(i);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// The live entry in slot `i`, if any.
    pub(crate) fn entry_at(&self, i: usize) -> Option<Entry> {
        let slot = self.slots.get(i)?;
        let k = key_of(slot).load(Ordering::Acquire);
        if k == EMPTY || k == TOMBSTONE {
            return None;
        }
        Some(Entry { key: FdbKey(k), value: FdbValue(value_of(slot).load(Ordering::Acquire)) })
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
        assert_eq!(t.upsert(k(1), FdbValue::new(PortId(3), false, 10)), Upsert::Inserted { reused_tombstone: false });
        assert_eq!(t.lookup(k(1)).unwrap().port(), PortId(3));
        assert!(
            matches!(t.upsert(k(1), FdbValue::new(PortId(4), false, 11)), Upsert::Updated(v) if v.port() == PortId(3))
        );
        assert_eq!(t.lookup(k(1)).unwrap().last_seen(), 11);
        assert!(t.update(k(1), FdbValue::new(PortId(4), true, 12)));
        assert!(t.lookup(k(1)).unwrap().is_static());
        assert!(t.remove(k(1)).is_some());
        assert_eq!(t.lookup(k(1)), None);
        assert_eq!(t.upsert(k(1), FdbValue::new(PortId(1), false, 1)), Upsert::Inserted { reused_tombstone: true });
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

    #[test]
    fn value_packing() {
        let v = FdbValue::new(PortId(0xfffe), true, u32::MAX);
        assert_eq!(v.port(), PortId(0xfffe));
        assert!(v.is_static());
        assert_eq!(v.last_seen(), u32::MAX);
        assert_eq!(v.with_last_seen(5).last_seen(), 5);
        assert!(v.with_last_seen(5).is_static());
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
