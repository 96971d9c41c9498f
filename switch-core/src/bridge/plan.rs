//! The compiled forwarding plan: what classify and output read per frame.
//!
//! Compiling assigns a dense [`BdId`] to every (bridge, VLAN) any port uses and
//! builds, per port, a 4096-entry VLAN-to-domain array and a per-domain egress
//! tag array. Classify is then one array load; output one more. Plans are
//! immutable once built; the control plane publishes a new one (RCU-style)
//! when the configuration changes.

use std::collections::HashMap;

use super::spec::{PortMode, SwitchSpec};
use crate::flow::FlowPlan;
use crate::overlay::plan::{OverlayError, OverlayPlan};
use crate::types::{BdId, MacAddr, PortId, VlanId};
use crate::wire::EtherType;
use std::sync::Arc;

/// What a port does to a frame of a given domain on the way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EgressTag {
    /// The port is not a member of the domain.
    #[default]
    NotMember,
    /// Send without a tag.
    Untagged,
    /// Send with a tag `tpid` / `vid` in front of the frame's own EtherType.
    Tagged {
        /// 0x8100 or 0x88a8.
        tpid: u16,
        /// VLAN id written into the tag.
        vid: u16,
    },
}

/// How a port classifies received frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngressRule {
    /// Look at the outer tag (TPID `tpid`): tagged frames use the VLAN array,
    /// untagged (and priority-tagged) frames go to `untagged`, if set.
    Vlan {
        /// The TPID this port recognises as a VLAN tag.
        tpid: u16,
        /// Domain of untagged and priority-tagged frames (`BdId::NONE`: drop).
        untagged: BdId,
    },
    /// Every frame enters `bd` unchanged, its own tags kept as payload
    /// (802.1ad customer port).
    Tunnel {
        /// The S-VLAN's domain.
        bd: BdId,
    },
}

/// What the per-frame stages read of a port, packed into 8 bytes (the
/// [`PortPlan`] it is derived from spans 80 bytes and several pointers):
/// classify's [`IngressRule`], and the one domain the port sends untagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PortTagging {
    /// Domain of untagged (and priority-tagged) frames, or of every frame on
    /// a dot1q-tunnel port; `BdId::NONE`: drop them.
    pub untagged_in: BdId,
    /// The domain whose frames the port sends untagged, when there is
    /// exactly one (an access port's VLAN, a trunk's untagged native VLAN, a
    /// dot1q-tunnel port's S-VLAN); otherwise, and in the table of a plan
    /// with a port whose [`PortPlan::max_frame`] is larger, `BdId::NONE`,
    /// and output reads [`PortPlan::egress`] (and checks the length).
    pub untagged_out: BdId,
    /// The TPID the port recognises, as its two wire bytes loaded
    /// little-endian (the form parse reads the EtherType in), or
    /// [`PortTagging::NO_TPID`], which no EtherType equals.
    pub tpid_wire: u32,
}

impl PortTagging {
    /// Above every 16-bit EtherType: a dot1q-tunnel port takes every frame,
    /// tagged or not, as payload of its S-VLAN.
    pub const NO_TPID: u32 = 1 << 16;

    /// What [`ForwardingPlan::tagging_of`] gives for a port the plan does
    /// not have: no domain either way, and the TPID 0. (An EtherType of 0
    /// therefore counts as a tag there, and classify's tagged path, which
    /// looks the port up anyway, drops it as an unknown port.)
    pub const UNKNOWN: PortTagging = PortTagging { untagged_in: BdId::NONE, untagged_out: BdId::NONE, tpid_wire: 0 };

    /// The tagging as four `u16`s in the order of its fields (`UNKNOWN` is
    /// all zeros), for [`TaggingTable`].
    fn to_halves(self) -> [u16; 4] {
        let [t0, t1] = [self.tpid_wire as u16, (self.tpid_wire >> 16) as u16];
        [self.untagged_in.0, self.untagged_out.0, t0, t1]
    }

