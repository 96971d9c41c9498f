//! The whole in-memory switch (`SwitchSim`): arbitrary frames on arbitrary
//! ports, VXLAN packets to the local VTEP, ARP and ping for it, time steps
//! and batch sizes, then invariants on everything that leaves. "No panic"
//! is only the first of them.
//!
//! The switch: bridge br0 with
//!
//! | port | mode |
//! | --- | --- |
//! | 0 `h10` | access VLAN 10 |
//! | 1 `h20` | access VLAN 20 |
//! | 2 `trunk` | 802.1Q trunk, 10 and 20, native 10 (untagged) |
//! | 3 `cust` | dot1q-tunnel, S-VLAN 30 |
//! | 4 `prov` | 802.1ad trunk carrying 30 |
//! | 5 `up` | underlay, VTEP 192.168.100.1/24 |
//!
//! with VNI 100 ↔ VLAN 10 (remotes .2 and .3) and VNI 200 ↔ VLAN 20
//! (remote .2). (Geneve VNIs, IP-in-IP gateways and flow rules are to be
//! added here.)
//!
//! # Input
//!
//! A sequence of records, each an op byte and its arguments (see
//! [`Fuzz::record`]); the input ends where the bytes do. Frames are built
//! from the fuzzed bytes, but their source MAC (for a VXLAN packet, the
//! inner frame's) is always overwritten with a *marker*:
//! `02:aa:DD:00:00:HH`, where `DD` is the domain the frame must end up in
//! (10, 20 or 30; 0 for "must be dropped") as this file works it out from
//! the port's mode and the frame's tag, or from the VNI, the outer source
//! and the flags, and `HH` one of 16 hosts (so MACs are learned, move and
//! age). A record may pick a source that must never be learned instead
//! (multicast, zero, broadcast): such frames carry no marker.
//!
//! # Invariants
//!
//! After every run of the queued frames:
//!
//! 1. no buffer is held (`chunks_in_use() == 0`);
//! 2. every frame out of a bridge port carries a marker of that port's
//!    domain (access 10: 10; access 20: 20; the trunk: 10 untagged or 20
//!    tagged 0x8100/20; cust: 30; prov: 30 tagged 0x88a8/30), never 0;
//!    once the egress tag is taken off and the ingress tag put back, its
//!    bytes are those of a frame that entered that domain on another port
//!    (or from a remote VTEP), and (RFC 6040) with the outer CE copied into
//!    the inner ECN field where decapsulation must do so;
//! 3. every frame out of the underlay port is one of: VXLAN from
//!    192.168.100.1 (MAC `VtepPlan::default_mac`) to a remote of its VNI,
//!    with a valid IPv4 checksum, consistent lengths, within the MTU, to
//!    a MAC the remote announced by ARP, and an inner frame of the VNI's
//!    domain that entered on a local port (split horizon: nothing from a
//!    remote goes back to a remote); an ARP request from the VTEP for a
//!    next hop; an ARP reply or an ICMP echo reply from the VTEP. The VTEP's
//!    own frames are in no domain;
//! 4. a frame out of a bridge port that is none of 2 must be the switch's
//!    path-MTU answer (ICMP fragmentation needed) to a host of VLAN 10 or
//!    20, on a port of its domain, in that domain's tagging, with valid
//!    checksums, the overlay MTU, and the offending DF header quoted back
//!    to its source (see [`pmtu_answer`] and [`STRICT_PMTU`]);
//! 5. nothing is sent on a tunnel port's id (encapsulated frames leave on
//!    the underlay port) or on a port the plan does not have.
//!
//! At the end, besides:
//!
//! 6. `packets` == frames injected; `encapsulated`, `arp_requests` and
//!    `underlay_replies` equal what was seen on the wire, per tunnel too;
//!    `decapsulated <= underlay_received <= underlay frames injected`;
//!    distinct path-MTU answers seen `<= pmtu_answers <=` frames too big;
//! 7. every FDB entry is a marker MAC, of the entry's domain, on a port of
//!    that domain (tunnel ports included).
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use switch_core::bridge::{BridgeSpec, PortMode, PortSpec, SwitchSpec, VlanSet};
use switch_core::overlay::{VniSpec, VtepPlan, VtepSpec};
use switch_core::pipeline::DropReason;
use switch_core::sim::SwitchSim;
use switch_core::wire::icmpv4::{self, Icmpv4Packet};
use switch_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, UdpPacket, UdpRepr,
    VxlanPacket, VxlanRepr,
};
use switch_core::{BdId, MacAddr, Nanos, PortId, VlanId};

const H10: u16 = 0;
const H20: u16 = 1;
const TRUNK: u16 = 2;
const CUST: u16 = 3;
const PROV: u16 = 4;
const UP: u16 = 5;
/// A port the plan does not have.
const NOWHERE: u16 = 60;

/// Our VTEP, the two remotes, and an address that is neither.
const A: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
const C: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 3);
const STRANGER: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 9);

const VXLAN_PORT: u16 = 4789;
const UNDERLAY_MTU: usize = 1500;
const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const TPID_C: u16 = 0x8100;
const TPID_S: u16 = 0x88a8;

/// Records per input: a few thousand frames at most.
const MAX_RECORDS: usize = 2048;
/// Frames queued before the harness runs the switch on its own.
const RUN_EVERY: usize = 128;
/// Time steps per input that run the FDB's aging (a walk of its 2^21
/// slots, which costs more than the rest of an input).
const MAX_AGE_SCANS: u32 = 1;

/// Ingress bits of a content entry: physical ports 0..=4, then frames
/// decapsulated from B, from C, from anyone else.
const FROM_B: u16 = 1 << 5;
const FROM_C: u16 = 1 << 6;
const FROM_OTHER: u16 = 1 << 7;
const FROM_LOCAL: u16 = 0x1f;

