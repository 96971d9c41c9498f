//! The switch on real kernel traffic: hosts in network namespaces, veth pairs,
//! `xvs run` on AF_XDP (copy mode on veth), and the kernel's own ARP, ICMP
//! and TCP plus scapy-crafted frames, observed with tcpdump in the hosts.
//!
//! Every test needs root and skips (with a message) without it. The tests
//! hold a process-wide lock while a switch runs, because each switch pins a
//! poll-mode worker to CPU 1. See docs/testing.md for what each test proves.
//!
//! Run one: `cargo test -p xvs-tests --test veth -- NAME --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use xvs_tests::netns::{iperf3, poll, serial, skip_unless_root, Background, Host, PortMode, Topology, Xvs, XvsOptions};

/// Ethertype of the scapy test frames (IEEE local experimental 1).
const TEST_ETHERTYPE: u16 = 0x88b5;

/// Largest MTU a veth peer accepts while a (non-multi-buffer) XDP program is
/// attached to the switch-side end in native mode: the frame must fit one
/// page after the XDP headroom and `skb_shared_info`.
const NATIVE_MAX_MTU: u32 = 3506;
/// Largest frame AF_XDP copy mode can deliver into xvs's UMEM chunks:
/// 4096 - 256 (frame headroom) - 256 (XDP_PACKET_HEADROOM).
const UMEM_MAX_FRAME: u32 = 3584;

// ---------------------------------------------------------------- helpers

fn access(v: u16) -> PortMode {
    PortMode::Access(v)
}

/// h1, h2 in VLAN 10 and h3, h4 in VLAN 20, all in 10.9.0.0/24, so that a
/// cross-VLAN ping is attempted (ARP) rather than refused by routing.
fn four_hosts() -> Topology {
    Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .host("h3", access(20), Some("10.9.0.3/24"))
        .host("h4", access(20), Some("10.9.0.4/24"))
        .build()
}

fn mac_bytes(mac: &str) -> [u8; 6] {
    let mut b = [0u8; 6];
    for (i, p) in mac.split(':').enumerate() {
        b[i] = u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("bad MAC {mac}"));
    }
    b
}

fn mac_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn dst(f: &[u8]) -> String {
    mac_of(&f[0..6])
}

fn src(f: &[u8]) -> String {
    mac_of(&f[6..12])
}

fn ethertype(f: &[u8]) -> u16 {
    u16::from_be_bytes([f[12], f[13]])
}

/// The VID of an 802.1Q-tagged frame, `None` when untagged.
fn vid(f: &[u8]) -> Option<u16> {
    (ethertype(f) == 0x8100).then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff)
}

fn from<'a>(frames: &'a [Vec<u8>], mac: &str) -> Vec<&'a Vec<u8>> {
    frames.iter().filter(|f| f.len() >= 14 && src(f) == mac).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A Python bytes literal.
fn py_bytes(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for x in b {
        s.push_str(&format!("\\x{x:02x}"));
    }
    s.push('\'');
    s
}

/// A scapy untagged test frame carrying `marker`.
fn py_frame(src: &str, dst: &str, marker: &str) -> String {
    format!("Ether(src='{src}', dst='{dst}', type={TEST_ETHERTYPE})/Raw(b'{marker}')")
}

/// A scapy 802.1Q-tagged test frame carrying `marker`.
fn py_tagged(src: &str, dst: &str, vlan: u16, marker: &str) -> String {
    format!("Ether(src='{src}', dst='{dst}')/Dot1Q(vlan={vlan}, type={TEST_ETHERTYPE})/Raw(b'{marker}')")
}

fn fdb_find<'a>(entries: &'a [Value], mac: &str) -> Option<&'a Value> {
    entries.iter().find(|e| e["mac"] == mac)
}

/// Asserts `mac` is in the FDB as a `kind` entry on `port` in VLAN `vlan`.
fn assert_fdb(entries: &[Value], mac: &str, port: &str, vlan: u16, kind: &str) {
    let e = fdb_find(entries, mac).unwrap_or_else(|| panic!("{mac} not in the FDB: {entries:#?}"));
    assert_eq!(e["port"], port, "{mac}: wrong port in {e}");
    assert_eq!(e["vlan"], vlan, "{mac}: wrong VLAN in {e}");
    assert_eq!(e["bridge"], "br0", "{mac}: wrong bridge in {e}");
    assert_eq!(e["type"], kind, "{mac}: wrong type in {e}");
}

fn counter(stats: &Value, section: &str, name: &str) -> u64 {
    stats[section][name].as_u64().unwrap_or_else(|| panic!("stats has no {section}.{name}: {stats}"))
}

