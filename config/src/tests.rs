//! Whole-file tests: the embedded default, round trips, each error variant
//! (checking that its message names the key and the value), and that one
//! mistake yields exactly one error.

use switch_core::bridge::{PortMode, VlanSet};
use switch_core::types::{MacAddr, VlanId};

use crate::*;

/// Four access ports (h1,h2 in VLAN 10; h3,h4 in VLAN 20) on the implied
/// bridge, to which tests append.
const BASE: &str = r#"
[[port]]
name = "h1"
interface = "xvs-h1"
mode = "access"
vlan = 10

[[port]]
name = "h2"
interface = "xvs-h2"
mode = "access"
vlan = 10

[[port]]
name = "h3"
interface = "xvs-h3"
mode = "access"
vlan = 20
"#;

fn ok(src: &str) -> Config {
    match Config::from_toml_str(src) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}\n--- source ---\n{src}"),
    }
}

fn errors(src: &str) -> Vec<ConfigError> {
    match Config::from_toml_str(src) {
        Ok(c) => panic!("expected errors, got {c:#?}\n--- source ---\n{src}"),
        Err(e) => e.into_vec(),
    }
}

/// Exactly one error; returns it and its message.
fn one(src: &str) -> (ConfigError, String) {
    let mut errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let e = errs.remove(0);
    let msg = e.to_string();
    (e, msg)
}

/// `BASE` followed by `extra` (which lands inside the last port unless it
/// starts with a table header).
fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

/// `extra` followed by `BASE`, for top-level keys.
fn before(extra: &str) -> String {
    format!("{extra}\n{BASE}")
}

