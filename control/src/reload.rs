//! Hot reload: what a changed config may change on a running switch.
//!
//! Port, domain and tunnel ids are compile-order indexes, baked into FDB
//! keys and values and into the workers' sockets. A reload therefore
//! applies a new config live only when it compiles to the same ids: the
//! same ports in the same order on the same interfaces and queues, the same
//! bridge domains, VTEPs, tunnel ports and gateways. Everything else the
//! plan holds (static FDB entries, VNI learning and allowlists, remote
//! MACs, encapsulation settings, MAC limits, MTUs...) is applied with the
//! learned entries and resolved next hops kept. A change of the ids, or of
//! a setting fixed at start (`[switch]`, `[dataplane]`, `[control]`,
//! `[fdb]` sizing and aging), is refused, naming what differs, and the
//! running config stays in force.

use switch_core::bridge::ForwardingPlan;
use xvs_config::Config;

/// Why `new` cannot replace `old` without a restart, or `None` when it can.
pub fn restart_needed(
    old: &Config,
    new: &Config,
    old_plan: &ForwardingPlan,
    new_plan: &ForwardingPlan,
) -> Option<String> {
    if old.switch != new.switch {
        return Some("[switch] changed".into());
    }
    if old.dataplane != new.dataplane {
        return Some("[dataplane] changed".into());
    }
    if old.control != new.control {
        return Some("[control] changed".into());
    }
    let sizing = |c: &Config| {
        let mut f = c.spec.fdb.clone();
        f.static_macs.clear();
        f
    };
    if sizing(old) != sizing(new) {
        return Some("[fdb] settings other than static entries changed (the table is sized at start)".into());
    }
    let ports = |p: &ForwardingPlan| p.ports.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let (was, now) = (ports(old_plan), ports(new_plan));
    if was != now {
        let added: Vec<_> = now.iter().filter(|p| !was.contains(p)).collect();
        let removed: Vec<_> = was.iter().filter(|p| !now.contains(p)).collect();
        return Some(format!(
            "the ports differ (added {added:?}, removed {removed:?}, or reordered); adding and removing ports live needs stable port ids"
        ));
    }
    if old.ports != new.ports {
        return Some("a port's interface or queues changed".into());
    }
    if old_plan.bridges != new_plan.bridges {
        return Some("the bridges differ".into());
    }
    let domains = |p: &ForwardingPlan| p.domains.iter().map(|d| (d.bridge, d.vlan)).collect::<Vec<_>>();
    if domains(old_plan) != domains(new_plan) {
        return Some("the VLAN domains differ (a VLAN or VNI added or removed); that needs stable domain ids".into());
    }
    let vteps =
        |c: &Config| c.spec.overlay.vteps.iter().map(|v| (v.name.clone(), v.port, v.address)).collect::<Vec<_>>();
    if vteps(old) != vteps(new) {
        return Some("the VTEPs (names, ports or addresses) differ".into());
    }
    let gateways = |p: &ForwardingPlan| {
        p.overlay.as_deref().map(|ov| ov.gateways.iter().map(|g| (g.bd, g.address)).collect::<Vec<_>>())
    };
    if gateways(old_plan) != gateways(new_plan) {
        return Some("the gateways differ".into());
    }
    None
}
