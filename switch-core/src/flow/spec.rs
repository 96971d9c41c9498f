//! The rule language: one text form for the config file, the API and the
//! CLI, in the spirit of `ovs-ofctl`'s flow syntax.
//!
//! A match is a comma-separated list of `field=value` and protocol
//! shorthands (`tcp`, `udp6`, `arp`...); an empty match (or `any`) matches
//! every frame. Actions are `drop`, `allow` or `output:PORT`, optionally with
//! `mirror:PORT` in front. Parsing checks everything that can be checked
//! without the switch's ports (widths, prerequisites such as "`tp_dst`
//! needs `tcp` or `udp`"), and [`Display`](core::fmt::Display) prints the
//! canonical form, which parses back to the same value.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::MacAddr;
use crate::wire::{tcp, EtherType, IpProtocol};

/// Why a rule's text was refused: says which part and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// An inclusive range of L4 ports (or ICMP types or codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// Lowest value matched.
    pub lo: u16,
    /// Highest value matched.
    pub hi: u16,
}

impl PortRange {
    /// The range as (value, mask) prefixes that cover exactly it: at most
    /// 30 of them for a 16-bit range.
    pub fn prefixes(self) -> Vec<(u16, u16)> {
        let (mut lo, hi) = (self.lo as u32, self.hi as u32);
        let mut out = Vec::new();
        while lo <= hi {
            // The largest aligned block starting at `lo` that ends by `hi`.
            let mut size = if lo == 0 { 1u32 << 16 } else { 1u32 << lo.trailing_zeros().min(16) };
            while lo + size - 1 > hi {
                size >>= 1;
            }
            out.push((lo as u16, !((size - 1) as u16)));
            lo += size;
        }
        out
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// An address with a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPrefix {
    /// The address, with its host bits cleared.
    pub addr: IpAddr,
    /// Prefix length: 0-32 for IPv4, 0-128 for IPv6.
    pub len: u8,
}

impl IpPrefix {
    fn parse(key: &str, v: &str) -> Result<IpPrefix, SpecError> {
        let (a, len) = match v.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (v, None),
        };
        let addr: IpAddr = a.parse().or_else(|_| err(format!("{key}: {a:?} is not an IPv4 or IPv6 address")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return err(format!("{key}: prefix length {l:?} is not 0-{max}")),
            },
        };
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & prefix_mask32(len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & prefix_mask128(len))),
        };
        Ok(IpPrefix { addr, len })
    }
}

/// The mask of an IPv4 prefix of `len` bits.
pub fn prefix_mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

/// The mask of an IPv6 prefix of `len` bits.
pub fn prefix_mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.len == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// A MAC address with a mask (all ones when none was given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacMatch {
    /// The address, with the bits outside the mask cleared.
    pub addr: MacAddr,
    /// Which bits must match.
    pub mask: MacAddr,
}

impl MacMatch {
    fn parse(key: &str, v: &str) -> Result<MacMatch, SpecError> {
        let mac = |s: &str| s.parse::<MacAddr>().or_else(|_| err(format!("{key}: {s:?} is not a MAC address")));
        let (addr, mask) = match v.split_once('/') {
            Some((a, m)) => (mac(a)?, mac(m)?),
            None => (mac(v)?, MacAddr::BROADCAST),
        };
        Ok(MacMatch { addr: MacAddr::from_u64(addr.to_u64() & mask.to_u64()), mask })
    }
}

impl fmt::Display for MacMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mask == MacAddr::BROADCAST {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.mask)
        }
    }
}

