//! VXLAN on the real path: `xvs run` on AF_XDP (veth) as a VTEP, against the
//! Linux kernel's own vxlan device in a namespace on the underlay.
//!
//! ```text
//!   h1 (VLAN 10) ──┐                      ┌── vx100 10.10.0.100 (VNI 100)
//!                  ├── xvs ── underlay ── peer
//!   h2 (VLAN 20) ──┘  192.168.100.1       └── vx200 10.20.0.100 (VNI 200)
//!                                   192.168.100.2
//! ```
//!
//! The kernel VTEP must resolve xvs's VTEP address with ARP before it sends
//! anything, and xvs must resolve the kernel's: both directions of ARP on
//! the underlay are part of what is tested. Needs root; skips without it.
//!
//! Run one: `cargo test -p xvs-tests --test vxlan -- NAME --nocapture`.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use xvs_tests::netns::{
    capture_dev, iperf3, poll, serial, skip_unless_root, Host, PortMode, Topology, Xvs, XvsOptions,
};

const VTEP: &str = "192.168.100.1";
const PEER: &str = "192.168.100.2";
const PEER10: &str = "10.10.0.100";
const PEER20: &str = "10.20.0.100";

/// The switch's overlay: our VTEP on port "peer", VLAN 10 ↔ VNI 100 and
/// VLAN 20 ↔ VNI 200, both towards the peer.
const OVERLAY: &str = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "192.168.100.1/24"

[[vni]]
vni = 100
vlan = 10
remotes = ["192.168.100.2"]

[[vni]]
vni = 200
vlan = 20
remotes = ["192.168.100.2"]
"#;

/// h1 in VLAN 10 (MTU 1450, leaving room for the 50 bytes of VXLAN) and
/// the peer on the underlay, which gets kernel vxlan devices of its own.
fn h1_and_peer() -> Topology {
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.10.0.1/24"))
        .host("peer", PortMode::Underlay, Some("192.168.100.2/24"))
        .build();
    topo.host("h1").run_ok(&["ip", "link", "set", "eth0", "mtu", "1450"]);
    topo
}

