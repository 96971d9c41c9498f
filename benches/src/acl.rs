//! Fixtures for the flow-rule (ACL) cases: an IPv4/TCP variant of the hit
//! traffic, and rule sets of a fixed mix of mask shapes that it never
//! matches except for a catch-all `allow`.
//!
//! ## The traffic ([`crate::Scenario::HitIp`], [`crate::Scenario::Acl`])
//!
//! Exactly [`crate::Scenario::Hit`]'s frames as far as the L2 path reads
//! them: the same MACs, drawn by the same generator from the same seed, on
//! the same ports, 64 bytes long. Only bytes 14.. differ: instead of
//! `0x45` filler they are a real IPv4/TCP packet (valid checksums), which
//! is what gives the flow key its L3/L4 fields. The packet is a function of
//! the *source host only*: host `i` has one connection,
//! [`flow_ip`]`(i):sport → `[`SERVER`]`:80`, so the flow rules see one flow
//! per host (1000 flows at 1000 MACs) while the destination MACs stay
//! uniform over all hosts, as in `hit-1k`. (Rules on `dl_dst` would make
//! every (source, destination) pair a flow; the rule sets here have none,
//! and [`per_host_ports`] checks that the cache key does not hold it.)
//!
//! Each host's source port is chosen ([`per_host_ports`]) so that the
//! hosts' flow-cache keys sit in distinct slots of the 4096-entry
//! direct-mapped cache: with ports picked blindly about a fifth of 1000
//! keys would share a slot with another and evict each other, and the
//! "hit" cases would measure a mix of hits and misses. The choice uses only
//! the cache's public API, so it follows any change to the cache's hash.
//! The ports are computed against the reference rule set ([`REFERENCE`]
//! rules), whose key mask every rule set here shares, so every IP case
//! sends byte-identical traffic.
//!
//! [`AclFlows::NewPerFrame`] is the miss traffic: the same frames, but the
//! source port is a counter, new in every frame (it wraps after 64512
//! frames, which the 4096-entry cache cannot remember), so every frame is
//! a flow the cache has not seen, and goes to the classifier.
//! Why not keep [`AclFlows::PerHost`]'s traffic and instead invalidate the
//! cache before each measured batch by swapping in an identically
//! compiled plan (a new generation)? Because the cache is filled *within*
//! a batch: a batch of 32 draws from 1000 hosts holds some host twice in
//! about 39% of batches, and that host's second frame would be a hit. With
//! a new flow per frame, every measured frame is a miss (the ipp check
//! asserts misses = frames), the rule set and plan stay the same, and
//! nothing outside the measured function needs to run per batch.
//!
//! ## The rules ([`rules`])
//!
//! `n` rules in the ingress table of *every* port (the hit traffic enters on
//! all four, so each frame meets `n` rules on its port): `n - 1` rules that
//! cycle through six kinds of five mask shapes, at priorities spread over
//! 100..60100, and last a catch-all `allow` at priority 0 that every frame
//! matches:
//!
//! | kind | match | action |
//! |------|-------|--------|
//! | 0 | `dl_src=06:aa:00:00:hh:ll` | drop |
//! | 1 | `tcp,nw_src=10.1.h.l,nw_dst=10.0.255.254,tp_src=…,tp_dst=22/80/443/8080` | drop |
//! | 2 | `udp,nw_src=10.2.h.l,nw_dst=10.0.255.254,tp_src=…,tp_dst=53` (kind 1's mask) | allow |
//! | 3 | `ip,nw_src=A.B.0.0/16` (`10.1.0.0/16` on; never `10.0.0.0/16`) | drop |
//! | 4 | `ip,nw_src=10.X.Y.0/24` (X ≥ 1) | drop |
//! | 5 | `ip,nw_dst=10.X.Y.0/24` (X ≥ 1) | drop |
//!
//! Hosts are in `10.0.0.0/16`, the server is `10.0.255.254` and host MACs
//! are `02:5e:…`, so no rule but the catch-all matches a frame, whatever
//! its ports. Every table has 6 subtables (5 shapes plus the catch-all's
//! empty mask) from 10 rules up, so 100 and 10,000 rules differ only in the
//! subtables' sizes. The catch-all has the lowest priority, so the
//! classifier cannot stop early: a miss probes all six.