    /// The inverse of `to_halves`. Each field is read on its own (the TPID's
    /// two halves with one load), so a caller that uses one field reads
    /// only that.
    #[inline(always)]
    fn from_halves(h: &[u16; 4]) -> PortTagging {
        PortTagging { untagged_in: BdId(h[0]), untagged_out: BdId(h[1]), tpid_wire: h[2] as u32 | (h[3] as u32) << 16 }
    }

    /// The packed form of `port`.
    pub fn of(port: &PortPlan) -> PortTagging {
        let (tpid_wire, untagged_in) = match port.ingress {
            IngressRule::Vlan { tpid, untagged } => (u16::from_le_bytes(tpid.to_be_bytes()) as u32, untagged),
            IngressRule::Tunnel { bd } => (Self::NO_TPID, bd),
        };
        let mut untagged = port.egress.iter().enumerate().filter(|(_, t)| **t == EgressTag::Untagged);
        let untagged_out = match (untagged.next(), untagged.next()) {
            (Some((bd, _)), None) => BdId(bd as u16),
            _ => BdId::NONE,
        };
        PortTagging { tpid_wire, untagged_in, untagged_out }
    }
}

/// One port of the compiled plan.
#[derive(Clone, Debug)]
pub struct PortPlan {
    /// Port name.
    pub name: String,
    /// Index of the port's bridge.
    pub bridge: usize,
    /// Ingress classification.
    pub ingress: IngressRule,
    /// VLAN id (of the recognised TPID) to domain; `BdId::NONE` = not allowed.
    /// Always 4096 entries, so indexing by a 12-bit VID cannot go out of bounds.
    pub vid_to_bd: Box<[BdId]>,
    /// Domain to egress tagging; `NotMember` for domains the port is not in.
    /// One entry per domain, index 0 unused.
    pub egress: Box<[EgressTag]>,
    /// Per-port FDB limit.
    pub mac_limit: Option<u32>,
    /// The longest frame the port sends ([`super::PortSpec::max_frame`]); a
    /// longer one is dropped as `egress_too_big`. `u16::MAX` for tunnel
    /// ports, whose encapsulation checks the underlay's MTU itself.
    pub max_frame: u16,
    /// False for a port whose MACs are never learned (the tunnels of a VNI
    /// with remote learning off): only static entries point to it.
    pub learning: bool,
}

/// A member of a domain's flood list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodMember {
    /// The port.
    pub port: PortId,
    /// Its tagging for this domain.
    pub tag: EgressTag,
}

/// One bridge domain.
#[derive(Clone, Debug)]
pub struct DomainPlan {
    /// Bridge index.
    pub bridge: usize,
    /// VLAN within the bridge.
    pub vlan: VlanId,
    /// Ports that receive this domain's floods (split horizon: the ingress
    /// port is skipped at flood time), in port order, so the physical ports
    /// come before the tunnel ports.
    pub flood: Vec<FloodMember>,
    /// How many of `flood` are physical ports: a frame from a remote VTEP
    /// floods to these only (VTEPs of a VNI form one full mesh, and each
    /// remote floods to the others itself).
    pub flood_local: usize,
}

/// A static FDB entry, resolved to ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticEntry {
    /// Domain.
    pub bd: BdId,
    /// Address.
    pub mac: MacAddr,
    /// Port.
    pub port: PortId,
}

/// Why a spec could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// More than 65534 (bridge, VLAN) pairs are in use.
    TooManyDomains,
    /// More than 4096 ports.
    TooManyPorts,
    /// A port names a bridge index that does not exist.
    UnknownBridge {
        /// Port name.
        port: String,
    },
    /// A static MAC's port is not a member of its VLAN.
    StaticNotMember {
        /// The address.
        mac: MacAddr,
        /// The VLAN.
        vlan: VlanId,
        /// Port name.
        port: String,
    },
    /// A static MAC names a port index that does not exist.
    UnknownStaticPort {
        /// The address.
        mac: MacAddr,
    },
    /// The overlay section is inconsistent.
    Overlay(OverlayError),
}

