//! The plain description of the overlays: local VTEPs on underlay ports,
//! and VNIs that bridge a (bridge, VLAN) domain to remote VTEPs.
//!
//! This is the `config` crate's output (beside [`crate::bridge::SwitchSpec`])
//! and [`super::OverlayPlan::compile`]'s input. It carries names for error
//! messages; indexes refer to [`crate::bridge::SwitchSpec`]'s vectors.

use std::net::{IpAddr, Ipv4Addr};

use crate::types::{MacAddr, VlanId};

/// The IANA VXLAN port (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;
/// The IANA Geneve port (RFC 8926).
pub const GENEVE_PORT: u16 = 6081;
/// The outer TTL when none is configured (the kernel vxlan device's default
/// is 64 as well, via `ip_default_ttl`).
pub const DEFAULT_TTL: u8 = 64;
/// The UDP source-port range of RFC 7348's recommendation (the dynamic
/// ports), within which the inner flow's hash is spread.
pub const DEFAULT_SRC_PORTS: (u16, u16) = (49152, 65535);
/// The underlay MTU when none is configured.
pub const DEFAULT_UNDERLAY_MTU: u16 = 1500;

/// A local VXLAN tunnel endpoint: an address of ours on an underlay port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VtepSpec {
    /// Name used in stats, the CLI and errors.
    pub name: String,
    /// Index into [`crate::bridge::SwitchSpec::ports`] of the underlay port
    /// (a port in [`crate::bridge::PortMode::Underlay`]).
    pub port: usize,
    /// Our address, IPv4 or IPv6 (the VTEP's underlay family: its remotes,
    /// gateway and groups are of the same); xvs answers ARP or neighbour
    /// solicitations, and ICMP echo, for it.
    pub address: IpAddr,
    /// Prefix length of the underlay subnet: remotes inside it are on-link
    /// (their own MAC is the next hop), the others go through `gateway`.
    pub prefix_len: u8,
    /// Next hop for remotes outside the subnet.
    pub gateway: Option<IpAddr>,
    /// Our MAC on the underlay. `None`: the interface's own address (which
    /// `xvs run` reads); in memory, a locally administered one derived from
    /// the address.
    pub mac: Option<MacAddr>,
    /// A static MAC for every next hop of this VTEP: no ARP or neighbour
    /// solicitation is sent.
    pub nexthop_mac: Option<MacAddr>,
    /// UDP destination port of VXLAN, sent and accepted (4789; Linux's old
    /// default 8472 is allowed).
    pub udp_port: u16,
    /// UDP destination port of Geneve, sent and accepted (6081).
    pub geneve_port: u16,
    /// Outer TTL.
    pub ttl: u8,
    /// Outer DSCP; `None`: copied from the inner IP header (0 for non-IP).
    pub dscp: Option<u8>,
    /// Compute the outer UDP checksum over IPv4 (RFC 7348 allows zero, the
    /// default). Over IPv6 it is always computed (RFC 8200 section 8.1).
    pub udp_checksum: bool,
    /// Verify a non-zero UDP checksum of received packets. Off by default:
    /// a Linux sender behind a veth with TX checksum offload on leaves the
    /// checksum unfinished (CHECKSUM_PARTIAL), and the inner frame carries
    /// its own checksums.
    pub verify_udp_checksum: bool,
    /// Inclusive range of UDP source ports the inner flow's hash picks from.
    pub src_ports: (u16, u16),
    /// The underlay's IP MTU: an encapsulated frame above it is dropped
    /// (overlays never fragment).
    pub mtu: u16,
    /// Seconds a resolved next hop is trusted without hearing from it: then
    /// the VTEP asks again (ARP, or a neighbour solicitation) every second,
    /// and [`NEIGHBOR_PROBE_SECS`] later without an answer forgets its MAC,
    /// so that a next hop that changed its MAC silently, or went away, is
    /// found again rather than sent to for ever.
    pub neighbor_refresh_secs: u32,
}

/// The default of [`VtepSpec::neighbor_refresh_secs`].
pub const DEFAULT_NEIGHBOR_REFRESH_SECS: u32 = 60;
/// Seconds of unanswered requests after which a next hop's MAC is forgotten
/// (Linux's neighbour probing: a delay of 5 s, then 3 probes a second
/// apart, comes to about as long).
pub const NEIGHBOR_PROBE_SECS: u32 = 5;

impl VtepSpec {
    /// A VTEP with every optional setting at its default.
    pub fn new(name: &str, port: usize, address: impl Into<IpAddr>, prefix_len: u8) -> VtepSpec {
        VtepSpec {
            name: name.to_string(),
            port,
            address: address.into(),
            prefix_len,
            gateway: None,
            mac: None,
            nexthop_mac: None,
            udp_port: VXLAN_PORT,
            geneve_port: GENEVE_PORT,
            ttl: DEFAULT_TTL,
            dscp: None,
            udp_checksum: false,
            verify_udp_checksum: false,
            src_ports: DEFAULT_SRC_PORTS,
            mtu: DEFAULT_UNDERLAY_MTU,
            neighbor_refresh_secs: DEFAULT_NEIGHBOR_REFRESH_SECS,
        }
    }
}

/// A remote MAC pinned to a remote VTEP of a VNI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteMacSpec {
    /// The address.
    pub mac: MacAddr,
    /// The remote VTEP it sits behind; must be one of the VNI's remotes or
    /// allowed sources.
    pub remote: IpAddr,
}

