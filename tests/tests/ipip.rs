//! IP-in-IP on the real path, the way Calico's IPIP mode uses it: two xvs
//! nodes, each the gateway of its own subnet on VLAN 10, route between the
//! subnets through IPv4 protocol 4 on a shared underlay. The hosts are
//! plain kernels with a default route via their node's gateway.
//!
//! ```text
//!   h1 10.10.0.2 ── xvs A (gw 10.10.0.1) ── 192.168.100.1 ─┐
//!                                                          underlay (wa ⇄ wb)
//!   h2 10.20.0.2 ── xvs B (gw 10.20.0.1) ── 192.168.100.2 ─┘
//! ```
//!
//! Needs root; skips without it. Run: `cargo test -p xvs-tests --test ipip -- --nocapture`.

use std::process::Command;
use std::time::{Duration, Instant};

use xvs_tests::netns::{
    capture_dev, iperf3, join_underlays, poll, serial, skip_unless_root, Host, PortMode, Topology, Xvs, XvsOptions,
};

/// Node `local`'s config: its VTEP on the underlay port "w", the gateway of
/// `subnet` on VLAN 10, and the route to the other node's subnet.
fn node(local: &str, gateway: &str, remote_subnet: &str, remote: &str) -> String {
    format!(
        r#"
[[vtep]]
name = "node"
port = "w"
address = "{local}/24"

[[gateway]]
vlan = 10
address = "{gateway}/24"

[[route]]
prefix = "{remote_subnet}"
via = "{remote}"
"#
    )
}

/// A host behind a node: MTU 1480 (20 bytes of outer IPv4 fit in 1500),
/// default route via the node's gateway.
fn host_topology(host: &str, cidr: &str, gateway: &str) -> Topology {
    let topo =
        Topology::builder().host(host, PortMode::Access(10), Some(cidr)).host("w", PortMode::Underlay, None).build();
    let h = topo.host(host);
    h.run_ok(&["ip", "link", "set", "eth0", "mtu", "1480"]);
    h.run_ok(&["ip", "route", "add", "default", "via", gateway]);
    topo
}

fn ping_until(from: &Host, to: &str) -> bool {
    poll(Duration::from_secs(10), Duration::from_millis(100), || (from.ping(to, 1, &[]).0 == 1).then_some(())).is_some()
}

