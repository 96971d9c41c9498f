//! The compiled flow rules workers read: one classifier per table, each
//! rule's actions resolved to port ids, and per port the table its frames
//! go through. Immutable, like the forwarding plan; a change of any rule
//! compiles a new one under a new generation (which also invalidates every
//! worker's flow cache) and publishes it with the forwarding plan.

use std::sync::atomic::{AtomicU32, Ordering};

use super::classifier::{rank, Classifier, Entry};
use super::key::{Depth, Field, FlowKey};
use super::spec::{prefix_mask128, prefix_mask32, FlowMatch, FlowRule, SpecError, Verdict};
use crate::bridge::ForwardingPlan;
use crate::types::PortId;
use std::net::IpAddr;

/// Rule ids are below this: the per-worker rule counters have a slot for
/// each.
pub const MAX_RULES: usize = 65536;

/// The most classifier entries one rule may expand to (port ranges become
/// prefixes: `tp_src=1-65534,tp_dst=1-65534` alone would be 900).
pub const MAX_ENTRIES_PER_RULE: usize = 256;

/// What a matched frame does, with ports resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Goes on through the switch.
    Allow,
    /// Dropped (`acl_drop`).
    Drop,
    /// Sent as received to this port, and not switched.
    Output(PortId),
}

/// One rule as the workers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompiledRule {
    /// The rule's stable id (its counter slot).
    pub id: u32,
    /// Where a copy goes first.
    pub mirror: Option<PortId>,
    /// What happens to the frame.
    pub action: Action,
}

/// One table: its classifier and what the key needs for it.
#[derive(Clone, Debug)]
pub struct Table {
    /// The rules.
    pub classifier: Classifier,
    /// The union of its rules' masks, plus the table field: the cache's key
    /// is the frame's key masked with it, so flows that differ only in
    /// fields no rule reads share an entry.
    pub used: FlowKey,
    /// Its index, as the key's [`Field::Table`].
    pub index: u16,
    /// The VLAN a frame without a tag is in on the table's port.
    pub untagged_vlan: u16,
    /// How deep the key extraction goes for its rules.
    pub depth: Depth,
    /// The entries, for the reference matcher in tests and benchmarks.
    pub entries: Vec<Entry>,
}

/// The compiled rules.
#[derive(Clone, Debug)]
pub struct FlowPlan {
    /// Unique per compiled plan, never 0 (the flow caches' empty stamp).
    pub generation: u32,
    tables: Vec<Table>,
    /// Per port id, its ingress table's index, or `u16::MAX`.
    ingress: Vec<u16>,
    rules: Vec<CompiledRule>,
    /// The rules as written, by index, for traces and listings.
    sources: Vec<(u32, FlowRule)>,
}

const NO_TABLE: u16 = u16::MAX;

static GENERATION: AtomicU32 = AtomicU32::new(1);

fn next_generation() -> u32 {
    loop {
        let g = GENERATION.fetch_add(1, Ordering::Relaxed);
        if g != 0 {
            return g;
        }
    }
}

fn refuse<T>(id: u32, msg: impl core::fmt::Display) -> Result<T, SpecError> {
    Err(SpecError(format!("rule {id}: {msg}")))
}

