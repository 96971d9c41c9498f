//! Malformed frames through `xvs replay` (issue 14): each crafted frame is
//! injected on a named port, between good frames on that port and on the
//! others, and must be dropped and counted under the right drop reason
//! (`switch-core/src/pipeline/drop.rs`), while every good frame still
//! reaches exactly the port it is for and nothing leaks into another VLAN
//! or VNI.
//!
//! The config is `tests/fixtures/malformed.toml`: four domains (VLANs 10,
//! 20, 30, 60), access ports, a trunk without a native VLAN, an IPv4 VTEP
//! carrying VXLAN VNIs 100 and 300 and Geneve VNI 5000, and an IPv6 VTEP
//! carrying VXLAN VNI 600. Every MAC the good traffic uses is a static FDB
//! entry, so no good frame floods and each port's output is known exactly.
//!
//! One replay per case. Its input, by capture time:
//!
//! 1. at 10 ms, one mixed batch of every good frame (one or more per port);
//! 2. at 20 ms, one batch from the case's port alone: a good frame, the
//!    malformed frame, the good frame again (a batch from one underlay
//!    port takes the pipeline's direct underlay path);
//! 3. at 30 ms, every good frame again, with the malformed frame once more
//!    in the middle of that mixed batch (the L2 loop, which sets aside
//!    underlay frames for the underlay stage).
//!
//! So each case's reason must count exactly 2, every other reason 0, and
//! every port must send exactly the good frames meant for it (found by the
//! marker each one carries, also inside encapsulated output).
//!
//! Cases the current pipeline does not handle as issue 14 asks are in
//! [`findings`], documented and not asserted as drops (only that they stay
//! inside their own domain). Two this suite found are fixed and asserted
//! as drops: a cut inner tag on a stripping VNI, which panicked the worker
//! ([`strip_of_a_cut_inner_tag_is_dropped`]), and a priority tag over a
//! C-tag on an access port, which hopped VLANs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use xvs_control::pcapio::{read_capture, write_capture, Captured};
use xvs_tests::{repo_root, scratch_dir, xvs_bin};

// ---------------------------------------------------------------------------
// Addresses (they match tests/fixtures/malformed.toml)
// ---------------------------------------------------------------------------

type Mac = [u8; 6];

/// `02:00:00:00:00:n`, the hosts of the fixture.
const fn m(n: u8) -> Mac {
    [0x02, 0, 0, 0, 0, n]
}

const BCAST: Mac = [0xff; 6];
const MCAST: Mac = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
const ZERO: Mac = [0; 6];
const STP: Mac = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
const LLDP: Mac = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];

const VTEP4_MAC: Mac = [0x02, 0, 0, 0, 0x01, 0x01];
const PEER4_MAC: Mac = [0x02, 0, 0, 0, 0x01, 0x02];
const VTEP6_MAC: Mac = [0x02, 0, 0, 0, 0x06, 0x01];
const PEER6_MAC: Mac = [0x02, 0, 0, 0, 0x06, 0x02];

const VTEP4: [u8; 4] = [192, 168, 100, 1];
const PEER4: [u8; 4] = [192, 168, 100, 2];
/// On the VTEP's subnet, but in no VNI's remotes.
const STRANGER4: [u8; 4] = [192, 168, 100, 9];
const OTHER4: [u8; 4] = [192, 168, 100, 7];

