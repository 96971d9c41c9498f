//! The single writer of the shared FDB table.
//!
//! Runs on the control thread (or inline, in `xvs replay` and tests). It owns
//! all policy: limits, eviction, aging, MAC moves and their dampening, static
//! entries, flushes. Workers only ever read the table and queue events.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::events::{LearnEvent, LearnQueue};
use super::evict::EvictionLists;
use super::key::{FdbHasher, FdbKey};
use super::table::{FdbTable, FdbValue, Upsert};
use crate::bridge::{FdbSpec, ForwardingPlan};
use crate::types::{BdId, MacAddr, PortId};

/// How many recent MAC moves the writer remembers for `xvs fdb moves` and
/// replay summaries.
const MOVE_LOG_LEN: usize = 1024;

/// The shortest aging time the writer applies; configured times below it
/// act as it.
///
/// A MAC in use must be reported again before it ages out. The writer's
/// once-a-second pass marks an entry stale one refresh interval `r` after
/// it last saw the MAC, possibly a second late; the worker sees the mark at
/// its next learn-cache check, at most `r` later, and its report can reach
/// the writer just after the next pass. So the aging time must be at least
/// `2r + 2`. With `r = aging / 4` (at least 1) that holds for every aging
/// time from 4 s up, and fails below it (at 1 s nothing was ever marked
/// stale before it was removed, so MACs in use went every second).
pub const MIN_AGING_SECS: u32 = 4;

/// How often a worker reports a MAC it keeps seeing, for an aging time of
/// `aging_secs`: a quarter of it (at least a second). The writer marks an
/// entry no longer fresh one interval after it last saw the MAC, and the
/// workers' learn caches ask again at most one interval later, so a MAC in
/// use is reported at least every half aging time (plus a second) and
/// never ages out (see [`MIN_AGING_SECS`]).
pub fn refresh_interval(aging_secs: u32) -> u32 {
    (aging_secs / 4).max(1)
}

/// The aging time the writer applies for a configured `aging_secs`.
pub fn effective_aging(aging_secs: u32) -> u32 {
    aging_secs.max(MIN_AGING_SECS)
}

/// A MAC move, as reported to operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveNotice {
    /// Domain.
    pub bd: BdId,
    /// The MAC that moved.
    pub mac: MacAddr,
    /// Port it was on.
    pub from: PortId,
    /// Port it was seen on.
    pub to: PortId,
    /// When (seconds).
    pub at: u32,
    /// True when the move was refused because the MAC is flapping.
    pub dampened: bool,
}

/// Counters kept by the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdbStats {
    /// Live entries (dynamic and static).
    pub entries: u64,
    /// Static entries.
    pub static_entries: u64,
    /// New dynamic entries learned.
    pub learned: u64,
    /// Refreshes of an existing entry's last-seen time.
    pub refreshed: u64,
    /// MAC moves applied.
    pub moves: u64,
    /// MAC moves refused because the MAC was flapping.
    pub moves_dampened: u64,
    /// Moves refused because the entry is static.
    pub static_move_refused: u64,
    /// Entries removed by aging.
    pub aged: u64,
    /// Entries evicted to make room.
    pub evicted: u64,
    /// New MACs refused because their port is at its limit.
    pub refused_port_limit: u64,
    /// MACs not learned because their port does not learn (a tunnel of a
    /// VNI with `learning = false`).
    pub refused_no_learning: u64,
    /// New MACs refused because the table (or their domain) was at its limit
    /// and no entry could be evicted.
    pub refused_full: u64,
    /// New MACs (or static entries) refused because every slot within
    /// [`MAX_DISPLACEMENT`](super::MAX_DISPLACEMENT) of the key's home was
    /// taken. With the keyed hash at a load of at most 1/2, this should
    /// stay 0; anything else is worth a look.
    pub refused_chain_full: u64,
    /// Table rebuilds (tombstone cleanup).
    pub rebuilds: u64,
}

/// One entry, for listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdbEntryView {
    /// Domain.
    pub bd: BdId,
    /// Address.
    pub mac: MacAddr,
    /// Port.
    pub port: PortId,
    /// Configured, never ages.
    pub is_static: bool,
    /// Last seen (seconds).
    pub last_seen: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct MoveState {
    window_start: u32,
    moves: u32,
    hold_until: u32,
}

/// Policy knobs, from [`FdbSpec`] and the plan's per-port limits.
#[derive(Clone, Debug)]
struct Policy {
    aging: u32,
    /// [`refresh_interval`] of `aging`.
    refresh: u32,
    max_entries: u32,
    max_per_domain: Option<u32>,
    move_max: u32,
    move_window: u32,
    move_hold: u32,
    port_limits: Vec<Option<u32>>,
    /// Per port: false when it never learns (its MACs are static only).
    port_learns: Vec<bool>,
}

