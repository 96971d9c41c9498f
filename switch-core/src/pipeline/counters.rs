//! Per-worker counters: single writer, any number of readers.
//!
//! Each worker owns one [`WorkerCounters`] (cache-line aligned, so two
//! workers never write the same line). The worker adds with a relaxed load
//! and store, which on x86 is a plain `add` to memory: no lock prefix, because
//! nobody else writes. The control thread reads with relaxed loads and sums
//! across workers.

use std::sync::atomic::{AtomicU64, Ordering};

use super::DropReason;

/// A single-writer counter.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Current value, from any thread.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything one worker's pipeline counts.
#[derive(Debug)]
#[repr(align(128))]
pub struct WorkerCounters {
    /// Frames dropped, by [`DropReason::index`].
    pub drops: [Counter; DropReason::COUNT],
    /// Frames received into the pipeline.
    pub packets: Counter,
    /// Batches processed.
    pub batches: Counter,
    /// Frames sent to a single known port.
    pub forwarded: Counter,
    /// Frames flooded (counted once per frame).
    pub flooded: Counter,
    /// Copies made while flooding.
    pub flood_copies: Counter,
    /// Unicast frames flooded because the destination was not learned.
    pub unknown_unicast: Counter,
    /// Learn events queued for the FDB writer.
    pub learn_events: Counter,
    /// Learn events lost because the queue was full.
    pub learn_queue_full: Counter,
    /// Learn-cache resets after an FDB generation change.
    pub learn_cache_resets: Counter,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            drops: core::array::from_fn(|_| Counter::default()),
            packets: Counter::default(),
            batches: Counter::default(),
            forwarded: Counter::default(),
            flooded: Counter::default(),
            flood_copies: Counter::default(),
            unknown_unicast: Counter::default(),
            learn_events: Counter::default(),
            learn_queue_full: Counter::default(),
            learn_cache_resets: Counter::default(),
        }
    }
}

impl WorkerCounters {
    /// Counts one drop.
    #[inline]
    pub fn drop(&self, reason: DropReason) {
        self.drops[reason.index()].add(1);
    }

    /// A plain-value copy, for summing and printing.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            drops: core::array::from_fn(|i| self.drops[i].get()),
            packets: self.packets.get(),
            batches: self.batches.get(),
            forwarded: self.forwarded.get(),
            flooded: self.flooded.get(),
            flood_copies: self.flood_copies.get(),
            unknown_unicast: self.unknown_unicast.get(),
            learn_events: self.learn_events.get(),
            learn_queue_full: self.learn_queue_full.get(),
            learn_cache_resets: self.learn_cache_resets.get(),
        }
    }
}

/// Plain values of a [`WorkerCounters`], summable across workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CounterSnapshot {
    pub drops: [u64; DropReason::COUNT],
    pub packets: u64,
    pub batches: u64,
    pub forwarded: u64,
    pub flooded: u64,
    pub flood_copies: u64,
    pub unknown_unicast: u64,
    pub learn_events: u64,
    pub learn_queue_full: u64,
    pub learn_cache_resets: u64,
}

impl CounterSnapshot {
    /// Adds another worker's values.
    pub fn accumulate(&mut self, o: &CounterSnapshot) {
        for (a, b) in self.drops.iter_mut().zip(o.drops.iter()) {
            *a += b;
        }
        self.packets += o.packets;
        self.batches += o.batches;
        self.forwarded += o.forwarded;
        self.flooded += o.flooded;
        self.flood_copies += o.flood_copies;
        self.unknown_unicast += o.unknown_unicast;
        self.learn_events += o.learn_events;
        self.learn_queue_full += o.learn_queue_full;
        self.learn_cache_resets += o.learn_cache_resets;
    }

    /// Drops for one reason.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// The non-drop counters as (name, value), for exporters.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("packets", self.packets),
            ("batches", self.batches),
            ("forwarded", self.forwarded),
            ("flooded", self.flooded),
            ("flood_copies", self.flood_copies),
            ("unknown_unicast", self.unknown_unicast),
            ("learn_events", self.learn_events),
            ("learn_queue_full", self.learn_queue_full),
            ("learn_cache_resets", self.learn_cache_resets),
        ]
    }
}
