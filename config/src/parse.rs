//! From a checked walk over the TOML tree to [`Config`].
//!
//! Sections are read in a fixed order (switch, dataplane, bridges, ports,
//! fdb, vteps, vnis, control); each records its errors and carries on, using a
//! placeholder for a bad value so that later checks still run. Checks that
//! depend on an already-bad value (for example a static MAC whose port has
//! no valid mode) are skipped, so each mistake is reported once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use switch_core::bridge::{BridgeSpec, FdbSpec, PortMode, PortSpec, StaticMacSpec, SwitchSpec, VlanSet};
use switch_core::overlay::OverlaySpec;
use switch_core::pipeline::MAX_BURST;
use switch_core::types::{MacAddr, VlanId};

use crate::error::ConfigError;
use crate::overlay::read_overlay;
use crate::settings::{ControlSettings, DataplaneSettings, PortRuntime, SwitchSettings, Toggle, XdpMode};
use crate::tree::{self, Ctx, Located, Node, Tbl};
use crate::vlans::parse_vlan_list;
use crate::{Config, FlowConfig};
use switch_core::flow::{FlowRule, FlowTable};

/// Name of the bridge implied when the file has no `[[bridge]]`.
pub const IMPLICIT_BRIDGE: &str = "br0";

const TOP_KEYS: &[&str] =
    &["switch", "dataplane", "fdb", "bridge", "port", "vtep", "vni", "gateway", "route", "flow", "control"];
const SWITCH_KEYS: &[&str] = &["batch_size"];
const DATAPLANE_KEYS: &[&str] = &[
    "xdp_mode",
    "zero_copy",
    "hugepages",
    "frames",
    "rx_ring",
    "tx_ring",
    "fill_ring",
    "comp_ring",
    "worker_cpus",
    "idle_backoff",
    "busy_poll",
];
const FDB_KEYS: &[&str] =
    &["aging_secs", "max_entries", "max_per_domain", "move_max", "move_window_secs", "move_hold_secs", "static"];
const STATIC_KEYS: &[&str] = &["bridge", "vlan", "mac", "port"];
const BRIDGE_KEYS: &[&str] = &["name"];
const PORT_KEYS: &[&str] = &[
    "name",
    "interface",
    "bridge",
    "mode",
    "mac_limit",
    "mtu",
    "queues",
    "vlan",
    "allowed_vlans",
    "native_vlan",
    "native_tagged",
    "tpid",
    "s_vlan",
];
const FLOW_KEYS: &[&str] = &["id", "port", "direction", "priority", "match", "actions"];
const DIRECTIONS: &[&str] = &["ingress"];
const CONTROL_KEYS: &[&str] = &["socket", "metrics_listen", "api_listen", "api_token_file"];

const MODES: &[&str] = &["access", "trunk", "dot1q-tunnel", "underlay"];
/// Mode-specific port keys and the mode each belongs to.
const MODE_KEYS: &[(&str, &str)] = &[
    ("vlan", "access"),
    ("allowed_vlans", "trunk"),
    ("native_vlan", "trunk"),
    ("native_tagged", "trunk"),
    ("tpid", "trunk"),
    ("s_vlan", "dot1q-tunnel"),
];
/// Keys of every other mode that an underlay port cannot have, and why.
const NOT_FOR_UNDERLAY: &[(&str, &str)] =
    &[("bridge", "an underlay port belongs to no bridge"), ("mac_limit", "an underlay port learns no MACs")];
const TPIDS: &[&str] = &["802.1q", "802.1ad", "0x8100", "0x88a8"];
const XDP_MODES: &[&str] = &["auto", "native", "skb"];
const TOGGLES: &[&str] = &["auto", "on", "off"];

/// Largest FDB size accepted anywhere (2^24 entries).
const MAX_FDB: i64 = 16_777_216;
/// Largest CPU number accepted (`CPU_SETSIZE` - 1).
const MAX_CPU: i64 = 1023;
/// Longest Unix socket path (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// Longest interface name (`IFNAMSIZ` - 1).
const MAX_IFNAME: usize = 15;
/// Longest port, bridge or VTEP name.
const MAX_NAME: usize = 32;
/// Most ports the forwarding plan indexes (`switch_core` uses a 12-bit
/// space per port table).
pub(crate) const MAX_PORTS: usize = 4096;
/// Most bridge domains the forwarding plan has ids for (0 and 0xffff are
/// reserved).
pub(crate) const MAX_DOMAINS: usize = 0xfffe;

