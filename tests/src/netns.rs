//! Real-traffic harness for the veth tests: hosts in network namespaces,
//! each joined by a veth pair to a switch-side interface in the root
//! namespace, and a guard around an `xvs run` process that owns those
//! interfaces through AF_XDP.
//!
//! ```text
//!   netns xvs-t<pid>-<n>-h1          root namespace
//!   ┌──────────────────┐
//!   │ eth0 10.9.0.1/24 ├── veth ──── xt<pid><n>p0 ─┐
//!   └──────────────────┘                           ├── xvs run (AF_XDP)
//!   ┌──────────────────┐                           │
//!   │ eth0 10.9.0.2/24 ├── veth ──── xt<pid><n>p1 ─┘
//!   └──────────────────┘
//! ```
//!
//! Everything is named from the test process's pid and a per-process counter,
//! so concurrently running test binaries never collide, and everything is
//! removed again in `Drop` (also when a test panics). Namespaces left behind
//! by a test process that was killed outright are swept the next time a
//! topology is built.
//!
//! Host namespaces get IPv6 disabled (no ND/MLD/RS chatter that would refresh
//! FDB entries behind a test's back) and TX checksum offload off on `eth0`
//! (veth otherwise hands the switch CHECKSUM_PARTIAL frames, and TCP through a
//! userspace switch arrives with bad checksums).
//!
//! # Thread-safety
//!
//! Building topologies is safe from parallel tests (names are unique), but
//! tests that start a switch must hold [`serial`]: every switch pins a
//! poll-mode worker to the same CPU, and two of them on a 2-core machine
//! starve each other.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use crate::{scratch_dir, xvs_bin};

/// Debian's interpreter, the one python3-scapy is installed for (the
/// `python3` on PATH may be another one without scapy).
pub const SCAPY_PYTHON: &str = "/usr/bin/python3";

/// Prefix of every namespace this harness creates.
const NS_PREFIX: &str = "xvs-t";
/// Prefix of every switch-side interface this harness creates.
const IF_PREFIX: &str = "xt";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SERIAL: Mutex<()> = Mutex::new(());
static SWEEP: Once = Once::new();
static HOLD_HOOK: Once = Once::new();

/// True when running as root (the veth tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Prints why a test is skipped and returns true when not root.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("SKIP {test}: needs root (network namespaces, veth, AF_XDP)");
    true
}

/// Serialises the tests that run a switch (see the module docs). A test that
/// panicked while holding the lock does not poison it for the others.
///
/// With `XVS_TEST_HOLD=SECS` in the environment, a failing test first
/// sleeps that long (before anything is torn down), so its namespaces and
/// switch can be inspected by hand.
pub fn serial() -> MutexGuard<'static, ()> {
    HOLD_HOOK.call_once(|| {
        let Some(secs) = std::env::var("XVS_TEST_HOLD").ok().and_then(|s| s.parse::<u64>().ok()) else { return };
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            prev(info);
            eprintln!(
                "XVS_TEST_HOLD: holding the failed test's namespaces and switch for {secs} s (pid {})",
                std::process::id()
            );
            std::thread::sleep(Duration::from_secs(secs));
        }));
    });
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh number, unique in this process.
fn next_id() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Runs `cmd` and returns its output (never panics on a non-zero exit).
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `args` (program first) and panics with its stderr unless it succeeds.
/// Returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let out = output(Command::new(args[0]).args(&args[1..]));
    assert!(
        out.status.success(),
        "`{}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `args`, ignoring failure (for cleanup).
fn run_quiet(args: &[&str]) {
    let _ = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends `sig` to `pid`.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions; a stale pid is at
    // worst an ESRCH error, which is ignored.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Waits up to `timeout` for `child` to exit.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Polls `f` every `step` until it returns `Some` or `timeout` passes.
pub fn poll<T>(timeout: Duration, step: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(step);
    }
}

/// Mounts bpffs at /sys/fs/bpf in the root namespace unless it is there
/// (libxdp pins its dispatcher state there).
pub fn ensure_bpffs() {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if mounts.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 2 && f[1] == "/sys/fs/bpf" && f[2] == "bpf"
    }) {
        return;
    }
    let _ = std::fs::create_dir_all("/sys/fs/bpf");
    run_ok(&["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"]);
}

