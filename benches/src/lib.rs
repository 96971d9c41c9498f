//! Shared fixtures for the xvs dataplane benchmarks.
//!
//! Everything here drives the real [`switch_core`] pipeline through
//! [`SwitchSim`] and [`MemIo`](switch_core::port::memory::MemIo) with capture
//! off, so the numbers cover parse, classify, learn, forward, output and the
//! in-memory backend's tx bookkeeping, and nothing of the kernel.
//!
//! The fixtures are shared by the criterion benches (`benches/pipeline.rs`)
//! and the instructions-per-packet binary (`src/bin/ipp.rs`), so both measure
//! exactly the same traffic.
//!
//! ## Scenarios
//!
//! * [`Scenario::Hit`]: N MACs already in the FDB, spread round robin over
//!   four access ports of one VLAN, all learned at `now` and so fresh in the
//!   table: no refresh event fires. Every frame has a known source *on its ingress port* (no
//!   learn event) and a known destination on another port (unicast forward).
//!   Source and destination are drawn uniformly from all N MACs by a
//!   deterministic xorshift generator, so at 1M MACs almost every lookup is a
//!   cache miss (the worst case).
//! * [`Scenario::Learn`]: every frame carries a source MAC never seen before
//!   (a counter), so every frame produces one learn event, which the FDB
//!   writer applies right after the batch. The destination is a known MAC on
//!   another port.
//! * [`Scenario::Flood`]: broadcast frames from known sources in a 4-port
//!   domain: three copies out per frame in.
//! * [`Scenario::HitOverlay`]: exactly [`Scenario::Hit`]'s switch and
//!   traffic, but the plan also has an underlay port with a VTEP whose VNIs
//!   bridge other VLANs ([`overlay::unused_overlay_spec`]): what an overlay
//!   the traffic does not use costs the L2 path.
//! * [`Scenario::HitIp`]: [`Scenario::Hit`]'s MACs, ports and draws, but
//!   every frame a real IPv4/TCP packet of its source host's one flow (see
//!   [`acl`]): the no-rule baseline of the flow-rule cases.
//! * [`Scenario::Acl`]: [`Scenario::HitIp`]'s switch and traffic with
//!   [`acl::rules`] in every port's ingress table; every frame matches only
//!   the catch-all `allow` and is forwarded as in [`Scenario::HitIp`]. With
//!   [`AclFlows::PerHost`] every frame after the warm-up is a flow cache
//!   hit; with [`AclFlows::NewPerFrame`] (a new source port per frame)
//!   every frame is a miss.
//!
//! The overlay stages themselves (VXLAN encapsulation and decapsulation)
//! have their own switch and driver: see [`overlay`].
//!
//! ## Why frames are generated, not cycled from a small prebuilt ring
//!
//! A ring of R prebuilt (src, dst) pairs touches at most 2R FDB entries: with
//! R = 4096 that is 8192 cache lines (512 KiB), which stay in L2/L3 however
//! big the table is, and would hide exactly the cache misses the 1M case is
//! meant to show. So each batch's 32 frames are written from a 64-byte
//! template plus two MACs computed from xorshift indexes. That costs a few
//! nanoseconds per frame in the criterion numbers (it is part of "inject",
//! see [`Driver::inject_batch`]) and nothing in the callgrind numbers (it is
//! outside the measured function).

#![forbid(unsafe_code)]

pub mod acl;
pub mod overlay;

pub use acl::AclFlows;

use std::sync::Arc;

use arc_swap::cache::Cache;
use arc_swap::ArcSwap;
use switch_core::bridge::{BridgeSpec, FdbSpec, PortMode, PortSpec, SwitchSpec};
use switch_core::fdb::{FdbKey, FdbTable, LearnEvent, LearnQueue};
use switch_core::pipeline::{Batch, NoTrace};
use switch_core::port::FramePool;
use switch_core::sim::SwitchSim;
use switch_core::{BdId, MacAddr, Nanos, PortId, VlanId};