impl core::fmt::Display for PlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlanError::TooManyDomains => f.write_str("more than 65534 bridge domains (bridge, VLAN pairs) in use"),
            PlanError::TooManyPorts => f.write_str("more than 4096 ports"),
            PlanError::UnknownBridge { port } => write!(f, "port {port:?} names a bridge that does not exist"),
            PlanError::StaticNotMember { mac, vlan, port } => {
                write!(f, "static MAC {mac}: port {port:?} is not a member of VLAN {vlan}")
            }
            PlanError::UnknownStaticPort { mac } => write!(f, "static MAC {mac} names a port that does not exist"),
            PlanError::Overlay(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// The immutable tables workers forward with.
#[derive(Clone, Debug)]
pub struct ForwardingPlan {
    /// Ports, indexed by [`PortId`].
    pub ports: Vec<PortPlan>,
    /// Domains, indexed by [`BdId`]; entry 0 is a placeholder.
    pub domains: Vec<DomainPlan>,
    /// Bridge names, by index.
    pub bridges: Vec<String>,
    /// Static FDB entries.
    pub statics: Vec<StaticEntry>,
    /// The overlays: VTEPs, VNIs and the tunnel ports, which follow the
    /// physical ports in `ports`. `None` for an L2-only switch, whose
    /// batches then never leave today's L2 path.
    pub overlay: Option<Arc<OverlayPlan>>,
    /// The first tunnel port's id: `ports.len()` when there is no overlay.
    pub first_tunnel: u16,
    /// The smallest [`PortPlan::max_frame`]: output looks up the egress
    /// port's limit only for frames longer than this.
    pub shortest_max_frame: u16,
    /// The flow rules, compiled against this plan's ports (see
    /// [`ForwardingPlan::with_flows`]). `None` when there are none, and then
    /// no batch pays anything for them.
    pub flows: Option<Arc<FlowPlan>>,
    by_bridge_vlan: HashMap<(usize, u16), BdId>,
    /// Per port, what classify and output read per frame (derived from
    /// `ports`).
    tagging: TaggingTable,
}

/// Every port id's [`PortTagging`] ([`PortTagging::to_halves`]):
/// one entry for each of the 65536 possible ids, so that looking up any
/// [`PortId`] needs no bounds check (on every frame, classify looks up its
/// ingress port and output its egress port). Ids the plan does not have
/// hold 0, [`PortTagging::UNKNOWN`].
///
/// 512 KiB, shared by the plans that differ only in their flow rules; the
/// per-frame reads touch only the first pages, those of the ports in use
/// (8 bytes a port).
#[derive(Clone)]
struct TaggingTable(Arc<[[u16; 4]; TaggingTable::LEN]>);

impl TaggingTable {
    const LEN: usize = 1 << u16::BITS;

    fn new(ports: &[PortPlan], first_tunnel: usize) -> TaggingTable {
        // `vec!` of zeros allocates zeroed memory (for arrays of integers
        // too); an array literal of this size would be built on the stack.
        let mut table: Box<[[u16; 4]; Self::LEN]> =
            vec![[0u16; 4]; Self::LEN].into_boxed_slice().try_into().expect("a slice of LEN entries");
        // A port whose frames may be shorter than another's gives up the
        // untagged fast path, whose frames keep their length: the output's
        // other paths check each frame against the egress port's
        // `max_frame`. With one MTU on every port, nothing is checked. Only
        // domain members count: an underlay port's frames are encapsulated
        // or decapsulated, never switched as they are.
        let member = |p: &&PortPlan| p.egress.iter().any(|t| *t != EgressTag::NotMember);
        let largest = ports.iter().filter(member).map(|p| p.max_frame).filter(|&m| m != u16::MAX).max().unwrap_or(0);
        // Tunnel and gateway ports (from `first_tunnel` on) never take it
        // either: their frames are encapsulated or routed on the way out,
        // so the fast path's send needs no test for them
        // (`PortTx::send_switched`).
        for (i, (entry, port)) in table.iter_mut().zip(ports).enumerate() {
            let mut tagging = PortTagging::of(port);
            if port.max_frame < largest || i >= first_tunnel {
                tagging.untagged_out = BdId::NONE;
            }
            *entry = tagging.to_halves();
        }
        // Shared, so that a plan that differs only in its flow rules costs
        // no copy of it.
        TaggingTable(Arc::from(table))
    }
}

impl core::fmt::Debug for TaggingTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TaggingTable { .. }")
    }
}

