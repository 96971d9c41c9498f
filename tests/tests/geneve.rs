//! Geneve (RFC 8926) on the real path: two `xvs run` processes on AF_XDP
//! (veth), each a VTEP, joined by Geneve with options over one underlay
//! segment, with a host in VLAN 10 behind each.
//!
//! ```text
//!   h1 10.10.0.1 ── xvs A ── wa ═╗              ╔═ wb ── xvs B ── h2 10.10.0.2
//!   (VLAN 10)   192.168.100.1    ╚═ br0─ul0─br0 ═╝   192.168.100.2    (VLAN 10)
//!                     VLAN 10 = Geneve VNI 5000, options on every packet
//! ```
//!
//! `wa` and `wb` are the underlay hosts of the two topologies; their
//! namespaces are joined by a veth pair (`ul0`) and a bridge in each, so the
//! two switches' underlay ports share one L2 segment. Neither has a
//! `nexthop_mac`: they find each other's MAC with ARP on that segment (one
//! asks, the other answers and learns the asker from its request). Needs
//! root; skips without it.
//!
//! Run it: `cargo test --release -p xvs-tests --test geneve -- --nocapture`.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use xvs_tests::netns::{
    capture_dev, iperf3, join_underlays, poll, serial, skip_unless_root, Host, PortMode, Topology, Xvs, XvsOptions,
};

const VTEP_A: &str = "192.168.100.1";
const VTEP_B: &str = "192.168.100.2";
const H1: &str = "10.10.0.1";
const H2: &str = "10.10.0.2";

/// Switch A: VTEP on port "wa", VLAN 10 ↔ VNI 5000 in Geneve towards B,
/// with two options (20 bytes on the wire) on every packet.
const OVERLAY_A: &str = r#"
[[vtep]]
name = "vtep0"
port = "wa"
address = "192.168.100.1/24"

[[vni]]
vni = 5000
vlan = 10
encap = "geneve"
remotes = ["192.168.100.2"]

[[vni.option]]
class = 0x0102
type = 0x01
data = "0x1234abcd"

[[vni.option]]
class = 0xffff
type = 0x22
data = "0x0102030405060708"
"#;

/// Switch B: the mirror image, with one option of its own (8 bytes).
const OVERLAY_B: &str = r#"
[[vtep]]
name = "vtep0"
port = "wb"
address = "192.168.100.2/24"

[[vni]]
vni = 5000
vlan = 10
encap = "geneve"
remotes = ["192.168.100.1"]

[[vni.option]]
class = 0x0103
type = 0x07
data = "0xcafef00d"
"#;

/// The options each switch sends, as tshark prints them: (class, type,
/// data) per option, in order.
const OPTIONS_A: [(&str, &str, &str); 2] = [("0x0102", "0x01", "1234abcd"), ("0xffff", "0x22", "0102030405060708")];
const OPTIONS_B: [(&str, &str, &str); 1] = [("0x0103", "0x07", "cafef00d")];

/// What a switch puts in front of the inner IP packet, inside the outer IP
/// packet (whose limit is the VTEP's `mtu`, 1500): IPv4 20, UDP 8, the
/// Geneve header 8 and its options (4-byte header + data each), and the
/// inner Ethernet header 14 (untagged: a VNI carries no tag).
const fn overhead(option_data: &[usize]) -> usize {
    let mut n = 20 + 8 + 8 + 14;
    let mut i = 0;
    while i < option_data.len() {
        n += 4 + option_data[i];
        i += 1;
    }
    n
}
/// A's overhead: 50 + (4 + 4) + (4 + 8) = 70 bytes.
const OVERHEAD_A: usize = overhead(&[4, 8]);
/// B's overhead: 50 + (4 + 4) = 58 bytes.
const OVERHEAD_B: usize = overhead(&[4]);
/// The hosts' MTU. What VXLAN leaves (1450) minus A's 20 bytes of options
/// is 1430 for what h1 sends; h2's packets, under B's 8 bytes, could be
/// 1442, but h1 and h2 share one L2 domain (VLAN 10), and a domain has one
/// MTU: the smaller, 1430. A full-size packet from h1 leaves xvs A as
/// exactly 1500 bytes of outer IP, and one from h2 leaves xvs B as 1488.
const HOST_MTU: usize = 1500 - OVERHEAD_A;