fn vtep_mac(ip: Ipv4Addr) -> MacAddr {
    VtepPlan::default_mac(ip)
}

/// The marker source MAC of a frame that must end up in `dom` (0: dropped).
fn marker(dom: u8, host: u8) -> [u8; 6] {
    [0x02, 0xaa, dom, 0, 0, host]
}

/// The domain byte of a marker MAC.
fn marker_dom(mac: &[u8]) -> Option<u8> {
    match mac {
        [0x02, 0xaa, d, 0, 0, _] => Some(*d),
        _ => None,
    }
}

fn be16(f: &[u8], at: usize) -> Option<u16> {
    f.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn spec() -> SwitchSpec {
    let port = |name: &str, mode| PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None, mtu: None };
    let vlans = |v: &[u16]| {
        let mut s = VlanSet::new();
        v.iter().for_each(|x| s.insert(*x));
        s
    };
    let mut s = SwitchSpec {
        bridges: vec![BridgeSpec { name: "br0".into() }],
        ports: vec![
            port("h10", PortMode::Access { vlan: VlanId(10) }),
            port("h20", PortMode::Access { vlan: VlanId(20) }),
            port(
                "trunk",
                PortMode::Trunk {
                    allowed: vlans(&[10, 20]),
                    native: Some(VlanId(10)),
                    native_tagged: false,
                    tpid: TPID_C,
                },
            ),
            port("cust", PortMode::Dot1qTunnel { s_vlan: VlanId(30) }),
            port("prov", PortMode::Trunk { allowed: vlans(&[30]), native: None, native_tagged: false, tpid: TPID_S }),
            port("up", PortMode::Underlay),
        ],
        ..SwitchSpec::default()
    };
    // Few entries: the table-full path is reachable with 16 hosts in three
    // domains.
    s.fdb.max_entries = 40;
    s.overlay.vteps.push(VtepSpec::new("vtep0", UP as usize, A, 24));
    let vni = |vni, vlan, remotes: &[Ipv4Addr]| VniSpec {
        vni,
        vtep: 0,
        bridge: 0,
        vlan: VlanId(vlan),
        remotes: remotes.iter().map(|&r| r.into()).collect(),
        ..VniSpec::default()
    };
    s.overlay.vnis.push(vni(100, 10, &[B, C]));
    s.overlay.vnis.push(vni(200, 20, &[B]));
    s
}

/// The domain a VNI's packets join (0: none).
fn vni_dom(vni: u32) -> u8 {
    match vni {
        100 => 10,
        200 => 20,
        _ => 0,
    }
}

/// True when `src` may send VNI `vni`.
fn allowed(vni: u32, src: Ipv4Addr) -> bool {
    match vni {
        100 => src == B || src == C,
        200 => src == B,
        _ => false,
    }
}

fn remote_bit(src: Ipv4Addr) -> u16 {
    match src {
        B => FROM_B,
        C => FROM_C,
        _ => FROM_OTHER,
    }
}

/// How port `port` classifies `f` (as IEEE 802.1Q/802.1ad ports do): the
/// domain and the bytes of tag it consumes, or `None` (dropped).
fn classify(port: u16, f: &[u8]) -> Option<(u8, usize)> {
    if f.len() < 14 {
        return None;
    }
    let et = be16(f, 12)?;
    let vid = || be16(f, 14).filter(|_| f.len() >= 18).map(|tci| tci & 0x0fff);
    match port {
        H10 | H20 => {
            let vlan = if port == H10 { 10 } else { 20 };
            match et {
                // Priority-tagged only.
                TPID_C => (vid()? == 0).then_some((vlan, 4)),
                _ => Some((vlan, 0)),
            }
        }
        TRUNK => match et {
            TPID_C => match vid()? {
                0 | 10 => Some((10, 4)),
                20 => Some((20, 4)),
                _ => None,
            },
            _ => Some((10, 0)),
        },
        CUST => Some((30, 0)),
        PROV => match et {
            TPID_S => (vid()? == 30).then_some((30, 4)),
            _ => None,
        },
        _ => None,
    }
}

/// RFC 6040 section 4.2 on an inner frame under an outer CE: an ECN-capable
/// IP packet gets CE, a not-ECT one must be dropped (false), anything else
/// is left alone.
fn apply_ce(inner: &mut [u8]) -> bool {
    let Some(et) = be16(inner, 12) else { return true };
    let l3 = &mut inner[14..];
    match et {
        ETH_IPV4 => match Ipv4Packet::new_checked(l3) {
            Ok(mut ip) => match ip.ecn() {
                0 => false,
                3 => true,
                _ => {
                    ip.set_ecn(3);
                    ip.fill_checksum();
                    true
                }
            },
            Err(_) => true,
        },
        ETH_IPV6 => match Ipv6Packet::new_checked(l3) {
            Ok(mut ip) => {
                let tc = ip.traffic_class();
                if tc & 3 == 0 {
                    false
                } else {
                    ip.set_traffic_class(tc | 3);
                    true
                }
            }
            Err(_) => true,
        },
        _ => true,
    }
}

/// What an inner frame must be to enter its VNI's domain (RFC 7348 6.1):
/// a whole, untagged Ethernet header.
fn inner_ok(inner: &[u8]) -> bool {
    inner.len() >= 14 && !matches!(be16(inner, 12), Some(TPID_C | TPID_S))
}

/// Reads the input.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// `n` bytes, zero-padded where the input ends.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let k = n.min(self.0.len());
        let mut v = self.0[..k].to_vec();
        self.0 = &self.0[k..];
        v.resize(n, 0);
        v
    }
}

/// One frame's addressing, from two bytes.
#[derive(Clone, Copy)]
struct Addrs {
    src: u8,
    dst: u8,
}