use std::net::Ipv4Addr;
use std::sync::Arc;

use switch_core::bridge::ForwardingPlan;
use switch_core::flow::{Field, FlowCache, FlowKey, FlowPlan, FlowRule, FlowTable};
use switch_core::wire::{checksum, tcp, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv4Repr, TcpHeader};
use switch_core::PortId;

use crate::{host_mac, host_port, FRAME_LEN, PORTS};

/// The address every host's flow goes to.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 255, 254);
/// The destination port of every flow.
pub const SERVER_PORT: u16 = 80;
/// The lowest source port a flow uses.
pub const FIRST_SPORT: u16 = 1024;
/// Hosts the IP traffic has addresses for ([`flow_ip`] stays in
/// `10.0.0.0/16`, below [`SERVER`]).
pub const MAX_IP_HOSTS: u32 = 65_000;
/// Rules per table of the rule set the per-host ports are computed
/// against ([`per_host_ports`]): the smallest set with every mask shape.
pub const REFERENCE: u32 = 10;
/// Distinct masks in a table of [`rules`] with at least 6 rules: the five
/// shapes and the catch-all's empty mask.
pub const SUBTABLES: usize = 6;

const IP_HEADER: usize = 14;
const TCP_HEADER: usize = IP_HEADER + 20;
/// TCP header plus the 10 bytes of payload a 64-byte frame has room for.
const TCP_SEGMENT: usize = FRAME_LEN - TCP_HEADER;

/// Where the traffic's flows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclFlows {
    /// One flow per source host: after the warm-up, every frame is a flow
    /// cache hit.
    PerHost,
    /// A new source port in every frame: every frame is a flow cache miss.
    NewPerFrame,
}

/// The address of host `i` in the IP traffic: `10.0.0.1` on.
#[inline]
pub fn flow_ip(i: u32) -> Ipv4Addr {
    debug_assert!(i < MAX_IP_HOSTS);
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 1)) + i)
}

/// A 64-byte IPv4/TCP frame (ACK|PSH, 10 bytes of payload) to
/// [`SERVER`]`:80`; [`set_flow`] fills in the source.
pub fn ip_template() -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    EthernetFrame::new_unchecked(&mut f[..]).set_ethertype(EtherType::IPV4);
    Ipv4Repr {
        src_addr: flow_ip(0),
        dst_addr: SERVER,
        protocol: IpProtocol::TCP,
        payload_len: FRAME_LEN - TCP_HEADER,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: true,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut f[IP_HEADER..TCP_HEADER]));
    TcpHeader::new_unchecked(&mut f[TCP_HEADER..TCP_HEADER + 20])
        .set_offset_flags(20, tcp::flags::ACK | tcp::flags::PSH);
    f[TCP_HEADER + 20..].fill(0x5a);
    set_flow(&mut f, 0, FIRST_SPORT);
    f
}

/// Makes `f` ([`ip_template`]) a packet of host `host`'s flow with source
/// port `sport`: its address, the ports, and both checksums. The MACs are
/// the caller's.
#[inline]
pub fn set_flow(f: &mut [u8; FRAME_LEN], host: u32, sport: u16) {
    let src = flow_ip(host);
    let mut ip = Ipv4Packet::new_unchecked(&mut f[IP_HEADER..TCP_HEADER]);
    ip.set_src_addr(src);
    ip.fill_checksum();
    let seg = &mut f[TCP_HEADER..];
    TcpHeader::new_unchecked(&mut seg[..20]).set_ports(sport, SERVER_PORT);
    seg[16..18].fill(0);
    let sum = checksum::combine(
        checksum::pseudo_header_v4(src, SERVER, IpProtocol::TCP, TCP_SEGMENT as u16),
        checksum::sum(seg),
    );
    seg[16..18].copy_from_slice(&checksum::finish(sum).to_be_bytes());
}