/// The writer. See the module docs.
pub struct FdbWriter {
    shared: Arc<ArcSwap<FdbTable>>,
    table: Arc<FdbTable>,
    policy: Policy,
    live: u32,
    tombstones: usize,
    /// Rebuild once tombstones exceed this: a quarter of the slots. (They
    /// never make an insert fail, since inserts reuse them, but every miss
    /// walks through them.) Tests lower it.
    rebuild_after: usize,
    port_counts: Vec<u32>,
    /// Entries per domain, by domain id.
    domain_counts: Vec<u32>,
    /// Static entries per domain, for per-domain listings by type.
    static_counts: Vec<u32>,
    /// Where the dynamic entries of each (domain, port) are: eviction's
    /// candidates. Keyed by configuration, so under the fast unkeyed hash
    /// (SipHash was a third of the cost of learning a MAC); `moves`, keyed
    /// by MAC, keeps std's keyed hash.
    evictable: EvictionLists,
    /// `age` removes nothing before this second (see
    /// [`FdbWriter::hold_removals`]).
    removals_held_until: u32,
    moves: HashMap<FdbKey, MoveState>,
    move_log: VecDeque<MoveNotice>,
    stats: FdbStats,
}

impl core::fmt::Debug for FdbWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FdbWriter").field("stats", &self.stats).finish()
    }
}

impl FdbWriter {
    /// A writer with an empty table sized for `spec.max_entries` plus the
    /// plan's static entries, which it installs.
    pub fn new(spec: &FdbSpec, plan: &ForwardingPlan) -> FdbWriter {
        let capacity = spec.max_entries as usize + plan.statics.len();
        let hasher = spec.hash_seed.map_or_else(FdbHasher::random, FdbHasher::from_seed);
        let table = Arc::new(FdbTable::with_capacity_and_hasher(capacity, hasher));
        let capacity_slots = table.capacity();
        let mut w = FdbWriter {
            shared: Arc::new(ArcSwap::new(table.clone())),
            table,
            policy: Policy {
                aging: effective_aging(spec.aging_secs),
                refresh: refresh_interval(effective_aging(spec.aging_secs)),
                max_entries: spec.max_entries,
                max_per_domain: spec.max_per_domain,
                move_max: spec.move_max,
                move_window: spec.move_window_secs,
                move_hold: spec.move_hold_secs,
                port_limits: Vec::new(),
                port_learns: Vec::new(),
            },
            live: 0,
            tombstones: 0,
            rebuild_after: capacity_slots / 4,
            port_counts: Vec::new(),
            domain_counts: Vec::new(),
            static_counts: Vec::new(),
            evictable: EvictionLists::new(capacity_slots),
            removals_held_until: 0,
            moves: HashMap::new(),
            move_log: VecDeque::new(),
            stats: FdbStats::default(),
        };
        w.set_plan(plan);
        w
    }

    /// The handle workers load the table from, once per batch.
    pub fn shared(&self) -> Arc<ArcSwap<FdbTable>> {
        self.shared.clone()
    }

    /// The current table.
    pub fn table(&self) -> &Arc<FdbTable> {
        &self.table
    }

    /// Aging time in seconds, as applied (see [`MIN_AGING_SECS`]).
    pub fn aging_secs(&self) -> u32 {
        self.policy.aging
    }

    /// Adopts a new plan's port limits and static entries. Entries on ports or
    /// domains the new plan no longer has are flushed by the caller.
    pub fn set_plan(&mut self, plan: &ForwardingPlan) {
        self.policy.port_limits = plan.ports.iter().map(|p| p.mac_limit).collect();
        self.policy.port_learns = plan.ports.iter().map(|p| p.learning).collect();
        if self.port_counts.len() < plan.ports.len() {
            self.port_counts.resize(plan.ports.len(), 0);
        }
        for s in &plan.statics {
            self.add_static(s.bd, s.mac, s.port);
        }
    }

    /// Applies every event waiting in `queues`, up to `budget` events in all.
    /// Returns how many were applied.
    ///
    /// Events are taken a burst at a time, and the lines each one will touch
    /// (its home slot, that slot's last-seen second and its eviction-list
    /// position) are prefetched
    /// for the whole burst before the first is applied, so a burst of new
    /// MACs overlaps its cache misses as the workers' batches do.
    pub fn drain(&mut self, queues: &[Arc<LearnQueue>], budget: usize) -> usize {
        const BURST: usize = 32;
        let mut burst = [LearnEvent { key: FdbKey(0), port: PortId(0), at: 0 }; BURST];
        let mut n = 0;
        for q in queues {
            loop {
                let mut got = 0;
                while got < BURST && n + got < budget {
                    match q.pop() {
                        Some(ev) => {
                            let home = self.table.prefetch_for_writer(ev.key);
                            self.evictable.prefetch(home);
                            burst[got] = ev;
                            got += 1;
                        }
                        None => break,
                    }
                }
                for ev in &burst[..got] {
                    self.apply(*ev);
                }
                n += got;
                if got < BURST || n >= budget {
                    break;
                }
            }
            if n >= budget {
                break;
            }
        }
        n
    }

