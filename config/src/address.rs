//! IP addresses as the overlay sections write them: hosts, addresses with a
//! prefix length, route prefixes, and the subnet arithmetic that checks a
//! gateway or a remote against its VTEP.
//!
//! Underlay keys (a VTEP's address and gateway, a VNI's remotes and group)
//! take IPv4 or IPv6; the VLAN gateway and Calico's IP-in-IP routes take
//! IPv4 only. Subnets are computed on a `u128` holding the address
//! right-aligned, so one set of functions serves both families.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{ConfigError, KeyPath};
use crate::tree::Ctx;

/// Why a text is not a usable address.
#[derive(Debug)]
pub(crate) enum BadIp {
    /// An IPv6 address where the key takes IPv4 only; says why.
    V6(&'static str),
    /// Anything else.
    Reason(String),
}

impl From<String> for BadIp {
    fn from(reason: String) -> Self {
        BadIp::Reason(reason)
    }
}

/// What `text` (an address, perhaps with `/len`) is, for messages.
fn family_of_text(text: &str) -> &'static str {
    let addr = text.split_once('/').map_or(text, |(a, _)| a);
    match addr.parse::<IpAddr>() {
        Ok(ip) => family(ip),
        Err(_) => "IP",
    }
}

/// `IPv4` or `IPv6`.
pub(crate) fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Reports `text` (at `at`) as a bad address.
pub(crate) fn bad_ip(cx: &mut Ctx<'_>, at: KeyPath, text: &str, e: BadIp) {
    let value = text.to_string();
    cx.push(match e {
        BadIp::V6(why) => ConfigError::Ipv4Only { at, value, why },
        BadIp::Reason(reason) => ConfigError::BadIp { at, value, family: family_of_text(text), reason },
    });
}

/// Parses either family; `v4_only` keys say so in their message.
fn parse_ip(text: &str, v4_only: bool) -> Result<IpAddr, String> {
    text.parse::<IpAddr>().map_err(|_| {
        if v4_only {
            "expected four decimal bytes like 192.168.100.2".to_string()
        } else {
            "expected an IPv4 address like 192.168.100.2 or an IPv6 address like fd00::2".to_string()
        }
    })
}

/// Why `ip` cannot be a host's address on the underlay, if it cannot.
fn not_a_host(ip: IpAddr, remote: bool) -> Option<&'static str> {
    if ip.is_multicast() && remote {
        return Some("a multicast group cannot be a remote VTEP (set it as the VNI's `group`)");
    }
    if ip.is_multicast() {
        return Some("a multicast (group) address is no host's address");
    }
    if ip.is_loopback() {
        return Some("a loopback address never reaches the underlay");
    }
    match ip {
        IpAddr::V4(a) if a.is_unspecified() => Some("0.0.0.0 is no host's address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address is no host's address"),
        IpAddr::V6(a) if a.is_unspecified() => Some(":: is no host's address"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address; write the IPv4 address itself")
        }
        // A link-local address means nothing without the interface it is
        // scoped to, and the kernel's vxlan device needs one to use it.
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => {
            Some("a link-local address (fe80::/10) is only unique on one link; give the underlay a global or unique-local (fd00::/8) address")
        }
        _ => None,
    }
}

/// A host address such as `192.168.100.2` or `fd00::2`.
pub(crate) fn parse_host(text: &str, remote: bool) -> Result<IpAddr, BadIp> {
    let ip = parse_ip(text, false)?;
    match not_a_host(ip, remote) {
        Some(reason) => Err(BadIp::Reason(reason.to_string())),
        None => Ok(ip),
    }
}

/// An IPv4 host, for keys that take nothing else; `why` says why.
pub(crate) fn parse_host4(text: &str, remote: bool, why: &'static str) -> Result<Ipv4Addr, BadIp> {
    let ip = parse_ip(text, true)?;
    if let Some(reason) = not_a_host(ip, remote) {
        return Err(BadIp::Reason(reason.to_string()));
    }
    match ip {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(BadIp::V6(why)),
    }
}

