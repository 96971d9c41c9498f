//! Learn events: how workers tell the single FDB writer what they saw.

use crossbeam::queue::ArrayQueue;

use super::key::FdbKey;
use crate::types::PortId;

/// "Source `key` was seen on `port` at second `at`."
///
/// The writer decides what it means: a new entry, a refresh of an existing
/// one, or a MAC move. Workers do not classify, because only the writer knows
/// the table's latest state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LearnEvent {
    /// (domain, MAC).
    pub key: FdbKey,
    /// Port the frame arrived on.
    pub port: PortId,
    /// Second of the caller's clock.
    pub at: u32,
}

/// One worker's bounded queue of learn events.
///
/// Lock-free (crossbeam's array queue); the worker pushes, the writer pops.
/// When it is full the worker drops the event and counts it: learning is
/// best-effort and retried on the next frame after the learn cache's refresh
/// interval, so overload degrades into flooding, never into blocking.
pub struct LearnQueue {
    queue: ArrayQueue<LearnEvent>,
}

impl core::fmt::Debug for LearnQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LearnQueue").field("len", &self.queue.len()).field("capacity", &self.queue.capacity()).finish()
    }
}

impl LearnQueue {
    /// A queue holding up to `capacity` events.
    pub fn new(capacity: usize) -> LearnQueue {
        LearnQueue { queue: ArrayQueue::new(capacity.max(1)) }
    }

    /// Worker side: returns false when full.
    #[inline]
    pub fn push(&self, ev: LearnEvent) -> bool {
        self.queue.push(ev).is_ok()
    }

    /// Writer side.
    #[inline]
    pub fn pop(&self) -> Option<LearnEvent> {
        self.queue.pop()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when no event waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