/// What a rule matches. `None` fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowMatch {
    /// Ingress port, by name.
    pub in_port: Option<String>,
    /// VLAN id (the outer tag's, or the ingress port's untagged VLAN).
    pub vlan: Option<u16>,
    /// Source MAC.
    pub dl_src: Option<MacMatch>,
    /// Destination MAC.
    pub dl_dst: Option<MacMatch>,
    /// EtherType (after one VLAN tag).
    pub dl_type: Option<u16>,
    /// IPv4 or IPv6 source prefix (ARP: the sender's address).
    pub nw_src: Option<IpPrefix>,
    /// IPv4 or IPv6 destination prefix (ARP: the target's address).
    pub nw_dst: Option<IpPrefix>,
    /// IP protocol (ARP: the opcode).
    pub nw_proto: Option<u8>,
    /// DSCP, 0-63.
    pub ip_dscp: Option<u8>,
    /// L4 source port range (ICMP: the type).
    pub tp_src: Option<PortRange>,
    /// L4 destination port range (ICMP: the code).
    pub tp_dst: Option<PortRange>,
    /// TCP flags: (value, mask) over the 12 flag bits.
    pub tcp_flags: Option<(u16, u16)>,
}

/// The shorthands, as (name, EtherType, IP protocol).
const SHORTHANDS: &[(&str, u16, Option<u8>)] = &[
    ("ip", EtherType::IPV4, None),
    ("ipv6", EtherType::IPV6, None),
    ("arp", EtherType::ARP, None),
    ("tcp", EtherType::IPV4, Some(IpProtocol::TCP)),
    ("udp", EtherType::IPV4, Some(IpProtocol::UDP)),
    ("icmp", EtherType::IPV4, Some(IpProtocol::ICMP)),
    ("tcp6", EtherType::IPV6, Some(IpProtocol::TCP)),
    ("udp6", EtherType::IPV6, Some(IpProtocol::UDP)),
    ("icmp6", EtherType::IPV6, Some(IpProtocol::ICMPV6)),
];

/// TCP flag names in `tcp_flags=+syn-ack` form.
const TCP_FLAGS: &[(&str, u16)] = &[
    ("fin", tcp::flags::FIN),
    ("syn", tcp::flags::SYN),
    ("rst", tcp::flags::RST),
    ("psh", tcp::flags::PSH),
    ("ack", tcp::flags::ACK),
    ("urg", tcp::flags::URG),
    ("ece", tcp::flags::ECE),
    ("cwr", tcp::flags::CWR),
];

fn parse_num<T: TryFrom<u64>>(key: &str, v: &str, max: u64) -> Result<T, SpecError> {
    let n = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse::<u64>().ok(),
    };
    match n.filter(|&n| n <= max).and_then(|n| T::try_from(n).ok()) {
        Some(n) => Ok(n),
        None => err(format!("{key}: {v:?} is not a number from 0 to {max}")),
    }
}

fn parse_range(key: &str, v: &str) -> Result<PortRange, SpecError> {
    let (lo, hi) = match v.split_once('-') {
        Some((a, b)) => (parse_num(key, a, 65535)?, parse_num(key, b, 65535)?),
        None => {
            let n = parse_num(key, v, 65535)?;
            (n, n)
        }
    };
    if lo > hi {
        return err(format!("{key}: range {v:?} ends before it starts"));
    }
    Ok(PortRange { lo, hi })
}

fn parse_tcp_flags(v: &str) -> Result<(u16, u16), SpecError> {
    if v.starts_with('+') || v.starts_with('-') {
        let (mut value, mut mask) = (0u16, 0u16);
        let mut rest = v;
        while let Some(sign) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['+', '-']).unwrap_or(body.len());
            let name = &body[..end];
            let Some(&(_, bit)) = TCP_FLAGS.iter().find(|(n, _)| *n == name) else {
                let names: Vec<_> = TCP_FLAGS.iter().map(|(n, _)| *n).collect();
                return err(format!("tcp_flags: unknown flag {name:?} (one of {})", names.join(", ")));
            };
            if sign != '+' && sign != '-' {
                return err(format!("tcp_flags: expected + or - before {name:?}"));
            }
            mask |= bit;
            if sign == '+' {
                value |= bit;
            }
            rest = &body[end..];
        }
        return Ok((value, mask));
    }
    let (value, mask): (u16, u16) = match v.split_once('/') {
        Some((a, m)) => (parse_num("tcp_flags", a, 0xfff)?, parse_num("tcp_flags", m, 0xfff)?),
        None => (parse_num("tcp_flags", v, 0xfff)?, tcp::flags::ALL),
    };
    Ok((value & mask, mask))
}

