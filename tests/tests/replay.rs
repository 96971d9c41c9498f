//! `xvs replay` and `xvs trace` end to end: the real binary over pcap
//! fixtures, checked against golden summaries and dissected by tshark.

use std::process::Command;
use std::time::Duration;

use switch_core::MacAddr;
use xvs_control::pcapio::{read_capture, write_capture, Captured};
use xvs_tests::{check_golden, eth, have, mac, push_tag, repo_root, scratch_dir, xvs_bin};

const ARP: u16 = 0x0806;
const IPV4: u16 = 0x0800;

fn at(ms: u64, data: Vec<u8>) -> Captured {
    Captured { ts: Duration::from_millis(ms), data }
}

/// Writes the scenario's per-port captures and returns the --in arguments.
fn write_scenario(dir: &std::path::Path) -> Vec<String> {
    let bcast = MacAddr::BROADCAST;
    let inputs: Vec<(&str, Vec<Captured>)> = vec![
        (
            "h1",
            vec![
                at(0, eth(bcast, mac(1), ARP, b"who-has 2")),
                at(300, eth(mac(0x30), mac(1), IPV4, b"to vlan 20 mac, from vlan 10")),
                at(500, push_tag(eth(bcast, mac(1), IPV4, b"tagged on access"), 0x8100, 20)),
                at(600, eth(mac(2), MacAddr([0x01, 0, 0x5e, 0, 0, 1]), IPV4, b"multicast source")),
                // A jumbo frame no 1500-byte interface would have received.
                at(800, eth(mac(2), mac(1), IPV4, &[0x45; 9100 - 14])),
            ],
        ),
        (
            "h2",
            vec![
                at(100, eth(mac(1), mac(2), ARP, b"is-at 2")),
                at(100_000, eth(mac(1), mac(2), IPV4, b"after h1 aged out")),
            ],
        ),
        (
            "uplink",
            vec![
                at(200, push_tag(eth(bcast, mac(0x30), ARP, b"vlan 20 broadcast"), 0x8100, (5 << 13) | 20)),
                at(700, push_tag(eth(mac(3), mac(0x42), IPV4, b"spoofs static"), 0x8100, 20)),
                // To the static MAC on h3, whose 1400-byte MTU it exceeds
                // once the tag is off (1514 bytes).
                at(750, push_tag(eth(mac(0x42), mac(0x31), IPV4, &[0x45; 1500]), 0x8100, 20)),
                at(100_500, eth(bcast, mac(2), IPV4, b"mac 2 moved to the uplink")),
            ],
        ),
        ("cust", vec![at(400, push_tag(eth(bcast, mac(0x50), IPV4, b"customer c-tag 100"), 0x8100, 100))]),
    ];
    inputs
        .into_iter()
        .map(|(port, frames)| {
            let path = dir.join(format!("in-{port}.pcap"));
            write_capture(&path, &frames).unwrap();
            format!("{port}={}", path.display())
        })
        .collect()
}