const VTEP6: [u8; 16] = [0xfd, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const PEER6: [u8; 16] = [0xfd, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const OTHER6: [u8; 16] = [0xfd, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];

const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;

/// IEEE local experimental EtherType: payloads that are not IP, so no
/// ICMP answer or ECN rule applies to them.
const EXP: u16 = 0x88b5;
const ARP: u16 = 0x0806;
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;
const CTAG: u16 = 0x8100;
const STAG: u16 = 0x88a8;

const UDP: u8 = 17;

/// In every malformed frame's payload where there is room for it: no port
/// may ever send it.
const BAD: &[u8] = b"BAD!";

// Offsets in an outer frame without extension headers or IPv4 options.
const IP: usize = 14;
const UDP4: usize = 34;
const TUN4: usize = 42;
const UDP6: usize = 54;
const TUN6: usize = 62;

// ---------------------------------------------------------------------------
// Frame builder
// ---------------------------------------------------------------------------

/// An Ethernet frame, not padded.
fn eth(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Padded to the 60-byte Ethernet minimum (without FCS), as a NIC sends it.
fn padded(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// A padded L2 frame carrying `payload` (non-IP).
fn l2(dst: Mac, src: Mac, payload: &[u8]) -> Vec<u8> {
    padded(eth(dst, src, EXP, payload))
}

/// `f` with a (TPID, TCI) tag inserted after its addresses.
fn tagged(mut f: Vec<u8>, tpid: u16, tci: u16) -> Vec<u8> {
    let t = tpid.to_be_bytes();
    let c = tci.to_be_bytes();
    f.splice(12..12, [t[0], t[1], c[0], c[1]]);
    f
}

/// `f` padded (or filled) with `fill` bytes up to `len`.
fn sized(mut f: Vec<u8>, len: usize) -> Vec<u8> {
    f.resize(len, 0x5a);
    f
}

/// `f` after `edit`.
fn with(mut f: Vec<u8>, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    edit(&mut f);
    f
}

fn put16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// The Internet checksum (RFC 1071) of `data` added to `initial`.
fn inet_sum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A 20-byte IPv4 header (TTL 64, DF clear) with a valid checksum.
fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, protocol, 0, 0];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    put16(&mut p, 2, (20 + payload.len()) as u16);
    p.extend_from_slice(payload);
    fix_ip4_at(&mut p, 0);
    p
}

/// Recomputes the checksum of the IPv4 header at `at` (its IHL's length,
/// clamped to the buffer).
fn fix_ip4_at(f: &mut [u8], at: usize) {
    let ihl = usize::from(f[at] & 0x0f) * 4;
    let end = (at + ihl.max(20)).min(f.len());
    f[at + 10] = 0;
    f[at + 11] = 0;
    let c = inet_sum(0, &f[at..end]);
    put16(f, at + 10, c);
}

/// Recomputes the outer IPv4 header checksum of an Ethernet frame.
fn fix_ip4(f: &mut [u8]) {
    fix_ip4_at(f, IP);
}

/// A UDP datagram with a zero checksum ("none", valid over IPv4).
fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&src_port.to_be_bytes());
    d.extend_from_slice(&dst_port.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// An 8-byte VXLAN header with the I flag and `vni`.
fn vxlan_hdr(vni: u32) -> Vec<u8> {
    let v = vni.to_be_bytes();
    vec![0x08, 0, 0, 0, v[1], v[2], v[3], 0]
}

/// One Geneve option: class, type, and data in whole 4-byte words.
fn gopt(class: u16, option_type: u8, data: &[u8]) -> Vec<u8> {
    assert!(data.len().is_multiple_of(4) && data.len() <= 124);
    let mut o = class.to_be_bytes().to_vec();
    o.push(option_type);
    o.push((data.len() / 4) as u8);
    o.extend_from_slice(data);
    o
}

/// A Geneve header (version 0, protocol Ethernet) with `options`; the C
/// bit is set when an option is critical, as a sender must.
fn geneve_hdr(vni: u32, options: &[Vec<u8>]) -> Vec<u8> {
    let opts: Vec<u8> = options.concat();
    let critical = options.iter().any(|o| o[2] & 0x80 != 0);
    let v = vni.to_be_bytes();
    let mut h = vec![(opts.len() / 4) as u8, if critical { 0x40 } else { 0 }, 0x65, 0x58, v[1], v[2], v[3], 0];
    h.extend_from_slice(&opts);
    h
}

/// An Ethernet frame from the IPv4 peer VTEP to ours, carrying UDP to
/// `dst_port` with `payload`.
fn outer4(src: [u8; 4], dst_port: u16, payload: &[u8]) -> Vec<u8> {
    eth(VTEP4_MAC, PEER4_MAC, IPV4, &ipv4(src, VTEP4, UDP, &udp(50000, dst_port, payload)))
}

/// VXLAN over IPv4 from the peer: `vni`, then `inner`.
fn vxlan4(vni: u32, inner: &[u8]) -> Vec<u8> {
    outer4(PEER4, VXLAN_PORT, &[vxlan_hdr(vni), inner.to_vec()].concat())
}

/// Geneve over IPv4 from the peer.
fn geneve4(vni: u32, options: &[Vec<u8>], inner: &[u8]) -> Vec<u8> {
    outer4(PEER4, GENEVE_PORT, &[geneve_hdr(vni, options), inner.to_vec()].concat())
}

/// A 40-byte IPv6 header (hop limit 64) followed by `payload`, whose first
/// header is `next`.
fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    put16(&mut p, 4, payload.len() as u16);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// Fills the checksum of the UDP datagram at `at` in an IPv6 frame, over
/// the datagram its length field claims (clamped to the frame) and the
/// pseudo header, as a receiver computes it.
fn fix_udp6_at(f: &mut [u8], at: usize) {
    let (src, dst) = (IP + 8..IP + 24, IP + 24..IP + 40);
    let ulen = usize::from(u16::from_be_bytes([f[at + 4], f[at + 5]]));
    let mut pseudo = 0u32;
    for r in [src, dst] {
        for c in f[r].chunks_exact(2) {
            pseudo += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
    }
    pseudo += ulen as u32 + u32::from(UDP);
    f[at + 6] = 0;
    f[at + 7] = 0;
    let end = (at + ulen).min(f.len());
    let c = match inet_sum(pseudo, &f[at..end]) {
        0 => 0xffff,
        c => c,
    };
    put16(f, at + 6, c);
}

/// VXLAN over IPv6 from the IPv6 peer, with a valid UDP checksum.
fn vxlan6(vni: u32, inner: &[u8]) -> Vec<u8> {
    let payload = udp(50000, VXLAN_PORT, &[vxlan_hdr(vni), inner.to_vec()].concat());
    with(eth(VTEP6_MAC, PEER6_MAC, IPV6, &ipv6(PEER6, VTEP6, UDP, &payload)), |f| fix_udp6_at(f, UDP6))
}

/// An IPv6 VXLAN frame whose UDP datagram follows the extension headers
/// `ext` (each a whole header; `first` is the first one's type; each one's
/// next-header byte must already be set), with a valid UDP checksum.
fn vxlan6_ext(first: u8, ext: &[u8], inner: &[u8]) -> Vec<u8> {
    let payload = [ext.to_vec(), udp(50000, VXLAN_PORT, &[vxlan_hdr(600), inner.to_vec()].concat())].concat();
    with(eth(VTEP6_MAC, PEER6_MAC, IPV6, &ipv6(PEER6, VTEP6, first, &payload)), |f| fix_udp6_at(f, UDP6 + ext.len()))
}

/// An ARP body: htype, ptype, hlen, plen, then a request from the peer for
/// the VTEP's address (addresses laid out for 6-byte MACs and IPv4).
fn arp_body(htype: u16, ptype: u16, hlen: u8, plen: u8, sha: Mac) -> Vec<u8> {
    let mut b = Vec::with_capacity(28);
    b.extend_from_slice(&htype.to_be_bytes());
    b.extend_from_slice(&ptype.to_be_bytes());
    b.extend_from_slice(&[hlen, plen, 0, 1]);
    b.extend_from_slice(&sha);
    b.extend_from_slice(&PEER4);
    b.extend_from_slice(&ZERO);
    b.extend_from_slice(&VTEP4);
    b
}

fn arp_frame(body: &[u8]) -> Vec<u8> {
    padded(eth(BCAST, PEER4_MAC, ARP, body))
}

/// An ICMP echo request from the peer to the VTEP, checksum valid.
fn icmp_echo() -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x00, 0x01, 0x00, 0x01];
    icmp.extend_from_slice(b"ping BAD!");
    let c = inet_sum(0, &icmp);
    put16(&mut icmp, 2, c);
    eth(VTEP4_MAC, PEER4_MAC, IPV4, &ipv4(PEER4, VTEP4, 1, &icmp))
}

// ---------------------------------------------------------------------------
// Good traffic
// ---------------------------------------------------------------------------

/// The marker of good frame `name`, which its payload carries.
fn marker(name: &str) -> Vec<u8> {
    format!("G:{name};").into_bytes()
}

/// A good frame: sent on `port`, it must leave on `to` only.
struct Good {
    name: &'static str,
    port: &'static str,
    to: &'static str,
    frame: Vec<u8>,
}

/// The inner frame of good frame `name`: `src` to `dst`, non-IP.
fn good_inner(dst: Mac, src: Mac, name: &str) -> Vec<u8> {
    l2(dst, src, &marker(name))
}

fn good_frames() -> Vec<Good> {
    let g = |name, port, to, frame| Good { name, port, to, frame };
    let remote_option = gopt(0x0102, 0x01, &[0x12, 0x34, 0xab, 0xcd]);
    vec![
        g("h1>h2", "h1", "h2", good_inner(m(0x12), m(0x11), "h1>h2")),
        g("h2>trunk", "h2", "trunk", good_inner(m(0x13), m(0x12), "h2>trunk")),
        g("h3>trunk", "h3", "trunk", good_inner(m(0x23), m(0x21), "h3>trunk")),
        g("h4>vx300", "h4", "uplink", good_inner(m(0x39), m(0x31), "h4>vx300")),
        g("h6>vx600", "h6", "uplink6", good_inner(m(0x69), m(0x61), "h6>vx600")),
        g("trunk>h1", "trunk", "h1", tagged(good_inner(m(0x11), m(0x13), "trunk>h1"), CTAG, 10)),
        g("trunk>vx100", "trunk", "uplink", tagged(good_inner(m(0x19), m(0x13), "trunk>vx100"), CTAG, 10)),
        g("trunk>h3", "trunk", "h3", tagged(good_inner(m(0x21), m(0x23), "trunk>h3"), CTAG, (5 << 13) | 20)),
        g("vx100>h1", "uplink", "h1", vxlan4(100, &good_inner(m(0x11), m(0x19), "vx100>h1"))),
        g("gnv5000>h3", "uplink", "h3", geneve4(5000, &[remote_option], &good_inner(m(0x21), m(0x29), "gnv5000>h3"))),
        // VNI 300 strips the one inner tag its remote sends.
        g("vx300>h4", "uplink", "h4", vxlan4(300, &tagged(good_inner(m(0x31), m(0x39), "vx300>h4"), CTAG, 30))),
        g("vx600>h6", "uplink6", "h6", vxlan6(600, &good_inner(m(0x61), m(0x69), "vx600>h6"))),
    ]
}

/// The good frame a case on `port` is surrounded with, unless it names
/// one.
fn default_around(port: &str) -> &'static str {
    match port {
        "h1" => "h1>h2",
        "h2" => "h2>trunk",
        "h3" => "h3>trunk",
        "h4" => "h4>vx300",
        "h6" => "h6>vx600",
        "trunk" => "trunk>h1",
        "uplink" => "vx100>h1",
        "uplink6" => "vx600>h6",
        other => panic!("no good frame on port {other}"),
    }
}

