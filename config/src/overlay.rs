//! The overlay sections: `[[vtep]]`, `[[vni]]` and `[[vni.static]]`, read
//! into [`OverlaySpec`].
//!
//! They are read after the ports and the FDB, because a VTEP names an
//! underlay port and a VNI's static MACs must not clash with the static
//! entries of its domain. As elsewhere, every problem is recorded and the
//! walk carries on; a value that was already wrong is given a placeholder
//! and the checks that depend on it are skipped. The spec returned is only
//! used when no error was recorded.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use switch_core::bridge::PortMode;
use switch_core::overlay::{
    Encap, GatewaySpec, GeneveOptionSpec, InnerVlan, OverlaySpec, RemoteMacSpec, RouteSpec, VniSpec, VtepSpec,
};
use switch_core::types::{MacAddr, VlanId};

use crate::address::{
    bad_ip, family, in_subnet, not_a_group, parse_cidr, parse_cidr4, parse_host, parse_host4, parse_prefix,
    subnet_role, subnet_text,
};
use crate::error::{ConfigError, KeyPath};
use crate::parse::{array_len, check_mac, check_name, resolve_bridge, Bridges, MacUse, Ports, StaticsSeen};
use crate::tree::{Ctx, Node, Tbl};

const VTEP_KEYS: &[&str] = &[
    "name",
    "port",
    "address",
    "gateway",
    "mac",
    "nexthop_mac",
    "udp_port",
    "geneve_port",
    "ttl",
    "dscp",
    "udp_checksum",
    "verify_udp_checksum",
    "src_port_range",
    "mtu",
    "neighbor_refresh_secs",
];
const VNI_KEYS: &[&str] = &[
    "vni",
    "vtep",
    "bridge",
    "vlan",
    "encap",
    "group",
    "learning",
    "remotes",
    "allowed_remotes",
    "static",
    "option",
    "inner_vlan",
    "arp_suppression",
    "arp",
];
const VNI_ARP_KEYS: &[&str] = &["ip", "mac"];
/// Why `arp_suppression` is IPv4 only.
const ARP_V4: &str = "ARP suppression is for IPv4 subnets";
const VNI_STATIC_KEYS: &[&str] = &["mac", "remote"];
const VNI_OPTION_KEYS: &[&str] = &["class", "type", "data"];
/// The values of a VNI's `encap`.
const ENCAPS: &[&str] = &["vxlan", "geneve"];
const INNER_VLANS: &[&str] = &["drop", "strip"];
/// The words `dscp` accepts besides a number, and the number's range (for
/// the error message).
const DSCP_CHOICES: &[&str] = &["inherit", "0..=63"];

/// Largest VNI (24 bits).
const MAX_VNI: i64 = 0xff_ffff;
/// Smallest underlay MTU: the IPv4 minimum reassembly size (RFC 791).
pub(crate) const MIN_MTU: i64 = 576;
/// Smallest underlay MTU of an IPv6 VTEP: IPv6's minimum link MTU.
const MIN_MTU6: i64 = 1280;
/// Largest underlay MTU: a common jumbo frame.
pub(crate) const MAX_MTU: i64 = 9216;

/// Reads `[[vtep]]` and `[[vni]]` (with their `[[vni.static]]`).
pub(crate) fn read_overlay(
    cx: &mut Ctx<'_>,
    top: &Tbl<'_>,
    bridges: &Bridges,
    ports: &Ports,
    fdb_statics: &StaticsSeen,
) -> OverlaySpec {
    let vteps = read_vteps(cx, top, ports);
    let vnis = read_vnis(cx, top, bridges, &vteps, fdb_statics);
    let gateways = read_gateways(cx, top, bridges);
    let routes = read_routes(cx, top, &vteps);
    OverlaySpec { vteps: vteps.drafts.into_iter().map(|d| d.spec).collect(), vnis, gateways, routes }
}

const GATEWAY_KEYS: &[&str] = &["bridge", "vlan", "address", "mac", "neighbor"];
const GATEWAY_NEIGHBOR_KEYS: &[&str] = &["ip", "mac"];
const ROUTE_KEYS: &[&str] = &["prefix", "via", "vtep"];
/// Gateway subnets: /16 at most (the host table has one word per address)
/// and /30 at least (two hosts).
const GATEWAY_PREFIXES: core::ops::RangeInclusive<u8> = 16..=30;
/// Why `[[gateway]]` addresses are IPv4.
const GATEWAY_V4: &str = "a [[gateway]] routes IPv4 only";
/// Why `[[route]]` addresses are IPv4.
const ROUTE_V4: &str = "a [[route]] is an IP-in-IP tunnel, which carries IPv4 over IPv4 only";