impl Addrs {
    fn host(&self) -> u8 {
        self.src & 0x0f
    }

    /// The source MAC of a frame for domain `dom`: a marker, or one that
    /// must never be learned.
    fn src_mac(&self, dom: u8) -> ([u8; 6], bool) {
        if self.src & 0x80 == 0 {
            return (marker(dom, self.host()), true);
        }
        let bad = match (self.src >> 4) & 3 {
            0 => [0x01, 0x00, 0x5e, 0, 0, 1],
            1 => [0; 6],
            2 => [0xff; 6],
            _ => [0x01, 0x80, 0xc2, 0, 0, 0],
        };
        (bad, false)
    }

    fn dst_mac(&self, dom: u8) -> [u8; 6] {
        let h = self.dst & 0x0f;
        match (self.dst >> 4) & 7 {
            0 => [0xff; 6],
            1 => marker(dom, h),
            // A host of any domain (or of none).
            2 => marker([0, 10, 20, 30][usize::from(h & 3)], h >> 2),
            3 => [0x01, 0x00, 0x5e, 0, 0, h],
            // 802.1D reserved, and just outside the block.
            4 => [0x01, 0x80, 0xc2, 0, 0, h],
            5 => [0x01, 0x80, 0xc2, 0, 0, 0x10 | h],
            6 => vtep_mac([A, B, C, STRANGER][usize::from(h & 3)]).0,
            _ => [0x33, 0x33, 0, 0, 0, h],
        }
    }
}

/// `dst`, `src`, an optional tag, the body; cut to `cut` bytes if given.
fn frame(dst: [u8; 6], src: [u8; 6], tag: Option<(u16, u16)>, body: &[u8], cut: Option<usize>) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + body.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some((tpid, tci)) = tag {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(body);
    if let Some(n) = cut {
        f.truncate(n);
    }
    f
}

/// Puts `mac` at `f[at..at + 6]`, as far as `f` goes.
fn put_mac(f: &mut [u8], at: usize, mac: &[u8; 6]) {
    let end = f.len().min(at + 6);
    if at < end {
        f[at..end].copy_from_slice(&mac[..end - at]);
    }
}

/// What the harness saw leave the switch, for the counters.
#[derive(Default)]
struct Seen {
    vxlan: u64,
    /// Per (VNI 100 to B, VNI 100 to C, VNI 200 to B).
    vxlan_per_tunnel: [u64; 3],
    replies: u64,
    arp_requests: u64,
    /// Distinct path-MTU answers per run, summed.
    pmtu_answers: u64,
}

struct Fuzz {
    sim: SwitchSim,
    /// Tunnel indexes (port minus `first_tunnel`) of vxlan100@B, @C,
    /// vxlan200@B.
    tunnels: [usize; 3],
    tunnel_ports: [PortId; 3],
    /// The bridge domain of VLAN 10, 20, 30.
    bds: [BdId; 3],
    /// Every frame that may leave a bridge port (addresses, then what
    /// follows the ingress tag), with the bits of where it entered.
    content: HashMap<Vec<u8>, u16>,
    /// MACs B and C announced in ARP.
    announced: [Vec<MacAddr>; 2],
    /// An unbuilt ARP frame went to the underlay: any MAC may be a next
    /// hop's.
    raw_arp: bool,
    injected: u64,
    injected_underlay: u64,
    age_scans: u32,
    seen: Seen,
    /// The path-MTU answers of the current run, untagged.
    run_answers: HashSet<Vec<u8>>,
}

impl Fuzz {
    fn new() -> Fuzz {
        let sim = SwitchSim::with_chunks(&spec(), 512).expect("the fixed spec compiles");
        let first = usize::from(sim.plan.first_tunnel);
        let port = |name: &str| sim.plan.port_id(name).unwrap_or_else(|| panic!("no tunnel port {name}"));
        let tunnel_ports =
            [port("vxlan100@192.168.100.2"), port("vxlan100@192.168.100.3"), port("vxlan200@192.168.100.2")];
        let bd = |vlan| sim.plan.domain(0, vlan).expect("domain");
        let bds = [bd(10), bd(20), bd(30)];
        Fuzz {
            tunnels: tunnel_ports.map(|p| p.index() - first),
            tunnel_ports,
            bds,
            sim,
            content: HashMap::new(),
            announced: [Vec::new(), Vec::new()],
            raw_arp: false,
            injected: 0,
            injected_underlay: 0,
            age_scans: 0,
            seen: Seen::default(),
            run_answers: HashSet::new(),
        }
    }

    fn inject(&mut self, port: u16, f: &[u8]) {
        if self.sim.io.pending_rx() >= RUN_EVERY {
            self.run();
        }
        if self.sim.inject(PortId(port), f) {
            self.injected += 1;
            if port == UP {
                self.injected_underlay += 1;
            }
        }
    }

    /// Remembers that `f` (ingress tag of `tag_len` bytes) may leave in its
    /// domain, having entered by `bit`.
    fn expect(&mut self, f: &[u8], tag_len: usize, bit: u16) {
        let mut key = f[..12].to_vec();
        key.extend_from_slice(&f[12 + tag_len..]);
        *self.content.entry(key).or_default() |= bit;
    }

    fn announce(&mut self, ip: Ipv4Addr, mac: MacAddr) {
        let i = match ip {
            B => 0,
            C => 1,
            _ => return,
        };
        if !mac.is_multicast() && !mac.is_zero() && !self.announced[i].contains(&mac) {
            self.announced[i].push(mac);
        }
    }

