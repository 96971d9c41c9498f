//! Fixtures for the overlay stages: encapsulation (VXLAN, Geneve with
//! options, IP-in-IP) and VXLAN decapsulation through the real pipeline, in
//! memory, with capture off.
//!
//! The switch ([`overlay_spec`]): one access port in VLAN [`VLAN`]
//! ([`ACCESS`]) and one underlay port ([`UNDERLAY`]) carrying the VTEP
//! [`LOCAL_VTEP`], which bridges VLAN 10 to VNI [`VNI`] towards one remote
//! VTEP, [`REMOTE_VTEP`] (the tunnel port `vxlan100@192.168.100.2`). Its
//! variants: [`geneve_spec`] carries the VNI in Geneve with the two options
//! of [`geneve_options`] on every packet (`geneve100@192.168.100.2`);
//! [`ipip_spec`] has no VNI but an L3 gateway of VLAN 10, [`GATEWAY`]/22,
//! and an IP-in-IP route to [`REMOTE_SUBNET`]/24 via [`REMOTE_VTEP`] (as
//! Calico's IPIP mode, `config/examples/ipip.toml`).
//! Before any measured frame, untimed:
//!
//! * the next hop (the remote itself: it is on-link) is resolved by an ARP
//!   reply from it on the underlay port;
//! * `hosts` local hosts ([`host_mac`], at [`host_ip`]) are in the FDB on
//!   the access port, as the L2 cases' hosts are;
//! * except for IP-in-IP, which routes rather than bridges, `hosts` remote
//!   MACs ([`remote_mac`]) are learned behind the remote VTEP the way the
//!   switch learns them: from VXLAN (Geneve) packets the remote sends,
//!   decapsulated by the pipeline (and its FDB writer). For IP-in-IP, the
//!   gateway's MAC is the static FDB entry on the gateway's port that the
//!   plan installs.
//!
//! Then:
//!
//! * [`OverlayScenario::Encap`]: every frame is known unicast from a local
//!   host (known on its port: a learn-cache hit) to a remote MAC, so it is
//!   encapsulated and sent on the underlay port;
//! * [`OverlayScenario::GeneveEncap`]: the same in Geneve, with two options
//!   (20 bytes) after the base header;
//! * [`OverlayScenario::IpipEncap`]: every frame is an IPv4 packet from a
//!   local host (a learn-cache hit) to the gateway's MAC, bound for an
//!   address in [`REMOTE_SUBNET`]: the L2 path forwards it to the gateway's
//!   port, which routes it (inner checksum verified, TTL decremented) into
//!   IP-in-IP and sends it on the underlay port;
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
//! L2 cases; for IP-in-IP, the source from the `hosts` local hosts and the
//! destination from the [`REMOTE_ADDRS`] addresses of [`REMOTE_SUBNET`]
//! (the frame's IPv4 addresses and header checksum are rewritten for each,
//! outside the measured function). [`OverlayDriver::verify_batch`] checks
//! what a batch sends, byte by byte.

use std::net::Ipv4Addr;
use std::sync::Arc;