/// `[[gateway]]` tables (with their `[[gateway.neighbor]]`).
fn read_gateways(cx: &mut Ctx<'_>, top: &Tbl<'_>, bridges: &Bridges) -> Vec<GatewaySpec> {
    let mut by_domain: HashMap<(usize, u16), usize> = HashMap::new();
    let mut out = Vec::new();
    for t in &cx.tables(top, "gateway", "gateway") {
        cx.check_keys(t, GATEWAY_KEYS);
        let bridge = resolve_bridge(cx, t, bridges);
        let vlan = cx.vlan(t, "vlan");
        let vlan = cx.required(t, "vlan", "every [[gateway]] needs the VLAN it routes for", vlan);
        if let (Some(b), Some(v)) = (bridge, vlan) {
            if let Some(&first) = by_domain.get(&(b, v)) {
                let at = cx.at_key(t, "vlan");
                let bridge = bridges.names.get(b).cloned().flatten().unwrap_or_default();
                cx.push(ConfigError::DuplicateGateway { at, vlan: v, bridge, first });
            } else {
                by_domain.insert((b, v), t.index);
            }
        }
        let address = cx.string(t, "address");
        let why = "every [[gateway]] needs its address with the VLAN's prefix length, such as \"10.10.0.1/24\"";
        let subnet = cx.required(t, "address", why, address).and_then(|text| {
            let at = cx.at_key(t, "address");
            match parse_cidr4(&text, GATEWAY_V4) {
                Ok((_, len)) if !GATEWAY_PREFIXES.contains(&len) => {
                    let reason = format!("a gateway's prefix length is 16..=30, not {len}");
                    cx.push(ConfigError::BadIp { at, value: text, family: "IPv4", reason });
                    None
                }
                Ok(s) => Some(s),
                Err(e) => {
                    bad_ip(cx, at, &text, e);
                    None
                }
            }
        });
        let mac = match cx.string(t, "mac") {
            Ok(Some(text)) => check_mac(cx, t, "mac", &text, MacUse::Own),
            _ => None,
        };
        let prefix = format!("{}.neighbor", t.table);
        let mut neighbors = Vec::new();
        for n in &cx.tables(t, "neighbor", &prefix) {
            cx.check_keys(n, GATEWAY_NEIGHBOR_KEYS);
            let ip = cx.string(n, "ip");
            let ip = cx.required(n, "ip", "every [[gateway.neighbor]] needs the host's ip", ip).and_then(|text| {
                let at = cx.at_key(n, "ip");
                match parse_host4(&text, true, GATEWAY_V4) {
                    Ok(ip) if subnet.is_some_and(|(a, l)| !in_subnet(ip.into(), a.into(), l)) => {
                        let (a, l) = subnet.unwrap_or((ip, 32));
                        let reason = format!("it is outside the gateway's subnet {}", subnet_text(a.into(), l));
                        cx.push(ConfigError::BadIp { at, value: text, family: "IPv4", reason });
                        None
                    }
                    Ok(ip) => Some(ip),
                    Err(e) => {
                        bad_ip(cx, at, &text, e);
                        None
                    }
                }
            });
            let m = cx.string(n, "mac");
            let m = cx
                .required(n, "mac", "every [[gateway.neighbor]] needs the host's mac", m)
                .and_then(|text| check_mac(cx, n, "mac", &text, MacUse::Static));
            if let (Some(ip), Some(m)) = (ip, m) {
                neighbors.push((ip, m));
            }
        }
        let (address, prefix_len) = subnet.unwrap_or((Ipv4Addr::UNSPECIFIED, 24));
        out.push(GatewaySpec {
            bridge: bridge.unwrap_or(0),
            vlan: VlanId(vlan.unwrap_or(VlanId::MIN)),
            address,
            prefix_len,
            mac,
            neighbors,
        });
    }
    out
}

