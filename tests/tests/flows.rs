//! Flow rules on the real path: AF_XDP on veth, with real TCP, ping,
//! tcpdump and a Prometheus scrape. An ingress ACL on h1 drops one TCP
//! port while iperf3 on another passes; a SPAN rule copies h1's ICMP to h3
//! (another VLAN) byte for byte; the rules' counters match what was sent;
//! and a rule deleted through the CLI stops applying at once.

use std::time::Duration;

use xvs_tests::netns::{poll, serial, skip_unless_root, Background, PortMode, Topology, Xvs, XvsOptions};
use xvs_tests::{free_port, http_get};

const RULES: &str = r#"
[[flow]]
id = 1
port = "h1"
priority = 100
match = "tcp,nw_dst=10.9.0.2,tp_dst=5202"
actions = "drop"

[[flow]]
id = 2
port = "h1"
priority = 50
match = "icmp,nw_dst=10.9.0.2"
actions = "mirror:h3"
"#;

/// A TCP connect from `from` to `ip:port` within 2 s, through bash's
/// /dev/tcp: true when it was accepted.
fn connects(from: &xvs_tests::netns::Host, ip: &str, port: u16) -> bool {
    let script = format!("exec 3<>/dev/tcp/{ip}/{port}");
    from.exec(&["timeout", "2", "bash", "-c", &script]).status.success()
}

fn rule(list: &serde_json::Value, id: u64) -> serde_json::Value {
    list["flows"].as_array().and_then(|a| a.iter().find(|f| f["id"] == id).cloned()).unwrap_or_default()
}

#[test]
fn acl_drops_one_tcp_port_mirrors_icmp_and_counts() {
    if skip_unless_root("acl_drops_one_tcp_port_mirrors_icmp_and_counts") {
        return;
    }
    let _serial = serial();
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.9.0.1/24"))
        .host("h2", PortMode::Access(10), Some("10.9.0.2/24"))
        .host("h3", PortMode::Access(20), None)
        .build();
    let (h1, h2, h3) = (topo.host("h1"), topo.host("h2"), topo.host("h3"));
    let metrics = format!("127.0.0.1:{}", free_port());
    let opts = XvsOptions {
        extra: RULES.to_string(),
        control_extra: format!("metrics_listen = \"{metrics}\"\n"),
        ..XvsOptions::default()
    };
    let xvs = Xvs::start(&topo, &opts);

    // SPAN: h3, in VLAN 20, gets exactly the echo requests h2 receives.
    let at_h2 = h2.capture(topo.dir(), "icmp");
    let at_h3 = h3.capture(topo.dir(), "");
    let (n, out) = h1.ping(h2.ip(), 5, &["-i", "0.2"]);
    assert_eq!(n, 5, "{out}");
    let (to_h2, to_h3) = (at_h2.finish(), at_h3.finish());
    assert_eq!(to_h2.len(), 5, "echo requests at h2");
    assert_eq!(to_h3, to_h2, "the mirror port's copies differ from what h2 received");

    // The ACL: TCP to 5202 is dropped, iperf3 on 5201 passes.
    let _listener = Background::spawn(h2, &["iperf3", "-s", "-p", "5202"], &topo.dir().join("iperf3-5202.log"));
    let listening = poll(Duration::from_secs(5), Duration::from_millis(50), || {
        (!h2.exec(&["ss", "-Hltn", "sport = :5202"]).stdout.is_empty()).then_some(())
    });
    assert!(listening.is_some(), "iperf3 -s -p 5202 did not listen");
    assert!(!connects(h1, h2.ip(), 5202), "TCP to 5202 got through the ACL");
    let report = xvs_tests::netns::iperf3(&topo, h1, h2, h2.ip(), &["-t", "2"]);
    let bps = report["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    assert!(bps > 1e6, "iperf3 on 5201 carried {bps} bit/s");

    // The counters: 5 echo requests of 98 bytes under the mirror rule; the
    // drop rule's packets are exactly the ACL drops (the SYNs and their
    // retransmissions).
    let list = xvs.json(&["flow", "list"]);
    let mirror = rule(&list, 2);
    assert_eq!((mirror["packets"].as_u64(), mirror["bytes"].as_u64()), (Some(5), Some(5 * 98)), "{list}");
    let dropped = rule(&list, 1)["packets"].as_u64().unwrap_or(0);
    let stats = xvs.stats();
    assert!(dropped >= 2, "{list}");
    assert_eq!(stats["drops"]["acl_drop"].as_u64(), Some(dropped), "{stats}");
    assert_eq!(stats["pipeline"]["mirror_copies"].as_u64(), Some(5), "{stats}");
    let (status, text) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("xvs_flow_rule_packets_total{id=\"2\",table=\"ingress:h1\"} 5"), "{text}");
    assert!(
        text.contains(&format!("xvs_flow_rule_packets_total{{id=\"1\",table=\"ingress:h1\"}} {dropped}")),
        "{text}"
    );

    // Deleted through the CLI, the drop rule stops at once; added back
    // through the API, it applies again.
    let out = xvs.cli(&["flow", "del", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(connects(h1, h2.ip(), 5202), "TCP to 5202 still dropped after `xvs flow del 1`");
    let added = xvs.json(&[
        "flow",
        "add",
        "--port",
        "h1",
        "--priority",
        "100",
        "--match",
        "tcp,tp_dst=5202",
        "--actions",
        "drop",
    ]);
    assert_eq!(added["added"]["origin"], "api", "{added}");
    assert!(!connects(h1, h2.ip(), 5202), "the rule added through the API does not drop");
    let bad = xvs.cli(&["flow", "add", "--port", "h1", "--match", "tp_dst=5202", "--actions", "drop"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tcp,tp_dst=80"), "{}", String::from_utf8_lossy(&bad.stderr));
}