impl FlowPlan {
    /// Compiles `rules` (with their ids) against the ports of `plan`.
    pub fn compile(rules: &[(u32, FlowRule)], plan: &ForwardingPlan) -> Result<FlowPlan, SpecError> {
        let mut table_of_port: Vec<u16> = vec![NO_TABLE; plan.ports.len()];
        let mut tables: Vec<Table> = Vec::new();
        let mut compiled = Vec::with_capacity(rules.len());
        let port = |id: u32, name: &str, role: &str| -> Result<PortId, SpecError> {
            match plan.port_id(name) {
                Some(p) if p.0 < plan.first_tunnel => Ok(p),
                Some(_) => refuse(
                    id,
                    format!("{role} port {name:?} is a tunnel or gateway port, which rules cannot send to yet"),
                ),
                None => refuse(id, format!("{role}: no port named {name:?}")),
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (index, (id, rule)) in rules.iter().enumerate() {
            let id = *id;
            if id as usize >= MAX_RULES {
                return refuse(id, format!("ids must be below {MAX_RULES}"));
            }
            if !seen.insert(id) {
                return refuse(id, "the id is used twice");
            }
            let table_port = port(id, rule.table.port(), "table")?;
            let slot = &mut table_of_port[table_port.index()];
            if *slot == NO_TABLE {
                let bd = plan.tagging_of(table_port).untagged_in;
                let untagged_vlan = plan.domains.get(bd.index()).map_or(0, |d| d.vlan.0);
                *slot = tables.len() as u16;
                let mut used = FlowKey::default();
                used.set(Field::Table, u64::MAX);
                tables.push(Table {
                    classifier: Classifier::default(),
                    used,
                    index: *slot,
                    untagged_vlan,
                    depth: Depth::L2,
                    entries: Vec::new(),
                });
            }
            let table = &mut tables[*slot as usize];
            let in_port = match &rule.matches.in_port {
                Some(name) => Some(
                    plan.port_id(name).map_or_else(|| refuse(id, format!("in_port: no port named {name:?}")), Ok)?,
                ),
                None => None,
            };
            let pairs = match_entries(&rule.matches, in_port);
            if pairs.len() > MAX_ENTRIES_PER_RULE {
                return refuse(
                    id,
                    format!(
                        "its port ranges expand to {} prefixes; at most {MAX_ENTRIES_PER_RULE} per rule (split it)",
                        pairs.len()
                    ),
                );
            }
            let r = rank(rule.priority, index as u32);
            for (value, mask) in pairs {
                table.used = table.used.or(&mask);
                table.entries.push(Entry { value, mask, rank: r, rule: index as u32 });
            }
            let mirror = rule.actions.mirror.as_deref().map(|m| port(id, m, "mirror")).transpose()?;
            let action = match &rule.actions.verdict {
                Verdict::Allow => Action::Allow,
                Verdict::Drop => Action::Drop,
                Verdict::Output(p) => Action::Output(port(id, p, "output")?),
            };
            compiled.push(CompiledRule { id, mirror, action });
        }
        for t in &mut tables {
            t.classifier = Classifier::build(&t.entries);
            t.depth = Depth::of(&t.used);
        }
        let mut ingress = vec![NO_TABLE; crate::bridge::MAX_PORTS];
        ingress[..table_of_port.len()].copy_from_slice(&table_of_port);
        Ok(FlowPlan { generation: next_generation(), tables, ingress, rules: compiled, sources: rules.to_vec() })
    }

    /// The ingress table of `port`, if it has rules.
    #[inline(always)]
    pub fn ingress_table(&self, port: PortId) -> Option<&Table> {
        let t = *self.ingress.get(port.index())?;
        self.tables.get(t as usize)
    }

    /// The rule at `index` (what the classifier returns).
    #[inline(always)]
    pub fn rule(&self, index: u32) -> Option<&CompiledRule> {
        self.rules.get(index as usize)
    }

    /// The rule with id `id`, as written.
    pub fn source(&self, id: u32) -> Option<&FlowRule> {
        self.sources.iter().find(|(i, _)| *i == id).map(|(_, r)| r)
    }

    /// The rules as written, with their ids, in the order they were given.
    pub fn sources(&self) -> &[(u32, FlowRule)] {
        &self.sources
    }

    /// Every table.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True without rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The (value, mask) pairs of a match: one, or one per combination of its
/// port ranges' prefixes.
fn match_entries(m: &FlowMatch, in_port: Option<PortId>) -> Vec<(FlowKey, FlowKey)> {
    let (mut value, mut mask) = (FlowKey::default(), FlowKey::default());
    let mut put = |f: Field, v: u64, m: u64| {
        value.set(f, v & m);
        mask.set(f, m);
    };
    if let Some(p) = in_port {
        put(Field::InPort, p.0 as u64, u64::MAX);
    }
    if let Some(v) = m.vlan {
        put(Field::Vlan, v as u64, u64::MAX);
    }
    if let Some(mm) = m.dl_src {
        put(Field::DlSrc, mm.addr.to_u64(), mm.mask.to_u64());
    }
    if let Some(mm) = m.dl_dst {
        put(Field::DlDst, mm.addr.to_u64(), mm.mask.to_u64());
    }
    if let Some(t) = m.dl_type {
        put(Field::DlType, t as u64, u64::MAX);
    }
    for (p, hi, lo) in [(m.nw_src, Field::SrcHi, Field::SrcLo), (m.nw_dst, Field::DstHi, Field::DstLo)] {
        match p.map(|p| (p.addr, p.len)) {
            Some((IpAddr::V4(a), len)) => put(lo, u32::from(a) as u64, prefix_mask32(len) as u64),
            Some((IpAddr::V6(a), len)) => {
                let (a, pm) = (u128::from(a), prefix_mask128(len));
                put(hi, (a >> 64) as u64, (pm >> 64) as u64);
                put(lo, a as u64, pm as u64);
            }
            None => {}
        }
    }
    if let Some(p) = m.nw_proto {
        put(Field::NwProto, p as u64, u64::MAX);
    }
    if let Some(d) = m.ip_dscp {
        put(Field::Dscp, d as u64, u64::MAX);
    }
    if let Some((v, fm)) = m.tcp_flags {
        put(Field::TcpFlags, v as u64, fm as u64);
    }
    let ranges = |r: Option<super::spec::PortRange>| r.map_or_else(|| vec![(0u16, 0u16)], |r| r.prefixes());
    let mut out = Vec::new();
    for (sv, sm) in ranges(m.tp_src) {
        for (dv, dm) in ranges(m.tp_dst) {
            let (mut v, mut k) = (value, mask);
            v.set(Field::TpSrc, sv as u64);
            k.set(Field::TpSrc, sm as u64);
            v.set(Field::TpDst, dv as u64);
            k.set(Field::TpDst, dm as u64);
            out.push((v, k));
        }
    }
    out
}