/// `[[route]]` tables.
fn read_routes(cx: &mut Ctx<'_>, top: &Tbl<'_>, vteps: &Vteps) -> Vec<RouteSpec> {
    let mut seen: HashMap<(Ipv4Addr, u8), usize> = HashMap::new();
    let mut out = Vec::new();
    for t in &cx.tables(top, "route", "route") {
        cx.check_keys(t, ROUTE_KEYS);
        let prefix = cx.string(t, "prefix");
        let why = "every [[route]] needs the remote subnet, such as \"10.20.0.0/24\"";
        let prefix = cx.required(t, "prefix", why, prefix).and_then(|text| match parse_prefix(&text, ROUTE_V4) {
            Ok(p) => {
                if let Some(&first) = seen.get(&p) {
                    let at = cx.at_key(t, "prefix");
                    cx.push(ConfigError::DuplicateRoute { at, prefix: text, first });
                    return None;
                }
                seen.insert(p, t.index);
                Some(p)
            }
            Err(e) => {
                let at = cx.at_key(t, "prefix");
                bad_ip(cx, at, &text, e);
                None
            }
        });
        let via = cx.string(t, "via");
        let why = "every [[route]] needs the remote node's underlay address";
        let via = cx.required(t, "via", why, via).and_then(|text| match parse_host4(&text, true, ROUTE_V4) {
            Ok(ip) => Some(ip),
            Err(e) => {
                let at = cx.at_key(t, "via");
                bad_ip(cx, at, &text, e);
                None
            }
        });
        let mut vtep = resolve_vtep(cx, t, vteps);
        // The tunnel leaves from the VTEP's address, so it must be IPv4 too.
        if let Some(d) = vtep.and_then(|v| vteps.drafts.get(v)) {
            if let (Some((address, len)), Some(name), Some(v)) = (d.subnet, &d.name, via) {
                if address.is_ipv6() {
                    let at = cx.at_key(t, "via");
                    cx.push(wrong_family(at, v.to_string(), v.into(), name.clone(), address, len));
                    vtep = None;
                }
            }
        }
        if let (Some((prefix, prefix_len)), Some(via), Some(vtep)) = (prefix, via, vtep) {
            out.push(RouteSpec { prefix, prefix_len, via, vtep });
        }
    }
    out
}

/// A VTEP as far as it could be read.
struct VtepDraft {
    /// `None` when missing, not a string, or a repeat.
    name: Option<String>,
    /// The address and prefix length, when valid.
    subnet: Option<(IpAddr, u8)>,
    /// Placeholders where values were wrong.
    spec: VtepSpec,
}

struct Vteps {
    drafts: Vec<VtepDraft>,
    /// False when some VTEP has no usable name (so unknown-VTEP errors
    /// could be echoes).
    complete: bool,
}

impl Vteps {
    fn index(&self, name: &str) -> Option<usize> {
        self.drafts.iter().position(|d| d.name.as_deref() == Some(name))
    }

    fn known(&self) -> Vec<String> {
        self.drafts.iter().filter_map(|d| d.name.clone()).collect()
    }
}

/// The text `mode = ...` gives for `mode`.
fn mode_word(mode: &PortMode) -> &'static str {
    match mode {
        PortMode::Access { .. } => "access",
        PortMode::Trunk { .. } => "trunk",
        PortMode::Dot1qTunnel { .. } => "dot1q-tunnel",
        PortMode::Underlay => "underlay",
    }
}

fn read_vteps(cx: &mut Ctx<'_>, top: &Tbl<'_>, ports: &Ports) -> Vteps {
    let tables = cx.tables(top, "vtep", "vtep");
    let mut vteps = Vteps { drafts: Vec::new(), complete: tables.len() == array_len(top, "vtep") };
    // Underlay port -> (first vtep table on it, its name).
    let mut on_port: HashMap<usize, (usize, String)> = HashMap::new();
    let mut first_table = Vec::new();
    for t in &tables {
        cx.check_keys(t, VTEP_KEYS);
        let name = cx.string(t, "name");
        let mut name = cx.required(t, "name", "every [[vtep]] needs a name", name);
        match &name {
            Some(n) => {
                check_name(cx, t, "name", n);
                if let Some(first) = vteps.index(n) {
                    let at = cx.at_key(t, "name");
                    cx.push(ConfigError::DuplicateVtep { at, name: n.clone(), first: first_table[first] });
                    // Keep the first VTEP as the one references resolve to.
                    name = None;
                }
            }
            None => vteps.complete = false,
        }
        let port = read_vtep_port(cx, t, ports, &mut on_port);
        let address = cx.string(t, "address");
        let why =
            "every [[vtep]] needs an address with a prefix length, such as \"192.168.100.1/24\" or \"fd00::1/64\"";
        let subnet = cx.required(t, "address", why, address).and_then(|text| match parse_cidr(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                let at = cx.at_key(t, "address");
                bad_ip(cx, at, &text, e);
                None
            }
        });
        let gateway = read_gateway(cx, t, subnet);
        let mac_of = |cx: &mut Ctx<'_>, key: &str, purpose: MacUse| match cx.string(t, key) {
            Ok(Some(text)) => check_mac(cx, t, key, &text, purpose),
            _ => None,
        };
        let mac = mac_of(cx, "mac", MacUse::Own);
        let nexthop_mac = mac_of(cx, "nexthop_mac", MacUse::NextHop);

        let (address, prefix_len) = subnet.unwrap_or((Ipv4Addr::UNSPECIFIED.into(), 32));
        let mut spec = VtepSpec::new(name.as_deref().unwrap_or_default(), port.unwrap_or(0), address, prefix_len);
        spec.gateway = gateway;
        spec.mac = mac;
        spec.nexthop_mac = nexthop_mac;
        if let Ok(Some(n)) = cx.int(t, "udp_port", 1, 65535) {
            spec.udp_port = n as u16;
        }
        if let Ok(Some(n)) = cx.int(t, "geneve_port", 1, 65535) {
            spec.geneve_port = n as u16;
        }
        if let Ok(Some(n)) = cx.int(t, "ttl", 1, 255) {
            spec.ttl = n as u8;
        }
        spec.dscp = read_dscp(cx, t);
        if let Ok(Some(b)) = cx.boolean(t, "udp_checksum") {
            spec.udp_checksum = b;
        }
        if let Ok(Some(b)) = cx.boolean(t, "verify_udp_checksum") {
            spec.verify_udp_checksum = b;
        }
        if let Some(range) = read_src_ports(cx, t) {
            spec.src_ports = range;
        }
        // An IPv6 link carries at least 1280 bytes (RFC 8200 section 5).
        let min_mtu = if subnet.is_some_and(|(a, _)| a.is_ipv6()) { MIN_MTU6 } else { MIN_MTU };
        if let Ok(Some(n)) = cx.int(t, "mtu", min_mtu, MAX_MTU) {
            spec.mtu = n as u16;
        }
        if let Ok(Some(n)) = cx.int(t, "neighbor_refresh_secs", 5, 3600) {
            spec.neighbor_refresh_secs = n as u32;
        }
        first_table.push(t.index);
        vteps.drafts.push(VtepDraft { name, subnet, spec });
    }
    vteps
}