/// Rule `k` (below `n - 1`) of a table of `n`: (priority, match, action).
fn shaped(k: u32) -> (u16, String, &'static str) {
    let m = k / 6;
    let (hi, lo) = (m >> 8 & 0xff, m & 0xff);
    let sport = FIRST_SPORT as u32 + m % 60_000;
    let (text, action) = match k % 6 {
        0 => (format!("dl_src=06:aa:00:00:{hi:02x}:{lo:02x}"), "drop"),
        1 => {
            let dport = [22, 80, 443, 8080][m as usize % 4];
            (format!("tcp,nw_src=10.1.{hi}.{lo},nw_dst={SERVER},tp_src={sport},tp_dst={dport}"), "drop")
        }
        2 => (format!("udp,nw_src=10.2.{hi}.{lo},nw_dst={SERVER},tp_src={sport},tp_dst=53"), "allow"),
        // 10.1.0.0/16 .. 10.255.0.0/16, then 11.1.0.0/16 on: never 10.0/16.
        3 => (format!("ip,nw_src={}.{}.0.0/16", 10 + m / 255, 1 + m % 255), "drop"),
        4 => (format!("ip,nw_src=10.{}.{}.0/24", 1 + m / 256, m % 256), "drop"),
        _ => (format!("ip,nw_dst=10.{}.{}.0/24", 1 + m / 256, m % 256), "drop"),
    };
    // Spread over 100..60100, deterministically (Knuth's multiplicative hash).
    let priority = 100 + (k.wrapping_mul(2_654_435_761) >> 8) % 60_000;
    (priority as u16, text, action)
}

/// The id of rule `k` of port `port`'s table of `n` rules.
pub fn rule_id(n: u32, port: usize, k: u32) -> u32 {
    port as u32 * n + k
}

/// `n` rules (at least 1) in the ingress table of each of the [`PORTS`]
/// ports `p0`..: see the module docs. The last of each table (id
/// [`rule_id`]`(n, port, n - 1)`) is the catch-all `allow`.
pub fn rules(n: u32) -> Vec<(u32, FlowRule)> {
    rules_on(n, PORTS)
}

/// [`rules`] on the first `ports` ports only (`p0`..).
pub fn rules_on(n: u32, ports: usize) -> Vec<(u32, FlowRule)> {
    assert!(n >= 1, "a table needs at least its catch-all");
    assert!(ports <= PORTS);
    assert!(n as usize * ports <= switch_core::flow::MAX_RULES, "rule ids must be below MAX_RULES");
    let texts: Vec<(u16, String, &str)> = (0..n - 1).map(shaped).chain([(0, "any".to_string(), "allow")]).collect();
    let mut out = Vec::with_capacity(n as usize * ports);
    for port in 0..ports {
        for (k, (priority, m, a)) in texts.iter().enumerate() {
            let rule = FlowRule {
                table: FlowTable::Ingress(format!("p{port}")),
                priority: *priority,
                matches: m.parse().unwrap_or_else(|e| panic!("rule {m:?}: {e}")),
                actions: a.parse().unwrap_or_else(|e| panic!("action {a:?}: {e}")),
            };
            out.push((rule_id(n, port, k as u32), rule));
        }
    }
    out
}

/// [`rules`]`(n)` compiled against `plan`'s ports.
pub fn flow_plan(n: u32, plan: &ForwardingPlan) -> FlowPlan {
    FlowPlan::compile(&rules(n), plan).expect("benchmark rules compile")
}

/// The flow-cache key of frame `f` received on `port`, exactly as the acl
/// stage builds it.
pub fn cache_key(flows: &FlowPlan, port: PortId, f: &[u8]) -> Option<FlowKey> {
    let t = flows.ingress_table(port)?;
    Some(FlowKey::extract(f, port, t.untagged_vlan, t.index, t.depth).masked(&t.used))
}