/// The per-queue AF_XDP counter `name` of interface `iface`.
fn queue_counter(stats: &Value, iface: &str, name: &str) -> u64 {
    stats["dataplane"]["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["iface"] == iface))
        .and_then(|q| q[name].as_u64())
        .unwrap_or_else(|| panic!("no queue counter {name} for {iface}: {}", stats["dataplane"]))
}

/// Asserts every port is bound in copy mode with the XDP hook `xdp`.
fn assert_bind(xvs: &Xvs, xdp: &str) {
    let ports = xvs.json(&["port", "list"]);
    for p in ports["ports"].as_array().cloned().unwrap_or_default() {
        assert_eq!(p["afxdp"], format!("q0:copy/{xdp}"), "port {} is not bound as expected: {p}", p["name"]);
    }
}

/// Pings `to` from `from` and asserts exactly `want` replies; on a mismatch
/// the message carries the switch's FDB and counters and both ARP tables.
fn ping_expect(xvs: &Xvs, from: &Host, to: &str, count: u32, extra: &[&str], want: u32) {
    let (n, out) = from.ping(to, count, extra);
    if n != want {
        let st = xvs.stats();
        panic!(
            "{} -> {to} {extra:?}: {n} replies, expected {want}\n{out}\nFDB: {:#?}\npipeline: {}\ndrops: {}\nports: {}\nqueues: {}\n{} neigh: {}",
            from.name,
            xvs.fdb(),
            st["pipeline"],
            st["drops"],
            st["ports"],
            st["dataplane"]["queues"],
            from.name,
            String::from_utf8_lossy(&from.exec(&["ip", "neigh"]).stdout),
        );
    }
}

/// The start of every test here: `None` (the test skips) without root;
/// otherwise the suite's lock (held for the whole test, see the crate docs)
/// and the start time for [`done`].
fn root_test(test: &str) -> Option<(std::sync::MutexGuard<'static, ()>, Instant)> {
    if skip_unless_root(test) {
        return None;
    }
    Some((serial(), Instant::now()))
}

fn done(test: &str, t0: Instant, xvs: &Xvs) {
    eprintln!("{test}: {:.1} s (switch start-up {:.2} s)", t0.elapsed().as_secs_f64(), xvs.startup.as_secs_f64());
}

// ------------------------------------------------------------------ tests

/// ARP resolves and ping works inside a VLAN, across the switch, with the
/// worker in pure busy-poll mode; ARP (and so ping) across VLANs fails.
#[test]
fn ping_and_arp_within_vlan_but_not_across() {
    let Some((_serial, t0)) = root_test("ping_and_arp_within_vlan_but_not_across") else { return };
    let topo = four_hosts();
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, ..XvsOptions::default() });
    assert_bind(&xvs, "native");
    let (h1, h2, h3, h4) = (topo.host("h1"), topo.host("h2"), topo.host("h3"), topo.host("h4"));

    ping_expect(&xvs, h1, h2.ip(), 3, &[], 3);
    ping_expect(&xvs, h4, h3.ip(), 3, &[], 3);
    // ARP went through the switch in both directions.
    assert_eq!(h1.neigh(h2.ip()).0.as_deref(), Some(h2.mac.as_str()), "h1's ARP entry for h2");
    assert_eq!(h2.neigh(h1.ip()).0.as_deref(), Some(h1.mac.as_str()), "h2's ARP entry for h1");
    assert_eq!(h4.neigh(h3.ip()).0.as_deref(), Some(h3.mac.as_str()), "h4's ARP entry for h3");

    ping_expect(&xvs, h1, h3.ip(), 2, &[], 0);
    ping_expect(&xvs, h2, h4.ip(), 2, &[], 0);
    let (mac, state) = h1.neigh(h3.ip());
    assert_eq!(mac, None, "h1 resolved h3's MAC across VLANs (state {state})");
    assert_eq!(h3.neigh(h1.ip()).0, None, "h3 learned h1's MAC across VLANs");

    let stats = xvs.stats();
    // 2 x (ARP request + reply + 3 echo requests + 3 replies), at least.
    assert!(counter(&stats, "pipeline", "packets") >= 16, "pipeline counters: {}", stats["pipeline"]);
    done("ping_and_arp_within_vlan_but_not_across", t0, &xvs);
}