/// A VTEP's `port`: an underlay port that no earlier VTEP uses.
fn read_vtep_port(
    cx: &mut Ctx<'_>,
    t: &Tbl<'_>,
    ports: &Ports,
    on_port: &mut HashMap<usize, (usize, String)>,
) -> Option<usize> {
    let name = cx.string(t, "port");
    let name = cx.required(t, "port", "every [[vtep]] needs its underlay port", name)?;
    let Some(p) = ports.index(&name) else {
        if ports.complete {
            let at = cx.at_key(t, "port");
            cx.push(ConfigError::UnknownPort { at, name });
        }
        return None;
    };
    match ports.drafts.get(p).and_then(|d| d.mode.as_ref()) {
        Some(PortMode::Underlay) => {}
        Some(mode) => {
            let at = cx.at_key(t, "port");
            cx.push(ConfigError::NotUnderlayPort { at, port: name, mode: mode_word(mode) });
            return None;
        }
        // The port's own errors are already reported.
        None => return None,
    }
    if let Some((first, first_name)) = on_port.get(&p) {
        let at = cx.at_key(t, "port");
        let (first, first_name) = (*first, first_name.clone());
        cx.push(ConfigError::PortHasVtep { at, port: name, first, first_name });
        return None;
    }
    on_port.insert(p, (t.index, t.name.clone().unwrap_or_default()));
    Some(p)
}

/// `gateway`: a host of the VTEP's subnet other than the VTEP itself.
fn read_gateway(cx: &mut Ctx<'_>, t: &Tbl<'_>, subnet: Option<(IpAddr, u8)>) -> Option<IpAddr> {
    let Ok(Some(text)) = cx.string(t, "gateway") else { return None };
    let gw = match parse_host(&text, false) {
        Ok(gw) => gw,
        Err(e) => {
            let at = cx.at_key(t, "gateway");
            bad_ip(cx, at, &text, e);
            return None;
        }
    };
    // Without a valid address there is nothing to compare with.
    let (addr, len) = subnet?;
    if gw.is_ipv4() != addr.is_ipv4() {
        let at = cx.at_key(t, "gateway");
        let vtep = t.name.clone().unwrap_or_default();
        cx.push(wrong_family(at, text, gw, vtep, addr, len));
        return None;
    }
    let reason = if gw == addr {
        Some("it is the vtep's own address".to_string())
    } else if !in_subnet(gw, addr, len) {
        Some(format!("it is outside the subnet {} of address = \"{addr}/{len}\"", subnet_text(addr, len)))
    } else {
        subnet_role(gw, addr, len)
    };
    if let Some(reason) = reason {
        let at = cx.at_key(t, "gateway");
        cx.push(ConfigError::BadGateway { at, value: text, reason });
        return None;
    }
    Some(gw)
}