    /// One record. The op byte's low three bits pick what it is:
    ///
    /// * 0-4: a frame on bridge port 0-4; 5: a frame on the underlay port;
    ///   6: a VXLAN packet to our VTEP. Then bytes `src`, `dst` (see
    ///   [`Addrs`]), [6 only: `vx`, see [`Fuzz::vxlan`]], `len`, and the
    ///   body (`len` bytes, or `8 * len` if op bit 7 is set, zero-padded
    ///   where the input ends). Op bits 3-4 push a tag (which one depends
    ///   on the port: see [`tag_for`]); op bit 5 cuts the frame to
    ///   `len % 18` bytes (underlay: fixes the IPv4 header checksum).
    /// * 7: ARP and ping for the VTEP, time steps, runs, batch sizes, and
    ///   frames on a port the plan does not have: see [`Fuzz::special`].
    fn record(&mut self, r: &mut Reader<'_>) -> Option<()> {
        let op = r.byte()?;
        let kind = op & 7;
        if kind == 7 {
            return self.special((op >> 3) & 7, op >> 7 != 0, r);
        }
        let addrs = Addrs { src: r.byte()?, dst: r.byte()? };
        let vx = if kind == 6 { r.byte()? } else { 0 };
        let len = r.byte()?;
        let body = r.bytes(if op & 0x80 != 0 { usize::from(len) * 8 } else { usize::from(len) });
        let tag = tag_for(kind as u16, (op >> 3) & 3, addrs.host());
        let cut_bit = op & 0x20 != 0;
        match kind {
            5 => self.underlay_raw(addrs, tag, &body, cut_bit),
            6 => self.vxlan(addrs, vx, tag, &body, cut_bit.then_some(usize::from(len) % 18)),
            port => {
                let port = u16::from(port);
                let cut = cut_bit.then_some(usize::from(len) % 18);
                let mut f = frame([0; 6], [0; 6], tag, &body, cut);
                let class = classify(port, &f);
                let dom = class.map_or(0, |c| c.0);
                let (src, marked) = addrs.src_mac(dom);
                put_mac(&mut f, 0, &addrs.dst_mac(dom));
                put_mac(&mut f, 6, &src);
                if let (Some((_, tag_len)), true) = (class, marked) {
                    self.expect(&f, tag_len, 1 << port);
                }
                self.inject(port, &f);
            }
        }
        Some(())
    }

    /// A frame on the underlay port, built as the fuzzer says. If it looks
    /// like VXLAN to us, its inner frame's source becomes a marker of the
    /// domain it must enter (0 if it must not), and it is expected with the
    /// switch's ECN rule applied.
    fn underlay_raw(&mut self, addrs: Addrs, tag: Option<(u16, u16)>, body: &[u8], fix_checksum: bool) {
        // The destination picks as for bridge ports, but "a host of the
        // frame's domain" means the VTEP: there is no domain here.
        let dst = if (addrs.dst >> 4) & 7 == 1 { vtep_mac(A).0 } else { addrs.dst_mac(0) };
        let mut f = frame(dst, addrs.src_mac(0).0, tag, body, None);
        if be16(&f, 12) == Some(ETH_ARP) {
            self.raw_arp = true;
        }
        self.mark_raw_inner(&mut f, addrs.host());
        if fix_checksum && be16(&f, 12) == Some(ETH_IPV4) && f.len() >= 34 {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            if ihl >= 20 && f.len() >= 14 + ihl {
                Ipv4Packet::new_unchecked(&mut f[14..14 + ihl]).fill_checksum();
            }
        }
        self.inject(UP, &f);
    }

    fn mark_raw_inner(&mut self, f: &mut [u8], host: u8) {
        if be16(f, 12) != Some(ETH_IPV4) || f.len() < 34 || f[14] >> 4 != 4 {
            return;
        }
        let ihl = usize::from(f[14] & 0x0f) * 4;
        let udp = 14 + ihl;
        if ihl < 20 || f[23] != IpProtocol::UDP || be16(f, udp + 2) != Some(VXLAN_PORT) {
            return;
        }
        let inner_at = udp + 16;
        if f.len() < inner_at + 12 {
            return;
        }
        let ip = Ipv4Packet::new_unchecked(&f[14..]);
        let (src, ecn, frag) = (ip.src_addr(), ip.ecn(), ip.is_fragment());
        let ip_end = 14 + usize::from(ip.total_len()).clamp(ihl, f.len() - 14);
        let udp_end = udp + usize::from(be16(f, udp + 4).unwrap_or(0));
        let vni = u32::from_be_bytes([0, f[udp + 12], f[udp + 13], f[udp + 14]]);
        let i_flag = f[udp + 8] & 0x08 != 0;
        let mut dom = if i_flag && !frag && allowed(vni, src) { vni_dom(vni) } else { 0 };
        // Where the switch's views put the inner frame: the UDP length,
        // within the IPv4 total length.
        let inner = (udp_end <= ip_end && udp_end >= inner_at).then(|| inner_at..udp_end);
        put_mac(f, inner_at + 6, &marker(dom, host));
        let Some(range) = inner else { return };
        let mut inner = f[range].to_vec();
        if !inner_ok(&inner) || (ecn == 3 && !apply_ce(&mut inner)) {
            dom = 0;
            put_mac(f, inner_at + 6, &marker(dom, host));
        }
        if dom != 0 {
            self.expect(&inner, 0, remote_bit(src));
        }
    }