/// Learned MACs appear on the right port and VLAN, age out within
/// aging_secs + 2 s once the hosts go quiet (but not much earlier), and a
/// static entry added with `xvs fdb add` stays.
#[test]
fn fdb_learns_ages_out_and_keeps_static_entries() {
    let Some((_serial, t0)) = root_test("fdb_learns_ages_out_and_keeps_static_entries") else { return };
    const AGING: u64 = 4;
    let topo = four_hosts();
    let xvs = Xvs::start(&topo, &XvsOptions { aging_secs: AGING as u32, ..XvsOptions::default() });
    let (h1, h2, h3, h4) = (topo.host("h1"), topo.host("h2"), topo.host("h3"), topo.host("h4"));
    // Static ARP entries: ARP's own re-validation (a unicast probe ~5 s
    // after a ping) would otherwise refresh the FDB while we wait for aging.
    h1.static_neigh(h2.ip(), &h2.mac);
    h2.static_neigh(h1.ip(), &h1.mac);
    h3.static_neigh(h4.ip(), &h4.mac);
    h4.static_neigh(h3.ip(), &h3.mac);

    assert_eq!(xvs.fdb(), Vec::<Value>::new(), "FDB not empty before any traffic");
    let static_mac = "02:00:00:00:aa:99";
    let out = xvs.cli(&["fdb", "add", "--vlan", "10", "--mac", static_mac, "--port", "h2"]);
    assert!(out.status.success(), "fdb add: {}", String::from_utf8_lossy(&out.stderr));

    ping_expect(&xvs, h1, h2.ip(), 2, &[], 2);
    ping_expect(&xvs, h3, h4.ip(), 2, &[], 2);
    let quiet_since = Instant::now();

    let entries = poll(Duration::from_secs(2), Duration::from_millis(50), || {
        let e = xvs.fdb();
        (e.len() >= 5).then_some(e)
    })
    .unwrap_or_else(|| panic!("FDB did not fill: {:#?}", xvs.fdb()));
    assert_eq!(entries.len(), 5, "exactly 4 learned MACs + 1 static expected: {entries:#?}");
    assert_fdb(&entries, &h1.mac, "h1", 10, "dynamic");
    assert_fdb(&entries, &h2.mac, "h2", 10, "dynamic");
    assert_fdb(&entries, &h3.mac, "h3", 20, "dynamic");
    assert_fdb(&entries, &h4.mac, "h4", 20, "dynamic");
    assert_fdb(&entries, static_mac, "h2", 10, "static");
    // The CLI filters.
    let v20 = xvs.json(&["fdb", "show", "--vlan", "20"]);
    assert_eq!(v20["count"], 2, "--vlan 20: {v20}");
    let p1 = xvs.json(&["fdb", "show", "--port", "h1"]);
    assert_eq!(p1["count"], 1, "--port h1: {p1}");
    assert_eq!(p1["entries"][0]["mac"], h1.mac.as_str());

    // Quiet hosts: poll until every learned MAC is gone.
    let learned = [&h1.mac, &h2.mac, &h3.mac, &h4.mac];
    let mut last_seen = Duration::ZERO;
    let gone = poll(Duration::from_secs(AGING + 6), Duration::from_millis(200), || {
        let e = xvs.fdb();
        if learned.iter().any(|m| fdb_find(&e, m).is_some()) {
            last_seen = quiet_since.elapsed();
            None
        } else {
            Some((quiet_since.elapsed(), e))
        }
    });
    let (gone_after, rest) = gone.unwrap_or_else(|| panic!("learned MACs did not age out: {:#?}", xvs.fdb()));
    eprintln!("aging_secs = {AGING}: last seen after {last_seen:?}, gone after {gone_after:?}");
    assert!(
        gone_after <= Duration::from_secs(AGING + 2),
        "entries took {gone_after:?} to age out (aging_secs = {AGING})"
    );
    assert!(
        last_seen >= Duration::from_secs(AGING - 1),
        "entries aged out too early: last seen {last_seen:?} after the hosts went quiet (aging_secs = {AGING})"
    );
    assert_eq!(rest.len(), 1, "only the static entry should remain: {rest:#?}");
    assert_fdb(&rest, static_mac, "h2", 10, "static");
    let stats = xvs.stats();
    assert!(counter(&stats, "fdb", "aged") >= 4, "fdb counters: {}", stats["fdb"]);

    // Traffic re-learns; the static entry can still be deleted.
    ping_expect(&xvs, h1, h2.ip(), 1, &[], 1);
    assert_fdb(&xvs.fdb(), &h1.mac, "h1", 10, "dynamic");
    let out = xvs.cli(&["fdb", "del", "--vlan", "10", "--mac", static_mac]);
    assert!(out.status.success(), "fdb del: {}", String::from_utf8_lossy(&out.stderr));
    assert!(fdb_find(&xvs.fdb(), static_mac).is_none(), "static entry survived fdb del");
    done("fdb_learns_ages_out_and_keeps_static_entries", t0, &xvs);
}

/// A frame to an unlearned MAC reaches every other port of its VLAN exactly
/// once and no port of another VLAN; once the MAC is learned (or pinned
/// statically) it goes to that port only.
#[test]
fn unknown_unicast_floods_within_its_vlan_only() {
    let Some((_serial, t0)) = root_test("unknown_unicast_floods_within_its_vlan_only") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), None)
        .host("h2", access(10), None)
        .host("h5", access(10), None)
        .host("h3", access(20), None)
        .host("h4", access(20), None)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions::default());
    let h1 = topo.host("h1");
    let unknown = "02:00:00:00:ee:01";
    let pinned = "02:00:00:00:ee:02";
    let filter = format!("ether dst {unknown} or ether dst {pinned}");
    let before = xvs.stats();

    // 1. Unknown unicast floods within VLAN 10.
    let caps: Vec<_> = topo.hosts().iter().map(|h| (h.name.clone(), h.capture(topo.dir(), &filter))).collect();
    let frames: Vec<String> = (0..5).map(|i| py_frame(&h1.mac, unknown, &format!("xvs-flood-{i}"))).collect();
    h1.scapy_send(&format!("[{}]", frames.join(", ")));
    let got: BTreeMap<String, Vec<Vec<u8>>> = caps.into_iter().map(|(n, c)| (n, c.finish())).collect();
    let count = |name: &str| got[name].iter().filter(|f| dst(f) == unknown).count();
    assert_eq!(count("h2"), 5, "h2 (VLAN 10) should get every flooded frame");
    assert_eq!(count("h5"), 5, "h5 (VLAN 10) should get every flooded frame");
    assert_eq!(count("h1"), 0, "the flood came back to its sender");
    assert_eq!(count("h3"), 0, "the flood leaked into VLAN 20 (h3)");
    assert_eq!(count("h4"), 0, "the flood leaked into VLAN 20 (h4)");
    for i in 0..5 {
        let marker = format!("xvs-flood-{i}");
        for h in ["h2", "h5"] {
            let f = got[h].iter().find(|f| contains(f, marker.as_bytes()));
            let f = f.unwrap_or_else(|| panic!("{h} did not get {marker}"));
            assert_eq!((src(f), ethertype(f)), (h1.mac.clone(), TEST_ETHERTYPE), "{h}: frame changed in flight");
        }
    }
    let after = xvs.stats();
    let uu = counter(&after, "pipeline", "unknown_unicast") - counter(&before, "pipeline", "unknown_unicast");
    assert!(uu >= 5, "unknown_unicast counter grew by {uu}");

    // 2. h5 speaks from the MAC: it is learned there and no longer flooded.
    topo.host("h5").scapy_send(&py_frame(unknown, &h1.mac, "xvs-hello"));
    let learned = poll(Duration::from_secs(2), Duration::from_millis(50), || {
        let e = xvs.fdb();
        fdb_find(&e, unknown).cloned()
    });
    assert!(learned.is_some(), "{unknown} was not learned: {:#?}", xvs.fdb());
    assert_fdb(&xvs.fdb(), unknown, "h5", 10, "dynamic");
    let out = xvs.cli(&["fdb", "add", "--vlan", "10", "--mac", pinned, "--port", "h2"]);
    assert!(out.status.success(), "fdb add: {}", String::from_utf8_lossy(&out.stderr));

    let caps: Vec<_> = topo.hosts().iter().map(|h| (h.name.clone(), h.capture(topo.dir(), &filter))).collect();
    let mut frames: Vec<String> = (0..5).map(|i| py_frame(&h1.mac, unknown, &format!("xvs-known-{i}"))).collect();
    frames.extend((0..3).map(|i| py_frame(&h1.mac, pinned, &format!("xvs-static-{i}"))));
    h1.scapy_send(&format!("[{}]", frames.join(", ")));
    let got: BTreeMap<String, Vec<Vec<u8>>> = caps.into_iter().map(|(n, c)| (n, c.finish())).collect();
    let count = |name: &str, mac: &str| got[name].iter().filter(|f| dst(f) == mac).count();
    assert_eq!(count("h5", unknown), 5, "the learned MAC's port h5");
    assert_eq!(count("h2", unknown), 0, "a learned MAC was still flooded to h2");
    assert_eq!(count("h2", pinned), 3, "the static entry's port h2");
    assert_eq!(count("h5", pinned), 0, "a static MAC was flooded to h5");
    for h in ["h1", "h3", "h4"] {
        assert_eq!(got[h].len(), 0, "{h} got frames for {unknown}/{pinned}");
    }
    done("unknown_unicast_floods_within_its_vlan_only", t0, &xvs);
}