fn assert_names(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

// ---- the embedded default --------------------------------------------

#[test]
fn default_toml_parses_to_the_demo_topology() {
    let c = Config::embedded_default();
    assert_eq!(c.spec.bridges.len(), 1);
    assert_eq!(c.spec.bridges[0].name, "br0");
    let ports: Vec<(&str, Option<&str>, u16)> = c
        .spec
        .ports
        .iter()
        .map(|p| match p.mode {
            PortMode::Access { vlan } => (p.name.as_str(), p.interface.as_deref(), vlan.0),
            PortMode::Underlay => (p.name.as_str(), p.interface.as_deref(), 0),
            ref m => panic!("unexpected mode {m:?}"),
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("h1", Some("xvs-h1"), 10),
            ("h2", Some("xvs-h2"), 10),
            ("h3", Some("xvs-h3"), 20),
            ("h4", Some("xvs-h4"), 20),
            ("uplink", Some("xvs-up"), 0),
        ]
    );
    // VLAN 10 is stretched to the demo's kernel VTEP over VNI 100.
    let ov = &c.spec.overlay;
    assert_eq!((ov.vteps.len(), ov.vteps[0].port, ov.vteps[0].address.to_string()), (1, 4, "192.168.100.1".into()));
    assert_eq!((ov.vnis.len(), ov.vnis[0].vni, ov.vnis[0].vlan.0), (1, 100, 10));
    assert_eq!(ov.vnis[0].remotes, ["192.168.100.2".parse::<std::net::Ipv4Addr>().unwrap()]);
    assert!(c.spec.ports.iter().all(|p| p.bridge == 0 && p.mac_limit.is_none()));
    assert_eq!(c.ports.len(), 5);
    assert!(c.ports.iter().zip(&c.spec.ports).all(|(r, p)| r.interface == p.interface && r.queues == 1));
    assert_eq!(c.dataplane.worker_cpus, [1]);
    assert_eq!(c.spec.fdb.aging_secs, 300);
    assert!(c.spec.fdb.static_macs.is_empty());
    assert_eq!(c.switch.batch_size, 32);
    assert_eq!(c.control.socket, std::path::Path::new("/run/xvs/xvs.sock"));
    assert_eq!(c.control.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
}

#[test]
fn default_toml_on_disk_matches_embedded_and_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/default.toml");
    assert_eq!(Config::load(path).unwrap(), Config::embedded_default());
}

#[test]
fn default_round_trips_through_canonical_toml() {
    let c = Config::embedded_default();
    let text = c.to_toml_string();
    let again = ok(&text);
    assert_eq!(again, c, "canonical text:\n{text}");
    // Canonical text is a fixed point.
    assert_eq!(again.to_toml_string(), text);
}

#[test]
fn rich_config_round_trips() {
    let src = r#"
        [switch]
        batch_size = 64
        [dataplane]
        xdp_mode = "skb"
        zero_copy = false
        hugepages = "on"
        frames = 65536
        rx_ring = 64
        tx_ring = 16384
        fill_ring = 8192
        comp_ring = 128
        worker_cpus = [3, 1, 2]
        idle_backoff = true
        busy_poll = false
        [fdb]
        aging_secs = 1
        max_entries = 16777216
        max_per_domain = 5000
        move_max = 9
        move_window_secs = 60
        move_hold_secs = 600
        [[fdb.static]]
        bridge = "lab"
        vlan = 200
        mac = "02-AA-bb-00-00-01"
        port = "up"
        [[fdb.static]]
        bridge = "core"
        vlan = 100
        mac = "02:00:00:00:00:02"
        port = "cust1"
        [[bridge]]
        name = "core"
        [[bridge]]
        name = "lab"
        [[port]]
        name = "up"
        interface = "eth1"
        bridge = "lab"
        mode = "trunk"
        allowed_vlans = "1-100,200,300-302"
        native_vlan = 1
        native_tagged = true
        tpid = "802.1ad"
        queues = 8
        mac_limit = 4096
        [[port]]
        name = "cust1"
        bridge = "core"
        mode = "dot1q-tunnel"
        s_vlan = 100
        [[port]]
        name = "odd.name"
        bridge = "core"
        mode = "access"
        vlan = 4094
        [[flow]]
        port = "up"
        priority = 10
        match = "tcp,nw_dst=10.0.0.0/8,tp_dst=5201"
        actions = "drop"
        [[flow]]
        id = 7
        port = "cust1"
        actions = "mirror:odd.name"
        [control]
        socket = "relative/x\"y.sock"
    "#;
    let c = ok(src);
    assert_eq!(c.dataplane.zero_copy, Toggle::Off);
    assert_eq!(c.dataplane.hugepages, Toggle::On);
    assert_eq!(c.dataplane.xdp_mode, XdpMode::Skb);
    assert_eq!(c.dataplane.worker_cpus, [3, 1, 2]);
    assert_eq!(c.spec.fdb.static_macs[0].mac, MacAddr([2, 0xaa, 0xbb, 0, 0, 1]));
    assert_eq!((c.spec.fdb.static_macs[0].bridge, c.spec.fdb.static_macs[0].port), (1, 0));
    assert_eq!(c.ports[0].queues, 8);
    assert_eq!(c.flows.len(), 2);
    assert_eq!(
        c.flows[0].rule.to_string(),
        "table=ingress:up priority=10 match=tcp,nw_dst=10.0.0.0/8,tp_dst=5201 actions=drop"
    );
    assert_eq!((c.flows[1].id, c.flows[1].rule.priority), (Some(7), 32768));
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
}

#[test]
fn overlay_config_round_trips() {
    // Two bridges, so every VNI names its bridge; the underlay ports name none.
    let src = r#"
        [[bridge]]
        name = "lab"
        [[bridge]]
        name = "prod"
        [[port]]
        name = "a"
        bridge = "lab"
        mode = "access"
        vlan = 10
        [[port]]
        name = "up0"
        interface = "eth0"
        mode = "underlay"
        queues = 2
        [[port]]
        name = "up1"
        mode = "underlay"
        [[fdb.static]]
        bridge = "lab"
        vlan = 10
        mac = "02:00:00:00:00:0a"
        port = "a"
        [[vtep]]
        name = "v0"
        port = "up0"
        address = "10.0.0.1/16"
        gateway = "10.0.255.254"
        mac = "02:00:00:00:01:01"
        nexthop_mac = "02:00:00:00:01:02"
        udp_port = 8472
        ttl = 1
        dscp = 46
        udp_checksum = true
        verify_udp_checksum = true
        src_port_range = "1000-1000"
        mtu = 9216
        [[vtep]]
        name = "v1"
        port = "up1"
        address = "172.16.0.1/32"
        [[vni]]
        vni = 16777215
        vtep = "v0"
        bridge = "lab"
        vlan = 10
        remotes = ["10.0.0.2", "10.9.0.2"]
        allowed_remotes = ["10.0.0.3"]
        arp_suppression = "10.1.0.0/24"
        [[vni.arp]]
        ip = "10.1.0.7"
        mac = "02:00:00:00:00:07"
        [[vni.static]]
        mac = "02:00:00:00:00:09"
        remote = "10.0.0.3"
        [[vni.static]]
        mac = "02:00:00:00:00:0b"
        remote = "10.9.0.2"
        [[vni]]
        vni = 1
        vtep = "v1"
        bridge = "prod"
        vlan = 4094
    "#;
    let c = ok(src);
    let text = c.to_toml_string();
    let again = ok(&text);
    assert_eq!(again, c, "canonical text:\n{text}");
    assert_eq!(again.to_toml_string(), text);
    assert!(!text.contains("mac_limit"));
}

// ---- accepted shapes ---------------------------------------------------

#[test]
fn implicit_br0_and_defaults() {
    let c = ok(r#"
        [[port]]
        name = "p"
        mode = "access"
        vlan = 1
    "#);
    assert_eq!(c.spec.bridges.len(), 1);
    assert_eq!(c.spec.bridges[0].name, IMPLICIT_BRIDGE);
    assert_eq!(c.spec.ports[0].bridge, 0);
    assert_eq!(c.spec.ports[0].interface, None);
    assert_eq!(c.ports[0], PortRuntime { interface: None, queues: 1 });
    assert_eq!(c.switch, SwitchSettings::default());
    assert_eq!(c.dataplane, DataplaneSettings::default());
    assert_eq!(c.control, ControlSettings::default());
    assert_eq!(c.spec.fdb, switch_core::bridge::FdbSpec::default());
    // Naming the implied bridge explicitly is fine too.
    let c = ok(r#"
        [[port]]
        name = "p"
        bridge = "br0"
        mode = "access"
        vlan = 1
    "#);
    assert_eq!(c.spec.ports[0].bridge, 0);
}

#[test]
fn trunk_with_ranges() {
    let c = ok(&with(
        r#"
        [[port]]
        name = "uplink"
        interface = "eth0"
        mode = "trunk"
        allowed_vlans = "1-100, 200,150-160,90-110"
        native_vlan = 1
    "#,
    ));
    let PortMode::Trunk { allowed, native, native_tagged, tpid } = &c.spec.ports[3].mode else {
        panic!("not a trunk: {:?}", c.spec.ports[3].mode)
    };
    assert_eq!(allowed.to_ranges_string(), "1-110,150-160,200");
    assert_eq!(*native, Some(VlanId(1)));
    assert!(!native_tagged);
    assert_eq!(*tpid, 0x8100);
}

#[test]
fn trunk_defaults_to_all_vlans_and_no_native() {
    let c = ok(&with(
        r#"
        [[port]]
        name = "uplink"
        mode = "trunk"
    "#,
    ));
    assert_eq!(
        c.spec.ports[3].mode,
        PortMode::Trunk { allowed: VlanSet::all(), native: None, native_tagged: false, tpid: 0x8100 }
    );
}

#[test]
fn allowed_vlans_as_array() {
    let c = ok(&with(
        r#"
        [[port]]
        name = "uplink"
        mode = "trunk"
        allowed_vlans = [20, 10, 10, 4094]
        native_vlan = 20
        native_tagged = true
    "#,
    ));
    let PortMode::Trunk { allowed, native, native_tagged, .. } = &c.spec.ports[3].mode else { panic!() };
    assert_eq!(allowed.to_ranges_string(), "10,20,4094");
    assert_eq!((*native, *native_tagged), (Some(VlanId(20)), true));
}

#[test]
fn tpid_spellings() {
    for (text, want) in [
        ("\"802.1q\"", 0x8100),
        ("\"802.1Q\"", 0x8100),
        ("\"0x8100\"", 0x8100),
        ("\"802.1ad\"", 0x88a8),
        ("\"0x88A8\"", 0x88a8),
        ("0x88a8", 0x88a8),
    ] {
        let c = ok(&with(&format!("[[port]]\nname = \"t\"\nmode = \"trunk\"\ntpid = {text}\n")));
        let PortMode::Trunk { tpid, .. } = c.spec.ports[3].mode else { panic!() };
        assert_eq!(tpid, want, "{text}");
    }
}

#[test]
fn dot1q_tunnel_port() {
    let c = ok(&with(
        r#"
        [[port]]
        name = "cust1"
        mode = "dot1q-tunnel"
        s_vlan = 100
    "#,
    ));
    assert_eq!(c.spec.ports[3].mode, PortMode::Dot1qTunnel { s_vlan: VlanId(100) });
}

#[test]
fn static_macs_resolve() {
    let c = ok(&with(
        r#"
        [[port]]
        name = "up"
        mode = "trunk"
        allowed_vlans = "100-200"
        [[port]]
        name = "cust"
        mode = "dot1q-tunnel"
        s_vlan = 300
        [[fdb.static]]
        vlan = 10
        mac = "02:00:00:00:00:01"
        port = "h2"
        [[fdb.static]]
        vlan = 150
        mac = "02:00:00:00:00:01"
        port = "up"
        [[fdb.static]]
        vlan = 300
        mac = "0a:00:00:00:00:03"
        port = "cust"
    "#,
    ));
    let s: Vec<(usize, u16, usize)> = c.spec.fdb.static_macs.iter().map(|s| (s.bridge, s.vlan.0, s.port)).collect();
    assert_eq!(s, [(0, 10, 1), (0, 150, 3), (0, 300, 4)]);
}

// ---- one test per error variant ---------------------------------------

#[test]
fn err_io() {
    let path = std::env::temp_dir().join(format!("xvs-config-missing-{}.toml", std::process::id()));
    let err = Config::load(&path).unwrap_err();
    assert!(matches!(err.first(), ConfigError::Io { .. }), "{err:?}");
    assert_names(&err.to_string(), &[&path.display().to_string(), "cannot read"]);
}

#[test]
fn err_toml_syntax_has_line_and_column() {
    let (e, msg) = one("[[port]]\nname = \"h1\"\nvlan = = 3\n");
    let ConfigError::Toml { line, column, .. } = e else { panic!("{e:?}") };
    assert_eq!(line, 3);
    assert!(column > 1);
    assert_names(&msg, &["invalid TOML at line 3, column"]);
}

#[test]
fn err_unknown_key() {
    let (e, msg) = one(&BASE.replace("vlan = 20", "vlam = 20\nvlan = 20"));
    let ConfigError::UnknownKey { at, suggestion } = &e else { panic!("{e:?}") };
    assert_eq!(at.dotted(), "port[2].vlam");
    assert_eq!(*suggestion, Some("vlan"));
    assert_eq!(msg, r#"port[2] "h3": unknown key `vlam` (did you mean `vlan`?)"#);

    let (_, msg) = one(&with("[dataplane]\nturbo = true\n"));
    assert_eq!(msg, "dataplane: unknown key `turbo`");
    let (_, msg) = one(&before("colour = \"blue\"\n"));
    assert_eq!(msg, "top level: unknown key `colour`");
    let (_, msg) = one(&with("[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h1\"\nprot = 1\n"));
    assert_names(&msg, &["fdb.static[0]", "`prot`", "did you mean `port`"]);
}

#[test]
fn err_wrong_type() {
    let (e, msg) = one(&BASE.replace("vlan = 20", "vlan = \"20\""));
    assert!(matches!(e, ConfigError::WrongType { found: "a string", .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"port[2] "h3": vlan = "20" has the wrong type: expected a VLAN id (integer 1..=4094), found a string"#
    );
    let (_, msg) = one(&with("[switch]\nbatch_size = 3.5\n"));
    assert_names(&msg, &["switch.batch_size = 3.5", "expected an integer", "found a float"]);
    let (_, msg) = one(&before("switch = 4\n"));
    assert_names(&msg, &["switch = 4", "expected a table"]);
    let (_, msg) = one(&with("[dataplane]\nworker_cpus = [1, \"2\"]\n"));
    assert_names(&msg, &["dataplane.worker_cpus[1] = \"2\"", "a CPU number"]);
}

#[test]
fn err_missing_key() {
    let (e, msg) = one(&BASE.replace("vlan = 20", ""));
    let ConfigError::MissingKey { at, .. } = &e else { panic!("{e:?}") };
    assert_eq!(at.dotted(), "port[2].vlan");
    assert_eq!(msg, r#"port[2] "h3": missing key `vlan` (required when mode = "access")"#);
    let (_, msg) = one(&with("[[port]]\nname = \"x\"\n"));
    assert_names(&msg, &["port[3] \"x\"", "missing key `mode`"]);
    let (_, msg) = one(&with("[[port]]\nmode = \"trunk\"\n"));
    assert_names(&msg, &["port[3]", "missing key `name`"]);
    let (_, msg) = one(&with("[[port]]\nname = \"t\"\nmode = \"trunk\"\nnative_tagged = true\n"));
    assert_names(&msg, &["port[3] \"t\"", "missing key `native_vlan`", "native_tagged = true"]);
}

#[test]
fn err_out_of_range() {
    let (e, msg) = one(&with("[switch]\nbatch_size = 65\n"));
    assert!(matches!(e, ConfigError::OutOfRange { value: 65, min: 1, max: 64, .. }), "{e:?}");
    assert_eq!(msg, "switch.batch_size = 65 is outside 1..=64");
    let (_, msg) = one(&BASE.replace("vlan = 20", "vlan = 20\nqueues = 0"));
    assert_eq!(msg, r#"port[2] "h3": queues = 0 is outside 1..=64"#);
    let (_, msg) = one(&with("[fdb]\naging_secs = 0\n"));
    assert_eq!(msg, "fdb.aging_secs = 0 is outside 1..=1000000");
    let (_, msg) = one(&with("[fdb]\nmax_entries = 16777217\n"));
    assert_names(&msg, &["fdb.max_entries = 16777217"]);
    let (_, msg) = one(&with("[dataplane]\nworker_cpus = [-1]\n"));
    assert_eq!(msg, "dataplane.worker_cpus[0] = -1 is outside 0..=1023");
    let (_, msg) = one(&with("[dataplane]\nframes = 512\n"));
    assert_eq!(msg, "dataplane.frames = 512 is outside 1024..=1048576");
}

#[test]
fn err_vlan_out_of_range() {
    let src = with("[[port]]\nname = \"h4\"\nmode = \"access\"\nvlan = 5000\n");
    let (e, msg) = one(&src);
    assert!(matches!(e, ConfigError::VlanOutOfRange { value: 5000, .. }), "{e:?}");
    assert_eq!(msg, r#"port[3] "h4": vlan = 5000 is outside 1..=4094"#);
    for (key, mode) in [("s_vlan", "dot1q-tunnel"), ("native_vlan", "trunk")] {
        let (_, msg) = one(&with(&format!("[[port]]\nname = \"x\"\nmode = \"{mode}\"\n{key} = 0\n")));
        assert_eq!(msg, format!("port[3] \"x\": {key} = 0 is outside 1..=4094"));
    }
    let (_, msg) = one(&with("[[port]]\nname = \"t\"\nmode = \"trunk\"\nallowed_vlans = [1, 4095]\n"));
    assert_eq!(msg, r#"port[3] "t": allowed_vlans[1] = 4095 is outside 1..=4094"#);
}

#[test]
fn err_not_power_of_two() {
    let (e, msg) = one(&with("[dataplane]\nrx_ring = 1000\n"));
    assert!(matches!(e, ConfigError::NotPowerOfTwo { value: 1000, .. }), "{e:?}");
    assert_eq!(msg, "dataplane.rx_ring = 1000 is not a power of two");
    let (_, msg) = one(&with("[dataplane]\nframes = 20000\n"));
    assert_eq!(msg, "dataplane.frames = 20000 is not a power of two");
}

#[test]
fn err_bad_choice() {
    let (e, msg) = one(&with("[dataplane]\nxdp_mode = \"fast\"\n"));
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
    assert_eq!(msg, r#"dataplane.xdp_mode = "fast" is not one of: auto, native, skb"#);
    let (_, msg) = one(&with("[dataplane]\nzero_copy = \"yes\"\n"));
    assert_names(&msg, &["dataplane.zero_copy = \"yes\"", "auto, on, off"]);
    let (_, msg) = one(&BASE.replace("mode = \"access\"\nvlan = 20", "mode = \"hybrid\""));
    assert_eq!(msg, r#"port[2] "h3": mode = "hybrid" is not one of: access, trunk, dot1q-tunnel, underlay"#);
    let (_, msg) = one(&with("[[port]]\nname = \"t\"\nmode = \"trunk\"\ntpid = \"0x9100\"\n"));
    assert_names(&msg, &["port[3] \"t\": tpid = \"0x9100\"", "802.1q, 802.1ad"]);
    let (_, msg) = one(&with("[[port]]\nname = \"t\"\nmode = \"trunk\"\ntpid = 0x9100\n"));
    assert_names(&msg, &["tpid = \"0x9100\""]);
}

#[test]
fn err_empty_list() {
    let (e, msg) = one(&with("[dataplane]\nworker_cpus = []\n"));
    assert!(matches!(e, ConfigError::EmptyList { .. }), "{e:?}");
    assert_eq!(msg, "dataplane.worker_cpus = [] must not be empty");
}

#[test]
fn err_bad_name() {
    let (e, msg) = one(&BASE.replace("\"h3\"", "\"h 3\""));
    assert!(matches!(e, ConfigError::BadName { .. }), "{e:?}");
    assert_names(&msg, &["port[2] \"h 3\": name = \"h 3\"", "letters, digits"]);
    let long = "x".repeat(33);
    let (_, msg) = one(&BASE.replace("\"h3\"", &format!("\"{long}\"")));
    assert_names(&msg, &[&long, "1 to 32 characters"]);
    let (_, msg) = one(&with("[[bridge]]\nname = \"\"\n"));
    assert_names(&msg, &["bridge[0]", "name = \"\""]);
}

#[test]
fn err_bad_interface_name() {
    let (e, msg) = one(&BASE.replace("\"xvs-h3\"", "\"a-very-long-name0\""));
    assert!(matches!(e, ConfigError::BadInterfaceName { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"port[2] "h3": interface = "a-very-long-name0" is not a valid interface name: it must be 1 to 15 characters long (IFNAMSIZ - 1)"#
    );
    for bad in ["eth0/1", "eth0:1", "a b", "..", ""] {
        let (_, msg) = one(&BASE.replace("\"xvs-h3\"", &format!("{bad:?}")));
        assert_names(&msg, &[&format!("interface = {bad:?}")]);
    }
}

#[test]
fn err_duplicate_port() {
    let (e, msg) = one(&with("[[port]]\nname = \"h1\"\nmode = \"access\"\nvlan = 30\n"));
    assert!(matches!(e, ConfigError::DuplicatePort { first: 0, .. }), "{e:?}");
    assert_eq!(msg, r#"port[3] "h1": name = "h1" is already used by port[0]"#);
}

#[test]
fn err_duplicate_interface() {
    let (e, msg) = one(&with("[[port]]\nname = \"h4\"\ninterface = \"xvs-h2\"\nmode = \"access\"\nvlan = 30\n"));
    assert!(matches!(e, ConfigError::DuplicateInterface { first: 1, .. }), "{e:?}");
    assert_eq!(msg, r#"port[3] "h4": interface = "xvs-h2" is already used by port[1] "h2""#);
}

#[test]
fn err_duplicate_bridge() {
    let (e, msg) = one(&BASE.replace(
        "[[port]]\nname = \"h1\"",
        "[[bridge]]\nname = \"br0\"\n[[bridge]]\nname = \"br0\"\n[[port]]\nname = \"h1\"",
    ));
    assert!(matches!(e, ConfigError::DuplicateBridge { first: 0, .. }), "{e:?}");
    assert_eq!(msg, r#"bridge[1] "br0": name = "br0" is already used by bridge[0]"#);
}

#[test]
fn err_duplicate_cpu() {
    let (e, msg) = one(&with("[dataplane]\nworker_cpus = [1, 2, 1]\n"));
    assert!(matches!(e, ConfigError::DuplicateCpu { cpu: 1, .. }), "{e:?}");
    assert_eq!(msg, "dataplane.worker_cpus[2] = 1 is listed twice (one worker per CPU)");
}

#[test]
fn err_duplicate_static_mac() {
    let entry = "[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h1\"\n";
    let (e, msg) = one(&with(&format!("{entry}{}", entry.replace("h1", "h2"))));
    assert!(matches!(e, ConfigError::DuplicateStaticMac { first: 0, vlan: 10, .. }), "{e:?}");
    assert_eq!(msg, "fdb.static[1].mac = 02:00:00:00:00:01 in VLAN 10 duplicates fdb.static[0]");
}

#[test]
fn err_unknown_bridge() {
    let (e, msg) = one(&BASE.replace("vlan = 20", "vlan = 20\nbridge = \"br9\""));
    assert!(matches!(e, ConfigError::UnknownBridge { .. }), "{e:?}");
    assert_eq!(msg, r#"port[2] "h3": bridge = "br9" names no bridge (known: br0)"#);
}

#[test]
fn err_unknown_port() {
    let (e, msg) = one(&with("[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h9\"\n"));
    assert!(matches!(e, ConfigError::UnknownPort { .. }), "{e:?}");
    assert_eq!(msg, r#"fdb.static[0].port = "h9" names no port"#);
}

#[test]
fn err_ambiguous_bridge() {
    let two = "[[bridge]]\nname = \"a\"\n[[bridge]]\nname = \"b\"\n";
    let src = format!("{two}{BASE}").replace("vlan = 10\n", "vlan = 10\nbridge = \"a\"\n");
    let (e, msg) = one(&src);
    let ConfigError::AmbiguousBridge { at, bridges } = &e else { panic!("{e:?}") };
    assert_eq!(at.dotted(), "port[2].bridge");
    assert_eq!(bridges, &["a", "b"]);
    assert_eq!(msg, r#"port[2] "h3": missing key `bridge`; it is required when there are several bridges (a, b)"#);

    let src = format!("{two}{BASE}")
        .replace("vlan = 10\n", "vlan = 10\nbridge = \"a\"\n")
        .replace("vlan = 20\n", "vlan = 20\nbridge = \"b\"\n")
        + "[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h1\"\n";
    let (_, msg) = one(&src);
    assert_names(&msg, &["fdb.static[0]", "missing key `bridge`", "(a, b)"]);
}

#[test]
fn err_bad_mac() {
    let cases = [
        ("01:00:5e:00:00:01", "multicast"),
        ("ff:ff:ff:ff:ff:ff", "broadcast"),
        ("00:00:00:00:00:00", "all-zero"),
        ("02:00:00:00:00", "six hex byte pairs"),
        ("02:00:00:00:00:0g", "six hex byte pairs"),
    ];
    for (mac, why) in cases {
        let (e, msg) = one(&with(&format!("[[fdb.static]]\nvlan = 10\nmac = \"{mac}\"\nport = \"h1\"\n")));
        assert!(matches!(e, ConfigError::BadMac { .. }), "{e:?}");
        assert_names(&msg, &[&format!("fdb.static[0].mac = \"{mac}\" is not a valid MAC"), why]);
    }
}

#[test]
fn err_bad_vlan_list() {
    let cases = [
        ("10-5", "range 10-5 is reversed (write 5-10)"),
        ("0", "VLAN 0 is outside 1..=4094"),
        ("4095", "VLAN 4095 is outside 1..=4094"),
        ("1-100,,200", "empty item between commas"),
        ("1-x", "\"1-x\" is not a VLAN id or a range like 10-20"),
    ];
    for (list, why) in cases {
        let (e, msg) = one(&with(&format!("[[port]]\nname = \"up\"\nmode = \"trunk\"\nallowed_vlans = \"{list}\"\n")));
        assert!(matches!(e, ConfigError::BadVlanList { .. }), "{e:?}");
        assert_eq!(msg, format!("port[3] \"up\": allowed_vlans = \"{list}\" is not a valid VLAN list: {why}"));
    }
    let (_, msg) = one(&with("[[port]]\nname = \"up\"\nmode = \"trunk\"\nallowed_vlans = []\n"));
    assert_names(&msg, &["allowed_vlans = []", "empty"]);
}

#[test]
fn err_wrong_key_for_mode() {
    let (e, msg) = one(&with("[[port]]\nname = \"up\"\nmode = \"trunk\"\nvlan = 10\n"));
    assert!(matches!(e, ConfigError::WrongKeyForMode { mode: "trunk", valid_for: "access", .. }), "{e:?}");
    assert_eq!(msg, r#"port[3] "up": vlan is not allowed with mode = "trunk" (it belongs to mode = "access")"#);
    let (_, msg) = one(&BASE.replace("vlan = 20", "vlan = 20\nallowed_vlans = \"1-10\""));
    assert_eq!(
        msg,
        r#"port[2] "h3": allowed_vlans is not allowed with mode = "access" (it belongs to mode = "trunk")"#
    );
    let (_, msg) = one(&with("[[port]]\nname = \"c\"\nmode = \"dot1q-tunnel\"\ns_vlan = 5\nnative_vlan = 5\n"));
    assert_names(&msg, &["native_vlan is not allowed with mode = \"dot1q-tunnel\""]);
}

#[test]
fn err_native_not_allowed() {
    let (e, msg) =
        one(&with("[[port]]\nname = \"up\"\nmode = \"trunk\"\nallowed_vlans = \"10-20,30\"\nnative_vlan = 1\n"));
    assert!(matches!(e, ConfigError::NativeVlanNotAllowed { native: 1, .. }), "{e:?}");
    assert_eq!(msg, r#"port[3] "up": native_vlan = 1 is not in allowed_vlans = "10-20,30"; add it to allowed_vlans"#);
}

#[test]
fn err_static_mac_not_member() {
    let entry = |vlan: u16, port: &str| {
        format!("[[fdb.static]]\nvlan = {vlan}\nmac = \"02:00:00:00:00:01\"\nport = \"{port}\"\n")
    };
    let (e, msg) = one(&with(&entry(20, "h1")));
    assert!(matches!(e, ConfigError::StaticMacNotMember { vlan: 20, .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"fdb.static[0].port = "h1" cannot hold a MAC in VLAN 20 on bridge "br0": it is an access port of VLAN 10"#
    );
    let trunk = "[[port]]\nname = \"up\"\nmode = \"trunk\"\nallowed_vlans = \"100-200\"\n";
    let (_, msg) = one(&with(&format!("{trunk}{}", entry(10, "up"))));
    assert_names(&msg, &["\"up\"", "VLAN 10", "trunk carrying VLANs 100-200"]);
    let tunnel = "[[port]]\nname = \"c\"\nmode = \"dot1q-tunnel\"\ns_vlan = 7\n";
    let (_, msg) = one(&with(&format!("{tunnel}{}", entry(8, "c"))));
    assert_names(&msg, &["S-VLAN 7"]);
    // A port on another bridge.
    let src = format!(
        "[[bridge]]\nname = \"a\"\n[[bridge]]\nname = \"b\"\n{}[[fdb.static]]\nbridge = \"b\"\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h1\"\n",
        BASE.replace("vlan = 10\n", "vlan = 10\nbridge = \"a\"\n").replace("vlan = 20\n", "vlan = 20\nbridge = \"a\"\n")
    );
    let (_, msg) = one(&src);
    assert_names(&msg, &["bridge \"b\"", "the port is on bridge \"a\""]);
}

#[test]
fn err_bad_address() {
    let (e, msg) = one(&with("[control]\nmetrics_listen = \"localhost\"\n"));
    assert!(matches!(e, ConfigError::BadAddress { .. }), "{e:?}");
    assert_eq!(msg, r#"control.metrics_listen = "localhost" is not a socket address like 127.0.0.1:9464"#);
    let c = ok(&with("[control]\nmetrics_listen = \"[::1]:9000\"\n"));
    assert_eq!(c.control.metrics_listen, Some("[::1]:9000".parse().unwrap()));
}

#[test]
fn tcp_api_is_loopback_only_and_needs_a_token_file() {
    let (e, msg) = one(&with("[control]\napi_listen = \"0.0.0.0:9465\"\napi_token_file = \"/etc/xvs/token\"\n"));
    assert!(matches!(e, ConfigError::NotLoopback { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"control.api_listen = "0.0.0.0:9465" is not a loopback address; the TCP API listens on 127.0.0.1 or ::1 only (reach it from elsewhere through an SSH tunnel)"#
    );
    let (e, msg) = one(&with("[control]\napi_listen = \"127.0.0.1:9465\"\n"));
    assert!(matches!(e, ConfigError::MissingKey { .. }), "{e:?}");
    assert!(msg.starts_with("control: missing key `api_token_file` (required with api_listen"), "{msg}");
    let c = ok(&with("[control]\napi_listen = \"[::1]:9465\"\napi_token_file = \"/etc/xvs/token\"\n"));
    assert_eq!(c.control.api_listen, Some("[::1]:9465".parse().unwrap()));
    assert_eq!(c.control.api_token_file.as_deref(), Some(std::path::Path::new("/etc/xvs/token")));
    // The canonical form keeps both.
    let again = ok(&c.to_toml_string());
    assert_eq!(again.control, c.control);
}

#[test]
fn err_bad_socket_path() {
    let (e, msg) = one(&with("[control]\nsocket = \"\"\n"));
    assert!(matches!(e, ConfigError::BadSocketPath { .. }), "{e:?}");
    assert_eq!(msg, r#"control.socket = "" is not a usable socket path: it is empty"#);
    let long = format!("/{}", "s".repeat(107));
    let (_, msg) = one(&with(&format!("[control]\nsocket = \"{long}\"\n")));
    assert_names(&msg, &[&long, "at most 107 bytes"]);
}

#[test]
fn err_umem_too_small() {
    let (e, msg) = one(&with("[dataplane]\nframes = 4096\nfill_ring = 4096\ntx_ring = 2048\n"));
    assert!(matches!(e, ConfigError::UmemTooSmall { frames: 4096, needed: 6144, .. }), "{e:?}");
    assert_eq!(msg, "dataplane.frames = 4096 is too small: fill_ring + tx_ring need at least 6144 frames");
}

#[test]
fn err_no_ports() {
    for src in ["", "[switch]\nbatch_size = 8\n", "port = []\n"] {
        let (e, msg) = one(src);
        assert!(matches!(e, ConfigError::NoPorts), "{e:?}");
        assert_names(&msg, &["no [[port]]"]);
    }
}

// ---- reporting ----------------------------------------------------------

#[test]
fn all_errors_are_collected_in_file_order() {
    let src = r#"
[dataplane]
rx_ring = 100

[[port]]
name = "h1"
mode = "access"
vlan = 0

[[port]]
name = "h1"
mode = "access"
vlan = 10
colour = "red"
"#;
    let err = Config::from_toml_str(src).unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
    assert_eq!(
        lines,
        [
            "line 3: dataplane.rx_ring = 100 is not a power of two",
            r#"line 8: port[0] "h1": vlan = 0 is outside 1..=4094"#,
            r#"line 11: port[1] "h1": name = "h1" is already used by port[0]"#,
            r#"line 14: port[1] "h1": unknown key `colour`"#,
        ]
    );
    assert_eq!(err.len(), 4);
    assert!(matches!(err.first(), ConfigError::NotPowerOfTwo { .. }));
    assert_eq!(err.first().pos(), Some(Pos { line: 3, column: 11 }));
}

#[test]
fn load_prefixes_file_and_position() {
    let path = std::env::temp_dir().join(format!("xvs-config-test-{}.toml", std::process::id()));
    std::fs::write(&path, with("[switch]\nbatch_size = 0\n")).unwrap();
    let err = Config::load(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("{}:", path.display())), "{shown}");
    assert!(shown.ends_with(": switch.batch_size = 0 is outside 1..=64"), "{shown}");
    assert_eq!(err.origin(), Some(path.display().to_string().as_str()));
}

#[test]
fn one_mistake_gives_one_error() {
    // A port whose mode is wrong is not also reported by the static entry
    // that refers to it.
    let src = with(
        "[[port]]\nname = \"x\"\nmode = \"hybrid\"\n[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"x\"\n",
    );
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
    // A bridge without a name does not make every port's bridge unknown.
    let src = format!("[[bridge]]\nname = 3\n[[bridge]]\nname = \"b\"\n{BASE}");
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::WrongType { .. }), "{e:?}");
    // A port without a name does not make static references unknown.
    let src =
        with("[[port]]\nmode = \"trunk\"\n[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"zz\"\n");
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::MissingKey { .. }), "{e:?}");
}

#[test]
fn key_path_display() {
    let k = KeyPath { table: "port[2]".into(), name: Some("h3".into()), key: "vlan".into(), pos: None };
    assert_eq!(k.to_string(), r#"port[2] "h3": vlan"#);
    assert_eq!(k.dotted(), "port[2].vlan");
    let k = KeyPath { table: "switch".into(), name: None, key: "batch_size".into(), pos: None };
    assert_eq!(k.to_string(), "switch.batch_size");
    assert_eq!(k.table_display(), "switch");
}

#[test]
fn err_too_many_ports() {
    let mut src = String::new();
    for i in 0..=crate::parse::MAX_PORTS {
        src.push_str(&format!("[[port]]\nname = \"p{i}\"\nmode = \"access\"\nvlan = 1\n"));
    }
    let (e, msg) = one(&src);
    assert!(matches!(e, ConfigError::TooManyPorts { count: 4097, max: 4096, .. }), "{e:?}");
    assert_eq!(msg, r#"port[4096] "p4096": 4097 ports are defined; at most 4096 are supported"#);
}

#[test]
fn err_too_many_domains() {
    // 17 bridges with an all-VLAN trunk each: 17 * 4094 = 69598 domains.
    let mut src = String::new();
    for b in 0..17 {
        src.push_str(&format!("[[bridge]]\nname = \"b{b}\"\n"));
    }
    for b in 0..17 {
        src.push_str(&format!("[[port]]\nname = \"t{b}\"\nbridge = \"b{b}\"\nmode = \"trunk\"\n"));
    }
    let (e, msg) = one(&src);
    assert!(matches!(e, ConfigError::TooManyDomains { count: 69598, max: 65534 }), "{e:?}");
    assert_names(&msg, &["69598 (bridge, VLAN) pairs", "at most 65534"]);
    // 16 such bridges (65504 domains) fit.
    let cut = src.find("[[bridge]]\nname = \"b16\"").unwrap();
    let fits =
        src[..cut].to_string() + &src[src.find("[[port]]").unwrap()..src.find("[[port]]\nname = \"t16\"").unwrap()];
    ok(&fits);
}

#[test]
fn specs_compile_into_forwarding_plans() {
    use switch_core::bridge::ForwardingPlan;
    for src in [DEFAULT_CONFIG, &with("[[port]]\nname = \"up\"\nmode = \"trunk\"\nallowed_vlans = \"10,20\"\nnative_vlan = 10\n[[port]]\nname = \"c\"\nmode = \"dot1q-tunnel\"\ns_vlan = 30\n[[fdb.static]]\nvlan = 20\nmac = \"02:00:00:00:00:09\"\nport = \"up\"\n")] {
        let c = ok(src);
        if let Err(e) = ForwardingPlan::compile(&c.spec) {
            panic!("plan refused a validated spec: {e}");
        }
    }
}

#[test]
fn examples_in_docs_are_valid() {
    let doc = include_str!("../../docs/config.md");
    let mut blocks = 0;
    for block in doc.split("```toml\n").skip(1) {
        let text = &block[..block.find("```").expect("unclosed block")];
        let c = ok(text);
        switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
        blocks += 1;
    }
    assert_eq!(blocks, 3);
}

// ---- overlays -----------------------------------------------------------

/// An underlay port `uplink` and the VTEP `vtep0` (192.168.100.1/24) on
/// it, which overlay tests append to `BASE`.
const UNDERLAY: &str = r#"
[[port]]
name = "uplink"
interface = "xvs-up"
mode = "underlay"

[[vtep]]
name = "vtep0"
port = "uplink"
address = "192.168.100.1/24"
"#;

/// `BASE`, `UNDERLAY`, then `extra` (which lands inside `vtep0` unless it
/// starts with a table header).
fn overlay(extra: &str) -> String {
    format!("{BASE}{UNDERLAY}\n{extra}")
}

/// `overlay` with one `[[vni]]` (VNI 100 on VLAN 10, flooding to
/// 192.168.100.2), then `extra` (inside that VNI unless it starts with a
/// table header).
fn with_vni(extra: &str) -> String {
    overlay(&format!("[[vni]]\nvni = 100\nvlan = 10\nremotes = [\"192.168.100.2\"]\n{extra}"))
}

fn ip<T: std::str::FromStr<Err = std::net::AddrParseError>>(s: &str) -> T {
    s.parse().unwrap()
}

#[test]
fn full_overlay_config() {
    use switch_core::overlay::{RemoteMacSpec, VniSpec, VtepSpec};
    let c = ok(r#"
        [[bridge]]
        name = "lab"
        [[bridge]]
        name = "prod"
        [[port]]
        name = "h1"
        bridge = "lab"
        mode = "access"
        vlan = 10
        [[port]]
        name = "up"
        bridge = "prod"
        mode = "trunk"
        allowed_vlans = "20"
        [[port]]
        name = "u0"
        interface = "xvs-u0"
        mode = "underlay"
        queues = 4
        [[port]]
        name = "u1"
        mode = "underlay"
        [[vtep]]
        name = "vtep0"
        port = "u0"
        address = "192.168.100.1/24"
        gateway = "192.168.100.254"
        mac = "02:00:00:00:01:01"
        nexthop_mac = "02-00-00-00-01-02"
        udp_port = 8472
        ttl = 255
        dscp = 63
        udp_checksum = true
        verify_udp_checksum = true
        src_port_range = "1-65535"
        mtu = 576
neighbor_refresh_secs = 5
        [[vtep]]
        name = "vtep1"
        port = "u1"
        address = "10.1.2.3/31"
        dscp = 0
        [[vni]]
        vni = 100
        vtep = "vtep0"
        bridge = "lab"
        vlan = 10
        remotes = ["192.168.100.2", "10.9.9.9"]
        allowed_remotes = ["192.168.100.3"]
        [[vni.static]]
        mac = "02:00:00:00:00:09"
        remote = "192.168.100.2"
        [[vni.static]]
        mac = "02:00:00:00:00:0a"
        remote = "192.168.100.3"
        [[vni]]
        vni = 100
        vtep = "vtep1"
        bridge = "prod"
        vlan = 20
        remotes = ["10.1.2.2"]
    "#);
    let ports: Vec<(&str, &PortMode)> = c.spec.ports.iter().map(|p| (p.name.as_str(), &p.mode)).collect();
    assert_eq!(ports[2], ("u0", &PortMode::Underlay));
    assert_eq!(ports[3], ("u1", &PortMode::Underlay));
    // An underlay port belongs to no bridge; it is recorded on the first.
    assert_eq!((c.spec.ports[2].bridge, c.spec.ports[2].mac_limit), (0, None));
    assert_eq!(c.ports[2], PortRuntime { interface: Some("xvs-u0".into()), queues: 4 });

    let ov = &c.spec.overlay;
    assert_eq!(
        ov.vteps[0],
        VtepSpec {
            name: "vtep0".into(),
            port: 2,
            address: ip("192.168.100.1"),
            prefix_len: 24,
            gateway: Some(ip("192.168.100.254")),
            mac: Some(MacAddr([2, 0, 0, 0, 1, 1])),
            nexthop_mac: Some(MacAddr([2, 0, 0, 0, 1, 2])),
            udp_port: 8472,
            geneve_port: 6081,
            ttl: 255,
            dscp: Some(63),
            udp_checksum: true,
            verify_udp_checksum: true,
            src_ports: (1, 65535),
            mtu: 576,
            neighbor_refresh_secs: 5,
        }
    );
    let mut v1 = VtepSpec::new("vtep1", 3, ip::<std::net::IpAddr>("10.1.2.3"), 31);
    v1.dscp = Some(0);
    assert_eq!(ov.vteps[1], v1);
    assert_eq!(
        ov.vnis,
        [
            VniSpec {
                vni: 100,
                vtep: 0,
                bridge: 0,
                vlan: VlanId(10),
                remotes: vec![ip("192.168.100.2"), ip("10.9.9.9")],
                allowed: vec![ip("192.168.100.3")],
                static_macs: vec![
                    RemoteMacSpec { mac: MacAddr([2, 0, 0, 0, 0, 9]), remote: ip("192.168.100.2") },
                    RemoteMacSpec { mac: MacAddr([2, 0, 0, 0, 0, 0x0a]), remote: ip("192.168.100.3") },
                ],
                ..VniSpec::default()
            },
            VniSpec {
                vni: 100,
                vtep: 1,
                bridge: 1,
                vlan: VlanId(20),
                remotes: vec![ip("10.1.2.2")],
                ..VniSpec::default()
            },
        ]
    );
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    assert_eq!(plan.overlay.as_ref().map(|o| o.tunnels.len()), Some(4));
}

#[test]
fn overlay_defaults() {
    use switch_core::overlay::spec::{DEFAULT_SRC_PORTS, DEFAULT_TTL, DEFAULT_UNDERLAY_MTU, VXLAN_PORT};
    use switch_core::overlay::{VniSpec, VtepSpec};
    let c = ok(&overlay("[[vni]]\nvni = 7\nvlan = 20\n"));
    let v = &c.spec.overlay.vteps[0];
    assert_eq!(*v, VtepSpec::new("vtep0", 3, ip::<std::net::IpAddr>("192.168.100.1"), 24));
    assert_eq!((v.gateway, v.mac, v.nexthop_mac), (None, None, None));
    assert_eq!((v.udp_port, v.ttl, v.dscp), (VXLAN_PORT, DEFAULT_TTL, None));
    assert_eq!((v.udp_port, v.ttl), (4789, 64));
    assert!(!v.udp_checksum && !v.verify_udp_checksum);
    assert_eq!((v.src_ports, v.mtu), (DEFAULT_SRC_PORTS, DEFAULT_UNDERLAY_MTU));
    assert_eq!((v.src_ports, v.mtu), ((49152, 65535), 1500));
    // The only vtep and the only bridge are implied; the lists are empty.
    assert_eq!(c.spec.overlay.vnis, [VniSpec { vni: 7, vtep: 0, bridge: 0, vlan: VlanId(20), ..VniSpec::default() }]);
    // "inherit" is the default spelled out.
    let c = ok(&overlay("dscp = \"inherit\"\n"));
    assert_eq!(c.spec.overlay.vteps[0].dscp, None);
    // No overlay at all: an empty spec.
    assert!(ok(BASE).spec.overlay.is_empty());
    // An underlay port without a vtep is accepted (it drops what it receives).
    let c = ok(&with("[[port]]\nname = \"u\"\nmode = \"underlay\"\n"));
    assert_eq!(c.spec.ports[3].mode, PortMode::Underlay);
    assert!(c.spec.overlay.is_empty());
    // A VNI needs no physical member of its VLAN, and the same VNI may
    // exist on two VTEPs.
    let src = format!(
        "{BASE}{UNDERLAY}[[port]]\nname = \"u2\"\nmode = \"underlay\"\n[[vtep]]\nname = \"v2\"\nport = \"u2\"\naddress = \"10.0.0.1/8\"\n[[vni]]\nvni = 5\nvtep = \"vtep0\"\nvlan = 300\n[[vni]]\nvni = 5\nvtep = \"v2\"\nvlan = 301\n"
    );
    let c = ok(&src);
    assert_eq!(c.spec.overlay.vnis.len(), 2);
    switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
}

#[test]
fn examples_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("config/examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let c = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => panic!("{} is invalid:\n{e}", path.display()),
        };
        let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec)
            .unwrap_or_else(|e| panic!("{}: plan refused a validated spec: {e}", path.display()));
        let rules: Vec<_> = c.flows.iter().enumerate().map(|(i, f)| (i as u32, f.rule.clone())).collect();
        if let Err(e) = switch_core::flow::FlowPlan::compile(&rules, &plan) {
            panic!("{}: flow rules refused: {e}", path.display());
        }
        let text = c.to_toml_string();
        assert_eq!(ok(&text), c, "{}: canonical text:\n{text}", path.display());
        names.push(path.file_name().unwrap_or_default().to_string_lossy().into_owned());
    }
    assert!(names.iter().any(|n| n == "vxlan.toml"), "examples found: {names:?}");
}

#[test]
fn vxlan_example_topology() {
    let c = Config::load(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/vxlan.toml")).unwrap();
    let ports: Vec<(&str, Option<&str>, &PortMode)> =
        c.spec.ports.iter().map(|p| (p.name.as_str(), p.interface.as_deref(), &p.mode)).collect();
    assert_eq!(
        ports,
        [
            ("h1", Some("xvs-h1"), &PortMode::Access { vlan: VlanId(10) }),
            ("h2", Some("xvs-h2"), &PortMode::Access { vlan: VlanId(20) }),
            ("uplink", Some("xvs-up"), &PortMode::Underlay),
        ]
    );
    let ov = &c.spec.overlay;
    assert_eq!(ov.vteps.len(), 1);
    assert_eq!(
        ov.vteps[0],
        switch_core::overlay::VtepSpec::new("vtep0", 2, ip::<std::net::IpAddr>("192.168.100.1"), 24)
    );
    let vnis: Vec<(u32, u16, &[std::net::IpAddr], usize)> =
        ov.vnis.iter().map(|v| (v.vni, v.vlan.0, v.remotes.as_slice(), v.static_macs.len())).collect();
    let remote: [std::net::IpAddr; 1] = [ip("192.168.100.2")];
    assert_eq!(vnis, [(100, 10, &remote[..], 0), (200, 20, &remote[..], 0)]);
}

/// `overlay` with `vtep0` on an IPv6 underlay (fd00::1/64), then `extra`.
fn overlay6(extra: &str) -> String {
    overlay(extra).replace("192.168.100.1/24", "fd00::1/64")
}

#[test]
fn ipv6_underlay() {
    use std::net::IpAddr;
    let c = ok(&overlay6(
        r#"gateway = "fd00::fe"
[[vni]]
vni = 100
vlan = 10
remotes = ["fd00::2", "2001:db8::9"]
allowed_remotes = ["fd00::3"]
group = "ff05::100"
[[vni.static]]
mac = "02:00:00:00:00:09"
remote = "fd00::3"
"#,
    ));
    let ov = &c.spec.overlay;
    assert_eq!((ov.vteps[0].address, ov.vteps[0].prefix_len), (ip::<IpAddr>("fd00::1"), 64));
    assert_eq!(ov.vteps[0].gateway, Some(ip("fd00::fe")));
    assert_eq!(ov.vnis[0].remotes, [ip::<IpAddr>("fd00::2"), ip("2001:db8::9")]);
    assert_eq!(ov.vnis[0].allowed, [ip::<IpAddr>("fd00::3")]);
    assert_eq!(ov.vnis[0].group, Some(ip("ff05::100")));
    assert_eq!(ov.vnis[0].static_macs[0].remote, ip::<IpAddr>("fd00::3"));
    // What `xvs check --print` writes reads back as the same spec.
    let again = ok(&c.to_toml_string());
    assert_eq!(again.spec, c.spec);
}

#[test]
fn err_wrong_family() {
    let (e, msg) = one(&overlay6("[[vni]]\nvni = 100\nvlan = 10\nremotes = [\"192.168.100.2\"]\n"));
    assert!(matches!(e, ConfigError::WrongFamily { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vni[0].remotes[0] = "192.168.100.2" is IPv4 but vtep "vtep0" has the address fd00::1/64; a tunnel's ends, next hop and group use one address family"#
    );
    let (e, msg) = one(&with_vni("allowed_remotes = [\"fd00::2\"]\n"));
    assert!(matches!(e, ConfigError::WrongFamily { .. }), "{e:?}");
    assert_names(&msg, &["allowed_remotes[0] = \"fd00::2\" is IPv6", "192.168.100.1/24"]);
    let (_, msg) = one(&overlay("gateway = \"fd00::fe\"\n"));
    assert_names(&msg, &["gateway = \"fd00::fe\" is IPv6 but vtep \"vtep0\""]);
    let (_, msg) = one(&with_vni("group = \"ff05::100\"\n"));
    assert_names(&msg, &["group = \"ff05::100\" is IPv6"]);
    let (_, msg) = one(&with_vni("[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"fd00::2\"\n"));
    assert_names(&msg, &["vni[0].static[0]", "remote = \"fd00::2\" is IPv6"]);
    // A route leaves from its VTEP's address, which must be IPv4.
    let (_, msg) = one(&overlay6("[[route]]\nprefix = \"10.20.0.0/24\"\nvia = \"192.168.100.2\"\n"));
    assert_names(&msg, &["route[0].via = \"192.168.100.2\" is IPv4 but vtep \"vtep0\" has the address fd00::1/64"]);
}

#[test]
fn err_ipv4_only_keys() {
    let (e, msg) = one(&overlay("[[route]]\nprefix = \"fd00:20::/64\"\nvia = \"192.168.100.2\"\n"));
    assert!(matches!(e, ConfigError::Ipv4Only { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"route[0].prefix = "fd00:20::/64" is an IPv6 address; a [[route]] is an IP-in-IP tunnel, which carries IPv4 over IPv4 only"#
    );
    let (_, msg) = one(&overlay("[[route]]\nprefix = \"10.20.0.0/24\"\nvia = \"fd00::2\"\n"));
    assert_names(&msg, &["via = \"fd00::2\" is an IPv6 address; a [[route]]"]);
    let (_, msg) = one(&with("[[gateway]]\nvlan = 10\naddress = \"fd00:10::1/64\"\n"));
    assert_names(&msg, &["address = \"fd00:10::1/64\" is an IPv6 address; a [[gateway]] routes IPv4 only"]);
}

#[test]
fn err_bad_ipv6_addresses() {
    let (e, msg) = one(&overlay6("").replace("fd00::1/64", "fd00::1/129"));
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": address = "fd00::1/129" is not a valid IPv6 address: the prefix length 129 is outside 1..=128"#
    );
    let (_, msg) = one(&overlay6("").replace("fd00::1/64", "fe80::1/64"));
    assert_names(&msg, &["is not a valid IPv6 address: a link-local address"]);
    let (_, msg) = one(&overlay6("").replace("fd00::1/64", "fd00::/64"));
    assert_names(&msg, &["subnet-router anycast address of fd00::/64"]);
    let v6_vni = |extra: &str| overlay6(&format!("[[vni]]\nvni = 100\nvlan = 10\n{extra}"));
    let (_, msg) = one(&v6_vni("remotes = [\"fd00::1\"]\n"));
    assert_names(&msg, &["remotes[0] = \"fd00::1\" is the address of vtep \"vtep0\" itself"]);
    let (_, msg) = one(&v6_vni("remotes = [\"ff05::1\"]\n"));
    assert_names(&msg, &["a multicast group cannot be a remote VTEP"]);
    let (_, msg) = one(&v6_vni("remotes = [\"fd00::\"]\n"));
    assert_names(&msg, &["subnet-router anycast"]);
    let (_, msg) = one(&v6_vni("group = \"ff02::1\"\n"));
    assert_names(&msg, &["group = \"ff02::1\" is not a valid IPv6 address: an interface- or link-local group"]);
    let (_, msg) = one(&v6_vni("group = \"fd00::9\"\n"));
    assert_names(&msg, &["a group is a multicast address in ff00::/8"]);
    let (e, msg) = one(&overlay6("mtu = 1000\n"));
    assert!(matches!(e, ConfigError::OutOfRange { min: 1280, .. }), "{e:?}");
    assert_names(&msg, &["mtu = 1000 is outside 1280..=9216"]);
    let (_, msg) = one(&v6_vni("remotes = [\"fd00::2\", \"fd00:0::2\"]\n"));
    assert_names(&msg, &["remotes[1]", "already listed"]);
}

#[test]
fn err_bad_vtep_address() {
    let bad = |addr: &str| one(&overlay("").replace("\"192.168.100.1/24\"", &format!("{addr:?}")));
    let (e, msg) = bad("192.168.100.1/33");
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": address = "192.168.100.1/33" is not a valid IPv4 address: the prefix length 33 is outside 1..=32"#
    );
    for (addr, why) in [
        ("192.168.100.1/0", "the prefix length 0 is outside 1..=32"),
        ("192.168.100.1", "the prefix length is missing (as in 192.168.100.1/24)"),
        ("192.168.100.1/x", "the prefix length \"x\" is not a number"),
        ("192.168.100.0/24", "it is the network address of 192.168.100.0/24"),
        ("192.168.100.255/24", "it is the broadcast address of 192.168.100.0/24"),
        ("224.0.0.1/24", "a multicast (group) address is no host's address"),
        ("127.0.0.1/8", "a loopback address never reaches the underlay"),
    ] {
        let (e, msg) = bad(addr);
        assert!(matches!(e, ConfigError::BadIp { .. }), "{addr}: {e:?}");
        assert_names(&msg, &[&format!("address = {addr:?} is not a valid IPv4 address: {why}")]);
    }
    let (e, msg) = bad("192.168.100/24");
    assert!(matches!(e, ConfigError::BadIp { family: "IP", .. }), "{e:?}");
    assert_names(
        &msg,
        &["is not a valid IP address: expected an address with a prefix length like 192.168.100.1/24 or fd00::1/64"],
    );
    let (e, _) = bad("");
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
    let (e, msg) = one(&overlay("").replace("\"192.168.100.1/24\"", "24"));
    assert!(matches!(e, ConfigError::WrongType { .. }), "{e:?}");
    assert_names(&msg, &["address = 24", "expected a string"]);
}

#[test]
fn err_vtep_on_non_underlay_port() {
    let (e, msg) = one(&overlay("").replace("port = \"uplink\"", "port = \"h1\""));
    assert!(matches!(e, ConfigError::NotUnderlayPort { mode: "access", .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": port = "h1" is not an underlay port (it has mode = "access"); a vtep needs a port with mode = "underlay""#
    );
    let (e, msg) = one(&overlay("").replace("port = \"uplink\"", "port = \"nope\""));
    assert!(matches!(e, ConfigError::UnknownPort { .. }), "{e:?}");
    assert_eq!(msg, r#"vtep[0] "vtep0": port = "nope" names no port"#);
    // A port whose mode is already wrong is not reported again.
    let src = overlay("").replace("mode = \"underlay\"", "mode = \"undrelay\"");
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
}

#[test]
fn err_two_vteps_on_one_port() {
    let (e, msg) = one(&overlay("[[vtep]]\nname = \"vtep1\"\nport = \"uplink\"\naddress = \"10.0.0.1/8\"\n"));
    assert!(matches!(e, ConfigError::PortHasVtep { first: 0, .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[1] "vtep1": port = "uplink" already carries vtep[0] "vtep0"; an underlay port has at most one vtep"#
    );
}

#[test]
fn err_duplicate_vtep() {
    let src = overlay("[[port]]\nname = \"u2\"\nmode = \"underlay\"\n[[vtep]]\nname = \"vtep0\"\nport = \"u2\"\naddress = \"10.0.0.1/8\"\n");
    let (e, msg) = one(&src);
    assert!(matches!(e, ConfigError::DuplicateVtep { first: 0, .. }), "{e:?}");
    assert_eq!(msg, r#"vtep[1] "vtep0": name = "vtep0" is already used by vtep[0]"#);
    let (e, msg) = one(&overlay("").replace("name = \"vtep0\"", "name = \"vtep 0\""));
    assert!(matches!(e, ConfigError::BadName { .. }), "{e:?}");
    assert_names(&msg, &["vtep[0] \"vtep 0\": name = \"vtep 0\"", "letters, digits"]);
}

#[test]
fn err_unknown_vtep() {
    let (e, msg) = one(&with_vni("vtep = \"vtep9\"\n"));
    assert!(matches!(e, ConfigError::UnknownVtep { .. }), "{e:?}");
    assert_eq!(msg, r#"vni[0].vtep = "vtep9" names no vtep (known: vtep0)"#);
    // With no [[vtep]] at all.
    let (e, msg) = one(&with("[[vni]]\nvni = 1\nvtep = \"v\"\nvlan = 10\n"));
    assert!(matches!(e, ConfigError::UnknownVtep { .. }), "{e:?}");
    assert_eq!(msg, r#"vni[0].vtep = "v" names no vtep (no [[vtep]] is defined)"#);
    let (e, msg) = one(&with("[[vni]]\nvni = 1\nvlan = 10\n"));
    assert!(matches!(e, ConfigError::MissingKey { .. }), "{e:?}");
    assert_eq!(msg, "vni[0]: missing key `vtep` (no [[vtep]] is defined; a VNI needs a local VTEP)");
}

#[test]
fn err_ambiguous_vtep() {
    let second = "[[port]]\nname = \"u2\"\nmode = \"underlay\"\n[[vtep]]\nname = \"vtep1\"\nport = \"u2\"\naddress = \"10.0.0.1/8\"\n";
    let (e, msg) = one(&overlay(&format!("{second}[[vni]]\nvni = 100\nvlan = 10\n")));
    let ConfigError::AmbiguousVtep { at, vteps } = &e else { panic!("{e:?}") };
    assert_eq!(at.dotted(), "vni[0].vtep");
    assert_eq!(vteps, &["vtep0", "vtep1"]);
    assert_eq!(msg, "vni[0]: missing key `vtep`; it is required when there are several vteps (vtep0, vtep1)");
    ok(&overlay(&format!("{second}[[vni]]\nvni = 100\nvtep = \"vtep1\"\nvlan = 10\n")));
}

#[test]
fn err_vni_out_of_range() {
    let (e, msg) = one(&overlay("[[vni]]\nvni = 16777216\nvlan = 10\n"));
    assert!(matches!(e, ConfigError::OutOfRange { value: 16777216, min: 1, max: 16777215, .. }), "{e:?}");
    assert_eq!(msg, "vni[0].vni = 16777216 is outside 1..=16777215");
    let (_, msg) = one(&overlay("[[vni]]\nvni = 0\nvlan = 10\n"));
    assert_eq!(msg, "vni[0].vni = 0 is outside 1..=16777215");
    let (_, msg) = one(&overlay("[[vni]]\nvlan = 10\n"));
    assert_names(&msg, &["vni[0]: missing key `vni`"]);
    let (e, msg) = one(&overlay("[[vni]]\nvni = 1\nvlan = 4095\n"));
    assert!(matches!(e, ConfigError::VlanOutOfRange { .. }), "{e:?}");
    assert_eq!(msg, "vni[0].vlan = 4095 is outside 1..=4094");
    let (_, msg) = one(&overlay("[[vni]]\nvni = 1\n"));
    assert_eq!(msg, "vni[0]: missing key `vlan` (every [[vni]] needs the VLAN it joins)");
}

#[test]
fn err_duplicate_vni() {
    let (e, msg) = one(&with_vni("[[vni]]\nvni = 100\nvlan = 20\n"));
    assert!(matches!(e, ConfigError::DuplicateVni { vni: 100, first: 0, .. }), "{e:?}");
    assert_eq!(msg, r#"vni[1].vni = 100 is already used on vtep "vtep0" by vni[0]"#);
}

#[test]
fn err_two_vnis_on_one_domain() {
    let (e, msg) = one(&with_vni("[[vni]]\nvni = 101\nvlan = 10\n"));
    assert!(matches!(e, ConfigError::VniDomainTaken { vlan: 10, first: 0, .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vni[1].vlan = 10 on bridge "br0" is already joined by vni[0]; a (bridge, VLAN) pair takes at most one VNI"#
    );
    // The same VLAN on another bridge is another domain.
    let src = format!("[[bridge]]\nname = \"a\"\n[[bridge]]\nname = \"b\"\n{BASE}{UNDERLAY}")
        .replace("vlan = 10\n", "vlan = 10\nbridge = \"a\"\n")
        .replace("vlan = 20\n", "vlan = 20\nbridge = \"a\"\n")
        + "[[vni]]\nvni = 1\nbridge = \"a\"\nvlan = 10\n[[vni]]\nvni = 2\nbridge = \"b\"\nvlan = 10\n";
    assert_eq!(ok(&src).spec.overlay.vnis[1].bridge, 1);
    // ...and a VNI must name its bridge when there are several.
    let src = src.replace("vni = 2\nbridge = \"b\"\n", "vni = 2\n");
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::AmbiguousBridge { .. }), "{e:?}");
}

#[test]
fn err_remote_is_local() {
    let (e, msg) = one(&overlay("[[vni]]\nvni = 1\nvlan = 10\nremotes = [\"192.168.100.1\"]\n"));
    assert!(matches!(e, ConfigError::RemoteIsLocal { .. }), "{e:?}");
    assert_eq!(msg, r#"vni[0].remotes[0] = "192.168.100.1" is the address of vtep "vtep0" itself"#);
    let (e, _) = one(&with_vni("allowed_remotes = [\"192.168.100.1\"]\n"));
    assert!(matches!(e, ConfigError::RemoteIsLocal { .. }), "{e:?}");
}

#[test]
fn err_duplicate_remote() {
    let (e, msg) =
        one(&overlay("[[vni]]\nvni = 1\nvlan = 10\nremotes = [\"192.168.100.2\", \"10.0.0.2\", \"192.168.100.2\"]\n"));
    assert!(matches!(e, ConfigError::DuplicateRemote { .. }), "{e:?}");
    assert_eq!(msg, r#"vni[0].remotes[2] = "192.168.100.2" is already listed as vni[0].remotes[0]"#);
    let (_, msg) = one(&with_vni("allowed_remotes = [\"10.0.0.9\", \"192.168.100.2\"]\n"));
    assert_eq!(msg, r#"vni[0].allowed_remotes[1] = "192.168.100.2" is already listed as vni[0].remotes[0]"#);
    let (_, msg) = one(&with_vni("allowed_remotes = [\"10.0.0.9\", \"10.0.0.9\"]\n"));
    assert_names(&msg, &["allowed_remotes[1]", "already listed as vni[0].allowed_remotes[0]"]);
    // The same remote in two VNIs is fine.
    ok(&with_vni("[[vni]]\nvni = 200\nvlan = 20\nremotes = [\"192.168.100.2\"]\n"));
}

#[test]
fn err_bad_remote() {
    for (remote, why) in [
        ("239.1.1.1", "a multicast group cannot be a remote VTEP (set it as the VNI's `group`)"),
        ("255.255.255.255", "the broadcast address is no host's address"),
        ("0.0.0.0", "0.0.0.0 is no host's address"),
        ("192.168.100.255", "it is the broadcast address of 192.168.100.0/24"),
        ("192.168.100.0", "it is the network address of 192.168.100.0/24"),
    ] {
        let (e, msg) = one(&overlay(&format!("[[vni]]\nvni = 1\nvlan = 10\nremotes = [{remote:?}]\n")));
        assert!(matches!(e, ConfigError::BadIp { .. }), "{remote}: {e:?}");
        assert_eq!(msg, format!("vni[0].remotes[0] = {remote:?} is not a valid IPv4 address: {why}"), "{remote}");
    }
    for remote in ["192.168.100.2/24", "vtep.example"] {
        let (_, msg) = one(&overlay(&format!("[[vni]]\nvni = 1\nvlan = 10\nremotes = [{remote:?}]\n")));
        let why = "expected an IPv4 address like 192.168.100.2 or an IPv6 address like fd00::2";
        assert_names(&msg, &[&format!("vni[0].remotes[0] = {remote:?} is not a valid"), why]);
    }
    let (e, msg) = one(&overlay("[[vni]]\nvni = 1\nvlan = 10\nremotes = [3]\n"));
    assert!(matches!(e, ConfigError::WrongType { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vni[0].remotes[0] = 3 has the wrong type: expected an address like "192.168.100.2" or "fd00::2", found an integer"#
    );
    let (_, msg) = one(&overlay("[[vni]]\nvni = 1\nvlan = 10\nremotes = \"192.168.100.2\"\n"));
    assert_names(&msg, &["vni[0].remotes = \"192.168.100.2\"", "expected an array"]);
}

#[test]
fn err_static_remote_not_among_remotes() {
    let (e, msg) = one(&with_vni("[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.3\"\n"));
    assert!(matches!(e, ConfigError::UnknownRemote { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vni[0].static[0].remote = "192.168.100.3" is in neither vni[0].remotes nor vni[0].allowed_remotes"#
    );
    // Among allowed_remotes is enough.
    let c = ok(&with_vni(
        "allowed_remotes = [\"192.168.100.3\"]\n[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.3\"\n",
    ));
    assert_eq!(c.spec.overlay.vnis[0].static_macs[0].remote, ip::<std::net::IpAddr>("192.168.100.3"));
    // A bad remotes list does not make the static entry's remote unknown too.
    let src = overlay(
        "[[vni]]\nvni = 1\nvlan = 10\nremotes = [\"192.168.100.1\"]\n[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.1\"\n",
    );
    let (e, _) = one(&src);
    assert!(matches!(e, ConfigError::RemoteIsLocal { .. }), "{e:?}");
    let (_, msg) = one(&with_vni("[[vni.static]]\nmac = \"02:00:00:00:00:09\"\n"));
    assert_names(&msg, &["vni[0].static[0]: missing key `remote`"]);
}

#[test]
fn err_bad_static_remote_mac() {
    let entry = |mac: &str| with_vni(&format!("[[vni.static]]\nmac = \"{mac}\"\nremote = \"192.168.100.2\"\n"));
    let (e, msg) = one(&entry("01:00:5e:00:00:01"));
    assert!(matches!(e, ConfigError::BadMac { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vni[0].static[0].mac = "01:00:5e:00:00:01" is not a valid MAC: a multicast (group) address cannot be a static entry"#
    );
    let (_, msg) = one(&entry("00:00:00:00:00:00"));
    assert_names(&msg, &["all-zero"]);
    // Unique per VNI...
    let two = "[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.2\"\n".repeat(2);
    let (e, msg) = one(&with_vni(&two));
    assert!(matches!(e, ConfigError::DuplicateRemoteMac { .. }), "{e:?}");
    assert_eq!(msg, "vni[0].static[1].mac = 02:00:00:00:00:09 duplicates vni[0].static[0]");
    // ...and not also an [[fdb.static]] of the VNI's domain.
    let src = with_vni("[[vni.static]]\nmac = \"02:00:00:00:00:01\"\nremote = \"192.168.100.2\"\n")
        + "[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"h1\"\n";
    let (e, msg) = one(&src);
    assert!(matches!(e, ConfigError::DuplicateStaticMac { vlan: 10, first: 0, .. }), "{e:?}");
    assert_eq!(msg, "vni[0].static[0].mac = 02:00:00:00:00:01 in VLAN 10 duplicates fdb.static[0]");
}

#[test]
fn err_vtep_macs() {
    let (e, msg) = one(&overlay("mac = \"ff:ff:ff:ff:ff:ff\"\n"));
    assert!(matches!(e, ConfigError::BadMac { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": mac = "ff:ff:ff:ff:ff:ff" is not a valid MAC: the broadcast address cannot be a VTEP's own address"#
    );
    let (_, msg) = one(&overlay("nexthop_mac = \"03:00:00:00:00:01\"\n"));
    assert_names(&msg, &["nexthop_mac = \"03:00:00:00:00:01\"", "multicast (group) address cannot be a next hop's"]);
    let (_, msg) = one(&overlay("nexthop_mac = \"00:00:00:00:00:00\"\n"));
    assert_names(&msg, &["nexthop_mac", "all-zero"]);
}

#[test]
fn err_bad_src_port_range() {
    let (e, msg) = one(&overlay("src_port_range = \"65535-49152\"\n"));
    assert!(matches!(e, ConfigError::BadPortRange { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": src_port_range = "65535-49152" is not a valid port range: range 65535-49152 is reversed (write 49152-65535)"#
    );
    for (range, why) in [
        ("0-100", "port 0 is outside 1..=65535"),
        ("1-70000", "port 70000 is outside 1..=65535"),
        ("49152", "expected LO-HI like 49152-65535"),
        ("a-b", "\"a\" is not a port number"),
    ] {
        let (_, msg) = one(&overlay(&format!("src_port_range = {range:?}\n")));
        assert_names(&msg, &[&format!("src_port_range = {range:?} is not a valid port range: {why}")]);
    }
    let (e, _) = one(&overlay("src_port_range = [1, 2]\n"));
    assert!(matches!(e, ConfigError::WrongType { .. }), "{e:?}");
}

#[test]
fn err_vtep_numbers() {
    for (key, value, range) in [
        ("udp_port", "0", "1..=65535"),
        ("udp_port", "65536", "1..=65535"),
        ("ttl", "0", "1..=255"),
        ("ttl", "256", "1..=255"),
        ("dscp", "64", "0..=63"),
        ("dscp", "-1", "0..=63"),
        ("mtu", "575", "576..=9216"),
        ("mtu", "9217", "576..=9216"),
        ("neighbor_refresh_secs", "4", "5..=3600"),
        ("neighbor_refresh_secs", "3601", "5..=3600"),
    ] {
        let (e, msg) = one(&overlay(&format!("{key} = {value}\n")));
        assert!(matches!(e, ConfigError::OutOfRange { .. }), "{key}: {e:?}");
        assert_eq!(msg, format!("vtep[0] \"vtep0\": {key} = {value} is outside {range}"));
    }
    let (e, msg) = one(&overlay("dscp = \"ef\"\n"));
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
    assert_eq!(msg, r#"vtep[0] "vtep0": dscp = "ef" is not one of: inherit, 0..=63"#);
    let (_, msg) = one(&overlay("dscp = true\n"));
    assert_names(&msg, &["dscp = true", "expected \"inherit\" or an integer 0..=63"]);
    let (_, msg) = one(&overlay("udp_checksum = \"yes\"\n"));
    assert_names(&msg, &["udp_checksum = \"yes\"", "a boolean"]);
}

#[test]
fn err_gateway() {
    let (e, msg) = one(&overlay("gateway = \"10.0.0.1\"\n"));
    assert!(matches!(e, ConfigError::BadGateway { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"vtep[0] "vtep0": gateway = "10.0.0.1" cannot be the gateway: it is outside the subnet 192.168.100.0/24 of address = "192.168.100.1/24""#
    );
    let (_, msg) = one(&overlay("gateway = \"192.168.100.1\"\n"));
    assert_names(&msg, &["gateway = \"192.168.100.1\"", "it is the vtep's own address"]);
    let (_, msg) = one(&overlay("gateway = \"192.168.100.255\"\n"));
    assert_names(&msg, &["it is the broadcast address of 192.168.100.0/24"]);
    let (e, _) = one(&overlay("gateway = \"239.0.0.1\"\n"));
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
    // With a bad address, the gateway is not judged against it.
    let (e, _) = one(&overlay("gateway = \"10.0.0.1\"\n").replace("/24", "/40"));
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
}

#[test]
fn err_mode_key_on_underlay_port() {
    for (key, value, valid_for) in [
        ("vlan", "10", "access"),
        ("allowed_vlans", "\"10\"", "trunk"),
        ("native_vlan", "10", "trunk"),
        ("native_tagged", "false", "trunk"),
        ("tpid", "\"802.1q\"", "trunk"),
        ("s_vlan", "10", "dot1q-tunnel"),
    ] {
        let src = with(&format!("[[port]]\nname = \"u\"\nmode = \"underlay\"\n{key} = {value}\n"));
        let (e, msg) = one(&src);
        assert!(matches!(e, ConfigError::WrongKeyForMode { mode: "underlay", .. }), "{key}: {e:?}");
        assert_eq!(
            msg,
            format!(
                "port[3] \"u\": {key} is not allowed with mode = \"underlay\" (it belongs to mode = \"{valid_for}\")"
            )
        );
    }
    let (e, msg) = one(&with("[[port]]\nname = \"u\"\nmode = \"underlay\"\nbridge = \"br0\"\n"));
    assert!(matches!(e, ConfigError::NotForUnderlay { .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"port[3] "u": bridge is not allowed with mode = "underlay" (an underlay port belongs to no bridge)"#
    );
    let (_, msg) = one(&with("[[port]]\nname = \"u\"\nmode = \"underlay\"\nmac_limit = 5\n"));
    assert_eq!(
        msg,
        r#"port[3] "u": mac_limit is not allowed with mode = "underlay" (an underlay port learns no MACs)"#
    );
    // With several bridges an underlay port still names none.
    let src = format!("[[bridge]]\nname = \"a\"\n[[bridge]]\nname = \"b\"\n{BASE}{UNDERLAY}")
        .replace("vlan = 10\n", "vlan = 10\nbridge = \"a\"\n")
        .replace("vlan = 20\n", "vlan = 20\nbridge = \"b\"\n");
    assert_eq!(ok(&src).spec.ports[3].mode, PortMode::Underlay);
}

#[test]
fn err_fdb_static_on_underlay_port() {
    let (e, msg) = one(&overlay("[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:01\"\nport = \"uplink\"\n"));
    assert!(matches!(e, ConfigError::StaticMacNotMember { vlan: 10, .. }), "{e:?}");
    assert_eq!(
        msg,
        r#"fdb.static[0].port = "uplink" cannot hold a MAC in VLAN 10 on bridge "br0": it is an underlay port, which is in no VLAN"#
    );
}

#[test]
fn err_unknown_overlay_keys() {
    let (e, msg) = one(&overlay("ttll = 3\n"));
    assert!(matches!(e, ConfigError::UnknownKey { suggestion: Some("ttl"), .. }), "{e:?}");
    assert_eq!(msg, r#"vtep[0] "vtep0": unknown key `ttll` (did you mean `ttl`?)"#);
    let (_, msg) = one(&with_vni("allowed_remote = []\n"));
    assert_eq!(msg, "vni[0]: unknown key `allowed_remote` (did you mean `allowed_remotes`?)");
    let (_, msg) =
        one(&with_vni("[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.2\"\nremot = 1\n"));
    assert_eq!(msg, "vni[0].static[0]: unknown key `remot` (did you mean `remote`?)");
    let (_, msg) = one(&before("[[vtpe]]\nname = \"x\"\n"));
    assert_eq!(msg, "top level: unknown key `vtpe` (did you mean `vtep`?)");
    let (_, msg) = one(&before("[[vnis]]\nvni = 1\n"));
    assert_eq!(msg, "top level: unknown key `vnis` (did you mean `vni`?)");
}

#[test]
fn overlay_errors_in_file_order() {
    let src = r#"
[[port]]
name = "h1"
mode = "access"
vlan = 10

[[port]]
name = "up"
mode = "underlay"

[[vtep]]
name = "v"
port = "up"
address = "192.168.100.1/24"
gateway = "192.168.200.1"

[[vni]]
vni = 100
vlan = 10
remotes = ["192.168.100.1", "fd00::2"]

[[vni]]
vni = 100
vlan = 10
"#;
    let err = Config::from_toml_str(src).unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
    assert_eq!(
        lines,
        [
            r#"line 15: vtep[0] "v": gateway = "192.168.200.1" cannot be the gateway: it is outside the subnet 192.168.100.0/24 of address = "192.168.100.1/24""#,
            r#"line 20: vni[0].remotes[0] = "192.168.100.1" is the address of vtep "v" itself"#,
            r#"line 20: vni[0].remotes[1] = "fd00::2" is IPv6 but vtep "v" has the address 192.168.100.1/24; a tunnel's ends, next hop and group use one address family"#,
            r#"line 23: vni[1].vni = 100 is already used on vtep "v" by vni[0]"#,
            r#"line 24: vni[1].vlan = 10 on bridge "br0" is already joined by vni[0]; a (bridge, VLAN) pair takes at most one VNI"#,
        ]
    );
    assert_eq!(err.first().key_path().map(KeyPath::dotted).as_deref(), Some("vtep[0].gateway"));
}

#[test]
fn err_too_many_domains_counts_vnis() {
    // 16 bridges with an all-VLAN trunk each use 65504 domains; 30 VNIs on
    // a 17th bridge reach the 65534 limit, 31 pass it.
    let build = |vnis: u16| {
        let mut src = String::new();
        for b in 0..17 {
            src.push_str(&format!("[[bridge]]\nname = \"b{b}\"\n"));
        }
        for b in 0..16 {
            src.push_str(&format!("[[port]]\nname = \"t{b}\"\nbridge = \"b{b}\"\nmode = \"trunk\"\n"));
        }
        src.push_str(UNDERLAY);
        for v in 1..=vnis {
            src.push_str(&format!("[[vni]]\nvni = {v}\nbridge = \"b16\"\nvlan = {v}\n"));
        }
        src
    };
    ok(&build(30));
    let (e, _) = one(&build(31));
    assert!(matches!(e, ConfigError::TooManyDomains { count: 65535, max: 65534 }), "{e:?}");
}

#[test]
fn err_too_many_tunnels() {
    // One tunnel port per (VNI, remote): 4 ports + 4093 remotes > 4096.
    let remotes = |n: usize| -> String {
        let list: Vec<String> = (0..n).map(|i| format!("\"10.{}.{}.1\"", i / 200, i % 200)).collect();
        list.join(", ")
    };
    let src = |n: usize| overlay(&format!("[[vni]]\nvni = 1\nvlan = 10\nremotes = [{}]\n", remotes(n)));
    let c = ok(&src(4092));
    switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("4096 ports fit");
    let (e, msg) = one(&src(4093));
    assert!(matches!(e, ConfigError::TooManyTunnels { ports: 4, tunnels: 4093, max: 4096 }), "{e:?}");
    assert_eq!(
        msg,
        "the 4 ports and 4093 tunnel ports (one per VNI and remote VTEP) make more than the 4096 ports supported (list fewer remotes)"
    );
}

#[test]
fn overlay_specs_compile_into_forwarding_plans() {
    use switch_core::bridge::ForwardingPlan;
    let src = with_vni(
        "allowed_remotes = [\"10.0.0.9\"]\n[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"10.0.0.9\"\n[[vni]]\nvni = 200\nvlan = 20\nremotes = [\"192.168.100.2\"]\n",
    )
    .replace("address = \"192.168.100.1/24\"", "address = \"192.168.100.1/24\"\ngateway = \"192.168.100.254\"");
    let c = ok(&src);
    let plan = match ForwardingPlan::compile(&c.spec) {
        Ok(p) => p,
        Err(e) => panic!("plan refused a validated spec: {e}"),
    };
    let ov = plan.overlay.as_ref().expect("overlay");
    assert_eq!((ov.vteps.len(), ov.vnis.len(), ov.tunnels.len()), (1, 2, 3));
    assert_eq!(ov.first_tunnel, 4);
}

#[test]
fn overlay_mutations_never_panic_and_valid_ones_compile() {
    // Canonical text of a config with every overlay key, one per line.
    let rich = with_vni(
        "allowed_remotes = [\"10.0.0.9\"]\n[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"10.0.0.9\"\n[[vni]]\nvni = 200\nvlan = 20\nremotes = [\"192.168.100.2\"]\n[[fdb.static]]\nvlan = 20\nmac = \"02:00:00:00:00:0c\"\nport = \"h3\"\n",
    )
    .replace(
        "address = \"192.168.100.1/24\"",
        "address = \"192.168.100.1/24\"\ngateway = \"192.168.100.254\"\nmac = \"02:00:00:00:01:01\"\nnexthop_mac = \"02:00:00:00:01:02\"\ndscp = 10",
    );
    let text = ok(&rich).to_toml_string();
    let values = [
        "0",
        "-1",
        "1",
        "64",
        "65536",
        "16777216",
        "9223372036854775807",
        "1.5",
        "true",
        "\"\"",
        "\"x\"",
        "\"inherit\"",
        "\"underlay\"",
        "\"uplink\"",
        "\"h1\"",
        "\"vtep0\"",
        "\"br0\"",
        "\"fd00::1\"",
        "\"10.0.0.1\"",
        "\"192.168.100.1\"",
        "\"192.168.100.2\"",
        "\"10.0.0.1/8\"",
        "\"10.0.0.1/33\"",
        "\"1-1\"",
        "\"02:00:00:00:00:01\"",
        "[]",
        "[1]",
        "[\"192.168.100.2\"]",
        "[\"10.0.0.9\", \"10.0.0.9\"]",
        "{}",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = 0;
    let mut check = |src: String| {
        cases += 1;
        if let Ok(c) = Config::from_toml_str(&src) {
            if let Err(e) = switch_core::bridge::ForwardingPlan::compile(&c.spec) {
                panic!("plan refused a validated spec: {e}\n--- source ---\n{src}");
            }
            let again = c.to_toml_string();
            assert_eq!(ok(&again), c, "round trip of:\n{src}");
        }
    };
    for i in 0..lines.len() {
        let mut without = lines.clone();
        without.remove(i);
        check(without.join("\n"));
        if let Some((key, _)) = lines[i].split_once(" = ") {
            for v in values {
                let mut changed = lines.clone();
                let line = format!("{key} = {v}");
                changed[i] = &line;
                check(changed.join("\n"));
            }
        }
    }
    assert!(cases > 1000, "{cases} cases");
}

#[test]
fn geneve_vni_with_options_round_trips() {
    use switch_core::overlay::{Encap, GeneveOptionSpec};
    let c = ok(&with_vni(
        "encap = \"geneve\"\n[[vni.option]]\nclass = 0x0102\ntype = 0x80\ndata = \"0x1234abcd\"\n[[vni.option]]\nclass = 7\ntype = 1\n",
    ));
    let v = &c.spec.overlay.vnis[0];
    assert_eq!(v.encap, Encap::Geneve);
    assert_eq!(
        v.geneve_options,
        [
            GeneveOptionSpec { class: 0x0102, option_type: 0x80, data: vec![0x12, 0x34, 0xab, 0xcd] },
            GeneveOptionSpec { class: 7, option_type: 1, data: vec![] },
        ]
    );
    assert_eq!(c.spec.overlay.vteps[0].geneve_port, 6081);
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    let t = &plan.overlay.as_deref().unwrap().tunnels[0];
    assert_eq!((t.name.as_str(), t.template.len()), ("geneve100@192.168.100.2", 42 + 8 + 8 + 4));
}

#[test]
fn err_geneve_options() {
    let (e, msg) = one(&with_vni("[[vni.option]]\nclass = 1\ntype = 1\n"));
    assert!(matches!(e, ConfigError::OptionsNeedGeneve { .. }), "{e:?}");
    assert!(msg.contains("only a VNI with encap = \"geneve\" carries options"), "{msg}");
    let (e, msg) = one(&with_vni("encap = \"geneve\"\n[[vni.option]]\nclass = 1\ntype = 1\ndata = \"123\"\n"));
    assert!(matches!(e, ConfigError::BadOptionData { .. }), "{e:?}");
    assert!(msg.contains("vni[0].option[0].data = \"123\" is not valid option data: 3 hex digits"), "{msg}");
    let big = format!("data = \"{}\"\n", "00".repeat(124));
    let many: String = (0..3).map(|_| format!("[[vni.option]]\nclass = 1\ntype = 1\n{big}")).collect();
    let (e, msg) = one(&with_vni(&format!("encap = \"geneve\"\n{many}")));
    assert!(matches!(e, ConfigError::TooManyOptions { bytes: 384, max: 252, .. }), "{e:?}");
    assert!(msg.contains("the options take 384 bytes"), "{msg}");
    let (e, _) = one(&with_vni("encap = \"gre\"\n"));
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
    let (e, _) = one(&with_vni("encap = \"geneve\"\n[[vni.option]]\nclass = 65536\ntype = 1\n"));
    assert!(matches!(e, ConfigError::OutOfRange { .. }), "{e:?}");
    let (_, msg) = one(&with_vni("encap = \"geneve\"\n[[vni.option]]\ntype = 1\n"));
    assert!(msg.contains("missing key `class`"), "{msg}");
}

#[test]
fn multicast_group_vni() {
    let c = ok(&with_vni("group = \"239.1.1.1\"\n"));
    assert_eq!(c.spec.overlay.vnis[0].group, Some(ip("239.1.1.1")));
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    let ov = plan.overlay.as_deref().unwrap();
    // The remote is a source and a unicast destination; the group gets the floods.
    let t: Vec<(&str, bool)> = ov.tunnels.iter().map(|t| (t.name.as_str(), t.flood)).collect();
    assert_eq!(t, [("vxlan100@192.168.100.2", false), ("vxlan100@239.1.1.1", true)]);
    assert!(ov.joined(0, ip("239.1.1.1")));
    for (bad, why) in [
        ("224.0.0.5", "link-local"),
        ("10.0.0.1", "a group is a multicast address"),
        ("239.1.1", "expected a multicast address like 239.1.1.1 or ff05::100"),
    ] {
        let (e, msg) = one(&with_vni(&format!("group = \"{bad}\"\n")));
        assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
        assert!(msg.contains(why) && msg.contains("vni[0].group"), "{msg}");
    }
}

#[test]
fn gateways_and_routes_round_trip_and_compile() {
    let extra = "[[gateway]]\nvlan = 10\naddress = \"10.10.0.1/24\"\n[[gateway.neighbor]]\nip = \"10.10.0.9\"\nmac = \"02:00:00:00:00:09\"\n[[route]]\nprefix = \"10.20.0.0/24\"\nvia = \"192.168.100.2\"\n";
    let c = ok(&overlay(extra));
    let ov = &c.spec.overlay;
    assert_eq!((ov.gateways[0].address, ov.gateways[0].prefix_len, ov.gateways[0].vlan.0), (ip("10.10.0.1"), 24, 10));
    assert_eq!(ov.gateways[0].neighbors, [(ip("10.10.0.9"), MacAddr([2, 0, 0, 0, 0, 9]))]);
    assert_eq!(
        (ov.routes[0].prefix, ov.routes[0].prefix_len, ov.routes[0].via),
        (ip("10.20.0.0"), 24, ip("192.168.100.2"))
    );
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    let p = plan.overlay.as_deref().unwrap();
    assert_eq!(p.route(ip("10.20.0.7")).map(|r| r.via), Some(ip("192.168.100.2")));
    assert_eq!(p.gateways[0].hosts.get(ip("10.10.0.9")), Some(MacAddr([2, 0, 0, 0, 0, 9])));
    assert_eq!(plan.port_id("gw10"), Some(p.gateways[0].port));
}

#[test]
fn err_gateways_and_routes() {
    let (e, msg) = one(&overlay("[[route]]\nprefix = \"10.20.0.1/24\"\nvia = \"192.168.100.2\"\n"));
    assert!(matches!(e, ConfigError::BadIp { .. }), "{e:?}");
    assert!(msg.contains("host bits are set; the prefix is 10.20.0.0/24"), "{msg}");
    let route = "[[route]]\nprefix = \"10.20.0.0/24\"\nvia = \"192.168.100.2\"\n";
    let (e, _) = one(&overlay(&format!("{route}{route}")));
    assert!(matches!(e, ConfigError::DuplicateRoute { first: 0, .. }), "{e:?}");
    let gw = "[[gateway]]\nvlan = 10\naddress = \"10.10.0.1/24\"\n";
    let (e, _) = one(&overlay(&format!("{gw}{gw}")));
    assert!(matches!(e, ConfigError::DuplicateGateway { vlan: 10, .. }), "{e:?}");
    let (_, msg) = one(&overlay("[[gateway]]\nvlan = 10\naddress = \"10.0.0.1/8\"\n"));
    assert!(msg.contains("a gateway's prefix length is 16..=30, not 8"), "{msg}");
    let (_, msg) =
        one(&overlay(&format!("{gw}[[gateway.neighbor]]\nip = \"10.11.0.9\"\nmac = \"02:00:00:00:00:09\"\n")));
    assert!(msg.contains("outside the gateway's subnet 10.10.0.0/24"), "{msg}");
    let (_, msg) = one(&overlay("[[route]]\nvia = \"192.168.100.2\"\n"));
    assert!(msg.contains("missing key `prefix`"), "{msg}");
}

#[test]
fn inner_vlan_strip_or_drop() {
    use switch_core::overlay::InnerVlan;
    let c = ok(&with_vni("inner_vlan = \"strip\"\n"));
    assert_eq!(c.spec.overlay.vnis[0].inner_vlan, InnerVlan::Strip);
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    let tunnel = plan.overlay.as_deref().and_then(|ov| ov.tunnels.first()).map(|t| t.inner_vlan);
    assert_eq!(tunnel, Some(InnerVlan::Strip));
    assert_eq!(ok(&with_vni("")).spec.overlay.vnis[0].inner_vlan, InnerVlan::Drop, "drop by default");
    let (e, msg) = one(&with_vni("inner_vlan = \"keep\"\n"));
    assert!(matches!(e, ConfigError::BadChoice { .. }), "{e:?}");
    assert!(msg.contains("inner_vlan") && msg.contains("strip"), "{msg}");
}

#[test]
fn remote_learning_off() {
    let c =
        ok(&with_vni("learning = false\n[[vni.static]]\nmac = \"02:00:00:00:00:09\"\nremote = \"192.168.100.2\"\n"));
    assert!(c.spec.overlay.vnis[0].no_learning);
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    let plan = switch_core::bridge::ForwardingPlan::compile(&c.spec).expect("plan");
    let port = plan.port_id("vxlan100@192.168.100.2").unwrap();
    assert!(!plan.ports[port.index()].learning);
    assert!(!ok(&with_vni("")).spec.overlay.vnis[0].no_learning, "learning is on by default");
}

#[test]
fn port_mtu() {
    let c = ok(&with("mtu = 9000\n"));
    assert_eq!(c.spec.ports.iter().map(|p| p.mtu).collect::<Vec<_>>(), [None, None, Some(9000)]);
    assert_eq!(c.spec.ports[2].max_frame(), 9018);
    assert_eq!(c.spec.ports[0].max_frame(), 1518, "1500 by default, plus header and one tag");
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
    for value in ["575", "9217"] {
        let (e, msg) = one(&with(&format!("mtu = {value}\n")));
        assert!(matches!(e, ConfigError::OutOfRange { .. }), "{e:?}");
        assert_names(&msg, &[&format!("mtu = {value}"), "576..=9216"]);
    }
}

#[test]
fn flow_errors_name_the_key_and_why() {
    let flow = |body: &str| with(&format!("[[flow]]\n{body}"));
    let (_, m) = one(&flow("port = \"h1\"\nmatch = \"tp_dst=80\"\nactions = \"drop\""));
    assert_names(&m, &["flow[0].match", "tp_dst=80", "tcp,tp_dst=80"]);
    let (_, m) = one(&flow("port = \"h1\"\nactions = \"explode\""));
    assert_names(&m, &["flow[0].actions", "unknown action"]);
    let (_, m) = one(&flow("port = \"nope\"\nactions = \"drop\""));
    assert_names(&m, &["flow[0].port", "nope"]);
    let (_, m) = one(&flow("port = \"h1\"\nactions = \"mirror:ghost\""));
    assert_names(&m, &["flow[0].actions", "ghost"]);
    let (_, m) = one(&flow("port = \"h1\"\ndirection = \"egress\"\nactions = \"drop\""));
    assert_names(&m, &["flow[0].direction", "not supported yet"]);
    let (_, m) = one(&flow("port = \"h1\""));
    assert_names(&m, &["actions"]);
    let (_, m) = one(&flow("port = \"h1\"\nactions = \"drop\"\nprioriti = 3"));
    assert_names(&m, &["prioriti", "priority"]);
    let two = with(
        "[[flow]]\nid = 3\nport = \"h1\"\nactions = \"drop\"\n[[flow]]\nid = 3\nport = \"h1\"\nactions = \"allow\"",
    );
    let (_, m) = one(&two);
    assert_names(&m, &["flow[1].id", "flow[0]"]);
    let (_, m) = one(&flow("id = 40000\nport = \"h1\"\nactions = \"drop\""));
    assert_names(&m, &["flow[0].id", "0..=32767"]);
}

#[test]
fn arp_suppression_keys() {
    let overlay = |vni_extra: &str| {
        format!(
            "[[port]]\nname = \"a\"\nmode = \"access\"\nvlan = 10\n[[port]]\nname = \"up\"\nmode = \"underlay\"\n\
             [[vtep]]\nname = \"v\"\nport = \"up\"\naddress = \"10.0.0.1/24\"\n\
             [[vni]]\nvni = 100\nvlan = 10\nremotes = [\"10.0.0.2\"]\n{vni_extra}"
        )
    };
    let c =
        ok(&overlay("arp_suppression = \"10.1.0.0/16\"\n[[vni.arp]]\nip = \"10.1.2.3\"\nmac = \"02:00:00:00:00:01\""));
    let v = &c.spec.overlay.vnis[0];
    assert_eq!(v.arp_suppression, Some(("10.1.0.0".parse().unwrap(), 16)));
    assert_eq!(v.arp_static, vec![("10.1.2.3".parse().unwrap(), MacAddr([2, 0, 0, 0, 0, 1]))]);
    let (_, m) = one(&overlay("arp_suppression = \"10.0.0.0/8\""));
    assert_names(&m, &["vni[0].arp_suppression", "/16 or longer"]);
    let (_, m) = one(&overlay("arp_suppression = \"10.1.0.1/24\""));
    assert_names(&m, &["vni[0].arp_suppression", "host bits"]);
    let (_, m) =
        one(&overlay("arp_suppression = \"10.1.0.0/24\"\n[[vni.arp]]\nip = \"10.2.0.1\"\nmac = \"02:00:00:00:00:01\""));
    assert_names(&m, &["vni[0].arp[0].ip", "not in the VNI's arp_suppression subnet 10.1.0.0/24"]);
    let (_, m) = one(&overlay("[[vni.arp]]\nip = \"10.2.0.1\"\nmac = \"02:00:00:00:00:01\""));
    assert_names(&m, &["needs the VNI's arp_suppression subnet"]);
    let (_, m) =
        one(&overlay("arp_suppression = \"10.1.0.0/24\"\n[[vni.arp]]\nip = \"10.1.0.1\"\nmac = \"ff:ff:ff:ff:ff:ff\""));
    assert_names(&m, &["vni[0].arp[0].mac", "broadcast"]);
}