    /// Applies one learn event: insert, refresh or move.
    pub fn apply(&mut self, ev: LearnEvent) {
        let key = ev.key;
        if !self.policy.port_learns.get(ev.port.index()).copied().unwrap_or(true) {
            // Neither a new MAC nor a move onto a port that does not learn;
            // its static entries need no refresh.
            if self.table.get(key).is_none_or(|v| v.port() != ev.port) {
                self.stats.refused_no_learning += 1;
            }
            return;
        }
        match self.table.get(key) {
            Some(v) if v.port() == ev.port => {
                if !v.is_static() && (ev.at > v.last_seen() || !v.is_fresh()) {
                    self.table.update(key, v.with_last_seen(ev.at.max(v.last_seen())));
                    self.stats.refreshed += 1;
                }
            }
            Some(v) if v.is_static() => self.stats.static_move_refused += 1,
            Some(v) => self.apply_move(key, v, ev),
            None => self.insert_new(key, ev.port, ev.at),
        }
    }

    fn apply_move(&mut self, key: FdbKey, old: FdbValue, ev: LearnEvent) {
        let st = self.moves.entry(key).or_default();
        let mut notice =
            MoveNotice { bd: key.bd(), mac: key.mac(), from: old.port(), to: ev.port, at: ev.at, dampened: false };
        if st.hold_until > ev.at {
            self.stats.moves_dampened += 1;
            return; // already reported when the hold started
        }
        if ev.at.saturating_sub(st.window_start) >= self.policy.move_window {
            st.window_start = ev.at;
            st.moves = 0;
        }
        if st.moves >= self.policy.move_max {
            // Flapping: keep the MAC where it is for a while. A loop or a
            // spoofer cannot make the table thrash.
            st.hold_until = ev.at.saturating_add(self.policy.move_hold);
            self.stats.moves_dampened += 1;
            notice.dampened = true;
            self.log_move(notice);
            return;
        }
        st.moves += 1;
        if let Some(slot) = self.table.update(key, FdbValue::new(ev.port, false, ev.at)) {
            self.evictable.remove(key.bd(), old.port(), slot);
            self.evictable.add(key.bd(), ev.port, slot);
        }
        self.count(key.bd(), old.port(), -1);
        self.count(key.bd(), ev.port, 1);
        self.stats.moves += 1;
        self.table.bump_generation();
        self.log_move(notice);
    }

    fn log_move(&mut self, notice: MoveNotice) {
        if self.move_log.len() == MOVE_LOG_LEN {
            self.move_log.pop_front();
        }
        self.move_log.push_back(notice);
    }

    fn insert_new(&mut self, key: FdbKey, port: PortId, at: u32) {
        let bd = key.bd();
        if let Some(Some(limit)) = self.policy.port_limits.get(port.index()) {
            if self.port_counts.get(port.index()).copied().unwrap_or(0) >= *limit {
                self.stats.refused_port_limit += 1;
                return;
            }
        }
        if let Some(limit) = self.policy.max_per_domain {
            if self.domain_counts.get(bd.0 as usize).copied().unwrap_or(0) >= limit && !self.evict_in(Some(bd)) {
                self.stats.refused_full += 1;
                return;
            }
        }
        if self.live >= self.policy.max_entries + self.stats.static_entries as u32 && !self.evict_in(None) {
            self.stats.refused_full += 1;
            return;
        }
        if self.insert(key, FdbValue::new(port, false, at)) {
            self.stats.learned += 1;
        }
    }

    fn insert(&mut self, key: FdbKey, value: FdbValue) -> bool {
        match self.table.upsert(key, value) {
            Upsert::Inserted { slot, reused_tombstone } => {
                if reused_tombstone {
                    self.tombstones -= 1;
                }
                if !value.is_static() {
                    self.evictable.add(key.bd(), value.port(), slot);
                }
                self.live += 1;
                self.table.set_live_hint(self.live as u64);
                self.stats.entries += 1;
                self.count(key.bd(), value.port(), 1);
                true
            }
            Upsert::Updated { slot, old } => {
                self.evictable.remove(key.bd(), old.port(), slot);
                if !value.is_static() {
                    self.evictable.add(key.bd(), value.port(), slot);
                }
                self.count(key.bd(), old.port(), -1);
                self.count(key.bd(), value.port(), 1);
                true
            }
            Upsert::Full => {
                self.stats.refused_chain_full += 1;
                false
            }
        }
    }

    fn count(&mut self, bd: BdId, port: PortId, delta: i32) {
        let apply = |c: &mut u32| *c = c.saturating_add_signed(delta);
        if self.port_counts.len() <= port.index() {
            self.port_counts.resize(port.index() + 1, 0);
        }
        apply(&mut self.port_counts[port.index()]);
        if self.domain_counts.len() <= bd.0 as usize {
            self.domain_counts.resize(bd.0 as usize + 1, 0);
        }
        apply(&mut self.domain_counts[bd.0 as usize]);
    }

    /// Evicts one dynamic entry from the port holding the most dynamic
    /// entries (in `bd`, or in the whole table): the least recently seen of
    /// a few drawn at random (see [`super::evict`]). Static entries are
    /// never candidates.
    fn evict_in(&mut self, bd: Option<BdId>) -> bool {
        let Some(from) = self.evictable.pick(bd) else { return false };
        let table = &self.table;
        let victim = self
            .evictable
            .sample(from)
            .filter_map(|slot| table.entry_at(slot))
            .min_by_key(|e| e.value.last_seen())
            .map(|e| e.key);
        debug_assert!(victim.is_some(), "eviction lists out of step with the table: {from:?}");
        match victim {
            Some(key) => {
                self.remove_entry(key);
                self.stats.evicted += 1;
                true
            }
            None => false,
        }
    }