/// h1 in VLAN 10 (MTU 1430: VXLAN over IPv6 takes 70 bytes of the
/// underlay's 1500) and the peer at fd00:100::2 on an IPv6 underlay.
fn h1_and_ipv6_peer() -> Topology {
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.10.0.1/24"))
        .host("peer", PortMode::Underlay, None)
        .build();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    h1.run_ok(&["ip", "link", "set", "eth0", "mtu", "1430"]);
    // The topology turns IPv6 off in every host; the peer needs it back on
    // its underlay (its router solicitations and MLD reports then reach
    // xvs too, which must handle them).
    peer.run_ok(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0"]);
    peer.run_ok(&["ip", "-6", "addr", "add", "fd00:100::2/64", "dev", "eth0", "nodad"]);
    // The peer computes its checksums in software, so that what xvs
    // verifies is a finished checksum (veth would leave it to an offload).
    peer.run_ok(&["ethtool", "-K", "eth0", "tx", "off"]);
    topo
}

/// Creates (down, without an address) a kernel vxlan device `dev` on the
/// peer's eth0 for `vni`, from `local`, towards xvs's VTEP (`mode`:
/// `["remote", VTEP]` or `["group", G]`).
fn kernel_vxlan(peer: &Host, dev: &str, vni: &str, local: &str, mode: [&str; 2]) {
    let [how, to] = mode;
    peer.run_ok(&[
        "ip", "link", "add", dev, "type", "vxlan", "id", vni, "local", local, how, to, "dstport", "4789", "dev", "eth0",
    ]);
}

/// A kernel vxlan device `dev` on the peer for `vni`, towards xvs's VTEP
/// (`mode`: `["remote", VTEP]` or `["group", G]`), carrying `addr`, and
/// with `mac` when given.
fn kernel_vtep(peer: &Host, dev: &str, vni: &str, mode: [&str; 2], addr: &str, mac: Option<&str>) {
    kernel_vxlan(peer, dev, vni, PEER, mode);
    if let Some(m) = mac {
        peer.run_ok(&["ip", "link", "set", dev, "address", m]);
    }
    peer.run_ok(&["ip", "addr", "add", addr, "dev", dev]);
    peer.run_ok(&["ip", "link", "set", dev, "up"]);
}

/// h1 in VLAN 10, h2 in VLAN 20, and the peer on the underlay, with one
/// kernel vxlan device per VNI.
fn topology() -> Topology {
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.10.0.1/24"))
        .host("h2", PortMode::Access(20), Some("10.20.0.1/24"))
        .host("peer", PortMode::Underlay, Some("192.168.100.2/24"))
        .build();
    // h1 leaves room for the 50 bytes of VXLAN, as on any VXLAN network;
    // h2 keeps 1500 and must learn the tunnel's MTU by path MTU discovery.
    topo.host("h1").run_ok(&["ip", "link", "set", "eth0", "mtu", "1450"]);
    let peer = topo.host("peer");
    for (dev, vni, addr) in [("vx100", "100", "10.10.0.100/24"), ("vx200", "200", "10.20.0.100/24")] {
        kernel_vtep(peer, dev, vni, ["remote", VTEP], addr, None);
    }
    topo
}

fn start(topo: &Topology) -> Xvs {
    Xvs::start(topo, &XvsOptions { idle_backoff: false, extra: OVERLAY.into(), ..XvsOptions::default() })
}

fn counter(stats: &Value, section: &str, name: &str) -> u64 {
    stats[section][name].as_u64().unwrap_or_else(|| panic!("no counter {section}.{name} in {}", stats[section]))
}

/// Pings until one reply comes back (ARP on both sides of the tunnel may
/// take the first seconds), then asserts `count` of `count`.
fn ping_through(xvs: &Xvs, from: &Host, to: &str, count: u32) {
    let warm =
        poll(Duration::from_secs(8), Duration::from_millis(100), || (from.ping(to, 1, &[]).0 == 1).then_some(()));
    let (n, out) = from.ping(to, count, &[]);
    if warm.is_none() || n != count {
        let st = xvs.stats();
        panic!(
            "{} -> {to}: {n}/{count} replies\n{out}\nFDB: {:#?}\npipeline: {}\ndrops: {}",
            from.name,
            xvs.fdb(),
            st["pipeline"],
            st["drops"]
        );
    }
}

/// The peer's kernel FDB for `dev` (`bridge fdb show dev DEV`).
fn kernel_fdb(peer: &Host, dev: &str) -> String {
    peer.run_ok(&["bridge", "fdb", "show", "dev", dev])
}

/// Ping and TCP cross the tunnel in both VNIs; the VTEP answers ARP and
/// ping; each side learns the other's MACs behind the right VTEP and VNI;
/// nothing crosses between the VNIs.
#[test]
fn vxlan_bridges_vlans_to_the_kernel_vxlan_device() {
    if skip_unless_root("vxlan_bridges_vlans_to_the_kernel_vxlan_device") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let topo = topology();
    let xvs = start(&topo);
    let (h1, h2, peer) = (topo.host("h1"), topo.host("h2"), topo.host("peer"));

    // The VTEP answers ping on the underlay (after answering ARP).
    ping_through(&xvs, peer, VTEP, 3);
    let (vtep_mac, _) = peer.neigh(VTEP);
    let sw_mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", peer.sw_if)).unwrap_or_default();
    assert_eq!(vtep_mac.as_deref(), Some(sw_mac.trim()), "the VTEP answers ARP with its interface's MAC");

    // A capture on the peer's underlay: what xvs sends into the tunnel.
    let cap = peer.capture(topo.dir(), "udp dst port 4789");
    ping_through(&xvs, h1, PEER10, 5);
    ping_through(&xvs, h2, PEER20, 5);
    let frames = cap.finish();
    assert!(!frames.is_empty(), "no VXLAN packet reached the peer");

    // Both sides learned across the tunnel.
    let vx100_mac = peer.run_ok(&["cat", "/sys/class/net/vx100/address"]);
    let fdb = xvs.fdb();
    let entry =
        fdb.iter().find(|e| e["mac"] == vx100_mac.trim()).unwrap_or_else(|| panic!("vx100's MAC not in {fdb:#?}"));
    assert_eq!((entry["port"].as_str(), entry["vlan"].as_u64()), (Some("vxlan100@192.168.100.2"), Some(10)), "{entry}");
    let k100 = kernel_fdb(peer, "vx100");
    assert!(k100.contains(&format!("{} dst {VTEP}", h1.mac)), "the kernel did not learn h1 behind xvs:\n{k100}");
    let k200 = kernel_fdb(peer, "vx200");
    assert!(k200.contains(&format!("{} dst {VTEP}", h2.mac)), "the kernel did not learn h2 behind xvs:\n{k200}");
    assert!(!k200.contains(&h1.mac), "h1 (VNI 100) leaked into VNI 200:\n{k200}");
    assert!(!k100.contains(&h2.mac), "h2 (VNI 200) leaked into VNI 100:\n{k100}");

    // Path MTU discovery: h2 (MTU 1500) sends 1500-byte packets with DF;
    // xvs cannot fit them into VXLAN and answers "fragmentation needed,
    // MTU 1450", and h2's kernel takes the lower MTU for that destination.
    let (_, out) = h2.ping(PEER20, 2, &["-M", "do", "-s", "1472"]);
    assert!(out.contains("mtu = 1450") || out.contains("mtu=1450"), "no frag-needed with MTU 1450:\n{out}");
    let route = h2.run_ok(&["ip", "route", "get", PEER20]);
    assert!(route.contains("mtu 1450"), "h2 did not lower its path MTU: {route}");
    ping_through(&xvs, h2, PEER20, 3);
    let (n, out) = h2.ping(PEER20, 3, &["-M", "do", "-s", "1422"]);
    assert_eq!(n, 3, "1450-byte packets with DF must cross:\n{out}");

    // TCP across the tunnel, at h1's 1450-byte MTU.
    let v = iperf3(&topo, h1, peer, PEER10, &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    eprintln!("iperf3 TCP h1 -> kernel VTEP through xvs VXLAN: {:.2} Gbit/s, {bytes} bytes", bps / 1e9);
    assert!(bytes > 1_000_000, "too little data over the tunnel: {}", v["end"]);

    // `xvs tunnel list`: the next hop resolved to the peer's MAC, and the
    // tunnel's own counters.
    let peer_mac = peer.run_ok(&["cat", "/sys/class/net/eth0/address"]);
    let tl = xvs.json(&["tunnel", "list"]);
    let t100 = tl["tunnels"].as_array().and_then(|a| a.iter().find(|t| t["vni"] == 100)).cloned().unwrap_or_default();
    assert_eq!(t100["next_hop"]["mac"].as_str(), Some(peer_mac.trim()), "{tl:#}");
    assert!(
        t100["tx_packets"].as_u64().unwrap_or(0) > 1000 && t100["rx_packets"].as_u64().unwrap_or(0) > 1000,
        "{t100}"
    );

    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "encapsulated") > 1000, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "decapsulated") > 1000, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "underlay_replies") >= 4, "ARP and ping answers: {}", st["pipeline"]);
    assert_eq!(counter(&st, "drops", "encap_too_big"), counter(&st, "pipeline", "pmtu_answers"), "{}", st["drops"]);
    assert!(counter(&st, "pipeline", "pmtu_answers") >= 1, "{}", st["pipeline"]);
    eprintln!("vxlan_bridges_vlans_to_the_kernel_vxlan_device: {:.1} s", t0.elapsed().as_secs_f64());
    tshark_checks_outer_headers(&topo, &frames);
}