const PORTS: [&str; 9] = ["h1", "h2", "h3", "h4", "h6", "trunk", "trunk_native", "uplink", "uplink6"];

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// What must become of a malformed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Dropped by the pipeline and counted under this reason.
    Drop(&'static str),
    /// Longer than the ingress port's MTU allows: refused before the
    /// pipeline (`rx_too_big` in the port's summary), as the kernel drops
    /// such a frame before AF_XDP sees it.
    RxTooBig,
}

struct Case {
    name: &'static str,
    port: &'static str,
    frame: Vec<u8>,
    expect: Expect,
    /// The good frame on `port` around it (default: [`default_around`]).
    around: Option<&'static str>,
}

fn case(name: &'static str, port: &'static str, reason: &'static str, frame: Vec<u8>) -> Case {
    Case { name, port, frame, expect: Expect::Drop(reason), around: None }
}

impl Case {
    fn around(mut self, good: &'static str) -> Case {
        self.around = Some(good);
        self
    }
}

/// Ethernet and VLAN tags on host ports and the trunk: runts, cut tags,
/// VLAN membership, source and destination MACs, MTUs.
fn l2_cases() -> Vec<Case> {
    let good = || l2(m(0x12), m(0x11), BAD);
    let to_h1 = |src: Mac, vid: u16| tagged(l2(m(0x11), src, BAD), CTAG, vid);
    vec![
        // Runts: shorter than an Ethernet header. (Frames of 14 to 59
        // bytes are whole Ethernet headers to the switch and are
        // forwarded: see `findings`.)
        case("runt_0_bytes", "h1", "truncated", Vec::new()),
        case("runt_1_byte", "h1", "truncated", vec![0x02]),
        case("runt_6_bytes_dst_only", "h1", "truncated", m(0x12).to_vec()),
        case("runt_12_bytes_no_ethertype", "h1", "truncated", good()[..12].to_vec()),
        case("runt_13_bytes", "h1", "truncated", good()[..13].to_vec()),
        case("runt_13_bytes_on_trunk", "trunk", "truncated", to_h1(m(0x13), 10)[..13].to_vec()),
        // A tag the port recognises, cut off: after the TPID, in the TCI,
        // and without (all of) the inner EtherType.
        case("vlan_tag_cut_after_tpid", "trunk", "truncated", to_h1(m(0x13), 10)[..14].to_vec()),
        case("vlan_tag_cut_in_tci", "trunk", "truncated", to_h1(m(0x13), 10)[..15].to_vec()),
        case("vlan_tag_without_inner_ethertype", "trunk", "truncated", to_h1(m(0x13), 10)[..16].to_vec()),
        case("vlan_tag_half_inner_ethertype", "trunk", "truncated", to_h1(m(0x13), 10)[..17].to_vec()),
        case("vlan_tag_cut_on_access_port", "h1", "truncated", tagged(good(), CTAG, 10)[..16].to_vec()),
        // VLAN membership and stacks.
        case("tag_of_own_vlan_on_access_port", "h1", "vlan_not_allowed", tagged(good(), CTAG, 10)),
        case("tag_of_other_vlan_on_access_port", "h1", "vlan_not_allowed", tagged(good(), CTAG, 20)),
        case("two_tags_on_access_port", "h1", "vlan_not_allowed", tagged(tagged(good(), CTAG, 20), CTAG, 10)),
        // A priority tag over a C-tag: popped where VLAN 10 leaves
        // untagged, the C-tag would put the frame in VLAN 20 (VLAN hopping).
        case(
            "priority_tag_over_ctag_on_access_port",
            "h1",
            "vlan_not_allowed",
            tagged(tagged(good(), CTAG, 20), CTAG, 0),
        ),
        case("vlan_not_carried_by_trunk", "trunk", "vlan_not_allowed", to_h1(m(0x13), 99)),
        case("reserved_vid_4095", "trunk", "reserved_vlan", to_h1(m(0x13), 0x0fff)),
        case("untagged_on_trunk_without_native", "trunk", "untagged_not_allowed", l2(m(0x11), m(0x13), BAD)),
        case("priority_tag_on_trunk_without_native", "trunk", "vlan_not_allowed", to_h1(m(0x13), 5 << 13)),
        // An 802.1ad S-tag is payload to an 802.1Q trunk: the frame is
        // untagged to it, and the trunk has no native VLAN.
        case(
            "stag_stack_on_dot1q_trunk",
            "trunk",
            "untagged_not_allowed",
            tagged(tagged(l2(m(0x11), m(0x13), BAD), CTAG, 10), STAG, 10),
        ),
        // Source MACs that must never be learned.
        case("src_multicast", "h1", "src_mac_multicast", l2(m(0x12), MCAST, BAD)),
        case("src_broadcast", "h1", "src_mac_multicast", l2(m(0x12), BCAST, BAD)),
        case("src_zero", "h1", "src_mac_zero", l2(m(0x12), ZERO, BAD)),
        case("src_multicast_tagged", "trunk", "src_mac_multicast", to_h1(MCAST, 10)),
        case("src_zero_tagged", "trunk", "src_mac_zero", to_h1(ZERO, 10)),
        case("src_spoofs_static_mac_of_other_port", "h1", "static_mac_move", l2(BCAST, m(0x12), BAD)),
        // Destinations no bridge forwards.
        case("dst_reserved_stp", "h1", "reserved_multicast", l2(STP, m(0x11), BAD)),
        case("dst_reserved_lldp_tagged", "trunk", "reserved_multicast", tagged(l2(LLDP, m(0x13), BAD), CTAG, 10)),
        // MTUs: every port is 1500 (max frame 1518 with one tag) but h3
        // (1400: 1418) and the underlay links (9000).
        Case {
            name: "above_ingress_mtu_untagged",
            port: "h1",
            frame: sized(l2(m(0x12), m(0x11), BAD), 1519),
            expect: Expect::RxTooBig,
            around: None,
        },
        Case {
            name: "above_ingress_mtu_tagged",
            port: "trunk",
            frame: sized(to_h1(m(0x13), 10), 1519),
            expect: Expect::RxTooBig,
            around: None,
        },
        case(
            "above_egress_mtu_of_h3",
            "trunk",
            "egress_too_big",
            sized(tagged(l2(m(0x21), m(0x23), BAD), CTAG, 20), 1518),
        ),
        // A full-sized untagged frame (1518 bytes: MTU + 18, accepted on
        // h1) that the trunk's tag push makes 1522 bytes long.
        case("tag_push_above_trunk_mtu", "h1", "egress_too_big", sized(l2(m(0x13), m(0x11), BAD), 1518)),
        // 1514 bytes of inner frame make a 1550-byte outer IPv4 packet
        // (1570 over IPv6); the VTEPs' MTU is 1500.
        case("above_vtep_mtu_vxlan4", "h1", "encap_too_big", sized(l2(m(0x19), m(0x11), BAD), 1514)),
        case("above_vtep_mtu_vxlan6", "h6", "encap_too_big", sized(l2(m(0x69), m(0x61), BAD), 1514)),
    ]
}