/// Detaches any XDP program (driver or generic hook) from `iface`, the
/// equivalent of what an operator does after a crash left one behind.
pub fn xdp_off(iface: &str) {
    run_quiet(&["ip", "link", "set", "dev", iface, "xdpgeneric", "off"]);
    run_quiet(&["ip", "link", "set", "dev", iface, "xdp", "off"]);
}

/// True when `ip link` shows an XDP program on `iface`.
pub fn xdp_attached(iface: &str) -> bool {
    let out = output(Command::new("ip").args(["-d", "link", "show", "dev", iface]));
    let s = String::from_utf8_lossy(&out.stdout);
    s.contains("prog/xdp")
}

/// Removes namespaces left by test processes that no longer exist (a test
/// binary killed with SIGKILL cannot run its destructors).
fn sweep_stale() {
    let out = output(Command::new("ip").args(["netns", "list"]));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let Some(rest) = name.strip_prefix(NS_PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        kill_ns_pids(name);
        run_quiet(&["ip", "netns", "del", name]);
    }
}

/// Kills every process still running in namespace `ns` (iperf3 servers,
/// captures), so deleting the namespace really frees it.
fn kill_ns_pids(ns: &str) {
    let out = output(Command::new("ip").args(["netns", "pids", ns]));
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
        signal(pid, libc::SIGKILL);
    }
}

/// How a host's switch port treats VLANs (becomes the `[[port]]` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Untagged frames in one VLAN.
    Access(u16),
    /// Tagged VLANs `allowed` (an `allowed_vlans` string such as `"10,20"`),
    /// with an optional native VLAN for untagged frames.
    Trunk {
        /// `allowed_vlans`.
        allowed: String,
        /// `native_vlan`.
        native: Option<u16>,
    },
    /// An underlay port (for a `[[vtep]]`): in no VLAN.
    Underlay,
}

impl PortMode {
    fn toml(&self) -> String {
        match self {
            PortMode::Access(v) => format!("mode = \"access\"\nvlan = {v}\n"),
            PortMode::Trunk { allowed, native } => {
                let mut s = format!("mode = \"trunk\"\nallowed_vlans = \"{allowed}\"\n");
                if let Some(n) = native {
                    let _ = writeln!(s, "native_vlan = {n}");
                }
                s
            }
            PortMode::Underlay => "mode = \"underlay\"\n".to_string(),
        }
    }
}

struct HostSpec {
    name: String,
    mode: PortMode,
    ip: Option<String>,
}

/// Builds a [`Topology`]; see [`Topology::builder`].
pub struct TopologyBuilder {
    hosts: Vec<HostSpec>,
    mtu: Option<u32>,
    queues: u32,
}

impl TopologyBuilder {
    /// Adds a host named `name` (also its switch port's name) whose port is
    /// in `mode`, with an optional IPv4 address in CIDR form
    /// (`"10.9.0.1/24"`). Hosts get the MACs `02:00:00:00:<n>:<i+1>` in
    /// order, where `<n>` is the topology's number in this process.
    pub fn host(mut self, name: &str, mode: PortMode, ip: Option<&str>) -> Self {
        self.hosts.push(HostSpec { name: name.to_string(), mode, ip: ip.map(str::to_string) });
        self
    }

    /// Gives every veth end `n` TX and `n` RX queues (default 1). The host's
    /// stack spreads flows over its TX queues by hash, and veth delivers
    /// each frame on the peer's RX queue of the same number.
    pub fn queues(mut self, n: u32) -> Self {
        self.queues = n.max(1);
        self
    }