/// Highest usable domain id; 0xffff stays unassigned.
const MAX_DOMAINS: usize = 0xfffe;
/// Most ports a plan may have, so port ids are below 4096 (the FDB's slot
/// encoding relies on it).
pub const MAX_PORTS: usize = 4096;
/// Size of a per-port VLAN array: every 12-bit VID.
const VID_SPACE: usize = 4096;

impl ForwardingPlan {
    /// Compiles a spec. The spec is expected to be validated by the config
    /// crate; this still refuses anything that would make the tables wrong.
    pub fn compile(spec: &SwitchSpec) -> Result<ForwardingPlan, PlanError> {
        if spec.ports.len() > MAX_PORTS {
            return Err(PlanError::TooManyPorts);
        }
        let mut domains = vec![DomainPlan { bridge: usize::MAX, vlan: VlanId(0), flood: Vec::new(), flood_local: 0 }];
        let mut by_bridge_vlan: HashMap<(usize, u16), BdId> = HashMap::new();
        let mut domain_of = |bridge: usize, vlan: u16, domains: &mut Vec<DomainPlan>| -> Result<BdId, PlanError> {
            if let Some(bd) = by_bridge_vlan.get(&(bridge, vlan)) {
                return Ok(*bd);
            }
            if domains.len() > MAX_DOMAINS {
                return Err(PlanError::TooManyDomains);
            }
            let bd = BdId(domains.len() as u16);
            domains.push(DomainPlan { bridge, vlan: VlanId(vlan), flood: Vec::new(), flood_local: 0 });
            by_bridge_vlan.insert((bridge, vlan), bd);
            Ok(bd)
        };

        // First pass: assign domains and per-port (vid -> bd, bd -> tag) pairs.
        // (domain, tagging, in the flood list) per port.
        let mut memberships: Vec<Vec<(BdId, EgressTag, bool)>> = Vec::with_capacity(spec.ports.len());
        let mut port_plans = Vec::with_capacity(spec.ports.len());
        for port in &spec.ports {
            if port.bridge >= spec.bridges.len() {
                return Err(PlanError::UnknownBridge { port: port.name.clone() });
            }
            let b = port.bridge;
            let mut vid_to_bd = vec![BdId::NONE; VID_SPACE].into_boxed_slice();
            let mut members = Vec::new();
            let ingress = match &port.mode {
                PortMode::Access { vlan } => {
                    let bd = domain_of(b, vlan.0, &mut domains)?;
                    members.push((bd, EgressTag::Untagged, true));
                    IngressRule::Vlan { tpid: EtherType::VLAN, untagged: bd }
                }
                PortMode::Trunk { allowed, native, native_tagged, tpid } => {
                    for vid in allowed.iter() {
                        let bd = domain_of(b, vid, &mut domains)?;
                        vid_to_bd[vid as usize] = bd;
                        let untag = Some(VlanId(vid)) == *native && !native_tagged;
                        let tag = if untag { EgressTag::Untagged } else { EgressTag::Tagged { tpid: *tpid, vid } };
                        members.push((bd, tag, true));
                    }
                    let untagged = match native {
                        Some(v) => {
                            let bd = domain_of(b, v.0, &mut domains)?;
                            if !allowed.contains(v.0) {
                                // The config crate rejects a native VLAN outside
                                // the allowed list; a hand-built spec still gets a
                                // consistent plan.
                                let tag = if *native_tagged {
                                    EgressTag::Tagged { tpid: *tpid, vid: v.0 }
                                } else {
                                    EgressTag::Untagged
                                };
                                members.push((bd, tag, true));
                            }
                            bd
                        }
                        None => BdId::NONE,
                    };
                    IngressRule::Vlan { tpid: *tpid, untagged }
                }
                PortMode::Dot1qTunnel { s_vlan } => {
                    let bd = domain_of(b, s_vlan.0, &mut domains)?;
                    members.push((bd, EgressTag::Untagged, true));
                    IngressRule::Tunnel { bd }
                }
                // No domain: the overlay's underlay pre-pass takes every
                // frame before classify would see it.
                PortMode::Underlay => IngressRule::Vlan { tpid: EtherType::VLAN, untagged: BdId::NONE },
            };
            memberships.push(members);
            port_plans.push(PortPlan {
                name: port.name.clone(),
                bridge: b,
                ingress,
                vid_to_bd,
                egress: Box::new([]),
                mac_limit: port.mac_limit,
                max_frame: port.max_frame(),
                learning: true,
            });
        }

        // Tunnel ports follow the physical ports: each is a member of its
        // VNI's domain, sending it untagged (the VXLAN payload is the
        // untagged inner frame), and floods reach it when its remote is in
        // the VNI's flood list.
        let mut overlay = None;
        let mut tunnel_statics = Vec::new();
        if !spec.overlay.is_empty() {
            let underlay: Vec<bool> = spec.ports.iter().map(|p| p.mode == PortMode::Underlay).collect();
            let (ov, tunnels) = OverlayPlan::compile(&spec.overlay, &underlay, |b, v| domain_of(b, v, &mut domains))?;
            if port_plans.len() + tunnels.ports.len() > MAX_PORTS {
                return Err(PlanError::TooManyPorts);
            }
            for (name, bridge, bd, flood, learning) in tunnels.ports {
                memberships.push(vec![(bd, EgressTag::Untagged, flood)]);
                port_plans.push(PortPlan {
                    name,
                    bridge,
                    ingress: IngressRule::Vlan { tpid: EtherType::VLAN, untagged: bd },
                    vid_to_bd: vec![BdId::NONE; VID_SPACE].into_boxed_slice(),
                    egress: Box::new([]),
                    mac_limit: None,
                    max_frame: u16::MAX,
                    learning,
                });
            }
            tunnel_statics = tunnels.statics;
            overlay = Some(Arc::new(ov));
        }

        let first_tunnel = spec.ports.len();
        // Second pass: now that the domain count is known, size egress arrays
        // and build flood lists (in port order, so floods are deterministic).
        for (i, members) in memberships.into_iter().enumerate() {
            let mut egress = vec![EgressTag::NotMember; domains.len()].into_boxed_slice();
            for (bd, tag, flood) in members {
                egress[bd.index()] = tag;
                if flood {
                    let d = &mut domains[bd.index()];
                    d.flood.push(FloodMember { port: PortId(i as u16), tag });
                    if i < first_tunnel {
                        d.flood_local += 1;
                    }
                }
            }
            port_plans[i].egress = egress;
        }

        let mut statics = Vec::new();
        for s in &spec.fdb.static_macs {
            let port = spec.ports.get(s.port).ok_or(PlanError::UnknownStaticPort { mac: s.mac })?;
            let not_member = || PlanError::StaticNotMember { mac: s.mac, vlan: s.vlan, port: port.name.clone() };
            let bd = *by_bridge_vlan.get(&(s.bridge, s.vlan.0)).ok_or_else(not_member)?;
            if port_plans[s.port].egress[bd.index()] == EgressTag::NotMember {
                return Err(not_member());
            }
            statics.push(StaticEntry { bd, mac: s.mac, port: PortId(s.port as u16) });
        }
        statics.extend(tunnel_statics.into_iter().map(|(bd, mac, port)| StaticEntry { bd, mac, port }));

        let tagging = TaggingTable::new(&port_plans, first_tunnel);
        let shortest_max_frame = port_plans.iter().map(|p| p.max_frame).min().unwrap_or(u16::MAX);
        Ok(ForwardingPlan {
            ports: port_plans,
            domains,
            bridges: spec.bridges.iter().map(|b| b.name.clone()).collect(),
            statics,
            overlay,
            first_tunnel: first_tunnel as u16,
            shortest_max_frame,
            flows: None,
            by_bridge_vlan,
            tagging,
        })
    }