/// The two topologies, their underlay hosts joined, the hosts at MTU
/// `host_mtu`.
fn topologies(host_mtu: usize) -> (Topology, Topology) {
    let a = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.10.0.1/24"))
        .host("wa", PortMode::Underlay, None)
        .build();
    let b = Topology::builder()
        .host("h2", PortMode::Access(10), Some("10.10.0.2/24"))
        .host("wb", PortMode::Underlay, None)
        .build();
    for h in [a.host("h1"), b.host("h2")] {
        h.run_ok(&["ip", "link", "set", "eth0", "mtu", &host_mtu.to_string()]);
    }
    join_underlays(a.host("wa"), b.host("wb"));
    (a, b)
}

/// Both switches pin their worker to CPU 1, so both back off when idle
/// (two busy-polling workers on one CPU starve each other).
fn start(topo: &Topology, overlay: &str) -> Xvs {
    Xvs::start(topo, &XvsOptions { idle_backoff: true, extra: overlay.into(), ..XvsOptions::default() })
}

fn counter(stats: &Value, section: &str, name: &str) -> u64 {
    stats[section][name].as_u64().unwrap_or_else(|| panic!("no counter {section}.{name} in {}", stats[section]))
}

/// The drop counters whose reason starts with `geneve_`.
fn geneve_drops(stats: &Value) -> Vec<(String, u64)> {
    let drops = stats["drops"].as_object().unwrap_or_else(|| panic!("no drops in {stats}"));
    drops.iter().filter(|(k, _)| k.starts_with("geneve_")).map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect()
}

/// Both switches' FDB and counters, for failure messages.
fn state(a: &Xvs, b: &Xvs) -> String {
    let (sa, sb) = (a.stats(), b.stats());
    format!(
        "xvs A FDB: {:#?}\nxvs A pipeline: {}\nxvs A drops: {}\nxvs B FDB: {:#?}\nxvs B pipeline: {}\nxvs B drops: {}",
        a.fdb(),
        sa["pipeline"],
        sa["drops"],
        b.fdb(),
        sb["pipeline"],
        sb["drops"]
    )
}

/// Pings until one reply comes back (ARP for the hosts and for both VTEPs
/// may take the first seconds), then asserts `count` of `count` with
/// `extra` ping options.
fn ping_through(a: &Xvs, b: &Xvs, from: &Host, to: &str, count: u32, extra: &[&str]) {
    let warm =
        poll(Duration::from_secs(8), Duration::from_millis(100), || (from.ping(to, 1, &[]).0 == 1).then_some(()));
    let (n, out) = from.ping(to, count, extra);
    if warm.is_none() || n != count {
        panic!("{} -> {to} {extra:?}: {n}/{count} replies\n{out}\n{}", from.name, state(a, b));
    }
}

/// The FDB entry for `mac`, as (port, VLAN).
fn fdb_port(xvs: &Xvs, mac: &str) -> Option<(String, u64)> {
    xvs.fdb()
        .iter()
        .find(|e| e["mac"] == mac)
        .map(|e| (e["port"].as_str().unwrap_or("").to_string(), e["vlan"].as_u64().unwrap_or(0)))
}

/// The MAC of a root-namespace interface (a switch port's veth end, whose
/// MAC is the VTEP's).
fn if_mac(iface: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/address")).unwrap_or_default().trim().to_string()
}

/// Ping across the tunnel both ways, at the largest size the MTU allows
/// too, and TCP; each switch learns the other's host behind the tunnel;
/// tshark decodes the Geneve headers and options both switches put on the
/// wire; a critical option xvs does not know and an OAM packet are
/// dropped and counted, and never reach h1.
/// Two switches that have exchanged traffic: the switches, their
/// topologies, and what crossed the segment between them. (Fields drop in
/// order: the switches stop before their namespaces go.)
struct Exchange {
    xa: Xvs,
    xb: Xvs,
    ta: Topology,
    tb: Topology,
    frames: Vec<Vec<u8>>,
}

/// What both Geneve tests start with: the two switches on hosts of MTU
/// `mtu` with `overlays` (A's, B's) and VTEPs `vteps`, pings both ways (also
/// of the largest size the MTU allows, unfragmented), and a capture of the
/// segment between them matching `filter`, from before the switches start.
/// Each switch has learned the other side's host behind its tunnel port.
fn exchange(mtu: usize, overlays: (&str, &str), vteps: (&str, &str), filter: &str) -> Exchange {
    let (ta, tb) = topologies(mtu);
    let (h1, h2) = (ta.host("h1"), tb.host("h2"));
    let cap = capture_dev(ta.host("wa"), ta.dir(), "ul0", filter);
    let xa = start(&ta, overlays.0);
    let xb = start(&tb, overlays.1);
    ping_through(&xa, &xb, h1, H2, 5, &[]);
    ping_through(&xa, &xb, h2, H1, 5, &[]);
    // ICMP 8 + payload = MTU - 20.
    let full = (mtu - 20 - 8).to_string();
    ping_through(&xa, &xb, h1, H2, 3, &["-M", "do", "-s", &full]);
    ping_through(&xa, &xb, h2, H1, 3, &["-M", "do", "-s", &full]);
    let frames = cap.finish();
    assert!(!frames.is_empty(), "nothing captured on the underlay");
    let (port_a, port_b) = (format!("geneve5000@{}", vteps.1), format!("geneve5000@{}", vteps.0));
    assert_eq!(fdb_port(&xa, &h2.mac), Some((port_a, 10)), "h2 in xvs A's FDB\n{}", state(&xa, &xb));
    assert_eq!(fdb_port(&xb, &h1.mac), Some((port_b, 10)), "h1 in xvs B's FDB\n{}", state(&xa, &xb));
    Exchange { xa, xb, ta, tb, frames }
}