/// The tunnel header a VNI is carried in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encap {
    /// VXLAN (RFC 7348), on the VTEP's `udp_port`.
    #[default]
    Vxlan,
    /// Geneve (RFC 8926), on the VTEP's `geneve_port`.
    Geneve,
}

/// What a VNI does with a received inner frame that carries a VLAN tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InnerVlan {
    /// Drop it, counted as `decap_inner_vlan` (RFC 7348 section 6.1: "SHOULD
    /// be discarded", since the tag would name a VLAN of another domain).
    #[default]
    Drop,
    /// Remove one tag (802.1Q or 802.1ad) and bridge the frame into the
    /// VNI's domain, for remotes that tag what they send (a kernel bridge
    /// with the vxlan port as a tagged member does). A frame with a second
    /// tag is still dropped.
    Strip,
}

/// A Geneve option a VNI puts on every packet it sends.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GeneveOptionSpec {
    /// Option class.
    pub class: u16,
    /// Option type; the high bit marks it critical.
    pub option_type: u8,
    /// Data: a multiple of 4 bytes, at most 124.
    pub data: Vec<u8>,
}

/// One overlay network: a VNI bridged to a (bridge, VLAN) domain.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VniSpec {
    /// The 24-bit VXLAN network identifier.
    pub vni: u32,
    /// Index into [`OverlaySpec::vteps`].
    pub vtep: usize,
    /// Index into [`crate::bridge::SwitchSpec::bridges`].
    pub bridge: usize,
    /// The VLAN of that bridge the VNI joins.
    pub vlan: VlanId,
    /// Remote VTEPs that receive the VNI's floods (head-end replication);
    /// also allowed as sources.
    pub remotes: Vec<IpAddr>,
    /// Further remote VTEPs accepted as sources, but not flooded to.
    pub allowed: Vec<IpAddr>,
    /// Remote MACs that never age or move.
    pub static_macs: Vec<RemoteMacSpec>,
    /// A multicast group that receives the VNI's floods instead of each
    /// remote (as the kernel's `vxlan ... group`): the VTEP joins it on the
    /// underlay (IGMPv3, or MLDv2 over IPv6) and accepts the VNI's packets
    /// sent to it. `remotes` are then the allowed sources, and known unicast
    /// still goes to the remote a MAC was learned behind.
    pub group: Option<IpAddr>,
    /// Remote learning off (the config's `learning = false`): MACs behind
    /// remote VTEPs are only the static ones, and unknown unicast floods.
    pub no_learning: bool,
    /// VXLAN or Geneve.
    pub encap: Encap,
    /// Options sent on every Geneve packet of this VNI (none for VXLAN).
    pub geneve_options: Vec<GeneveOptionSpec>,
    /// Received inner frames with a VLAN tag: dropped, or the tag removed.
    pub inner_vlan: InnerVlan,
    /// ARP suppression for the VNI's domain: the IPv4 subnet (prefix
    /// length 16-32) whose hosts' addresses xvs snoops and answers ARP
    /// requests for, so they are not flooded across the overlay.
    pub arp_suppression: Option<(Ipv4Addr, u8)>,
    /// Addresses of that subnet whose MAC is configured: answered, never
    /// replaced by snooping, never aged.
    pub arp_static: Vec<(Ipv4Addr, MacAddr)>,
}

/// An L3 gateway of a (bridge, VLAN) domain: the hosts' default router
/// towards the IP-in-IP routes (RFC 2003), as a Calico node is for its pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySpec {
    /// Index into [`crate::bridge::SwitchSpec::bridges`].
    pub bridge: usize,
    /// The VLAN of that bridge it routes for.
    pub vlan: VlanId,
    /// Its address in the domain's subnet; xvs answers ARP for it.
    pub address: Ipv4Addr,
    /// Prefix length of the domain's subnet (16..=30): the hosts that
    /// decapsulated packets are delivered to.
    pub prefix_len: u8,
    /// Its MAC. `None`: a locally administered one derived from the address.
    pub mac: Option<MacAddr>,
    /// Hosts pinned to a MAC (the others are learned by snooping ARP).
    pub neighbors: Vec<(Ipv4Addr, MacAddr)>,
}

/// A remote subnet reached through IP-in-IP: packets a gateway routes to it
/// are encapsulated towards `via` (the remote node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// The subnet's address.
    pub prefix: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The remote node: the outer destination, and the one allowed source
    /// of packets from that subnet.
    pub via: Ipv4Addr,
    /// Index into [`OverlaySpec::vteps`] of the local endpoint (its address,
    /// which must be IPv4, is the outer source).
    pub vtep: usize,
}

/// Every overlay of a switch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OverlaySpec {
    /// Local VTEPs.
    pub vteps: Vec<VtepSpec>,
    /// VNIs.
    pub vnis: Vec<VniSpec>,
    /// L3 gateways of domains.
    pub gateways: Vec<GatewaySpec>,
    /// IP-in-IP routes.
    pub routes: Vec<RouteSpec>,
}

impl OverlaySpec {
    /// True when nothing is configured (the L2-only switch).
    pub fn is_empty(&self) -> bool {
        self.vteps.is_empty() && self.vnis.is_empty() && self.gateways.is_empty() && self.routes.is_empty()
    }
}