/// Multicast-group mode on both sides, as `vxlan ... group` runs it: the
/// kernel VTEP and xvs flood VNI 100 to 239.1.1.1, xvs joins the group
/// with IGMPv3 (seen on the wire), and ping crosses, the replies going to
/// the VTEP each side learned the other's MAC behind.
#[test]
fn vxlan_multicast_group_mode_with_the_kernel() {
    if skip_unless_root("vxlan_multicast_group_mode_with_the_kernel") {
        return;
    }
    let _serial = serial();
    let topo = h1_and_peer();
    let peer = topo.host("peer");
    kernel_vtep(peer, "vx100", "100", ["group", "239.1.1.1"], "10.10.0.100/24", None);
    let igmp = peer.capture(topo.dir(), "igmp");
    let overlay = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "192.168.100.1/24"

[[vni]]
vni = 100
vlan = 10
group = "239.1.1.1"
remotes = ["192.168.100.2"]
"#;
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: overlay.into(), ..XvsOptions::default() });
    let h1 = topo.host("h1");
    ping_through(&xvs, h1, PEER10, 5);
    // xvs joined the group (IGMPv3 report for 239.1.1.1 from its VTEP).
    let reports = igmp.finish();
    let joined = reports.iter().any(|f| {
        f.len() >= 54 && f[26..30] == [192, 168, 100, 1] && f[23] == 2 && f[38 + 12..38 + 16] == [239, 1, 1, 1]
    });
    assert!(joined, "no IGMP report for 239.1.1.1 from 192.168.100.1 among {} IGMP frames", reports.len());
    // Floods went to the group: the kernel learned h1 behind xvs's VTEP.
    let k = kernel_fdb(peer, "vx100");
    assert!(k.contains(&format!("{} dst {VTEP}", h1.mac)), "the kernel did not learn h1 behind xvs:\n{k}");
    let tl = xvs.json(&["tunnel", "list"]);
    let group = tl["tunnels"].as_array().and_then(|a| a.iter().find(|t| t["remote"] == "239.1.1.1")).cloned();
    let group = group.unwrap_or_else(|| panic!("no group tunnel in {tl:#}"));
    assert!(group["tx_packets"].as_u64().unwrap_or(0) >= 1, "nothing flooded to the group: {group}");
    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "igmp_reports") >= 1, "{}", st["pipeline"]);
}

/// Static remote MACs with remote learning off: xvs learns nothing behind
/// the kernel VTEP, and reaches the kernel's vx100 MAC through its static
/// entry alone; its `xvs fdb show` lists the entry as static on the tunnel.
#[test]
fn vxlan_static_remote_mac_with_learning_off() {
    if skip_unless_root("vxlan_static_remote_mac_with_learning_off") {
        return;
    }
    let _serial = serial();
    let topo = h1_and_peer();
    let peer = topo.host("peer");
    kernel_vtep(peer, "vx100", "100", ["remote", VTEP], "10.10.0.100/24", Some("02:00:00:00:99:01"));
    let overlay = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "192.168.100.1/24"

[[vni]]
vni = 100
vlan = 10
learning = false
remotes = ["192.168.100.2"]

[[vni.static]]
mac = "02:00:00:00:99:01"
remote = "192.168.100.2"
"#;
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: overlay.into(), ..XvsOptions::default() });
    ping_through(&xvs, topo.host("h1"), PEER10, 5);
    let fdb = xvs.fdb();
    let remote: Vec<&Value> = fdb.iter().filter(|e| e["port"] == "vxlan100@192.168.100.2").collect();
    assert_eq!(remote.len(), 1, "only the static entry is behind the tunnel: {fdb:#?}");
    assert_eq!((remote[0]["mac"].as_str(), remote[0]["type"].as_str()), (Some("02:00:00:00:99:01"), Some("static")));
}