#[test]
fn geneve_with_options_between_two_switches() {
    if skip_unless_root("geneve_with_options_between_two_switches") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    // The VTEPs' ARP may precede any traffic: a switch asks for its
    // unresolved next hops on its own once a second.
    let run = exchange(HOST_MTU, (OVERLAY_A, OVERLAY_B), (VTEP_A, VTEP_B), "udp port 6081 or arp");
    let (ta, xa, xb, frames) = (&run.ta, &run.xa, &run.xb, &run.frames);
    let (h1, wa) = (ta.host("h1"), ta.host("wa"));
    let (h2, wb) = (run.tb.host("h2"), run.tb.host("wb"));
    assert_eq!(fdb_port(xa, &h1.mac), Some(("h1".to_string(), 10)), "h1 in xvs A's FDB");
    assert_eq!(fdb_port(xb, &h2.mac), Some(("h2".to_string(), 10)), "h2 in xvs B's FDB");

    // TCP across both switches and the tunnel.
    let v = iperf3(ta, h1, h2, H2, &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    eprintln!("iperf3 TCP h1 -> h2 through xvs A, Geneve, xvs B: {:.2} Gbit/s, {bytes} bytes", bps / 1e9);
    assert!(bytes > 1_000_000, "too little data over the tunnel: {}\n{}", v["end"], state(xa, xb));

    for (name, x) in [("A", &xa), ("B", &xb)] {
        let st = x.stats();
        assert!(counter(&st, "pipeline", "encapsulated") > 0, "xvs {name}: {}", st["pipeline"]);
        assert!(counter(&st, "pipeline", "decapsulated") > 0, "xvs {name}: {}", st["pipeline"]);
        assert_eq!(counter(&st, "drops", "encap_too_big"), 0, "xvs {name}: {}", st["drops"]);
        let g = geneve_drops(&st);
        assert!(!g.is_empty(), "xvs {name} has no geneve_* drop reasons: {}", st["drops"]);
        assert!(g.iter().all(|(_, n)| *n == 0), "xvs {name} dropped Geneve packets: {g:?}");
    }

    tshark_checks_underlay(ta, frames, &if_mac(&wa.sw_if), &if_mac(&wb.sw_if));
    refuses_critical_and_oam(ta, xa, xb, wa, wb, h1);
    eprintln!("geneve_with_options_between_two_switches: {:.1} s", t0.elapsed().as_secs_f64());
}

/// `tshark -T fields` over `pcap` for the packets matching the display
/// filter `filter`: one row per packet, one entry per field, and in each
/// entry every occurrence of the field in the packet (outer headers
/// first), with IPv4 header checksums verified.
fn tshark_fields(pcap: &str, filter: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    tshark_fields_with(pcap, &["ip.check_checksum:TRUE"], filter, fields)
}

/// [`tshark_fields`] with the tshark preferences `prefs` (`-o` each)
/// instead of only the IPv4 header checksum's.
fn tshark_fields_with(pcap: &str, prefs: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", pcap, "-n"]);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    cmd.args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    cmd.args(["-E", "separator=|", "-E", "aggregator=,", "-E", "occurrence=a"]);
    let out = cmd.output().unwrap_or_else(|e| panic!("tshark: {e}"));
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<Vec<String>>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let row: Vec<Vec<String>> = line
                .split('|')
                .map(|e| if e.is_empty() { Vec::new() } else { e.split(',').map(str::to_string).collect() })
                .collect();
            assert_eq!(row.len(), fields.len(), "tshark line {line:?} for {fields:?}");
            row
        })
        .collect();
    rows
}