    /// Sets the MTU of every veth end (hosts' and switch side).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Creates the namespaces and veth pairs. Whatever was created before a
    /// failure is removed again when the partial topology is dropped.
    pub fn build(self) -> Topology {
        SWEEP.call_once(sweep_stale);
        let pid = std::process::id();
        let n = next_id();
        let mut topo = Topology { hosts: Vec::new(), dir: scratch_dir(&format!("topo{n}")), queues: self.queues };
        let queues = self.queues.to_string();
        for (i, spec) in self.hosts.into_iter().enumerate() {
            let ns = format!("{NS_PREFIX}{pid}-{n}-{}", spec.name);
            let sw_if = format!("{IF_PREFIX}{pid:x}{n:02x}p{i}");
            assert!(sw_if.len() <= 15, "interface name {sw_if} is too long");
            let mac = format!("02:00:00:00:{:02x}:{:02x}", n & 0xff, i + 1);
            run_ok(&["ip", "netns", "add", &ns]);
            let host = Host {
                name: spec.name,
                ns,
                sw_if,
                mac,
                ip: spec.ip.as_deref().map(|c| c.split('/').next().unwrap_or(c).to_string()),
                mode: spec.mode,
            };
            let (ns, sw) = (host.ns.clone(), host.sw_if.clone());
            topo.hosts.push(host);
            run_ok(&[
                "ip",
                "link",
                "add",
                &sw,
                "numtxqueues",
                &queues,
                "numrxqueues",
                &queues,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "numtxqueues",
                &queues,
                "numrxqueues",
                &queues,
                "netns",
                &ns,
            ]);
            let h = topo.hosts.last().unwrap_or_else(|| unreachable!());
            // Quiet hosts: no IPv6 at all, so no ND/MLD/RS frames.
            h.run_ok(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
            h.run_ok(&["ip", "link", "set", "eth0", "address", &h.mac]);
            if let Some(mtu) = self.mtu {
                h.run_ok(&["ip", "link", "set", "eth0", "mtu", &mtu.to_string()]);
                run_ok(&["ip", "link", "set", &sw, "mtu", &mtu.to_string()]);
            }
            // Partial checksums would reach the other host unfinished.
            h.run_ok(&["ethtool", "-K", "eth0", "tx", "off"]);
            if let Some(cidr) = &spec.ip {
                h.run_ok(&["ip", "addr", "add", cidr, "dev", "eth0"]);
            }
            h.run_ok(&["ip", "link", "set", "lo", "up"]);
            h.run_ok(&["ip", "link", "set", "eth0", "up"]);
            // The switch side: no IPv6 either (the root namespace's stack
            // would otherwise talk to the hosts through it).
            run_quiet(&["sysctl", "-qw", &format!("net.ipv6.conf.{sw}.disable_ipv6=1")]);
            run_ok(&["ip", "link", "set", &sw, "up"]);
        }
        topo
    }
}

/// One host: a namespace whose `eth0` is cabled to switch port `name`.
#[derive(Debug)]
pub struct Host {
    /// Host name, also the name of its switch port.
    pub name: String,
    /// Network namespace.
    pub ns: String,
    /// Switch-side veth end, in the root namespace.
    pub sw_if: String,
    /// MAC of the host's `eth0`.
    pub mac: String,
    /// IPv4 address of `eth0`, without prefix length.
    pub ip: Option<String>,
    /// Its switch port's VLAN mode.
    pub mode: PortMode,
}

impl Host {
    /// A command running `prog` inside the host's namespace.
    pub fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, prog]);
        c
    }

    /// Runs `args` in the namespace and returns the output.
    pub fn exec(&self, args: &[&str]) -> Output {
        output(self.cmd(args[0]).args(&args[1..]))
    }

    /// Runs `args` in the namespace; panics unless it succeeds. Returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "[{}] `{}` failed ({}): {}{}",
            self.name,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The IPv4 address; panics for hosts built without one.
    pub fn ip(&self) -> &str {
        self.ip.as_deref().unwrap_or_else(|| panic!("host {} has no IP address", self.name))
    }

    /// `ping -c count -i 0.2 -W 1 [extra] dst`. Returns (replies, output).
    pub fn ping(&self, dst: &str, count: u32, extra: &[&str]) -> (u32, String) {
        let count = count.to_string();
        let mut args = vec!["ping", "-n", "-c", &count, "-i", "0.2", "-W", "1"];
        args.extend_from_slice(extra);
        args.push(dst);
        let out = self.exec(&args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (parse_received(&text), text)
    }

    /// Pins `ip` to `mac` in the host's ARP table (no ARP traffic for it).
    pub fn static_neigh(&self, ip: &str, mac: &str) {
        self.run_ok(&["ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "permanent"]);
    }

    /// The host's ARP entry for `ip`: (MAC if known, state), e.g.
    /// `(Some("02:..."), "REACHABLE")`.
    pub fn neigh(&self, ip: &str) -> (Option<String>, String) {
        let out = self.exec(&["ip", "neigh", "show", ip, "dev", "eth0"]);
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let words: Vec<&str> = s.split_whitespace().collect();
        let mac = words.iter().position(|w| *w == "lladdr").and_then(|i| words.get(i + 1)).map(|m| m.to_string());
        (mac, words.last().map(|w| w.to_string()).unwrap_or_default())
    }

    /// Sends frames with scapy's `sendp` from `eth0`. `frames` is a Python
    /// expression (a packet or a list of packets) evaluated after
    /// `from scapy.all import *`.
    pub fn scapy_send(&self, frames: &str) {
        let out = self.scapy_try_send(frames);
        assert!(
            out.status.success(),
            "[{}] scapy sendp failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Like [`Host::scapy_send`], but returns the outcome instead of
    /// asserting success (for frames the kernel should refuse).
    pub fn scapy_try_send(&self, frames: &str) -> Output {
        let script = format!(
            "import logging\nlogging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n\
             from scapy.all import *\nconf.verb = 0\nsendp({frames}, iface='eth0')\n"
        );
        self.exec(&[SCAPY_PYTHON, "-c", &script])
    }

    /// Starts tcpdump on `eth0` for frames the host receives (`-Q in`)
    /// matching the BPF `filter` (empty: everything), writing to `dir`.
    /// Returns once tcpdump reports it is listening.
    pub fn capture(&self, dir: &Path, filter: &str) -> Capture {
        capture_on(self, dir, "eth0", true, filter)
    }
}

/// tcpdump on `dev` in `host`'s namespace, for frames matching the BPF
/// `filter` (empty: everything), received only (`-Q in`) when `inbound`;
/// returns once tcpdump reports it is listening.
fn capture_on(host: &Host, dir: &Path, dev: &str, inbound: bool, filter: &str) -> Capture {
    let path = dir.join(format!("{}-{dev}-{}.pcap", host.name, next_id()));
    let path_s = path.display().to_string();
    // Immediate mode: without it libpcap hands frames over only when a
    // TPACKET_V3 block fills or its 1 s timer retires it, and frames in a
    // block that is not yet retired are lost when tcpdump stops.
    let mut args = vec!["-i", dev, "-nn", "--immediate-mode", "-U", "-Z", "root", "-w", &path_s];
    if inbound {
        args.extend(["-Q", "in"]);
    }
    if !filter.is_empty() {
        args.push(filter);
    }
    let mut child = host
        .cmd("tcpdump")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn tcpdump: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| unreachable!());
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    loop {
        match lines.next() {
            Some(Ok(l)) => {
                let ready = l.contains("listening on");
                seen.push_str(&l);
                seen.push('\n');
                if ready {
                    break;
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("[{}] tcpdump on {dev} did not start: {seen}", host.name);
            }
        }
    }
    // Keep draining stderr so tcpdump never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Capture { child: Some(child), path, host: host.name.clone() }
}

/// Number of replies in `ping`'s summary line.
pub fn parse_received(text: &str) -> u32 {
    text.lines()
        .find(|l| l.contains("packets transmitted"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|f| f.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A running tcpdump; [`Capture::finish`] stops it and returns the frames.
pub struct Capture {
    child: Option<Child>,
    path: PathBuf,
    host: String,
}

impl Capture {
    /// Stops the capture (after a short grace period for frames in flight)
    /// and returns the captured frames, VLAN tags reinserted by libpcap.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(mut child) = self.child.take() {
            signal(child.id(), libc::SIGINT);
            if wait_timeout(&mut child, Duration::from_secs(5)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("[{}] tcpdump did not stop on SIGINT", self.host);
            }
        }
        xvs_control::pcapio::read_capture(&self.path)
            .unwrap_or_else(|e| panic!("[{}] reading {}: {e}", self.host, self.path.display()))
            .into_iter()
            .map(|c| c.data)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A process started in a host namespace (an iperf3 server, a background
/// ping), killed when dropped.
pub struct Background {
    /// The child.
    pub child: Child,
}

impl Background {
    /// Spawns `args` in `host`'s namespace with stdout/stderr going to `log`.
    pub fn spawn(host: &Host, args: &[&str], log: &Path) -> Background {
        let f = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let f2 = f.try_clone().unwrap_or_else(|e| panic!("dup log: {e}"));
        let child = host
            .cmd(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .unwrap_or_else(|e| panic!("[{}] spawn {args:?}: {e}", host.name));
        Background { child }
    }

    /// Sends SIGINT and waits up to 5 s; returns the exit status.
    pub fn interrupt(&mut self) -> Option<ExitStatus> {
        signal(self.child.id(), libc::SIGINT);
        wait_timeout(&mut self.child, Duration::from_secs(5))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Hosts in namespaces, cabled to switch-side interfaces in the root
/// namespace. Dropping it removes everything it created.
pub struct Topology {
    hosts: Vec<Host>,
    dir: PathBuf,
    queues: u32,
}

impl Topology {
    /// Starts describing a topology.
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder { hosts: Vec::new(), mtu: None, queues: 1 }
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no host {name}"))
    }

    /// Every host, in the order they were added (= switch port order).
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// A scratch directory for this topology's captures and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for h in &self.hosts {
            kill_ns_pids(&h.ns);
            // Deleting the switch-side end deletes its peer too; deleting the
            // namespace covers a pair whose root end was never created.
            run_quiet(&["ip", "link", "del", &h.sw_if]);
            run_quiet(&["ip", "netns", "del", &h.ns]);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// How to run the switch; [`Default`] is the suite's usual setting.
#[derive(Clone, Debug)]
pub struct XvsOptions {
    /// `[dataplane] idle_backoff`; `false` is pure busy polling.
    pub idle_backoff: bool,
    /// `[fdb] aging_secs`.
    pub aging_secs: u32,
    /// `[dataplane] xdp_mode`.
    pub xdp_mode: &'static str,
    /// Small rings and UMEM (quick start-up); `false` keeps the defaults.
    pub small_rings: bool,
    /// Extra TOML appended to the file (e.g. `[[fdb.static]]` tables).
    pub extra: String,
    /// Poll-mode workers: 1 (pinned to CPU 1) or more (pinned to CPUs
    /// 0, 1, ...). Every port polls as many queues as the topology has.
    pub workers: usize,
    /// More `[control]` keys, one `key = value` per line
    /// (`metrics_listen`, `api_listen`...).
    pub control_extra: String,
}

impl Default for XvsOptions {
    fn default() -> Self {
        XvsOptions {
            idle_backoff: true,
            aging_secs: 300,
            xdp_mode: "auto",
            small_rings: true,
            extra: String::new(),
            workers: 1,
            control_extra: String::new(),
        }
    }
}

/// The CPU the poll-mode worker is pinned to: 1, leaving CPU 0 to the
/// kernel, the control thread and the traffic tools (0 on a 1-CPU machine).
fn worker_cpu() -> usize {
    if std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) > 1 {
        1
    } else {
        0
    }
}

/// The config file text for `topo` under `opts`, with its control socket at
/// `socket`.
pub fn config_toml(topo: &Topology, opts: &XvsOptions, socket: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# written by xvs-tests (tests/src/netns.rs)\n[switch]\nbatch_size = 32\n");
    let _ = writeln!(s, "[dataplane]\nxdp_mode = \"{}\"\nzero_copy = \"auto\"\nhugepages = \"off\"", opts.xdp_mode);
    if opts.small_rings {
        let _ = writeln!(s, "frames = 4096\nrx_ring = 512\ntx_ring = 512\nfill_ring = 1024\ncomp_ring = 1024");
    }
    let cpus = if opts.workers > 1 {
        (0..opts.workers).map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
    } else {
        worker_cpu().to_string()
    };
    let _ = writeln!(s, "worker_cpus = [{cpus}]\nidle_backoff = {}\nbusy_poll = true\n", opts.idle_backoff);
    let _ = writeln!(s, "[fdb]\naging_secs = {}\n", opts.aging_secs);
    for h in topo.hosts() {
        let _ = writeln!(
            s,
            "[[port]]\nname = \"{}\"\ninterface = \"{}\"\nqueues = {}\n{}",
            h.name,
            h.sw_if,
            topo.queues,
            h.mode.toml()
        );
    }
    let _ = writeln!(s, "[control]\nsocket = \"{}\"", socket.display());
    s.push_str(&opts.control_extra);
    s.push('\n');
    s.push_str(&opts.extra);
    s
}

/// Runs iperf3 for 3 s from `client` to a one-shot server on `server`
/// bound to `server_ip` (`extra` goes to the client), and returns the
/// client's JSON report.
pub fn iperf3(topo: &Topology, client: &Host, server: &Host, server_ip: &str, extra: &[&str]) -> serde_json::Value {
    let server_log = topo.dir().join(format!("iperf3-server-{}.log", next_id()));
    let mut srv = Background::spawn(server, &["iperf3", "-s", "-1", "-B", server_ip, "-p", "5201"], &server_log);
    let listening = poll(Duration::from_secs(5), Duration::from_millis(50), || {
        let out = server.exec(&["ss", "-Hltn", "sport = :5201"]);
        (!out.stdout.is_empty()).then_some(())
    });
    assert!(
        listening.is_some(),
        "iperf3 server did not listen: {}",
        std::fs::read_to_string(&server_log).unwrap_or_default()
    );
    let mut args = vec!["iperf3", "-c", server_ip, "-p", "5201", "-t", "3", "-J"];
    args.extend_from_slice(extra);
    let out = client.exec(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "iperf3 client failed ({}): {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = wait_timeout(&mut srv.child, Duration::from_secs(3));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("iperf3 -J output ({e}): {text}"))
}

/// A running `xvs run`. Dropping it stops the switch with SIGTERM and
/// asserts that it exits within a few seconds; the switch's log is printed
/// whenever something fails.
pub struct Xvs {
    child: Option<Child>,
    /// Control socket.
    pub socket: PathBuf,
    /// Config file.
    pub config: PathBuf,
    /// stdout + stderr of every start, appended.
    pub log: PathBuf,
    ifaces: Vec<String>,
    starts: u32,
    /// Time from spawn to the control API answering, for the last start.
    pub startup: Duration,
}

/// Seconds a stopped switch may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Seconds a switch may take to answer its control API after spawning.
const START_TIMEOUT: Duration = Duration::from_secs(20);

impl Xvs {
    /// Writes the config for `topo` and starts the switch on its
    /// switch-side interfaces; returns once `xvs stats` answers.
    pub fn start(topo: &Topology, opts: &XvsOptions) -> Xvs {
        ensure_bpffs();
        let n = next_id();
        let socket = PathBuf::from(format!("/run/xvs-test-{}-{n}.sock", std::process::id()));
        let config = topo.dir().join(format!("xvs-{n}.toml"));
        std::fs::write(&config, config_toml(topo, opts, &socket)).unwrap_or_else(|e| panic!("write config: {e}"));
        let log = topo.dir().join(format!("xvs-{n}.log"));
        let mut x = Xvs {
            child: None,
            socket,
            config,
            log,
            ifaces: topo.hosts().iter().map(|h| h.sw_if.clone()).collect(),
            starts: 0,
            startup: Duration::ZERO,
        };
        x.spawn(true);
        x
    }

    /// Starts the stopped switch again with the same config, on the same
    /// interfaces, without cleaning them first: a clean stop must have left
    /// nothing behind that makes the second start fail (EBUSY).
    pub fn start_again(&mut self) {
        self.spawn(false);
    }

    fn spawn(&mut self, clean: bool) {
        assert!(self.child.is_none(), "xvs is already running");
        if clean {
            // A program left by a crashed run would make the attach fail
            // (EBUSY).
            for i in &self.ifaces {
                xdp_off(i);
            }
        }
        self.starts += 1;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log.display()));
        let _ = std::io::Write::write_all(&mut f, format!("==== xvs start #{} ====\n", self.starts).as_bytes());
        let f2 = f.try_clone().unwrap_or_else(|e| panic!("dup log: {e}"));
        // Build (or find) the binary before the start-up clock runs.
        let bin = xvs_bin();
        let t0 = Instant::now();
        let child = Command::new(bin)
            .args(["run", "-c"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn xvs: {e}"));
        self.child = Some(child);
        loop {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                panic!("xvs exited during start-up ({st}); log:\n{}", self.log_text());
            }
            let out = output(Command::new(xvs_bin()).arg("stats").arg("--socket").arg(&self.socket).arg("--json"));
            if out.status.success() {
                break;
            }
            if t0.elapsed() > START_TIMEOUT {
                panic!(
                    "xvs did not answer on {} within {START_TIMEOUT:?}; log:\n{}",
                    self.socket.display(),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.startup = t0.elapsed();
    }

    /// The process id of the running switch.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the switch with SIGTERM, asserts that it exits successfully
    /// within [`STOP_TIMEOUT`], and that no XDP program is left on its
    /// interfaces. Returns how long the exit took.
    pub fn stop(&mut self) -> Duration {
        let Some(mut child) = self.child.take() else { panic!("xvs is not running") };
        let t0 = Instant::now();
        signal(child.id(), libc::SIGTERM);
        let Some(st) = wait_timeout(&mut child, STOP_TIMEOUT) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("xvs did not exit within {STOP_TIMEOUT:?} of SIGTERM; log:\n{}", self.log_text());
        };
        let took = t0.elapsed();
        assert!(st.success(), "xvs exited with {st} after SIGTERM; log:\n{}", self.log_text());
        let left: Vec<&String> = self.ifaces.iter().filter(|i| xdp_attached(i)).collect();
        assert!(left.is_empty(), "XDP program(s) still attached after xvs exited: {left:?}; log:\n{}", self.log_text());
        assert!(!self.socket.exists(), "xvs left its control socket {} behind", self.socket.display());
        took
    }

    /// Runs `xvs ARGS --socket S` and returns the output.
    pub fn cli(&self, args: &[&str]) -> Output {
        output(Command::new(xvs_bin()).args(args).arg("--socket").arg(&self.socket))
    }

    /// Runs `xvs ARGS --socket S --json`, panicking unless it succeeds, and
    /// parses the JSON it prints.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = output(Command::new(xvs_bin()).args(args).arg("--socket").arg(&self.socket).arg("--json"));
        assert!(
            out.status.success(),
            "`xvs {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("`xvs {}` printed no JSON ({e}): {}", args.join(" "), String::from_utf8_lossy(&out.stdout))
        })
    }

    /// `xvs fdb show --json` entries.
    pub fn fdb(&self) -> Vec<serde_json::Value> {
        self.json(&["fdb", "show"])["entries"].as_array().cloned().unwrap_or_default()
    }

    /// `xvs stats --json`.
    pub fn stats(&self) -> serde_json::Value {
        self.json(&["stats"])
    }
}

impl Drop for Xvs {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            if std::thread::panicking() {
                eprintln!("---- xvs log ({}) ----\n{}", self.log.display(), self.log_text());
            }
            return;
        };
        signal(child.id(), libc::SIGTERM);
        let exited = wait_timeout(&mut child, STOP_TIMEOUT);
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- xvs log ({}) ----\n{}", self.log.display(), self.log_text());
            return;
        }
        match exited {
            None => panic!("xvs did not exit within {STOP_TIMEOUT:?} of SIGTERM; log:\n{}", self.log_text()),
            Some(st) if !st.success() => panic!("xvs exited with {st} after SIGTERM; log:\n{}", self.log_text()),
            Some(_) => {}
        }
    }
}

/// Joins the underlay hosts `a` and `b` (of two topologies, so on the
/// ports of two switches) into one L2 segment: a veth pair `ul0` between
/// their namespaces, and in each namespace a bridge `br0` over `eth0` and
/// `ul0`, without STP or an address (the namespaces' IPv6 is off already),
/// so that what one switch sends on its underlay port reaches the other's.
/// The pair goes when the namespaces are deleted.
pub fn join_underlays(a: &Host, b: &Host) {
    run_ok(&["ip", "link", "add", "ul0", "netns", &a.ns, "type", "veth", "peer", "name", "ul0", "netns", &b.ns]);
    for h in [a, b] {
        h.run_ok(&["ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"]);
        for dev in ["eth0", "ul0"] {
            h.run_ok(&["ip", "link", "set", dev, "master", "br0"]);
            h.run_ok(&["ip", "link", "set", dev, "up"]);
        }
        h.run_ok(&["ip", "link", "set", "br0", "up"]);
    }
}

/// Like [`Host::capture`], but on the namespace's device `dev` and in both
/// directions (for a link such as [`join_underlays`]'s `ul0`, which frames
/// cross both ways).
pub fn capture_dev(host: &Host, dir: &Path, dev: &str, filter: &str) -> Capture {
    capture_on(host, dir, dev, false, filter)
}