/// Not a single frame from VLAN 10's hosts reaches VLAN 20's hosts: not
/// broadcasts, multicasts, unknown unicast, nor unicast to a VLAN 20 MAC the
/// switch has learned.
#[test]
fn vlan_isolation_between_access_ports() {
    let Some((_serial, t0)) = root_test("vlan_isolation_between_access_ports") else { return };
    let topo = four_hosts();
    let xvs = Xvs::start(&topo, &XvsOptions::default());
    let (h1, h2, h3, h4) = (topo.host("h1"), topo.host("h2"), topo.host("h3"), topo.host("h4"));

    let caps: Vec<_> = [h2, h3, h4].iter().map(|h| (h.name.clone(), h.capture(topo.dir(), ""))).collect();
    // VLAN 20 talks first (positive control for its captures; its MACs are
    // then in the FDB).
    ping_expect(&xvs, h3, h4.ip(), 2, &[], 2);
    // VLAN 10: the kernel's own traffic...
    ping_expect(&xvs, h1, h2.ip(), 2, &[], 2);
    ping_expect(&xvs, h1, h3.ip(), 2, &[], 0);
    ping_expect(&xvs, h2, "10.9.0.255", 2, &["-b"], 0);
    // ...and crafted frames of every destination kind.
    let kinds = [
        ("ff:ff:ff:ff:ff:ff", "bcast"),
        ("01:00:5e:00:00:fb", "mcast"),
        ("02:00:00:00:ee:77", "unknown"),
        (h3.mac.as_str(), "to-h3"),
        (h4.mac.as_str(), "to-h4"),
    ];
    let frames: Vec<String> = kinds.iter().map(|(d, m)| py_frame(&h1.mac, d, &format!("iso-{m}"))).collect();
    h1.scapy_send(&format!("[{}]", frames.join(", ")));
    let got: BTreeMap<String, Vec<Vec<u8>>> = caps.into_iter().map(|(n, c)| (n, c.finish())).collect();

    for h in ["h3", "h4"] {
        let leaked: Vec<String> = got[h]
            .iter()
            .filter(|f| src(f) == h1.mac || src(f) == h2.mac || contains(f, b"iso-"))
            .map(|f| format!("{} > {} type {:04x} len {}", src(f), dst(f), ethertype(f), f.len()))
            .collect();
        assert!(leaked.is_empty(), "{h} (VLAN 20) received frames from VLAN 10: {leaked:#?}");
    }
    assert!(!from(&got["h4"], &h3.mac).is_empty(), "control: h4 captured nothing from h3");
    assert!(!from(&got["h3"], &h4.mac).is_empty(), "control: h3 captured nothing from h4");
    // Control: the crafted frames were sent and flooded inside VLAN 10.
    for m in ["iso-bcast", "iso-mcast", "iso-unknown"] {
        assert!(got["h2"].iter().any(|f| contains(f, m.as_bytes())), "control: h2 did not get {m}");
    }
    done("vlan_isolation_between_access_ports", t0, &xvs);
}