fn set_once<T: PartialEq + fmt::Debug>(slot: &mut Option<T>, key: &str, v: T) -> Result<(), SpecError> {
    match slot {
        Some(old) if *old != v => err(format!("{key} is given twice, as {old:?} and {v:?}")),
        _ => {
            *slot = Some(v);
            Ok(())
        }
    }
}

impl FromStr for FlowMatch {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<FlowMatch, SpecError> {
        let mut m = FlowMatch::default();
        let s = s.trim();
        if s.is_empty() || s == "any" {
            return Ok(m);
        }
        for tok in s.split(',').map(str::trim) {
            if tok.is_empty() {
                return err("empty field in the match (two commas in a row?)");
            }
            let Some((key, v)) = tok.split_once('=') else {
                let Some(&(_, ty, proto)) = SHORTHANDS.iter().find(|(n, _, _)| *n == tok) else {
                    let names: Vec<_> = SHORTHANDS.iter().map(|(n, _, _)| *n).collect();
                    return err(format!("{tok:?} is neither field=value nor a protocol ({}, any)", names.join(", ")));
                };
                set_once(&mut m.dl_type, "dl_type", ty)?;
                if let Some(p) = proto {
                    set_once(&mut m.nw_proto, "nw_proto", p)?;
                }
                continue;
            };
            let (key, v) = (key.trim(), v.trim());
            match key {
                "in_port" => set_once(&mut m.in_port, key, v.to_string())?,
                "vlan" | "dl_vlan" => set_once(&mut m.vlan, "vlan", parse_num(key, v, 4095)?)?,
                "vni" | "tun_id" => {
                    return err(format!(
                        "{key}: matching the VNI needs a per-VNI table, which this version does not have; \
                         match on the ingress port's rules instead"
                    ))
                }
                "dl_src" => set_once(&mut m.dl_src, key, MacMatch::parse(key, v)?)?,
                "dl_dst" => set_once(&mut m.dl_dst, key, MacMatch::parse(key, v)?)?,
                "dl_type" => set_once(&mut m.dl_type, key, parse_num(key, v, 0xffff)?)?,
                "nw_src" | "ipv6_src" | "arp_spa" => set_once(&mut m.nw_src, "nw_src", IpPrefix::parse(key, v)?)?,
                "nw_dst" | "ipv6_dst" | "arp_tpa" => set_once(&mut m.nw_dst, "nw_dst", IpPrefix::parse(key, v)?)?,
                "nw_proto" | "arp_op" => set_once(&mut m.nw_proto, "nw_proto", parse_num(key, v, 255)?)?,
                "ip_dscp" => set_once(&mut m.ip_dscp, key, parse_num(key, v, 63)?)?,
                "tp_src" | "icmp_type" => set_once(&mut m.tp_src, "tp_src", parse_range(key, v)?)?,
                "tp_dst" | "icmp_code" => set_once(&mut m.tp_dst, "tp_dst", parse_range(key, v)?)?,
                "tcp_flags" => set_once(&mut m.tcp_flags, key, parse_tcp_flags(v)?)?,
                _ => {
                    return err(format!(
                        "unknown match field {key:?} (in_port, vlan, dl_src, dl_dst, dl_type, nw_src, nw_dst, \
                         nw_proto, ip_dscp, tp_src, tp_dst, tcp_flags)"
                    ))
                }
            }
        }
        m.check_prerequisites()?;
        Ok(m)
    }
}