/// `dscp`: `"inherit"` (the default, `None`) or 0..=63.
fn read_dscp(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<u8> {
    let v = t.get("dscp")?;
    match &v.node {
        Node::Int(_) => cx.int(t, "dscp", 0, 63).ok().flatten().map(|n| n as u8),
        Node::Str(s) if s == "inherit" => None,
        Node::Str(s) => {
            let at = cx.at_key(t, "dscp");
            cx.push(ConfigError::BadChoice { at, value: s.clone(), expected: DSCP_CHOICES });
            None
        }
        _ => {
            cx.wrong_type(t, "dscp", v, "\"inherit\" or an integer 0..=63");
            None
        }
    }
}

/// `src_port_range`: `"LO-HI"`.
fn read_src_ports(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> Option<(u16, u16)> {
    let v = t.get("src_port_range")?;
    match &v.node {
        Node::Str(s) => match parse_port_range(s) {
            Ok(range) => Some(range),
            Err(reason) => {
                let at = cx.at_key(t, "src_port_range");
                cx.push(ConfigError::BadPortRange { at, value: s.clone(), reason });
                None
            }
        },
        _ => {
            cx.wrong_type(t, "src_port_range", v, "a port range like \"49152-65535\"");
            None
        }
    }
}

/// `LO-HI`, both in 1..=65535, `LO <= HI`, spaces around either allowed.
/// The error is a reason to show after the range.
fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let Some((lo, hi)) = text.split_once('-') else {
        return Err("expected LO-HI like 49152-65535 (write 4789-4789 for a single port)".to_string());
    };
    let port = |s: &str| -> Result<u16, String> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not a port number"));
        }
        match s.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
            _ => Err(format!("port {s} is outside 1..=65535")),
        }
    };
    let (lo, hi) = (port(lo)?, port(hi)?);
    if lo > hi {
        return Err(format!("range {lo}-{hi} is reversed (write {hi}-{lo})"));
    }
    Ok((lo, hi))
}

/// A VNI's optional `vtep`, like a port's `bridge`: required only when
/// there are several.
fn resolve_vtep(cx: &mut Ctx<'_>, t: &Tbl<'_>, vteps: &Vteps) -> Option<usize> {
    match cx.string(t, "vtep") {
        Ok(Some(name)) => {
            let i = vteps.index(&name);
            if i.is_none() && vteps.complete {
                let at = cx.at_key(t, "vtep");
                cx.push(ConfigError::UnknownVtep { at, name, known: vteps.known() });
            }
            i
        }
        Ok(None) if vteps.drafts.len() == 1 => Some(0),
        Ok(None) => {
            if vteps.complete && vteps.drafts.is_empty() {
                cx.missing(t, "vtep", "no [[vtep]] is defined; a VNI needs a local VTEP");
            } else if vteps.complete {
                let at = cx.at_key(t, "vtep");
                cx.push(ConfigError::AmbiguousVtep { at, vteps: vteps.known() });
            }
            None
        }
        Err(()) => None,
    }
}

/// The local VTEP a VNI's remotes are checked against.
struct Local<'v> {
    name: &'v str,
    address: IpAddr,
    prefix_len: u8,
}

impl Local<'_> {
    /// Reports `ip` (written `text`, at `at`) if it is of the other family.
    fn check_family(&self, cx: &mut Ctx<'_>, at: KeyPath, text: &str, ip: IpAddr) -> bool {
        if ip.is_ipv4() == self.address.is_ipv4() {
            return true;
        }
        cx.push(wrong_family(at, text.to_string(), ip, self.name.to_string(), self.address, self.prefix_len));
        false
    }
}

/// The error for an address of the other family than its VTEP's.
fn wrong_family(at: KeyPath, value: String, ip: IpAddr, vtep: String, address: IpAddr, len: u8) -> ConfigError {
    ConfigError::WrongFamily { at, value, family: family(ip), vtep, vtep_address: format!("{address}/{len}") }
}

/// A VNI's `remotes` or `allowed_remotes`. `listed` maps each address
/// listed so far (in either list) to where it is. Returns the addresses and
/// whether every element was valid.
fn read_remotes(
    cx: &mut Ctx<'_>,
    t: &Tbl<'_>,
    key: &str,
    local: Option<&Local<'_>>,
    listed: &mut HashMap<IpAddr, String>,
) -> (Vec<IpAddr>, bool) {
    let items = match cx.array(t, key) {
        Ok(Some(items)) => items,
        Ok(None) => return (Vec::new(), true),
        Err(()) => return (Vec::new(), false),
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let key_i = format!("{key}[{i}]");
        let Node::Str(text) = &item.node else {
            cx.wrong_type(t, &key_i, item, "an address like \"192.168.100.2\" or \"fd00::2\"");
            ok = false;
            continue;
        };
        let at = cx.at(t, &key_i, &item.span);
        let ip = match parse_host(text, true) {
            Ok(ip) => ip,
            Err(e) => {
                bad_ip(cx, at, text, e);
                ok = false;
                continue;
            }
        };
        if let Some(l) = local {
            if !l.check_family(cx, at.clone(), text, ip) {
                ok = false;
                continue;
            }
            if ip == l.address {
                cx.push(ConfigError::RemoteIsLocal { at, value: text.clone(), vtep: l.name.to_string() });
                ok = false;
                continue;
            }
            if let Some(reason) = subnet_role(ip, l.address, l.prefix_len) {
                cx.push(ConfigError::BadIp { at, value: text.clone(), family: family(ip), reason });
                ok = false;
                continue;
            }
        }
        if let Some(first) = listed.get(&ip) {
            cx.push(ConfigError::DuplicateRemote { at, value: text.clone(), first: first.clone() });
            ok = false;
            continue;
        }
        listed.insert(ip, format!("{}.{key_i}", t.table));
        out.push(ip);
    }
    (out, ok)
}