use arc_swap::cache::Cache;
use arc_swap::ArcSwap;
use switch_core::bridge::{BridgeSpec, FdbSpec, PortMode, PortSpec, SwitchSpec};
use switch_core::fdb::{FdbKey, FdbTable, LearnEvent};
use switch_core::overlay::spec::{GENEVE_PORT, VXLAN_PORT};
use switch_core::overlay::{Encap, GatewaySpec, GeneveOptionSpec, RouteSpec, VniSpec, VtepPlan, VtepSpec};
use switch_core::pipeline::{Batch, Observer, TraceEvent};
use switch_core::sim::SwitchSim;
use switch_core::wire::geneve::PROTOCOL_ETHERNET;
use switch_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, GenevePacket, GeneveRepr, IpProtocol, Ipv4Packet,
    Ipv4Repr, UdpPacket, UdpRepr, VxlanPacket, VxlanRepr,
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
/// Bytes of the [`geneve_options`] after the Geneve base header: (4 + 4) +
/// (4 + 8).
pub const GENEVE_OPTIONS_LEN: usize = 20;
/// Length of a Geneve packet with the [`geneve_options`] carrying a
/// [`FRAME_LEN`]-byte inner frame (the base header is as long as VXLAN's).
pub const GENEVE_FRAME_LEN: usize = VXLAN_FRAME_LEN + GENEVE_OPTIONS_LEN;
/// Length of an IP-in-IP packet carrying a [`FRAME_LEN`]-byte frame's IPv4
/// packet: Ethernet 14 and IPv4 20 in front of the inner packet, whose own
/// Ethernet header is gone.
pub const IPIP_FRAME_LEN: usize = 14 + 20 + FRAME_LEN - 14;
/// The L3 gateway of VLAN [`VLAN`] in [`ipip_spec`]: the hosts' default
/// router.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 1);
/// The prefix length of the gateway's subnet: room for 1021 hosts after it
/// ([`host_ip`]).
pub const GATEWAY_PREFIX_LEN: u8 = 22;
/// The remote subnet [`ipip_spec`] routes to [`REMOTE_VTEP`] (a /24).
pub const REMOTE_SUBNET: Ipv4Addr = Ipv4Addr::new(10, 20, 0, 0);
/// Destinations in [`REMOTE_SUBNET`]: `.1` to `.254` ([`remote_ip`]).
pub const REMOTE_ADDRS: u32 = 254;
/// Local hosts the gateway's subnet has addresses for.
const MAX_ROUTED_HOSTS: u32 = (1 << (32 - GATEWAY_PREFIX_LEN)) - 3;

/// The MAC of remote host `i` (behind [`REMOTE_VTEP`]): locally administered
/// unicast `02:7e:ii:ii:ii:ii`, distinct from every [`host_mac`].
#[inline]
pub fn remote_mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x7e, b[0], b[1], b[2], b[3]])
}

/// The address of local host `i` in the gateway's subnet: `10.10.0.2` on
/// (right after [`GATEWAY`]).
#[inline]
pub fn host_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(GATEWAY) + 1 + i)
}

/// Address `j` (below [`REMOTE_ADDRS`]) of [`REMOTE_SUBNET`]: `10.20.0.1` on.
#[inline]
pub fn remote_ip(j: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(REMOTE_SUBNET) + 1 + j)
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

/// The two options [`geneve_spec`]'s VNI sends on every packet, those of
/// `config/examples/geneve.toml`: class 0x0102 type 0x01 with 4 bytes of
/// data, and the experimental class 0xffff type 0x22 with 8 bytes (neither
/// critical).
pub fn geneve_options() -> Vec<GeneveOptionSpec> {
    vec![
        GeneveOptionSpec { class: 0x0102, option_type: 0x01, data: vec![0x12, 0x34, 0xab, 0xcd] },
        GeneveOptionSpec { class: 0xffff, option_type: 0x22, data: vec![1, 2, 3, 4, 5, 6, 7, 8] },
    ]
}

/// [`overlay_spec`] with VNI [`VNI`] carried in Geneve, with the
/// [`geneve_options`] on every packet.
pub fn geneve_spec(max_entries: u32) -> SwitchSpec {
    let mut s = overlay_spec(max_entries);
    s.overlay.vnis[0].encap = Encap::Geneve;
    s.overlay.vnis[0].geneve_options = geneve_options();
    s
}

/// [`overlay_spec`]'s ports and VTEP, without the VNI: VLAN [`VLAN`] has
/// the L3 gateway [`GATEWAY`]/[`GATEWAY_PREFIX_LEN`] (MAC derived from the
/// address), which routes [`REMOTE_SUBNET`]/24 into IP-in-IP towards
/// [`REMOTE_VTEP`] (on-link: its own MAC is the next hop).
pub fn ipip_spec(max_entries: u32) -> SwitchSpec {
    let mut s = overlay_spec(max_entries);
    s.overlay.vnis.clear();
    s.overlay.gateways.push(GatewaySpec {
        bridge: 0,
        vlan: VlanId(VLAN),
        address: GATEWAY,
        prefix_len: GATEWAY_PREFIX_LEN,
        mac: None,
        neighbors: vec![],
    });
    s.overlay.routes.push(RouteSpec { prefix: REMOTE_SUBNET, prefix_len: 24, via: REMOTE_VTEP, vtep: 0 });
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
    UdpRepr { src_port: 50000, dst_port: VXLAN_PORT, payload_len: 8 + FRAME_LEN }
        .emit(&mut UdpPacket::new_unchecked(&mut f[34..42]));
    VxlanRepr { vni: VNI }.emit(&mut VxlanPacket::new_unchecked(&mut f[42..50]));
    f[VXLAN_HEADERS..].copy_from_slice(inner);
    f
}