/// tshark, an independent decoder, reads what xvs put on the wire: VXLAN
/// with the I flag and VNI 100 or 200, UDP to 4789 from a port in
/// 49152-65535, IPv4 with DF and a correct header checksum, TTL 64 (the
/// first occurrence of each field is the outer header's).
fn tshark_checks_outer_headers(topo: &Topology, frames: &[Vec<u8>]) {
    let pcap = topo.dir().join("tunnel.pcap");
    let records: Vec<xvs_control::pcapio::Captured> =
        frames.iter().map(|f| xvs_control::pcapio::Captured { ts: Duration::ZERO, data: f.clone() }).collect();
    xvs_control::pcapio::write_capture(&pcap, &records).unwrap_or_else(|e| panic!("write {}: {e}", pcap.display()));
    let out = Command::new("tshark")
        .args(["-r", &pcap.display().to_string(), "-n", "-o", "ip.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "ip.flags.df", "-e", "ip.checksum.status", "-e", "ip.ttl", "-e", "udp.srcport"])
        .args(["-e", "vxlan.flag_i", "-e", "vxlan.vni", "-E", "separator=,", "-E", "occurrence=f"])
        .output()
        .unwrap_or_else(|e| panic!("tshark: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut vnis = std::collections::BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "tshark line {line:?}");
        assert!(matches!(f[0], "1" | "True"), "DF not set: {line}");
        assert!(
            matches!(f[1], "1" | "Good"),
            "IPv4 header checksum not good (tshark: 0 bad, 1 good, 2 unverified): {line}"
        );
        assert_eq!(f[2], "64", "TTL: {line}");
        let sport: u16 = f[3].parse().unwrap_or(0);
        assert!(sport >= 49152, "UDP source port {sport} outside 49152-65535: {line}");
        assert!(matches!(f[4], "1" | "True"), "I flag: {line}");
        vnis.insert(f[5].to_string());
    }
    assert_eq!(vnis.into_iter().collect::<Vec<_>>(), ["100", "200"], "VNIs on the wire:\n{text}");
}

/// The overlay of [`vxlan_over_ipv6_with_the_kernel`]: an IPv6 VTEP that
/// verifies the UDP checksums it receives (IPv6 has no "no checksum").
const OVERLAY6: &str = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "fd00:100::1/64"
verify_udp_checksum = true

[[vni]]
vni = 100
vlan = 10
remotes = ["fd00:100::2"]
"#;

/// An IPv6 underlay against the kernel's vxlan device: the kernel finds
/// xvs's VTEP by neighbour discovery and xvs finds the kernel's; ping6
/// reaches the VTEP; ping and TCP cross VNI 100 in VXLAN/UDP/IPv6 with
/// checksums both sides verify (the kernel's device runs without
/// `udp6zerocsumrx`, so a zero or wrong checksum would be dropped there);
/// each side learns the other's MAC behind the other's IPv6 address.
#[test]
fn vxlan_over_ipv6_with_the_kernel() {
    if skip_unless_root("vxlan_over_ipv6_with_the_kernel") {
        return;
    }
    let _serial = serial();
    let topo = h1_and_ipv6_peer();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    kernel_vxlan(peer, "vx100", "100", "fd00:100::2", ["remote", "fd00:100::1"]);
    peer.run_ok(&["ip", "addr", "add", "10.10.0.100/24", "dev", "vx100"]);
    peer.run_ok(&["ip", "link", "set", "vx100", "up"]);
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: OVERLAY6.into(), ..XvsOptions::default() });

    // The VTEP answers neighbour solicitations and ping6.
    ping_through(&xvs, peer, "fd00:100::1", 3);
    let (vtep_mac, _) = peer.neigh("fd00:100::1");
    let sw_mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", peer.sw_if)).unwrap_or_default();
    assert_eq!(vtep_mac.as_deref(), Some(sw_mac.trim()), "the VTEP answers NDP with its interface's MAC");

    let cap = peer.capture(topo.dir(), "ip6 and udp dst port 4789");
    ping_through(&xvs, h1, PEER10, 5);
    let frames = cap.finish();
    assert!(!frames.is_empty(), "no VXLAN/IPv6 packet reached the peer");
    for f in &frames {
        assert_eq!(f.get(12..14), Some(&[0x86, 0xdd][..]), "not IPv6: {f:02x?}");
        assert_ne!(f.get(60..62), Some(&[0, 0][..]), "a zero UDP checksum over IPv6");
    }

    let vx100_mac = peer.run_ok(&["cat", "/sys/class/net/vx100/address"]);
    let fdb = xvs.fdb();
    let entry =
        fdb.iter().find(|e| e["mac"] == vx100_mac.trim()).unwrap_or_else(|| panic!("vx100's MAC not in {fdb:#?}"));
    assert_eq!(entry["port"].as_str(), Some("vxlan100@fd00:100::2"), "{entry}");
    let k100 = kernel_fdb(peer, "vx100");
    assert!(k100.contains(&format!("{} dst fd00:100::1", h1.mac)), "the kernel did not learn h1 behind xvs:\n{k100}");

    let v = iperf3(&topo, h1, peer, PEER10, &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    eprintln!("iperf3 TCP h1 -> kernel VTEP through xvs VXLAN over IPv6: {:.2} Gbit/s, {bytes} bytes", bps / 1e9);
    assert!(bytes > 1_000_000, "too little data over the tunnel: {}", v["end"]);

    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "encapsulated") > 1000, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "decapsulated") > 1000, "{}", st["pipeline"]);
    assert_eq!(counter(&st, "drops", "decap_bad_udp_checksum"), 0, "{}", st["drops"]);
    assert_eq!(counter(&st, "drops", "underlay_bad_ndp"), 0, "{}", st["drops"]);

    // IPv6 inside the tunnel, and its path MTU discovery: h1 at MTU 1500
    // sends 1500-byte IPv6 packets; xvs answers "packet too big, MTU 1430"
    // from the destination, and h1's kernel lowers its path MTU.
    for (host, dev, addr) in [(h1, "eth0", "fd10::1/64"), (peer, "vx100", "fd10::100/64")] {
        host.run_ok(&["sysctl", "-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=0")]);
        host.run_ok(&["ip", "-6", "addr", "add", addr, "dev", dev, "nodad"]);
    }
    h1.run_ok(&["ip", "link", "set", "eth0", "mtu", "1500"]);
    ping_through(&xvs, h1, "fd10::100", 3);
    let (_, out) = h1.ping("fd10::100", 2, &["-M", "do", "-s", "1452"]);
    assert!(out.contains("mtu=1430") || out.contains("mtu = 1430"), "no packet too big with MTU 1430:\n{out}");
    let route = h1.run_ok(&["ip", "-6", "route", "get", "fd10::100"]);
    assert!(route.contains("mtu 1430"), "h1 did not lower its path MTU: {route}");
    let (n, out) = h1.ping("fd10::100", 3, &["-M", "do", "-s", "1382"]);
    assert_eq!(n, 3, "1430-byte IPv6 packets must cross:\n{out}");
    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "pmtu_answers") >= 1, "{}", st["pipeline"]);
}

