//! Fixtures for the VXLAN overlay stages: encapsulation and decapsulation
//! through the real pipeline, in memory, with capture off.
//!
//! The switch ([`overlay_spec`]): one access port in VLAN [`VLAN`]
//! ([`ACCESS`]) and one underlay port ([`UNDERLAY`]) carrying the VTEP
//! [`LOCAL_VTEP`], which bridges VLAN 10 to VNI [`VNI`] towards one remote
//! VTEP, [`REMOTE_VTEP`] (the tunnel port `vxlan100@192.168.100.2`).
//! Before any measured frame, untimed:
//!
//! * the next hop (the remote itself: it is on-link) is resolved by an ARP
//!   reply from it on the underlay port;
//! * `hosts` local hosts ([`host_mac`]) are in the FDB on the access port,
//!   as the L2 cases' hosts are;
//! * `hosts` remote MACs ([`remote_mac`]) are learned behind the remote
//!   VTEP the way the switch learns them: from VXLAN packets the remote
//!   sends, decapsulated by the pipeline (and its FDB writer).
//!
//! Then:
//!
//! * [`OverlayScenario::Encap`]: every frame is known unicast from a local
//!   host (known on its port: a learn-cache hit) to a remote MAC, so it is
//!   encapsulated and sent on the underlay port;
//! * [`OverlayScenario::Decap`]: every frame is a VXLAN packet from the
//!   remote VTEP whose inner frame goes from a remote MAC (known on the
//!   tunnel port: a learn-cache hit) to a local host, so it is decapsulated,
//!   learned and forwarded to the access port.
//!
//! Inner frames are 64 bytes, like the L2 cases' frames, but a real
//! IPv4/UDP packet ([`inner_template`]) rather than the L2 cases'
//! `0x45`-filled bytes: encapsulation hashes the inner IPv4 addresses and
//! UDP ports into the outer UDP source port, and a packet that does not
//! parse as IPv4 would skip that work. Source and destination are drawn
//! uniformly from the `hosts` MACs of each side by the same xorshift as the
//! L2 cases.

use std::net::Ipv4Addr;
use std::sync::Arc;

use arc_swap::cache::Cache;
use arc_swap::ArcSwap;
use switch_core::bridge::{BridgeSpec, FdbSpec, PortMode, PortSpec, SwitchSpec};
use switch_core::fdb::{FdbKey, FdbTable, LearnEvent};
use switch_core::overlay::{VniSpec, VtepPlan, VtepSpec};
use switch_core::pipeline::{Batch, Observer, TraceEvent};
use switch_core::sim::SwitchSim;
use switch_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
    VxlanPacket, VxlanRepr,
};
use switch_core::{BdId, MacAddr, PortId, VlanId};

use crate::{host_mac, XorShift64, BATCH, CHUNKS, FRAME_LEN, NOW, PORTS, VLAN};

/// The access port of the overlay switch (VLAN [`VLAN`]).
pub const ACCESS: PortId = PortId(0);
/// The underlay port of the overlay switch, which carries the VTEP.
pub const UNDERLAY: PortId = PortId(1);
/// Our VTEP's address.
pub const LOCAL_VTEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
/// The remote VTEP's address (on-link: its own MAC is the next hop).
pub const REMOTE_VTEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
/// The VNI VLAN [`VLAN`] is carried in.
pub const VNI: u32 = 100;
/// Bytes of VXLAN over IPv4 in front of the inner frame: Ethernet 14, IPv4
/// 20, UDP 8, VXLAN 8.
pub const VXLAN_HEADERS: usize = 50;
/// Length of a VXLAN packet carrying a [`FRAME_LEN`]-byte inner frame.
pub const VXLAN_FRAME_LEN: usize = VXLAN_HEADERS + FRAME_LEN;

/// The MAC of remote host `i` (behind [`REMOTE_VTEP`]): locally administered
/// unicast `02:7e:ii:ii:ii:ii`, distinct from every [`host_mac`].
#[inline]
pub fn remote_mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x7e, b[0], b[1], b[2], b[3]])
}

fn port(name: &str, mode: PortMode) -> PortSpec {
    PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None, mtu: None }
}

