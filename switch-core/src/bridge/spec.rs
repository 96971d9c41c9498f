//! The plain description of a switch: bridges, ports and their VLAN modes.
//!
//! This is the `config` crate's output and the [`super::plan`] compiler's
//! input. It carries names (for error messages and stats) but no runtime
//! tables.

use crate::types::{MacAddr, VlanId};

/// A set of VLAN ids 1..=4094, as a 4096-bit bitmap.
#[derive(Clone, PartialEq, Eq)]
pub struct VlanSet {
    bits: [u64; 64],
}

impl Default for VlanSet {
    fn default() -> Self {
        VlanSet { bits: [0; 64] }
    }
}

impl core::fmt::Debug for VlanSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VlanSet({})", self.to_ranges_string())
    }
}

impl VlanSet {
    /// The empty set.
    pub fn new() -> VlanSet {
        VlanSet::default()
    }

    /// Every usable VLAN, 1..=4094.
    pub fn all() -> VlanSet {
        let mut s = VlanSet::new();
        s.insert_range(VlanId::MIN, VlanId::MAX);
        s
    }

    /// Adds one VLAN (ids outside 1..=4094 are ignored; config rejects them first).
    pub fn insert(&mut self, vid: u16) {
        if (VlanId::MIN..=VlanId::MAX).contains(&vid) {
            self.bits[(vid / 64) as usize] |= 1 << (vid % 64);
        }
    }

    /// Adds `lo..=hi`.
    pub fn insert_range(&mut self, lo: u16, hi: u16) {
        for v in lo..=hi {
            self.insert(v);
        }
    }

    /// True when `vid` is in the set.
    #[inline]
    pub fn contains(&self, vid: u16) -> bool {
        vid < 4096 && self.bits[(vid / 64) as usize] & (1 << (vid % 64)) != 0
    }

    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (VlanId::MIN..=VlanId::MAX).filter(move |v| self.contains(*v))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Compact text such as `1-10,20,30-32`.
    pub fn to_ranges_string(&self) -> String {
        let mut out = String::new();
        let mut it = self.iter().peekable();
        while let Some(lo) = it.next() {
            let mut hi = lo;
            while it.peek() == Some(&(hi + 1)) {
                hi = it.next().unwrap_or(hi);
            }
            if !out.is_empty() {
                out.push(',');
            }
            if lo == hi {
                out.push_str(&lo.to_string());
            } else {
                out.push_str(&format!("{lo}-{hi}"));
            }
        }
        out
    }
}

/// How a port maps frames to VLANs (IEEE 802.1Q / 802.1ad port types).
// The trunk's 512-byte VLAN bitmap makes the variants unequal; specs are
// built once per config load, so boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Member of one VLAN; frames are untagged on the wire. Priority-tagged
    /// frames (VID 0) are accepted as that VLAN; any other tag is dropped.
    Access {
        /// The port's VLAN.
        vlan: VlanId,
    },
    /// Carries the `allowed` VLANs tagged with `tpid`.
    Trunk {
        /// VLANs carried.
        allowed: VlanSet,
        /// VLAN for untagged frames; without one, untagged frames are dropped.
        native: Option<VlanId>,
        /// Send native-VLAN frames tagged (they are still accepted untagged).
        native_tagged: bool,
        /// Tag protocol id recognised and pushed: 0x8100 (802.1Q, default) or
        /// 0x88a8 (802.1ad provider trunk carrying S-VLANs).
        tpid: u16,
    },
    /// 802.1ad customer port (QinQ): every frame, tagged or not, enters the
    /// S-VLAN unchanged; on a trunk it travels with an S-tag pushed in front of
    /// its own tags, and leaves this port with the S-tag popped.
    Dot1qTunnel {
        /// The service VLAN.
        s_vlan: VlanId,
    },
    /// An L3 port towards the overlay's underlay network: it belongs to no
    /// bridge domain. Every frame it receives goes to the overlay's
    /// underlay handling (decapsulation, and ARP and ICMP echo for the
    /// local VTEP addresses), and encapsulated frames leave through it.
    Underlay,
}