    /// Port `port`'s packed tagging, or `None` for a port the plan does not
    /// have.
    pub fn port_tagging(&self, port: PortId) -> Option<PortTagging> {
        (port.index() < self.ports.len()).then(|| self.tagging_of(port))
    }

    /// Port `port`'s packed tagging, or [`PortTagging::UNKNOWN`] for a port
    /// the plan does not have: one load, no bounds check. For the per-frame
    /// stages, which let `UNKNOWN` send such a port's frames down their
    /// slow paths (where they are dropped as from or to an unknown port).
    #[inline(always)]
    pub fn tagging_of(&self, port: PortId) -> PortTagging {
        PortTagging::from_halves(&self.tagging.0[port.0 as usize])
    }

    /// The domain of (bridge index, VLAN), if any port uses it.
    pub fn domain(&self, bridge: usize, vlan: u16) -> Option<BdId> {
        self.by_bridge_vlan.get(&(bridge, vlan)).copied()
    }

    /// A bridge's index by name.
    pub fn bridge_index(&self, name: &str) -> Option<usize> {
        self.bridges.iter().position(|b| b == name)
    }

    /// A port's id by name.
    pub fn port_id(&self, name: &str) -> Option<PortId> {
        self.ports.iter().position(|p| p.name == name).map(|i| PortId(i as u16))
    }