/// Reads and validates the whole file.
pub(crate) fn build(src: &str) -> Result<Config, Vec<ConfigError>> {
    let root = tree::parse(src).map_err(|e| vec![*e])?;
    let mut cx = Ctx::new(src);
    let entries: &[(String, Located)] = match &root.node {
        Node::Table(entries) => entries,
        // A TOML document is always a table.
        _ => &[],
    };
    let top = Tbl { entries, span: root.span.clone(), table: String::new(), name: None, index: 0 };
    cx.check_keys(&top, TOP_KEYS);

    let switch = match section(&mut cx, &top, "switch") {
        Some(t) => read_switch(&mut cx, &t),
        None => SwitchSettings::default(),
    };
    let dataplane = match section(&mut cx, &top, "dataplane") {
        Some(t) => read_dataplane(&mut cx, &t),
        None => DataplaneSettings::default(),
    };
    let bridges = read_bridges(&mut cx, &top);
    let ports = read_ports(&mut cx, &top, &bridges);
    let (fdb, fdb_statics) = match section(&mut cx, &top, "fdb") {
        Some(t) => read_fdb(&mut cx, &t, &bridges, &ports),
        None => (FdbSpec::default(), HashMap::new()),
    };
    let overlay = read_overlay(&mut cx, &top, &bridges, &ports, &fdb_statics);
    let flows = read_flows(&mut cx, &top, &ports);
    let control = match section(&mut cx, &top, "control") {
        Some(t) => read_control(&mut cx, &t),
        None => ControlSettings::default(),
    };

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let count = domains_in_use(&ports, &overlay, bridges.names.len());
    if count > MAX_DOMAINS {
        return Err(vec![ConfigError::TooManyDomains { count, max: MAX_DOMAINS }]);
    }
    // The forwarding plan numbers one tunnel port per (VNI, remote VTEP)
    // after the physical ports, in the same port space.
    let tunnels: usize = overlay.vnis.iter().map(|v| v.remotes.len() + v.allowed.len()).sum();
    if ports.drafts.len() + tunnels > MAX_PORTS {
        return Err(vec![ConfigError::TooManyTunnels { ports: ports.drafts.len(), tunnels, max: MAX_PORTS }]);
    }

    let mut spec_ports = Vec::with_capacity(ports.drafts.len());
    let mut runtime = Vec::with_capacity(ports.drafts.len());
    for d in ports.drafts {
        // Every missing piece of a port has been reported as an error above.
        let (Some(name), Some(bridge), Some(mode)) = (d.name, d.bridge, d.mode) else {
            unreachable!("an incomplete port always comes with an error");
        };
        let interface = d.interface.clone();
        spec_ports.push(PortSpec { name, interface, bridge, mode, mac_limit: d.mac_limit, mtu: d.mtu });
        runtime.push(PortRuntime { interface: d.interface, queues: d.queues });
    }
    let bridges = bridges.names.into_iter().map(|n| BridgeSpec { name: n.unwrap_or_default() }).collect();
    let spec = SwitchSpec { bridges, ports: spec_ports, fdb, overlay };
    Ok(Config { switch, dataplane, control, spec, ports: runtime, flows })
}

/// `[[flow]]`: the rules, checked in the rule language; ports are checked
/// by name here, and the rest (tunnel ports) when the plan is compiled.
fn read_flows(cx: &mut Ctx<'_>, top: &Tbl<'_>, ports: &Ports) -> Vec<FlowConfig> {
    let mut out = Vec::new();
    let mut ids: HashMap<u32, usize> = HashMap::new();
    for t in &cx.tables(top, "flow", "flow") {
        cx.check_keys(t, FLOW_KEYS);
        let id = match cx.int(t, "id", 0, switch_core::flow::MAX_RULES as i64 / 2 - 1) {
            Ok(Some(n)) => Some(n as u32),
            _ => None,
        };
        if let Some(id) = id {
            if let Some(&first) = ids.get(&id) {
                let at = cx.at_key(t, "id");
                cx.push(ConfigError::DuplicateFlowId { at, id, first });
            }
            ids.entry(id).or_insert(t.index);
        }
        if let Ok(Some(d)) = cx.string(t, "direction") {
            if !DIRECTIONS.contains(&d.as_str()) {
                let at = cx.at_key(t, "direction");
                let reason = if d == "egress" {
                    "egress tables are not supported yet: write the rule for the port the frames arrive on".into()
                } else {
                    "expected \"ingress\"".into()
                };
                cx.push(ConfigError::BadFlow { at, value: d, reason });
            }
        }
        let port = cx.string(t, "port");
        let port = cx.required(t, "port", "every [[flow]] needs the port whose frames it matches", port);
        if let Some(name) = &port {
            known_port(cx, t, "port", ports, name);
        }
        let priority = match cx.int(t, "priority", 0, 65535) {
            Ok(Some(n)) => n as u16,
            _ => switch_core::flow::DEFAULT_PRIORITY,
        };
        let matches = match cx.string(t, "match") {
            Ok(Some(m)) => match m.parse::<switch_core::flow::FlowMatch>() {
                Ok(parsed) => Some(parsed),
                Err(e) => {
                    let at = cx.at_key(t, "match");
                    cx.push(ConfigError::BadFlow { at, value: m, reason: e.0 });
                    None
                }
            },
            Ok(None) => Some(switch_core::flow::FlowMatch::default()),
            Err(()) => None,
        };
        let actions = cx.string(t, "actions");
        let actions =
            cx.required(t, "actions", "every [[flow]] needs actions (drop, allow, output:PORT, mirror:PORT)", actions);
        let actions = actions.and_then(|a| match a.parse::<switch_core::flow::FlowActions>() {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                let at = cx.at_key(t, "actions");
                cx.push(ConfigError::BadFlow { at, value: a, reason: e.0 });
                None
            }
        });
        if let Some(acts) = &actions {
            let named = [
                acts.mirror.as_deref(),
                match &acts.verdict {
                    switch_core::flow::Verdict::Output(p) => Some(p.as_str()),
                    _ => None,
                },
            ];
            for name in named.into_iter().flatten() {
                known_port(cx, t, "actions", ports, name);
            }
        }
        if let Some(name) = matches.as_ref().and_then(|m| m.in_port.as_deref()) {
            known_port(cx, t, "match", ports, name);
        }
        if let (Some(port), Some(matches), Some(actions)) = (port, matches, actions) {
            let rule = FlowRule { table: FlowTable::Ingress(port), priority, matches, actions };
            out.push(FlowConfig { id, rule });
        }
    }
    out
}