/// The inner frame most tunnel cases carry: good-looking, for VNI 100's
/// domain (h1), marked bad.
fn inner100() -> Vec<u8> {
    l2(m(0x11), m(0x19), BAD)
}

/// Outer Ethernet, IPv4, UDP and VXLAN on the IPv4 underlay port, and what
/// the VTEP answers there (ARP, ICMP).
fn underlay4_cases() -> Vec<Case> {
    let vx = || vxlan4(100, &inner100());
    let vx_ip = |edit: fn(&mut Vec<u8>)| with(vx(), |f| (edit(f), fix_ip4(f)).1);
    let arp_ok = || arp_body(1, 0x0800, 6, 4, PEER4_MAC);
    vec![
        // Outer Ethernet.
        case("outer_eth_runt", "uplink", "truncated", vx()[..13].to_vec()),
        case("outer_tagged_on_underlay", "uplink", "vlan_not_allowed", tagged(vx(), CTAG, 10)),
        case("outer_vlan_tag_cut", "uplink", "truncated", tagged(vx(), CTAG, 10)[..16].to_vec()),
        case(
            "outer_dst_mac_not_vtep",
            "uplink",
            "underlay_not_for_us",
            with(vx(), |f| f[..6].copy_from_slice(&m(0x77))),
        ),
        // Outer IPv4 header.
        case("outer_ipv4_missing", "uplink", "decap_truncated", vx()[..14].to_vec()),
        case("outer_ipv4_cut", "uplink", "decap_truncated", vx()[..IP + 19].to_vec()),
        case("outer_ipv4_version_5", "uplink", "underlay_bad_ip", vx_ip(|f| f[IP] = 0x55)),
        case("outer_ipv4_ihl_4", "uplink", "underlay_bad_ip", vx_ip(|f| f[IP] = 0x44)),
        case("outer_ipv4_ihl_0", "uplink", "underlay_bad_ip", vx_ip(|f| f[IP] = 0x40)),
        case(
            "outer_ipv4_ihl_15_past_frame",
            "uplink",
            "decap_truncated",
            with(vx()[..IP + 40].to_vec(), |f| {
                f[IP] = 0x4f;
                put16(f, IP + 2, 40);
            }),
        ),
        case(
            "outer_ipv4_total_len_past_frame",
            "uplink",
            "decap_truncated",
            vx_ip(|f| {
                let n = f.len() - IP + 1;
                put16(f, IP + 2, n as u16)
            }),
        ),
        case("outer_ipv4_total_len_below_header", "uplink", "underlay_bad_ip", vx_ip(|f| put16(f, IP + 2, 19))),
        case("outer_ipv4_total_len_cuts_udp", "uplink", "decap_truncated", vx_ip(|f| put16(f, IP + 2, 20 + 6))),
        case("outer_ipv4_total_len_cuts_vxlan", "uplink", "decap_truncated", vx_ip(|f| put16(f, IP + 2, 20 + 8 + 4))),
        case("outer_ipv4_bad_checksum", "uplink", "decap_bad_ip_checksum", with(vx(), |f| f[IP + 10] ^= 0x5a)),
        case("outer_ipv4_fragment_mf", "uplink", "decap_fragment", vx_ip(|f| put16(f, IP + 6, 0x2000))),
        case("outer_ipv4_fragment_offset", "uplink", "decap_fragment", vx_ip(|f| put16(f, IP + 6, 185))),
        case(
            "outer_ipv4_fragment_mf_and_offset",
            "uplink",
            "decap_fragment",
            vx_ip(|f| put16(f, IP + 6, 0x2000 | 185)),
        ),
        case(
            "outer_ipv4_not_for_vtep_ip",
            "uplink",
            "underlay_not_for_us",
            vx_ip(|f| f[IP + 16..IP + 20].copy_from_slice(&OTHER4)),
        ),
        case("outer_ipv4_protocol_tcp", "uplink", "underlay_unsupported", vx_ip(|f| f[IP + 9] = 6)),
        // UDP (zero checksums: "none" over IPv4, so lengths are judged).
        case("udp_len_below_header", "uplink", "decap_truncated", with(vx(), |f| put16(f, UDP4 + 4, 4))),
        case(
            "udp_len_past_ip_payload",
            "uplink",
            "decap_truncated",
            with(vx(), |f| {
                let n = f.len() - UDP4 + 1;
                put16(f, UDP4 + 4, n as u16)
            }),
        ),
        case("udp_len_cuts_vxlan_header", "uplink", "decap_truncated", with(vx(), |f| put16(f, UDP4 + 4, 8 + 4))),
        case(
            "udp_len_cuts_inner_ethernet",
            "uplink",
            "decap_inner_truncated",
            with(vx(), |f| put16(f, UDP4 + 4, 8 + 8 + 10)),
        ),
        case("udp_bad_checksum", "uplink", "decap_bad_udp_checksum", with(vx(), |f| put16(f, UDP4 + 6, 0x1234))),
        case("udp_to_other_port", "uplink", "underlay_unsupported", with(vx(), |f| put16(f, UDP4 + 2, 4790))),
        // VXLAN header.
        case("vxlan_header_cut", "uplink", "decap_truncated", outer4(PEER4, VXLAN_PORT, &vxlan_hdr(100)[..7])),
        case("vxlan_no_i_flag", "uplink", "vxlan_no_i_flag", with(vx(), |f| f[TUN4] = 0)),
        case("vxlan_other_flags_no_i_flag", "uplink", "vxlan_no_i_flag", with(vx(), |f| f[TUN4] = 0xf7)),
        case("vxlan_unknown_vni", "uplink", "decap_unknown_vni", vxlan4(999, &inner100())),
        case("vxlan_for_geneve_vni", "uplink", "decap_unknown_vni", vxlan4(5000, &inner100())),
        case(
            "vxlan_from_source_not_allowed",
            "uplink",
            "decap_source_not_allowed",
            outer4(STRANGER4, VXLAN_PORT, &[vxlan_hdr(100), inner100()].concat()),
        ),
        // Inner Ethernet.
        case("inner_eth_missing", "uplink", "decap_inner_truncated", vxlan4(100, &[])),
        case("inner_eth_cut", "uplink", "decap_inner_truncated", vxlan4(100, &inner100()[..13])),
        case("inner_src_multicast", "uplink", "decap_inner_bad_source", vxlan4(100, &l2(m(0x11), MCAST, BAD))),
        case("inner_src_broadcast", "uplink", "decap_inner_bad_source", vxlan4(100, &l2(m(0x11), BCAST, BAD))),
        case("inner_src_zero", "uplink", "decap_inner_bad_source", vxlan4(100, &l2(m(0x11), ZERO, BAD))),
        case("inner_ctag_on_dropping_vni", "uplink", "decap_inner_vlan", vxlan4(100, &tagged(inner100(), CTAG, 10))),
        case("inner_stag_on_dropping_vni", "uplink", "decap_inner_vlan", vxlan4(100, &tagged(inner100(), STAG, 10))),
        case(
            "inner_priority_tag_on_dropping_vni",
            "uplink",
            "decap_inner_vlan",
            vxlan4(100, &tagged(inner100(), CTAG, 5 << 13)),
        ),
        // VNI 300 strips one inner tag; a second one is a stack deeper
        // than any VNI allows.
        case(
            "inner_two_tags_on_stripping_vni",
            "uplink",
            "decap_inner_vlan",
            vxlan4(300, &tagged(tagged(l2(m(0x31), m(0x39), BAD), CTAG, 30), CTAG, 30)),
        )
        .around("vx300>h4"),
        // The strip leaves 12 bytes: no Ethernet header. (With 14 or 15
        // bytes, xvs panics: see `strip_of_a_cut_inner_tag_is_dropped`.)
        case(
            "inner_tag_without_ethernet_on_stripping_vni",
            "uplink",
            "decap_inner_truncated",
            vxlan4(300, &tagged(l2(m(0x31), m(0x39), BAD), CTAG, 30)[..16]),
        )
        .around("vx300>h4"),
        case("inner_dst_reserved", "uplink", "reserved_multicast", vxlan4(100, &l2(STP, m(0x19), BAD))),
        case(
            "inner_above_egress_mtu_of_h3",
            "uplink",
            "egress_too_big",
            geneve4(5000, &[], &sized(l2(m(0x21), m(0x29), BAD), 1514)),
        )
        .around("gnv5000>h3"),
        // ARP on the underlay.
        case("arp_bad_hlen", "uplink", "underlay_bad_arp", arp_frame(&arp_body(1, 0x0800, 8, 4, PEER4_MAC))),
        case("arp_bad_plen", "uplink", "underlay_bad_arp", arp_frame(&arp_body(1, 0x0800, 6, 16, PEER4_MAC))),
        case("arp_bad_htype", "uplink", "underlay_bad_arp", arp_frame(&arp_body(6, 0x0800, 6, 4, PEER4_MAC))),
        case("arp_bad_ptype", "uplink", "underlay_bad_arp", arp_frame(&arp_body(1, 0x86dd, 6, 4, PEER4_MAC))),
        case("arp_body_cut", "uplink", "underlay_bad_arp", eth(BCAST, PEER4_MAC, ARP, &arp_ok()[..20])),
        case("arp_sender_multicast", "uplink", "underlay_bad_arp", arp_frame(&arp_body(1, 0x0800, 6, 4, MCAST))),
        case("arp_sender_zero", "uplink", "underlay_bad_arp", arp_frame(&arp_body(1, 0x0800, 6, 4, ZERO))),
        // ICMP to the VTEP.
        case("icmp_echo_bad_checksum", "uplink", "underlay_bad_icmp", with(icmp_echo(), |f| f[IP + 20 + 2] ^= 0xff)),
        case("icmp_cut", "uplink", "decap_truncated", with(icmp_echo(), |f| (put16(f, IP + 2, 24), fix_ip4(f)).1)),
    ]
}