/// Frames per batch, as OVS's `NETDEV_MAX_BURST` and the AF_XDP workers.
pub const BATCH: usize = 32;
/// Ports in the benchmark bridge (all access ports of [`VLAN`]).
pub const PORTS: usize = 4;
/// The VLAN all ports are members of.
pub const VLAN: u16 = 10;
/// Length of every benchmark frame in its buffer: the customary 64-byte
/// minimum-size test frame.
pub const FRAME_LEN: usize = 64;
/// The clock of every benchmark: FDB entries are stamped with this second, so
/// they are fresh and no refresh event fires.
pub const NOW: Nanos = Nanos::from_secs(1_000);
/// Chunks in the simulated UMEM. A batch needs 32 plus the flood copies in
/// flight (capture is off, so sent chunks are recycled at once); 256 keeps the
/// arena (256 x 16 KiB) small.
pub const CHUNKS: usize = 256;

/// A tiny deterministic PRNG (Marsaglia xorshift64).
#[derive(Clone, Debug)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator; `seed` 0 is replaced by a fixed non-zero value.
    pub fn new(seed: u64) -> XorShift64 {
        XorShift64(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (multiply-shift; the bias is irrelevant here).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// The MAC of benchmark host `i`: locally administered unicast
/// `02:5e:ii:ii:ii:ii`.
#[inline]
pub fn host_mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x5e, b[0], b[1], b[2], b[3]])
}

/// The port host `i` lives on.
#[inline]
pub fn host_port(i: u32) -> PortId {
    PortId((i as usize % PORTS) as u16)
}

/// A bridge with [`PORTS`] access ports in VLAN [`VLAN`], and an FDB sized for
/// `max_entries` (the table gets the next power of two of twice that many
/// slots).
pub fn spec(max_entries: u32) -> SwitchSpec {
    SwitchSpec {
        bridges: vec![BridgeSpec { name: "br0".into() }],
        ports: (0..PORTS)
            .map(|i| PortSpec {
                name: format!("p{i}"),
                interface: None,
                bridge: 0,
                mode: PortMode::Access { vlan: VlanId(VLAN) },
                mac_limit: None,
                mtu: None,
            })
            .collect(),
        fdb: FdbSpec { max_entries, ..FdbSpec::default() },
        overlay: Default::default(),
    }
}

/// A 64-byte IPv4-ish frame template; only the addresses change per frame.
pub fn template() -> [u8; FRAME_LEN] {
    let mut f = [0x45u8; FRAME_LEN];
    f[12] = 0x08;
    f[13] = 0x00;
    f
}

/// What the driver sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Known source on its ingress port, known destination on another port,
    /// both uniform over `macs` learned hosts.
    Hit {
        /// Learned MACs.
        macs: u32,
    },
    /// A brand-new source MAC in every frame; the writer drains after each
    /// batch. Starts over (new sim) once `capacity` MACs were learned.
    Learn {
        /// MACs learned before the driver needs a fresh switch.
        capacity: u32,
    },
    /// Broadcast from known sources: one frame in, `PORTS - 1` out.
    Flood,
    /// [`Scenario::Hit`]'s traffic on a switch whose plan also has a VTEP
    /// and VNIs on other VLANs (see [`overlay::unused_overlay_spec`]).
    HitOverlay {
        /// Learned MACs.
        macs: u32,
    },
    /// [`Scenario::Hit`]'s traffic as IPv4/TCP packets, one flow per
    /// source host (see [`acl`]), on the same switch.
    HitIp {
        /// Learned MACs (at most [`acl::MAX_IP_HOSTS`]).
        macs: u32,
    },
    /// [`Scenario::HitIp`] with `rules` flow rules ([`acl::rules`]) in the
    /// ingress table of every port.
    Acl {
        /// Learned MACs (at most [`acl::MAX_IP_HOSTS`]).
        macs: u32,
        /// Rules per table, the catch-all included.
        rules: u32,
        /// One flow per host (cache hits) or a new one per frame (misses).
        flows: AclFlows,
    },
}

impl Scenario {
    /// True for the scenarios whose frames are IPv4/TCP ([`acl`]).
    pub fn is_ip(self) -> bool {
        matches!(self, Scenario::HitIp { .. } | Scenario::Acl { .. })
    }
}