    /// A VXLAN packet to our VTEP, valid unless `vx` says otherwise:
    /// bits 0-1 the VNI (100, 200, 300, 0), bit 2 clears the I flag, bits
    /// 3-4 the source (B, C, a stranger, ourselves), bits 5-6 the outer
    /// ECN, bit 7 makes it a fragment.
    fn vxlan(&mut self, addrs: Addrs, vx: u8, tag: Option<(u16, u16)>, body: &[u8], cut: Option<usize>) {
        let vni = [100, 200, 300, 0][usize::from(vx & 3)];
        let i_flag = vx & 4 == 0;
        let src_ip = [B, C, STRANGER, A][usize::from((vx >> 3) & 3)];
        let ecn = (vx >> 5) & 3;
        let frag = vx & 0x80 != 0;
        let mut inner = frame([0; 6], [0; 6], tag, body, cut);
        let mut dom = if i_flag && !frag && allowed(vni, src_ip) && inner_ok(&inner) { vni_dom(vni) } else { 0 };
        let (src, marked) = addrs.src_mac(dom);
        put_mac(&mut inner, 0, &addrs.dst_mac(dom));
        put_mac(&mut inner, 6, &src);
        let mut expected = inner.clone();
        if dom != 0 && ecn == 3 && !apply_ce(&mut expected) {
            // Must be dropped; the marker says so.
            dom = 0;
            if marked {
                put_mac(&mut inner, 6, &marker(0, addrs.host()));
            }
        }
        if dom != 0 && marked {
            self.expect(&expected, 0, remote_bit(src_ip));
        }

        let mut f = vec![0u8; 50 + inner.len()];
        let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
        eth.set_dst_addr(vtep_mac(A));
        eth.set_src_addr(vtep_mac(src_ip));
        eth.set_ethertype(ETH_IPV4);
        let ip = Ipv4Repr {
            src_addr: src_ip,
            dst_addr: A,
            protocol: IpProtocol::UDP,
            payload_len: 16 + inner.len(),
            ttl: 64,
            tos: ecn,
            ident: u16::from(addrs.dst),
            dont_frag: !frag,
        };
        let mut ipv = Ipv4Packet::new_unchecked(&mut f[14..]);
        ip.emit(&mut ipv);
        if frag {
            ipv.set_more_frags(true);
            ipv.fill_checksum();
        }
        UdpRepr { src_port: 49152 | u16::from(addrs.src), dst_port: VXLAN_PORT, payload_len: 8 + inner.len() }
            .emit(&mut UdpPacket::new_unchecked(&mut f[34..]));
        VxlanRepr { vni }.emit(&mut VxlanPacket::new_unchecked(&mut f[42..]));
        if !i_flag {
            f[42] = 0;
        }
        f[50..].copy_from_slice(&inner);
        self.inject(UP, &f);
    }

    /// An op-7 record: one byte `arg`, whose bits 0-1 pick an address (B,
    /// C, a stranger, A) and bit 7 a MAC other than the address's own. Op
    /// bits 3-5 (`what`): 0, an ARP reply "address is at MAC" to us; 1, an
    /// ARP request from it for (A, B, a stranger, A)[arg bits 2-3]; 2, an
    /// echo request from it to A, with arg bits 2-5 (times 16 with op bit
    /// 7) bytes of data following, bit 6 breaking its checksum; 3, a
    /// gratuitous ARP from it; 4, run, then `arg` seconds pass (times 10
    /// with op bit 7); 5, run now; 6, batch size `arg % 64 + 1`; 7, a frame
    /// of `arg & 0x7f` bytes on a port the plan does not have.
    fn special(&mut self, what: u8, long: bool, r: &mut Reader<'_>) -> Option<()> {
        let arg = r.byte()?;
        let ip = [B, C, STRANGER, A][usize::from(arg & 3)];
        // A next hop's own MAC, or another one.
        let sha = if arg & 0x80 == 0 { vtep_mac(ip) } else { MacAddr([0x02, 0x4e, 0, 0, 0, arg & 0x0f]) };
        match what {
            0 => {
                // "ip is at sha", to us.
                self.announce(ip, sha);
                let f = arp(ArpOperation::Reply, sha, ip, vtep_mac(A), vtep_mac(A), A);
                self.inject(UP, &f);
            }
            1 => {
                // "Who has (A, B, stranger, A)? Tell ip at sha."
                self.announce(ip, sha);
                let target = [A, B, STRANGER, A][usize::from((arg >> 2) & 3)];
                let f = arp(ArpOperation::Request, sha, ip, MacAddr::BROADCAST, MacAddr::ZERO, target);
                self.inject(UP, &f);
            }
            2 => {
                // Bits 2-5 the data length, 6 a bad checksum.
                let n = usize::from((arg >> 2) & 0x0f) * if long { 16 } else { 1 };
                let data = r.bytes(n);
                let f = ping(ip, &data, arg & 0x40 != 0);
                self.inject(UP, &f);
            }
            3 => {
                // ARP from a next hop to someone else (a gratuitous ARP
                // when the target is itself).
                self.announce(ip, sha);
                let f = arp(ArpOperation::Request, sha, ip, MacAddr::BROADCAST, MacAddr::ZERO, ip);
                self.inject(UP, &f);
            }
            4 => {
                // Aging walks the FDB's every slot (2^21 at least): only the
                // first few steps of an input age, the others move the
                // clock.
                self.run();
                let secs = u64::from(arg) * if long { 10 } else { 1 };
                if self.age_scans < MAX_AGE_SCANS {
                    self.age_scans += 1;
                    self.sim.advance_secs(secs);
                } else {
                    self.sim.now = Nanos(self.sim.now.0 + secs * 1_000_000_000);
                }
            }
            5 => self.run(),
            6 => self.sim.batch_size = usize::from(arg % 64) + 1,
            _ => {
                let len = usize::from(arg & 0x7f);
                let body = r.bytes(len);
                let f = frame([0xff; 6], marker(0, arg & 0x0f), None, &body, None);
                self.inject(NOWHERE, &f);
            }
        }
        Some(())
    }