impl FlowMatch {
    /// Fills in the EtherType an address implies and refuses fields whose
    /// protocol the match does not pin down, as OpenFlow does: `tp_dst=80`
    /// alone would otherwise also match UDP, or the bytes of any protocol.
    fn check_prerequisites(&mut self) -> Result<(), SpecError> {
        for (key, p) in [("nw_src", self.nw_src), ("nw_dst", self.nw_dst)] {
            let Some(p) = p else { continue };
            let implied = if p.addr.is_ipv4() { EtherType::IPV4 } else { EtherType::IPV6 };
            match self.dl_type {
                None => self.dl_type = Some(implied),
                Some(EtherType::ARP) if p.addr.is_ipv4() => {}
                Some(t) if t == implied => {}
                Some(t) => return err(format!("{key}={p} does not fit dl_type=0x{t:04x}")),
            }
        }
        let ip = matches!(self.dl_type, Some(EtherType::IPV4 | EtherType::IPV6));
        if self.nw_proto.is_some() && !ip && self.dl_type != Some(EtherType::ARP) {
            return err("nw_proto needs ip, ipv6 or arp in the match (e.g. ip,nw_proto=47)");
        }
        if self.ip_dscp.is_some() && !ip {
            return err("ip_dscp needs ip or ipv6 in the match (e.g. ip,ip_dscp=46)");
        }
        let l4 = ip
            && matches!(self.nw_proto, Some(IpProtocol::TCP | IpProtocol::UDP | IpProtocol::ICMP | IpProtocol::ICMPV6));
        if (self.tp_src.is_some() || self.tp_dst.is_some()) && !l4 {
            return err("tp_src and tp_dst need tcp, udp, icmp or their IPv6 forms in the match (e.g. tcp,tp_dst=80)");
        }
        if self.tcp_flags.is_some() && !(ip && self.nw_proto == Some(IpProtocol::TCP)) {
            return err("tcp_flags needs tcp or tcp6 in the match");
        }
        Ok(())
    }
}

impl fmt::Display for FlowMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.in_port {
            parts.push(format!("in_port={p}"));
        }
        if let Some(v) = self.vlan {
            parts.push(format!("vlan={v}"));
        }
        if let Some(m) = self.dl_src {
            parts.push(format!("dl_src={m}"));
        }
        if let Some(m) = self.dl_dst {
            parts.push(format!("dl_dst={m}"));
        }
        let short =
            SHORTHANDS.iter().rev().find(|(_, t, p)| Some(*t) == self.dl_type && (p.is_none() || *p == self.nw_proto));
        match (short, self.dl_type) {
            (Some((name, _, proto)), _) => {
                parts.push(name.to_string());
                if proto.is_none() {
                    if let Some(p) = self.nw_proto {
                        parts.push(format!("nw_proto={p}"));
                    }
                }
            }
            (None, Some(t)) => {
                parts.push(format!("dl_type=0x{t:04x}"));
                if let Some(p) = self.nw_proto {
                    parts.push(format!("nw_proto={p}"));
                }
            }
            (None, None) => {}
        }
        if let Some(p) = self.nw_src {
            parts.push(format!("nw_src={p}"));
        }
        if let Some(p) = self.nw_dst {
            parts.push(format!("nw_dst={p}"));
        }
        if let Some(d) = self.ip_dscp {
            parts.push(format!("ip_dscp={d}"));
        }
        if let Some(r) = self.tp_src {
            parts.push(format!("tp_src={r}"));
        }
        if let Some(r) = self.tp_dst {
            parts.push(format!("tp_dst={r}"));
        }
        if let Some((v, m)) = self.tcp_flags {
            parts.push(format!("tcp_flags=0x{v:03x}/0x{m:03x}"));
        }
        if parts.is_empty() {
            f.write_str("any")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

/// What happens to a matched frame after its mirror copy (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on through the switch as if no rule had matched.
    Allow,
    /// Drop it, counted as `acl_drop`.
    Drop,
    /// Send it, as received, to this port instead of switching it.
    Output(String),
}