/// tshark, an independent decoder, reads every packet on the segment
/// between the switches. Geneve: UDP to 6081 from a port in 49152-65535,
/// version 0 without the O and C bits, protocol type 0x6558 (Transparent
/// Ethernet Bridging), VNI 5000, and each switch's options (class, type,
/// length, data) in order, sent to the other switch's MAC; outer IPv4 with
/// DF and TTL 64, and good IPv4 header checksums (outer and inner); outer
/// IP packets of at most 1500 bytes, the full-size pings at exactly 1500
/// (from A) and 1488 (from B). ARP: the switches resolved each other on
/// the underlay (one asks, the other answers and learns the asker from
/// the request), every ARP frame between the two VTEP addresses with the
/// sender's interface MAC. And no malformed packet or expert warning
/// anywhere in the capture.
fn tshark_checks_underlay(topo: &Topology, frames: &[Vec<u8>], mac_a: &str, mac_b: &str) {
    let pcap = topo.dir().join("underlay.pcap");
    let records: Vec<xvs_control::pcapio::Captured> =
        frames.iter().map(|f| xvs_control::pcapio::Captured { ts: Duration::ZERO, data: f.clone() }).collect();
    xvs_control::pcapio::write_capture(&pcap, &records).unwrap_or_else(|e| panic!("write {}: {e}", pcap.display()));
    let pcap_s = pcap.display().to_string();
    let fields = [
        "eth.src",
        "eth.dst",
        "ip.src",
        "ip.len",
        "ip.checksum.status",
        "udp.dstport",
        "geneve.version",
        "geneve.flags.oam",
        "geneve.flags.critical",
        "geneve.proto_type",
        "geneve.vni",
        "geneve.option.class",
        "geneve.option.type",
        "geneve.option.length",
        "geneve.option.unknown.data",
        "_ws.malformed",
        "udp.srcport",
        "ip.flags.df",
        "ip.ttl",
    ];
    let rows = tshark_fields(&pcap_s, "geneve", &fields);
    assert!(!rows.is_empty(), "tshark found no Geneve packet in {pcap_s}");
    let one = |v: &Vec<String>| v.join(",");
    let mut max_len = [0u64; 2];
    for r in &rows {
        let line = format!("{r:?}");
        // The first occurrence is the outer header; the inner Ethernet and
        // IPv4 (ICMP) follow.
        let (from_a, options, dst): (bool, &[(&str, &str, &str)], &str) = match r[2][0].as_str() {
            VTEP_A => (true, &OPTIONS_A, mac_b),
            VTEP_B => (false, &OPTIONS_B, mac_a),
            s => panic!("outer source {s} is neither VTEP: {line}"),
        };
        let src = if from_a { mac_a } else { mac_b };
        assert_eq!((r[0][0].as_str(), r[1][0].as_str()), (src, dst), "outer MACs: {line}");
        let len = number(&r[3][0]);
        assert!(len <= 1500, "outer IP packet of {len} bytes exceeds the underlay MTU: {line}");
        let slot = &mut max_len[usize::from(!from_a)];
        *slot = (*slot).max(len);
        assert!(
            r[4].len() == r[2].len() && r[4].iter().all(|s| matches!(s.as_str(), "1" | "Good")),
            "an IPv4 header checksum is not good (tshark: 0 bad, 1 good, 2 unverified): {line}"
        );
        assert_eq!(one(&r[5]), "6081", "UDP destination port: {line}");
        assert_eq!(one(&r[6]), "0", "Geneve version: {line}");
        assert!(matches!(one(&r[7]).as_str(), "0" | "False"), "O bit set: {line}");
        assert!(matches!(one(&r[8]).as_str(), "0" | "False"), "C bit set without a critical option: {line}");
        assert_eq!(number(&one(&r[9])), 0x6558, "protocol type (Transparent Ethernet Bridging): {line}");
        assert_eq!(number(&one(&r[10])), 5000, "VNI: {line}");
        let want = |i: usize| options.iter().map(|o| [o.0, o.1, o.2][i].to_string()).collect::<Vec<_>>();
        assert_eq!(r[11], want(0), "option classes: {line}");
        assert_eq!(r[12], want(1), "option types: {line}");
        // tshark shows lengths in bytes: the header's options length first,
        // then each option's (its 4-byte header and its data).
        let each: Vec<usize> = options.iter().map(|o| 4 + o.2.len() / 2).collect();
        let lengths: Vec<usize> = std::iter::once(each.iter().sum()).chain(each.iter().copied()).collect();
        assert_eq!(r[13], lengths.iter().map(usize::to_string).collect::<Vec<_>>(), "option lengths: {line}");
        assert_eq!(r[14], want(2), "option data: {line}");
        assert!(r[15].is_empty(), "malformed: {line}");
        // RFC 8926 section 3.3: the source port from the ephemeral range
        // (xvs's default 49152-65535); the outer header with DF and TTL 64.
        assert!(number(&one(&r[16])) >= 49152, "UDP source port outside 49152-65535: {line}");
        assert!(matches!(r[17][0].as_str(), "1" | "True"), "DF not set: {line}");
        assert_eq!(r[18][0], "64", "outer TTL: {line}");
    }
    assert_eq!(
        max_len,
        [(HOST_MTU + OVERHEAD_A) as u64, (HOST_MTU + OVERHEAD_B) as u64],
        "largest outer IP packets from A and B (the full-size pings)"
    );

    // ARP between the VTEPs themselves (not the hosts' ARP inside Geneve):
    // at least one request, and a reply from each address's owner.
    let arp = tshark_fields(
        &pcap_s,
        "arp && !geneve",
        &["arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"],
    );
    let arp: Vec<[String; 4]> = arp.iter().map(|r| [one(&r[0]), one(&r[1]), one(&r[2]), one(&r[3])]).collect();
    let requests: Vec<&[String; 4]> = arp.iter().filter(|a| a[0] == "1").collect();
    let replies: Vec<&[String; 4]> = arp.iter().filter(|a| a[0] == "2").collect();
    assert!(!requests.is_empty() && !replies.is_empty(), "no ARP between the VTEPs on the underlay: {arp:?}");
    for a in &arp {
        let ok =
            (a[1] == mac_a && a[2] == VTEP_A && a[3] == VTEP_B) || (a[1] == mac_b && a[2] == VTEP_B && a[3] == VTEP_A);
        assert!(ok, "ARP on the underlay not between the VTEPs with their MACs: {a:?}");
    }

    // Expert info: nothing at warning or error level anywhere (tshark
    // prints a "Warns (n)" or "Errors (n)" section, else nothing).
    let out = Command::new("tshark")
        .args(["-r", &pcap_s, "-n", "-o", "ip.check_checksum:TRUE", "-q", "-z", "expert,warn"])
        .output()
        .unwrap_or_else(|e| panic!("tshark: {e}"));
    let expert = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tshark -z expert failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(expert.trim().is_empty(), "tshark expert info at warning level or above:\n{expert}");
    eprintln!(
        "tshark: {} Geneve packets, largest outer IP {max_len:?}; ARP between the VTEPs: {} requests, {} replies",
        rows.len(),
        requests.len(),
        replies.len()
    );
}