    fn remove_entry(&mut self, key: FdbKey) -> Option<FdbValue> {
        let (slot, v) = self.table.remove(key)?;
        self.evictable.remove(key.bd(), v.port(), slot);
        self.live -= 1;
        self.table.set_live_hint(self.live as u64);
        self.tombstones += 1;
        self.stats.entries -= 1;
        if v.is_static() {
            self.stats.static_entries -= 1;
            if let Some(c) = self.static_counts.get_mut(key.bd().index()) {
                *c -= 1;
            }
        }
        self.count(key.bd(), v.port(), -1);
        self.moves.remove(&key);
        self.table.bump_generation();
        self.maybe_rebuild();
        Some(v)
    }

    /// Installs (or re-points) a static entry. Statics are outside the
    /// dynamic limits and never age, move or get evicted. Returns false, and
    /// counts it in `refused_chain_full`, when there is no slot for it.
    pub fn add_static(&mut self, bd: BdId, mac: MacAddr, port: PortId) -> bool {
        let key = FdbKey::new(bd, mac);
        let was_static = self.table.get(key).is_some_and(|v| v.is_static());
        let added = self.insert(key, FdbValue::new(port, true, 0));
        if added && !was_static {
            self.stats.static_entries += 1;
            if self.static_counts.len() <= bd.index() {
                self.static_counts.resize(bd.index() + 1, 0);
            }
            self.static_counts[bd.index()] += 1;
        }
        self.table.bump_generation();
        added
    }

    /// Removes one entry, static or dynamic. Returns whether it existed.
    pub fn remove(&mut self, bd: BdId, mac: MacAddr) -> bool {
        self.remove_entry(FdbKey::new(bd, mac)).is_some()
    }

    /// Removes dynamic entries matching the filters (all when both are
    /// `None`); statics stay. Returns how many were removed.
    pub fn flush(&mut self, bd: Option<BdId>, port: Option<PortId>) -> usize {
        let victims: Vec<FdbKey> = self
            .table
            .entries()
            .filter(|e| !e.value.is_static())
            .filter(|e| bd.is_none_or(|b| e.key.bd() == b) && port.is_none_or(|p| e.value.port() == p))
            .map(|e| e.key)
            .collect();
        for k in &victims {
            self.remove_entry(*k);
        }
        victims.len()
    }

    /// Removes dynamic entries not seen for the aging time, and marks those
    /// not seen for a refresh interval no longer fresh (so workers report
    /// them again). Returns how many were removed. Call once a second.
    pub fn age(&mut self, now: u32) -> usize {
        let Policy { aging, refresh, .. } = self.policy;
        let may_remove = now >= self.removals_held_until;
        let mut victims: Vec<FdbKey> = Vec::new();
        for i in 0..self.table.capacity() {
            let Some(e) = self.table.entry_at(i) else { continue };
            if e.value.is_static() {
                continue;
            }
            let idle = now.saturating_sub(e.value.last_seen());
            if idle >= aging && may_remove {
                victims.push(e.key);
            } else if idle >= refresh && e.value.is_fresh() {
                self.table.set_stale(i);
            }
        }
        for k in &victims {
            self.remove_entry(*k);
        }
        self.stats.aged += victims.len() as u64;
        let window = self.policy.move_window;
        self.moves.retain(|_, st| st.hold_until > now || now.saturating_sub(st.window_start) < window);
        victims.len()
    }

    /// Tells the writer that aging passes were missed (its caller stalled,
    /// so passes did not run every second): until a refresh interval plus
    /// 2 s from `now`, [`FdbWriter::age`] only marks entries stale and
    /// removes none. The aging floor ([`MIN_AGING_SECS`]) leaves room for a
    /// pass one second late; after a longer gap, entries are marked stale
    /// only now, and the workers need up to a refresh interval (and a
    /// second) to report the MACs still in use. A single-threaded caller
    /// that applies every event before each pass (`xvs replay`, the sim)
    /// has no such race and never calls this.
    pub fn hold_removals(&mut self, now: u32) {
        self.removals_held_until = self.removals_held_until.max(now.saturating_add(self.policy.refresh + 2));
    }