/// A trunk port (allowed 10,20, native 10): tagged frames from the trunk
/// reach the access host of their VLAN untagged; a disallowed VID is
/// dropped; untagged frames join the native VLAN; frames from access hosts
/// leave the trunk tagged with their VID (native VLAN untagged).
#[test]
fn trunk_port_tags_and_untags() {
    let Some((_serial, t0)) = root_test("trunk_port_tags_and_untags") else { return };
    let topo = Topology::builder()
        .host("a10", access(10), None)
        .host("a20", access(20), None)
        .host("tr", PortMode::Trunk { allowed: "10,20".into(), native: Some(10) }, None)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions::default());
    let (a10, a20, tr) = (topo.host("a10"), topo.host("a20"), topo.host("tr"));
    let (t10, t20, tu, t30) = ("02:00:00:00:7e:0a", "02:00:00:00:7e:14", "02:00:00:00:7e:01", "02:00:00:00:7e:1e");
    let bc = "ff:ff:ff:ff:ff:ff";
    let before = xvs.stats();

    // Trunk -> access.
    let caps: Vec<_> = [a10, a20].iter().map(|h| (h.name.clone(), h.capture(topo.dir(), ""))).collect();
    let mut frames = Vec::new();
    frames.extend((0..3).map(|i| py_tagged(t20, bc, 20, &format!("tag20-{i}"))));
    frames.extend((0..2).map(|i| py_tagged(t10, bc, 10, &format!("tag10-{i}"))));
    frames.extend((0..2).map(|i| py_frame(tu, bc, &format!("untagged-{i}"))));
    frames.extend((0..2).map(|i| py_tagged(t30, bc, 30, &format!("tag30-{i}"))));
    tr.scapy_send(&format!("[{}]", frames.join(", ")));
    let got: BTreeMap<String, Vec<Vec<u8>>> = caps.into_iter().map(|(n, c)| (n, c.finish())).collect();

    let check_untagged = |host: &str, mac: &str, n: usize, marker: &str| {
        let fs = from(&got[host], mac);
        assert_eq!(fs.len(), n, "{host}: frames from {mac}");
        for f in fs {
            assert_eq!(ethertype(f), TEST_ETHERTYPE, "{host}: frame from {mac} is not untagged: {f:02x?}");
            assert!(contains(f, marker.as_bytes()), "{host}: frame from {mac} lost its payload");
        }
    };
    check_untagged("a20", t20, 3, "tag20-");
    check_untagged("a10", t10, 2, "tag10-");
    check_untagged("a10", tu, 2, "untagged-");
    for (host, mac) in [("a20", t10), ("a20", tu), ("a10", t20), ("a10", t30), ("a20", t30)] {
        assert_eq!(from(&got[host], mac).len(), 0, "{host} got frames from {mac}");
    }
    let after = xvs.stats();
    let dropped = counter(&after, "drops", "vlan_not_allowed") - counter(&before, "drops", "vlan_not_allowed");
    assert_eq!(dropped, 2, "VLAN 30 frames should be dropped as vlan_not_allowed");
    let fdb = xvs.fdb();
    assert_fdb(&fdb, t20, "tr", 20, "dynamic");
    assert_fdb(&fdb, t10, "tr", 10, "dynamic");
    assert_fdb(&fdb, tu, "tr", 10, "dynamic");
    assert!(fdb_find(&fdb, t30).is_none(), "a MAC from a disallowed VLAN was learned");

    // Access -> trunk: broadcast, and unicast to the MAC learned on the trunk.
    let cap = tr.capture(topo.dir(), "");
    let mut f20: Vec<String> = (0..2).map(|i| py_frame(&a20.mac, bc, &format!("from20-b{i}"))).collect();
    f20.extend((0..2).map(|i| py_frame(&a20.mac, t20, &format!("from20-u{i}"))));
    a20.scapy_send(&format!("[{}]", f20.join(", ")));
    a10.scapy_send(&format!(
        "[{}]",
        (0..2).map(|i| py_frame(&a10.mac, bc, &format!("from10-{i}"))).collect::<Vec<_>>().join(", ")
    ));
    let got = cap.finish();
    let fs = from(&got, &a20.mac);
    assert_eq!(fs.len(), 4, "trunk: frames from a20");
    for f in &fs {
        assert_eq!(vid(f), Some(20), "trunk: a20's frame is not tagged with VID 20: {f:02x?}");
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), TEST_ETHERTYPE, "trunk: inner ethertype");
    }
    assert_eq!(fs.iter().filter(|f| dst(f) == t20).count(), 2, "trunk: unicast to {t20}");
    let fs = from(&got, &a10.mac);
    assert_eq!(fs.len(), 2, "trunk: frames from a10");
    for f in &fs {
        assert_eq!(vid(f), None, "trunk: native VLAN 10 should leave untagged: {f:02x?}");
        assert_eq!(ethertype(f), TEST_ETHERTYPE);
    }
    done("trunk_port_tags_and_untags", t0, &xvs);
}

/// Runs an iperf3 TCP test from `client` to `server` (3 s, plus `extra`
/// client flags) and returns iperf3's JSON report.
/// TCP (iperf3, ~3 s) through the switch, with the default ring sizes.
#[test]
fn iperf3_tcp_through_the_switch() {
    let Some((_serial, t0)) = root_test("iperf3_tcp_through_the_switch") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions { small_rings: false, ..XvsOptions::default() });
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let v = iperf3(&topo, h1, h2, h2.ip(), &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    let retrans = v["end"]["sum_sent"]["retransmits"].as_u64().unwrap_or(0);
    eprintln!("iperf3 TCP h1 -> h2 through xvs: {:.2} Gbit/s, {bytes} bytes, {retrans} retransmits", bps / 1e9);
    assert!(bytes > 0 && bps > 0.0, "no data received: {}", v["end"]);
    let stats = xvs.stats();
    let rx = stats["ports"]["h1"]["rx_packets"].as_u64().unwrap_or(0);
    assert!(rx > 1000, "the switch saw only {rx} packets from h1: did the traffic bypass it?");
    done("iperf3_tcp_through_the_switch", t0, &xvs);
}