/// The overlay of [`vxlan_multicast_group_over_ipv6_with_the_kernel`]: the
/// IPv6 VTEP of [`OVERLAY6`], with VNI 100's floods going to the
/// site-local group ff05::100 (which the VTEP joins with MLDv2), and the
/// kernel VTEP listed as the group's one allowed source.
const OVERLAY6_GROUP: &str = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "fd00:100::1/64"
verify_udp_checksum = true

[[vni]]
vni = 100
vlan = 10
group = "ff05::100"
remotes = ["fd00:100::2"]
"#;

/// The group of [`OVERLAY6_GROUP`], and its MAC (RFC 2464 section 7:
/// 33:33 and the group's last four bytes).
const GROUP6: &str = "ff05::100";
const GROUP6_MAC: &str = "33:33:00:00:01:00";

/// The IPv6 link-local address that `mac` forms by modified EUI-64 (RFC
/// 4291 appendix A), the source of MLD reports (RFC 3810 section 5).
fn link_local(mac: &str) -> std::net::Ipv6Addr {
    let b: Vec<u16> = mac.split(':').map(|x| u16::from_str_radix(x, 16).unwrap_or(0)).collect();
    assert_eq!(b.len(), 6, "not a MAC: {mac}");
    std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, (b[0] ^ 2) << 8 | b[1], b[2] << 8 | 0xff, 0xfe00 | b[3], b[4] << 8 | b[5])
}

/// `tshark -T fields` over the frames `frames` (written to `name` in the
/// topology's directory) for the packets matching the display filter
/// `filter`, with UDP and ICMPv6 checksums verified: one row per packet,
/// one entry per field, and in each entry every occurrence of the field
/// in the packet (outer headers first).
fn tshark_rows(
    topo: &Topology,
    name: &str,
    frames: &[Vec<u8>],
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<Vec<String>>> {
    let pcap = topo.dir().join(name);
    let records: Vec<xvs_control::pcapio::Captured> =
        frames.iter().map(|f| xvs_control::pcapio::Captured { ts: Duration::ZERO, data: f.clone() }).collect();
    xvs_control::pcapio::write_capture(&pcap, &records).unwrap_or_else(|e| panic!("write {}: {e}", pcap.display()));
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", &pcap.display().to_string(), "-n", "-o", "udp.check_checksum:TRUE", "-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    cmd.args(["-E", "separator=|", "-E", "aggregator=,", "-E", "occurrence=a"]);
    let out = cmd.output().unwrap_or_else(|e| panic!("tshark: {e}"));
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let row: Vec<Vec<String>> = line
                .split('|')
                .map(|e| if e.is_empty() { Vec::new() } else { e.split(',').map(str::to_string).collect() })
                .collect();
            assert_eq!(row.len(), fields.len(), "tshark line {line:?} for {fields:?}");
            row
        })
        .collect()
}

