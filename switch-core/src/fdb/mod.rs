//! The forwarding database: MAC tables keyed by (bridge domain, MAC).
//!
//! ## Thread-safety
//!
//! * [`FdbTable`] is shared by every worker and has exactly **one writer**,
//!   the [`FdbWriter`] on the control thread. Readers never lock and never
//!   write: a slot is one atomic word holding both the entry's identity and
//!   its value, so a reader sees a whole entry or none.
//! * Workers never insert. A worker that sees a new MAC, a MAC on a new port,
//!   or an entry due for refresh pushes a [`LearnEvent`] onto its own bounded
//!   queue. The writer drains the queues, applies limits, aging, MAC-move
//!   dampening and static entries, and updates the table in place.
//! * Each worker keeps a private [`LearnCache`] in front of the table, so a
//!   known source MAC costs one private cache line and produces no event, and
//!   a MAC waiting for the writer produces one event, not one per frame.
//! * When the writer must rebuild the table (tombstone cleanup), it publishes
//!   a new `Arc<FdbTable>` through `arc_swap`; workers pick it up at their next
//!   batch (RCU-style), and the old one is freed when the last reader drops it.

mod cache;
mod events;
mod evict;
mod key;
mod table;
mod writer;

pub use cache::{LearnCache, LearnOutcome};
pub use events::{LearnEvent, LearnQueue};
pub use key::{FdbHasher, FdbKey};
pub use table::{Entry, FdbHit, FdbTable, FdbValue, Home, MAX_DISPLACEMENT};
pub use writer::{effective_aging, refresh_interval, FdbEntryView, FdbStats, FdbWriter, MoveNotice, MIN_AGING_SECS};