/// Number of (bridge, VLAN) pairs the ports and the VNIs use, as the
/// forwarding plan counts bridge domains. Only called on complete ports.
fn domains_in_use(ports: &Ports, overlay: &OverlaySpec, bridges: usize) -> usize {
    let mut per_bridge = vec![VlanSet::new(); bridges];
    for d in &ports.drafts {
        let (Some(b), Some(mode)) = (d.bridge, &d.mode) else { continue };
        let Some(set) = per_bridge.get_mut(b) else { continue };
        match mode {
            PortMode::Access { vlan } => set.insert(vlan.0),
            PortMode::Dot1qTunnel { s_vlan } => set.insert(s_vlan.0),
            PortMode::Trunk { allowed, native, .. } => {
                for v in allowed.iter().chain(native.map(|n| n.0)) {
                    set.insert(v);
                }
            }
            PortMode::Underlay => {}
        }
    }
    for v in &overlay.vnis {
        if let Some(set) = per_bridge.get_mut(v.bridge) {
            set.insert(v.vlan.0);
        }
    }
    per_bridge.iter().map(VlanSet::len).sum()
}

/// The sub-table `key` of `top`, if present and a table.
fn section<'a>(cx: &mut Ctx<'_>, top: &Tbl<'a>, key: &str) -> Option<Tbl<'a>> {
    let node = top.get(key)?;
    let at = cx.at(top, key, &node.span);
    cx.table(node, key.to_string(), None, at)
}