/// Multicast-group mode over an IPv6 underlay: the kernel's vxlan device
/// runs `group ff05::100` on the peer's eth0 and xvs's VNI 100 floods to
/// the same group. xvs joins it with an MLDv2 report (seen on the wire and
/// decoded by tshark: from its link-local address to ff02::16, hop limit
/// 1, Router Alert, a change-to-exclude record for ff05::100, a good
/// checksum); h1's floods reach the kernel through the group (33:33 MAC,
/// good UDP checksum), so the kernel learns h1 behind xvs's IPv6 VTEP
/// address; the kernel's own floods (its ARP requests) reach h1 through
/// the group too; ping crosses both ways, and xvs learns the kernel's MAC
/// behind the kernel's VTEP.
#[test]
fn vxlan_multicast_group_over_ipv6_with_the_kernel() {
    if skip_unless_root("vxlan_multicast_group_over_ipv6_with_the_kernel") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let topo = h1_and_ipv6_peer();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    kernel_vxlan(peer, "vx100", "100", "fd00:100::2", ["group", GROUP6]);
    // Writing `all.disable_ipv6` above also set the default for new
    // devices: off again on vx100, or its own router solicitations, DAD
    // and MLD would be floods to the group too, and the only floods it
    // sends should be the ones the test causes.
    peer.run_ok(&["sysctl", "-qw", "net.ipv6.conf.vx100.disable_ipv6=1"]);
    peer.run_ok(&["ip", "addr", "add", "10.10.0.100/24", "dev", "vx100"]);
    peer.run_ok(&["ip", "link", "set", "vx100", "up"]);
    let maddr = peer.run_ok(&["ip", "-6", "maddr", "show", "dev", "eth0"]);
    assert!(maddr.contains(GROUP6), "the kernel VTEP did not join {GROUP6} on eth0:\n{maddr}");

    // Everything on the peer's underlay from before xvs starts (its first
    // MLD report goes out on its first tick): MLDv2 reports and VXLAN,
    // both directions.
    let cap = capture_dev(peer, topo.dir(), "eth0", "ip6 dst ff02::16 or (ip6 and udp port 4789)");
    let h1_arp = h1.capture(topo.dir(), "arp");
    let xvs =
        Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: OVERLAY6_GROUP.into(), ..XvsOptions::default() });
    // h1 first: its ARP request is a flood, which xvs sends to the group.
    ping_through(&xvs, h1, PEER10, 5);
    // Then the kernel's side, from a cold ARP cache: its ARP request for
    // h1 is a broadcast, which the kernel's device sends to the group
    // (the all-zeros FDB entry) whatever it learned.
    peer.run_ok(&["ip", "neigh", "flush", "dev", "vx100"]);
    ping_through(&xvs, peer, "10.10.0.1", 5);
    let frames = cap.finish();
    let arps = h1_arp.finish();

    let sw_mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", peer.sw_if)).unwrap_or_default();
    let sw_mac = sw_mac.trim();
    let peer_mac = peer.run_ok(&["cat", "/sys/class/net/eth0/address"]);
    let peer_mac = peer_mac.trim();
    let vx100_mac = peer.run_ok(&["cat", "/sys/class/net/vx100/address"]);
    let vx100_mac = vx100_mac.trim();

    // xvs's MLDv2 report for the group, as tshark decodes it.
    let mld = tshark_rows(
        &topo,
        "mld.pcap",
        &frames,
        &format!("icmpv6.type == 143 && eth.src == {sw_mac}"),
        &[
            "eth.dst",
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "ipv6.opt.router_alert",
            "icmpv6.checksum.status",
            "icmpv6.mldr.mar.record_type",
            "icmpv6.mldr.mar.multicast_address",
            "_ws.malformed",
        ],
    );
    assert!(!mld.is_empty(), "no MLDv2 report from xvs ({sw_mac}) among {} frames on the underlay", frames.len());
    let ll = link_local(sw_mac).to_string();
    for r in &mld {
        let line = format!("{r:?}");
        let one = |i: usize| r[i].join(",");
        assert_eq!(one(0), "33:33:00:00:00:16", "to all MLDv2 routers' MAC: {line}");
        assert_eq!((one(1), one(2)), (ll.clone(), "ff02::16".to_string()), "addresses: {line}");
        assert_eq!(one(3), "1", "hop limit: {line}");
        assert_eq!(one(4), "0", "Router Alert (MLD): {line}");
        assert!(matches!(one(5).as_str(), "1" | "Good"), "ICMPv6 checksum (1 good): {line}");
        assert_eq!((one(6), one(7)), ("4".to_string(), GROUP6.to_string()), "change to exclude {GROUP6}: {line}");
        assert!(r[8].is_empty(), "malformed: {line}");
    }

    // The VXLAN packets both ways: every UDP checksum good; xvs's floods
    // to the group's MAC and address (h1's ARP inside), its unicast to
    // the kernel's eth0; the kernel's floods to the group too.
    let vx = tshark_rows(
        &topo,
        "vxlan6.pcap",
        &frames,
        "vxlan",
        &[
            "eth.src",
            "eth.dst",
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "udp.checksum.status",
            "vxlan.vni",
            "_ws.malformed",
        ],
    );
    let (mut xvs_group, mut xvs_unicast, mut kernel_group) = (0, 0, 0);
    for r in &vx {
        let line = format!("{r:?}");
        assert!(r[0].len() == 2 && r[1].len() == 2, "outer and inner Ethernet: {line}");
        assert_eq!(r[6].join(","), "100", "VNI: {line}");
        assert!(r[5].iter().all(|s| matches!(s.as_str(), "1" | "Good")), "a UDP checksum not good (1): {line}");
        assert!(r[7].is_empty(), "malformed: {line}");
        match (r[2][0].as_str(), r[3][0].as_str()) {
            ("fd00:100::1", GROUP6) => {
                assert_eq!((r[0][0].as_str(), r[1][0].as_str()), (sw_mac, GROUP6_MAC), "outer MACs: {line}");
                assert_eq!(r[4][0], "64", "xvs's hop limit: {line}");
                if r[0][1] == h1.mac {
                    xvs_group += 1;
                }
            }
            ("fd00:100::1", "fd00:100::2") => {
                assert_eq!((r[0][0].as_str(), r[1][0].as_str()), (sw_mac, peer_mac), "outer MACs: {line}");
                xvs_unicast += 1;
            }
            ("fd00:100::2", GROUP6) => {
                assert_eq!((r[0][0].as_str(), r[1][0].as_str()), (peer_mac, GROUP6_MAC), "outer MACs: {line}");
                assert_eq!(
                    (r[0][1].as_str(), r[1][1].as_str()),
                    (vx100_mac, "ff:ff:ff:ff:ff:ff"),
                    "the kernel's only floods are its ARP broadcasts: {line}"
                );
                kernel_group += 1;
            }
            ("fd00:100::2", "fd00:100::1") => {}
            _ => panic!("VXLAN between unexpected addresses: {line}"),
        }
    }
    assert!(xvs_group >= 1, "xvs sent none of h1's floods to {GROUP6}: {vx:#?}");
    assert!(xvs_unicast >= 1, "xvs sent no unicast to the kernel VTEP: {vx:#?}");
    assert!(kernel_group >= 1, "the kernel sent nothing to {GROUP6}: {vx:#?}");
    // The kernel's ARP request, which went only to the group, reached h1.
    let asked = arps.iter().any(|f| f.len() >= 42 && f[6..12] == mac_bytes(vx100_mac) && f[20..22] == [0, 1]);
    assert!(asked, "the kernel's ARP request (via {GROUP6}) did not reach h1: {} ARP frames", arps.len());

    // Floods went to the group: the kernel learned h1 behind xvs's VTEP.
    let k = kernel_fdb(peer, "vx100");
    assert!(k.contains(&format!("{} dst fd00:100::1", h1.mac)), "the kernel did not learn h1 behind xvs:\n{k}");
    // xvs learned the kernel's MAC behind the kernel's VTEP (not the group).
    let fdb = xvs.fdb();
    let entry = fdb.iter().find(|e| e["mac"] == vx100_mac).unwrap_or_else(|| panic!("vx100's MAC not in {fdb:#?}"));
    assert_eq!((entry["port"].as_str(), entry["vlan"].as_u64()), (Some("vxlan100@fd00:100::2"), Some(10)), "{entry}");

    // `xvs tunnel list`: the group's tunnel, its next hop the group's MAC
    // (no neighbour discovery), and the floods counted on it.
    let tl = xvs.json(&["tunnel", "list"]);
    let group = tl["tunnels"].as_array().and_then(|a| a.iter().find(|t| t["remote"] == GROUP6)).cloned();
    let group = group.unwrap_or_else(|| panic!("no tunnel to {GROUP6} in {tl:#}"));
    assert_eq!(group["next_hop"]["mac"].as_str(), Some(GROUP6_MAC), "{group}");
    assert!(group["tx_packets"].as_u64().unwrap_or(0) >= 1, "nothing flooded to the group: {group}");
    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "igmp_reports") >= 1, "{}", st["pipeline"]);
    assert_eq!(counter(&st, "drops", "decap_bad_udp_checksum"), 0, "{}", st["drops"]);
    assert_eq!(counter(&st, "drops", "decap_source_not_allowed"), 0, "{}", st["drops"]);
    assert_eq!(counter(&st, "drops", "underlay_bad_ndp"), 0, "{}", st["drops"]);
    eprintln!(
        "vxlan_multicast_group_over_ipv6_with_the_kernel: {} MLD reports, VXLAN xvs->group {xvs_group}, \
         xvs->kernel {xvs_unicast}, kernel->group {kernel_group}; {:.1} s",
        mld.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// The six bytes of a MAC written `aa:bb:..`.
fn mac_bytes(mac: &str) -> [u8; 6] {
    let mut b = [0u8; 6];
    for (i, x) in mac.split(':').take(6).enumerate() {
        b[i] = u8::from_str_radix(x, 16).unwrap_or_else(|_| panic!("not a MAC: {mac}"));
    }
    b
}

/// The next hop changes its MAC without telling anyone (no gratuitous ARP:
/// `arp_notify` is off by default). xvs keeps sending to the old MAC only
/// until the next hop's `neighbor_refresh_secs` (5 s here) run out: then it
/// asks again, learns the new MAC, and the tunnel works again.
#[test]
fn vxlan_finds_a_next_hop_that_changed_its_mac() {
    if skip_unless_root("vxlan_finds_a_next_hop_that_changed_its_mac") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let topo = h1_and_peer();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    kernel_vtep(peer, "vx100", "100", ["remote", VTEP], "10.10.0.100/24", None);
    let overlay = OVERLAY.replacen("\n[[vni]]", "neighbor_refresh_secs = 5\n\n[[vni]]", 1);
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: overlay, ..XvsOptions::default() });
    ping_through(&xvs, h1, PEER10, 3);
    let next_hop = |xvs: &Xvs| -> Value {
        let tl = xvs.json(&["tunnel", "list"]);
        tl["vteps"][0]["next_hops"][0].clone()
    };
    let old = peer.run_ok(&["cat", "/sys/class/net/eth0/address"]);
    assert_eq!(next_hop(&xvs)["mac"].as_str(), Some(old.trim()));

    let new = "02:00:00:00:77:02";
    peer.run_ok(&["ip", "link", "set", "eth0", "address", new]);
    let since = Instant::now();
    // The kernel drops what still comes to the old MAC, until xvs asks.
    let back = poll(Duration::from_secs(20), Duration::from_millis(200), || {
        (h1.ping(PEER10, 1, &["-W", "1"]).0 == 1).then_some(())
    });
    let took = since.elapsed();
    let hop = next_hop(&xvs);
    assert!(back.is_some(), "the tunnel did not come back after the MAC change: {hop}\n{}", xvs.stats()["pipeline"]);
    assert_eq!(hop["mac"].as_str(), Some(new), "{hop}");
    assert!(took < Duration::from_secs(15), "took {took:?} (refresh 5 s, probes 5 s)");
    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "arp_requests") >= 2, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "neighbor_updates") >= 2, "{}", st["pipeline"]);
    ping_through(&xvs, h1, PEER10, 3);
    eprintln!(
        "vxlan_finds_a_next_hop_that_changed_its_mac: back {:.1} s after the change, {:.1} s in all",
        took.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

/// A remote that tags what it sends: frames tagged VLAN 100 enter a plain
/// kernel bridge in the peer and leave through its vxlan port, which
/// encapsulates them as they are (this kernel has neither 802.1Q devices
/// nor VLAN filtering, so scapy tags them on a veth into the bridge).
/// RFC 7348's default drops them (`decap_inner_vlan`); with
/// `inner_vlan = "strip"` xvs removes the tag and h1 receives them
/// untagged, byte for byte the frame without its tag.
#[test]
fn vxlan_strips_the_inner_tag_of_a_tagging_remote() {
    if skip_unless_root("vxlan_strips_the_inner_tag_of_a_tagging_remote") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let topo = h1_and_peer();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    // vx100 is a port of the bridge, so the peer's own address is on br0.
    kernel_vxlan(peer, "vx100", "100", PEER, ["remote", VTEP]);
    peer.run_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
    peer.run_ok(&["ip", "addr", "add", "10.10.0.100/24", "dev", "br0"]);
    peer.run_ok(&["ip", "link", "add", "vh0", "type", "veth", "peer", "name", "vh1"]);
    for dev in ["vx100", "vh0"] {
        peer.run_ok(&["ip", "link", "set", dev, "master", "br0"]);
    }
    for dev in ["vx100", "vh0", "vh1", "br0"] {
        peer.run_ok(&["ip", "link", "set", dev, "up"]);
    }
    // ICMP echo from a host behind the peer's bridge to h1, tagged VLAN 100.
    let scapy = format!(
        "Ether(src='02:00:00:00:66:01', dst='{}')/Dot1Q(vlan=100)/IP(src='10.10.0.200', dst='10.10.0.1')/ICMP(id=7)/Raw(b'tagged-by-the-remote')",
        h1.mac
    );
    let send = |peer: &Host| {
        let script = format!(
            "import logging\nlogging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n\
             from scapy.all import *\nconf.verb = 0\nsendp([{scapy}] * 3, iface='vh1')\n"
        );
        let out = peer.exec(&[xvs_tests::netns::SCAPY_PYTHON, "-c", &script]);
        assert!(out.status.success(), "scapy: {}", String::from_utf8_lossy(&out.stderr));
    };
    let from_remote = |frames: &[Vec<u8>]| -> Vec<Vec<u8>> {
        frames.iter().filter(|f| f.get(6..12) == Some(&[2, 0, 0, 0, 0x66, 1][..])).cloned().collect()
    };

    // The default: dropped and counted, nothing reaches h1.
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: OVERLAY.into(), ..XvsOptions::default() });
    ping_through(&xvs, h1, PEER10, 2);
    let (cap, under) = (h1.capture(topo.dir(), ""), capture_dev(peer, topo.dir(), "eth0", "udp dst port 4789"));
    send(peer);
    std::thread::sleep(Duration::from_millis(300));
    let (got, tunnel) = (cap.finish(), under.finish());
    assert!(from_remote(&got).is_empty(), "a tagged inner frame reached h1 without inner_vlan = \"strip\"");
    let st = xvs.stats();
    assert_eq!(counter(&st, "drops", "decap_inner_vlan"), 3, "{}", st["drops"]);
    // The kernel did send them tagged, inside VXLAN.
    let inner_tpid = |f: &Vec<u8>| f.get(50 + 12..50 + 14).map(|b| u16::from_be_bytes([b[0], b[1]]));
    assert!(
        tunnel.iter().filter(|f| inner_tpid(f) == Some(0x8100)).count() >= 3,
        "no tagged inner frame on the underlay"
    );
    drop(xvs);

    let overlay = OVERLAY.replacen("vni = 100\n", "vni = 100\ninner_vlan = \"strip\"\n", 1);
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: overlay, ..XvsOptions::default() });
    ping_through(&xvs, h1, PEER10, 2);
    let cap = h1.capture(topo.dir(), "");
    send(peer);
    std::thread::sleep(Duration::from_millis(300));
    let got = from_remote(&cap.finish());
    assert_eq!(got.len(), 3, "h1 got {} of the 3 tagged frames", got.len());
    for f in &got {
        assert_eq!(u16::from_be_bytes([f[12], f[13]]), 0x0800, "left the tag on: {f:02x?}");
        assert!(f.windows(20).any(|w| w == b"tagged-by-the-remote"), "payload changed");
    }
    let st = xvs.stats();
    assert_eq!(counter(&st, "drops", "decap_inner_vlan"), 0, "{}", st["drops"]);
    eprintln!("vxlan_strips_the_inner_tag_of_a_tagging_remote: {:.1} s", t0.elapsed().as_secs_f64());
}