/// Multi-queue: veth pairs with 2 TX and 2 RX queues, `queues = 2` on every
/// port and two workers. The hosts' stacks hash 16 TCP streams over their
/// two TX queues, veth delivers each on the switch side's RX queue of the
/// same number, and each (port, queue) is polled by exactly one worker:
/// worker 0 owns queue 0 and worker 1 queue 1 of every port. Both queues of
/// both ports carry traffic, all 16 streams complete, and every frame a
/// worker receives on one port it transmits on the other port from its own
/// queue.
#[test]
fn two_workers_share_the_queues_of_multi_queue_ports() {
    if std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) < 2 {
        eprintln!("SKIP two_workers_share_the_queues_of_multi_queue_ports: needs 2 CPUs");
        return;
    }
    let Some((_serial, t0)) = root_test("two_workers_share_the_queues_of_multi_queue_ports") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .queues(2)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions { small_rings: false, workers: 2, ..XvsOptions::default() });
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    ping_expect(&xvs, h1, h2.ip(), 2, &[], 2);

    let v = iperf3(&topo, h1, h2, h2.ip(), &["-P", "16"]);
    let streams = v["end"]["streams"].as_array().map_or(0, Vec::len);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    assert_eq!(streams, 16, "not every stream reported: {}", v["end"]);
    assert!(bytes > 0, "no data received: {}", v["end"]);

    // Frames a worker has taken from an RX ring but not yet written to a TX
    // ring show as rx without tx; wait (briefly) for the last ones to leave.
    let queues_of = |st: &Value| st["dataplane"]["queues"].as_array().cloned().unwrap_or_default();
    let moved = |queues: &[Value], worker: u64, iface: &str, field: &str| -> u64 {
        queues
            .iter()
            .filter(|q| q["worker"] == worker && q["iface"] == iface)
            .map(|q| q[field].as_u64().unwrap_or(0))
            .sum()
    };
    let (a, b) = (h1.sw_if.as_str(), h2.sw_if.as_str());
    let balanced = |queues: &[Value]| {
        (0..2u64).all(|w| {
            moved(queues, w, a, "rx_packets") == moved(queues, w, b, "tx_packets") + moved(queues, w, b, "tx_ring_full")
                && moved(queues, w, b, "rx_packets")
                    == moved(queues, w, a, "tx_packets") + moved(queues, w, a, "tx_ring_full")
        })
    };
    let queues = poll(Duration::from_secs(3), Duration::from_millis(100), || {
        let q = queues_of(&xvs.stats());
        balanced(&q).then_some(q)
    })
    .unwrap_or_else(|| queues_of(&xvs.stats()));
    let mut owners: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
    for q in &queues {
        let key = (q["iface"].as_str().unwrap_or("?").to_string(), q["queue"].as_u64().unwrap_or(99));
        owners.entry(key).or_default().push(q["worker"].as_u64().unwrap_or(99));
    }
    for h in [h1, h2] {
        for queue in 0..2u64 {
            let key = (h.sw_if.clone(), queue);
            assert_eq!(
                owners.get(&key),
                Some(&vec![queue]),
                "{} queue {queue} should be polled by worker {queue} alone: {queues:#?}",
                h.sw_if
            );
            let q = queues.iter().find(|q| q["iface"] == h.sw_if.as_str() && q["queue"] == queue).unwrap();
            let rx = q["rx_packets"].as_u64().unwrap_or(0);
            assert!(rx > 100, "{} queue {queue} received only {rx} frames: {queues:#?}", h.sw_if);
        }
    }
    // A worker transmits what it receives on one port out of its own queue
    // of the other port.
    for worker in 0..2u64 {
        assert_eq!(
            moved(&queues, worker, a, "rx_packets"),
            moved(&queues, worker, b, "tx_packets") + moved(&queues, worker, b, "tx_ring_full"),
            "worker {worker}: {a} rx vs {b} tx: {queues:#?}"
        );
        assert_eq!(
            moved(&queues, worker, b, "rx_packets"),
            moved(&queues, worker, a, "tx_packets") + moved(&queues, worker, a, "tx_ring_full"),
            "worker {worker}: {b} rx vs {a} tx: {queues:#?}"
        );
    }
    eprintln!(
        "multi-queue: {}",
        queues
            .iter()
            .map(|q| format!("{}/q{}/w{} rx {}", q["iface"], q["queue"], q["worker"], q["rx_packets"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    done("two_workers_share_the_queues_of_multi_queue_ports", t0, &xvs);
}

/// Deterministic filler bytes for frame payloads.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends one frame of exactly `len` bytes from `h` to `to` with a known
/// payload and returns the bytes sent.
fn frame_of_len(src: &str, dst: &str, len: usize, seed: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&mac_bytes(dst));
    f.extend_from_slice(&mac_bytes(src));
    f.extend_from_slice(&TEST_ETHERTYPE.to_be_bytes());
    f.extend_from_slice(&pattern(len - 14, seed));
    f
}

fn send_raw(h: &Host, frames: &[Vec<u8>]) {
    let list: Vec<String> = frames.iter().map(|f| format!("Ether({})", py_bytes(f))).collect();
    h.scapy_send(&format!("[{}]", list.join(", ")));
}

/// 1500-byte and the largest jumbo frames pass unchanged in native XDP mode
/// (the default on veth); a frame one tag larger than that is dropped
/// without harm, and the switch keeps forwarding.
#[test]
fn mtu_1500_and_largest_jumbo_in_native_mode() {
    let Some((_serial, t0)) = root_test("mtu_1500_and_largest_jumbo_in_native_mode") else { return };
    let mtu = NATIVE_MAX_MTU;
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .mtu(mtu)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions::default());
    assert_bind(&xvs, "native");
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));

    ping_expect(&xvs, h1, h2.ip(), 3, &["-s", "1472", "-M", "do"], 3);
    let max_payload = (mtu - 28).to_string();
    ping_expect(&xvs, h1, h2.ip(), 3, &["-s", &max_payload, "-M", "do"], 3);

    // The kernel refuses a larger MTU on the host while xvs's XDP program is
    // attached to the peer (veth: the frame must fit in one page).
    let out = h1.exec(&["ip", "link", "set", "eth0", "mtu", &(mtu + 1).to_string()]);
    assert!(!out.status.success(), "veth accepted MTU {} with native XDP on its peer", mtu + 1);

    // Exact bytes: a 1514-byte frame, a max-size frame, and a max-size
    // frame plus a priority tag (VID 0: the packet socket allows mtu + 18
    // bytes for a tagged frame), which leaves the access port untagged.
    let cap = h2.capture(topo.dir(), &format!("ether src {} and ether proto {TEST_ETHERTYPE}", h1.mac));
    let max = mtu as usize + 14;
    let ok1 = frame_of_len(&h1.mac, &h2.mac, 1514, 1);
    let ok2 = frame_of_len(&h1.mac, &h2.mac, max, 2);
    let untagged = frame_of_len(&h1.mac, &h2.mac, max, 3);
    let mut tagged = untagged.clone();
    tagged.splice(12..12, [0x81, 0x00, 0x00, 0x00]);
    send_raw(h1, &[ok1.clone(), ok2.clone(), tagged.clone()]);
    // One byte more cannot even leave the host: the kernel refuses it
    // (EMSGSIZE), as it refuses a larger MTU.
    let over = frame_of_len(&h1.mac, &h2.mac, max + 1, 4);
    let out = h1.scapy_try_send(&format!("Ether({})", py_bytes(&over)));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("Message too long"), "a {}-byte frame left the host: {err}", max + 1);
    let ok3 = frame_of_len(&h1.mac, &h2.mac, max, 5);
    send_raw(h1, std::slice::from_ref(&ok3));
    let got = cap.finish();
    let lens: Vec<usize> = got.iter().map(Vec::len).collect();
    assert!(got.contains(&ok1), "1514-byte frame did not arrive intact (got lengths {lens:?})");
    assert!(got.contains(&ok2), "{max}-byte frame did not arrive intact (got lengths {lens:?})");
    assert!(
        got.contains(&untagged),
        "{}-byte priority-tagged frame did not arrive intact and untagged ({lens:?})",
        max + 4
    );
    assert!(got.contains(&ok3), "{max}-byte frame sent last did not arrive intact (got {lens:?})");
    assert_eq!(got.len(), 4, "unexpected frames: {lens:?}");

    ping_expect(&xvs, h2, h1.ip(), 2, &["-s", &max_payload, "-M", "do"], 2);
    done("mtu_1500_and_largest_jumbo_in_native_mode", t0, &xvs);
}