/// A number as tshark prints it, decimal or `0x` hex.
fn number(s: &str) -> u64 {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// Three Geneve packets from B's VTEP address to A's, crafted with scapy
/// on A's underlay link: one with an unknown critical option (type 0x80,
/// C bit set), one with the O bit (OAM), and, as the control, the same
/// packet with neither. Each carries a UDP datagram for h1, from its own
/// inner source MAC. Only the control reaches h1; A counts one
/// `geneve_unknown_critical` and one `geneve_oam`, and learns neither
/// refused source.
fn refuses_critical_and_oam(ta: &Topology, xa: &Xvs, xb: &Xvs, wa: &Host, wb: &Host, h1: &Host) {
    const CRIT_SRC: &str = "02:00:00:00:ee:01";
    const OAM_SRC: &str = "02:00:00:00:ee:02";
    const OK_SRC: &str = "02:00:00:00:ee:03";
    let before = xa.stats();
    let decap_before = counter(&before, "pipeline", "decapsulated");
    // Geneve: version 0 and options length (words), O and C bits,
    // protocol 0x6558, VNI 5000 (0x001388), reserved; then one option of
    // class 0x0102 with 4 bytes of data.
    let geneve = [
        ("02406558001388000102800112345678", CRIT_SRC),
        ("02806558001388000102010112345678", OAM_SRC),
        ("02006558001388000102010112345678", OK_SRC),
    ];
    let packets: Vec<String> = geneve
        .iter()
        .map(|(hdr, inner_src)| {
            format!(
                "Ether(src='{}', dst='{}')/IP(src='{VTEP_B}', dst='{VTEP_A}', flags='DF')/UDP(sport=50000, \
                 dport=6081)/Raw(bytes.fromhex('{hdr}'))/Ether(src='{inner_src}', dst='{}')/IP(src='{H2}', \
                 dst='{H1}')/UDP(sport=9, dport=9)/Raw(b'xvs-geneve-test')",
                if_mac(&wb.sw_if),
                if_mac(&wa.sw_if),
                h1.mac
            )
        })
        .collect();
    let cap = h1.capture(ta.dir(), "udp dst port 9");
    wa.scapy_send(&format!("[{}]", packets.join(", ")));
    let counted = poll(Duration::from_secs(3), Duration::from_millis(50), || {
        let st = xa.stats();
        (counter(&st, "drops", "geneve_unknown_critical") >= 1
            && counter(&st, "drops", "geneve_oam") >= 1
            && counter(&st, "pipeline", "decapsulated") > decap_before)
            .then_some(st)
    });
    let frames = cap.finish();
    let Some(after) = counted else { panic!("the crafted packets were not counted\n{}", state(xa, xb)) };
    let srcs: BTreeSet<String> = frames
        .iter()
        .filter(|f| f.len() >= 12)
        .map(|f| f[6..12].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
        .collect();
    assert_eq!(srcs.into_iter().collect::<Vec<_>>(), [OK_SRC], "inner frames that reached h1");
    let g = geneve_drops(&after);
    let expect: Vec<(String, u64)> =
        g.iter().map(|(k, _)| (k.clone(), u64::from(k == "geneve_unknown_critical" || k == "geneve_oam"))).collect();
    assert_eq!(g, expect, "xvs A's geneve_* drops after the crafted packets");
    assert_eq!(fdb_port(xa, CRIT_SRC), None, "a refused packet's inner source was learned");
    assert_eq!(fdb_port(xa, OAM_SRC), None, "a refused packet's inner source was learned");
    assert_eq!(fdb_port(xa, OK_SRC), Some((format!("geneve5000@{VTEP_B}"), 10)), "the control's inner source");
    let gb = geneve_drops(&xb.stats());
    assert!(gb.iter().all(|(_, n)| *n == 0), "xvs B dropped Geneve packets: {gb:?}");
}

const VTEP6_A: &str = "fd00:100::1";
const VTEP6_B: &str = "fd00:100::2";

/// A two-switch overlay ([`OVERLAY_A`], [`OVERLAY_B`]) on an IPv6
/// underlay: the same VNI and options, the VTEP addresses in
/// fd00:100::/64, and the UDP checksums received verified (over IPv6 xvs
/// always computes them; a zero one would fail here).
fn on_ipv6(overlay: &str) -> String {
    let v6 = overlay
        .replace(&format!("\"{VTEP_A}/24\""), &format!("\"{VTEP6_A}/64\"\nverify_udp_checksum = true"))
        .replace(&format!("\"{VTEP_B}/24\""), &format!("\"{VTEP6_B}/64\"\nverify_udp_checksum = true"))
        .replace(&format!("[\"{VTEP_A}\"]"), &format!("[\"{VTEP6_A}\"]"))
        .replace(&format!("[\"{VTEP_B}\"]"), &format!("[\"{VTEP6_B}\"]"));
    assert!(!v6.contains("192.168."), "an IPv4 address left in:\n{v6}");
    v6
}

/// Over IPv6 the outer header is 40 bytes, not 20: A's overhead is 90
/// bytes, B's 78, and the hosts' MTU 1500 - 90 = 1410 (one VLAN, one MTU,
/// as in [`HOST_MTU`]). A full-size packet from h1 leaves xvs A as exactly
/// 1500 bytes of outer IPv6 (payload length 1460), one from h2 leaves xvs
/// B as 1488.
const OVERHEAD6_A: usize = OVERHEAD_A + 20;
const OVERHEAD6_B: usize = OVERHEAD_B + 20;
const HOST_MTU6: usize = 1500 - OVERHEAD6_A;

/// [`geneve_with_options_between_two_switches`] on an IPv6 underlay: the
/// switches find each other with neighbour discovery (no `nexthop_mac`);
/// ping crosses both ways, also at the largest size the MTU allows, and
/// TCP; each switch learns the other side's host behind its tunnel port
/// named by the remote's IPv6 address; both verify every UDP checksum
/// they receive and none fails; tshark decodes every Geneve packet with
/// its options, and finds every UDP checksum good.
#[test]
fn geneve_over_ipv6_between_two_switches() {
    if skip_unless_root("geneve_over_ipv6_between_two_switches") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    // Their neighbour solicitations for each other may precede any traffic.
    let run =
        exchange(HOST_MTU6, (&on_ipv6(OVERLAY_A), &on_ipv6(OVERLAY_B)), (VTEP6_A, VTEP6_B), "udp port 6081 or icmp6");
    let (ta, xa, xb, frames) = (&run.ta, &run.xa, &run.xb, &run.frames);
    let (h1, wa) = (ta.host("h1"), ta.host("wa"));
    let (h2, wb) = (run.tb.host("h2"), run.tb.host("wb"));

    // TCP: thousands of packets of every size through both switches'
    // checksum verification.
    let v = iperf3(ta, h1, h2, H2, &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    eprintln!("iperf3 TCP h1 -> h2 through xvs A, Geneve over IPv6, xvs B: {:.2} Gbit/s, {bytes} bytes", bps / 1e9);
    assert!(bytes > 1_000_000, "too little data over the tunnel: {}\n{}", v["end"], state(xa, xb));

    for (name, x) in [("A", &xa), ("B", &xb)] {
        let st = x.stats();
        assert!(counter(&st, "pipeline", "encapsulated") > 1000, "xvs {name}: {}", st["pipeline"]);
        assert!(counter(&st, "pipeline", "decapsulated") > 1000, "xvs {name}: {}", st["pipeline"]);
        for reason in ["encap_too_big", "decap_bad_udp_checksum", "underlay_bad_ndp", "decap_source_not_allowed"] {
            assert_eq!(counter(&st, "drops", reason), 0, "xvs {name}: {}", st["drops"]);
        }
        let g = geneve_drops(&st);
        assert!(g.iter().all(|(_, n)| *n == 0), "xvs {name} dropped Geneve packets: {g:?}");
    }

    tshark_checks_underlay6(ta, frames, &if_mac(&wa.sw_if), &if_mac(&wb.sw_if));
    eprintln!("geneve_over_ipv6_between_two_switches: {:.1} s", t0.elapsed().as_secs_f64());
}

/// tshark reads every packet on the segment between the IPv6 switches,
/// with UDP checksum validation on. Geneve: UDP to 6081 from a port in
/// 49152-65535 with a good checksum (status 1: computed and equal; an
/// unvalidated one reads 2), version 0 without O and C, protocol 0x6558,
/// VNI 5000, each switch's options in order, between the two VTEPs' MACs
/// and IPv6 addresses, hop limit 64, good inner IPv4 header checksums,
/// outer IPv6 packets of at most 1500 bytes, the full-size pings at exactly
/// 1500 (A) and 1488 (B). Neighbour discovery: solicitations and
/// advertisements between the VTEP addresses only, each from its sender's
/// interface MAC, advertising it for its own address, with good ICMPv6
/// checksums. And no malformed packet or expert warning anywhere.
fn tshark_checks_underlay6(topo: &Topology, frames: &[Vec<u8>], mac_a: &str, mac_b: &str) {
    const PREFS: [&str; 2] = ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE"];
    let pcap = topo.dir().join("underlay6.pcap");
    let records: Vec<xvs_control::pcapio::Captured> =
        frames.iter().map(|f| xvs_control::pcapio::Captured { ts: Duration::ZERO, data: f.clone() }).collect();
    xvs_control::pcapio::write_capture(&pcap, &records).unwrap_or_else(|e| panic!("write {}: {e}", pcap.display()));
    let pcap_s = pcap.display().to_string();
    let fields = [
        "eth.src",
        "eth.dst",
        "ipv6.src",
        "ipv6.dst",
        "ipv6.plen",
        "ipv6.hlim",
        "udp.dstport",
        "udp.srcport",
        "udp.checksum.status",
        "geneve.version",
        "geneve.flags.oam",
        "geneve.flags.critical",
        "geneve.proto_type",
        "geneve.vni",
        "geneve.option.class",
        "geneve.option.type",
        "geneve.option.length",
        "geneve.option.unknown.data",
        "ip.checksum.status",
        "_ws.malformed",
    ];
    let rows = tshark_fields_with(&pcap_s, &PREFS, "geneve", &fields);
    assert!(!rows.is_empty(), "tshark found no Geneve packet in {pcap_s}");
    let one = |v: &Vec<String>| v.join(",");
    let mut max_len = [0u64; 2];
    for r in &rows {
        let line = format!("{r:?}");
        let (from_a, options, dst, to): (bool, &[(&str, &str, &str)], &str, &str) = match r[2][0].as_str() {
            VTEP6_A => (true, &OPTIONS_A, mac_b, VTEP6_B),
            VTEP6_B => (false, &OPTIONS_B, mac_a, VTEP6_A),
            s => panic!("outer source {s} is neither VTEP: {line}"),
        };
        let src = if from_a { mac_a } else { mac_b };
        assert_eq!((r[0][0].as_str(), r[1][0].as_str()), (src, dst), "outer MACs: {line}");
        assert_eq!(one(&r[3]), to, "outer destination (the IPv6 header is the only one): {line}");
        let len = number(&one(&r[4])) + 40;
        assert!(len <= 1500, "outer IPv6 packet of {len} bytes exceeds the underlay MTU: {line}");
        let slot = &mut max_len[usize::from(!from_a)];
        *slot = (*slot).max(len);
        assert_eq!(one(&r[5]), "64", "outer hop limit: {line}");
        assert_eq!(one(&r[6]), "6081", "UDP destination port: {line}");
        assert!(number(&one(&r[7])) >= 49152, "UDP source port outside 49152-65535: {line}");
        assert!(
            !r[8].is_empty() && r[8].iter().all(|s| matches!(s.as_str(), "1" | "Good")),
            "a UDP checksum is not good (tshark: 0 bad, 1 good, 2 unverified): {line}"
        );
        assert_eq!(one(&r[9]), "0", "Geneve version: {line}");
        assert!(matches!(one(&r[10]).as_str(), "0" | "False"), "O bit set: {line}");
        assert!(matches!(one(&r[11]).as_str(), "0" | "False"), "C bit set without a critical option: {line}");
        assert_eq!(number(&one(&r[12])), 0x6558, "protocol type (Transparent Ethernet Bridging): {line}");
        assert_eq!(number(&one(&r[13])), 5000, "VNI: {line}");
        let want = |i: usize| options.iter().map(|o| [o.0, o.1, o.2][i].to_string()).collect::<Vec<_>>();
        assert_eq!(r[14], want(0), "option classes: {line}");
        assert_eq!(r[15], want(1), "option types: {line}");
        let each: Vec<usize> = options.iter().map(|o| 4 + o.2.len() / 2).collect();
        let lengths: Vec<usize> = std::iter::once(each.iter().sum()).chain(each.iter().copied()).collect();
        assert_eq!(r[16], lengths.iter().map(usize::to_string).collect::<Vec<_>>(), "option lengths: {line}");
        assert_eq!(r[17], want(2), "option data: {line}");
        // The inner frame's IPv4 header, when it is IPv4 (not ARP).
        assert!(
            r[18].iter().all(|s| matches!(s.as_str(), "1" | "Good")),
            "the inner IPv4 header checksum is not good: {line}"
        );
        assert!(r[19].is_empty(), "malformed: {line}");
    }
    assert_eq!(
        max_len,
        [(HOST_MTU6 + OVERHEAD6_A) as u64, (HOST_MTU6 + OVERHEAD6_B) as u64],
        "largest outer IPv6 packets from A and B (the full-size pings)"
    );

    // Neighbour discovery between the VTEPs (the namespaces' own IPv6 is
    // off, so every ICMPv6 message outside Geneve is the switches').
    let nd = tshark_fields_with(
        &pcap_s,
        &PREFS,
        "icmpv6 && !geneve",
        &[
            "icmpv6.type",
            "eth.src",
            "ipv6.src",
            "icmpv6.nd.ns.target_address",
            "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    let (mut solicits, mut adverts) = (0, 0);
    for r in &nd {
        let line = format!("{r:?}");
        let (mac, ip, other) = match one(&r[2]).as_str() {
            VTEP6_A => (mac_a, VTEP6_A, VTEP6_B),
            VTEP6_B => (mac_b, VTEP6_B, VTEP6_A),
            s => panic!("ICMPv6 on the underlay from {s}, neither VTEP: {line}"),
        };
        assert_eq!(one(&r[1]), mac, "source MAC: {line}");
        assert!(matches!(one(&r[6]).as_str(), "1" | "Good"), "ICMPv6 checksum: {line}");
        // The link-layer option: the source's (NS) or the target's (NA),
        // in both cases the sender's MAC.
        assert_eq!(one(&r[5]), mac, "link-layer address option: {line}");
        match one(&r[0]).as_str() {
            "135" => {
                assert_eq!(one(&r[3]), other, "a solicitation for the other VTEP: {line}");
                solicits += 1;
            }
            "136" => {
                assert_eq!(one(&r[4]), ip, "an advertisement for the sender's own address: {line}");
                adverts += 1;
            }
            t => panic!("ICMPv6 type {t} between the VTEPs: {line}"),
        }
    }
    assert!(solicits >= 1 && adverts >= 1, "no neighbour discovery between the VTEPs: {nd:?}");

    let mut cmd = Command::new("tshark");
    cmd.args(["-r", &pcap_s, "-n"]);
    for p in PREFS {
        cmd.args(["-o", p]);
    }
    let out = cmd.args(["-q", "-z", "expert,warn"]).output().unwrap_or_else(|e| panic!("tshark: {e}"));
    let expert = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tshark -z expert failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(expert.trim().is_empty(), "tshark expert info at warning level or above:\n{expert}");
    eprintln!(
        "tshark: {} Geneve packets over IPv6 with good UDP checksums, largest outer IPv6 {max_len:?}; \
         neighbour discovery between the VTEPs: {solicits} solicitations, {adverts} advertisements",
        rows.len()
    );
}