    /// Takes over `old`'s overlay run-time state (resolved next hops,
    /// learned gateway hosts), for a reload that keeps the ids.
    pub fn adopt_state(&self, old: &ForwardingPlan) {
        if let (Some(new), Some(old)) = (self.overlay.as_deref(), old.overlay.as_deref()) {
            new.adopt_state(old);
        }
    }

    /// This plan with `flows` as its rules (compiled against it, or against
    /// a plan with the same ports). Cheap: the large tables are shared.
    pub fn with_flows(&self, flows: Option<Arc<FlowPlan>>) -> ForwardingPlan {
        ForwardingPlan { flows, ..self.clone() }
    }

    /// A copy whose overlay run-time state is a snapshot (see
    /// [`OverlayPlan::detached`](crate::overlay::OverlayPlan::detached)):
    /// frames run on it change nothing the workers read.
    pub fn detached(&self) -> ForwardingPlan {
        ForwardingPlan { overlay: self.overlay.as_deref().map(|ov| Arc::new(ov.detached())), ..self.clone() }
    }

    /// Human name of a domain, `bridge/vlan`.
    pub fn domain_name(&self, bd: BdId) -> String {
        match self.domains.get(bd.index()) {
            Some(d) if bd != BdId::NONE => format!("{}/{}", self.bridges[d.bridge], d.vlan),
            _ => "-".to_string(),
        }
    }

    /// Number of domains including the placeholder 0 (the length of
    /// per-domain arrays).
    pub fn domain_slots(&self) -> usize {
        self.domains.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::spec::{BridgeSpec, PortSpec, StaticMacSpec, VlanSet};

    fn port(name: &str, mode: PortMode) -> PortSpec {
        PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None, mtu: None }
    }

    fn spec() -> SwitchSpec {
        let mut allowed = VlanSet::new();
        allowed.insert(10);
        allowed.insert(20);
        SwitchSpec {
            bridges: vec![BridgeSpec { name: "br0".into() }],
            ports: vec![
                port("a", PortMode::Access { vlan: VlanId(10) }),
                port("b", PortMode::Access { vlan: VlanId(20) }),
                port("t", PortMode::Trunk { allowed, native: Some(VlanId(10)), native_tagged: false, tpid: 0x8100 }),
                port("q", PortMode::Dot1qTunnel { s_vlan: VlanId(30) }),
            ],
            ..SwitchSpec::default()
        }
    }