/// The Geneve header and its options, on the IPv4 underlay port.
fn geneve_cases() -> Vec<Case> {
    let inner = || l2(m(0x21), m(0x29), BAD);
    let gn = |options: &[Vec<u8>]| geneve4(5000, options, &inner());
    let opt = gopt(0x0102, 0x01, &[1, 2, 3, 4]);
    let critical = gopt(0x0102, 0x80, &[1, 2, 3, 4]);
    let cases = vec![
        case("geneve_header_cut", "uplink", "decap_truncated", outer4(PEER4, GENEVE_PORT, &geneve_hdr(5000, &[])[..7])),
        case("geneve_version_1", "uplink", "geneve_bad_version", with(gn(&[]), |f| f[TUN4] |= 0x40)),
        case("geneve_version_3", "uplink", "geneve_bad_version", with(gn(&[]), |f| f[TUN4] |= 0xc0)),
        // Options announced past the packet (63 words = 252 bytes).
        case("geneve_opt_len_past_packet", "uplink", "geneve_options_truncated", with(gn(&[]), |f| f[TUN4] = 63)),
        // Options area ends inside the packet, but the packet ends inside
        // the options (no inner frame after them).
        case(
            "geneve_options_cut_by_packet_end",
            "uplink",
            "geneve_options_truncated",
            outer4(PEER4, GENEVE_PORT, &geneve_hdr(5000, std::slice::from_ref(&opt))[..8 + 6]),
        ),
        // An option whose length runs past the options area.
        case(
            "geneve_option_len_past_options_area",
            "uplink",
            "geneve_options_truncated",
            with(gn(std::slice::from_ref(&opt)), |f| f[TUN4 + 8 + 3] = 5),
        ),
        // The options length set on an empty option list, the packet
        // ending with the fixed header. (With an inner frame behind it,
        // its first bytes would be read as an option: see `findings`.)
        case(
            "geneve_opt_len_on_empty_option_list",
            "uplink",
            "geneve_options_truncated",
            outer4(PEER4, GENEVE_PORT, &with(geneve_hdr(5000, &[]), |h| h[0] = 1)),
        ),
        case(
            "geneve_unknown_critical_option",
            "uplink",
            "geneve_unknown_critical",
            gn(std::slice::from_ref(&critical)),
        ),
        // The C bit clear although an option is critical: the option
        // decides.
        case(
            "geneve_critical_option_without_c_bit",
            "uplink",
            "geneve_unknown_critical",
            with(gn(std::slice::from_ref(&critical)), |f| f[TUN4 + 1] = 0),
        ),
        case("geneve_critical_after_known_option", "uplink", "geneve_unknown_critical", gn(&[opt.clone(), critical])),
        case("geneve_oam", "uplink", "geneve_oam", with(gn(&[]), |f| f[TUN4 + 1] = 0x80)),
        case("geneve_not_ethernet", "uplink", "geneve_not_ethernet", with(gn(&[]), |f| put16(f, TUN4 + 2, IPV4))),
        case("geneve_for_vxlan_vni", "uplink", "decap_unknown_vni", geneve4(100, &[], &inner100())),
        case("geneve_unknown_vni", "uplink", "decap_unknown_vni", geneve4(777, &[], &inner())),
        case(
            "geneve_from_source_not_allowed",
            "uplink",
            "decap_source_not_allowed",
            outer4(STRANGER4, GENEVE_PORT, &[geneve_hdr(5000, &[]), inner()].concat()),
        ),
        case("geneve_udp_len_cuts_header", "uplink", "decap_truncated", with(gn(&[]), |f| put16(f, UDP4 + 4, 8 + 6))),
        case(
            "geneve_outer_fragment",
            "uplink",
            "decap_fragment",
            with(gn(&[]), |f| (put16(f, IP + 6, 0x2000), fix_ip4(f)).1),
        ),
        case("geneve_inner_missing", "uplink", "decap_inner_truncated", geneve4(5000, std::slice::from_ref(&opt), &[])),
        case("geneve_inner_cut", "uplink", "decap_inner_truncated", geneve4(5000, &[opt], &inner()[..12])),
        case(
            "geneve_inner_src_multicast",
            "uplink",
            "decap_inner_bad_source",
            geneve4(5000, &[], &l2(m(0x21), MCAST, BAD)),
        ),
        case("geneve_inner_src_zero", "uplink", "decap_inner_bad_source", geneve4(5000, &[], &l2(m(0x21), ZERO, BAD))),
        case("geneve_inner_tagged", "uplink", "decap_inner_vlan", geneve4(5000, &[], &tagged(inner(), CTAG, 20))),
    ];
    cases.into_iter().map(|c| if c.around.is_none() { c.around("gnv5000>h3") } else { c }).collect()
}

