//! The flow rules the control thread owns: those of the config file and
//! those added through the API, each under a stable id, and how they reach
//! the workers (compiled into a new [`FlowPlan`] and published with the
//! forwarding plan, so no batch sees half a change).
//!
//! Ids: the file's rules take `0..API_FIRST` (an `id` written in the file,
//! or the smallest free one), the API's from `API_FIRST` up. A reload keeps
//! the id of every rule it keeps unchanged, so counters and `xvs flow del`
//! go on referring to the same rule.

use std::collections::BTreeMap;
use std::sync::Arc;

use switch_core::bridge::ForwardingPlan;
use switch_core::flow::{FlowPlan, FlowRule, FlowTable, SpecError, MAX_RULES};
use xvs_config::FlowConfig;

/// The first id of the API's rules.
pub const API_FIRST: u32 = (MAX_RULES / 2) as u32;

/// Where a rule came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A `[[flow]]` of the config file: a reload may change or remove it.
    Config,
    /// `POST /v1/flows` or `PUT /v1/flows/ingress/PORT`: kept across reloads.
    Api,
}

/// One stored rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The rule.
    pub rule: FlowRule,
    /// Where it came from.
    pub origin: Origin,
}

/// Every rule, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowStore {
    rules: BTreeMap<u32, Stored>,
}

impl FlowStore {
    /// The config file's rules.
    pub fn from_config(flows: &[FlowConfig]) -> FlowStore {
        FlowStore::default().with_config(flows)
    }

    /// This store with its config rules replaced by `flows`: the API's rules
    /// stay, and a file rule without an `id` that is identical to one this
    /// store has keeps that rule's id.
    pub fn with_config(&self, flows: &[FlowConfig]) -> FlowStore {
        let mut out = FlowStore {
            rules: self.rules.iter().filter(|(_, s)| s.origin == Origin::Api).map(|(i, s)| (*i, s.clone())).collect(),
        };
        for f in flows.iter().filter(|f| f.id.is_some()) {
            out.rules.insert(f.id.unwrap_or_default(), Stored { rule: f.rule.clone(), origin: Origin::Config });
        }
        let old: Vec<(u32, &FlowRule)> =
            self.rules.iter().filter(|(_, s)| s.origin == Origin::Config).map(|(i, s)| (*i, &s.rule)).collect();
        for f in flows.iter().filter(|f| f.id.is_none()) {
            let kept = old.iter().find(|(id, r)| **r == f.rule && !out.rules.contains_key(id)).map(|(id, _)| *id);
            let id = kept.unwrap_or_else(|| out.free_from(0));
            out.rules.insert(id, Stored { rule: f.rule.clone(), origin: Origin::Config });
        }
        out
    }

    /// The smallest id from `first` on that no rule has.
    fn free_from(&self, first: u32) -> u32 {
        (first..).find(|id| !self.rules.contains_key(id)).unwrap_or(first)
    }

    /// Adds an API rule; returns its id.
    pub fn add(&mut self, rule: FlowRule) -> Result<u32, String> {
        let id = self.free_from(API_FIRST);
        if id as usize >= MAX_RULES {
            return Err(format!("the API's {} rule ids are all in use", MAX_RULES as u32 - API_FIRST));
        }
        self.rules.insert(id, Stored { rule, origin: Origin::Api });
        Ok(id)
    }

    /// Removes rule `id`.
    pub fn delete(&mut self, id: u32) -> Option<Stored> {
        self.rules.remove(&id)
    }

    /// Makes `rules` the whole of `table` (the file's rules of that table
    /// too, until the next reload brings them back); returns their ids.
    pub fn replace_table(&mut self, table: &FlowTable, rules: Vec<FlowRule>) -> Result<Vec<u32>, String> {
        self.rules.retain(|_, s| s.rule.table != *table);
        rules.into_iter().map(|r| self.add(r)).collect()
    }

    /// Every rule by id, in id order (which is also their order among rules
    /// of one priority: the lower id wins).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Stored)> {
        self.rules.iter().map(|(i, s)| (*i, s))
    }

    /// Rule `id`.
    pub fn get(&self, id: u32) -> Option<&Stored> {
        self.rules.get(&id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True without rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// `plan` with these rules compiled against its ports.
    pub fn apply(&self, plan: &ForwardingPlan) -> Result<ForwardingPlan, SpecError> {
        if self.rules.is_empty() {
            return Ok(plan.with_flows(None));
        }
        let rules: Vec<(u32, FlowRule)> = self.rules.iter().map(|(i, s)| (*i, s.rule.clone())).collect();
        Ok(plan.with_flows(Some(Arc::new(FlowPlan::compile(&rules, plan)?))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(id: Option<u32>, port: &str, m: &str) -> FlowConfig {
        FlowConfig {
            id,
            rule: FlowRule {
                table: FlowTable::Ingress(port.into()),
                priority: 10,
                matches: m.parse().unwrap(),
                actions: "drop".parse().unwrap(),
            },
        }
    }

    #[test]
    fn ids_are_stable_across_reloads() {
        let a = cfg(None, "h1", "tcp");
        let b = cfg(None, "h1", "udp");
        let pinned = cfg(Some(5), "h2", "arp");
        let store = FlowStore::from_config(&[a.clone(), b.clone(), pinned.clone()]);
        let ids: Vec<u32> = store.iter().map(|(i, _)| i).collect();
        assert_eq!(ids, vec![0, 1, 5]);
        let mut store = store;
        let api = store.add(b.rule.clone()).unwrap();
        assert_eq!(api, API_FIRST);
        // Dropping `a` and adding a new rule in front must not renumber `b`.
        let c = cfg(None, "h2", "icmp");
        let reloaded = store.with_config(&[c.clone(), b.clone(), pinned]);
        let by_rule =
            |r: &FlowRule| reloaded.iter().find(|(_, s)| s.rule == *r && s.origin == Origin::Config).map(|(i, _)| i);
        assert_eq!(by_rule(&b.rule), Some(1));
        assert_eq!(by_rule(&c.rule), Some(0), "the freed id is reused");
        assert_eq!(reloaded.get(api).map(|s| s.origin), Some(Origin::Api), "API rules survive a reload");
        assert_eq!(reloaded.len(), 4);
    }

    #[test]
    fn replace_table_and_delete() {
        let mut store = FlowStore::from_config(&[cfg(None, "h1", "tcp"), cfg(None, "h2", "udp")]);
        let t = FlowTable::Ingress("h1".into());
        let ids = store.replace_table(&t, vec![cfg(None, "h1", "arp").rule, cfg(None, "h1", "icmp").rule]).unwrap();
        assert_eq!(ids, vec![API_FIRST, API_FIRST + 1]);
        assert_eq!(store.iter().filter(|(_, s)| s.rule.table == t).count(), 2);
        assert!(store.delete(API_FIRST).is_some());
        assert!(store.delete(API_FIRST).is_none());
        assert_eq!(store.len(), 2);
    }
}