fn read_vnis(
    cx: &mut Ctx<'_>,
    top: &Tbl<'_>,
    bridges: &Bridges,
    vteps: &Vteps,
    fdb_statics: &StaticsSeen,
) -> Vec<VniSpec> {
    // (vtep, VNI) -> the first [[vni]] table with it.
    let mut by_vni: HashMap<(usize, u32), usize> = HashMap::new();
    // (bridge, VLAN) -> the first [[vni]] table joining it.
    let mut by_domain: HashMap<(usize, u16), usize> = HashMap::new();
    let mut vnis = Vec::new();
    for t in &cx.tables(top, "vni", "vni") {
        cx.check_keys(t, VNI_KEYS);
        let vni = cx.int(t, "vni", 1, MAX_VNI);
        let vni = cx.required(t, "vni", "every [[vni]] needs its VXLAN network identifier", vni).map(|n| n as u32);
        let vtep = resolve_vtep(cx, t, vteps);
        let bridge = resolve_bridge(cx, t, bridges);
        let vlan = cx.vlan(t, "vlan");
        let vlan = cx.required(t, "vlan", "every [[vni]] needs the VLAN it joins", vlan);
        let vtep_draft = vtep.and_then(|i| vteps.drafts.get(i));
        if let (Some(n), Some(v), Some(d)) = (vni, vtep, vtep_draft) {
            if let Some(&first) = by_vni.get(&(v, n)) {
                let at = cx.at_key(t, "vni");
                let vtep = d.name.clone().unwrap_or_default();
                cx.push(ConfigError::DuplicateVni { at, vni: n, vtep, first });
            } else {
                by_vni.insert((v, n), t.index);
            }
        }
        if let (Some(b), Some(v)) = (bridge, vlan) {
            if let Some(&first) = by_domain.get(&(b, v)) {
                let at = cx.at_key(t, "vlan");
                let bridge = bridges.names.get(b).cloned().flatten().unwrap_or_default();
                cx.push(ConfigError::VniDomainTaken { at, vlan: v, bridge, first });
            } else {
                by_domain.insert((b, v), t.index);
            }
        }

        let local = vtep_draft.and_then(|d| match (&d.name, d.subnet) {
            (Some(name), Some((address, prefix_len))) => Some(Local { name, address, prefix_len }),
            _ => None,
        });
        let mut listed = HashMap::new();
        let (remotes, remotes_ok) = read_remotes(cx, t, "remotes", local.as_ref(), &mut listed);
        let (allowed, allowed_ok) = read_remotes(cx, t, "allowed_remotes", local.as_ref(), &mut listed);
        let lists_ok = remotes_ok && allowed_ok;

        let prefix = format!("{}.static", t.table);
        // MAC -> the first [[vni.static]] table of this VNI with it.
        let mut macs: HashMap<MacAddr, usize> = HashMap::new();
        let mut static_macs = Vec::new();
        for s in &cx.tables(t, "static", &prefix) {
            cx.check_keys(s, VNI_STATIC_KEYS);
            let mac = cx.string(s, "mac");
            let mac = cx
                .required(s, "mac", "every [[vni.static]] needs a mac", mac)
                .and_then(|m| check_mac(cx, s, "mac", &m, MacUse::Static));
            let remote = cx.string(s, "remote");
            let why = "every [[vni.static]] needs the remote VTEP the MAC sits behind";
            let remote = cx.required(s, "remote", why, remote).and_then(|text| match parse_host(&text, true) {
                Ok(ip) if local.as_ref().is_some_and(|l| !l.check_family(cx, cx.at_key(s, "remote"), &text, ip)) => {
                    None
                }
                Ok(ip) if lists_ok && !listed.contains_key(&ip) => {
                    let at = cx.at_key(s, "remote");
                    cx.push(ConfigError::UnknownRemote { at, value: text, vni: t.table.clone() });
                    None
                }
                Ok(ip) => Some(ip),
                Err(e) => {
                    let at = cx.at_key(s, "remote");
                    bad_ip(cx, at, &text, e);
                    None
                }
            });
            let Some(mac) = mac else { continue };
            if let Some(&first) = macs.get(&mac) {
                let at = cx.at_key(s, "mac");
                cx.push(ConfigError::DuplicateRemoteMac {
                    at,
                    mac: mac.to_string(),
                    first: format!("{prefix}[{first}]"),
                });
                continue;
            }
            macs.insert(mac, s.index);
            if let (Some(b), Some(v)) = (bridge, vlan) {
                if let Some(&first) = fdb_statics.get(&(b, v, mac)) {
                    let at = cx.at_key(s, "mac");
                    cx.push(ConfigError::DuplicateStaticMac { at, mac: mac.to_string(), vlan: v, first });
                    continue;
                }
            }
            if let Some(remote) = remote {
                static_macs.push(RemoteMacSpec { mac, remote });
            }
        }
        let encap = match cx.choice(t, "encap", ENCAPS) {
            Ok(Some("geneve")) => Encap::Geneve,
            _ => Encap::Vxlan,
        };
        let geneve_options = read_options(cx, t, encap);
        let group = read_group(cx, t, local.as_ref());
        let learning = !matches!(cx.boolean(t, "learning"), Ok(Some(false)));
        let inner_vlan = match cx.choice(t, "inner_vlan", INNER_VLANS) {
            Ok(Some("strip")) => InnerVlan::Strip,
            _ => InnerVlan::Drop,
        };
        let (arp_suppression, arp_static) = read_arp_suppression(cx, t);
        vnis.push(VniSpec {
            arp_suppression,
            arp_static,
            vni: vni.unwrap_or(0),
            vtep: vtep.unwrap_or(0),
            bridge: bridge.unwrap_or(0),
            vlan: VlanId(vlan.unwrap_or(VlanId::MIN)),
            remotes,
            allowed,
            static_macs,
            group,
            no_learning: !learning,
            encap,
            geneve_options,
            inner_vlan,
        });
    }
    vnis
}