/// The IPv6 underlay port: the outer IPv6 header, extension headers, UDP
/// checksums, and VXLAN over IPv6.
fn underlay6_cases() -> Vec<Case> {
    let inner = || l2(m(0x61), m(0x69), BAD);
    let vx = || vxlan6(600, &inner());
    // Extension headers, each 8 bytes: hop-by-hop and destination options
    // (a PadN option each), a routing header with no segments left, and a
    // fragment header (the first fragment: M set, offset 0).
    let opts = |next: u8| vec![next, 0, 1, 4, 0, 0, 0, 0];
    let routing = |next: u8| vec![next, 0, 4, 0, 0, 0, 0, 0];
    let fragment = |next: u8| vec![next, 0, 0, 1, 0, 0, 0x12, 0x34];
    let (hbh, dst_opts, route, frag) = (0u8, 60u8, 43u8, 44u8);
    vec![
        case("outer_ipv6_cut", "uplink6", "decap_truncated", vx()[..IP + 39].to_vec()),
        case("outer_ipv6_version_4", "uplink6", "underlay_bad_ip", with(vx(), |f| f[IP] = 0x40)),
        case(
            "outer_ipv6_payload_len_past_frame",
            "uplink6",
            "decap_truncated",
            with(vx(), |f| {
                let n = f.len() - UDP6 + 1;
                put16(f, IP + 4, n as u16)
            }),
        ),
        case("outer_ipv6_payload_len_zero", "uplink6", "decap_truncated", with(vx(), |f| put16(f, IP + 4, 0))),
        case("outer_ipv6_payload_len_cuts_udp", "uplink6", "decap_truncated", with(vx(), |f| put16(f, IP + 4, 6))),
        case(
            "outer_ipv6_payload_len_cuts_vxlan",
            "uplink6",
            "decap_truncated",
            with(vx(), |f| {
                put16(f, IP + 4, 8 + 4);
                fix_udp6_at(f, UDP6);
            }),
        ),
        case(
            "outer_ipv6_not_for_vtep_ip",
            "uplink6",
            "underlay_not_for_us",
            with(vx(), |f| {
                f[IP + 24..IP + 40].copy_from_slice(&OTHER6);
                fix_udp6_at(f, UDP6);
            }),
        ),
        case("outer_ipv6_fragment_header", "uplink6", "decap_fragment", vxlan6_ext(frag, &fragment(UDP), &inner())),
        // IPv6 extension-header chains: a VTEP sends none and xvs walks
        // none (decap/mod.rs: "Extension headers before UDP are not
        // taken"), so any header before UDP is refused; a long chain is
        // the case issue 14 names, and one header already is too many.
        case("ipv6_one_extension_header", "uplink6", "underlay_unsupported", vxlan6_ext(hbh, &opts(UDP), &inner())),
        case(
            "ipv6_long_extension_chain",
            "uplink6",
            "underlay_unsupported",
            vxlan6_ext(
                hbh,
                &[opts(dst_opts), opts(route), routing(dst_opts), opts(dst_opts), opts(dst_opts), opts(UDP)].concat(),
                &inner(),
            ),
        ),
        // A fragment header behind another extension header is not seen
        // as a fragment: the first header already refuses the packet.
        case(
            "ipv6_fragment_behind_extension_header",
            "uplink6",
            "underlay_unsupported",
            vxlan6_ext(hbh, &[opts(frag), fragment(UDP)].concat(), &inner()),
        ),
        case("udp6_zero_checksum", "uplink6", "decap_bad_udp_checksum", with(vx(), |f| put16(f, UDP6 + 6, 0))),
        case("udp6_bad_checksum", "uplink6", "decap_bad_udp_checksum", with(vx(), |f| f[UDP6 + 6] ^= 0x5a)),
        case(
            "udp6_len_cuts_inner_ethernet",
            "uplink6",
            "decap_inner_truncated",
            with(vx(), |f| {
                put16(f, UDP6 + 4, 8 + 8 + 10);
                fix_udp6_at(f, UDP6);
            }),
        ),
        case(
            "vxlan6_no_i_flag",
            "uplink6",
            "vxlan_no_i_flag",
            with(vx(), |f| {
                f[TUN6] = 0;
                fix_udp6_at(f, UDP6);
            }),
        ),
        case("vxlan6_for_ipv4_vtep_vni", "uplink6", "decap_unknown_vni", vxlan6(100, &inner100())),
        case("inner6_cut", "uplink6", "decap_inner_truncated", vxlan6(600, &inner()[..13])),
        case("inner6_src_zero", "uplink6", "decap_inner_bad_source", vxlan6(600, &l2(m(0x61), ZERO, BAD))),
        case("inner6_src_multicast", "uplink6", "decap_inner_bad_source", vxlan6(600, &l2(m(0x61), MCAST, BAD))),
        case("ipv4_on_ipv6_underlay", "uplink6", "underlay_not_for_us", with(vx(), |f| put16(f, 12, IPV4))),
    ]
}

// ---------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------