    /// Rebuilds the table when tombstones exceed `rebuild_after`, and
    /// publishes the new table to workers (they switch at their next batch).
    fn maybe_rebuild(&mut self) {
        if self.tombstones <= self.rebuild_after {
            return;
        }
        let cap = self.table.capacity();
        let fresh = FdbTable::with_capacity_and_hasher(cap / 2, self.table.hasher());
        // Same size, same hash: copying in slot order, starting just after
        // an empty slot (which no probe chain crosses), puts every entry at
        // most as far from home as it was. Starting at slot 0 instead would
        // let entries that wrapped past the end take the slots of the ones
        // before them, and push one off its chain. Live entries are at most
        // half the slots, so an empty slot exists.
        // Every entry may land in another slot: list them again as they go.
        self.evictable.clear(fresh.capacity());
        let start = (0..cap).find(|&i| self.table.is_empty_at(i)).unwrap_or(0);
        for i in (start + 1..=start + cap).map(|i| i & (cap - 1)) {
            if let Some(e) = self.table.entry_at(i) {
                match fresh.upsert(e.key, e.value) {
                    Upsert::Inserted { slot, .. } if !e.value.is_static() => {
                        self.evictable.add(e.key.bd(), e.value.port(), slot)
                    }
                    Upsert::Inserted { .. } => {}
                    landed => debug_assert!(false, "rebuild lost {e:?}: {landed:?}"),
                }
            }
        }
        fresh.set_live_hint(self.live as u64);
        fresh.set_generation(self.table.generation() + 1);
        let fresh = Arc::new(fresh);
        self.shared.store(fresh.clone());
        self.table = fresh;
        self.tombstones = 0;
        self.stats.rebuilds += 1;
    }

    /// Looks one MAC up.
    pub fn get(&self, bd: BdId, mac: MacAddr) -> Option<FdbEntryView> {
        self.table.get(FdbKey::new(bd, mac)).map(|v| FdbEntryView {
            bd,
            mac,
            port: v.port(),
            is_static: v.is_static(),
            last_seen: v.last_seen(),
        })
    }

    /// Every entry, sorted by domain then MAC.
    pub fn entries(&self) -> Vec<FdbEntryView> {
        let mut out: Vec<_> = self
            .table
            .entries()
            .map(|e| FdbEntryView {
                bd: e.key.bd(),
                mac: e.key.mac(),
                port: e.value.port(),
                is_static: e.value.is_static(),
                last_seen: e.value.last_seen(),
            })
            .collect();
        out.sort_by_key(|e| (e.bd, e.mac));
        out
    }

    /// Entries per port, by port index.
    pub fn port_counts(&self) -> &[u32] {
        &self.port_counts
    }

    /// Recent MAC moves, oldest first.
    pub fn recent_moves(&self) -> impl Iterator<Item = &MoveNotice> {
        self.move_log.iter()
    }

    /// Live entries in domain `bd`: all of them, and the static ones.
    pub fn domain_entries(&self, bd: BdId) -> (u32, u32) {
        let at = |v: &[u32]| v.get(bd.index()).copied().unwrap_or(0);
        (at(&self.domain_counts), at(&self.static_counts))
    }

    /// Counters.
    pub fn stats(&self) -> FdbStats {
        self.stats
    }

    /// Bytes of memory held per live entry (slots plus writer bookkeeping);
    /// for the <= 64 bytes/entry budget.
    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes()
            + self.port_counts.len() * 4
            + self.domain_counts.capacity() * 4
            + self.evictable.memory_bytes()
            + self.moves.capacity() * 20
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::spec::{BridgeSpec, PortMode, PortSpec, SwitchSpec};
    use crate::fdb::MAX_DISPLACEMENT;
    use crate::types::VlanId;

    fn plan(limits: &[Option<u32>]) -> ForwardingPlan {
        let ports = limits
            .iter()
            .enumerate()
            .map(|(i, l)| PortSpec {
                name: format!("p{i}"),
                interface: None,
                bridge: 0,
                mode: PortMode::Access { vlan: VlanId(10) },
                mac_limit: *l,
                mtu: None,
            })
            .collect();
        ForwardingPlan::compile(&SwitchSpec {
            bridges: vec![BridgeSpec { name: "br0".into() }],
            ports,
            ..Default::default()
        })
        .unwrap()
    }

    fn mac(n: u32) -> MacAddr {
        let b = n.to_be_bytes();
        MacAddr([2, 0, b[0], b[1], b[2], b[3]])
    }

    fn ev(bd: BdId, n: u32, port: u16, at: u32) -> LearnEvent {
        LearnEvent { key: FdbKey::new(bd, mac(n)), port: PortId(port), at }
    }