/// The encap/decap switch: [`ACCESS`] in VLAN [`VLAN`], [`UNDERLAY`] with
/// the VTEP [`LOCAL_VTEP`]/24, and VNI [`VNI`] bridging VLAN [`VLAN`] to
/// [`REMOTE_VTEP`]. The FDB is sized for `max_entries`.
pub fn overlay_spec(max_entries: u32) -> SwitchSpec {
    let mut s = SwitchSpec {
        bridges: vec![BridgeSpec { name: "br0".into() }],
        ports: vec![port("h0", PortMode::Access { vlan: VlanId(VLAN) }), port("up", PortMode::Underlay)],
        fdb: FdbSpec { max_entries, ..FdbSpec::default() },
        overlay: Default::default(),
    };
    s.overlay.vteps.push(VtepSpec::new("vtep0", UNDERLAY.index(), LOCAL_VTEP, 24));
    s.overlay.vnis.push(VniSpec {
        vni: VNI,
        vtep: 0,
        bridge: 0,
        vlan: VlanId(VLAN),
        remotes: vec![REMOTE_VTEP.into()],
        ..VniSpec::default()
    });
    s
}

/// The L2 cases' bridge ([`crate::spec`]: [`PORTS`] access ports in VLAN
/// [`VLAN`]) plus an underlay port with a VTEP whose VNIs bridge VLANs 30
/// and 40, which no access port carries: a plan with an overlay that the L2
/// traffic does not use (`hit-1k-overlay`).
pub fn unused_overlay_spec(max_entries: u32) -> SwitchSpec {
    let mut s = crate::spec(max_entries);
    s.ports.push(port("up", PortMode::Underlay));
    s.overlay.vteps.push(VtepSpec::new("vtep0", PORTS, LOCAL_VTEP, 24));
    for (vni, vlan) in [(300, 30), (400, 40)] {
        s.overlay.vnis.push(VniSpec {
            vni,
            vtep: 0,
            bridge: 0,
            vlan: VlanId(vlan),
            remotes: vec![REMOTE_VTEP.into()],
            ..VniSpec::default()
        });
    }
    s
}

/// A 64-byte IPv4/UDP frame (10.0.0.1:1024 → 10.0.0.2:5001, 22 bytes of
/// payload, valid IPv4 checksum); only the MACs change per frame.
pub fn inner_template() -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    EthernetFrame::new_unchecked(&mut f[..]).set_ethertype(EtherType::IPV4);
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(10, 0, 0, 2),
        protocol: IpProtocol::UDP,
        payload_len: FRAME_LEN - 34,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: true,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..34]));
    UdpRepr { src_port: 1024, dst_port: 5001, payload_len: FRAME_LEN - 42 }
        .emit(&mut UdpPacket::new_unchecked(&mut f[34..42]));
    f[42..].fill(0x5a);
    f
}

/// What [`REMOTE_VTEP`] sends our VTEP (at `vtep_mac`): `inner` in VXLAN
/// VNI [`VNI`] (UDP checksum zero, as RFC 7348 allows over IPv4; valid IPv4
/// checksum). The inner MACs are at `VXLAN_HEADERS..VXLAN_HEADERS + 12`.
pub fn vxlan_template(vtep_mac: MacAddr, inner: &[u8; FRAME_LEN]) -> [u8; VXLAN_FRAME_LEN] {
    let mut f = [0u8; VXLAN_FRAME_LEN];
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(vtep_mac);
    eth.set_src_addr(VtepPlan::default_mac(REMOTE_VTEP));
    eth.set_ethertype(EtherType::IPV4);
    let ip = Ipv4Repr {
        src_addr: REMOTE_VTEP,
        dst_addr: LOCAL_VTEP,
        protocol: IpProtocol::UDP,
        payload_len: VXLAN_FRAME_LEN - 34,
        ttl: 64,
        tos: 0,
        ident: 7,
        dont_frag: true,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..34]));
    UdpRepr { src_port: 50000, dst_port: switch_core::overlay::spec::VXLAN_PORT, payload_len: 8 + FRAME_LEN }
        .emit(&mut UdpPacket::new_unchecked(&mut f[34..42]));
    VxlanRepr { vni: VNI }.emit(&mut VxlanPacket::new_unchecked(&mut f[42..50]));
    f[VXLAN_HEADERS..].copy_from_slice(inner);
    f
}

/// The remote VTEP's ARP reply to our VTEP (at `vtep_mac`): "[`REMOTE_VTEP`]
/// is at its default MAC", which resolves the tunnel's next hop.
pub fn arp_reply(vtep_mac: MacAddr) -> [u8; 60] {
    let mut f = [0u8; 60];
    let remote_mac = VtepPlan::default_mac(REMOTE_VTEP);
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(vtep_mac);
    eth.set_src_addr(remote_mac);
    eth.set_ethertype(EtherType::ARP);
    ArpRepr {
        operation: ArpOperation::Reply,
        sender_hardware_addr: remote_mac,
        sender_protocol_addr: REMOTE_VTEP,
        target_hardware_addr: vtep_mac,
        target_protocol_addr: LOCAL_VTEP,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut f[14..42]));
    f
}

