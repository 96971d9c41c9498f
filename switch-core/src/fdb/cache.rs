//! A worker's private learn cache in front of the shared table.
//!
//! Direct-mapped, 2048 slots of 16 bytes (32 KiB, about an L1's worth).
//! A slot remembers "this worker last confirmed (or reported) that source key
//! K is on port P, and needs no report before second U". A frame whose source
//! hits the cache with the same port before U costs no shared-table access
//! and no event, which is the common case. Everything else takes the slow
//! path, which consults the shared table and emits at most one event per
//! refresh interval per key.
//!
//! Refreshes: the writer clears an entry's fresh bit once its last-seen
//! second is one refresh interval old, and a worker re-checks the table at
//! most one interval after it last did. So a MAC in constant use is reported
//! every one to two intervals (plus a second), inside the aging time: four
//! intervals, and at least 4 s (see `fdb::MIN_AGING_SECS` for why that
//! floor suffices).
//!
//! The cache is never used to forward: destination lookups always read the
//! shared table, so a stale cache can delay learning, never misdeliver.

use super::events::{LearnEvent, LearnQueue};
use super::key::FdbKey;
use super::table::{FdbTable, Home};
use crate::types::PortId;

const SLOTS: usize = 2048;
const SHIFT: u32 = 64 - SLOTS.trailing_zeros();

#[derive(Clone, Copy, Default)]
struct CacheSlot {
    key: u64,
    /// Port in bits 48-63, and in bits 0-31 the second from which the table
    /// must be asked again (fill time + refresh interval): laid out so that
    /// [`LearnCache::probe`] checks both with one subtraction.
    port_until: u64,
}

impl CacheSlot {
    #[inline]
    fn new(key: FdbKey, port: PortId, until: u32) -> CacheSlot {
        CacheSlot { key: key.0, port_until: ((port.0 as u64) << 48) | until as u64 }
    }
}

/// What the learn step concluded for one source address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnOutcome {
    /// Known on this port and fresh: nothing to do.
    Known,
    /// An event was queued for the writer (new MAC, move or refresh).
    Reported,
    /// An event was due but the queue was full.
    QueueFull,
    /// The MAC is static on another port; the frame must be dropped.
    StaticConflict,
}

/// The per-worker cache. Not shared: each worker owns one.
pub struct LearnCache {
    // A fixed-size array: the index is masked, so no bounds check remains.
    slots: Box<[CacheSlot; SLOTS]>,
    generation: u64,
    refresh_after: u32,
}

impl core::fmt::Debug for LearnCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LearnCache").field("refresh_after", &self.refresh_after).finish()
    }
}

impl LearnCache {
    /// A cache that reports a known MAC again after `refresh_after` seconds,
    /// so the writer can keep its last-seen time (and aging) current.
    pub fn new(refresh_after: u32) -> LearnCache {
        LearnCache {
            slots: Box::new([CacheSlot::default(); SLOTS]),
            generation: u64::MAX,
            refresh_after: refresh_after.max(1),
        }
    }

    /// Drops everything the cache knows if the table's generation moved (an
    /// entry moved, aged out or was flushed). Call once per batch.
    #[inline]
    pub fn sync(&mut self, table: &FdbTable) -> bool {
        let g = table.generation();
        if g != self.generation {
            self.generation = g;
            self.slots.fill(CacheSlot::default());
            true
        } else {
            false
        }
    }

    /// Fibonacci hashing (a multiply by 2^64/phi, top bits) of the
    /// byte-swapped key. Unkeyed, unlike the shared table's hash: a sender
    /// that crafts colliding sources here only sends its victim's frames
    /// down the slow path (one shared-table read), it cannot stop a MAC
    /// from being learned.
    #[inline]
    fn index(key: FdbKey) -> usize {
        (key.0.swap_bytes().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> SHIFT) as usize & (SLOTS - 1)
    }

    /// The fast path: true when this worker already knows `key` is on `port`
    /// and fresh, so there is nothing to report. Touches only private memory.
    #[inline]
    pub fn probe(&self, key: FdbKey, port: PortId, now: u32) -> bool {
        let slot = self.slots[Self::index(key)];
        // With `due` = port in bits 48-63 and now + 1 below, `port_until -
        // due` is `until - now - 1` (below 2^32) exactly when the ports match
        // and `now < until`; a different port, or `until <= now`, leaves bits
        // 32-63 set. So: one subtraction, and one branch at the caller.
        let due = ((port.0 as u64) << 48) | (now as u64 + 1);
        ((slot.key ^ key.0) | (slot.port_until.wrapping_sub(due) >> 32)) == 0
    }

    /// The slow path after a failed [`LearnCache::probe`]: consult the shared
    /// table and report to the writer if needed.
    #[inline]
    pub fn report(
        &mut self,
        table: &FdbTable,
        queue: &LearnQueue,
        key: FdbKey,
        port: PortId,
        now: u32,
    ) -> LearnOutcome {
        self.learn_slow(table, queue, key, port, now, Self::index(key))
    }

    /// The learn step for a table far bigger than this cache: the shared
    /// table first (fresh and on this port: nothing to do, and the cache is
    /// neither read nor written), then the cache, so a source already
    /// reported is not reported again before the writer has applied it.
    /// `home` is `table.home(key)`, computed by the caller's prefetch.
    #[inline]
    pub fn learn_table_first(
        &mut self,
        table: &FdbTable,
        queue: &LearnQueue,
        key: FdbKey,
        home: Home,
        port: PortId,
        now: u32,
    ) -> LearnOutcome {
        match table.lookup_at(home) {
            Some(v) if v.fresh_on(port) => LearnOutcome::Known,
            _ => self.learn(table, queue, key, port, now),
        }
    }

