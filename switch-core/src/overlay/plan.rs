//! The compiled overlay: local VTEPs, one tunnel port per (VNI, remote
//! VTEP), their header templates, and the next hops they resolve.
//!
//! A tunnel port is an ordinary port of the [`ForwardingPlan`] (it has a
//! [`crate::bridge::PortPlan`], is a member of its VNI's domain, sends that
//! domain untagged, and sits in the domain's flood list when the remote is
//! a flood target), numbered after the physical ports. So the FDB learns
//! remote MACs against a port id, as any other MAC; floods replicate to
//! remote VTEPs as to any port (head-end replication); and only the sending
//! side (`pipeline/encap.rs`) knows a tunnel port from a physical one.
//!
//! [`ForwardingPlan`]: crate::bridge::ForwardingPlan

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::spec::{Encap, OverlaySpec, VtepSpec};
use crate::types::{BdId, MacAddr, PortId};

pub use super::template::{offset, offset6, MAX_ENCAP_LEN, VXLAN4_ENCAP_LEN, VXLAN6_ENCAP_LEN};
/// "No VTEP" in [`OverlayPlan`]'s per-port map.
const NO_VTEP: u16 = u16::MAX;

/// A local VTEP, compiled.
#[derive(Clone, Debug)]
pub struct VtepPlan {
    /// Name.
    pub name: String,
    /// The underlay port.
    pub port: PortId,
    /// Our address (IPv4 or IPv6: the VTEP's underlay family).
    pub address: IpAddr,
    /// Prefix length of the underlay subnet.
    pub prefix_len: u8,
    /// Next hop for off-link remotes.
    pub gateway: Option<IpAddr>,
    /// Our MAC on the underlay.
    pub mac: MacAddr,
    /// UDP destination port of VXLAN.
    pub udp_port: u16,
    /// UDP destination port of Geneve.
    pub geneve_port: u16,
    /// Outer TTL.
    pub ttl: u8,
    /// Outer DSCP, or `None` to copy the inner one.
    pub dscp: Option<u8>,
    /// Compute outer UDP checksums (always true over IPv6).
    pub udp_checksum: bool,
    /// Verify received non-zero UDP checksums.
    pub verify_udp_checksum: bool,
    /// Lowest UDP source port.
    pub src_port_lo: u16,
    /// Number of UDP source ports (`hi - lo + 1`).
    pub src_port_span: u32,
    /// Underlay IP MTU.
    pub mtu: u16,
    /// [`super::VtepSpec::neighbor_refresh_secs`].
    pub neighbor_refresh_secs: u32,
}

impl VtepPlan {
    /// The MAC a VTEP without a configured one uses in memory (replay,
    /// tests): locally administered, unicast, ending in the address (its
    /// last four bytes, for IPv6).
    pub fn default_mac(address: impl Into<IpAddr>) -> MacAddr {
        let [a, b, c, d] = match address.into() {
            IpAddr::V4(v4) => v4.octets(),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                [o[12], o[13], o[14], o[15]]
            }
        };
        MacAddr([0x02, 0x58, a, b, c, d])
    }

    /// True when `ip` is inside this VTEP's subnet (never for an address
    /// of the other family).
    pub fn on_link(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                same_prefix(u32::from(a).into(), u32::from(b).into(), 32, self.prefix_len)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => same_prefix(a.into(), b.into(), 128, self.prefix_len),
            _ => false,
        }
    }

    /// The IPv4 address, for a VTEP of an IPv4 underlay.
    #[inline]
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        match self.address {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }
    }

    /// The IPv6 address, for a VTEP of an IPv6 underlay.
    #[inline]
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        match self.address {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }
}

/// A VNI of a local VTEP, compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VniPlan {
    /// The VNI.
    pub vni: u32,
    /// The header it is carried in: packets in the other are not its own.
    pub encap: Encap,
    /// Its multicast group, if any: the only group its packets may be
    /// sent to.
    pub group: Option<IpAddr>,
    /// Index into [`OverlayPlan::vteps`].
    pub vtep: u16,
    /// The bridge domain it joins.
    pub bd: BdId,
}

/// One tunnel port: a (VNI, remote VTEP) pair.
#[derive(Clone, Debug)]
pub struct TunnelPlan {
    /// Port name, `vxlan<VNI>@<remote>`.
    pub name: String,
    /// Its port id.
    pub port: PortId,
    /// Index into [`OverlayPlan::vteps`].
    pub vtep: u16,
    /// The VNI.
    pub vni: u32,
    /// VXLAN or Geneve.
    pub encap: Encap,
    /// The domain.
    pub bd: BdId,
    /// The remote VTEP (of its VTEP's family).
    pub remote: IpAddr,
    /// What its VNI does with tagged inner frames.
    pub inner_vlan: super::spec::InnerVlan,
    /// True when the remote receives the domain's floods.
    pub flood: bool,
    /// Index into [`Neighbors`] of the next hop towards `remote`.
    pub nexthop: u16,
    /// The outer headers with every per-frame field zero (next-hop MAC,
    /// TOS, lengths, checksums, source port): [`VXLAN4_ENCAP_LEN`] bytes
    /// for VXLAN over IPv4 ([`VXLAN6_ENCAP_LEN`] over IPv6), more for
    /// Geneve with options.
    pub template: Vec<u8>,
    /// Over IPv4, the one's-complement sum of the template's IPv4 header,
    /// to which encap adds the per-frame fields before it folds the
    /// checksum. Over IPv6, the sum of what the UDP checksum covers that
    /// never changes: the pseudo header's addresses and next header, the
    /// destination port and the tunnel header.
    pub ip_sum: u32,
}