    /// Runs everything queued and checks what came out.
    fn run(&mut self) {
        self.sim.run();
        assert_eq!(self.sim.io.pending_rx(), 0);
        assert_eq!(self.sim.io.chunks_in_use(), 0, "a buffer leaked");
        let nowhere = self.sim.io.take_tx(PortId(NOWHERE));
        assert!(nowhere.is_empty(), "frames sent to a port the plan does not have: {nowhere:02x?}");
        for (port, f) in self.sim.take_all_tx() {
            match port.0 {
                H10 | H20 | TRUNK | CUST | PROV => self.check_bridged(port.0, &f),
                UP => self.check_underlay(&f),
                _ => panic!("a frame was sent on port {port:?}, which is not a physical port: {f:02x?}"),
            }
        }
        self.seen.pmtu_answers += self.run_answers.len() as u64;
        self.run_answers.clear();
    }

    /// A frame out of bridge port `port`: a copy of a frame that entered
    /// its domain elsewhere, or the switch's own path-MTU answer.
    fn check_bridged(&mut self, port: u16, f: &[u8]) {
        assert!(f.len() >= 14, "runt out of port {port}: {f:02x?}");
        match (self.bridged_copy(port, f), pmtu_answer(port, f)) {
            // (A frame that passes as both is not counted as an answer: the
            // counter check is a lower bound.)
            (Ok(()), _) => {}
            (Err(why), None) => panic!("port {port}: {why}: {f:02x?}"),
            (Err(_), Some(Err(e))) => panic!("port {port}: a path-MTU answer {e}: {f:02x?}"),
            (Err(_), Some(Ok(()))) => {
                // One answer may leave by several ports (flooded while its
                // destination is not yet learned): count it once per run.
                let dom = marker_dom(&f[..6]).unwrap_or_default();
                self.run_answers.insert(untag(port, dom, f).unwrap_or_default());
            }
        }
    }

    /// Whether `f` is a frame injected in the domain of its marker source,
    /// which `port` carries, in the tagging the port gives that domain, and
    /// which entered on another port (or from a remote VTEP).
    fn bridged_copy(&self, port: u16, f: &[u8]) -> Result<(), String> {
        let Some(dom) = marker_dom(&f[6..12]) else {
            return Err("a frame no one injected in a domain (source not a marker)".into());
        };
        let key = untag(port, dom, f)?;
        match self.content.get(&key) {
            Some(bits) if bits & !(1 << port) != 0 => Ok(()),
            Some(_) => Err(format!("a frame of domain {dom} went back out of the only port it came in on")),
            None => Err(format!("a frame of domain {dom} not injected as it is")),
        }
    }

    /// A frame out of the underlay port.
    fn check_underlay(&mut self, f: &[u8]) {
        let eth = EthernetFrame::new_checked(f).unwrap_or_else(|_| panic!("underlay runt: {f:02x?}"));
        assert_eq!(eth.src_addr(), vtep_mac(A), "underlay frame not from the VTEP: {f:02x?}");
        match eth.ethertype() {
            ETH_ARP => {
                let arp = ArpPacket::new_checked(&f[14..]).unwrap_or_else(|_| panic!("bad ARP out: {f:02x?}"));
                assert_eq!((arp.sender_hardware_addr(), arp.sender_protocol_addr()), (vtep_mac(A), A), "{f:02x?}");
                match arp.operation() {
                    ArpOperation::Request => {
                        assert_eq!(eth.dst_addr(), MacAddr::BROADCAST, "{f:02x?}");
                        let t = arp.target_protocol_addr();
                        assert!(t == B || t == C, "ARP request for {t}, not a next hop: {f:02x?}");
                        self.seen.arp_requests += 1;
                    }
                    ArpOperation::Reply => self.seen.replies += 1,
                    _ => panic!("odd ARP out: {f:02x?}"),
                }
            }
            ETH_IPV4 => {
                let ip = Ipv4Packet::new_checked(&f[14..]).unwrap_or_else(|_| panic!("bad IPv4 out: {f:02x?}"));
                assert!(ip.verify_checksum(), "bad outer IPv4 checksum: {f:02x?}");
                assert_eq!(ip.src_addr(), A, "{f:02x?}");
                match ip.protocol() {
                    IpProtocol::ICMP => {
                        let icmp = Icmpv4Packet::new_checked(ip.payload()).expect("ICMP out");
                        assert_eq!(icmp.msg_type(), icmpv4::ECHO_REPLY, "{f:02x?}");
                        assert!(icmp.verify_checksum(), "bad echo reply checksum: {f:02x?}");
                        self.seen.replies += 1;
                    }
                    IpProtocol::UDP => self.check_vxlan(f, &ip),
                    p => panic!("IPv4 protocol {p} out of the underlay: {f:02x?}"),
                }
            }
            et => panic!("EtherType {et:#06x} out of the underlay: {f:02x?}"),
        }
    }

    fn check_vxlan(&mut self, f: &[u8], ip: &Ipv4Packet<&[u8]>) {
        assert_eq!(ip.header_len(), 20, "{f:02x?}");
        assert_eq!(usize::from(ip.total_len()), f.len() - 14, "outer total length: {f:02x?}");
        assert!(f.len() - 14 <= UNDERLAY_MTU, "over the underlay MTU: {} bytes", f.len() - 14);
        assert!(!ip.is_fragment(), "{f:02x?}");
        let udp = UdpPacket::new_checked(ip.payload()).expect("UDP out");
        assert_eq!((udp.dst_port(), usize::from(udp.len())), (VXLAN_PORT, f.len() - 34), "{f:02x?}");
        let vx = VxlanPacket::new_checked(udp.payload()).expect("VXLAN with the I flag");
        let h = &udp.payload()[..8];
        assert!(h[0] == 0x08 && h[1..4] == [0; 3] && h[7] == 0, "VXLAN flags or reserved bits: {f:02x?}");
        let (vni, dst) = (vx.vni(), ip.dst_addr());
        let tunnel = match (vni, dst) {
            (100, B) => 0,
            (100, C) => 1,
            (200, B) => 2,
            _ => panic!("VNI {vni} sent to {dst}, not one of its remotes: {f:02x?}"),
        };
        self.seen.vxlan += 1;
        self.seen.vxlan_per_tunnel[tunnel] += 1;
        let next_hop = EthernetFrame::new_unchecked(f).dst_addr();
        let known = &self.announced[if dst == B { 0 } else { 1 }];
        assert!(
            known.contains(&next_hop) || (self.raw_arp && !next_hop.is_multicast() && !next_hop.is_zero()),
            "VXLAN to {dst} at {next_hop:?}, which it never announced ({known:?})"
        );
        let inner = vx.payload();
        assert!(inner.len() >= 14, "inner runt: {f:02x?}");
        let dom = marker_dom(&inner[6..12]);
        assert_eq!(dom, Some(vni_dom(vni)), "isolation: VNI {vni} carries a frame of domain {dom:?}: {f:02x?}");
        match self.content.get(inner) {
            Some(bits) if bits & FROM_LOCAL != 0 => {}
            Some(_) => panic!("split horizon: a frame from a remote VTEP went to {dst}: {f:02x?}"),
            None => panic!("VNI {vni}: an inner frame not injected as it is: {f:02x?}"),
        }
    }