/// A rule's actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowActions {
    /// A port that gets an exact copy of the frame as received (SPAN).
    pub mirror: Option<String>,
    /// What then happens to the frame itself.
    pub verdict: Verdict,
}

impl FromStr for FlowActions {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<FlowActions, SpecError> {
        let (mut mirror, mut verdict) = (None, None);
        for tok in s.split(',').map(str::trim) {
            let (name, arg) = match tok.split_once(':') {
                Some((n, a)) => (n.trim(), Some(a.trim())),
                None => (tok, None),
            };
            let port = |arg: Option<&str>| match arg {
                Some(p) if !p.is_empty() => Ok(p.to_string()),
                _ => err(format!("{name} needs a port: {name}:PORT")),
            };
            let v = match name {
                "drop" => Verdict::Drop,
                "allow" | "normal" => Verdict::Allow,
                "output" => Verdict::Output(port(arg)?),
                "mirror" => {
                    if mirror.replace(port(arg)?).is_some() {
                        return err("at most one mirror action per rule");
                    }
                    continue;
                }
                "" => return err("no action given (drop, allow, output:PORT, mirror:PORT)"),
                "push_vlan" | "pop_vlan" | "set_vlan" | "mod_vlan_vid" | "strip_vlan" | "set_field" | "set_meta" => {
                    return err(format!("{name}: this version has no VLAN or metadata actions yet"))
                }
                _ => return err(format!("unknown action {name:?} (drop, allow, output:PORT, mirror:PORT)")),
            };
            if arg.is_some() && !matches!(v, Verdict::Output(_)) {
                return err(format!("{name} takes no argument"));
            }
            if verdict.replace(v).is_some() {
                return err("only one of drop, allow and output per rule");
            }
        }
        Ok(FlowActions { mirror, verdict: verdict.unwrap_or(Verdict::Allow) })
    }
}

impl fmt::Display for FlowActions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.mirror {
            write!(f, "mirror:{m},")?;
        }
        match &self.verdict {
            Verdict::Allow => f.write_str("allow"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Output(p) => write!(f, "output:{p}"),
        }
    }
}

/// Which table a rule belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowTable {
    /// The frames a port receives, before they are learned or switched.
    Ingress(String),
}

impl FlowTable {
    /// The port the table belongs to.
    pub fn port(&self) -> &str {
        match self {
            FlowTable::Ingress(p) => p,
        }
    }
}

impl fmt::Display for FlowTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowTable::Ingress(p) => write!(f, "ingress:{p}"),
        }
    }
}

impl FromStr for FlowTable {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<FlowTable, SpecError> {
        match s.split_once(':') {
            Some(("ingress", p)) if !p.is_empty() => Ok(FlowTable::Ingress(p.to_string())),
            Some(("egress", _)) => {
                err("egress tables are not supported yet: use the ingress table of the port the frames arrive on")
            }
            _ => err(format!("table {s:?}: expected ingress:PORT")),
        }
    }
}

/// OpenFlow's default priority, for rules that give none.
pub const DEFAULT_PRIORITY: u16 = 32768;

/// One rule as an operator writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRule {
    /// Its table.
    pub table: FlowTable,
    /// Higher wins; among equals, the older rule (lower id).
    pub priority: u16,
    /// What it matches.
    pub matches: FlowMatch,
    /// What it does.
    pub actions: FlowActions,
}