/// `[[vni.arp]]` bindings: (address, MAC).
type ArpStatics = Vec<(Ipv4Addr, MacAddr)>;

/// A VNI's `arp_suppression` subnet (a prefix of 16 to 32 bits, host bits
/// zero) and its `[[vni.arp]]` static bindings, which must be in it.
fn read_arp_suppression(cx: &mut Ctx<'_>, t: &Tbl<'_>) -> (Option<(Ipv4Addr, u8)>, ArpStatics) {
    let subnet = match cx.string(t, "arp_suppression") {
        Ok(Some(text)) => match parse_prefix(&text, ARP_V4) {
            Ok((net, len)) if len >= 16 => Some((net, len)),
            Ok(_) => {
                let at = cx.at_key(t, "arp_suppression");
                let reason = "the subnet must be /16 or longer (xvs keeps one slot per address)".to_string();
                cx.push(ConfigError::BadIp { at, value: text, family: "IPv4", reason });
                None
            }
            Err(e) => {
                let at = cx.at_key(t, "arp_suppression");
                bad_ip(cx, at, &text, e);
                None
            }
        },
        _ => None,
    };
    let prefix = format!("{}.arp", t.table);
    let mut statics = Vec::new();
    for a in &cx.tables(t, "arp", &prefix) {
        cx.check_keys(a, VNI_ARP_KEYS);
        let ip = cx.string(a, "ip");
        let ip = cx.required(a, "ip", "every [[vni.arp]] needs the host's ip", ip);
        let mac = cx.string(a, "mac");
        let mac = cx.required(a, "mac", "every [[vni.arp]] needs the host's mac", mac);
        let mac = mac.and_then(|m| check_mac(cx, a, "mac", &m, MacUse::Static));
        let ip = ip.and_then(|text| match parse_host4(&text, false, ARP_V4) {
            Ok(ip) => match subnet {
                Some((net, len)) if in_subnet(IpAddr::V4(ip), IpAddr::V4(net), len) => Some(ip),
                Some((net, len)) => {
                    let at = cx.at_key(a, "ip");
                    let reason =
                        format!("not in the VNI's arp_suppression subnet {}", subnet_text(IpAddr::V4(net), len));
                    cx.push(ConfigError::BadIp { at, value: text, family: "IPv4", reason });
                    None
                }
                None => {
                    let at = cx.at_key(a, "ip");
                    let reason = "[[vni.arp]] needs the VNI's arp_suppression subnet".to_string();
                    cx.push(ConfigError::BadIp { at, value: text, family: "IPv4", reason });
                    None
                }
            },
            Err(e) => {
                let at = cx.at_key(a, "ip");
                bad_ip(cx, at, &text, e);
                None
            }
        });
        if let (Some(ip), Some(mac)) = (ip, mac) {
            statics.push((ip, mac));
        }
    }
    (subnet, statics)
}