/// In generic (skb) XDP mode veth does not cap the MTU, and AF_XDP copy
/// mode delivers frames up to the UMEM chunk's room (3584 bytes); a larger
/// frame is dropped by the kernel at the socket (and counted), and the
/// switch keeps working.
#[test]
fn jumbo_limit_in_generic_xdp_mode() {
    let Some((_serial, t0)) = root_test("jumbo_limit_in_generic_xdp_mode") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .mtu(9000)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions { xdp_mode: "skb", ..XvsOptions::default() });
    assert_bind(&xvs, "skb");
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let max_payload = (UMEM_MAX_FRAME - 14 - 28).to_string();
    let over_payload = (UMEM_MAX_FRAME - 14 - 28 + 1).to_string();

    ping_expect(&xvs, h1, h2.ip(), 2, &["-s", "1472", "-M", "do"], 2);
    ping_expect(&xvs, h1, h2.ip(), 2, &["-s", &max_payload, "-M", "do"], 2);

    let before = xvs.stats();
    ping_expect(&xvs, h1, h2.ip(), 2, &["-s", &over_payload, "-M", "do"], 0);
    ping_expect(&xvs, h1, h2.ip(), 1, &["-s", "8972", "-M", "do"], 0);
    let after = xvs.stats();
    let sw1 = &topo.host("h1").sw_if;
    let dropped = queue_counter(&after, sw1, "kernel_rx_dropped") - queue_counter(&before, sw1, "kernel_rx_dropped");
    assert_eq!(dropped, 3, "oversize frames should be dropped (and counted) at the AF_XDP socket");

    ping_expect(&xvs, h2, h1.ip(), 2, &["-s", &max_payload, "-M", "do"], 2);
    done("jumbo_limit_in_generic_xdp_mode", t0, &xvs);
}

/// docs/config.md: `xdp_mode = "auto"` "tries native (driver) mode and falls
/// back to generic (skb) mode". A host MTU above what native XDP on veth
/// allows makes the native attach fail (ERANGE), so auto should fall back.
#[test]
fn xdp_auto_falls_back_to_generic_when_native_refuses() {
    let Some((_serial, _t0)) = root_test("xdp_auto_falls_back_to_generic_when_native_refuses") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .mtu(9000)
        .build();
    let xvs = Xvs::start(&topo, &XvsOptions::default());
    assert_bind(&xvs, "skb");
    let (n, out) = topo.host("h1").ping(topo.host("h2").ip(), 2, &["-s", "3000", "-M", "do"]);
    assert_eq!(n, 2, "{out}");
}