/// The overlay driver's observer: [`switch_core::pipeline::NoTrace`] under
/// another name (no events, `ENABLED` false, so every hook compiles away
/// alike).
///
/// Why not `NoTrace` itself: the L2 cases' [`crate::Driver::process_batch`]
/// is the one caller of `Pipeline::process::<MemIo, NoTrace>`, which LLVM
/// therefore inlines into it. A second caller of that instance (this
/// driver, or `SwitchSim::run`) made it stop doing so, and moved the L2
/// cases' counts (hit-1k 97.0 → 97.7). With its own observer type this
/// driver gets its own instance of the same pipeline code, and the L2
/// cases' machine code stays as it was. For the same reason its set-up
/// runs its batches itself instead of through `SwitchSim::run`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OverlayNoTrace;

impl Observer for OverlayNoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn event(&mut self, _pkt: usize, _ev: TraceEvent) {}
}

/// `FdbWriter::shared()`'s handle, under a type of this module, for the
/// driver's `arc_swap::cache::Cache`: as with [`OverlayNoTrace`], sharing
/// the L2 driver's `Cache<Arc<ArcSwap<FdbTable>>, _>` instance made LLVM
/// take its revalidation out of line in the L2 driver too (+12
/// instructions per batch there).
struct SharedFdb(Arc<ArcSwap<FdbTable>>);

impl core::ops::Deref for SharedFdb {
    type Target = ArcSwap<FdbTable>;
    #[inline(always)]
    fn deref(&self) -> &ArcSwap<FdbTable> {
        &self.0
    }
}

/// Runs every frame injected into `sim` through its pipeline, batch by
/// batch, with the writer draining the learn queue after each: what
/// `SwitchSim::run` does, for the set-up (see [`OverlayNoTrace`]).
fn run_setup(sim: &mut SwitchSim, batch: &mut Batch) {
    let queue = sim.pipeline.learn_queue().clone();
    while sim.io.fill_batch(batch, BATCH) > 0 {
        let fdb = sim.writer.shared().load_full();
        sim.pipeline.process(&sim.plan, &fdb, batch, &mut sim.io, sim.now, &mut OverlayNoTrace);
        sim.writer.drain(core::slice::from_ref(&queue), usize::MAX);
    }
}

/// What the overlay driver sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlayScenario {
    /// Local host → remote MAC: every frame encapsulated.
    Encap {
        /// Local hosts, and remote MACs.
        hosts: u32,
    },
    /// VXLAN from the remote VTEP, remote MAC → local host: every frame
    /// decapsulated, learned (known) and forwarded.
    Decap {
        /// Local hosts, and remote MACs.
        hosts: u32,
    },
}

impl OverlayScenario {
    /// Hosts on each side.
    pub fn hosts(self) -> u32 {
        match self {
            OverlayScenario::Encap { hosts } | OverlayScenario::Decap { hosts } => hosts,
        }
    }
}

/// The overlay switch plus its traffic generator. See the module docs.
pub struct OverlayDriver {
    /// The switch.
    pub sim: SwitchSim,
    /// VLAN [`VLAN`]'s domain (and VNI [`VNI`]'s).
    pub bd: BdId,
    /// The tunnel port of ([`VNI`], [`REMOTE_VTEP`]).
    pub tunnel: PortId,
    /// The scenario.
    pub scenario: OverlayScenario,
    /// Frames injected so far.
    pub injected: u64,
    batch: Batch,
    shared: Cache<SharedFdb, Arc<FdbTable>>,
    rng: XorShift64,
    hosts: u32,
    inner: [u8; FRAME_LEN],
    outer: [u8; VXLAN_FRAME_LEN],
}

impl core::fmt::Debug for OverlayDriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OverlayDriver")
            .field("scenario", &self.scenario)
            .field("injected", &self.injected)
            .finish_non_exhaustive()
    }
}