    /// The checks at the end of the input.
    fn finish(mut self) {
        self.run();
        let s = self.sim.pipeline.counters().snapshot();
        assert_eq!(s.packets, self.injected, "packets counted in");
        assert_eq!(s.encapsulated, self.seen.vxlan, "encapsulated");
        assert_eq!(s.arp_requests, self.seen.arp_requests, "ARP requests");
        assert_eq!(s.underlay_replies, self.seen.replies, "underlay replies");
        // Each answer is for a frame too big for a tunnel, and leaves by
        // none, one or several ports; answers that look alike are one.
        let too_big = s.drops_for(DropReason::EncapTooBig);
        assert!(s.pmtu_answers <= too_big, "{} path-MTU answers for {too_big} frames too big", s.pmtu_answers);
        assert!(
            self.seen.pmtu_answers <= s.pmtu_answers,
            "{} distinct path-MTU answers seen, {} counted",
            self.seen.pmtu_answers,
            s.pmtu_answers
        );
        assert!(s.decapsulated <= s.underlay_received, "{} decapsulated of {}", s.decapsulated, s.underlay_received);
        assert!(s.underlay_received <= self.injected_underlay, "underlay frames taken");
        let mut rx = 0;
        for (i, &t) in self.tunnels.iter().enumerate() {
            let [rx_packets, _, tx_packets, ..] = self.sim.pipeline.counters().tunnel(t).expect("tunnel counters").get();
            assert_eq!(tx_packets, self.seen.vxlan_per_tunnel[i], "tx packets of tunnel {:?}", self.tunnel_ports[i]);
            rx += rx_packets;
        }
        assert_eq!(rx, s.decapsulated, "tunnel rx packets");

        let members = |dom: u8| -> Vec<PortId> {
            let t = self.tunnel_ports;
            match dom {
                10 => vec![PortId(H10), PortId(TRUNK), t[0], t[1]],
                20 => vec![PortId(H20), PortId(TRUNK), t[2]],
                _ => vec![PortId(CUST), PortId(PROV)],
            }
        };
        // Every MAC a frame could have been learned from, in every domain
        // (walking the table's 2^21 slots would cost more than the input).
        let mut found = 0;
        for (i, &bd) in self.bds.iter().enumerate() {
            for dom in [0, 10, 20, 30] {
                for host in 0..16 {
                    let mac = MacAddr(marker(dom, host));
                    let Some(e) = self.sim.writer.get(bd, mac) else { continue };
                    found += 1;
                    let vlan = [10, 20, 30][i];
                    assert_eq!(dom, vlan, "FDB: {mac:?}, a host of VLAN {dom}, learned in VLAN {vlan}");
                    assert!(members(dom).contains(&e.port), "FDB: {mac:?} of VLAN {dom} on {:?}", e.port);
                }
            }
        }
        let live = self.sim.writer.stats().entries;
        assert_eq!(live, found, "FDB: {} entries are not markers", live - found);
    }
}

/// What `port` must do to a frame of domain `dom`: `None` if the port
/// may not carry the domain at all, else the tag (TPID, VID) it pushes.
fn egress_tag(port: u16, dom: u8) -> Option<Option<(u16, u16)>> {
    match (port, dom) {
        (H10, 10) | (TRUNK, 10) | (H20, 20) | (CUST, 30) => Some(None),
        (TRUNK, 20) => Some(Some((TPID_C, 20))),
        (PROV, 30) => Some(Some((TPID_S, 30))),
        _ => None,
    }
}

/// `f` as it left `port` in domain `dom`, with the egress tag checked and
/// taken off: the addresses, then what follows the tag.
fn untag(port: u16, dom: u8, f: &[u8]) -> Result<Vec<u8>, String> {
    let Some(tag) = egress_tag(port, dom) else {
        return Err(format!("isolation: a frame of domain {dom} left port {port}"));
    };
    let mut key = f[..12].to_vec();
    match tag {
        Some((tpid, vid)) => {
            let ok = f.len() >= 18 && be16(f, 12) == Some(tpid) && be16(f, 14).map(|t| t & 0x0fff) == Some(vid);
            if !ok {
                return Err(format!("domain {dom} must leave tagged {tpid:#06x}/{vid}"));
            }
            key.extend_from_slice(&f[16..]);
        }
        None => key.extend_from_slice(&f[12..]),
    }
    Ok(key)
}

/// The IP MTU the overlay leaves an inner packet: the underlay's, less the
/// 50 bytes of VXLAN over IPv4.
const OVERLAY_MTU: u16 = 1450;