/// [`vxlan_template`] in Geneve: UDP port 6081 and an 8-byte Geneve header
/// (VNI [`VNI`], no options: what the remote sends needs none, and the base
/// header is as long as VXLAN's, so the inner frame is at the same offset).
pub fn geneve_template(vtep_mac: MacAddr, inner: &[u8; FRAME_LEN]) -> [u8; VXLAN_FRAME_LEN] {
    let mut f = vxlan_template(vtep_mac, inner);
    // The UDP checksum is zero (none), so the port changes nothing else.
    UdpPacket::new_unchecked(&mut f[34..42]).set_dst_port(GENEVE_PORT);
    GeneveRepr { oam: false, critical: false, protocol_type: PROTOCOL_ETHERNET, vni: VNI, options_len: 0 }
        .emit(&mut GenevePacket::new_unchecked(&mut f[42..50]));
    f
}

/// [`inner_template`] as a local host sends it to the remote subnet: to
/// the gateway's MAC `gateway_mac`. The addresses (and so the header
/// checksum) are rewritten per frame: see [`set_routed_addrs`].
pub fn routed_template(gateway_mac: MacAddr) -> [u8; FRAME_LEN] {
    let mut f = inner_template();
    f[0..6].copy_from_slice(&gateway_mac.0);
    set_routed_addrs(&mut f, 0, 0);
    f
}

/// Makes `f` ([`routed_template`]) the packet of local host `src` (its MAC
/// and address) to [`remote_ip`]`(dst)`, with a valid IPv4 checksum.
#[inline]
pub fn set_routed_addrs(f: &mut [u8; FRAME_LEN], src: u32, dst: u32) {
    f[6..12].copy_from_slice(&host_mac(src).0);
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..34]);
    ip.set_src_addr(host_ip(src));
    ip.set_dst_addr(remote_ip(dst));
    ip.fill_checksum();
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
    /// Local host → remote MAC: every frame VXLAN-encapsulated.
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
    /// [`OverlayScenario::Encap`] on [`geneve_spec`]: every frame
    /// Geneve-encapsulated with the two [`geneve_options`].
    GeneveEncap {
        /// Local hosts, and remote MACs.
        hosts: u32,
    },
    /// Local host → the gateway's MAC, IPv4 to an address of
    /// [`REMOTE_SUBNET`] ([`ipip_spec`]): every frame routed into IP-in-IP.
    IpipEncap {
        /// Local hosts (the sources; the destinations are the
        /// [`REMOTE_ADDRS`] addresses of the remote subnet).
        hosts: u32,
    },
}

impl OverlayScenario {
    /// Hosts on each side (the local ones, for IP-in-IP).
    pub fn hosts(self) -> u32 {
        match self {
            OverlayScenario::Encap { hosts }
            | OverlayScenario::Decap { hosts }
            | OverlayScenario::GeneveEncap { hosts }
            | OverlayScenario::IpipEncap { hosts } => hosts,
        }
    }

    /// True for the scenarios whose every frame is encapsulated.
    pub fn encaps(self) -> bool {
        !matches!(self, OverlayScenario::Decap { .. })
    }

    fn spec(self, max_entries: u32) -> SwitchSpec {
        match self {
            OverlayScenario::Encap { .. } | OverlayScenario::Decap { .. } => overlay_spec(max_entries),
            OverlayScenario::GeneveEncap { .. } => geneve_spec(max_entries),
            OverlayScenario::IpipEncap { .. } => ipip_spec(max_entries),
        }
    }
}

