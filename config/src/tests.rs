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
        ]
    );
    assert!(c.spec.ports.iter().all(|p| p.bridge == 0 && p.mac_limit.is_none()));
    assert_eq!(c.ports.len(), 4);
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
    let text = c.to_toml_string();
    assert_eq!(ok(&text), c, "canonical text:\n{text}");
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
    assert_eq!(msg, r#"port[2] "h3": mode = "hybrid" is not one of: access, trunk, dot1q-tunnel"#);
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
    assert_eq!(blocks, 2);
}