/// Hosts the learn scenario uses as destinations (one per port, learned up
/// front).
const FIXED_HOSTS: u32 = PORTS as u32;
/// Hosts the flood scenario sends from.
const FLOOD_HOSTS: u32 = 1_024;
/// New source MACs in the learn scenario are `06:xx:xx:xx:xx:xx` (locally
/// administered unicast), distinct from every [`host_mac`].
const LEARN_PREFIX: u64 = 0x0600_0000_0000;

/// A switch plus its traffic generator. See the crate docs.
pub struct Driver {
    /// The switch (public so callers can read counters and the writer).
    pub sim: SwitchSim,
    /// The domain all traffic belongs to.
    pub bd: BdId,
    /// The scenario.
    pub scenario: Scenario,
    /// Frames injected so far (over every sim, for the learn scenario).
    pub injected: u64,
    /// Times the learn scenario started over with a fresh switch.
    pub resets: u64,
    batch: Batch,
    queue: Arc<LearnQueue>,
    /// The worker's view of the published FDB: one pointer compare per batch
    /// while the table stays the same (as in the daemon's workers).
    shared: Cache<Arc<ArcSwap<FdbTable>>, Arc<FdbTable>>,
    rng: XorShift64,
    template: [u8; FRAME_LEN],
    next_new: u64,
    learned_here: u64,
    /// IP scenarios: each host's source port ([`acl::reference_ports`]).
    flow_ports: Vec<u16>,
    /// [`AclFlows::NewPerFrame`]: the next frame's source port.
    next_sport: u16,
    /// Per port, the unicast frames injected so far that the switch should
    /// send there (every scenario but [`Scenario::Flood`]).
    pub expected_tx: [u64; PORTS],
}