/// ARP suppression against the kernel's vxlan device: the peer's host
/// binding is snooped from its decapsulated ARP, and h1's later request
/// for it is answered by xvs on h1's port; a capture on the underlay shows
/// no ARP request of h1's crossing the overlay.
#[test]
fn arp_suppression_answers_for_the_kernel_vteps_host() {
    if skip_unless_root("arp_suppression_answers_for_the_kernel_vteps_host") {
        return;
    }
    let _serial = serial();
    let topo = h1_and_peer();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    kernel_vtep(peer, "vx100", "100", ["remote", VTEP], "10.10.0.100/24", Some("02:00:00:00:99:01"));
    let overlay = format!("{OVERLAY}\narp_suppression = \"10.20.0.0/24\"\n").replacen(
        "remotes = [\"192.168.100.2\"]\n",
        "remotes = [\"192.168.100.2\"]\narp_suppression = \"10.10.0.0/24\"\n",
        1,
    );
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: overlay, ..XvsOptions::default() });
    // The peer's host reaches h1 first: its ARP request arrives
    // decapsulated, and xvs learns 10.10.0.100 from it.
    ping_through(&xvs, peer, "10.10.0.1", 2);
    let arp = xvs.json(&["arp", "show"]);
    let known =
        arp["entries"].as_array().into_iter().flatten().any(|e| e["ip"] == PEER10 && e["mac"] == "02:00:00:00:99:01");
    assert!(known, "{arp}");

    // h1 forgets the peer's host and asks again: xvs answers.
    h1.run_ok(&["ip", "neigh", "flush", "dev", "eth0"]);
    let underlay = peer.capture(topo.dir(), "udp port 4789");
    let before = counter(&xvs.stats(), "pipeline", "arp_suppressed");
    let (n, out) = h1.ping(PEER10, 2, &["-i", "0.2"]);
    assert_eq!(n, 2, "{out}");
    let frames = underlay.finish();
    assert!(counter(&xvs.stats(), "pipeline", "arp_suppressed") > before, "{}", xvs.stats()["pipeline"]);
    assert_eq!(h1.neigh(PEER10).0.as_deref(), Some("02:00:00:00:99:01"), "h1 learned the peer's MAC from xvs's answer");
    // Inner frame at 50 (outer Ethernet, IPv4, UDP, VXLAN): no ARP request
    // from h1 (opcode 1, sender 10.10.0.1) went over the tunnel.
    let h1_asks = frames.iter().filter(|f| {
        let inner = f.get(50..).unwrap_or_default();
        inner.get(12..14) == Some(&[0x08, 0x06][..])
            && inner.get(20..22) == Some(&[0, 1][..])
            && inner.get(28..32) == Some(&[10, 10, 0, 1][..])
    });
    assert_eq!(h1_asks.count(), 0, "h1's ARP request was flooded across the overlay");
    assert!(frames.len() >= 2, "the pings themselves crossed the tunnel: {} frames", frames.len());
}