impl fmt::Display for FlowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table={} priority={} match={} actions={}", self.table, self.priority, self.matches, self.actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> FlowMatch {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) -> String {
        s.parse::<FlowMatch>().expect_err(s).0
    }

    #[test]
    fn shorthands_and_fields_round_trip() {
        for s in [
            "any",
            "in_port=p1,vlan=10,dl_src=02:00:00:00:00:01,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
            "tcp,nw_src=10.0.0.0/8,nw_dst=10.1.2.3,tp_dst=5201",
            "udp6,nw_src=fd00::/64,tp_src=1000-2000",
            "arp,nw_proto=1,nw_dst=192.0.2.1",
            "ip,nw_proto=47,ip_dscp=46",
            "dl_type=0x88cc",
            "tcp,tcp_flags=0x002/0x012",
            "icmp,tp_src=8",
        ] {
            let parsed = m(s);
            assert_eq!(parsed.to_string(), s, "canonical form of {s}");
            assert_eq!(m(&parsed.to_string()), parsed);
        }
    }

    #[test]
    fn aliases_and_implications() {
        assert_eq!(m("nw_src=10.0.0.1/24").to_string(), "ip,nw_src=10.0.0.0/24");
        assert_eq!(m("ipv6_dst=fd00::1").to_string(), "ipv6,nw_dst=fd00::1");
        assert_eq!(m("tcp,tcp_flags=+syn-ack").tcp_flags, Some((0x002, 0x012)));
        assert_eq!(m("dl_vlan=7,ip,ip_dscp=0x2e").to_string(), "vlan=7,ip,ip_dscp=46");
        assert_eq!(m(""), FlowMatch::default());
    }

    #[test]
    fn clear_errors() {
        assert!(bad("tp_dst=80").contains("tcp,tp_dst=80"));
        assert!(bad("vlan=4096").contains("0 to 4095"));
        assert!(bad("nw_src=10.0.0.1/33").contains("0-32"));
        assert!(bad("ipv6,nw_src=10.0.0.1").contains("does not fit"));
        assert!(bad("tcp,udp").contains("twice"));
        assert!(bad("tp_dst=80-70,tcp").contains("ends before"));
        assert!(bad("colour=red").contains("unknown match field"));
        assert!(bad("udp,tcp_flags=+syn").contains("tcp_flags needs"));
        assert!(bad("tcp,tcp_flags=+sin").contains("unknown flag"));
        assert!(bad("vni=5").contains("per-VNI table"));
        assert!(bad("tcp,,").contains("empty field"));
    }

    #[test]
    fn actions() {
        let a: FlowActions = "mirror:p3, drop".parse().unwrap();
        assert_eq!(a, FlowActions { mirror: Some("p3".into()), verdict: Verdict::Drop });
        assert_eq!(a.to_string(), "mirror:p3,drop");
        assert_eq!("mirror:p3".parse::<FlowActions>().unwrap().verdict, Verdict::Allow);
        assert_eq!("output:p2".parse::<FlowActions>().unwrap().verdict, Verdict::Output("p2".into()));
        for (s, why) in [
            ("drop,allow", "only one"),
            ("mirror:a,mirror:b", "one mirror"),
            ("output", "needs a port"),
            ("drop:x", "no argument"),
            ("flood", "unknown action"),
            ("", "no action"),
            ("push_vlan:0x8100", "no VLAN"),
        ] {
            let e = s.parse::<FlowActions>().expect_err(s).0;
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn ranges_cover_exactly() {
        for (lo, hi) in [(0, 65535), (1000, 2000), (80, 80), (1, 65534), (0, 0), (65535, 65535), (1024, 65535)] {
            let r = PortRange { lo, hi };
            let p = r.prefixes();
            assert!(p.len() <= 30, "{r}: {}", p.len());
            for v in (0..=65535u32).step_by(7).chain([lo as u32, hi as u32, lo.saturating_sub(1) as u32, hi as u32 + 1])
            {
                let Ok(v) = u16::try_from(v) else { continue };
                let inside = (lo..=hi).contains(&v);
                let covered = p.iter().filter(|(val, mask)| v & mask == *val).count();
                assert_eq!(covered, inside as usize, "{r} at {v}");
            }
        }
    }
}