impl core::fmt::Debug for Driver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("scenario", &self.scenario)
            .field("injected", &self.injected)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Builds the switch for `scenario`, fills its FDB and seeds the
    /// generator with `seed` (the same seed gives the same traffic).
    pub fn new(scenario: Scenario, seed: u64) -> Driver {
        let (sim, bd) = build_sim(scenario);
        let queue = sim.pipeline.learn_queue().clone();
        let shared = Cache::new(sim.writer.shared());
        let flow_ports = match scenario {
            Scenario::HitIp { macs } | Scenario::Acl { macs, .. } => acl::reference_ports(&sim.plan, macs),
            _ => Vec::new(),
        };
        Driver {
            sim,
            bd,
            scenario,
            injected: 0,
            resets: 0,
            batch: Batch::new(),
            queue,
            shared,
            rng: XorShift64::new(seed),
            template: if scenario.is_ip() { acl::ip_template() } else { template() },
            next_new: 0,
            learned_here: 0,
            flow_ports,
            next_sport: acl::FIRST_SPORT,
            expected_tx: [0; PORTS],
        }
    }

    /// Writes the next [`BATCH`] frames into the in-memory ports and moves
    /// them into the batch: the work of an rx burst. Not part of the
    /// pipeline's cost.
    #[inline]
    pub fn inject_batch(&mut self) {
        for _ in 0..BATCH {
            let (port, src, dst, host) = self.next_frame();
            if !dst.is_multicast() {
                self.expected_tx[mac_port(dst)] += 1;
            }
            let f = &mut self.template;
            f[0..6].copy_from_slice(&dst.0);
            f[6..12].copy_from_slice(&src.0);
            if let Some(&host_sport) = self.flow_ports.get(host as usize) {
                let sport = match self.scenario {
                    // Wraps after 64512 frames, far more than the flow
                    // cache's 4096 entries can remember.
                    Scenario::Acl { flows: AclFlows::NewPerFrame, .. } => {
                        let s = self.next_sport;
                        self.next_sport = s.checked_add(1).unwrap_or(acl::FIRST_SPORT);
                        s
                    }
                    _ => host_sport,
                };
                acl::set_flow(f, host, sport);
            }
            let ok = self.sim.io.inject(port, f);
            debug_assert!(ok, "out of chunks");
        }
        self.injected += BATCH as u64;
        self.sim.io.fill_batch(&mut self.batch, BATCH);
    }

    /// (ingress port, source, destination, source host index: meaningful
    /// for the hit-style scenarios only).
    #[inline]
    fn next_frame(&mut self) -> (PortId, MacAddr, MacAddr, u32) {
        match self.scenario {
            Scenario::Hit { macs }
            | Scenario::HitOverlay { macs }
            | Scenario::HitIp { macs }
            | Scenario::Acl { macs, .. } => {
                let i = self.rng.below(macs as u64) as u32;
                let mut j = self.rng.below(macs as u64) as u32;
                if host_port(j) == host_port(i) {
                    // Flipping the low bit changes the port (round robin over
                    // an even number of ports); `macs` is even.
                    j ^= 1;
                }
                (host_port(i), host_mac(i), host_mac(j), i)
            }
            Scenario::Learn { .. } => {
                let n = self.next_new;
                self.next_new += 1;
                let port = PortId((n % PORTS as u64) as u16);
                let dst = (n as u32 + 1) % FIXED_HOSTS; // lives on port (n + 1) % PORTS
                (port, MacAddr::from_u64(LEARN_PREFIX | (n & 0xff_ffff_ffff)), host_mac(dst), u32::MAX)
            }
            Scenario::Flood => {
                let i = self.rng.below(FLOOD_HOSTS as u64) as u32;
                (host_port(i), host_mac(i), MacAddr::BROADCAST, i)
            }
        }
    }

    /// One batch through the dataplane: load the FDB snapshot (once per
    /// batch, as a worker does), run every stage (the output stage hands
    /// frames to `MemIo`, which counts and recycles them), and in the learn
    /// scenario let the FDB writer apply the batch's learn events.
    #[inline]
    pub fn process_batch(&mut self) {
        let fdb = self.shared.load();
        let sim = &mut self.sim;
        sim.pipeline.process(&sim.plan, fdb, &mut self.batch, &mut sim.io, sim.now, &mut NoTrace);
        if let Scenario::Learn { .. } = self.scenario {
            self.learned_here += sim.writer.drain(core::slice::from_ref(&self.queue), usize::MAX) as u64;
        }
    }

    /// Injects one batch and processes it.
    #[inline]
    pub fn step(&mut self) {
        self.inject_batch();
        self.process_batch();
    }

    /// Gives the injected batch back without processing it (the baseline
    /// "driver overhead" bench).
    #[inline]
    pub fn discard_batch(&mut self) {
        for d in &self.batch.descs[..self.batch.len] {
            self.sim.io.release(d.buf);
        }
        self.batch.clear();
    }

    /// Batches the learn scenario's switch can still take without evicting
    /// (`u64::MAX` for the other scenarios). At 0, call [`Driver::reset`]
    /// (outside any timing).
    #[inline]
    pub fn batches_before_reset(&self) -> u64 {
        match self.scenario {
            Scenario::Learn { capacity } => (capacity as u64).saturating_sub(self.learned_here) / BATCH as u64,
            _ => u64::MAX,
        }
    }

    /// Starts over with a fresh switch (same scenario; the generator keeps
    /// going, so new MACs stay new).
    pub fn reset(&mut self) {
        let (sim, bd) = build_sim(self.scenario);
        self.queue = sim.pipeline.learn_queue().clone();
        self.shared = Cache::new(sim.writer.shared());
        self.sim = sim;
        self.bd = bd;
        self.learned_here = 0;
        self.resets += 1;
    }

    /// The IP scenarios' per-host source ports (see [`acl::per_host_ports`]);
    /// empty for the others.
    pub fn flow_ports(&self) -> &[u16] {
        &self.flow_ports
    }

    /// Live FDB entries.
    pub fn fdb_entries(&self) -> u64 {
        self.sim.writer.stats().entries
    }

    /// FDB memory (table slots plus writer bookkeeping) per live entry.
    pub fn fdb_bytes_per_entry(&self) -> f64 {
        self.sim.writer.memory_bytes() as f64 / self.fdb_entries().max(1) as f64
    }
}