#[test]
fn two_nodes_route_their_subnets_over_ip_in_ip() {
    if skip_unless_root("two_nodes_route_their_subnets_over_ip_in_ip") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let ta = host_topology("h1", "10.10.0.2/24", "10.10.0.1");
    let tb = host_topology("h2", "10.20.0.2/24", "10.20.0.1");
    join_underlays(ta.host("w"), tb.host("w"));
    // Two switches share CPU 1: let them sleep when idle.
    let opts = |extra: String| XvsOptions { idle_backoff: true, extra, ..XvsOptions::default() };
    let xa = Xvs::start(&ta, &opts(node("192.168.100.1", "10.10.0.1", "10.20.0.0/24", "192.168.100.2")));
    let xb = Xvs::start(&tb, &opts(node("192.168.100.2", "10.20.0.1", "10.10.0.0/24", "192.168.100.1")));
    let (h1, h2) = (ta.host("h1"), tb.host("h2"));
    let cap = capture_dev(ta.host("w"), ta.dir(), "ul0", "ip proto 4");

    assert!(ping_until(h1, "10.20.0.2"), "h1 never reached h2: A {} / B {}", xa.stats()["drops"], xb.stats()["drops"]);
    let (n, out) = h1.ping("10.20.0.2", 5, &[]);
    assert_eq!(n, 5, "{out}");
    // One router on the way back (B's gateway decrements h2's TTL of 64).
    assert!(out.contains("ttl=63"), "{out}");
    let (n, out) = h2.ping("10.10.0.2", 3, &[]);
    assert_eq!(n, 3, "{out}");
    // The gateways answered ARP with their MACs, and learned the hosts.
    assert_eq!(h1.neigh("10.10.0.1").0.as_deref(), Some("02:58:0a:0a:00:01"));
    // TTL 1 dies at the first gateway, which says so.
    let (_, out) = h1.ping("10.20.0.2", 1, &["-t", "1"]);
    assert!(out.contains("From 10.10.0.1") && out.contains("Time to live exceeded"), "{out}");

    // The capture holds the pings; stopping it before iperf3 keeps tshark
    // from reading hundreds of MB of TCP (minutes on a loaded 2-core box).
    let frames = cap.finish();

    let v = iperf3(&tb, h1, h2, "10.20.0.2", &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    eprintln!(
        "iperf3 TCP h1 -> h2 over two xvs and IP-in-IP: {:.2} Gbit/s",
        v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0) / 1e9
    );
    assert!(bytes > 1_000_000, "{}", v["end"]);

    let (sa, sb) = (xa.stats(), xb.stats());
    for (name, st) in [("A", &sa), ("B", &sb)] {
        let p = &st["pipeline"];
        assert!(p["encapsulated"].as_u64().unwrap_or(0) > 100, "{name}: {p}");
        assert!(p["decapsulated"].as_u64().unwrap_or(0) > 100, "{name}: {p}");
        assert_eq!(st["drops"]["gateway_bad_packet"], 0, "{name}: {}", st["drops"]);
    }
    assert!(sa["drops"]["ipip_ttl_exceeded"].as_u64().unwrap_or(0) >= 1, "{}", sa["drops"]);
    // `xvs tunnel list`: the gateway learned h1 from its ARP, and the route's
    // next hop (node B) is resolved.
    let tl = xa.json(&["tunnel", "list"]);
    assert_eq!(tl["gateways"][0]["hosts"][0]["ip"], "10.10.0.2", "{tl:#}");
    assert_eq!(tl["gateways"][0]["hosts"][0]["mac"].as_str(), Some(h1.mac.as_str()), "{tl:#}");
    assert_eq!(tl["routes"][0]["prefix"], "10.20.0.0/24", "{tl:#}");
    assert!(tl["routes"][0]["next_hop"]["mac"].is_string(), "{tl:#}");

    // tshark reads the tunnel: protocol 4 between the nodes, the hosts'
    // addresses inside, nothing malformed.
    assert!(!frames.is_empty(), "no IP-in-IP packet on the underlay");
    let pcap = ta.dir().join("ipip.pcap");
    let records: Vec<xvs_control::pcapio::Captured> =
        frames.iter().map(|f| xvs_control::pcapio::Captured { ts: Duration::ZERO, data: f.clone() }).collect();
    xvs_control::pcapio::write_capture(&pcap, &records).unwrap_or_else(|e| panic!("write {}: {e}", pcap.display()));
    let out = Command::new("tshark")
        .args(["-r", &pcap.display().to_string(), "-n", "-o", "ip.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "ip.checksum.status", "-e", "_ws.malformed"])
        .args(["-E", "separator=;", "-E", "aggregator=,"])
        .output()
        .unwrap_or_else(|e| panic!("tshark: {e}"));
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut pairs = std::collections::BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 5, "{line}");
        let (src, dst, proto, status) = (f[0], f[1], f[2], f[3]);
        assert!(proto.starts_with('4'), "outer protocol is not 4: {line}");
        assert!(status.split(',').all(|s| s == "1"), "an IPv4 checksum is not good: {line}");
        assert!(f[4].is_empty(), "malformed: {line}");
        pairs.insert((src.to_string(), dst.to_string()));
    }
    assert!(
        pairs.contains(&("192.168.100.1,10.10.0.2".into(), "192.168.100.2,10.20.0.2".into())),
        "no A -> B packet carrying h1 -> h2: {pairs:?}"
    );
    assert!(
        pairs.contains(&("192.168.100.2,10.20.0.2".into(), "192.168.100.1,10.10.0.2".into())),
        "no B -> A packet carrying h2 -> h1: {pairs:?}"
    );
    eprintln!("two_nodes_route_their_subnets_over_ip_in_ip: {:.1} s", t0.elapsed().as_secs_f64());
}