/// Bits in an address of `ip`'s family.
fn width(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// The address right-aligned in a `u128`.
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address of `ip`'s family with these bits.
fn from_bits(like: IpAddr, b: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(b as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(b)),
    }
}

/// The netmask of a prefix length in a family `width` bits wide.
fn mask(len: u8, width: u8) -> u128 {
    let all = u128::MAX >> (128 - u32::from(width));
    all & !all.checked_shr(u32::from(len)).unwrap_or(0)
}

/// An address with its prefix length, such as `192.168.100.1/24` or
/// `fd00::1/64`.
pub(crate) fn parse_cidr(text: &str) -> Result<(IpAddr, u8), BadIp> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        let reason = "expected an address with a prefix length like 192.168.100.1/24 or fd00::1/64";
        return Err(BadIp::Reason(reason.to_string()));
    };
    let Some(prefix) = prefix else {
        let example = if ip.is_ipv4() { 24 } else { 64 };
        return Err(BadIp::Reason(format!("the prefix length is missing (as in {ip}/{example})")));
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadIp::Reason(format!("the prefix length {prefix:?} is not a number")));
    }
    let w = width(ip);
    let len = match prefix.parse::<u32>() {
        Ok(n) if (1..=u32::from(w)).contains(&n) => n as u8,
        _ => return Err(BadIp::Reason(format!("the prefix length {prefix} is outside 1..={w}"))),
    };
    if let Some(reason) = not_a_host(ip, false) {
        return Err(BadIp::Reason(reason.to_string()));
    }
    if let Some(reason) = subnet_role(ip, ip, len) {
        return Err(BadIp::Reason(reason));
    }
    Ok((ip, len))
}

/// An IPv4 address with its prefix length, for keys that take nothing else.
pub(crate) fn parse_cidr4(text: &str, why: &'static str) -> Result<(Ipv4Addr, u8), BadIp> {
    match parse_cidr(text)? {
        (IpAddr::V4(a), len) => Ok((a, len)),
        (IpAddr::V6(_), _) => Err(BadIp::V6(why)),
    }
}

/// A route's `prefix`: an IPv4 network address with its prefix length,
/// host bits zero.
pub(crate) fn parse_prefix(text: &str, why: &'static str) -> Result<(Ipv4Addr, u8), BadIp> {
    let Some((a, l)) = text.split_once('/') else {
        return Err(BadIp::Reason("expected a prefix like 10.20.0.0/24".into()));
    };
    let ip = match a.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip,
        Ok(IpAddr::V6(_)) => return Err(BadIp::V6(why)),
        Err(_) => return Err(BadIp::Reason("expected a prefix like 10.20.0.0/24".into())),
    };
    let len = match l.parse::<u8>() {
        Ok(n) if n <= 32 => n,
        _ => return Err(BadIp::Reason(format!("the prefix length {l:?} is outside 0..=32"))),
    };
    if bits(IpAddr::V4(ip)) & !mask(len, 32) != 0 {
        let net = subnet_text(IpAddr::V4(ip), len);
        return Err(BadIp::Reason(format!("host bits are set; the prefix is {net}")));
    }
    Ok((ip, len))
}

/// The subnet of `addr`/`len`, as text.
pub(crate) fn subnet_text(addr: IpAddr, len: u8) -> String {
    format!("{}/{len}", from_bits(addr, bits(addr) & mask(len, width(addr))))
}

/// Whether `ip` lies in `addr`/`len` (never across families).
pub(crate) fn in_subnet(ip: IpAddr, addr: IpAddr, len: u8) -> bool {
    ip.is_ipv4() == addr.is_ipv4() && (bits(ip) ^ bits(addr)) & mask(len, width(addr)) == 0
}

