//! VXLAN interop with Open vSwitch: `xvs run` on AF_XDP (veth) as one VTEP,
//! Open vSwitch 3.1's userspace datapath (`datapath_type=netdev`, no kernel
//! module) in a namespace on xvs's underlay as the other.
//!
//! ```text
//!                                    netns "peer": ovs-vswitchd (userspace)
//!   h1 10.10.0.1 ── xvs ──────────── eth0 (afxdp) ── br-underlay 192.168.100.2
//!   (VLAN 10)   VTEP 192.168.100.1                   br-int ── vx100 (VNI 100)
//!                                                           └─ int0 10.10.0.100
//! ```
//!
//! OVS owns the peer's `eth0` through its own AF_XDP socket (`type=afxdp`),
//! so both ends of the underlay veth are AF_XDP. Both VTEPs resolve each
//! other with ARP: xvs asks for 192.168.100.2, which the kernel answers on
//! br-underlay's internal port; OVS's tunnel code asks for 192.168.100.1,
//! which xvs answers. Neither `nexthop_mac` nor `ovs-appctl tnl/arp/set` is
//! used. The ovsdb-server and ovs-vswitchd run in a private directory and
//! are stopped (and the directory removed) by a guard, also on panic.
//!
//! Needs root (skips without it) and Open vSwitch (fails without it:
//! `scripts/install-deps.sh` installs `openvswitch-switch`).
//!
//! Run it: `cargo test --release -p xvs-tests --test ovs -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use xvs_tests::netns::{iperf3, poll, serial, signal, skip_unless_root, Host, PortMode, Topology, Xvs, XvsOptions};

const VTEP: &str = "192.168.100.1";
const OVS_VTEP: &str = "192.168.100.2";
const H1: &str = "10.10.0.1";
const OVS_HOST: &str = "10.10.0.100";
/// The tunnel port xvs learns OVS's MACs on.
const TUNNEL_PORT: &str = "vxlan100@192.168.100.2";

/// The switch's overlay: our VTEP on port "peer", VLAN 10 ↔ VNI 100
/// towards OVS. No `nexthop_mac`: xvs resolves OVS with ARP.
const OVERLAY: &str = r#"
[[vtep]]
name = "vtep0"
port = "peer"
address = "192.168.100.1/24"

[[vni]]
vni = 100
vlan = 10
remotes = ["192.168.100.2"]
"#;

/// The Open vSwitch programs the test runs.
const OVS_TOOLS: [&str; 6] = ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ovs-ofctl"];
const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// Finds `tool` on PATH or in the usual system directories (ovs-vswitchd
/// and ovsdb-server live in /usr/sbin, which a user's PATH may lack).
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file());
    found
}

/// Panics (the test must not skip: the install script provides OVS) unless
/// every OVS program and the database schema are installed.
fn require_ovs() -> Vec<(&'static str, PathBuf)> {
    let mut found = Vec::new();
    for t in OVS_TOOLS {
        let p = find_tool(t).unwrap_or_else(|| {
            panic!("Open vSwitch is not installed ({t} not found): run scripts/install-deps.sh (openvswitch-switch)")
        });
        found.push((t, p));
    }
    assert!(
        Path::new(OVS_SCHEMA).is_file(),
        "Open vSwitch is not installed ({OVS_SCHEMA} missing): run scripts/install-deps.sh (openvswitch-switch)"
    );
    found
}