/// The markers of good frames in `frame` (one, or none).
fn markers_in(frame: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = frame;
    while let Some(i) = rest.windows(2).position(|w| w == b"G:") {
        let tail = &rest[i + 2..];
        let Some(end) = tail.iter().position(|&b| b == b';') else { break };
        out.push(String::from_utf8_lossy(&tail[..end]).into_owned());
        rest = &tail[end..];
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What one replay produced.
struct Outcome {
    summary: serde_json::Value,
    /// Port name to its output frames.
    out: BTreeMap<String, Vec<Vec<u8>>>,
}

/// Writes the case's captures, runs `xvs replay`, reads the results.
fn replay(dir: &Path, goods: &[Good], port: &str, around: &Good, bad: &[u8]) -> Result<Outcome, String> {
    let mut inputs: BTreeMap<&str, Vec<Captured>> = PORTS.iter().map(|p| (*p, Vec::new())).collect();
    let mut push = |port: &str, us: u64, data: Vec<u8>| {
        inputs.get_mut(port).expect("known port").push(Captured { ts: Duration::from_micros(us), data });
    };
    // 1: a mixed batch of every good frame.
    for (i, g) in goods.iter().enumerate() {
        push(g.port, 10_000 + 2 * i as u64, g.frame.clone());
    }
    // 2: the case's port alone.
    push(port, 20_000, around.frame.clone());
    push(port, 20_001, bad.to_vec());
    push(port, 20_002, around.frame.clone());
    // 3: every good frame, the malformed one in their midst.
    for (i, g) in goods.iter().enumerate() {
        push(g.port, 30_000 + 2 * i as u64, g.frame.clone());
    }
    push(port, 30_000 + goods.len() as u64 + 1, bad.to_vec());

    let mut cmd = Command::new(xvs_bin());
    cmd.arg("replay").arg("-c").arg(repo_root().join("tests/fixtures/malformed.toml"));
    cmd.arg("--out-dir").arg(dir.join("out"));
    for (p, frames) in &inputs {
        let mut frames = frames.clone();
        frames.sort_by_key(|c| c.ts);
        let path = dir.join(format!("in-{p}.pcap"));
        write_capture(&path, &frames).map_err(|e| e.to_string())?;
        cmd.arg("--in").arg(format!("{p}={}", path.display()));
    }
    let run = cmd.output().map_err(|e| e.to_string())?;
    if !run.status.success() {
        return Err(format!("xvs replay failed ({}): {}", run.status, String::from_utf8_lossy(&run.stderr).trim()));
    }
    let text = std::fs::read_to_string(dir.join("out/summary.json")).map_err(|e| e.to_string())?;
    let summary: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for p in PORTS {
        let frames = read_capture(&dir.join(format!("out/{p}.pcap"))).map_err(|e| e.to_string())?;
        out.insert(p.to_string(), frames.into_iter().map(|c| c.data).collect());
    }
    Ok(Outcome { summary, out })
}

/// The nonzero drop counters of a summary.
fn nonzero_drops(summary: &serde_json::Value) -> BTreeMap<String, u64> {
    summary["drops"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n))).collect())
        .unwrap_or_default()
}

/// The markers port `p` must send, sorted: each good frame for it twice
/// (once per mixed batch), and the frame around the case twice more.
fn want_markers(goods: &[Good], around: &Good, p: &str) -> Vec<String> {
    let mut want: Vec<String> =
        goods.iter().filter(|g| g.to == p).flat_map(|g| [g.name.to_string(), g.name.to_string()]).collect();
    if around.to == p {
        want.extend([around.name.to_string(), around.name.to_string()]);
    }
    want.sort();
    want
}

/// The good markers in `frames`, sorted.
fn got_markers(frames: &[Vec<u8>]) -> Vec<String> {
    let mut got: Vec<String> = frames.iter().flat_map(|f| markers_in(f)).collect();
    got.sort();
    got
}