    #[test]
    fn domains_and_flood_lists() {
        let plan = ForwardingPlan::compile(&spec()).unwrap();
        let bd10 = plan.domain(0, 10).unwrap();
        let bd20 = plan.domain(0, 20).unwrap();
        let bd30 = plan.domain(0, 30).unwrap();
        assert_ne!(bd10, bd20);
        let flood10: Vec<_> = plan.domains[bd10.index()].flood.iter().map(|m| (m.port.0, m.tag)).collect();
        assert_eq!(flood10, vec![(0, EgressTag::Untagged), (2, EgressTag::Untagged)]);
        let flood20: Vec<_> = plan.domains[bd20.index()].flood.iter().map(|m| (m.port.0, m.tag)).collect();
        assert_eq!(flood20, vec![(1, EgressTag::Untagged), (2, EgressTag::Tagged { tpid: 0x8100, vid: 20 })]);
        assert_eq!(plan.domains[bd30.index()].flood.len(), 1);
        assert_eq!(plan.ports[2].vid_to_bd[20], bd20);
        assert_eq!(plan.ports[2].vid_to_bd[30], BdId::NONE);
        assert_eq!(plan.ports[0].egress[bd20.index()], EgressTag::NotMember);
        assert_eq!(plan.domain_name(bd20), "br0/20");
    }

    #[test]
    fn packed_tagging_agrees_with_the_port_plans() {
        let mut s = spec();
        let mut allowed = VlanSet::new();
        allowed.insert(10);
        s.ports
            .push(port("tt", PortMode::Trunk { allowed, native: Some(VlanId(10)), native_tagged: true, tpid: 0x88a8 }));
        let plan = ForwardingPlan::compile(&s).unwrap();
        let bd = |v| plan.domain(0, v).unwrap();
        let t = |p| plan.port_tagging(PortId(p)).unwrap();
        // The TPID in the form parse reads it: wire bytes loaded little-endian.
        let wire = |tpid: u16| u16::from_le_bytes(tpid.to_be_bytes()) as u32;
        assert_eq!(t(0), PortTagging { untagged_in: bd(10), untagged_out: bd(10), tpid_wire: wire(0x8100) });
        assert_eq!(t(1), PortTagging { untagged_in: bd(20), untagged_out: bd(20), tpid_wire: wire(0x8100) });
        // Trunk, native VLAN 10 untagged both ways.
        assert_eq!(t(2), PortTagging { untagged_in: bd(10), untagged_out: bd(10), tpid_wire: wire(0x8100) });
        // dot1q-tunnel: every frame is payload of the S-VLAN.
        assert_eq!(t(3), PortTagging { untagged_in: bd(30), untagged_out: bd(30), tpid_wire: PortTagging::NO_TPID });
        // Native VLAN sent tagged: untagged frames come in, none go out.
        assert_eq!(t(4), PortTagging { untagged_in: bd(10), untagged_out: BdId::NONE, tpid_wire: wire(0x88a8) });
        assert_eq!(plan.port_tagging(PortId(5)), None);
        // Every port's untagged_out is exactly its one Untagged egress entry.
        for (i, p) in plan.ports.iter().enumerate() {
            let untagged: Vec<_> = (0..p.egress.len()).filter(|&b| p.egress[b] == EgressTag::Untagged).collect();
            let out = t(i as u16).untagged_out;
            assert_eq!(untagged.len() == 1, out != BdId::NONE, "port {i}");
            assert!(out == BdId::NONE || untagged == [out.index()], "port {i}");
        }
    }

    #[test]
    fn static_must_be_member() {
        let mut s = spec();
        s.fdb.static_macs.push(StaticMacSpec {
            bridge: 0,
            vlan: VlanId(20),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            port: 0,
        });
        assert!(matches!(ForwardingPlan::compile(&s), Err(PlanError::StaticNotMember { .. })));
        s.fdb.static_macs[0].port = 1;
        let plan = ForwardingPlan::compile(&s).unwrap();
        assert_eq!(plan.statics[0].port, PortId(1));
    }

    #[test]
    fn separate_bridges_separate_domains() {
        let mut s = spec();
        s.bridges.push(BridgeSpec { name: "br1".into() });
        s.ports[1] = PortSpec { bridge: 1, ..port("b", PortMode::Access { vlan: VlanId(10) }) };
        let plan = ForwardingPlan::compile(&s).unwrap();
        assert_ne!(plan.domain(0, 10), plan.domain(1, 10));
    }
}