fn read_switch(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> SwitchSettings {
    cx.check_keys(t, SWITCH_KEYS);
    let mut s = SwitchSettings::default();
    if let Ok(Some(n)) = cx.int(t, "batch_size", 1, MAX_BURST as i64) {
        s.batch_size = n as usize;
    }
    s
}

/// `auto | on | off`, or a boolean for on/off.
fn toggle(cx: &mut Ctx<'_>, t: &Tbl<'_>, key: &str) -> Option<Toggle> {
    if let Some(Node::Bool(b)) = t.get(key).map(|v| &v.node) {
        return Some(if *b { Toggle::On } else { Toggle::Off });
    }
    match cx.choice(t, key, TOGGLES) {
        Ok(Some("on")) => Some(Toggle::On),
        Ok(Some("off")) => Some(Toggle::Off),
        Ok(Some(_)) => Some(Toggle::Auto),
        _ => None,
    }
}

fn read_dataplane(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> DataplaneSettings {
    cx.check_keys(t, DATAPLANE_KEYS);
    let mut d = DataplaneSettings::default();
    match cx.choice(t, "xdp_mode", XDP_MODES) {
        Ok(Some("native")) => d.xdp_mode = XdpMode::Native,
        Ok(Some("skb")) => d.xdp_mode = XdpMode::Skb,
        Ok(Some(_)) => d.xdp_mode = XdpMode::Auto,
        _ => {}
    }
    if let Some(z) = toggle(cx, t, "zero_copy") {
        d.zero_copy = z;
    }
    if let Some(h) = toggle(cx, t, "hugepages") {
        d.hugepages = h;
    }
    let frames = cx.pow2(t, "frames", 1024, 1 << 20);
    let rings = ["rx_ring", "tx_ring", "fill_ring", "comp_ring"].map(|k| cx.pow2(t, k, 64, 16384));
    if let Ok(Some(n)) = frames {
        d.frames = n;
    }
    for (slot, got) in [&mut d.rx_ring, &mut d.tx_ring, &mut d.fill_ring, &mut d.comp_ring].into_iter().zip(rings) {
        if let Ok(Some(n)) = got {
            *slot = n;
        }
    }
    // Only judge the UMEM size when every number involved is valid.
    if frames.is_ok() && rings[1].is_ok() && rings[2].is_ok() {
        let needed = d.fill_ring + d.tx_ring;
        if d.frames < needed {
            let at = cx.at_key(t, "frames");
            cx.push(ConfigError::UmemTooSmall { at, frames: d.frames, needed });
        }
    }
    if let Ok(Some(items)) = cx.array(t, "worker_cpus") {
        if items.is_empty() {
            let at = cx.at_key(t, "worker_cpus");
            cx.push(ConfigError::EmptyList { at });
        }
        let mut cpus = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("worker_cpus[{i}]");
            let cpu = match &item.node {
                Node::Int(n) if (0..=MAX_CPU).contains(n) => *n,
                Node::Int(n) => {
                    let at = cx.at(t, &key, &item.span);
                    cx.push(ConfigError::OutOfRange { at, value: *n, min: 0, max: MAX_CPU });
                    continue;
                }
                other => {
                    let at = cx.at(t, &key, &item.span);
                    cx.push(ConfigError::WrongType {
                        at,
                        expected: "a CPU number (integer)",
                        found: other.type_name(),
                        value: other.short(),
                    });
                    continue;
                }
            };
            if cpus.contains(&(cpu as usize)) {
                let at = cx.at(t, &key, &item.span);
                cx.push(ConfigError::DuplicateCpu { at, cpu });
                continue;
            }
            cpus.push(cpu as usize);
        }
        if !cpus.is_empty() {
            d.worker_cpus = cpus;
        }
    }
    if let Ok(Some(b)) = cx.boolean(t, "idle_backoff") {
        d.idle_backoff = b;
    }
    if let Ok(Some(b)) = cx.boolean(t, "busy_poll") {
        d.busy_poll = b;
    }
    d
}

/// The bridges, by index. A bridge whose name is missing or not a string is
/// a `None` hole; `complete` is false then and reference errors are not
/// reported (they would only echo the first error).
pub(crate) struct Bridges {
    pub(crate) names: Vec<Option<String>>,
    pub(crate) complete: bool,
}

impl Bridges {
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }

    fn known(&self) -> Vec<String> {
        self.names.iter().flatten().cloned().collect()
    }
}

/// Port, bridge and VTEP names: `[A-Za-z0-9_.-]{1,32}`.
pub(crate) fn check_name(cx: &mut Ctx<'_>, t: &Tbl<'_>, key: &str, value: &str) {
    let reason = if value.is_empty() || value.len() > MAX_NAME {
        Some("it must be 1 to 32 characters long")
    } else if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        Some("it may contain only letters, digits, '_', '.' and '-'")
    } else {
        None
    };
    if let Some(reason) = reason {
        let at = cx.at_key(t, key);
        cx.push(ConfigError::BadName { at, value: value.to_string(), reason });
    }
}

/// Interface names as Linux accepts them (`dev_valid_name`), ASCII only.
fn check_interface(cx: &mut Ctx<'_>, t: &Tbl<'_>, value: &str) -> bool {
    let reason = if value.is_empty() || value.len() > MAX_IFNAME {
        Some("it must be 1 to 15 characters long (IFNAMSIZ - 1)")
    } else if value == "." || value == ".." {
        Some("\".\" and \"..\" are reserved")
    } else if !value.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':') {
        Some("it may contain only printable ASCII without '/', ':' or spaces")
    } else {
        None
    };
    if let Some(reason) = reason {
        let at = cx.at_key(t, "interface");
        cx.push(ConfigError::BadInterfaceName { at, value: value.to_string(), reason });
        return false;
    }
    true
}