/// Per host below `hosts`, a source port such that the hosts' flow-cache
/// keys under `plan`'s rules all sit in different cache slots (see the
/// module docs). `plan` must have rules on every port.
pub fn per_host_ports(plan: &ForwardingPlan, hosts: u32) -> Vec<u16> {
    assert!(hosts <= MAX_IP_HOSTS);
    let flows = plan.flows.as_deref().expect("per_host_ports needs a plan with rules");
    for t in flows.tables() {
        // Otherwise the destination MAC would be part of the flow, and a
        // host would have one flow per destination.
        assert_eq!(t.used.get(Field::DlDst), 0, "a rule reads dl_dst");
    }
    // Any generation works: the probe cache is ours alone.
    const GEN: u32 = 1;
    let mut cache = FlowCache::default();
    let mut keys: Vec<FlowKey> = Vec::with_capacity(hosts as usize);
    let mut ports = Vec::with_capacity(hosts as usize);
    let mut f = ip_template();
    let mut sport = FIRST_SPORT;
    for i in 0..hosts {
        f[6..12].copy_from_slice(&host_mac(i).0);
        loop {
            set_flow(&mut f, i, sport);
            let key = cache_key(flows, host_port(i), &f).expect("every port has a table");
            cache.put(GEN, &key, Some(i));
            // The key evicted an earlier host's if that one no longer hits.
            let victim = keys.iter().enumerate().find(|&(h, k)| cache.get(GEN, k) != Some(Some(h as u32)));
            if let Some((h, k)) = victim {
                cache.put(GEN, k, Some(h as u32));
                sport = sport.checked_add(1).expect("out of source ports");
                continue;
            }
            keys.push(key);
            ports.push(sport);
            sport = sport.checked_add(1).expect("out of source ports");
            break;
        }
    }
    ports
}

/// [`per_host_ports`] against the [`REFERENCE`] rule set compiled for
/// `plan`'s ports (whatever rules `plan` has itself).
pub fn reference_ports(plan: &ForwardingPlan, hosts: u32) -> Vec<u16> {
    per_host_ports(&plan.with_flows(Some(Arc::new(flow_plan(REFERENCE, plan)))), hosts)
}

/// Panics unless `flows` reads exactly the fields the [`REFERENCE`] rules
/// read on every port (so [`reference_ports`] keeps the hosts' keys apart
/// under it too).
pub fn assert_reference_mask(flows: &FlowPlan, plan: &ForwardingPlan) {
    let reference = flow_plan(REFERENCE, plan);
    for port in 0..PORTS {
        let p = PortId(port as u16);
        let (a, b) = (flows.ingress_table(p).expect("table"), reference.ingress_table(p).expect("table"));
        assert_eq!((a.used, a.index), (b.used, b.index), "port {port}: the rules read other fields than the reference");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switch_core::wire::Ipv4Packet;

    #[test]
    fn template_is_valid_ipv4_tcp() {
        let mut f = ip_template();
        set_flow(&mut f, 999, 4321);
        let ip = Ipv4Packet::new_checked(&f[14..]).expect("ipv4");
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr(), ip.protocol()), (flow_ip(999), SERVER, IpProtocol::TCP));
        let seg = ip.payload();
        let t = TcpHeader::new_checked(seg).expect("tcp");
        assert_eq!((t.src_port(), t.dst_port()), (4321, SERVER_PORT));
        let sum = checksum::combine(
            checksum::pseudo_header_v4(flow_ip(999), SERVER, IpProtocol::TCP, seg.len() as u16),
            checksum::sum(seg),
        );
        assert!(checksum::verifies(sum));
    }

    #[test]
    fn rule_sets_have_six_subtables_and_match_only_the_catch_all() {
        let plan = ForwardingPlan::compile(&crate::spec(1024)).expect("plan");
        for n in [10, 100, 1000] {
            let flows = flow_plan(n, &plan);
            assert_eq!(flows.len(), n as usize * PORTS);
            assert_reference_mask(&flows, &plan);
            for t in flows.tables() {
                assert_eq!(t.classifier.subtables(), SUBTABLES, "{n} rules");
            }
        }
        let flows = flow_plan(100, &plan);
        let ports = per_host_ports(&plan.with_flows(Some(Arc::new(flows.clone()))), 1000);
        let mut f = ip_template();
        for (i, &sport) in ports.iter().enumerate() {
            let i = i as u32;
            f[6..12].copy_from_slice(&host_mac(i).0);
            set_flow(&mut f, i, sport);
            let port = host_port(i);
            let t = flows.ingress_table(port).expect("table");
            let key = cache_key(&flows, port, &f).expect("key");
            let rule = t.classifier.lookup(&key).and_then(|r| flows.rule(r)).expect("the catch-all matches");
            assert_eq!(rule.id, rule_id(100, port.index(), 99), "host {i}");
            assert_eq!(switch_core::flow::classifier::linear(&t.entries, &key), t.classifier.lookup(&key));
        }
    }
}
