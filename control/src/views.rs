//! JSON views of switch state shared by `xvs replay`, the control API and the
//! CLI, so every surface names things the same way (port and bridge names,
//! not ids).

use serde::Serialize;
use switch_core::bridge::ForwardingPlan;
use switch_core::fdb::{FdbEntryView, FdbStats, MoveNotice};
use switch_core::pipeline::{CounterSnapshot, DropReason};

/// One FDB entry, by name.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FdbRow {
    /// Bridge name.
    pub bridge: String,
    /// VLAN.
    pub vlan: u16,
    /// MAC address.
    pub mac: String,
    /// Port name.
    pub port: String,
    /// `static` or `dynamic`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Seconds since last seen (0 for statics).
    pub age_secs: u32,
}

/// Converts FDB entries into rows, aged against `now_secs`.
pub fn fdb_rows(plan: &ForwardingPlan, entries: &[FdbEntryView], now_secs: u32) -> Vec<FdbRow> {
    entries
        .iter()
        .map(|e| {
            let d = plan.domains.get(e.bd.index());
            FdbRow {
                bridge: d.and_then(|d| plan.bridges.get(d.bridge)).cloned().unwrap_or_else(|| "-".into()),
                vlan: d.map(|d| d.vlan.0).unwrap_or(0),
                mac: e.mac.to_string(),
                port: port_name(plan, e.port.index()),
                kind: if e.is_static { "static" } else { "dynamic" },
                age_secs: if e.is_static { 0 } else { now_secs.saturating_sub(e.last_seen) },
            }
        })
        .collect()
}

/// A port's name, or `#N` for an id the plan does not know.
pub fn port_name(plan: &ForwardingPlan, index: usize) -> String {
    plan.ports.get(index).map(|p| p.name.clone()).unwrap_or_else(|| format!("#{index}"))
}

/// A MAC move, by name.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MoveRow {
    /// Bridge/VLAN.
    pub domain: String,
    /// MAC.
    pub mac: String,
    /// Old port.
    pub from: String,
    /// New port.
    pub to: String,
    /// Seconds.
    pub at: u32,
    /// Refused as flapping.
    pub dampened: bool,
}

/// Converts move notices into rows.
pub fn move_rows<'a>(plan: &ForwardingPlan, moves: impl Iterator<Item = &'a MoveNotice>) -> Vec<MoveRow> {
    moves
        .map(|m| MoveRow {
            domain: plan.domain_name(m.bd),
            mac: m.mac.to_string(),
            from: port_name(plan, m.from.index()),
            to: port_name(plan, m.to.index()),
            at: m.at,
            dampened: m.dampened,
        })
        .collect()
}

/// Every drop reason with its count (zeros included, so consumers see the
/// full, stable set of reasons).
pub fn drop_map(c: &CounterSnapshot) -> serde_json::Map<String, serde_json::Value> {
    DropReason::ALL.iter().map(|r| (r.name().to_string(), c.drops_for(*r).into())).collect()
}

/// The pipeline's non-drop counters.
pub fn counter_map(c: &CounterSnapshot) -> serde_json::Map<String, serde_json::Value> {
    c.named().iter().map(|(k, v)| (k.to_string(), (*v).into())).collect()
}

/// FDB writer counters.
pub fn fdb_stats_json(s: &FdbStats) -> serde_json::Value {
    serde_json::json!({
        "entries": s.entries,
        "static_entries": s.static_entries,
        "learned": s.learned,
        "refreshed": s.refreshed,
        "moves": s.moves,
        "moves_dampened": s.moves_dampened,
        "static_move_refused": s.static_move_refused,
        "aged": s.aged,
        "evicted": s.evicted,
        "refused_port_limit": s.refused_port_limit,
        "refused_no_learning": s.refused_no_learning,
        "refused_full": s.refused_full,
        "refused_chain_full": s.refused_chain_full,
        "rebuilds": s.rebuilds,
    })
}
