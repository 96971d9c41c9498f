//! Test topology helpers: fresh network namespaces joined by veth pairs,
//! always removed again (the guard's `Drop` runs on panic too).
//!
//! ```text
//!   ns h0            ns sw (switch)            ns h1
//!   xh0-ID  <-veth->  xs0-ID ... xs1-ID  <-veth->  xh1-ID
//!   10.99.0.1/24                                    10.99.0.2/24
//! ```
//!
//! The test thread enters `sw` with setns(2) so AF_XDP sockets bind there;
//! worker threads it spawns inherit that namespace.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Serialises the topology tests of one test binary: each runs a busy-polling
/// worker and a generator, and on a 2-core machine running them side by side
/// only measures the scheduler.
static TOPO_LOCK: Mutex<()> = Mutex::new(());

/// True when the test can create namespaces and AF_XDP sockets. Prints why
/// not otherwise.
pub fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED: this test needs root (network namespaces, veth, AF_XDP)");
    }
    root
}

pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    out
}

pub fn must(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn no_ipv6(ns: &str) {
    for k in ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"] {
        run(&["ip", "netns", "exec", ns, "sysctl", "-qw", k]);
    }
}

/// A stop flag for worker threads that is raised when dropped, so a failing
/// assertion does not leave a busy-polling worker spinning.
pub struct StopFlag(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag(Default::default())
    }

    pub fn flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.0.clone()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.stop();
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct Topo {
    pub id: String,
    pub sw: String,
    pub hosts: Vec<String>,
    /// Switch-side interface names, in the `sw` namespace.
    pub sw_if: Vec<String>,
    /// Host-side interface names, host i in namespace `hosts[i]`.
    pub host_if: Vec<String>,
    /// The namespace the test thread was in before entering `sw`.
    orig_ns: Option<File>,
    /// Held until the topology is gone (fields drop after `Drop::drop`).
    _serial: MutexGuard<'static, ()>,
}

impl Topo {
    /// Builds `n` host namespaces, each linked to the switch namespace by a
    /// veth pair with `queues` queues, host i at 10.99.0.(i+1)/24.
    pub fn new(n: usize, queues: u32) -> Topo {
        // A test that failed while holding the lock poisons it; the topology
        // it guarded was still cleaned up, so carry on.
        let serial = TOPO_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let id = format!("{}{}", std::process::id() % 100_000, SEQ.fetch_add(1, Ordering::Relaxed));
        let t = Topo {
            sw: format!("xvs-sw-{id}"),
            hosts: (0..n).map(|i| format!("xvs-h{i}-{id}")).collect(),
            sw_if: (0..n).map(|i| format!("xs{i}-{id}")).collect(),
            host_if: (0..n).map(|i| format!("xh{i}-{id}")).collect(),
            id,
            orig_ns: None,
            _serial: serial,
        };
        // From here on Drop cleans up whatever was created.
        must(&["ip", "netns", "add", &t.sw]);
        // IPv6 off everywhere: no ND/MLD chatter to disturb exact counts.
        no_ipv6(&t.sw);
        for i in 0..n {
            must(&["ip", "netns", "add", &t.hosts[i]]);
            no_ipv6(&t.hosts[i]);
            let q = queues.to_string();
            must(&[
                "ip",
                "link",
                "add",
                &t.sw_if[i],
                "netns",
                &t.sw,
                "numtxqueues",
                &q,
                "numrxqueues",
                &q,
                "type",
                "veth",
                "peer",
                "name",
                &t.host_if[i],
                "netns",
                &t.hosts[i],
                "numtxqueues",
                &q,
                "numrxqueues",
                &q,
            ]);
            must(&["ip", "-n", &t.sw, "link", "set", &t.sw_if[i], "up"]);
            let addr = format!("10.99.0.{}/24", i + 1);
            must(&["ip", "-n", &t.hosts[i], "addr", "add", &addr, "dev", &t.host_if[i]]);
            must(&["ip", "-n", &t.hosts[i], "link", "set", &t.host_if[i], "up"]);
            must(&["ip", "-n", &t.hosts[i], "link", "set", "lo", "up"]);
            // Partial checksums would otherwise cross the switch unfinished.
            run(&["ip", "netns", "exec", &t.hosts[i], "ethtool", "-K", &t.host_if[i], "tx", "off"]);
        }
        t
    }

    /// Moves the calling thread into the switch namespace (undone on drop).
    pub fn enter_switch_ns(&mut self) {
        let orig = File::open("/proc/thread-self/ns/net").expect("own netns");
        let target = File::open(format!("/var/run/netns/{}", self.sw)).expect("switch netns");
        // SAFETY: setns on this thread with a namespace fd we opened.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        self.orig_ns = Some(orig);
    }

    /// Runs a command inside host namespace `i`.
    pub fn in_host(&self, i: usize, args: &[&str]) -> Output {
        let mut v = vec!["ip", "netns", "exec", self.hosts[i].as_str()];
        v.extend_from_slice(args);
        run(&v)
    }

    /// MAC address of host i's interface.
    pub fn host_mac(&self, i: usize) -> String {
        let out = must(&["ip", "-n", &self.hosts[i], "-o", "link", "show", &self.host_if[i]]);
        let pos = out.find("link/ether ").expect("ether line") + "link/ether ".len();
        out[pos..pos + 17].to_string()
    }

    /// Waits until host i's interface reports carrier and IPv6 DAD is
    /// irrelevant (we only use IPv4); a short settle delay.
    pub fn settle(&self) {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        if let Some(orig) = self.orig_ns.take() {
            // SAFETY: returning this thread to the namespace it started in.
            unsafe { libc::setns(orig.as_raw_fd(), libc::CLONE_NEWNET) };
        }
        // Deleting a namespace destroys its veths (and their peers), and with
        // them any XDP program attached.
        for ns in self.hosts.iter().chain(std::iter::once(&self.sw)) {
            let _ = run(&["ip", "netns", "del", ns]);
        }
    }
}