    /// Probe and, on a miss, report: the learn step for one frame's source.
    #[inline]
    pub fn learn(&mut self, table: &FdbTable, queue: &LearnQueue, key: FdbKey, port: PortId, now: u32) -> LearnOutcome {
        if self.probe(key, port, now) {
            return LearnOutcome::Known;
        }
        self.report(table, queue, key, port, now)
    }

    fn learn_slow(
        &mut self,
        table: &FdbTable,
        queue: &LearnQueue,
        key: FdbKey,
        port: PortId,
        now: u32,
        idx: usize,
    ) -> LearnOutcome {
        let until = now.saturating_add(self.refresh_after);
        match table.lookup(key) {
            Some(v) if v.fresh_on(port) => {
                // The writer saw it within the refresh interval: check the
                // table again one interval from now.
                self.slots[idx] = CacheSlot::new(key, port, until);
                return LearnOutcome::Known;
            }
            Some(v) if v.port() == port => {}
            Some(v) if v.is_static() => return LearnOutcome::StaticConflict,
            _ => {}
        }
        // New, moved, or due for refresh: report once, and remember that we
        // did so the next frames from this MAC stay on the fast path.
        self.slots[idx] = CacheSlot::new(key, port, until);
        if queue.push(LearnEvent { key, port, at: now }) {
            LearnOutcome::Reported
        } else {
            LearnOutcome::QueueFull
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdb::table::FdbValue;
    use crate::types::{BdId, MacAddr};

    fn k(n: u64) -> FdbKey {
        FdbKey::new(BdId(1), MacAddr::from_u64(0x0200_0000_0000 | n))
    }

    #[test]
    fn reports_once_then_stays_quiet_until_refresh() {
        let t = FdbTable::with_capacity_for(16);
        let q = LearnQueue::new(16);
        let mut c = LearnCache::new(10);
        c.sync(&t);
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 100), LearnOutcome::Reported);
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 101), LearnOutcome::Known);
        assert_eq!(q.len(), 1);
        // Writer applies it.
        t.upsert(k(1), FdbValue::new(PortId(1), false, 100));
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 109), LearnOutcome::Known);
        // The cache asks the table again: still fresh, so still quiet.
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 110), LearnOutcome::Known);
        assert_eq!(q.len(), 1);
        // The writer's aging pass finds it a refresh interval old.
        t.upsert(k(1), FdbValue::new(PortId(1), false, 100).stale());
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 119), LearnOutcome::Known);
        // Due for refresh: one more event.
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 120), LearnOutcome::Reported);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn probe_matches_key_port_and_freshness_exactly() {
        let mut c = LearnCache::new(10);
        for (port, until) in [(PortId(0), 1), (PortId(7), 500), (PortId(0xffff), u32::MAX)] {
            let slot = LearnCache::index(k(1));
            c.slots[slot] = CacheSlot::new(k(1), port, until);
            assert!(c.probe(k(1), port, until - 1), "{port:?} {until}");
            assert!(c.probe(k(1), port, 0), "{port:?} {until}");
            assert!(!c.probe(k(1), port, until), "{port:?} {until}");
            assert!(!c.probe(k(1), port, u32::MAX), "{port:?} {until}");
            for other in [PortId(port.0.wrapping_add(1)), PortId(port.0.wrapping_sub(1)), PortId(port.0 ^ 0x8000)] {
                assert!(!c.probe(k(1), other, 0), "{port:?} vs {other:?}");
            }
            assert!(!c.probe(k(2), port, 0));
        }
    }

    #[test]
    fn move_is_reported_and_static_conflicts() {
        let t = FdbTable::with_capacity_for(16);
        let q = LearnQueue::new(16);
        let mut c = LearnCache::new(10);
        t.upsert(k(1), FdbValue::new(PortId(1), false, 100));
        t.upsert(k(2), FdbValue::new(PortId(1), true, 0));
        c.sync(&t);
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 100), LearnOutcome::Known);
        assert_eq!(c.learn(&t, &q, k(1), PortId(2), 100), LearnOutcome::Reported);
        assert_eq!(q.pop().unwrap().port, PortId(2));
        assert_eq!(c.learn(&t, &q, k(2), PortId(3), 100), LearnOutcome::StaticConflict);
        assert_eq!(c.learn(&t, &q, k(2), PortId(1), 100), LearnOutcome::Known);
    }

    #[test]
    fn generation_change_clears_and_full_queue_is_reported() {
        let t = FdbTable::with_capacity_for(16);
        let q = LearnQueue::new(1);
        let mut c = LearnCache::new(10);
        c.sync(&t);
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 0), LearnOutcome::Reported);
        assert_eq!(c.learn(&t, &q, k(2), PortId(1), 0), LearnOutcome::QueueFull);
        t.bump_generation();
        assert!(c.sync(&t));
        assert!(!c.sync(&t));
        // Cleared: k(1) is unknown to the table and to the cache again.
        assert_eq!(c.learn(&t, &q, k(1), PortId(1), 0), LearnOutcome::QueueFull);
    }
}