/// One reply line of `ping -D`: (unix time, icmp_seq).
fn ping_replies(log: &Path) -> Vec<(f64, u32)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| {
            let ts = l.strip_prefix('[')?.split(']').next()?.parse::<f64>().ok()?;
            let seq = l.split("icmp_seq=").nth(1)?.split_whitespace().next()?.parse::<u32>().ok()?;
            Some((ts, seq))
        })
        .collect()
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Hosts keep pinging while the switch is stopped (SIGTERM) and started
/// again on the same interfaces: no replies while it is down, replies again
/// after the restart, and the second start attaches cleanly (no EBUSY).
#[test]
fn restart_while_hosts_keep_pinging() {
    let Some((_serial, t0)) = root_test("restart_while_hosts_keep_pinging") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .build();
    let mut xvs = Xvs::start(&topo, &XvsOptions::default());
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let log = topo.dir().join("ping.log");
    let mut ping = Background::spawn(h1, &["ping", "-n", "-D", "-i", "0.1", "-W", "1", h2.ip()], &log);

    let up = poll(Duration::from_secs(5), Duration::from_millis(100), || (ping_replies(&log).len() >= 5).then_some(()));
    assert!(up.is_some(), "no replies before the restart: {}", std::fs::read_to_string(&log).unwrap_or_default());

    let took = xvs.stop();
    let stopped_at = unix_now();
    eprintln!("xvs stopped {took:?} after SIGTERM");
    std::thread::sleep(Duration::from_millis(1500));
    let restart_at = unix_now();
    let log_before = xvs.log_text().len();
    xvs.start_again();
    let second = xvs.log_text()[log_before..].to_string();
    for bad in ["EBUSY", "Device or resource busy", "stale XDP"] {
        assert!(!second.contains(bad), "second start hit {bad:?}:\n{second}");
    }

    let back = poll(Duration::from_secs(8), Duration::from_millis(100), || {
        (ping_replies(&log).iter().filter(|(ts, _)| *ts > restart_at).count() >= 5).then_some(())
    });
    let _ = ping.interrupt();
    let replies = ping_replies(&log);
    assert!(
        back.is_some(),
        "pings not answered after the restart:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let during: Vec<_> = replies.iter().filter(|(ts, _)| *ts > stopped_at + 0.05 && *ts < restart_at).collect();
    assert!(during.is_empty(), "replies while the switch was down (did traffic bypass it?): {during:?}");
    let first_after =
        replies.iter().find(|(ts, _)| *ts > restart_at).map(|(ts, _)| ts - restart_at).unwrap_or(f64::NAN);
    eprintln!(
        "{} replies before the stop, {} after the restart; first reply {first_after:.2} s after the restart began",
        replies.iter().filter(|(ts, _)| *ts <= stopped_at).count(),
        replies.iter().filter(|(ts, _)| *ts > restart_at).count()
    );
    assert_fdb(&xvs.fdb(), &h1.mac, "h1", 10, "dynamic");
    done("restart_while_hosts_keep_pinging", t0, &xvs);
}

/// Each port's MTU is its interface's, and the switch enforces it itself:
/// with h2's link at MTU 1400, full-sized packets from h1 (MTU 1500) are
/// dropped and counted as `egress_too_big` (the kernel would drop them
/// unseen), packets that fit pass, and a config `mtu` that contradicts the
/// interface keeps the switch from starting, with the command that fixes it.
#[test]
fn egress_mtu_is_the_interfaces_and_is_counted() {
    let Some((_serial, t0)) = root_test("egress_mtu_is_the_interfaces_and_is_counted") else { return };
    let topo = Topology::builder()
        .host("h1", access(10), Some("10.9.0.1/24"))
        .host("h2", access(10), Some("10.9.0.2/24"))
        .build();
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    h2.run_ok(&["ip", "link", "set", "eth0", "mtu", "1400"]);
    xvs_tests::netns::run_ok(&["ip", "link", "set", &h2.sw_if, "mtu", "1400"]);

    // A contradicting `mtu` is refused before any socket opens.
    let config = xvs_tests::netns::config_toml(&topo, &XvsOptions::default(), Path::new("/run/xvs-mtu-test.sock"));
    let h1_port = format!("interface = \"{}\"\n", h1.sw_if);
    let bad = config.replacen(&h1_port, &format!("{h1_port}mtu = 9000\n"), 1);
    assert_ne!(bad, config, "the h1 port's interface line is in the config");
    let path = topo.dir().join("bad-mtu.toml");
    std::fs::write(&path, bad).unwrap();
    let mut child = std::process::Command::new(xvs_tests::xvs_bin())
        .args(["run", "-c"])
        .arg(&path)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = xvs_tests::netns::wait_timeout(&mut child, Duration::from_secs(10));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    if status.is_none() {
        let _ = child.kill();
        panic!("xvs started despite mtu = 9000 on a 1500-byte interface: {err}");
    }
    assert!(!status.unwrap().success());
    let fix = format!("ip link set {} mtu 9000", h1.sw_if);
    assert!(err.contains("mtu = 9000") && err.contains("MTU 1500") && err.contains(&fix), "{err}");

    let xvs = Xvs::start(&topo, &XvsOptions::default());
    ping_expect(&xvs, h1, h2.ip(), 3, &[], 3);
    let before = counter(&xvs.stats(), "drops", "egress_too_big");
    // 1500-byte IP packets (1514-byte frames) do not fit h2's 1418-byte
    // frames; 1400-byte ones do, both ways.
    ping_expect(&xvs, h1, h2.ip(), 3, &["-M", "do", "-s", "1472"], 0);
    assert!(counter(&xvs.stats(), "drops", "egress_too_big") >= before + 3, "drops: {}", xvs.stats()["drops"]);
    ping_expect(&xvs, h1, h2.ip(), 3, &["-M", "do", "-s", "1372"], 3);
    done("egress_mtu_is_the_interfaces_and_is_counted", t0, &xvs);
}