/// An L3 gateway of a domain, compiled.
#[derive(Debug)]
pub struct GatewayPlan {
    /// The domain it routes for.
    pub bd: BdId,
    /// Its port (a member of `bd`).
    pub port: PortId,
    /// Its address.
    pub address: Ipv4Addr,
    /// The domain's prefix length.
    pub prefix_len: u8,
    /// Its MAC.
    pub mac: MacAddr,
    /// The domain's hosts: IP → MAC.
    pub hosts: HostTable,
}

/// ARP suppression in one VNI's domain: the addresses of its subnet and
/// their MACs, snooped from ARP (and configured).
#[derive(Debug)]
pub struct Suppression {
    /// The domain.
    pub bd: BdId,
    /// The VNI it is bridged to.
    pub vni: u32,
    /// IP → MAC, with the second each was last seen.
    pub hosts: HostTable,
}

/// An IP-in-IP route, compiled.
#[derive(Clone, Debug)]
pub struct RoutePlan {
    /// The subnet's address, masked.
    pub net: u32,
    /// Its prefix length.
    pub len: u8,
    /// The remote node.
    pub via: Ipv4Addr,
    /// Index into [`OverlayPlan::vteps`].
    pub vtep: u16,
    /// Index into [`Neighbors`] of the next hop towards `via`.
    pub nexthop: u16,
    /// Outer Ethernet and IPv4 headers, per-frame fields zero.
    pub template: [u8; super::template::IPIP_ENCAP_LEN],
    /// The one's-complement sum of the template's IPv4 header.
    pub ip_sum: u32,
}

/// The hosts of a gateway's subnet: one MAC word per address of the
/// subnet, indexed by the host part, so that reads and writes are single
/// atomic words (no locks, no torn IP/MAC pairs). Learned from ARP by the
/// worker that sees it (a store only when the MAC changed, as with
/// [`Neighbors`]); pinned entries are never replaced.
#[derive(Debug)]
pub struct HostTable {
    net: u32,
    macs: Box<[AtomicU64]>,
    /// Per slot, the worker clock's second it was last learned or
    /// confirmed, for aging (see [`HostTable::learn_at`]).
    seen: Box<[AtomicU32]>,
}

/// How long a snooped host is vouched for before a confirming ARP is
/// written again: as the FDB's learn cache, a store per host every
/// minute at most rather than per ARP.
const SEEN_REFRESH_SECS: u32 = 60;

/// Bit 62 of a [`HostTable`] word: configured, never replaced.
const PINNED: u64 = 1 << 62;