/// The overlay switch plus its traffic generator. See the module docs.
pub struct OverlayDriver {
    /// The switch.
    pub sim: SwitchSim,
    /// VLAN [`VLAN`]'s domain (and VNI [`VNI`]'s).
    pub bd: BdId,
    /// The tunnel port of ([`VNI`], [`REMOTE_VTEP`]); `None` for IP-in-IP,
    /// whose plan has no VNI.
    pub tunnel: Option<PortId>,
    /// The gateway's port (`gw10`), for IP-in-IP.
    pub gateway: Option<PortId>,
    /// The scenario.
    pub scenario: OverlayScenario,
    /// Frames injected so far.
    pub injected: u64,
    batch: Batch,
    shared: Cache<SharedFdb, Arc<FdbTable>>,
    rng: XorShift64,
    hosts: u32,
    vtep_mac: MacAddr,
    /// The frame the access port receives (for IP-in-IP, to the gateway).
    inner: [u8; FRAME_LEN],
    /// The packet the underlay port receives (decap).
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
        let spec = scenario.spec(FdbSpec::default().max_entries.max(2 * hosts));
        let mut sim = SwitchSim::with_chunks(&spec, CHUNKS).expect("overlay benchmark spec compiles");
        sim.now = NOW;
        let bd = sim.plan.domain(0, VLAN).expect("VLAN domain exists");
        let ov = sim.plan.overlay.as_ref().expect("plan has an overlay");
        let vtep_mac = ov.vteps[0].mac;
        let gateway_mac = ov.gateways.first().map(|g| g.mac);
        let tunnel_name = match scenario {
            OverlayScenario::GeneveEncap { .. } => Some(format!("geneve{VNI}@{REMOTE_VTEP}")),
            OverlayScenario::IpipEncap { .. } => None,
            _ => Some(format!("vxlan{VNI}@{REMOTE_VTEP}")),
        };
        let tunnel = tunnel_name.map(|n| sim.plan.port_id(&n).expect("tunnel port exists"));
        let gateway = gateway_mac.map(|_| sim.plan.port_id(&format!("gw{VLAN}")).expect("gateway port exists"));

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
        let mut inner = inner_template();
        let mut outer = match scenario {
            OverlayScenario::GeneveEncap { .. } => geneve_template(vtep_mac, &inner),
            _ => vxlan_template(vtep_mac, &inner),
        };
        let table = if let Some(tunnel) = tunnel {
            // Remote MACs, learned from what the remote sends: remote i to
            // local host i, a batch at a time (the switch learns after each
            // batch).
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
                let remote = table.lookup(FdbKey::new(bd, remote_mac(i))).map(|h| h.port());
                assert_eq!(remote, Some(tunnel), "remote {i}");
            }
            assert_eq!(sim.writer.stats().entries, 2 * hosts as u64, "prefill");
            table
        } else {
            // IP-in-IP: the hosts' frames go to the gateway's MAC, which the
            // plan put on the gateway's port.
            assert!(hosts <= MAX_ROUTED_HOSTS, "{hosts} hosts do not fit the gateway's /{GATEWAY_PREFIX_LEN}");
            let (gateway, gateway_mac) = (gateway.expect("gateway port"), gateway_mac.expect("gateway"));
            inner = routed_template(gateway_mac);
            let table = sim.writer.shared().load_full();
            assert_eq!(table.lookup(FdbKey::new(bd, gateway_mac)).map(|h| h.port()), Some(gateway), "gateway MAC");
            assert_eq!(sim.pipeline.counters().snapshot().total_drops(), 0, "prefill");
            table
        };
        for i in 0..hosts {
            assert_eq!(table.lookup(FdbKey::new(bd, host_mac(i))).map(|h| h.port()), Some(ACCESS), "local {i}");
        }
        sim.io.set_capture(false);
        assert_eq!(sim.io.chunks_in_use(), 0);

        let shared = Cache::new(SharedFdb(sim.writer.shared()));
        OverlayDriver {
            sim,
            bd,
            tunnel,
            gateway,
            scenario,
            injected: 0,
            batch,
            shared,
            rng: XorShift64::new(seed),
            hosts,
            vtep_mac,
            inner,
            outer,
        }
    }

    /// Writes the next [`BATCH`] frames into the in-memory ports and moves
    /// them into the batch (the rx side; not part of the pipeline's cost).
    #[inline]
    pub fn inject_batch(&mut self) {
        let n = self.hosts as u64;
        let dsts = match self.scenario {
            OverlayScenario::IpipEncap { .. } => REMOTE_ADDRS as u64,
            _ => n,
        };
        for _ in 0..BATCH {
            let (src, dst) = (self.rng.below(n) as u32, self.rng.below(dsts) as u32);
            let ok = match self.scenario {
                OverlayScenario::Encap { .. } | OverlayScenario::GeneveEncap { .. } => {
                    let f = &mut self.inner;
                    f[0..6].copy_from_slice(&remote_mac(dst).0);
                    f[6..12].copy_from_slice(&host_mac(src).0);
                    self.sim.io.inject(ACCESS, f)
                }
                OverlayScenario::IpipEncap { .. } => {
                    set_routed_addrs(&mut self.inner, src, dst);
                    self.sim.io.inject(ACCESS, &self.inner)
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
        if self.scenario.encaps() {
            UNDERLAY
        } else {
            ACCESS
        }
    }

    /// The length of every frame that leaves: [`VXLAN_FRAME_LEN`],
    /// [`GENEVE_FRAME_LEN`], [`IPIP_FRAME_LEN`], or for decap the inner
    /// [`FRAME_LEN`].
    pub fn egress_frame_len(&self) -> usize {
        match self.scenario {
            OverlayScenario::Encap { .. } => VXLAN_FRAME_LEN,
            OverlayScenario::GeneveEncap { .. } => GENEVE_FRAME_LEN,
            OverlayScenario::IpipEncap { .. } => IPIP_FRAME_LEN,
            OverlayScenario::Decap { .. } => FRAME_LEN,
        }
    }

    /// Runs one more batch with capture on (not measured: call it after the
    /// measured batches, or outside any timing) and checks every frame that
    /// left, byte by byte: [`BATCH`] frames, all on [`Self::egress`], each
    /// encapsulated (or decapsulated) as the scenario says and carrying
    /// the frame that was sent; nothing dropped, no buffer leaked. Capture
    /// is off again afterwards.
    pub fn verify_batch(&mut self) -> Result<(), String> {
        let c0 = self.sim.pipeline.counters().snapshot();
        self.sim.io.set_capture(true);
        self.step();
        let out = self.sim.take_all_tx();
        self.sim.io.set_capture(false);
        let c1 = self.sim.pipeline.counters().snapshot();
        if c1.total_drops() != c0.total_drops() {
            return Err(format!("{} frames dropped", c1.total_drops() - c0.total_drops()));
        }
        if out.len() != BATCH {
            return Err(format!("{} frames left for {BATCH} sent", out.len()));
        }
        for (i, (port, f)) in out.iter().enumerate() {
            if *port != self.egress() {
                return Err(format!("frame {i} left on port {} instead of {}", port.0, self.egress().0));
            }
            self.check_frame(f).map_err(|e| format!("frame {i}: {e}"))?;
        }
        if self.sim.io.chunks_in_use() != 0 {
            return Err(format!("{} chunks leaked", self.sim.io.chunks_in_use()));
        }
        Ok(())
    }

    /// Checks one frame that left on [`Self::egress`].
    fn check_frame(&self, f: &[u8]) -> Result<(), String> {
        let want = |what: &str, ok: bool| if ok { Ok(()) } else { Err(format!("bad {what}")) };
        want("length", f.len() == self.egress_frame_len())?;
        let template = inner_template();
        let is_local = |m: &[u8]| m[..2] == host_mac(0).0[..2];
        let is_remote = |m: &[u8]| m[..2] == remote_mac(0).0[..2];
        if !self.scenario.encaps() {
            want("inner MACs", is_local(&f[0..6]) && is_remote(&f[6..12]))?;
            return want("inner frame", f[12..] == template[12..]);
        }
        let eth = EthernetFrame::new_checked(f).map_err(|e| e.to_string())?;
        want(
            "outer Ethernet",
            (eth.dst_addr(), eth.src_addr(), eth.ethertype())
                == (VtepPlan::default_mac(REMOTE_VTEP), self.vtep_mac, EtherType::IPV4),
        )?;
        let ip = Ipv4Packet::new_checked(&f[14..]).map_err(|e| e.to_string())?;
        want("outer IPv4 checksum", ip.verify_checksum())?;
        want("outer IPv4 addresses", (ip.src_addr(), ip.dst_addr()) == (LOCAL_VTEP, REMOTE_VTEP))?;
        want("outer IPv4 length", usize::from(ip.total_len()) == f.len() - 14)?;
        if let OverlayScenario::IpipEncap { .. } = self.scenario {
            want("outer protocol", ip.protocol() == IpProtocol::IPIP)?;
            want("DF and TOS copied", ip.dont_frag() && ip.tos() == 0)?;
            let inner = Ipv4Packet::new_checked(ip.payload()).map_err(|e| e.to_string())?;
            want("inner IPv4 checksum", inner.verify_checksum())?;
            want("inner TTL", inner.ttl() == 63)?;
            let (src, dst) = (u32::from(inner.src_addr()), u32::from(inner.dst_addr()));
            let (first, remote) = (u32::from(host_ip(0)), u32::from(REMOTE_SUBNET));
            want("inner source", (first..first + self.hosts).contains(&src))?;
            want("inner destination", (remote + 1..=remote + REMOTE_ADDRS).contains(&dst))?;
            return want("inner packet", inner.payload() == &template[34..]);
        }
        want("outer protocol", ip.protocol() == IpProtocol::UDP)?;
        let udp = UdpPacket::new_checked(ip.payload()).map_err(|e| e.to_string())?;
        let payload = if let OverlayScenario::GeneveEncap { .. } = self.scenario {
            want("UDP port", udp.dst_port() == GENEVE_PORT)?;
            let g = GenevePacket::new_checked(udp.payload()).map_err(|e| e.to_string())?;
            want(
                "Geneve header",
                (g.version(), g.critical(), g.oam(), g.protocol_type(), g.vni())
                    == (0, false, false, PROTOCOL_ETHERNET, VNI),
            )?;
            let opts: Vec<GeneveOptionSpec> = g
                .options()
                .map(|o| {
                    o.map(|o| GeneveOptionSpec {
                        class: o.class(),
                        option_type: o.option_type(),
                        data: o.data().to_vec(),
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            want("Geneve options", opts == geneve_options() && g.options_len() == GENEVE_OPTIONS_LEN)?;
            g.payload().to_vec()
        } else {
            want("UDP port", udp.dst_port() == VXLAN_PORT)?;
            let vx = VxlanPacket::new_checked(udp.payload()).map_err(|e| e.to_string())?;
            want("VNI", vx.vni() == VNI)?;
            vx.payload().to_vec()
        };
        want("inner MACs", is_remote(&payload[0..6]) && is_local(&payload[6..12]))?;
        want("inner frame", payload[12..] == template[12..])
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

        let outer = geneve_template(MacAddr([2, 0, 0, 0, 0, 1]), &inner);
        let ip = Ipv4Packet::new_checked(&outer[14..]).unwrap();
        assert!(ip.verify_checksum());
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((udp.dst_port(), usize::from(udp.len())), (GENEVE_PORT, 8 + 8 + FRAME_LEN));
        let g = GenevePacket::new_checked(udp.payload()).unwrap();
        assert_eq!((g.version(), g.options_len(), g.protocol_type(), g.vni()), (0, 0, PROTOCOL_ETHERNET, VNI));
        assert_eq!(g.payload(), &inner[..]);

        let mut routed = routed_template(MacAddr([2, 0, 0, 0, 0, 9]));
        set_routed_addrs(&mut routed, 999, REMOTE_ADDRS - 1);
        let ip = Ipv4Packet::new_checked(&routed[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr()), (Ipv4Addr::new(10, 10, 3, 233), Ipv4Addr::new(10, 20, 0, 254)));
        assert_eq!((&routed[..6], &routed[6..12]), (&[2, 0, 0, 0, 0, 9][..], &host_mac(999).0[..]));
        assert_eq!(&routed[34..], &inner[34..]);
        assert_eq!(geneve_options().iter().map(|o| 4 + o.data.len()).sum::<usize>(), GENEVE_OPTIONS_LEN);
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
        d.verify_batch().unwrap();
    }

    #[test]
    fn geneve_encap_sends_every_frame_with_its_options_on_the_underlay() {
        let mut d = OverlayDriver::new(OverlayScenario::GeneveEncap { hosts: 1_000 }, 7);
        assert_eq!((d.tunnel, d.gateway), (d.sim.plan.port_id("geneve100@192.168.100.2"), None));
        let c0 = d.sim.pipeline.counters().snapshot();
        let c = run(&mut d, 100);
        let n = 100 * BATCH as u64;
        assert_eq!(c.packets - c0.packets, n);
        assert_eq!((c.encapsulated - c0.encapsulated, c.forwarded - c0.forwarded), (n, n));
        assert_eq!((c.learn_events - c0.learn_events, c.total_drops(), c.unknown_unicast), (0, 0, 0));
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_packets, n);
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_bytes, n * GENEVE_FRAME_LEN as u64);
        assert_eq!(d.sim.writer.stats().refreshed, 0);
        assert_eq!(d.sim.io.chunks_in_use(), 0);
        // Every frame of a batch: Geneve to the remote, the two options in
        // order, the frame as sent (see `check_frame`).
        d.verify_batch().unwrap();
    }

    #[test]
    fn ipip_encap_routes_every_frame_into_ip_in_ip_on_the_underlay() {
        let mut d = OverlayDriver::new(OverlayScenario::IpipEncap { hosts: 1_000 }, 7);
        assert_eq!((d.tunnel, d.gateway), (None, d.sim.plan.port_id("gw10")));
        let c0 = d.sim.pipeline.counters().snapshot();
        let c = run(&mut d, 100);
        let n = 100 * BATCH as u64;
        assert_eq!(c.packets - c0.packets, n);
        assert_eq!((c.encapsulated - c0.encapsulated, c.forwarded - c0.forwarded), (n, n));
        assert_eq!((c.learn_events - c0.learn_events, c.total_drops(), c.unknown_unicast), (0, 0, 0));
        assert_eq!((c.gateway_absorbed, c.gateway_replies, c.arp_requests), (0, 0, 0));
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_packets, n);
        assert_eq!(d.sim.io.port_stats()[UNDERLAY.index()].tx_bytes, n * IPIP_FRAME_LEN as u64);
        assert_eq!(d.sim.writer.stats().refreshed, 0);
        assert_eq!(d.sim.io.chunks_in_use(), 0);

        // What leaves: protocol 4 to the remote node, the inner packet with
        // its TTL decremented and its checksum still valid.
        d.sim.io.set_capture(true);
        d.step();
        let out = d.sim.io.take_tx(UNDERLAY);
        assert_eq!(out.len(), BATCH);
        let ip = Ipv4Packet::new_checked(&out[0][14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.protocol(), ip.src_addr(), ip.dst_addr()), (IpProtocol::IPIP, LOCAL_VTEP, REMOTE_VTEP));
        let inner = Ipv4Packet::new_checked(ip.payload()).unwrap();
        assert!(inner.verify_checksum());
        assert_eq!((inner.ttl(), inner.dst_addr().octets()[..3].to_vec()), (63, vec![10, 20, 0]));
        d.sim.io.set_capture(false);
        d.verify_batch().unwrap();
    }

    #[test]
    fn verify_batch_catches_what_does_not_leave_as_it_should() {
        // TTL 1: every frame is dropped, answered with a time exceeded.
        let mut d = OverlayDriver::new(OverlayScenario::IpipEncap { hosts: 100 }, 7);
        d.inner[22] = 1;
        assert!(d.verify_batch().unwrap_err().contains("dropped"));
        // The next hop at another MAC: encapsulated, but not to the remote.
        let mut d = OverlayDriver::new(OverlayScenario::GeneveEncap { hosts: 100 }, 7);
        assert!(d.sim.plan.overlay.as_ref().unwrap().neighbors.resolve(0, MacAddr([2, 0, 0, 0, 0, 0x66]), 0));
        assert!(d.verify_batch().unwrap_err().contains("outer Ethernet"));
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
        d.sim.io.set_capture(false);
        d.verify_batch().unwrap();
    }
}