fn read_bridges(cx: &mut Ctx<'_>, top: &Tbl<'_>) -> Bridges {
    let tables = cx.tables(top, "bridge", "bridge");
    let mut b = Bridges { names: Vec::new(), complete: true };
    if top.has("bridge") && tables.len() != array_len(top, "bridge") {
        b.complete = false;
    }
    for t in &tables {
        cx.check_keys(t, BRIDGE_KEYS);
        let name = cx.string(t, "name");
        let name = cx.required(t, "name", "every [[bridge]] needs a name", name);
        match name {
            Some(n) => {
                check_name(cx, t, "name", &n);
                if let Some(first) = b.index(&n) {
                    // Left out, so references still resolve to the first
                    // bridge and the count of bridges is what was meant.
                    let at = cx.at_key(t, "name");
                    cx.push(ConfigError::DuplicateBridge { at, name: n, first });
                } else {
                    b.names.push(Some(n));
                }
            }
            None => {
                b.complete = false;
                b.names.push(None);
            }
        }
    }
    if b.names.is_empty() && b.complete {
        b.names.push(Some(IMPLICIT_BRIDGE.to_string()));
    }
    b
}

/// Number of elements of the array `key`, whatever their type (0 if absent
/// or not an array).
pub(crate) fn array_len(t: &Tbl<'_>, key: &str) -> usize {
    match t.get(key).map(|v| &v.node) {
        Some(Node::Array(a)) => a.len(),
        _ => 0,
    }
}

/// Resolves a table's optional `bridge` key to a bridge index.
pub(crate) fn resolve_bridge(cx: &mut Ctx<'_>, t: &Tbl<'_>, bridges: &Bridges) -> Option<usize> {
    match cx.string(t, "bridge") {
        Ok(Some(name)) => {
            let i = bridges.index(&name);
            if i.is_none() && bridges.complete {
                let at = cx.at_key(t, "bridge");
                cx.push(ConfigError::UnknownBridge { at, name, known: bridges.known() });
            }
            i
        }
        Ok(None) if bridges.names.len() == 1 => Some(0),
        Ok(None) => {
            if bridges.complete {
                let at = cx.at_key(t, "bridge");
                cx.push(ConfigError::AmbiguousBridge { at, bridges: bridges.known() });
            }
            None
        }
        Err(()) => None,
    }
}

/// A port as far as it could be read; `None` fields were reported.
pub(crate) struct PortDraft {
    /// Index of the `[[port]]` table.
    index: usize,
    name: Option<String>,
    interface: Option<String>,
    bridge: Option<usize>,
    pub(crate) mode: Option<PortMode>,
    mac_limit: Option<u32>,
    mtu: Option<u16>,
    queues: u16,
}

pub(crate) struct Ports {
    pub(crate) drafts: Vec<PortDraft>,
    /// False when some port has no usable name (so unknown-port errors
    /// could be echoes).
    pub(crate) complete: bool,
}

impl Ports {
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.drafts.iter().position(|d| d.name.as_deref() == Some(name))
    }
}

fn read_ports(cx: &mut Ctx<'_>, top: &Tbl<'_>, bridges: &Bridges) -> Ports {
    let tables = cx.tables(top, "port", "port");
    let mut ports = Ports { drafts: Vec::new(), complete: tables.len() == array_len(top, "port") };
    match top.get("port").map(|v| &v.node) {
        None => cx.push(ConfigError::NoPorts),
        Some(Node::Array(a)) if a.is_empty() => cx.push(ConfigError::NoPorts),
        _ => {}
    }
    if let Some(t) = tables.get(MAX_PORTS) {
        let at = cx.at(t, "", &t.span);
        cx.push(ConfigError::TooManyPorts { at, count: array_len(top, "port"), max: MAX_PORTS });
    }
    let mut interfaces: HashMap<String, (usize, String)> = HashMap::new();
    for t in &tables {
        cx.check_keys(t, PORT_KEYS);
        let name = cx.string(t, "name");
        let mut name = cx.required(t, "name", "every [[port]] needs a name", name);
        if let Some(n) = &name {
            check_name(cx, t, "name", n);
            if let Some(first) = ports.index(n) {
                let at = cx.at_key(t, "name");
                let first = ports.drafts[first].index;
                cx.push(ConfigError::DuplicatePort { at, name: n.clone(), first });
                // Keep the first port as the one references resolve to.
                name = None;
            }
        } else {
            ports.complete = false;
        }
        let interface = match cx.string(t, "interface") {
            Ok(Some(ifname)) if check_interface(cx, t, &ifname) => {
                if let Some((first, first_name)) = interfaces.get(&ifname) {
                    let at = cx.at_key(t, "interface");
                    let (first, first_name) = (*first, first_name.clone());
                    cx.push(ConfigError::DuplicateInterface { at, interface: ifname.clone(), first, first_name });
                } else {
                    interfaces.insert(ifname.clone(), (t.index, t.name.clone().unwrap_or_default()));
                }
                Some(ifname)
            }
            _ => None,
        };
        // An underlay port is in no bridge domain; it is recorded on the
        // first bridge, which the forwarding plan requires to exist.
        let underlay = matches!(t.get("mode").map(|v| &v.node), Some(Node::Str(m)) if m == "underlay");
        let bridge = if underlay {
            for (key, why) in NOT_FOR_UNDERLAY {
                if t.has(key) {
                    let at = cx.at_key(t, key);
                    cx.push(ConfigError::NotForUnderlay { at, why });
                }
            }
            (!bridges.names.is_empty()).then_some(0)
        } else {
            resolve_bridge(cx, t, bridges)
        };
        let mode = read_mode(cx, t);
        let mac_limit =
            if underlay { None } else { cx.int(t, "mac_limit", 1, MAX_FDB).ok().flatten().map(|n| n as u32) };
        let mtu = cx.int(t, "mtu", crate::overlay::MIN_MTU, crate::overlay::MAX_MTU).ok().flatten().map(|n| n as u16);
        let queues = cx.int(t, "queues", 1, 64).ok().flatten().map_or(1, |n| n as u16);
        ports.drafts.push(PortDraft { index: t.index, name, interface, bridge, mode, mac_limit, mtu, queues });
    }
    ports
}