impl HostTable {
    /// The table of `address`'s subnet (prefix lengths below 16 are taken
    /// as 16, which bounds it to 65,536 words).
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> HostTable {
        let len = prefix_len.clamp(16, 32);
        let net = u32::from(address) & prefix_mask(len);
        let size = 1usize << (32 - u32::from(len));
        HostTable {
            net,
            macs: (0..size).map(|_| AtomicU64::new(0)).collect(),
            seen: (0..size).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// A copy with the MACs as they are now, sharing nothing.
    pub fn snapshot(&self) -> HostTable {
        HostTable {
            net: self.net,
            macs: self.macs.iter().map(|m| AtomicU64::new(m.load(Ordering::Relaxed))).collect(),
            seen: self.seen.iter().map(|m| AtomicU32::new(m.load(Ordering::Relaxed))).collect(),
        }
    }

    /// `ip`'s slot, if it is in the subnet.
    pub fn index(&self, ip: Ipv4Addr) -> Option<usize> {
        let off = u32::from(ip).wrapping_sub(self.net) as usize;
        (off < self.macs.len()).then_some(off)
    }

    /// `ip`'s MAC, if known.
    #[inline]
    pub fn get(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        let w = self.macs.get(self.index(ip)?)?.load(Ordering::Relaxed);
        (w & RESOLVED != 0).then(|| MacAddr::from_u64(w & !PINNED))
    }

    /// Records `mac` for `ip` (in the subnet, not pinned). True when it
    /// changed; stores nothing otherwise.
    pub fn learn(&self, ip: Ipv4Addr, mac: MacAddr) -> bool {
        let Some(slot) = self.index(ip).and_then(|i| self.macs.get(i)) else { return false };
        let w = mac.to_u64() | RESOLVED;
        let old = slot.load(Ordering::Relaxed);
        if old & PINNED != 0 || old == w {
            return false;
        }
        slot.store(w, Ordering::Relaxed);
        true
    }

    /// [`HostTable::learn`], also stamping the entry as seen at `now_s`
    /// when it changed or its stamp is older than a minute. True when the
    /// MAC changed.
    pub fn learn_at(&self, ip: Ipv4Addr, mac: MacAddr, now_s: u32) -> bool {
        let changed = self.learn(ip, mac);
        if let Some(seen) = self.index(ip).and_then(|i| self.seen.get(i)) {
            let at = seen.load(Ordering::Relaxed);
            if changed || now_s.wrapping_sub(at) >= SEEN_REFRESH_SECS {
                seen.store(now_s, Ordering::Relaxed);
            }
        }
        changed
    }

    /// Forgets the learned hosts last seen more than `max_age` seconds
    /// before `now_s` (pinned ones stay). Returns how many. The control
    /// thread's aging pass; a worker learning the same host at that moment
    /// may lose its store, and the host's next ARP brings it back.
    pub fn age(&self, now_s: u32, max_age: u32) -> usize {
        let mut n = 0;
        for (mac, seen) in self.macs.iter().zip(self.seen.iter()) {
            let w = mac.load(Ordering::Relaxed);
            let stale = now_s.wrapping_sub(seen.load(Ordering::Relaxed)) > max_age;
            if w & RESOLVED != 0
                && w & PINNED == 0
                && stale
                && mac.compare_exchange(w, 0, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            {
                n += 1;
            }
        }
        n
    }

    /// Removes `ip` (learned or pinned). True when it was there.
    pub fn forget(&self, ip: Ipv4Addr) -> bool {
        match self.index(ip).and_then(|i| self.macs.get(i)) {
            Some(slot) => slot.swap(0, Ordering::Relaxed) & RESOLVED != 0,
            None => false,
        }
    }

    /// Seconds since `ip` was last seen, for listings.
    pub fn age_of(&self, ip: Ipv4Addr, now_s: u32) -> Option<u32> {
        let seen = self.seen.get(self.index(ip)?)?.load(Ordering::Relaxed);
        Some(now_s.wrapping_sub(seen))
    }

    /// Pins `ip` to `mac`.
    pub fn pin(&self, ip: Ipv4Addr, mac: MacAddr) {
        if let Some(slot) = self.index(ip).and_then(|i| self.macs.get(i)) {
            slot.store(mac.to_u64() | RESOLVED | PINNED, Ordering::Relaxed);
        }
    }

    /// Takes over the hosts `old` learned (not those it pinned), where this
    /// table covers the same subnet and has pinned nothing itself: a reload
    /// keeps what the gateway knows.
    pub fn adopt(&self, old: &HostTable) {
        if old.net != self.net || old.macs.len() != self.macs.len() {
            return;
        }
        for (new, old) in self.macs.iter().zip(old.macs.iter()) {
            let w = old.load(Ordering::Relaxed);
            if w & PINNED == 0 && new.load(Ordering::Relaxed) == 0 {
                new.store(w, Ordering::Relaxed);
            }
        }
        for (new, old) in self.seen.iter().zip(old.seen.iter()) {
            new.store(old.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Every known host: (address, MAC, pinned).
    pub fn entries(&self) -> Vec<(Ipv4Addr, MacAddr, bool)> {
        let mut out = Vec::new();
        for (i, w) in self.macs.iter().enumerate() {
            let w = w.load(Ordering::Relaxed);
            if w & RESOLVED != 0 {
                let ip = Ipv4Addr::from(self.net.wrapping_add(i as u32));
                out.push((ip, MacAddr::from_u64(w & !PINNED), w & PINNED != 0));
            }
        }
        out
    }
}

/// The mask of a prefix length (0..=32).
fn prefix_mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len.min(32))).unwrap_or(0)
}

/// A next hop's MAC, resolved by ARP (or configured).
#[derive(Debug)]
pub struct Neighbor {
    /// Index into [`OverlayPlan::vteps`] of the VTEP that reaches it.
    pub vtep: u16,
    /// Its address.
    pub ip: IpAddr,
    /// Configured, never replaced by ARP or neighbour discovery.
    pub is_static: bool,
    /// The MAC as [`MacAddr::to_u64`] with bit 63 set; 0 while unresolved.
    mac: AtomicU64,
    /// The second (plus one) the next hop last answered or announced
    /// itself; 0 before that.
    confirmed: AtomicU32,
}

/// Bit 63 of [`Neighbor`]'s word: resolved.
const RESOLVED: u64 = 1 << 63;

impl Neighbor {
    /// The resolved MAC, if any.
    #[inline]
    pub fn mac(&self) -> Option<MacAddr> {
        let w = self.mac.load(Ordering::Relaxed);
        (w & RESOLVED != 0).then(|| MacAddr::from_u64(w))
    }
}

/// Every next hop of every VTEP. Shared (`Arc`) between plans, because the
/// MACs are run-time state.
///
/// # Thread-safety
/// Workers read the MACs with relaxed loads, and the worker that sees ARP
/// from a next hop stores its MAC ([`Neighbors::resolve`]) only when it
/// changed: a rare plain store, never a read-modify-write, so in the
/// steady state the line is only read. A MAC word is one atomic, so a
/// reader sees an old or a new MAC, never half of one.
#[derive(Debug, Default)]
pub struct Neighbors {
    /// The next hops.
    pub entries: Vec<Neighbor>,
}

impl Neighbors {
    /// A copy with the MACs and times as they are now, sharing nothing.
    pub fn snapshot(&self) -> Neighbors {
        let entries = self
            .entries
            .iter()
            .map(|n| Neighbor {
                vtep: n.vtep,
                ip: n.ip,
                is_static: n.is_static,
                mac: AtomicU64::new(n.mac.load(Ordering::Relaxed)),
                confirmed: AtomicU32::new(n.confirmed.load(Ordering::Relaxed)),
            })
            .collect();
        Neighbors { entries }
    }

    /// Takes over `old`'s resolved MACs and times for the next hops both
    /// have (same VTEP index and address) that are not static here: a
    /// reload does not send the tunnels back to ARP.
    pub fn adopt(&self, old: &Neighbors) {
        for n in self.entries.iter().filter(|n| !n.is_static) {
            if let Some(o) = old.entries.iter().find(|o| o.vtep == n.vtep && o.ip == n.ip && !o.is_static) {
                n.mac.store(o.mac.load(Ordering::Relaxed), Ordering::Relaxed);
                n.confirmed.store(o.confirmed.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    }

    /// The index of (`vtep`, `ip`), if it is a next hop.
    pub fn find(&self, vtep: u16, ip: IpAddr) -> Option<u16> {
        self.entries.iter().position(|n| n.vtep == vtep && n.ip == ip).map(|i| i as u16)
    }

    /// The index of next hop (`vtep`, `ip`), added (with `mac` if it is
    /// configured) when it is new. For the plan's compiler.
    fn next_hop(&mut self, vtep: u16, ip: IpAddr, mac: Option<MacAddr>) -> u16 {
        if let Some(i) = self.find(vtep, ip) {
            return i;
        }
        self.entries.push(Neighbor {
            vtep,
            ip,
            is_static: mac.is_some(),
            mac: AtomicU64::new(mac.map_or(0, |m| m.to_u64() | RESOLVED)),
            confirmed: AtomicU32::new(0),
        });
        (self.entries.len() - 1) as u16
    }

    /// The MAC of next hop `i`, if resolved.
    #[inline]
    pub fn mac(&self, i: u16) -> Option<MacAddr> {
        self.entries.get(i as usize).and_then(Neighbor::mac)
    }

    /// Records `mac` for next hop `i`, heard from at second `now_s`
    /// (ignored for static entries). Returns true when the MAC changed. The
    /// time is stored at most once a second, the MAC only when it changed.
    pub fn resolve(&self, i: u16, mac: MacAddr, now_s: u32) -> bool {
        let Some(n) = self.entries.get(i as usize) else { return false };
        if n.is_static {
            return false;
        }
        let stamp = now_s.wrapping_add(1);
        if n.confirmed.load(Ordering::Relaxed) != stamp {
            n.confirmed.store(stamp, Ordering::Relaxed);
        }
        let w = mac.to_u64() | RESOLVED;
        if n.mac.load(Ordering::Relaxed) == w {
            return false;
        }
        n.mac.store(w, Ordering::Relaxed);
        true
    }

    /// Seconds since next hop `i` last answered, at second `now_s`; `None`
    /// for a static next hop, or one never heard from.
    pub fn age(&self, i: u16, now_s: u32) -> Option<u32> {
        let n = self.entries.get(i as usize).filter(|n| !n.is_static)?;
        match n.confirmed.load(Ordering::Relaxed) {
            0 => None,
            stamp => Some(now_s.wrapping_add(1).wrapping_sub(stamp)),
        }
    }

    /// Forgets next hop `i`'s MAC if it is still `mac` (a compare-exchange,
    /// so that a MAC another worker just stored is kept). True when it did.
    pub fn expire(&self, i: u16, mac: MacAddr) -> bool {
        let Some(n) = self.entries.get(i as usize).filter(|n| !n.is_static) else { return false };
        let w = mac.to_u64() | RESOLVED;
        n.mac.compare_exchange(w, 0, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

/// The compiled overlays of a plan.
#[derive(Debug)]
pub struct OverlayPlan {
    /// Local VTEPs.
    pub vteps: Vec<VtepPlan>,
    /// VNIs.
    pub vnis: Vec<VniPlan>,
    /// Tunnel ports; tunnel `i` is port `first_tunnel + i`.
    pub tunnels: Vec<TunnelPlan>,
    /// The first tunnel port's id (the number of physical ports).
    pub first_tunnel: u16,
    /// Next hops.
    pub neighbors: Arc<Neighbors>,
    /// (VTEP, multicast group) pairs the VTEPs join on the underlay.
    pub groups: Vec<(u16, IpAddr)>,
    /// L3 gateways; gateway `i` is port `first_gateway + i`.
    pub gateways: Vec<GatewayPlan>,
    /// The first gateway port's id (after the tunnel ports).
    pub first_gateway: u16,
    /// IP-in-IP routes, longest prefix first.
    pub routes: Vec<RoutePlan>,
    /// The domains with ARP suppression.
    pub suppression: Vec<Suppression>,
    /// Physical port id → index into `vteps`, or [`NO_VTEP`].
    vtep_of_port: Vec<u16>,
    /// (VTEP, VNI) → index into `vnis`.
    vni_index: FxHashMap<(u16, u32), u32>,
    /// Index into `vnis` and remote address → tunnel port: the
    /// source-VTEP allowlist. IPv4 keys are one word ([`Sources`]).
    sources: Sources,
}

impl OverlayPlan {
    /// Takes over `old`'s run-time state (next hops, gateway hosts) where
    /// this plan has the same next hops and gateway subnets.
    pub fn adopt_state(&self, old: &OverlayPlan) {
        self.neighbors.adopt(&old.neighbors);
        for g in &self.gateways {
            if let Some(o) = old.gateways.iter().find(|o| o.bd == g.bd && o.address == g.address) {
                g.hosts.adopt(&o.hosts);
            }
        }
        for s in &self.suppression {
            if let Some(o) = old.suppression.iter().find(|o| o.vni == s.vni && o.bd == s.bd) {
                s.hosts.adopt(&o.hosts);
            }
        }
    }

    /// The ARP suppression of domain `bd`, if it has it.
    #[inline]
    pub fn suppression(&self, bd: BdId) -> Option<&Suppression> {
        self.suppression.iter().find(|s| s.bd == bd)
    }

    /// A copy whose run-time state (next hops, gateway hosts) is a snapshot
    /// of this one's, so that what runs on the copy (`xvs trace --live`)
    /// cannot change what the workers see.
    pub fn detached(&self) -> OverlayPlan {
        let gateways = self
            .gateways
            .iter()
            .map(|g| GatewayPlan {
                bd: g.bd,
                port: g.port,
                address: g.address,
                prefix_len: g.prefix_len,
                mac: g.mac,
                hosts: g.hosts.snapshot(),
            })
            .collect();
        OverlayPlan {
            vteps: self.vteps.clone(),
            vnis: self.vnis.clone(),
            tunnels: self.tunnels.clone(),
            first_tunnel: self.first_tunnel,
            neighbors: Arc::new(self.neighbors.snapshot()),
            groups: self.groups.clone(),
            gateways,
            first_gateway: self.first_gateway,
            routes: self.routes.clone(),
            suppression: self
                .suppression
                .iter()
                .map(|s| Suppression { bd: s.bd, vni: s.vni, hosts: s.hosts.snapshot() })
                .collect(),
            vtep_of_port: self.vtep_of_port.clone(),
            vni_index: self.vni_index.clone(),
            sources: self.sources.clone(),
        }
    }
}

/// Why an overlay could not be compiled (the config crate reports these
/// first, with positions; this guards hand-built specs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverlayError {
    /// A VTEP's port is missing or not in underlay mode.
    NotUnderlay {
        /// VTEP name.
        vtep: String,
    },
    /// A VNI names a VTEP that does not exist, or repeats a VNI.
    BadVni {
        /// The VNI.
        vni: u32,
    },
    /// A route names a VTEP that does not exist.
    BadRoute {
        /// The route's remote node.
        via: Ipv4Addr,
    },
    /// A static remote MAC names a remote the VNI does not have.
    UnknownRemote {
        /// The VNI.
        vni: u32,
        /// The address.
        remote: IpAddr,
    },
    /// An address of a VNI or route is not of its VTEP's family (or a
    /// route's VTEP is not IPv4: IP-in-IP is an IPv4 encapsulation).
    WrongFamily {
        /// The VTEP.
        vtep: String,
        /// The address.
        address: IpAddr,
    },
}

impl core::fmt::Display for OverlayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OverlayError::NotUnderlay { vtep } => write!(f, "vtep {vtep:?}: its port is not an underlay port"),
            OverlayError::BadVni { vni } => write!(f, "vni {vni}: unknown vtep, or the VNI is repeated"),
            OverlayError::BadRoute { via } => write!(f, "route via {via}: unknown vtep"),
            OverlayError::UnknownRemote { vni, remote } => {
                write!(f, "vni {vni}: static MAC behind {remote}, which is not among the VNI's remotes")
            }
            OverlayError::WrongFamily { vtep, address } => {
                write!(f, "vtep {vtep:?}: {address} is not of the vtep's address family")
            }
        }
    }
}

/// What [`OverlayPlan::compile`] asks of the forwarding plan's compiler, and
/// gives back: tunnel ports to add (in order, from `first_tunnel`) and
/// static remote MACs.
#[derive(Debug)]
pub(crate) struct TunnelPorts {
    /// (name, bridge, domain, flood member, learns) per tunnel port.
    pub ports: Vec<(String, usize, BdId, bool, bool)>,
    /// (domain, MAC, tunnel port).
    pub statics: Vec<(BdId, MacAddr, PortId)>,
}

impl OverlayPlan {
    /// Compiles `spec`. `underlay[p]` says whether physical port `p` is in
    /// underlay mode; `domain_of(bridge, vlan)` gives (creating it when no
    /// port uses it) the domain of a VNI.
    pub(crate) fn compile(
        spec: &OverlaySpec,
        underlay: &[bool],
        mut domain_of: impl FnMut(usize, u16) -> Result<BdId, crate::bridge::PlanError>,
    ) -> Result<(OverlayPlan, TunnelPorts), crate::bridge::PlanError> {
        let first_tunnel = underlay.len() as u16;
        let mut vtep_of_port = vec![NO_VTEP; underlay.len()];
        let mut vteps = Vec::with_capacity(spec.vteps.len());
        for (i, v) in spec.vteps.iter().enumerate() {
            if !underlay.get(v.port).copied().unwrap_or(false) || vtep_of_port[v.port] != NO_VTEP {
                return Err(OverlayError::NotUnderlay { vtep: v.name.clone() }.into());
            }
            vtep_of_port[v.port] = i as u16;
            vteps.push(vtep_plan(v));
        }
        let mut neighbors = Neighbors::default();
        let mut vnis = Vec::new();
        let mut vni_index = FxHashMap::default();
        let mut sources = Sources::default();
        let mut tunnels = Vec::new();
        let mut groups = Vec::new();
        let mut suppression = Vec::new();
        let mut out = TunnelPorts { ports: Vec::new(), statics: Vec::new() };
        for v in &spec.vnis {
            let bad = || crate::bridge::PlanError::from(OverlayError::BadVni { vni: v.vni });
            let vtep = vteps.get(v.vtep).ok_or_else(bad)?;
            let vtep_i = v.vtep as u16;
            let bd = domain_of(v.bridge, v.vlan.0)?;
            let vni_i = vnis.len() as u32;
            if vni_index.insert((vtep_i, v.vni), vni_i).is_some() {
                return Err(bad());
            }
            vnis.push(VniPlan { vni: v.vni, encap: v.encap, group: v.group, vtep: vtep_i, bd });
            if let Some((net, len)) = v.arp_suppression {
                let hosts = HostTable::new(net, len);
                for &(ip, mac) in &v.arp_static {
                    hosts.pin(ip, mac);
                }
                suppression.push(Suppression { bd, vni: v.vni, hosts });
            }
            // With a group, the group is the one flood target, and the
            // remotes are sources (and unicast destinations) only.
            let unicast_flood = v.group.is_none();
            let remotes = v.remotes.iter().map(|r| (*r, unicast_flood)).chain(v.allowed.iter().map(|r| (*r, false)));
            let group = v.group.map(|g| (g, true));
            if let Some(g) = v.group {
                if !groups.contains(&(vtep_i, g)) {
                    groups.push((vtep_i, g));
                }
            }
            for (remote, flood) in remotes.chain(group) {
                let is_group = Some(remote) == v.group;
                if !is_group && sources.get(vni_i, remote).is_some() {
                    continue;
                }
                let port = PortId(first_tunnel + tunnels.len() as u16);
                if !is_group {
                    sources.insert(vni_i, remote, port);
                }
                let hop = if is_group || vtep.on_link(remote) { remote } else { vtep.gateway.unwrap_or(remote) };
                // A group's MAC is its multicast mapping (RFC 1112, RFC
                // 2464); a unicast next hop is resolved (ARP, neighbour
                // discovery), unless configured.
                let mac = if is_group { Some(multicast_mac(remote)) } else { spec.vteps[v.vtep].nexthop_mac };
                let nexthop = neighbors.next_hop(vtep_i, hop, mac);
                let wrong = || OverlayError::WrongFamily { vtep: vtep.name.clone(), address: remote };
                let (template, ip_sum) =
                    super::template::build(vtep, remote, v.vni, v.encap, &v.geneve_options).ok_or_else(wrong)?;
                let kind = match v.encap {
                    Encap::Vxlan => "vxlan",
                    Encap::Geneve => "geneve",
                };
                let name = format!("{kind}{}@{}", v.vni, remote);
                out.ports.push((name.clone(), v.bridge, bd, flood, !v.no_learning));
                tunnels.push(TunnelPlan {
                    name,
                    port,
                    vtep: vtep_i,
                    vni: v.vni,
                    encap: v.encap,
                    bd,
                    remote,
                    inner_vlan: v.inner_vlan,
                    flood,
                    nexthop,
                    template,
                    ip_sum,
                });
            }
            for s in &v.static_macs {
                let port =
                    sources.get(vni_i, s.remote).ok_or(OverlayError::UnknownRemote { vni: v.vni, remote: s.remote })?;
                out.statics.push((bd, s.mac, port));
            }
        }
        // Gateways follow the tunnel ports: each is an untagged member of
        // its domain and in its flood list (it must hear ARP), and its MAC is
        // a static entry on its port, so frames routed through it reach it
        // by the L2 path's own lookup.
        let first_gateway = first_tunnel + tunnels.len() as u16;
        let mut gateways = Vec::new();
        for (i, g) in spec.gateways.iter().enumerate() {
            let bd = domain_of(g.bridge, g.vlan.0)?;
            let port = PortId(first_gateway + i as u16);
            let mac = g.mac.unwrap_or_else(|| VtepPlan::default_mac(g.address));
            let hosts = HostTable::new(g.address, g.prefix_len);
            for (ip, m) in &g.neighbors {
                hosts.pin(*ip, *m);
            }
            out.ports.push((format!("gw{}", g.vlan.0), g.bridge, bd, true, true));
            out.statics.push((bd, mac, port));
            gateways.push(GatewayPlan { bd, port, address: g.address, prefix_len: g.prefix_len, mac, hosts });
        }
        let mut routes = Vec::new();
        for r in &spec.routes {
            let vtep = vteps.get(r.vtep).ok_or(OverlayError::BadRoute { via: r.via })?;
            let Some(local) = vtep.ipv4() else {
                return Err(OverlayError::WrongFamily { vtep: vtep.name.clone(), address: r.via.into() }.into());
            };
            let vtep_i = r.vtep as u16;
            let via = IpAddr::V4(r.via);
            let hop = if vtep.on_link(via) { via } else { vtep.gateway.unwrap_or(via) };
            let nexthop = neighbors.next_hop(vtep_i, hop, spec.vteps[r.vtep].nexthop_mac);
            let (template, ip_sum) = super::template::ipip(vtep, local, r.via);
            let len = r.prefix_len.min(32);
            let net = u32::from(r.prefix) & prefix_mask(len);
            routes.push(RoutePlan { net, len, via: r.via, vtep: vtep_i, nexthop, template, ip_sum });
        }
        routes.sort_by_key(|r| core::cmp::Reverse(r.len));
        let plan = OverlayPlan {
            vteps,
            vnis,
            tunnels,
            first_tunnel,
            neighbors: Arc::new(neighbors),
            groups,
            gateways,
            first_gateway,
            routes,
            suppression,
            vtep_of_port,
            vni_index,
            sources,
        };
        Ok((plan, out))
    }

    /// The VTEP on physical port `port`, if it is an underlay port.
    #[inline]
    pub fn vtep_of_port(&self, port: PortId) -> Option<(u16, &VtepPlan)> {
        let i = *self.vtep_of_port.get(port.index())?;
        self.vteps.get(i as usize).map(|v| (i, v))
    }

    /// The VNI `vni` of VTEP `vtep`, as an index into `vnis`, and its plan.
    #[inline]
    pub fn vni(&self, vtep: u16, vni: u32) -> Option<(u32, &VniPlan)> {
        let i = *self.vni_index.get(&(vtep, vni))?;
        self.vnis.get(i as usize).map(|p| (i, p))
    }

    /// The tunnel port of VNI index `vni` whose remote is `src`: the
    /// source-VTEP allowlist.
    #[inline]
    pub fn source(&self, vni: u32, src: IpAddr) -> Option<PortId> {
        self.sources.get(vni, src)
    }

    /// The gateway behind port `port`, if it is a gateway port.
    #[inline]
    pub fn gateway(&self, port: PortId) -> Option<&GatewayPlan> {
        self.gateways.get(port.0.checked_sub(self.first_gateway)? as usize)
    }

    /// The longest-prefix route to `dst`.
    pub fn route(&self, dst: Ipv4Addr) -> Option<&RoutePlan> {
        let d = u32::from(dst);
        self.routes.iter().find(|r| d & prefix_mask(r.len) == r.net)
    }

    /// The gateway whose subnet holds `ip`, for a packet decapsulated from
    /// a route: where it is delivered.
    pub fn gateway_for(&self, ip: Ipv4Addr) -> Option<&GatewayPlan> {
        self.gateways.iter().find(|g| g.hosts.index(ip).is_some())
    }

    /// True when `src` is the remote node of a route of VTEP `vtep`: the
    /// IP-in-IP source allowlist.
    pub fn ipip_source(&self, vtep: u16, src: Ipv4Addr) -> bool {
        self.routes.iter().any(|r| r.vtep == vtep && r.via == src)
    }

    /// True when VTEP `vtep` joined `group`.
    #[inline]
    pub fn joined(&self, vtep: u16, group: IpAddr) -> bool {
        self.groups.contains(&(vtep, group))
    }

    /// The tunnel behind port `port`, if it is a tunnel port.
    #[inline]
    pub fn tunnel(&self, port: PortId) -> Option<&TunnelPlan> {
        self.tunnels.get(port.0.checked_sub(self.first_tunnel)? as usize)
    }
}

fn vtep_plan(v: &VtepSpec) -> VtepPlan {
    let (lo, hi) = (v.src_ports.0.min(v.src_ports.1), v.src_ports.0.max(v.src_ports.1));
    VtepPlan {
        name: v.name.clone(),
        port: PortId(v.port as u16),
        address: v.address,
        prefix_len: v.prefix_len,
        gateway: v.gateway,
        mac: v.mac.unwrap_or_else(|| VtepPlan::default_mac(v.address)),
        udp_port: v.udp_port,
        geneve_port: v.geneve_port,
        ttl: v.ttl,
        dscp: v.dscp,
        udp_checksum: v.udp_checksum,
        verify_udp_checksum: v.verify_udp_checksum,
        src_port_lo: lo,
        src_port_span: u32::from(hi - lo) + 1,
        mtu: v.mtu,
        neighbor_refresh_secs: v.neighbor_refresh_secs,
    }
}

/// The Ethernet address of multicast group `g`: for IPv4, 01:00:5e and its
/// low 23 bits (RFC 1112 section 6.4); for IPv6, 33:33 and its low 32 bits
/// (RFC 2464 section 7).
pub fn multicast_mac(g: IpAddr) -> MacAddr {
    match g {
        IpAddr::V4(g) => {
            let [_, b, c, d] = g.octets();
            MacAddr([0x01, 0x00, 0x5e, b & 0x7f, c, d])
        }
        IpAddr::V6(g) => {
            let o = g.octets();
            MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
        }
    }
}

/// (VNI index, remote address) → tunnel port, one map per family so that
/// the common IPv4 lookup hashes a single `u64`.
#[derive(Debug, Clone, Default)]
struct Sources {
    v4: FxHashMap<u64, PortId>,
    v6: FxHashMap<(u32, u128), PortId>,
}

impl Sources {
    #[inline]
    fn get(&self, vni: u32, ip: IpAddr) -> Option<PortId> {
        match ip {
            IpAddr::V4(a) => self.v4.get(&(u64::from(vni) << 32 | u64::from(u32::from(a)))).copied(),
            IpAddr::V6(a) => self.v6.get(&(vni, u128::from(a))).copied(),
        }
    }

    fn insert(&mut self, vni: u32, ip: IpAddr, port: PortId) {
        match ip {
            IpAddr::V4(a) => self.v4.insert(u64::from(vni) << 32 | u64::from(u32::from(a)), port),
            IpAddr::V6(a) => self.v6.insert((vni, u128::from(a)), port),
        };
    }
}

/// True when `a` and `b` (addresses of `width` bits, right-aligned) share
/// their first `len` bits.
fn same_prefix(a: u128, b: u128, width: u32, len: u8) -> bool {
    let host_bits = width - u32::from(len).min(width);
    (a ^ b).checked_shr(host_bits).unwrap_or(0) == 0
}

impl From<OverlayError> for crate::bridge::PlanError {
    fn from(e: OverlayError) -> Self {
        crate::bridge::PlanError::Overlay(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{BridgeSpec, EgressTag, ForwardingPlan, PlanError, PortMode, PortSpec, SwitchSpec};
    use crate::overlay::spec::{RemoteMacSpec, VniSpec};
    use crate::types::VlanId;
    use crate::wire::checksum;
    use crate::wire::ipv4::Ipv4Packet;
    use crate::wire::udp::UdpPacket;
    use crate::wire::vxlan::VxlanPacket;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
    const R1: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 2);
    const R2: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
    const GW: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 254);

    fn port(name: &str, mode: PortMode) -> PortSpec {
        PortSpec { name: name.into(), interface: None, bridge: 0, mode, mac_limit: None, mtu: None }
    }

    fn spec() -> SwitchSpec {
        let mut vtep = VtepSpec::new("vtep0", 1, LOCAL, 24);
        vtep.gateway = Some(GW.into());
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        let vni = |vni, vlan, remotes: Vec<IpAddr>, allowed: Vec<IpAddr>| VniSpec {
            vni,
            vtep: 0,
            bridge: 0,
            vlan: VlanId(vlan),
            remotes,
            allowed,
            ..VniSpec::default()
        };
        let mut v100 = vni(100, 10, vec![R1.into(), R2.into()], vec![]);
        v100.static_macs.push(RemoteMacSpec { mac, remote: R2.into() });
        SwitchSpec {
            bridges: vec![BridgeSpec { name: "br0".into() }],
            ports: vec![port("h1", PortMode::Access { vlan: VlanId(10) }), port("uplink", PortMode::Underlay)],
            overlay: OverlaySpec {
                vteps: vec![vtep],
                vnis: vec![v100, vni(200, 20, vec![R1.into()], vec![R2.into()])],
                ..OverlaySpec::default()
            },
            ..SwitchSpec::default()
        }
    }

    /// A recompiled plan takes over resolved next hops, and a detached copy
    /// shares none of its run-time state.
    #[test]
    fn reloaded_plans_adopt_and_detached_copies_isolate_next_hops() {
        let old = ForwardingPlan::compile(&spec()).unwrap();
        let ov = old.overlay.as_deref().unwrap();
        let hop = ov.neighbors.find(0, GW.into()).unwrap();
        let mac = MacAddr([2, 0, 0, 0, 0, 0x77]);
        ov.neighbors.resolve(hop, mac, 50);
        let new = ForwardingPlan::compile(&spec()).unwrap();
        let nv = new.overlay.as_deref().unwrap();
        assert_eq!(nv.neighbors.mac(hop), None);
        new.adopt_state(&old);
        assert_eq!((nv.neighbors.mac(hop), nv.neighbors.age(hop, 52)), (Some(mac), Some(2)));
        let copy = new.detached();
        let cv = copy.overlay.as_deref().unwrap();
        assert_eq!(cv.neighbors.mac(hop), Some(mac));
        cv.neighbors.resolve(hop, MacAddr([2, 0, 0, 0, 0, 0x78]), 60);
        assert_eq!(nv.neighbors.mac(hop), Some(mac), "the copy changed the original");
    }

    #[test]
    fn tunnel_ports_join_their_domains_and_flood_lists() {
        let plan = ForwardingPlan::compile(&spec()).unwrap();
        let ov = plan.overlay.as_deref().unwrap();
        assert_eq!(ov.first_tunnel, 2);
        let names: Vec<_> = plan.ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "h1",
                "uplink",
                "vxlan100@192.168.100.2",
                "vxlan100@10.9.9.9",
                "vxlan200@192.168.100.2",
                "vxlan200@10.9.9.9"
            ]
        );
        let bd10 = plan.domain(0, 10).unwrap();
        // VLAN 20 has no local port: the VNI alone makes its domain.
        let bd20 = plan.domain(0, 20).unwrap();
        let flood = |bd: BdId| plan.domains[bd.index()].flood.iter().map(|m| m.port.0).collect::<Vec<_>>();
        assert_eq!(flood(bd10), [0, 2, 3]);
        // An allowed-only source is a member (unicast reaches it) but not flooded to.
        assert_eq!(flood(bd20), [4]);
        assert_eq!(plan.ports[5].egress[bd20.index()], EgressTag::Untagged);
        // The underlay port is in no domain.
        assert!(plan.ports[1].egress.iter().all(|t| *t == EgressTag::NotMember));
        assert_eq!(plan.port_tagging(PortId(3)).unwrap().untagged_in, bd10);
        assert_eq!(plan.statics.last().map(|s| (s.bd, s.port)), Some((bd10, PortId(3))));
        // Lookups the decap stage makes.
        let (vi, v) = ov.vni(0, 200).unwrap();
        assert_eq!(v.bd, bd20);
        assert_eq!(ov.source(vi, R2.into()), Some(PortId(5)));
        assert_eq!(ov.source(vi, LOCAL.into()), None);
        assert!(ov.vni(0, 300).is_none());
        assert_eq!(ov.vtep_of_port(PortId(1)).map(|(i, _)| i), Some(0));
        assert!(ov.vtep_of_port(PortId(0)).is_none());
        assert_eq!(ov.tunnel(PortId(4)).map(|t| (t.vni, t.remote)), Some((200, R1.into())));
        assert!(ov.tunnel(PortId(1)).is_none());
    }

    #[test]
    fn next_hops_are_on_link_remotes_or_the_gateway() {
        let plan = ForwardingPlan::compile(&spec()).unwrap();
        let ov = plan.overlay.as_deref().unwrap();
        let hops: Vec<_> = ov.neighbors.entries.iter().map(|n| n.ip).collect();
        assert_eq!(hops, [R1, GW]);
        assert_eq!(ov.tunnels.iter().map(|t| t.nexthop).collect::<Vec<_>>(), [0, 1, 0, 1]);
        let n = &ov.neighbors;
        assert_eq!(n.mac(0), None);
        let mac = MacAddr([2, 1, 2, 3, 4, 5]);
        assert_eq!(n.age(0, 10), None, "never heard from");
        assert!(n.resolve(0, mac, 10));
        assert!(!n.resolve(0, mac, 12), "no change");
        assert_eq!(n.mac(0), Some(mac));
        assert_eq!((n.age(0, 12), n.age(0, 20)), (Some(0), Some(8)), "heard from at 12");
        assert!(!n.expire(0, MacAddr([2, 9, 9, 9, 9, 9])), "only the MAC it still has");
        assert!(n.expire(0, mac));
        assert_eq!(n.mac(0), None);
        assert_eq!(n.find(0, GW.into()), Some(1));

        let mut s = spec();
        s.overlay.vteps[0].nexthop_mac = Some(mac);
        let plan = ForwardingPlan::compile(&s).unwrap();
        let n = &plan.overlay.as_deref().unwrap().neighbors;
        assert_eq!(n.mac(1), Some(mac));
        assert!(!n.resolve(1, MacAddr([2, 0, 0, 0, 0, 1]), 0), "a static next hop is never replaced");
        assert!(!n.expire(1, mac), "nor forgotten");
        assert_eq!((n.mac(1), n.age(1, 100)), (Some(mac), None));
    }

    #[test]
    fn the_template_is_a_valid_header_once_lengths_are_in() {
        let plan = ForwardingPlan::compile(&spec()).unwrap();
        let t = &plan.overlay.as_deref().unwrap().tunnels[0];
        let mut h = t.template.clone();
        let mut ip = Ipv4Packet::new_unchecked(&mut h[offset::IP..offset::UDP]);
        ip.set_total_len(20 + 8 + 8 + 64);
        let sum = checksum::combine(t.ip_sum, u32::from(20u16 + 8 + 8 + 64));
        ip.set_checksum(!checksum::fold(sum));
        assert!(ip.verify_checksum());
        assert!(ip.dont_frag());
        assert_eq!((ip.src_addr(), ip.dst_addr(), ip.ttl()), (LOCAL, R1, 64));
        let vx = VxlanPacket::new_checked(&h[offset::TUNNEL..]).unwrap();
        assert!(vx.i_flag());
        assert_eq!(vx.vni(), 100);
        assert_eq!(UdpPacket::new_unchecked(&h[offset::UDP..offset::TUNNEL]).dst_port(), 4789);
    }

    #[test]
    fn inconsistent_specs_are_refused() {
        let mut s = spec();
        s.ports[1].mode = PortMode::Access { vlan: VlanId(10) };
        assert!(matches!(ForwardingPlan::compile(&s), Err(PlanError::Overlay(OverlayError::NotUnderlay { .. }))));
        let mut s = spec();
        s.overlay.vnis[1].vni = 100;
        assert!(matches!(ForwardingPlan::compile(&s), Err(PlanError::Overlay(OverlayError::BadVni { vni: 100 }))));
        let mut s = spec();
        s.overlay.vnis[0].static_macs[0].remote = Ipv4Addr::new(1, 2, 3, 4).into();
        assert!(matches!(ForwardingPlan::compile(&s), Err(PlanError::Overlay(OverlayError::UnknownRemote { .. }))));
    }
}