impl OverlayDriver {
    /// Builds the switch, resolves the next hop, fills the FDB (local hosts
    /// directly, remote MACs from decapsulated packets) and seeds the
    /// generator with `seed`. Panics if any of it does not come out as
    /// described in the module docs.
    pub fn new(scenario: OverlayScenario, seed: u64) -> OverlayDriver {
        let hosts = scenario.hosts();
        assert!(hosts > 0);
        // The default table size, as in the hit cases.
        let mut sim = SwitchSim::with_chunks(&overlay_spec(FdbSpec::default().max_entries.max(2 * hosts)), CHUNKS)
            .expect("overlay benchmark spec compiles");
        sim.now = NOW;
        let bd = sim.plan.domain(0, VLAN).expect("VLAN domain exists");
        let tunnel = sim.plan.port_id(&format!("vxlan{VNI}@{REMOTE_VTEP}")).expect("tunnel port exists");
        let vtep_mac = sim.plan.overlay.as_ref().expect("plan has an overlay").vteps[0].mac;

        let mut batch = Batch::new();
        // The next hop, before any frame needs it.
        assert!(sim.inject(UNDERLAY, &arp_reply(vtep_mac)));
        run_setup(&mut sim, &mut batch);
        assert!(sim.take_all_tx().is_empty());
        assert_eq!(sim.pipeline.counters().snapshot().neighbor_updates, 1, "next hop resolved");

        let at = NOW.as_secs_u32();
        for i in 0..hosts {
            sim.writer.apply(LearnEvent { key: FdbKey::new(bd, host_mac(i)), port: ACCESS, at });
        }
        // Remote MACs, learned from what the remote sends: remote i to local
        // host i, a batch at a time (the switch learns after each batch).
        let inner = inner_template();
        let mut outer = vxlan_template(vtep_mac, &inner);
        for start in (0..hosts).step_by(BATCH) {
            for i in start..(start + BATCH as u32).min(hosts) {
                outer[VXLAN_HEADERS..VXLAN_HEADERS + 6].copy_from_slice(&host_mac(i).0);
                outer[VXLAN_HEADERS + 6..VXLAN_HEADERS + 12].copy_from_slice(&remote_mac(i).0);
                assert!(sim.inject(UNDERLAY, &outer), "out of chunks");
            }
            run_setup(&mut sim, &mut batch);
            assert_eq!(sim.take_all_tx().len(), (start + BATCH as u32).min(hosts) as usize - start as usize);
        }
        let c = sim.pipeline.counters().snapshot();
        assert_eq!((c.decapsulated, c.forwarded, c.total_drops()), (hosts as u64, hosts as u64, 0), "prefill");
        let table = sim.writer.shared().load_full();
        for i in 0..hosts {
            assert_eq!(table.lookup(FdbKey::new(bd, remote_mac(i))).map(|h| h.port()), Some(tunnel), "remote {i}");
            assert_eq!(table.lookup(FdbKey::new(bd, host_mac(i))).map(|h| h.port()), Some(ACCESS), "local {i}");
        }
        assert_eq!(sim.writer.stats().entries, 2 * hosts as u64, "prefill");
        sim.io.set_capture(false);
        assert_eq!(sim.io.chunks_in_use(), 0);

        let shared = Cache::new(SharedFdb(sim.writer.shared()));
        OverlayDriver {
            sim,
            bd,
            tunnel,
            scenario,
            injected: 0,
            batch,
            shared,
            rng: XorShift64::new(seed),
            hosts,
            inner,
            outer,
        }
    }

    /// Writes the next [`BATCH`] frames into the in-memory ports and moves
    /// them into the batch (the rx side; not part of the pipeline's cost).
    #[inline]
    pub fn inject_batch(&mut self) {
        let n = self.hosts as u64;
        for _ in 0..BATCH {
            let (src, dst) = (self.rng.below(n) as u32, self.rng.below(n) as u32);
            let ok = match self.scenario {
                OverlayScenario::Encap { .. } => {
                    let f = &mut self.inner;
                    f[0..6].copy_from_slice(&remote_mac(dst).0);
                    f[6..12].copy_from_slice(&host_mac(src).0);
                    self.sim.io.inject(ACCESS, f)
                }
                OverlayScenario::Decap { .. } => {
                    let f = &mut self.outer;
                    f[VXLAN_HEADERS..VXLAN_HEADERS + 6].copy_from_slice(&host_mac(dst).0);
                    f[VXLAN_HEADERS + 6..VXLAN_HEADERS + 12].copy_from_slice(&remote_mac(src).0);
                    self.sim.io.inject(UNDERLAY, f)
                }
            };
            debug_assert!(ok, "out of chunks");
        }
        self.injected += BATCH as u64;
        self.sim.io.fill_batch(&mut self.batch, BATCH);
    }

    /// One batch through the dataplane, as [`crate::Driver::process_batch`]
    /// for the hit cases: the FDB snapshot load and `Pipeline::process`
    /// (which, for this plan, wraps the backend for encapsulation and runs
    /// the underlay stage over the frames of the underlay port). The
    /// observer is [`OverlayNoTrace`], i.e. none.
    #[inline]
    pub fn process_batch(&mut self) {
        let fdb = self.shared.load();
        let sim = &mut self.sim;
        sim.pipeline.process(&sim.plan, fdb, &mut self.batch, &mut sim.io, sim.now, &mut OverlayNoTrace);
    }