/// One switch port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Name used in stats, the CLI and errors.
    pub name: String,
    /// Network interface (for AF_XDP); `None` for ports that exist only in
    /// replay or tests.
    pub interface: Option<String>,
    /// Index into [`SwitchSpec::bridges`].
    pub bridge: usize,
    /// VLAN mode.
    pub mode: PortMode,
    /// Most MACs this port may hold in the FDB (`None`: no per-port limit).
    pub mac_limit: Option<u32>,
    /// The IP MTU of the port's link (`None`: [`PortSpec::DEFAULT_MTU`]).
    /// On AF_XDP the daemon takes the interface's, and refuses a configured
    /// one that differs from it.
    pub mtu: Option<u16>,
}

impl PortSpec {
    /// The MTU of a port that names none (Ethernet's).
    pub const DEFAULT_MTU: u16 = 1500;
    /// Bytes a frame may have beyond the MTU: its Ethernet header and one
    /// VLAN tag, as Linux's forwarding check allows (`is_skb_forwardable`:
    /// MTU + hard header + VLAN_HLEN), so that a full-sized tagged frame
    /// passes, and a double-tagged one does not.
    pub const FRAME_OVERHEAD: u16 = 18;

    /// The longest frame the port receives or sends: its MTU plus
    /// [`PortSpec::FRAME_OVERHEAD`].
    pub fn max_frame(&self) -> u16 {
        self.mtu.unwrap_or(Self::DEFAULT_MTU).saturating_add(Self::FRAME_OVERHEAD)
    }
}

/// One bridge: an isolated set of VLANs (bridge domains).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeSpec {
    /// Name used in stats, the CLI and errors.
    pub name: String,
}

/// A MAC pinned to a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticMacSpec {
    /// Index into [`SwitchSpec::bridges`].
    pub bridge: usize,
    /// VLAN within the bridge.
    pub vlan: VlanId,
    /// The address.
    pub mac: MacAddr,
    /// Index into [`SwitchSpec::ports`].
    pub port: usize,
}

/// FDB policy (defaults follow OVS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbSpec {
    /// Seconds an entry lives without traffic (OVS default: 300).
    pub aging_secs: u32,
    /// Most entries in the whole table.
    pub max_entries: u32,
    /// Most entries per bridge domain (`None`: only the global limit).
    pub max_per_domain: Option<u32>,
    /// A MAC that moves more than this many times within
    /// `move_window_secs` is pinned to its port for `move_hold_secs`.
    pub move_max: u32,
    /// Window for counting moves.
    pub move_window_secs: u32,
    /// How long a flapping MAC stays pinned.
    pub move_hold_secs: u32,
    /// Static entries.
    pub static_macs: Vec<StaticMacSpec>,
    /// The key of the table's hash (see [`FdbHasher`]). `None`, the
    /// default: a random one, so no sender can predict where its MACs land.
    /// Set only for reproducible runs (`xvs replay`, tests, benchmarks);
    /// the config file has no key for it.
    ///
    /// [`FdbHasher`]: crate::fdb::FdbHasher
    pub hash_seed: Option<u64>,
}

impl Default for FdbSpec {
    fn default() -> Self {
        FdbSpec {
            aging_secs: 300,
            max_entries: 1 << 20,
            max_per_domain: None,
            move_max: 4,
            move_window_secs: 10,
            move_hold_secs: 30,
            static_macs: Vec::new(),
            hash_seed: None,
        }
    }
}

/// A whole switch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SwitchSpec {
    /// Bridges, by index.
    pub bridges: Vec<BridgeSpec>,
    /// Ports, by index; a port's index is its [`crate::PortId`].
    pub ports: Vec<PortSpec>,
    /// FDB policy.
    pub fdb: FdbSpec,
    /// VTEPs and VNIs (empty: an L2-only switch).
    pub overlay: crate::overlay::OverlaySpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_set_ranges() {
        let mut s = VlanSet::new();
        s.insert_range(1, 10);
        s.insert(20);
        s.insert_range(30, 32);
        s.insert(0);
        s.insert(4095);
        assert_eq!(s.to_ranges_string(), "1-10,20,30-32");
        assert_eq!(s.len(), 14);
        assert!(s.contains(5) && !s.contains(11) && !s.contains(4095) && !s.contains(0));
        assert_eq!(VlanSet::all().len(), 4094);
    }
}