fn run_replay(dir: &std::path::Path) -> serde_json::Value {
    let config = repo_root().join("tests/fixtures/vlans.toml");
    let mut cmd = Command::new(xvs_bin());
    cmd.arg("replay").arg("-c").arg(&config).arg("--out-dir").arg(dir.join("out"));
    for a in write_scenario(dir) {
        cmd.arg("--in").arg(a);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "replay failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(stdout, file, "stdout and summary.json agree");
    file
}

#[test]
fn replay_scenario_matches_golden_summary() {
    let dir = scratch_dir("replay-golden");
    let summary = run_replay(&dir);
    check_golden("replay_vlans/summary.json", &(serde_json::to_string_pretty(&summary).unwrap() + "\n"));

    // Spot checks that document what the golden file means.
    let drops = &summary["drops"];
    assert_eq!(drops["vlan_not_allowed"], 1);
    assert_eq!(drops["src_mac_multicast"], 1);
    assert_eq!(drops["static_mac_move"], 1);
    // MTUs, as the real path has them: the jumbo frame never entered, and
    // the full-sized frame for h3 (MTU 1400) did not leave.
    assert_eq!(summary["ports"]["h1"]["rx_too_big"], 1);
    assert_eq!(drops["egress_too_big"], 1);
    assert!(summary["fdb_stats"]["aged"].as_u64().unwrap() >= 1, "nothing aged: {summary}");
    assert_eq!(summary["mac_moves"][0]["from"], "h2");
    assert_eq!(summary["mac_moves"][0]["to"], "uplink");
    let fdb = summary["fdb"].as_array().unwrap();
    assert!(fdb.iter().any(|e| e["mac"] == "02:00:00:00:00:42" && e["type"] == "static" && e["port"] == "h3"));

    // VLAN isolation: nothing from VLAN 10 reached h3, nothing from VLAN 20 reached h1/h2.
    let out = |p: &str| read_capture(&dir.join(format!("out/{p}.pcap"))).unwrap();
    for f in out("h3") {
        assert_eq!(&f.data[6..12], &mac(0x30).0, "only the VLAN 20 broadcast reaches h3");
    }
    for p in ["h1", "h2"] {
        assert!(out(p).iter().all(|f| f.data[6..12] != mac(0x30).0), "VLAN 20 source leaked to {p}");
    }
    // QinQ: the provider trunk carries S-tag 30 over the customer's C-tag 100.
    let prov = out("provider");
    assert_eq!(prov.len(), 1);
    assert_eq!(&prov[0].data[12..20], &[0x88, 0xa8, 0x00, 30, 0x81, 0x00, 0x00, 100]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tshark_dissects_replay_output() {
    if !have("tshark") {
        panic!("tshark is required (scripts/install-deps.sh installs it)");
    }
    let dir = scratch_dir("replay-tshark");
    run_replay(&dir);
    let fields = |file: &str, field: &str| -> Vec<String> {
        let out = Command::new("tshark")
            .args(["-r", dir.join(format!("out/{file}.pcap")).to_str().unwrap(), "-T", "fields", "-e", field])
            .output()
            .unwrap();
        assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    };
    // The uplink (native VLAN 10 untagged) carries VLAN 10 floods untagged;
    // only what came from VLAN 20 would be tagged, and none did here.
    assert!(fields("uplink", "vlan.id").iter().all(|v| v.is_empty()));
    // tshark sees both tags on the provider trunk: outer S-tag 30 (802.1ad), inner C-tag 100.
    assert_eq!(fields("provider", "ieee8021ad.id"), vec!["30".to_string()]);
    assert_eq!(fields("provider", "vlan.id"), vec!["100".to_string()]);
    assert_eq!(fields("provider", "vlan.etype"), vec!["0x0800".to_string()]);
    // h2 got h1's ARP request (the payload is not a valid ARP body, but the
    // EtherType is preserved and tshark labels it).
    assert!(fields("h2", "eth.type").contains(&"0x0806".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_shows_each_stage_and_matches_golden() {
    let dir = scratch_dir("trace");
    let frame = push_tag(eth(mac(2), mac(9), IPV4, b"trace me"), 0x8100, 10);
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let config = repo_root().join("tests/fixtures/vlans.toml");
    let h2_pcap = dir.join("h2.pcap");
    write_capture(&h2_pcap, &[at(0, eth(MacAddr::BROADCAST, mac(2), ARP, b"hello"))]).unwrap();
    let out = Command::new(xvs_bin())
        .args(["trace", "-c", config.to_str().unwrap(), "--in-port", "uplink", "--frame", &hex])
        .arg("--warmup")
        .arg(format!("h2={}", h2_pcap.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    check_golden("trace_uplink_to_h2.txt", &text);
    assert!(text.contains("destination learned on port h2"));
    assert!(text.ends_with("Verdict: forwarded to h2\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_errors_name_the_problem() {
    let dir = scratch_dir("cli-errors");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[port]]\nname = \"a\"\nmode = \"access\"\nvlan = 5000\n").unwrap();
    let out = Command::new(xvs_bin()).args(["check", "-c", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vlan") && err.contains("5000"), "{err}");

    let pcap = dir.join("x.pcap");
    write_capture(&pcap, &[]).unwrap();
    let out = Command::new(xvs_bin())
        .args(["replay", "--in", &format!("nosuch={}", pcap.display()), "--out-dir", dir.join("o").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nosuch") && err.contains("h1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `xvs trace` on an overlay shows the encap stage's outcome: the outer
/// frame and its port once the next hop is known, and the drop (with the
/// ARP request the switch sends itself) while it is not.
#[test]
fn trace_shows_the_encap_stage() {
    let dir = scratch_dir("trace-encap");
    let example = std::fs::read_to_string(repo_root().join("config/examples/vxlan.toml")).unwrap();
    let resolved = example.replacen("# nexthop_mac = ", "nexthop_mac = ", 1);
    assert_ne!(resolved, example, "the example has a commented-out nexthop_mac");
    let frame = eth(MacAddr::BROADCAST, mac(1), IPV4, b"over the tunnel");
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let trace = |name: &str, text: &str| -> serde_json::Value {
        let config = dir.join(name);
        std::fs::write(&config, text).unwrap();
        let out = Command::new(xvs_bin())
            .args(["trace", "--json", "-c", config.to_str().unwrap(), "--in-port", "h1", "--frame", &hex])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stages = |t: &serde_json::Value| -> Vec<(String, String)> {
        t["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["stage"].as_str().unwrap().to_string(), s["detail"].as_str().unwrap().to_string()))
            .collect()
    };

    let ok = trace("resolved.toml", &resolved);
    let steps = stages(&ok);
    let outer = frame.len() + 50;
    assert!(steps.iter().any(|(s, d)| s == "output" && d.contains("VXLAN VNI 100 to 192.168.100.2")), "{steps:?}");
    assert_eq!(steps.last().unwrap(), &("encap".to_string(), format!("{outer}-byte outer frame out of port uplink")));
    assert_eq!(ok["verdict"], "flooded to 1 port(s): uplink");
    assert_eq!(ok["outputs"][0]["len"], outer);

    let unresolved = trace("unresolved.toml", &example);
    assert_eq!(
        stages(&unresolved).last().unwrap(),
        &("drop".to_string(), "reason encap_nexthop_unresolved".to_string())
    );
    let verdict = unresolved["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("dropped: encap_nexthop_unresolved (and 1 frame(s) the switch sent itself"),
        "{verdict}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