    /// Injects one batch and processes it.
    #[inline]
    pub fn step(&mut self) {
        self.inject_batch();
        self.process_batch();
    }

    /// The port every measured frame leaves on: [`UNDERLAY`] (encap) or
    /// [`ACCESS`] (decap).
    pub fn egress(&self) -> PortId {
        match self.scenario {
            OverlayScenario::Encap { .. } => UNDERLAY,
            OverlayScenario::Decap { .. } => ACCESS,
        }
    }

    /// Live FDB entries.
    pub fn fdb_entries(&self) -> u64 {
        self.sim.writer.stats().entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switch_core::wire::ipv4::Ipv4Packet;

    fn run(d: &mut OverlayDriver, batches: usize) -> switch_core::pipeline::CounterSnapshot {
        for _ in 0..batches {
            d.step();
        }
        d.sim.pipeline.counters().snapshot()
    }

    #[test]
    fn templates_are_valid_packets() {
        let inner = inner_template();
        let ip = Ipv4Packet::new_checked(&inner[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((usize::from(ip.total_len()), ip.protocol()), (FRAME_LEN - 14, IpProtocol::UDP));
        let outer = vxlan_template(MacAddr([2, 0, 0, 0, 0, 1]), &inner);
        let ip = Ipv4Packet::new_checked(&outer[14..]).unwrap();
        assert!(ip.verify_checksum());
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(usize::from(udp.len()), 8 + 8 + FRAME_LEN);
        let vx = VxlanPacket::new_checked(udp.payload()).unwrap();
        assert_eq!((vx.vni(), vx.payload()), (VNI, &inner[..]));
    }

    #[test]
    fn encap_sends_every_frame_encapsulated_on_the_underlay() {
        let mut d = OverlayDriver::new(OverlayScenario::Encap { hosts: 1_000 }, 7);
        let c0 = d.sim.pipeline.counters().snapshot();
        let c = run(&mut d, 100);
        let n = 100 * BATCH as u64;
        assert_eq!(c.packets - c0.packets, n);
        assert_eq!((c.encapsulated - c0.encapsulated, c.forwarded - c0.forwarded), (n, n));
        assert_eq!((c.learn_events - c0.learn_events, c.total_drops(), c.unknown_unicast), (0, 0, 0));
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_packets, n);
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_bytes, n * VXLAN_FRAME_LEN as u64);
        assert_eq!(d.sim.writer.stats().refreshed, 0);
        assert_eq!(d.sim.io.chunks_in_use(), 0);

        // What leaves: VXLAN to the remote, carrying the frame as sent.
        d.sim.io.set_capture(true);
        d.step();
        let out = d.sim.io.take_tx(UNDERLAY);
        assert_eq!(out.len(), BATCH);
        let f = &out[0];
        let eth = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(eth.dst_addr(), VtepPlan::default_mac(REMOTE_VTEP));
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr()), (LOCAL_VTEP, REMOTE_VTEP));
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        let vx = VxlanPacket::new_checked(udp.payload()).unwrap();
        assert_eq!(vx.vni(), VNI);
        assert_eq!(vx.payload().len(), FRAME_LEN);
        assert_eq!(&vx.payload()[12..], &inner_template()[12..]);
    }

    #[test]
    fn decap_delivers_every_inner_frame_to_the_access_port() {
        let mut d = OverlayDriver::new(OverlayScenario::Decap { hosts: 1_000 }, 7);
        let c0 = d.sim.pipeline.counters().snapshot();
        let tx0 = d.sim.io.port_stats()[ACCESS.index()].tx_packets;
        let c = run(&mut d, 100);
        let n = 100 * BATCH as u64;
        assert_eq!(c.packets - c0.packets, n);
        assert_eq!((c.decapsulated - c0.decapsulated, c.forwarded - c0.forwarded), (n, n));
        assert_eq!((c.learn_events - c0.learn_events, c.total_drops(), c.unknown_unicast), (0, 0, 0));
        assert_eq!(d.sim.io.port_stats()[ACCESS.index()].tx_packets - tx0, n);
        assert_eq!(d.sim.writer.stats().refreshed, 0);
        assert_eq!(d.sim.io.chunks_in_use(), 0);

        d.sim.io.set_capture(true);
        d.step();
        let out = d.sim.io.take_tx(ACCESS);
        assert_eq!(out.len(), BATCH);
        assert_eq!(out[0].len(), FRAME_LEN);
        assert_eq!(&out[0][12..], &inner_template()[12..]);
    }
}