/// Builds and pre-fills the switch for a scenario.
fn build_sim(scenario: Scenario) -> (SwitchSim, BdId) {
    let (max_entries, hosts) = match scenario {
        // The default table size (1M entries, 2M slots) for every hit case, so
        // 1K vs 1M compares occupancy, not table geometry.
        Scenario::Hit { macs }
        | Scenario::HitOverlay { macs }
        | Scenario::HitIp { macs }
        | Scenario::Acl { macs, .. } => {
            assert!(macs >= 2 && macs % 2 == 0, "Hit needs an even number of MACs");
            assert!(!scenario.is_ip() || macs <= acl::MAX_IP_HOSTS, "too many hosts for the IP traffic");
            (FdbSpec::default().max_entries.max(macs), macs)
        }
        Scenario::Learn { capacity } => (capacity + FIXED_HOSTS, FIXED_HOSTS),
        Scenario::Flood => (FdbSpec::default().max_entries, FLOOD_HOSTS),
    };
    let spec = match scenario {
        Scenario::HitOverlay { .. } => overlay::unused_overlay_spec(max_entries),
        _ => spec(max_entries),
    };
    let mut sim = SwitchSim::with_chunks(&spec, CHUNKS).expect("benchmark spec compiles");
    sim.io.set_capture(false);
    sim.now = NOW;
    let bd = sim.plan.domain(0, VLAN).expect("VLAN domain exists");
    let at = NOW.as_secs_u32();
    for i in 0..hosts {
        sim.writer.apply(LearnEvent { key: FdbKey::new(bd, host_mac(i)), port: host_port(i), at });
    }
    assert_eq!(sim.writer.stats().entries, hosts as u64, "prefill");
    if let Scenario::Acl { rules, .. } = scenario {
        let flows = acl::flow_plan(rules, &sim.plan);
        acl::assert_reference_mask(&flows, &sim.plan);
        sim.plan = Arc::new(sim.plan.with_flows(Some(Arc::new(flows))));
    }
    (sim, bd)
}