/// Also assert, on the switch's path-MTU answers, RFC 1812 section
/// 4.3.2.7 (RFC 1122 3.2.2): no ICMP error for a frame sent to a link-layer
/// group address, or from or to an IP address that is not one host (the
/// fuzzer's first finding, fixed in `encap/icmp.rs`; docs/fuzzing.md).
const STRICT_PMTU: bool = true;

/// `None` when `f` is no ICMP "fragmentation needed"; else whether it is a
/// sound path-MTU answer on `port`: to a host of an overlay domain the port
/// carries (in that domain's tagging), with valid checksums, the overlay
/// MTU, and the offending packet's header (DF set) quoted, addressed back
/// to its source.
fn pmtu_answer(port: u16, f: &[u8]) -> Option<Result<(), String>> {
    let dom = marker_dom(&f[..6])?;
    let l2 = untag(port, dom, f).ok()?;
    if be16(&l2, 12) != Some(ETH_IPV4) {
        return None;
    }
    let ip = Ipv4Packet::new_checked(&l2[14..]).ok()?;
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    let answer = ip.protocol() == IpProtocol::ICMP
        && icmp.msg_type() == icmpv4::DEST_UNREACHABLE
        && icmp.code() == icmpv4::CODE_FRAG_NEEDED;
    if !answer {
        return None;
    }
    let check = || -> Result<(), String> {
        if dom != 10 && dom != 20 {
            return Err(format!("in domain {dom}, which no VNI carries"));
        }
        if !ip.verify_checksum() || !icmp.verify_checksum() {
            return Err("with a bad checksum".into());
        }
        let [_, _, hi, lo] = icmp.rest_of_header();
        if u16::from_be_bytes([hi, lo]) != OVERLAY_MTU {
            return Err(format!("with MTU {}, not {OVERLAY_MTU}", u16::from_be_bytes([hi, lo])));
        }
        let quoted = &ip.payload()[icmpv4::HEADER_LEN..];
        let q = Ipv4Packet::new_unchecked(quoted);
        let whole = quoted.len() >= 20
            && q.version() == 4
            && quoted.len() >= q.header_len() + 8.min(usize::from(q.total_len()).saturating_sub(q.header_len()));
        if !whole || !q.dont_frag() || (q.src_addr(), q.dst_addr()) != (ip.dst_addr(), ip.src_addr()) {
            return Err("that does not quote a DF packet from its destination to its source".into());
        }
        let group_mac = MacAddr::from_bytes(&f[6..12]).is_none_or(|m| m.is_multicast() || m.is_zero());
        let one_host = |a: Ipv4Addr| !(a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback());
        if STRICT_PMTU && (group_mac || !one_host(ip.src_addr()) || !one_host(ip.dst_addr())) {
            return Err("for a frame that must not get one (RFC 1812 4.3.2.7)".into());
        }
        Ok(())
    };
    Some(check())
}

/// The tag op bits 3-4 (`which`, 1-3; 0: none) push on a frame for port
/// kind `kind`: each port gets the tags that matter to it.
fn tag_for(kind: u16, which: u8, host: u8) -> Option<(u16, u16)> {
    let pcp = u16::from(host & 7) << 13;
    let (tpid, vid) = match (kind, which) {
        (_, 0) => return None,
        // Access: priority tag; its own VLAN (dropped); an S-tag (payload).
        (H10 | H20, 1) => (TPID_C, 0),
        (H10 | H20, 2) => (TPID_C, if kind == H10 { 10 } else { 20 }),
        (H10 | H20, _) => (TPID_S, 30),
        (TRUNK, 1) => (TPID_C, 10),
        (TRUNK, 2) => (TPID_C, 20),
        (TRUNK, _) => (TPID_C, 0),
        // Customer tags, and an S-tag from the customer.
        (CUST, 1) => (TPID_C, 100),
        (CUST, 2) => (TPID_S, 30),
        (CUST, _) => (TPID_C, 0),
        (PROV, 1) => (TPID_S, 30),
        (PROV, 2) => (TPID_S, 0),
        (PROV, _) => (TPID_C, 30),
        // Underlay: a priority tag (dropped).
        (5, _) => (TPID_C, 0),
        // Inner frames: tags of either kind (dropped).
        (_, 1) => (TPID_C, 10),
        (_, 2) => (TPID_C, 0),
        (_, _) => (TPID_S, 30),
    };
    Some((tpid, pcp | vid))
}

fn arp(op: ArpOperation, sha: MacAddr, spa: Ipv4Addr, dst: MacAddr, tha: MacAddr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(dst);
    eth.set_src_addr(sha);
    eth.set_ethertype(ETH_ARP);
    ArpRepr {
        operation: op,
        sender_hardware_addr: sha,
        sender_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut f[14..42]));
    f
}

/// An ICMP echo request from `src` to our VTEP, its checksum broken if
/// `corrupt`.
fn ping(src: Ipv4Addr, data: &[u8], corrupt: bool) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + data.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(vtep_mac(A));
    eth.set_src_addr(MacAddr(marker(0, 0x0e)));
    eth.set_ethertype(ETH_IPV4);
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: A,
        protocol: IpProtocol::ICMP,
        payload_len: 8 + data.len(),
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]));
    f[42..].copy_from_slice(data);
    let mut icmp = Icmpv4Packet::new_unchecked(&mut f[34..]);
    icmp.set_msg_type(icmpv4::ECHO_REQUEST);
    icmp.set_code(0);
    icmp.set_rest_of_header([0, 1, 0, 7]);
    icmp.fill_checksum();
    if corrupt {
        f[36] ^= 0x5a;
    }
    f
}

fuzz_target!(|data: &[u8]| {
    let mut fuzz = Fuzz::new();
    let mut r = Reader(data);
    for _ in 0..MAX_RECORDS {
        if fuzz.record(&mut r).is_none() {
            break;
        }
    }
    fuzz.finish();
});