/// Runs one case; `Err` says everything that was wrong.
fn check(dir: &Path, goods: &[Good], c: &Case) -> Result<(), String> {
    let around_name = c.around.unwrap_or_else(|| default_around(c.port));
    let around = goods.iter().find(|g| g.name == around_name).expect("around frame exists");
    assert_eq!(around.port, c.port, "{}: the frame around it must be on its port", c.name);
    let o = replay(dir, goods, c.port, around, &c.frame)?;
    let s = &o.summary;
    let mut problems = Vec::new();

    let frames_in = 2 * goods.len() + 4;
    if s["frames_in"] != frames_in {
        problems.push(format!("frames_in {} (expected {frames_in})", s["frames_in"]));
    }
    // The drop reason, counted once per injection, and nothing else.
    let drops = nonzero_drops(s);
    let expected_drops: BTreeMap<String, u64> = match c.expect {
        Expect::Drop(reason) => {
            if s["drops"].get(reason).is_none() {
                problems.push(format!("the summary has no drop reason {reason:?}"));
            }
            [(reason.to_string(), 2)].into()
        }
        Expect::RxTooBig => BTreeMap::new(),
    };
    if drops != expected_drops {
        problems.push(format!("drops {drops:?} (expected {expected_drops:?})"));
    }
    for p in PORTS {
        let too_big = s["ports"][p]["rx_too_big"].as_u64().unwrap_or(u64::MAX);
        let want = if c.expect == Expect::RxTooBig && p == c.port { 2 } else { 0 };
        if too_big != want {
            problems.push(format!("port {p}: rx_too_big {too_big} (expected {want})"));
        }
    }
    // Each port sends exactly the good frames meant for it: the mixed
    // batches' twice, the frame around the case twice more.
    for p in PORTS {
        let want = want_markers(goods, around, p);
        let frames = &o.out[p];
        let got = got_markers(frames);
        if frames.len() != want.len() || got != want {
            problems.push(format!("port {p}: sent {} frame(s) marked {got:?} (expected {want:?})", frames.len()));
        }
        if s["ports"][p]["tx_packets"] != frames.len() {
            problems.push(format!(
                "port {p}: tx_packets {} but {} frame(s) in its pcap",
                s["ports"][p]["tx_packets"],
                frames.len()
            ));
        }
        if let Some(f) = frames.iter().find(|f| contains(f, BAD)) {
            problems.push(format!("port {p}: the malformed frame leaked ({} bytes)", f.len()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Runs every case of a group, each in its own scratch directory, and
/// fails listing all the cases that went wrong.
fn run_group(group: &str, cases: Vec<Case>) {
    let goods = good_frames();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "case names are unique");
    let mut failures = Vec::new();
    for c in &cases {
        let dir = scratch_dir(&format!("malformed-{group}-{}", c.name));
        match check(&dir, &goods, c) {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(e) => failures.push(format!("{} on {} (expected {:?}): {e}", c.name, c.port, c.expect)),
        }
    }
    assert!(failures.is_empty(), "{} of {} {group} case(s) failed:\n{}", failures.len(), n, failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// The good traffic alone goes where it should: the baseline every case
/// relies on (a case's failure then means the malformed frame did it).
#[test]
fn good_traffic_reaches_exactly_its_ports() {
    let goods = good_frames();
    let dir = scratch_dir("malformed-baseline");
    // Around the good frame of h1 itself: no malformed frame at all.
    let around = goods.iter().find(|g| g.name == "h1>h2").unwrap();
    let o = replay(&dir, &goods, "h1", around, &around.frame).unwrap();
    assert_eq!(nonzero_drops(&o.summary), BTreeMap::new(), "{}", o.summary);
    for p in PORTS {
        let mut want: Vec<String> = goods.iter().filter(|g| g.to == p).map(|g| g.name.to_string()).collect();
        let k = if p == "h2" { 4 } else { 2 };
        want = want.iter().flat_map(|n| vec![n.clone(); if n == "h1>h2" { k + 2 } else { k }]).collect();
        want.sort();
        let mut got: Vec<String> = o.out[p].iter().flat_map(|f| markers_in(f)).collect();
        got.sort();
        assert_eq!(got, want, "port {p}");
    }
    // The tunnels really were used: per mixed batch, 3 good frames
    // decapsulated from uplink and 1 from uplink6, 3 encapsulated.
    assert_eq!(o.summary["counters"]["decapsulated"], 8, "{}", o.summary["counters"]);
    assert_eq!(o.summary["counters"]["encapsulated"], 6, "{}", o.summary["counters"]);
    let trunk = &o.out["trunk"];
    assert!(trunk.iter().all(|f| f[12..14] == CTAG.to_be_bytes()), "the trunk sends tagged");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_l2_frames_are_dropped_under_their_reason() {
    run_group("l2", l2_cases());
}

#[test]
fn malformed_ipv4_underlay_frames_are_dropped_under_their_reason() {
    run_group("underlay4", underlay4_cases());
}

#[test]
fn malformed_geneve_frames_are_dropped_under_their_reason() {
    run_group("geneve", geneve_cases());
}

#[test]
fn malformed_ipv6_underlay_frames_are_dropped_under_their_reason() {
    run_group("underlay6", underlay6_cases());
}

#[test]
fn the_suite_has_at_least_60_cases() {
    let n = l2_cases().len() + underlay4_cases().len() + geneve_cases().len() + underlay6_cases().len();
    assert!(n >= 60, "{n} cases");
}

// ---------------------------------------------------------------------------
// Findings: malformed frames the switch does not drop today
// ---------------------------------------------------------------------------

/// A malformed frame of issue 14 that xvs does not drop, or not under a
/// reason of its own. These are not asserted as drops (the switch does not
/// make them); what is asserted is what must hold whatever becomes of
/// them: the good traffic around them is delivered exactly as without
/// them, nothing is refused as too big, and whatever they turn into
/// leaves only through ports of their own domain (`domain`), never into
/// another VLAN or VNI. The test prints what the switch did with each.
struct Finding {
    name: &'static str,
    port: &'static str,
    around: &'static str,
    frame: Vec<u8>,
    /// The ports of the frame's domain (its ingress port excluded).
    domain: &'static [&'static str],
}

fn findings() -> Vec<Finding> {
    let f = |name, port, around, domain, frame| Finding { name, port, around, frame, domain };
    let inner6 = || l2(m(0x61), m(0x69), BAD);
    let src = |mut frame: Vec<u8>, mac: Mac| {
        frame[6..12].copy_from_slice(&mac);
        frame
    };
    vec![
        // 2-5. The outer source MAC of a tunnel packet is never checked:
        //    from a group or the zero address, it is decapsulated and its
        //    inner frame delivered (to h1, or h6 over IPv6).
        f("outer_src_multicast_vxlan4", "uplink", "vx100>h1", &["h1"], src(vxlan4(100, &inner100()), MCAST)),
        f("outer_src_zero_vxlan4", "uplink", "vx100>h1", &["h1"], src(vxlan4(100, &inner100()), ZERO)),
        f("outer_src_multicast_vxlan6", "uplink6", "vx600>h6", &["h6"], src(vxlan6(600, &inner6()), MCAST)),
        f("outer_src_zero_vxlan6", "uplink6", "vx600>h6", &["h6"], src(vxlan6(600, &inner6()), ZERO)),
        // 6. Geneve with an options length of 1 word but no option, and an
        //    inner frame behind the header: the inner frame's first four
        //    bytes (02:00:00:00 of its destination) read as an option of
        //    no data, not critical, and the 56 bytes after them are
        //    bridged as a frame from 00:29:88:b5:42:41 (learned against
        //    the remote) to 00:21:02:00:00:00, an unknown unicast flooded
        //    in VLAN 20. A
        //    receiver cannot tell this from a real option in general; with
        //    nothing behind the header it is `geneve_opt_len_on_empty_option_list`.
        f(
            "geneve_opt_len_on_empty_option_list_before_inner_frame",
            "uplink",
            "gnv5000>h3",
            &["h3", "trunk", "trunk_native"],
            with(geneve4(5000, &[], &l2(m(0x21), m(0x29), BAD)), |f| f[TUN4] = 1),
        ),
        // 7-8. Runts of 14 to 59 bytes (a whole Ethernet header, shorter
        //    than the 60-byte minimum) are forwarded unpadded, outer and
        //    inner: `truncated` and `decap_inner_truncated` mean "shorter
        //    than an Ethernet header".
        f("runt_20_bytes", "h1", "h1>h2", &["h2"], eth(m(0x12), m(0x11), EXP, BAD)),
        f("inner_runt_14_bytes", "uplink", "vx100>h1", &["h1"], vxlan4(100, &eth(m(0x11), m(0x19), EXP, &[]))),
    ]
}

/// Runs one finding: `Ok` describes what the switch did, `Err` what broke.
fn check_contained(dir: &Path, goods: &[Good], f: &Finding) -> Result<String, String> {
    let around = goods.iter().find(|g| g.name == f.around).expect("around frame exists");
    assert_eq!(around.port, f.port);
    let o = replay(dir, goods, f.port, around, &f.frame)?;
    let mut problems = Vec::new();
    let mut extra = Vec::new();
    for p in PORTS {
        if o.summary["ports"][p]["rx_too_big"] != 0 {
            problems.push(format!("port {p}: rx_too_big {}", o.summary["ports"][p]["rx_too_big"]));
        }
        let frames = &o.out[p];
        let (want, got) = (want_markers(goods, around, p), got_markers(frames));
        if got != want {
            problems.push(format!("port {p}: good frames {got:?} (expected {want:?})"));
        }
        let others: Vec<&Vec<u8>> = frames.iter().filter(|fr| markers_in(fr).is_empty()).collect();
        if others.is_empty() {
            continue;
        }
        if !f.domain.contains(&p) {
            problems.push(format!("port {p}, outside the frame's domain, sent {} frame(s) of it", others.len()));
        }
        let head: Vec<String> = others.iter().map(|fr| format!("{:02x?}", &fr[..fr.len().min(20)])).collect();
        extra.push(format!("{p}: {} x {}", others.len(), head[0]));
    }
    if problems.is_empty() {
        Ok(format!(
            "drops {:?}; sent {}",
            nonzero_drops(&o.summary),
            if extra.is_empty() { "nothing".into() } else { extra.join(", ") }
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// The findings stay inside their own domain and spare the good traffic;
/// run with `--nocapture` to see what the switch did with each.
#[test]
fn findings_stay_inside_their_domain() {
    let goods = good_frames();
    let mut failures = Vec::new();
    for f in findings() {
        let dir = scratch_dir(&format!("malformed-finding-{}", f.name));
        match check_contained(&dir, &goods, &f) {
            Ok(what) => {
                println!("finding {} on {}: {what}", f.name, f.port);
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(e) => failures.push(format!("{} on {}: {e}", f.name, f.port)),
        }
    }
    assert!(failures.is_empty(), "findings broke containment:\n{}", failures.join("\n"));
}

/// A VNI that strips inner tags, given a tagged inner frame of 14 or 15
/// bytes (a TPID where the EtherType goes, and at most one byte after it):
/// there is no whole tag to remove, so it is dropped as
/// `decap_inner_truncated`, as a 16-byte one is
/// (`inner_tag_without_ethernet_on_stripping_vni`). This suite found that
/// `strip_inner_vlan` once moved the addresses past the frame's end and
/// panicked the worker.
#[test]
fn strip_of_a_cut_inner_tag_is_dropped() {
    let cut = |n| vxlan4(300, &tagged(l2(m(0x31), m(0x39), BAD), CTAG, 30)[..n]);
    run_group(
        "strip-cut",
        vec![
            case("inner_tag_cut_14_bytes_on_stripping_vni", "uplink", "decap_inner_truncated", cut(14))
                .around("vx300>h4"),
            case("inner_tag_cut_15_bytes_on_stripping_vni", "uplink", "decap_inner_truncated", cut(15))
                .around("vx300>h4"),
        ],
    );
}