/// The port of a benchmark host's MAC ([`host_mac`]): its index's low bits.
#[inline]
fn mac_port(m: MacAddr) -> usize {
    m.0[5] as usize % PORTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(d: &mut Driver, batches: usize) -> switch_core::pipeline::CounterSnapshot {
        for _ in 0..batches {
            if d.batches_before_reset() == 0 {
                d.reset();
            }
            d.step();
        }
        d.sim.pipeline.counters().snapshot()
    }

    #[test]
    fn hit_forwards_everything_and_learns_nothing() {
        let mut d = Driver::new(Scenario::Hit { macs: 1_000 }, 7);
        let c = run(&mut d, 200);
        assert_eq!(c.packets, 200 * BATCH as u64);
        assert_eq!(c.forwarded, c.packets);
        assert_eq!((c.learn_events, c.total_drops(), c.unknown_unicast), (0, 0, 0));
        assert_eq!(d.sim.writer.stats().refreshed, 0);
        assert_eq!(d.sim.io.chunks_in_use(), 0);
    }

    #[test]
    fn learn_learns_one_mac_per_frame_and_resets_before_evicting() {
        let mut d = Driver::new(Scenario::Learn { capacity: 100 * BATCH as u32 }, 7);
        let c = run(&mut d, 100);
        assert_eq!(c.learn_events, c.packets);
        assert_eq!(c.forwarded, c.packets);
        // The writer also counts the prefilled destinations as learned.
        let fixed = FIXED_HOSTS as u64;
        assert_eq!(d.sim.writer.stats().learned, c.packets + fixed);
        assert_eq!(d.batches_before_reset(), 0);
        run(&mut d, 1);
        assert_eq!(
            (d.resets, d.sim.writer.stats().learned, d.sim.writer.stats().evicted),
            (1, BATCH as u64 + fixed, 0)
        );
    }

    #[test]
    fn flood_makes_three_copies() {
        let mut d = Driver::new(Scenario::Flood, 7);
        let c = run(&mut d, 10);
        assert_eq!(c.flooded, c.packets);
        assert_eq!(c.flood_copies, 2 * c.packets);
        let tx: u64 = d.sim.io.port_stats().iter().map(|s| s.tx_packets).sum();
        assert_eq!(tx, 3 * c.packets);
        assert_eq!(d.sim.io.chunks_in_use(), 0);
    }

    #[test]
    fn hit_overlay_sends_what_hit_sends() {
        let mut a = Driver::new(Scenario::Hit { macs: 1_000 }, 7);
        let mut b = Driver::new(Scenario::HitOverlay { macs: 1_000 }, 7);
        assert!(a.sim.plan.overlay.is_none() && b.sim.plan.overlay.is_some());
        for d in [&mut a, &mut b] {
            d.sim.io.set_capture(true);
        }
        let (ca, cb) = (run(&mut a, 50), run(&mut b, 50));
        assert_eq!(ca, cb);
        assert_eq!((cb.forwarded, cb.encapsulated, cb.underlay_received), (50 * BATCH as u64, 0, 0));
        for p in 0..PORTS {
            let p = PortId(p as u16);
            assert_eq!(a.sim.io.take_tx(p), b.sim.io.take_tx(p));
        }
        // Nothing on the underlay port.
        assert!(b.sim.io.take_tx(PortId(PORTS as u16)).is_empty());
    }

    #[test]
    fn hit_ip_switches_what_hit_switches() {
        let mut a = Driver::new(Scenario::Hit { macs: 1_000 }, 7);
        let mut b = Driver::new(Scenario::HitIp { macs: 1_000 }, 7);
        for d in [&mut a, &mut b] {
            d.sim.io.set_capture(true);
        }
        let (ca, cb) = (run(&mut a, 50), run(&mut b, 50));
        assert_eq!(ca, cb);
        assert_eq!(a.expected_tx, b.expected_tx);
        for p in 0..PORTS {
            let (ta, tb) = (a.sim.io.take_tx(PortId(p as u16)), b.sim.io.take_tx(PortId(p as u16)));
            assert_eq!(tb.len() as u64, b.expected_tx[p]);
            for (fa, fb) in ta.iter().zip(&tb) {
                // The same Ethernet header; only the payload differs.
                assert_eq!(fa[..14], fb[..14]);
                assert_eq!(fa.len(), fb.len());
            }
        }
    }

    fn acl_run(flows: AclFlows) -> (Driver, switch_core::pipeline::CounterSnapshot) {
        let rules = 100;
        let mut d = Driver::new(Scenario::Acl { macs: 1_000, rules, flows }, 7);
        // Enough for every host's flow to be seen (about 33 frames each).
        run(&mut d, 1_024);
        let c0 = d.sim.pipeline.counters().snapshot();
        let tx0: Vec<u64> = d.sim.io.port_stats().iter().map(|s| s.tx_packets).collect();
        let e0 = d.expected_tx;
        let c1 = run(&mut d, 100);
        for p in 0..PORTS {
            let tx = d.sim.io.port_stats()[p].tx_packets - tx0[p];
            assert_eq!(tx, d.expected_tx[p] - e0[p], "port {p}");
        }
        let catch_all: u64 = (0..PORTS)
            .map(|p| d.sim.pipeline.counters().rules[acl::rule_id(rules, p, rules - 1) as usize].packets.get())
            .sum();
        assert_eq!(catch_all, c1.packets, "every frame matched the catch-all");
        let mut c = c1;
        c.flow_cache_hits -= c0.flow_cache_hits;
        c.flow_cache_misses -= c0.flow_cache_misses;
        c.forwarded -= c0.forwarded;
        (d, c)
    }

    #[test]
    fn acl_hit_hits_and_acl_miss_misses() {
        let n = 100 * BATCH as u64;
        let (_, c) = acl_run(AclFlows::PerHost);
        assert_eq!((c.flow_cache_hits, c.flow_cache_misses, c.forwarded, c.total_drops()), (n, 0, n, 0));
        let (_, c) = acl_run(AclFlows::NewPerFrame);
        assert_eq!((c.flow_cache_hits, c.flow_cache_misses, c.forwarded, c.total_drops()), (0, n, n, 0));
    }

    #[test]
    fn xorshift_is_deterministic_and_in_range() {
        let (mut a, mut b) = (XorShift64::new(1), XorShift64::new(1));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
    }
}