/// `mode` and the keys that belong to it.
fn read_mode(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<PortMode> {
    let mode = cx.choice(t, "mode", MODES);
    let why = "every [[port]] needs mode = \"access\", \"trunk\", \"dot1q-tunnel\" or \"underlay\"";
    let mode = cx.required(t, "mode", why, mode)?;
    let mut ok = true;
    for (key, valid_for) in MODE_KEYS {
        if *valid_for != mode && t.has(key) {
            let at = cx.at_key(t, key);
            cx.push(ConfigError::WrongKeyForMode { at, mode, valid_for });
            ok = false;
        }
    }
    let mode = match mode {
        "access" => {
            let vlan = cx.vlan(t, "vlan");
            let vlan = cx.required(t, "vlan", "required when mode = \"access\"", vlan)?;
            PortMode::Access { vlan: VlanId(vlan) }
        }
        "dot1q-tunnel" => {
            let s_vlan = cx.vlan(t, "s_vlan");
            let s_vlan = cx.required(t, "s_vlan", "required when mode = \"dot1q-tunnel\"", s_vlan)?;
            PortMode::Dot1qTunnel { s_vlan: VlanId(s_vlan) }
        }
        "underlay" => PortMode::Underlay,
        _ => read_trunk(cx, t)?,
    };
    ok.then_some(mode)
}

fn read_trunk(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<PortMode> {
    let allowed = read_allowed(cx, t);
    let native = cx.vlan(t, "native_vlan");
    let native_tagged = cx.boolean(t, "native_tagged");
    let tpid = read_tpid(cx, t);
    if let (Ok(None), Ok(Some(true))) = (&native, &native_tagged) {
        cx.missing(t, "native_vlan", "required when native_tagged = true");
        return None;
    }
    let (allowed, native, native_tagged, tpid) = (allowed?, native.ok()?, native_tagged.ok()?, tpid?);
    if let Some(n) = native {
        if !allowed.contains(n) {
            let at = cx.at_key(t, "native_vlan");
            cx.push(ConfigError::NativeVlanNotAllowed { at, native: n, allowed: allowed.to_ranges_string() });
            return None;
        }
    }
    Some(PortMode::Trunk { allowed, native: native.map(VlanId), native_tagged: native_tagged.unwrap_or(false), tpid })
}

/// `allowed_vlans`: a string of ranges, or an array of ids; default all.
fn read_allowed(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<VlanSet> {
    let Some(v) = t.get("allowed_vlans") else { return Some(VlanSet::all()) };
    match &v.node {
        Node::Str(s) => match parse_vlan_list(s) {
            Ok(set) => Some(set),
            Err(reason) => {
                let at = cx.at_key(t, "allowed_vlans");
                cx.push(ConfigError::BadVlanList { at, value: format!("{s:?}"), reason });
                None
            }
        },
        Node::Array(items) => {
            if items.is_empty() {
                let at = cx.at_key(t, "allowed_vlans");
                let reason = "the list is empty (omit allowed_vlans to carry every VLAN)".to_string();
                cx.push(ConfigError::BadVlanList { at, value: "[]".to_string(), reason });
                return None;
            }
            let mut set = VlanSet::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match cx.vlan_node(t, &format!("allowed_vlans[{i}]"), item) {
                    Ok(vid) => set.insert(vid),
                    Err(()) => ok = false,
                }
            }
            ok.then_some(set)
        }
        other => {
            let at = cx.at_key(t, "allowed_vlans");
            cx.push(ConfigError::WrongType {
                at,
                expected: "a VLAN list like \"1-100,200\" or an array of VLAN ids",
                found: other.type_name(),
                value: other.short(),
            });
            None
        }
    }
}

/// `tpid`: 802.1q / 802.1ad / 0x8100 / 0x88a8 (case-insensitive), or the
/// number itself.
fn read_tpid(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<u16> {
    let Some(v) = t.get("tpid") else { return Some(0x8100) };
    let (text, tpid) = match &v.node {
        Node::Str(s) => {
            let tpid = match s.to_ascii_lowercase().as_str() {
                "802.1q" | "0x8100" => Some(0x8100),
                "802.1ad" | "0x88a8" => Some(0x88a8),
                _ => None,
            };
            (s.clone(), tpid)
        }
        Node::Int(n) => (format!("{n:#x}"), [0x8100, 0x88a8].contains(n).then_some(*n as u16)),
        other => {
            let at = cx.at_key(t, "tpid");
            cx.push(ConfigError::WrongType {
                at,
                expected: "a string such as \"802.1q\"",
                found: other.type_name(),
                value: other.short(),
            });
            return None;
        }
    };
    if tpid.is_none() {
        let at = cx.at_key(t, "tpid");
        cx.push(ConfigError::BadChoice { at, value: text, expected: TPIDS });
    }
    tpid
}

/// The static FDB entries by (bridge, VLAN, MAC), with the index of their
/// `[[fdb.static]]` table.
pub(crate) type StaticsSeen = HashMap<(usize, u16, MacAddr), usize>;

fn read_fdb(cx: &mut Ctx<'_>, t: &Tbl<'_>, bridges: &Bridges, ports: &Ports) -> (FdbSpec, StaticsSeen) {
    cx.check_keys(t, FDB_KEYS);
    let mut f = FdbSpec::default();
    let num = |cx: &mut Ctx<'_>, key: &str, min: i64, max: i64, slot: &mut u32| {
        if let Ok(Some(n)) = cx.int(t, key, min, max) {
            *slot = n as u32;
        }
    };
    num(cx, "aging_secs", 1, 1_000_000, &mut f.aging_secs);
    num(cx, "max_entries", 1, MAX_FDB, &mut f.max_entries);
    num(cx, "move_max", 1, 1_000_000, &mut f.move_max);
    num(cx, "move_window_secs", 1, 86_400, &mut f.move_window_secs);
    num(cx, "move_hold_secs", 1, 86_400, &mut f.move_hold_secs);
    if let Ok(Some(n)) = cx.int(t, "max_per_domain", 1, MAX_FDB) {
        f.max_per_domain = Some(n as u32);
    }

    let mut seen: StaticsSeen = HashMap::new();
    for s in &cx.tables(t, "static", "fdb.static") {
        cx.check_keys(s, STATIC_KEYS);
        let bridge = resolve_bridge(cx, s, bridges);
        let vlan = cx.vlan(s, "vlan");
        let vlan = cx.required(s, "vlan", "every [[fdb.static]] needs a vlan", vlan);
        let mac = cx.string(s, "mac");
        let mac = cx
            .required(s, "mac", "every [[fdb.static]] needs a mac", mac)
            .and_then(|m| check_mac(cx, s, "mac", &m, MacUse::Static));
        let port = cx.string(s, "port");
        let port_name = cx.required(s, "port", "every [[fdb.static]] needs a port", port);
        let port = port_name.as_ref().and_then(|name| known_port(cx, s, "port", ports, name));
        let (Some(bridge), Some(vlan), Some(mac), Some(port)) = (bridge, vlan, mac, port) else { continue };
        let draft = &ports.drafts[port];
        let port_name = port_name.unwrap_or_default();
        let bridge_name = bridges.names[bridge].clone().unwrap_or_default();
        let reason = match (draft.bridge, &draft.mode) {
            (_, Some(PortMode::Underlay)) => Some("it is an underlay port, which is in no VLAN".to_string()),
            (Some(pb), _) if pb != bridge => {
                Some(format!("the port is on bridge {:?}", bridges.names[pb].as_deref().unwrap_or_default()))
            }
            (Some(_), Some(mode)) => not_member_reason(mode, vlan),
            // The port's own errors are already reported.
            _ => None,
        };
        if let Some(reason) = reason {
            let at = cx.at_key(s, "port");
            cx.push(ConfigError::StaticMacNotMember { at, port: port_name, vlan, bridge: bridge_name, reason });
            continue;
        }
        if let Some(&first) = seen.get(&(bridge, vlan, mac)) {
            let at = cx.at_key(s, "mac");
            cx.push(ConfigError::DuplicateStaticMac { at, mac: mac.to_string(), vlan, first });
            continue;
        }
        seen.insert((bridge, vlan, mac), s.index);
        f.static_macs.push(StaticMacSpec { bridge, vlan: VlanId(vlan), mac, port });
    }
    (f, seen)
}

/// The index of the port `name` that `key` of `t` names, or `None` after
/// reporting it as unknown (unless the ports themselves had errors, which
/// are reported already).
fn known_port(cx: &mut Ctx<'_>, t: &Tbl<'_>, key: &str, ports: &Ports, name: &str) -> Option<usize> {
    let p = ports.index(name);
    if p.is_none() && ports.complete {
        let at = cx.at_key(t, key);
        cx.push(ConfigError::UnknownPort { at, name: name.to_string() });
    }
    p
}

/// Why a port in `mode` does not carry `vlan`, or `None` when it does.
fn not_member_reason(mode: &PortMode, vlan: u16) -> Option<String> {
    match mode {
        PortMode::Access { vlan: v } if v.0 != vlan => Some(format!("it is an access port of VLAN {v}")),
        PortMode::Dot1qTunnel { s_vlan } if s_vlan.0 != vlan => {
            Some(format!("it is a dot1q-tunnel port of S-VLAN {s_vlan}"))
        }
        PortMode::Trunk { allowed, .. } if !allowed.contains(vlan) => {
            Some(format!("it is a trunk carrying VLANs {}", allowed.to_ranges_string()))
        }
        _ => None,
    }
}

/// What a MAC in the file is for, to word the errors.
#[derive(Clone, Copy)]
pub(crate) enum MacUse {
    /// A static FDB entry (`[[fdb.static]]`, `[[vni.static]]`).
    Static,
    /// A VTEP's own address on the underlay.
    Own,
    /// A VTEP's static next hop.
    NextHop,
}

/// A unicast, non-zero MAC, the value of `key`.
pub(crate) fn check_mac(cx: &mut Ctx<'_>, t: &Tbl<'_>, key: &str, text: &str, purpose: MacUse) -> Option<MacAddr> {
    let (broadcast, multicast) = match purpose {
        MacUse::Static => {
            ("the broadcast address cannot be a static entry", "a multicast (group) address cannot be a static entry")
        }
        MacUse::Own => (
            "the broadcast address cannot be a VTEP's own address",
            "a multicast (group) address cannot be a VTEP's own address",
        ),
        MacUse::NextHop => (
            "the broadcast address cannot be a next hop's address",
            "a multicast (group) address cannot be a next hop's address",
        ),
    };
    let reason = match text.parse::<MacAddr>() {
        Err(_) => "expected six hex byte pairs like 02:00:00:00:00:01",
        Ok(m) if m.is_zero() => "the all-zero address is never a valid station",
        Ok(m) if m.is_broadcast() => broadcast,
        Ok(m) if m.is_multicast() => multicast,
        Ok(m) => return Some(m),
    };
    let at = cx.at_key(t, key);
    cx.push(ConfigError::BadMac { at, value: text.to_string(), reason });
    None
}

fn read_control(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> ControlSettings {
    cx.check_keys(t, CONTROL_KEYS);
    let mut c = ControlSettings::default();
    if let Ok(Some(path)) = cx.string(t, "socket") {
        let reason = if path.is_empty() {
            Some("it is empty")
        } else if path.len() > MAX_SOCKET_PATH {
            Some("Unix socket paths are at most 107 bytes")
        } else if path.contains('\0') {
            Some("it contains a NUL byte")
        } else if path.ends_with('/') {
            Some("it names a directory")
        } else {
            None
        };
        match reason {
            Some(reason) => {
                let at = cx.at_key(t, "socket");
                cx.push(ConfigError::BadSocketPath { at, value: path, reason });
            }
            None => c.socket = PathBuf::from(path),
        }
    }
    c.metrics_listen = socket_addr(cx, t, "metrics_listen");
    c.api_listen = socket_addr(cx, t, "api_listen");
    if let Some(a) = c.api_listen.filter(|a| !a.ip().is_loopback()) {
        let at = cx.at_key(t, "api_listen");
        cx.push(ConfigError::NotLoopback { at, value: a.to_string() });
    }
    if let Ok(Some(path)) = cx.string(t, "api_token_file") {
        c.api_token_file = Some(PathBuf::from(path));
    }
    if c.api_listen.is_some() && c.api_token_file.is_none() {
        cx.missing(t, "api_token_file", "required with api_listen: the TCP API answers only callers with the token");
    }
    c
}

/// An `ip:port` key.
fn socket_addr(cx: &mut Ctx<'_>, t: &Tbl<'_>, key: &str) -> Option<SocketAddr> {
    let text = cx.string(t, key).ok()??;
    match text.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            let at = cx.at_key(t, key);
            cx.push(ConfigError::BadAddress { at, value: text });
            None
        }
    }
}