/// Whether `ip` is an address of `addr`/`len` that no host may hold: the
/// network and broadcast addresses of IPv4, the subnet-router anycast
/// address of IPv6 (RFC 4291 section 2.6.1). Point-to-point subnets (/31,
/// /32, /127, /128) have none.
pub(crate) fn subnet_role(ip: IpAddr, addr: IpAddr, len: u8) -> Option<String> {
    let w = width(addr);
    if len + 1 >= w || !in_subnet(ip, addr, len) {
        return None;
    }
    let m = mask(len, w);
    let net = bits(addr) & m;
    let subnet = subnet_text(addr, len);
    if bits(ip) == net && w == 32 {
        Some(format!("it is the network address of {subnet}"))
    } else if bits(ip) == net {
        Some(format!("it is the subnet-router anycast address of {subnet}"))
    } else if w == 32 && bits(ip) == net | (!m & u128::from(u32::MAX)) {
        Some(format!("it is the broadcast address of {subnet}"))
    } else {
        None
    }
}

/// Why `group` cannot be a VNI's multicast group, if it cannot.
pub(crate) fn not_a_group(group: IpAddr) -> Option<&'static str> {
    match group {
        IpAddr::V4(g) if g.is_multicast() && g.octets()[..3] != [224, 0, 0] => None,
        IpAddr::V4(g) if g.is_multicast() => {
            Some("224.0.0.0/24 is link-local control traffic; use a group such as 239.1.1.1")
        }
        IpAddr::V4(_) => Some("a group is a multicast address, 224.0.0.0 to 239.255.255.255"),
        // The scope is the low nibble of the second byte (RFC 4291 section
        // 2.7): 1 and 2 never leave the host or link, 0 and 15 are reserved.
        IpAddr::V6(g) if g.is_multicast() => match g.octets()[1] & 0xf {
            3..=14 => None,
            1 | 2 => Some("an interface- or link-local group (ff01::/16, ff02::/16) is for control traffic; use a group such as ff05::100"),
            _ => Some("scopes 0 and 15 are reserved (RFC 4291); use a group such as ff05::100"),
        },
        IpAddr::V6(_) => Some("a group is a multicast address in ff00::/8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr() {
        assert!(matches!(parse_cidr("192.168.100.1/24"), Ok((a, 24)) if a == ip("192.168.100.1")));
        assert!(matches!(parse_cidr("10.0.0.1/32"), Ok((_, 32))));
        assert!(matches!(parse_cidr("10.0.0.0/31"), Ok((_, 31))));
        assert!(matches!(parse_cidr("fd00::1/64"), Ok((a, 64)) if a == ip("fd00::1")));
        assert!(matches!(parse_cidr("2001:db8::/127"), Ok((_, 127))));
        assert!(matches!(parse_cidr4("fd00::1/64", "why"), Err(BadIp::V6("why"))));
        for (text, want) in [
            ("10.0.0.1", "prefix length is missing (as in 10.0.0.1/24)"),
            ("fd00::1", "prefix length is missing (as in fd00::1/64)"),
            ("10.0.0.1/", "\"\" is not a number"),
            ("10.0.0.1/x", "\"x\" is not a number"),
            ("10.0.0.1/0", "0 is outside 1..=32"),
            ("10.0.0.1/33", "33 is outside 1..=32"),
            ("fd00::1/129", "129 is outside 1..=128"),
            ("10.0.0.1/99999999999", "outside 1..=32"),
            ("10.0.0.1/-1", "not a number"),
            ("10.0.0/8", "prefix length like"),
            ("010.0.0.1/8", "prefix length like"),
            ("10.0.0.0/24", "network address of 10.0.0.0/24"),
            ("10.0.0.255/24", "broadcast address of 10.0.0.0/24"),
            ("fd00::/64", "subnet-router anycast address of fd00::/64"),
            ("0.0.0.0/8", "0.0.0.0"),
            ("::/64", ":: is no host's"),
            ("127.0.0.1/8", "loopback"),
            ("::1/128", "loopback"),
            ("fe80::1/64", "link-local"),
            ("::ffff:10.0.0.1/96", "IPv4-mapped"),
            ("224.0.0.1/4", "multicast"),
            ("ff05::1/64", "multicast"),
            ("", "prefix length like"),
            ("/", "prefix length like"),
        ] {
            match parse_cidr(text) {
                Err(BadIp::Reason(r)) => assert!(r.contains(want), "{text:?}: {r}"),
                Err(BadIp::V6(_)) => panic!("{text:?}: refused as IPv6"),
                Ok(v) => panic!("{text:?}: accepted as {v:?}"),
            }
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(parse_host("fd00::2", true).ok(), Some(ip("fd00::2")));
        assert!(matches!(parse_host4("fd00::2", true, "why"), Err(BadIp::V6("why"))));
        assert!(matches!(parse_host("ff05::1", true), Err(BadIp::Reason(r)) if r.contains("`group`")));
        assert!(matches!(parse_host("x", true), Err(BadIp::Reason(r)) if r.contains("fd00::2")));
        assert!(matches!(parse_host4("x", true, ""), Err(BadIp::Reason(r)) if r.contains("four decimal bytes")));
        assert_eq!(family_of_text("fd00::1/64"), "IPv6");
        assert_eq!(family_of_text("10.0.0.1/99"), "IPv4");
        assert_eq!(family_of_text("nope"), "IP");
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("10.20.0.0/24", "").ok(), Some((Ipv4Addr::new(10, 20, 0, 0), 24)));
        assert_eq!(parse_prefix("0.0.0.0/0", "").ok(), Some((Ipv4Addr::UNSPECIFIED, 0)));
        assert!(matches!(parse_prefix("10.20.0.1/24", ""), Err(BadIp::Reason(r)) if r.contains("10.20.0.0/24")));
        assert!(matches!(parse_prefix("fd00::/64", "v4"), Err(BadIp::V6("v4"))));
    }

    #[test]
    fn subnets() {
        let a = ip("192.168.100.1");
        assert_eq!(subnet_text(a, 24), "192.168.100.0/24");
        assert_eq!(subnet_text(a, 32), "192.168.100.1/32");
        assert_eq!(subnet_text(a, 1), "128.0.0.0/1");
        assert_eq!(subnet_text(ip("fd00:1:2:3::9"), 48), "fd00:1:2::/48");
        assert!(in_subnet(ip("192.168.100.254"), a, 24));
        assert!(!in_subnet(ip("192.168.101.1"), a, 24));
        assert!(!in_subnet(ip("192.168.100.2"), a, 32));
        assert!(in_subnet(ip("fd00::ffff"), ip("fd00::1"), 64));
        assert!(!in_subnet(ip("fd01::1"), ip("fd00::1"), 64));
        assert!(!in_subnet(ip("::c0a8:6401"), a, 0), "families never share a subnet");
        assert_eq!(mask(0, 32), 0);
        assert_eq!(mask(32, 32), u128::from(u32::MAX));
        assert_eq!(mask(128, 128), u128::MAX);
        assert_eq!(mask(64, 128), u128::MAX << 64);
        assert!(subnet_role(ip("192.168.100.0"), a, 31).is_none());
        assert!(subnet_role(ip("fd00::"), ip("fd00::1"), 127).is_none());
    }

    #[test]
    fn groups() {
        assert_eq!(not_a_group(ip("239.1.1.1")), None);
        assert_eq!(not_a_group(ip("ff05::100")), None);
        assert_eq!(not_a_group(ip("ff0e::1")), None);
        assert!(not_a_group(ip("224.0.0.5")).is_some_and(|r| r.contains("link-local")));
        assert!(not_a_group(ip("10.0.0.1")).is_some());
        assert!(not_a_group(ip("ff02::1")).is_some_and(|r| r.contains("link-local")));
        assert!(not_a_group(ip("ff00::1")).is_some_and(|r| r.contains("reserved")));
        assert!(not_a_group(ip("fd00::1")).is_some_and(|r| r.contains("ff00::/8")));
    }
}