    #[test]
    fn learn_refresh_age() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { aging_secs: 300, ..Default::default() }, &p);
        w.apply(ev(bd, 1, 0, 10));
        assert_eq!(w.get(bd, mac(1)).unwrap().port, PortId(0));
        w.apply(ev(bd, 1, 0, 200));
        assert_eq!(w.get(bd, mac(1)).unwrap().last_seen, 200);
        assert_eq!(w.age(499), 0);
        assert_eq!(w.age(500), 1);
        assert!(w.get(bd, mac(1)).is_none());
        let s = w.stats();
        assert_eq!((s.learned, s.refreshed, s.aged, s.entries), (1, 1, 1, 0));
    }

    #[test]
    fn aging_pass_marks_entries_stale_after_a_refresh_interval() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { aging_secs: 300, ..Default::default() }, &p);
        assert_eq!(refresh_interval(300), 75);
        w.add_static(bd, mac(2), PortId(1));
        w.apply(ev(bd, 1, 0, 10));
        let hit = |w: &FdbWriter, n| w.table().lookup(FdbKey::new(bd, mac(n))).unwrap();
        w.age(84);
        assert!(hit(&w, 1).fresh_on(PortId(0)));
        w.age(85);
        assert!(!hit(&w, 1).is_fresh());
        assert!(hit(&w, 2).fresh_on(PortId(1)), "statics stay fresh");
        // The worker's report makes it fresh again, even from a clock that
        // has not moved past the last-seen second.
        w.apply(ev(bd, 1, 0, 10));
        assert!(hit(&w, 1).fresh_on(PortId(0)));
        assert_eq!(w.get(bd, mac(1)).unwrap().last_seen, 10);
        w.apply(ev(bd, 1, 0, 90));
        assert_eq!(w.age(164), 0);
        assert!(hit(&w, 1).is_fresh());
        assert_eq!(w.age(390), 1);
        assert_eq!(w.stats().refreshed, 2);
    }

    /// A MAC in constant use, through a real learn cache and queue, with the
    /// worst interleavings: each second the worker checks the table just
    /// before the pass, and again at the end of the second with a report
    /// the writer applies only after the next pass; some passes run a
    /// second late. It never ages out, whatever the configured aging time
    /// (with a floor of 3 s instead of 4 it would, at 3 s); once quiet, it
    /// goes after exactly the applied aging time.
    #[test]
    fn short_aging_never_drops_a_mac_in_use() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let key = FdbKey::new(bd, mac(1));
        // Each pass reads all 2^21 slots: few seconds, few aging times.
        for aging_secs in [1, 3, 4, 9] {
            let mut w = FdbWriter::new(&FdbSpec { aging_secs, ..Default::default() }, &p);
            let applied = w.aging_secs();
            assert_eq!(applied, aging_secs.max(MIN_AGING_SECS));
            let q = Arc::new(LearnQueue::new(64));
            let mut cache =
                crate::fdb::LearnCache::new(crate::pipeline::PipelineSettings::for_aging(aging_secs).refresh_after);
            let mut frame = |w: &FdbWriter, now: u32| {
                let t = w.shared().load_full();
                cache.sync(&t);
                cache.learn(&t, &q, key, PortId(0), now);
            };
            for now in 10..50 {
                frame(&w, now);
                // The passes due at 20 and 35 run a second late.
                if now != 20 && now != 35 {
                    assert_eq!(w.age(now), 0, "aging_secs {aging_secs}: a MAC in use aged out at {now}");
                }
                w.drain(std::slice::from_ref(&q), usize::MAX);
                frame(&w, now);
            }
            w.drain(std::slice::from_ref(&q), usize::MAX);
            let last = w.get(bd, mac(1)).unwrap().last_seen;
            assert!(last + 2 * refresh_interval(applied) + 1 >= 49, "aging_secs {aging_secs}: last seen {last}");
            for now in 50..last + applied {
                assert_eq!(w.age(now), 0, "aging_secs {aging_secs}: quiet MAC went early, at {now}");
            }
            assert_eq!(w.age(last + applied), 1, "aging_secs {aging_secs}: quiet MAC stayed");
        }
    }

    #[test]
    fn moves_are_logged_and_dampened() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let spec = FdbSpec { move_max: 2, move_window_secs: 10, move_hold_secs: 30, ..Default::default() };
        let mut w = FdbWriter::new(&spec, &p);
        let g0 = w.table().generation();
        w.apply(ev(bd, 1, 0, 0));
        w.apply(ev(bd, 1, 1, 1)); // move 1
        assert!(w.table().generation() > g0);
        w.apply(ev(bd, 1, 0, 2)); // move 2
        w.apply(ev(bd, 1, 1, 3)); // third in window: dampened, stays on 0
        assert_eq!(w.get(bd, mac(1)).unwrap().port, PortId(0));
        w.apply(ev(bd, 1, 1, 20)); // still held
        assert_eq!(w.get(bd, mac(1)).unwrap().port, PortId(0));
        w.apply(ev(bd, 1, 1, 40)); // hold over, new window
        assert_eq!(w.get(bd, mac(1)).unwrap().port, PortId(1));
        let moves: Vec<_> = w.recent_moves().map(|m| (m.from.0, m.to.0, m.dampened)).collect();
        assert_eq!(moves, vec![(0, 1, false), (1, 0, false), (0, 1, true), (0, 1, false)]);
        assert_eq!(w.stats().moves, 3);
        assert_eq!(w.stats().moves_dampened, 2);
    }

    #[test]
    fn statics_never_move_age_or_evict() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { aging_secs: 1, max_entries: 2, ..Default::default() }, &p);
        w.add_static(bd, mac(9), PortId(1));
        w.apply(ev(bd, 9, 0, 5));
        assert_eq!(w.get(bd, mac(9)).unwrap().port, PortId(1));
        assert_eq!(w.stats().static_move_refused, 1);
        for n in 0..10 {
            w.apply(ev(bd, n, 1, 5));
        }
        assert!(w.get(bd, mac(9)).unwrap().is_static);
        assert_eq!(w.age(1000), 2);
        assert!(w.get(bd, mac(9)).is_some());
        assert_eq!(w.flush(None, None), 0);
        assert!(w.remove(bd, mac(9)));
        assert_eq!(w.stats().static_entries, 0);
    }

    #[test]
    fn global_limit_evicts_from_biggest_port() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { max_entries: 4, ..Default::default() }, &p);
        w.apply(ev(bd, 1, 0, 1));
        w.apply(ev(bd, 2, 1, 1));
        w.apply(ev(bd, 3, 1, 2));
        w.apply(ev(bd, 4, 1, 3));
        w.apply(ev(bd, 5, 0, 4)); // full: evict oldest of port 1 (mac 2)
        assert_eq!(w.stats().entries, 4);
        assert_eq!(w.stats().evicted, 1);
        assert!(w.get(bd, mac(2)).is_none());
        assert!(w.get(bd, mac(1)).is_some() && w.get(bd, mac(5)).is_some());
        assert_eq!(w.port_counts(), &[2, 2]);
    }

    #[test]
    fn port_limit_refuses_and_domain_limit_evicts_within_domain() {
        let p = plan(&[Some(2), None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { max_per_domain: Some(3), ..Default::default() }, &p);
        for n in 0..5 {
            w.apply(ev(bd, n, 0, n));
        }
        assert_eq!(w.port_counts()[0], 2);
        assert_eq!(w.stats().refused_port_limit, 3);
        w.apply(ev(bd, 10, 1, 10));
        w.apply(ev(bd, 11, 1, 11)); // domain full (3): evict from port 0 (2 > 1)
        assert_eq!(w.stats().evicted, 1);
        assert_eq!(w.port_counts(), &[1, 2]);
    }

    /// After a stall the writer marks entries late; with removals held the
    /// workers get to report the MACs still in use before any goes. The
    /// same stall without the hold drops a MAC in use.
    #[test]
    fn a_stalled_writer_holds_removals_until_workers_can_report() {
        let p = plan(&[None, None]);
        let bd = p.domain(0, 10).unwrap();
        let key = FdbKey::new(bd, mac(1));
        let mut dropped = Vec::new();
        for hold in [true, false] {
            let spec = FdbSpec { aging_secs: 4, hash_seed: Some(1), ..Default::default() };
            let mut w = FdbWriter::new(&spec, &p);
            let q = Arc::new(LearnQueue::new(64));
            let mut cache = crate::fdb::LearnCache::new(crate::pipeline::PipelineSettings::for_aging(4).refresh_after);
            let mut frame = |w: &FdbWriter, now: u32| {
                let t = w.shared().load_full();
                cache.sync(&t);
                cache.learn(&t, &q, key, PortId(0), now);
            };
            let mut last_pass = 9;
            let mut aged = 0;
            for now in 10..40 {
                frame(&w, now);
                // The writer stalls from 15 to 18: no drain, no pass.
                if !(15..18).contains(&now) {
                    if hold && now > last_pass + 1 {
                        w.hold_removals(now);
                    }
                    last_pass = now;
                    aged += w.age(now);
                    w.drain(std::slice::from_ref(&q), usize::MAX);
                }
                frame(&w, now);
            }
            dropped.push(aged);
        }
        assert_eq!(dropped, vec![0, 1], "aged out (with the hold, without it)");
    }

    /// A chain that wraps past the table's end and runs into another one
    /// at its start: a rebuild that copied from slot 0 put the wrapped
    /// entries home first, and the last entry of the chain then found no
    /// slot within reach.
    #[test]
    fn rebuild_keeps_a_chain_that_wraps() {
        let p = plan(&[None]);
        let mut w = FdbWriter::new(&FdbSpec { max_entries: 100, ..Default::default() }, &p);
        let (h, cap) = (w.table().hasher(), w.table().capacity() as u64);
        let shift = 64 - cap.trailing_zeros();
        let homed = |home: u64, n: u64| h.unhash((home << shift) | n);
        // 40 keys homed on the last slot (it and slots 0-38), then 25 homed
        // on slot 20 (slots 39-63, 19-43 from home).
        let keys: Vec<FdbKey> = (0..40).map(|n| homed(cap - 1, n)).chain((0..25).map(|n| homed(20, n))).collect();
        for (n, key) in keys.iter().enumerate() {
            w.apply(LearnEvent { key: *key, port: PortId(0), at: n as u32 });
        }
        assert_eq!(w.stats().entries, 65);
        let other = FdbKey::new(BdId(1), mac(1));
        w.apply(LearnEvent { key: other, port: PortId(0), at: 0 });
        let generation = w.table().generation();
        w.rebuild_after = 0;
        assert!(w.remove(other.bd(), other.mac()));
        assert_eq!(w.stats().rebuilds, 1);
        assert!(w.table().generation() > generation, "the rebuilt table went back to an old generation");
        for key in &keys {
            assert!(w.shared().load().lookup(*key).is_some(), "{key:?} lost in the rebuild");
        }
        assert_eq!(w.table().entries().count(), 65);
    }

    /// The chain-length cap refuses visibly: a counter, and `add_static`
    /// says so (the API answers 507 rather than 201).
    #[test]
    fn a_full_chain_is_counted_and_refuses_statics() {
        let p = plan(&[None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { max_entries: 100, ..Default::default() }, &p);
        let h = w.table().hasher();
        let victim = FdbKey::new(bd, mac(1));
        let home = h.hash(victim) >> (64 - w.table().capacity().trailing_zeros());
        let shift = 64 - w.table().capacity().trailing_zeros();
        for n in 0..=MAX_DISPLACEMENT as u64 {
            let key = h.unhash((home << shift) | n);
            assert_ne!(key, victim);
            w.apply(LearnEvent { key, port: PortId(0), at: 1 });
        }
        assert_eq!(w.stats().entries, MAX_DISPLACEMENT as u64 + 1);
        assert!(!w.add_static(bd, mac(1), PortId(0)));
        w.apply(ev(bd, 1, 0, 2));
        let s = w.stats();
        assert_eq!((s.refused_chain_full, s.refused_full, s.static_entries), (2, 0, 0));
        assert!(w.get(bd, mac(1)).is_none());
        assert!(w.add_static(bd, mac(2), PortId(0)), "another home has room");
    }

    /// Eviction's lists always hold exactly the dynamic entries' slots, and
    /// the counts match the table, through learning, moves, statics, aging,
    /// flushes, global and per-domain evictions and rebuilds. Rebuilds list
    /// everything afresh, so the first phase has none (a slip elsewhere
    /// would be wiped before a check saw it) and the second has many.
    #[test]
    fn eviction_lists_follow_every_change() {
        let p = plan(&[None, None, None]);
        let bds = [p.domain(0, 10).unwrap(), BdId(p.domain(0, 10).unwrap().0 + 1)];
        let spec = FdbSpec {
            max_entries: 100,
            max_per_domain: Some(70),
            aging_secs: 20,
            move_max: 1000,
            hash_seed: Some(3),
            ..Default::default()
        };
        let mut w = FdbWriter::new(&spec, &p);
        let check = |w: &FdbWriter| {
            let live: Vec<crate::fdb::Entry> = w.table.entries().collect();
            let mut want: Vec<_> = (0..w.table.capacity())
                .filter_map(|i| {
                    w.table.entry_at(i).filter(|e| !e.value.is_static()).map(|e| (e.key.bd(), e.value.port(), i))
                })
                .collect();
            want.sort();
            assert_eq!(w.evictable.listed(), want);
            for (port, &n) in w.port_counts.iter().enumerate() {
                assert_eq!(n as usize, live.iter().filter(|e| e.value.port().index() == port).count(), "port {port}");
            }
            for bd in bds {
                let n = live.iter().filter(|e| e.key.bd() == bd).count();
                assert_eq!(w.domain_counts[bd.index()] as usize, n, "{bd:?}");
                let statics = live.iter().filter(|e| e.key.bd() == bd && e.value.is_static()).count();
                assert_eq!(w.domain_entries(bd), (n as u32, statics as u32), "{bd:?}");
                assert!(n <= 70 + w.stats.static_entries as usize);
            }
            assert_eq!(w.stats.entries as usize, live.len());
            assert_eq!(w.stats.static_entries as usize, live.iter().filter(|e| e.value.is_static()).count());
        };
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for (phase, rebuild_after) in [usize::MAX, 300].into_iter().enumerate() {
            w.rebuild_after = rebuild_after;
            for step in 0..2000u32 {
                let now = phase as u32 * 20 + step / 100;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let (n, port, bd) = ((x >> 8) as u32 % 300, PortId((x >> 40) as u16 % 3), bds[(x >> 50) as usize % 2]);
                match x % 400 {
                    0..=3 => {
                        w.add_static(bd, mac(n), port);
                    }
                    4..=7 => {
                        w.remove(bd, mac(n));
                    }
                    8 => {
                        w.flush(None, Some(port));
                    }
                    9..=20 => {
                        w.age(now);
                    }
                    _ => w.apply(LearnEvent { key: FdbKey::new(bd, mac(n)), port, at: now }),
                }
                if step % 250 == 0 {
                    check(&w);
                }
            }
            check(&w);
        }
        let s = w.stats();
        assert!(s.evicted > 100 && s.rebuilds > 0 && s.moves > 100, "{s:?}");
        // Everything dynamic ages out; only statics stay, and none is listed.
        w.rebuild_after = usize::MAX;
        w.age(10_000);
        assert!(w.stats().aged > 50, "{:?}", w.stats());
        assert_eq!(w.stats().entries, w.stats().static_entries);
        assert_eq!(w.evictable.listed(), vec![]);
        check(&w);
    }

    #[test]
    fn rebuild_keeps_entries_and_publishes() {
        let p = plan(&[None]);
        let bd = p.domain(0, 10).unwrap();
        let mut w = FdbWriter::new(&FdbSpec { max_entries: 64, ..Default::default() }, &p);
        w.rebuild_after = 100;
        let shared = w.shared();
        for round in 0..20u32 {
            for n in 0..40 {
                w.apply(ev(bd, round * 100 + n, 0, round));
            }
            w.flush(None, None);
        }
        w.apply(ev(bd, 7, 0, 99));
        assert!(w.stats().rebuilds > 0);
        assert!(shared.load().lookup(FdbKey::new(bd, mac(7))).is_some());
        assert_eq!(w.stats().entries, 1);
    }
}