/// A private Open vSwitch in a host's namespace: ovsdb-server and
/// ovs-vswitchd with their database, sockets, pid files and logs in `dir`.
/// Dropping it stops both daemons (with `exit --cleanup`, then SIGKILL for
/// whatever is left), and removes `dir`; on panic it prints the OVS state
/// and log first.
struct Ovs {
    dir: PathBuf,
    ns: String,
    tools: Vec<(&'static str, PathBuf)>,
}

impl Ovs {
    /// A command running OVS program `tool` in the namespace, with the
    /// private directory as OVS's run, log and database directory.
    fn cmd(&self, tool: &str) -> Command {
        let bin = self.tools.iter().find(|(t, _)| *t == tool).map(|(_, p)| p.clone());
        let bin = bin.unwrap_or_else(|| PathBuf::from(tool));
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(bin);
        for var in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"] {
            c.env(var, &self.dir);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs `tool args`; `None` if it cannot even be started (never
    /// panics, for the guard's `Drop`).
    fn try_exec(&self, tool: &str, args: &[&str]) -> Option<Output> {
        self.cmd(tool).args(args).output().ok()
    }

    fn exec(&self, tool: &str, args: &[&str]) -> Output {
        self.try_exec(tool, args).unwrap_or_else(|| panic!("cannot run {tool}"))
    }

    /// Runs `tool args`, panicking with its output unless it succeeds (the
    /// guard then prints OVS's state and log). Returns stdout.
    fn run_ok(&self, tool: &str, args: &[&str]) -> String {
        let out = self.exec(tool, args);
        assert!(
            out.status.success(),
            "`{tool} {}` failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn db(&self) -> String {
        format!("unix:{}", self.dir.join("db.sock").display())
    }

    fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.db());
        let mut a = vec![db.as_str(), "--timeout=10"];
        a.extend_from_slice(args);
        self.run_ok("ovs-vsctl", &a)
    }

    fn appctl(&self, args: &[&str]) -> String {
        let mut a = vec!["--timeout=10"];
        a.extend_from_slice(args);
        self.run_ok("ovs-appctl", &a)
    }

    fn ofctl(&self, args: &[&str]) -> String {
        let mut a = vec!["--timeout=10"];
        a.extend_from_slice(args);
        self.run_ok("ovs-ofctl", &a)
    }

    /// Creates the database and starts both daemons (detached, in `host`'s
    /// namespace). The guard exists before the first daemon does, so a
    /// failure half-way still cleans up.
    fn start(host: &Host, tools: Vec<(&'static str, PathBuf)>) -> Ovs {
        let dir = std::env::temp_dir().join(format!("xvs-test-ovs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let ovs = Ovs { dir, ns: host.ns.clone(), tools };
        let d = ovs.dir.display().to_string();
        ovs.run_ok("ovsdb-tool", &["create", &format!("{d}/conf.db"), OVS_SCHEMA]);
        ovs.run_ok(
            "ovsdb-server",
            &[&format!("{d}/conf.db"), &format!("--remote=punix:{d}/db.sock"), "--pidfile", "--detach", "--log-file"],
        );
        ovs.vsctl(&["--no-wait", "init"]);
        // One PMD thread, on CPU 0 (xvs's worker busy-polls CPU 1), that
        // sleeps up to 500 us when its queues are idle instead of spinning.
        ovs.vsctl(&["--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1"]);
        ovs.vsctl(&["--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-maxsleep=500"]);
        // `ip netns exec` remounts /sys without bpffs, where libxdp (in
        // OVS's afxdp netdev) pins its multi-program dispatcher. On this
        // kernel the dispatcher does not load (EPERM) and libxdp falls back
        // to a single program, which needs no bpffs, but where it loads it
        // does. The mount lives in ovs-vswitchd's mount namespace only.
        let out = Command::new("ip")
            .args(["netns", "exec", &ovs.ns, "sh", "-c"])
            .arg("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec \"$@\"")
            .arg("sh")
            .arg(ovs.tools.iter().find(|(t, _)| *t == "ovs-vswitchd").map(|(_, p)| p.clone()).unwrap_or_default())
            .args([&ovs.db(), "--pidfile", "--detach", "--log-file"])
            .envs(["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"].map(|v| (v, &ovs.dir)))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ovs-vswitchd: {e}"));
        assert!(
            out.status.success(),
            "ovs-vswitchd did not start ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ovs
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The pid in `NAME.pid`, if the daemon wrote one.
    fn pid(&self, daemon: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("{daemon}.pid"))).ok()?.trim().parse().ok()
    }

    /// What went wrong, as far as OVS can tell (printed on panic).
    fn dump_state(&self) {
        let show = |tool: &str, args: &[&str]| {
            let Some(out) = self.try_exec(tool, args) else { return };
            eprintln!(
                "---- {tool} {} ----\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let db = format!("--db={}", self.db());
        show("ovs-vsctl", &[&db, "--timeout=5", "show"]);
        show("ovs-vsctl", &[&db, "--timeout=5", "list", "interface"]);
        for br in ["br-underlay", "br-int"] {
            show("ovs-ofctl", &["--timeout=5", "dump-ports", br]);
            show("ovs-ofctl", &["--timeout=5", "dump-flows", br]);
        }
        show("ovs-appctl", &["--timeout=5", "dpctl/dump-flows"]);
        show("ovs-appctl", &["--timeout=5", "tnl/arp/show"]);
        show("ovs-appctl", &["--timeout=5", "ovs/route/show"]);
        show("ovs-appctl", &["--timeout=5", "coverage/show"]);
        let log = self.log("ovs-vswitchd.log");
        let tail: Vec<&str> = log.lines().rev().take(80).collect();
        eprintln!("---- ovs-vswitchd.log (last 80 lines) ----");
        for l in tail.into_iter().rev() {
            eprintln!("{l}");
        }
    }
}

/// True while `pid` runs (a zombie waiting for init counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|s| s.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_state();
        }
        let pids: Vec<u32> = ["ovs-vswitchd", "ovsdb-server"].iter().filter_map(|d| self.pid(d)).collect();
        // The orderly way: vswitchd removes its datapath ports (and the
        // XDP program on eth0) and its internal tap devices.
        let _ = self.try_exec("ovs-appctl", &["--timeout=5", "-t", "ovs-vswitchd", "exit", "--cleanup"]);
        let _ = self.try_exec("ovs-appctl", &["--timeout=5", "-t", "ovsdb-server", "exit"]);
        for pid in pids {
            if poll(Duration::from_secs(3), Duration::from_millis(20), || (!alive(pid)).then_some(())).is_none() {
                eprintln!("ovs: pid {pid} did not exit; killing it");
                signal(pid, libc::SIGKILL);
                let _ = poll(Duration::from_secs(2), Duration::from_millis(20), || (!alive(pid)).then_some(()));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn counter(stats: &Value, section: &str, name: &str) -> u64 {
    stats[section][name].as_u64().unwrap_or_else(|| panic!("no counter {section}.{name} in {}", stats[section]))
}

/// `(rx packets, tx packets)` from `ovs-ofctl dump-ports BR PORT`.
fn ofctl_port_packets(text: &str) -> (u64, u64) {
    let field = |dir: &str| {
        let key = format!("{dir} pkts=");
        text.find(&key)
            .map(|i| &text[i + key.len()..])
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("rx"), field("tx"))
}

/// The peer's OVS setup: br-underlay with the peer's eth0 (AF_XDP) and
/// 192.168.100.2 on its internal port; br-int with a VXLAN port towards
/// xvs (VNI 100) and an internal port int0 with 10.10.0.100. Returns int0's
/// MAC.
fn configure(ovs: &Ovs, peer: &Host) -> String {
    let types = ovs.vsctl(&["get", "Open_vSwitch", ".", "iface_types"]);
    assert!(types.contains("afxdp"), "this OVS has no afxdp netdev: {types}");
    ovs.vsctl(&["add-br", "br-underlay", "--", "set", "bridge", "br-underlay", "datapath_type=netdev"]);
    ovs.vsctl(&[
        "add-port",
        "br-underlay",
        "eth0",
        "--",
        "set",
        "interface",
        "eth0",
        "type=afxdp",
        "options:xdp-mode=native",
        "options:n_rxq=1",
    ]);
    let err = ovs.vsctl(&["get", "interface", "eth0", "error"]);
    assert!(err.trim().is_empty() || err.trim() == "[]", "OVS could not open eth0 with AF_XDP: {err}");
    peer.run_ok(&["ip", "addr", "add", &format!("{OVS_VTEP}/24"), "dev", "br-underlay"]);
    peer.run_ok(&["ip", "link", "set", "br-underlay", "up"]);

    ovs.vsctl(&["add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev"]);
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vx100",
        "--",
        "set",
        "interface",
        "vx100",
        "type=vxlan",
        &format!("options:remote_ip={VTEP}"),
        "options:key=100",
    ]);
    // int0 leaves room for the 50 bytes of VXLAN, like h1: OVS's
    // userspace tunnels do not fragment.
    ovs.vsctl(&["add-port", "br-int", "int0", "--", "set", "interface", "int0", "type=internal", "mtu_request=1450"]);
    peer.run_ok(&["ip", "addr", "add", &format!("{OVS_HOST}/24"), "dev", "int0"]);
    peer.run_ok(&["ip", "link", "set", "int0", "up"]);
    peer.run_ok(&["cat", "/sys/class/net/int0/address"]).trim().to_string()
}

/// Pings `to` from `from` `count` times, 0.2 s apart, and returns the
/// sequence numbers that got no reply, with ping's output. A reply may be
/// late (up to ping's deadline, about 4 s after the last request) but not
/// missing:
/// plain `ping -c` gives up 2 RTTs after its last request, and on a loaded
/// 2-core machine (the worker's CPU shared with other busy pollers) a reply
/// can be a few hundred ms late without anything being lost. With `-w`,
/// ping keeps listening until `count` replies are in or the deadline
/// passes (sending a few more requests meanwhile, whose replies are not
/// counted here).
fn ping_seqs(from: &Host, to: &str, count: u32) -> (Vec<u32>, String) {
    let (c, w) = (count.to_string(), (count / 5 + 4).to_string());
    let out = from.exec(&["ping", "-n", "-c", &c, "-i", "0.2", "-W", "1", "-w", &w, to]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let answered: Vec<u32> = text
        .lines()
        .filter(|l| l.contains(" bytes from "))
        .filter_map(|l| l.split("icmp_seq=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    ((1..=count).filter(|s| !answered.contains(s)).collect(), text)
}

/// Pings until one reply comes back (ARP on both sides of the tunnel, and
/// OVS's first datapath flows, take the first moments), then asserts that
/// every one of `count` pings is answered.
fn ping_through(xvs: &Xvs, from: &Host, to: &str, count: u32) {
    let warm =
        poll(Duration::from_secs(10), Duration::from_millis(100), || (from.ping(to, 1, &[]).0 == 1).then_some(()));
    let (missing, out) = ping_seqs(from, to, count);
    if warm.is_none() || !missing.is_empty() {
        let st = xvs.stats();
        panic!(
            "{} -> {to}: no reply to icmp_seq {missing:?} of 1..={count} (warm-up {})\n{out}\nFDB: {:#?}\n\
             tunnels: {:#}\npipeline: {}\ndrops: {}",
            from.name,
            if warm.is_some() { "answered" } else { "never answered" },
            xvs.fdb(),
            xvs.json(&["tunnel", "list"]),
            st["pipeline"],
            st["drops"]
        );
    }
}

/// Runs iperf3 (3 s of TCP) and asserts that data crossed; prints the rate.
fn tcp(topo: &Topology, client: &Host, server: &Host, server_ip: &str, what: &str) {
    let v = iperf3(topo, client, server, server_ip, &[]);
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    eprintln!("iperf3 TCP {what}: {:.2} Gbit/s, {bytes} bytes", bps / 1e9);
    assert!(bytes > 1_000_000, "{what}: too little data over the tunnel: {}", v["end"]);
}

/// Ping and TCP in both directions between h1 (behind xvs) and int0
/// (behind OVS); each VTEP resolves the other by ARP; xvs learns int0's
/// MAC on the tunnel port; both sides count the VXLAN packets.
#[test]
fn vxlan_interop_with_open_vswitch_userspace() {
    if skip_unless_root("vxlan_interop_with_open_vswitch_userspace") {
        return;
    }
    let tools = require_ovs();
    let _serial = serial();
    // Build the switch first (it may wait for cargo's lock), so the clock
    // measures the test itself.
    let _ = xvs_tests::xvs_bin();
    let t0 = Instant::now();
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.10.0.1/24"))
        .host("peer", PortMode::Underlay, None)
        .build();
    let (h1, peer) = (topo.host("h1"), topo.host("peer"));
    h1.run_ok(&["ip", "link", "set", "eth0", "mtu", "1450"]);
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, extra: OVERLAY.into(), ..XvsOptions::default() });
    let ovs = Ovs::start(peer, tools);
    let int0_mac = configure(&ovs, peer);
    let br_underlay_mac = peer.run_ok(&["cat", "/sys/class/net/br-underlay/address"]).trim().to_string();
    let xvs_mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", peer.sw_if)).unwrap_or_default();
    let xvs_mac = xvs_mac.trim();
    eprintln!("OVS up after {:.1} s", t0.elapsed().as_secs_f64());

    // OVS's side speaks first: int0's ARP for h1 is the first frame into
    // the tunnel, so OVS must resolve xvs's VTEP itself, and xvs resolves
    // OVS's when h1's answer goes back. Then ping from h1.
    ping_through(&xvs, peer, H1, 10);
    ping_through(&xvs, h1, OVS_HOST, 10);

    // OVS resolves xvs's VTEP by its own ARP request, which xvs answers.
    // OVS may already have the entry from snooping, so make it ask: flush
    // its tunnel neighbour cache and its datapath flows (cached megaflows
    // would otherwise keep using the old tunnel header, and would carry the
    // new ARP reply past the snooping code: OVS only learns in upcalls).
    // Nothing is ever pinned with tnl/arp/set.
    let replies_before = counter(&xvs.stats(), "pipeline", "underlay_replies");
    // Any ARP frame from xvs's VTEP (its own refresh of OVS's address) that
    // upcalls between the flush and the check is snooped again, so flush
    // until the cache is seen empty.
    let mut flushed = String::new();
    for _ in 0..10 {
        ovs.appctl(&["dpctl/del-flows"]);
        ovs.appctl(&["tnl/neigh/flush"]);
        flushed = ovs.appctl(&["tnl/arp/show"]);
        if !flushed.contains(VTEP) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!flushed.contains(VTEP), "tnl/neigh/flush left {VTEP} ten times:\n{flushed}");
    ping_through(&xvs, peer, H1, 5);
    let arp = ovs.appctl(&["tnl/arp/show"]);
    assert!(
        arp.lines().any(|l| l.contains(VTEP) && l.contains(xvs_mac)),
        "OVS's tunnel ARP cache has no {VTEP} -> {xvs_mac}:\n{arp}"
    );
    let replies = counter(&xvs.stats(), "pipeline", "underlay_replies");
    assert!(replies > replies_before, "xvs answered no ARP request from OVS ({replies_before} -> {replies})");
    eprintln!("OVS re-resolved {VTEP} by ARP; xvs's underlay replies {replies_before} -> {replies}");

    // TCP both ways: h1 to a server behind OVS, and OVS's side to h1.
    tcp(&topo, h1, peer, OVS_HOST, "h1 -> OVS through xvs VXLAN");
    tcp(&topo, peer, h1, H1, "OVS -> h1 through xvs VXLAN");

    // xvs learned int0 behind OVS's VTEP.
    let fdb = xvs.fdb();
    let entry = fdb.iter().find(|e| e["mac"] == int0_mac).unwrap_or_else(|| panic!("int0 {int0_mac} not in {fdb:#?}"));
    assert_eq!((entry["port"].as_str(), entry["vlan"].as_u64()), (Some(TUNNEL_PORT), Some(10)), "{entry}");

    // xvs resolved OVS's VTEP by its own ARP: the answer came from the
    // kernel behind br-underlay's internal port, with that port's MAC.
    let tl = xvs.json(&["tunnel", "list"]);
    let t100 = tl["tunnels"].as_array().and_then(|a| a.iter().find(|t| t["vni"] == 100)).cloned().unwrap_or_default();
    assert_eq!(t100["next_hop"]["mac"].as_str(), Some(br_underlay_mac.as_str()), "{tl:#}");
    assert_eq!(t100["next_hop"]["static"].as_bool(), Some(false), "{tl:#}");

    // OVS's VXLAN port counted packets both ways, and its datapath popped
    // and pushed the tunnel headers in userspace.
    let ports = ovs.ofctl(&["dump-ports", "br-int", "vx100"]);
    let (rx, tx) = ofctl_port_packets(&ports);
    assert!(rx > 1000 && tx > 1000, "OVS's vx100 counters: rx {rx}, tx {tx}:\n{ports}");
    eprintln!("OVS vx100: rx {rx} packets, tx {tx} packets");
    // Its datapath flows pop VXLAN (VNI 100 from xvs) and push it with a
    // header towards xvs's VTEP MAC, both in userspace.
    let dp = ovs.appctl(&["dpctl/dump-flows"]);
    assert!(
        dp.lines().any(|l| l.contains("tunnel(tun_id=0x64,src=192.168.100.1,dst=192.168.100.2")),
        "no datapath flow for VNI 100 from xvs:\n{dp}"
    );
    assert!(dp.contains("tnl_pop("), "no tnl_pop in OVS's datapath flows:\n{dp}");
    assert!(
        dp.lines()
            .any(|l| l.contains("tnl_push(") && l.contains(&format!("eth(dst={xvs_mac},")) && l.contains("vni=0x64")),
        "no tnl_push towards xvs's MAC with VNI 100 in OVS's datapath flows:\n{dp}"
    );
    let coverage = ovs.appctl(&["coverage/show"]);
    let pop_errors = coverage.lines().find(|l| l.starts_with("datapath_drop_tunnel_pop_error"));
    assert!(pop_errors.is_none(), "OVS dropped tunnel packets it could not pop: {pop_errors:?}");

    let st = xvs.stats();
    assert!(counter(&st, "pipeline", "arp_requests") >= 1, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "encapsulated") > 1000, "{}", st["pipeline"]);
    assert!(counter(&st, "pipeline", "decapsulated") > 1000, "{}", st["pipeline"]);
    assert!(
        t100["tx_packets"].as_u64().unwrap_or(0) > 1000 && t100["rx_packets"].as_u64().unwrap_or(0) > 1000,
        "{t100}"
    );
    eprintln!("vxlan_interop_with_open_vswitch_userspace: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn ofctl_port_packets_parses_dump_ports() {
    let text = "OFPST_PORT reply (xid=0x4): 1 ports\n  port  vx100: rx pkts=1234, bytes=99, drop=0, errs=0, \
                frame=0, over=0, crc=0\n           tx pkts=567, bytes=88, drop=0, errs=0, coll=0\n";
    assert_eq!(ofctl_port_packets(text), (1234, 567));
    assert_eq!(ofctl_port_packets(""), (0, 0));
}