/// A VNI's `group`: a multicast address of its VTEP's family whose scope
/// reaches beyond the link (link-local groups are for routing protocols,
/// never flooded data).
fn read_group(cx: &mut Ctx<'_>, t: &Tbl<'_>, local: Option<&Local<'_>>) -> Option<IpAddr> {
    let text = match cx.string(t, "group") {
        Ok(Some(text)) => text,
        _ => return None,
    };
    let at = cx.at_key(t, "group");
    let group = match text.parse::<IpAddr>() {
        Ok(g) => g,
        Err(_) => {
            let reason = "expected a multicast address like 239.1.1.1 or ff05::100".to_string();
            cx.push(ConfigError::BadIp { at, value: text, family: "IP", reason });
            return None;
        }
    };
    if let Some(reason) = not_a_group(group) {
        cx.push(ConfigError::BadIp { at, value: text, family: family(group), reason: reason.into() });
        return None;
    }
    if local.is_some_and(|l| !l.check_family(cx, at, &text, group)) {
        return None;
    }
    Some(group)
}

/// A VNI's `[[vni.option]]` tables: the Geneve options it sends.
fn read_options(cx: &mut Ctx<'_>, t: &Tbl<'_>, encap: Encap) -> Vec<GeneveOptionSpec> {
    let prefix = format!("{}.option", t.table);
    let tables = cx.tables(t, "option", &prefix);
    if encap != Encap::Geneve {
        if let Some(first) = tables.first() {
            let at = cx.at(first, "", &first.span);
            cx.push(ConfigError::OptionsNeedGeneve { at, encap: "vxlan".into() });
        }
        return Vec::new();
    }
    let mut options = Vec::new();
    for o in &tables {
        cx.check_keys(o, VNI_OPTION_KEYS);
        let class = cx.int(o, "class", 0, 0xffff);
        let class = cx.required(o, "class", "every [[vni.option]] needs its option class, 0..=65535", class);
        let option_type = cx.int(o, "type", 0, 0xff);
        let why = "every [[vni.option]] needs its type, 0..=255 (128 and up are critical)";
        let option_type = cx.required(o, "type", why, option_type);
        let data = match cx.string(o, "data") {
            Ok(Some(text)) => match parse_option_data(&text) {
                Ok(d) => Some(d),
                Err(reason) => {
                    let at = cx.at_key(o, "data");
                    cx.push(ConfigError::BadOptionData { at, value: text, reason });
                    None
                }
            },
            _ => Some(Vec::new()),
        };
        if let (Some(class), Some(option_type), Some(data)) = (class, option_type, data) {
            options.push(GeneveOptionSpec { class: class as u16, option_type: option_type as u8, data });
        }
    }
    let bytes: usize = options.iter().map(|o| 4 + o.data.len()).sum();
    if bytes > MAX_OPTIONS_BYTES {
        let at = cx.at(t, "", &t.span);
        cx.push(ConfigError::TooManyOptions { at, bytes, max: MAX_OPTIONS_BYTES });
    }
    options
}

/// Bytes of options a Geneve header holds (a 6-bit count of 4-byte words).
const MAX_OPTIONS_BYTES: usize = 63 * 4;
/// Bytes of data one option holds (a 5-bit count of 4-byte words).
const MAX_OPTION_DATA: usize = 31 * 4;

/// Option data written as hex, optionally with a `0x` prefix: whole 4-byte
/// words, at most 124 bytes.
fn parse_option_data(text: &str) -> Result<Vec<u8>, String> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    if !hex.len().is_multiple_of(8) {
        return Err(format!("{} hex digits: option data is whole 4-byte words (8 hex digits each)", hex.len()));
    }
    if hex.len() / 2 > MAX_OPTION_DATA {
        return Err(format!("{} bytes: an option holds at most {MAX_OPTION_DATA}", hex.len() / 2));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("{:?} is not a hex byte", hex.get(i..i + 2).unwrap_or(&hex[i..])))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_data() {
        assert_eq!(parse_option_data("0x1234abcd"), Ok(vec![0x12, 0x34, 0xab, 0xcd]));
        assert_eq!(parse_option_data(""), Ok(vec![]));
        assert!(parse_option_data("123").unwrap_err().contains("whole 4-byte words"));
        assert!(parse_option_data("1234567g").unwrap_err().contains("not a hex byte"));
        assert!(parse_option_data(&"00".repeat(128)).unwrap_err().contains("at most 124"));
    }

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("49152-65535"), Ok((49152, 65535)));
        assert_eq!(parse_port_range(" 1 - 1 "), Ok((1, 1)));
        for (text, want) in [
            ("49152", "expected LO-HI"),
            ("0-10", "port 0 is outside 1..=65535"),
            ("1-65536", "port 65536 is outside"),
            ("10-5", "range 10-5 is reversed (write 5-10)"),
            ("-5", "\"\" is not a port number"),
            ("1-2-3", "\"2-3\" is not a port number"),
            ("a-b", "\"a\" is not a port number"),
            ("1-99999999999", "outside"),
        ] {
            let err = parse_port_range(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
