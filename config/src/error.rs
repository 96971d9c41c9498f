//! Typed configuration errors.
//!
//! Every failure the loader can find has its own [`ConfigError`] variant.
//! Each variant names where it happened with a [`KeyPath`] (the table, the
//! port, bridge or VTEP name when known, the key, and the line in the file)
//! and carries the offending value, so the message alone is enough to fix
//! the file:
//!
//! ```text
//! port[2] "h3": vlan = 5000 is outside 1..=4094
//! ```
//!
//! The loader does not stop at the first mistake: it checks everything it
//! can and returns all errors together as [`ConfigErrors`], sorted by their
//! position in the file (errors without a position, such as
//! [`ConfigError::NoPorts`], come last). Checks that depend on a value that
//! was already wrong are skipped, so one mistake produces one error rather
//! than a cascade.

use std::fmt;
use std::path::PathBuf;

/// A 1-based line and column in the configuration text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, counting from 1.
    pub line: u32,
    /// Column in characters, counting from 1.
    pub column: u32,
}

/// Where in the file a value lives, e.g. `port[2].vlan` for the port named
/// `h3`.
///
/// It displays as `port[2] "h3": vlan` when the port (or bridge) name is
/// known and as `port[2].vlan` otherwise, and [`KeyPath::dotted`] always
/// gives the plain dotted form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPath {
    /// The table: `switch`, `dataplane`, `fdb`, `fdb.static[0]`,
    /// `bridge[1]`, `port[2]`, `vtep[0]`, `vni[1]`, `vni[1].static[0]`,
    /// `control`, or empty for the top level.
    pub table: String,
    /// Name of the port, bridge or VTEP that `table` describes, when it is
    /// known.
    pub name: Option<String>,
    /// The key inside the table, possibly with an index, e.g. `vlan` or
    /// `worker_cpus[1]`; empty when the error is about the table itself.
    pub key: String,
    /// Position of the value (or of the table header) in the file.
    pub pos: Option<Pos>,
}

impl KeyPath {
    /// The plain dotted path, e.g. `port[2].vlan`, `switch.batch_size`,
    /// or `port[2]` for a whole table.
    pub fn dotted(&self) -> String {
        match (self.table.is_empty(), self.key.is_empty()) {
            (true, _) => self.key.clone(),
            (false, true) => self.table.clone(),
            (false, false) => format!("{}.{}", self.table, self.key),
        }
    }

    /// The table part only, with the name when known: `port[2] "h3"`,
    /// `dataplane`, or `top level`.
    pub fn table_display(&self) -> String {
        let table = if self.table.is_empty() { "top level" } else { self.table.as_str() };
        match &self.name {
            Some(n) => format!("{table} {n:?}"),
            None => table.to_string(),
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if !self.key.is_empty() => write!(f, "{} {:?}: {}", self.table, n, self.key),
            Some(n) => write!(f, "{} {:?}", self.table, n),
            None => f.write_str(&self.dotted()),
        }
    }
}

fn did_you_mean(s: &Option<&'static str>) -> String {
    match s {
        Some(k) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

fn known_vteps(known: &[String]) -> String {
    if known.is_empty() {
        "no [[vtep]] is defined".to_string()
    } else {
        format!("known: {}", known.join(", "))
    }
}

/// One thing wrong with a configuration.
///
/// Display messages name the key and the offending value; positions are
/// added by [`ConfigErrors`]'s Display (only [`ConfigError::Toml`] carries
/// its line and column in its own message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The text is not valid TOML (nothing else is checked then).
    #[error("invalid TOML at line {line}, column {column}: {message}")]
    Toml {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The TOML parser's description.
        message: String,
    },

    /// A key that the schema does not have.
    #[error("{}: unknown key `{}`{}", at.table_display(), at.key, did_you_mean(suggestion))]
    UnknownKey {
        /// The key (in `at.key`) and its table.
        at: KeyPath,
        /// A known key with a similar spelling.
        suggestion: Option<&'static str>,
    },

    /// A value of the wrong TOML type, e.g. a string where a number belongs.
    #[error("{at} = {value} has the wrong type: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        at: KeyPath,
        /// What the schema wants, e.g. "an integer".
        expected: &'static str,
        /// The TOML type found, e.g. "a string".
        found: &'static str,
        /// The value as written (shortened).
        value: String,
    },

    /// A required key is absent.
    #[error("{}: missing key `{}` ({why})", at.table_display(), at.key)]
    MissingKey {
        /// The table, and the missing key in `at.key`.
        at: KeyPath,
        /// Why it is required, e.g. `required when mode = "access"`.
        why: String,
    },

    /// A number outside its allowed range.
    #[error("{at} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// Where.
        at: KeyPath,
        /// The value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },

    /// A VLAN id outside 1..=4094 (0 means "priority tagged" and 4095 is
    /// reserved, so neither can be a member VLAN).
    #[error("{at} = {value} is outside 1..=4094")]
    VlanOutOfRange {
        /// Where.
        at: KeyPath,
        /// The value.
        value: i64,
    },

    /// A ring or UMEM size that is not a power of two.
    #[error("{at} = {value} is not a power of two")]
    NotPowerOfTwo {
        /// Where.
        at: KeyPath,
        /// The value.
        value: i64,
    },

    /// A string that is not one of the allowed words.
    #[error("{at} = {value:?} is not one of: {}", expected.join(", "))]
    BadChoice {
        /// Where.
        at: KeyPath,
        /// The value.
        value: String,
        /// The allowed words.
        expected: &'static [&'static str],
    },

    /// A list that must not be empty is empty.
    #[error("{at} = [] must not be empty")]
    EmptyList {
        /// Where.
        at: KeyPath,
    },

    /// A port, bridge or VTEP name that breaks the naming rule.
    #[error("{at} = {value:?} is not a valid name: {reason}")]
    BadName {
        /// Where.
        at: KeyPath,
        /// The name.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// An interface name Linux would refuse.
    #[error("{at} = {value:?} is not a valid interface name: {reason}")]
    BadInterfaceName {
        /// Where.
        at: KeyPath,
        /// The name.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// Two ports share a name.
    #[error("{at} = {name:?} is already used by port[{first}]")]
    DuplicatePort {
        /// The second port's `name`.
        at: KeyPath,
        /// The name.
        name: String,
        /// Index of the first port with that name.
        first: usize,
    },

    /// Two ports share an interface.
    #[error("{at} = {interface:?} is already used by port[{first}] {first_name:?}")]
    DuplicateInterface {
        /// The second port's `interface`.
        at: KeyPath,
        /// The interface.
        interface: String,
        /// Index of the first port using it.
        first: usize,
        /// Name of the first port using it.
        first_name: String,
    },

    /// Two bridges share a name.
    #[error("{at} = {name:?} is already used by bridge[{first}]")]
    DuplicateBridge {
        /// The second bridge's `name`.
        at: KeyPath,
        /// The name.
        name: String,
        /// Index of the first bridge with that name.
        first: usize,
    },

    /// A CPU listed twice in `dataplane.worker_cpus`.
    #[error("{at} = {cpu} is listed twice (one worker per CPU)")]
    DuplicateCpu {
        /// Where the repeat is.
        at: KeyPath,
        /// The CPU.
        cpu: i64,
    },

    /// The same (bridge, VLAN, MAC) appears in two static entries (two
    /// `[[fdb.static]]`, or a `[[vni.static]]` and the `[[fdb.static]]` of
    /// its VNI's domain).
    #[error("{at} = {mac} in VLAN {vlan} duplicates fdb.static[{first}]")]
    DuplicateStaticMac {
        /// The second entry's `mac`.
        at: KeyPath,
        /// The address.
        mac: String,
        /// The VLAN.
        vlan: u16,
        /// Index of the first entry.
        first: usize,
    },

    /// A `bridge` reference to a bridge that no `[[bridge]]` defines.
    #[error("{at} = {name:?} names no bridge (known: {})", known.join(", "))]
    UnknownBridge {
        /// Where.
        at: KeyPath,
        /// The name used.
        name: String,
        /// The bridges that exist.
        known: Vec<String>,
    },

    /// A `port` reference to a port that no `[[port]]` defines.
    #[error("{at} = {name:?} names no port")]
    UnknownPort {
        /// Where.
        at: KeyPath,
        /// The name used.
        name: String,
    },

    /// `bridge` was omitted but several bridges exist.
    #[error("{}: missing key `{}`; it is required when there are several bridges ({})", at.table_display(), at.key, bridges.join(", "))]
    AmbiguousBridge {
        /// The table, and `bridge` in `at.key`.
        at: KeyPath,
        /// The bridges to choose from.
        bridges: Vec<String>,
    },

    /// A MAC address that does not parse or cannot be a static entry.
    #[error("{at} = {value:?} is not a valid MAC: {reason}")]
    BadMac {
        /// Where.
        at: KeyPath,
        /// The text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A malformed VLAN list (`allowed_vlans`).
    #[error("{at} = {value} is not a valid VLAN list: {reason}")]
    BadVlanList {
        /// Where.
        at: KeyPath,
        /// The list as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A key that belongs to another port mode, e.g. `vlan` on a trunk.
    #[error("{at} is not allowed with mode = {mode:?} (it belongs to mode = {valid_for:?})")]
    WrongKeyForMode {
        /// Where.
        at: KeyPath,
        /// The port's mode.
        mode: &'static str,
        /// The mode the key is for.
        valid_for: &'static str,
    },

    /// A trunk's `native_vlan` is not in its `allowed_vlans`.
    #[error("{at} = {native} is not in allowed_vlans = {allowed:?}; add it to allowed_vlans")]
    NativeVlanNotAllowed {
        /// The `native_vlan` key.
        at: KeyPath,
        /// The native VLAN.
        native: u16,
        /// The allowed set, as ranges.
        allowed: String,
    },

    /// A static MAC's port does not carry the entry's VLAN on its bridge.
    #[error("{at} = {port:?} cannot hold a MAC in VLAN {vlan} on bridge {bridge:?}: {reason}")]
    StaticMacNotMember {
        /// The entry's `port` key.
        at: KeyPath,
        /// The port.
        port: String,
        /// The entry's VLAN.
        vlan: u16,
        /// The entry's bridge.
        bridge: String,
        /// Why not, e.g. `it is an access port of VLAN 20`.
        reason: String,
    },

    /// `control.metrics_listen` or `api_listen` is not an `address:port`.
    #[error("{at} = {value:?} is not a socket address like 127.0.0.1:9464")]
    BadAddress {
        /// Where.
        at: KeyPath,
        /// The text.
        value: String,
    },

    /// `control.api_listen` is not a loopback address.
    #[error("{at} = {value:?} is not a loopback address; the TCP API listens on 127.0.0.1 or ::1 only (reach it from elsewhere through an SSH tunnel)")]
    NotLoopback {
        /// Where.
        at: KeyPath,
        /// The address.
        value: String,
    },

    /// `control.socket` is not a usable Unix socket path.
    #[error("{at} = {value:?} is not a usable socket path: {reason}")]
    BadSocketPath {
        /// Where.
        at: KeyPath,
        /// The path.
        value: String,
        /// Why.
        reason: &'static str,
    },

    /// The UMEM has fewer frames than one socket's fill and TX rings hold.
    #[error("{at} = {frames} is too small: fill_ring + tx_ring need at least {needed} frames")]
    UmemTooSmall {
        /// The `frames` key.
        at: KeyPath,
        /// Frames configured.
        frames: u32,
        /// Frames needed.
        needed: u32,
    },

    /// More ports than the forwarding plan can index (4096).
    #[error("{at}: {count} ports are defined; at most {max} are supported")]
    TooManyPorts {
        /// The first port past the limit.
        at: KeyPath,
        /// Ports defined.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// The ports use more (bridge, VLAN) pairs than the forwarding plan has
    /// bridge domains for (65534).
    #[error("the ports use {count} (bridge, VLAN) pairs; at most {max} bridge domains are supported (narrow trunks' allowed_vlans)")]
    TooManyDomains {
        /// (bridge, VLAN) pairs in use.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// A key that an underlay port cannot have, e.g. `bridge` (an underlay
    /// port belongs to no bridge domain).
    #[error("{at} is not allowed with mode = \"underlay\" ({why})")]
    NotForUnderlay {
        /// Where.
        at: KeyPath,
        /// Why the key makes no sense there.
        why: &'static str,
    },

    /// An address that does not parse or cannot be used where it is (a
    /// multicast remote, a prefix length outside 1..=32, ...). `family` is
    /// what the text looks like: `IPv4`, `IPv6`, or `IP` when neither.
    #[error("{at} = {value:?} is not a valid {family} address: {reason}")]
    BadIp {
        /// Where.
        at: KeyPath,
        /// The text.
        value: String,
        /// `IPv4`, `IPv6` or `IP`.
        family: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An IPv6 address where a key takes IPv4 only.
    #[error("{at} = {value:?} is an IPv6 address; {why}")]
    Ipv4Only {
        /// Where.
        at: KeyPath,
        /// The text.
        value: String,
        /// Why the key is IPv4 only.
        why: &'static str,
    },

    /// An underlay address of the other family than its VTEP's: a tunnel's
    /// two ends, its next hop and its group are all IPv4 or all IPv6.
    #[error("{at} = {value:?} is {family} but vtep {vtep:?} has the address {vtep_address}; a tunnel's ends, next hop and group use one address family")]
    WrongFamily {
        /// Where.
        at: KeyPath,
        /// The text.
        value: String,
        /// `IPv4` or `IPv6`: what the text is.
        family: &'static str,
        /// The VTEP's name.
        vtep: String,
        /// The VTEP's address.
        vtep_address: String,
    },

    /// A VTEP's `gateway` that is not a next hop on its subnet.
    #[error("{at} = {value:?} cannot be the gateway: {reason}")]
    BadGateway {
        /// The `gateway` key.
        at: KeyPath,
        /// The gateway as written.
        value: String,
        /// Why not, e.g. `it is outside the subnet 192.168.100.0/24`.
        reason: String,
    },

    /// A malformed UDP port range (`src_port_range`).
    #[error("{at} = {value:?} is not a valid port range: {reason}")]
    BadPortRange {
        /// Where.
        at: KeyPath,
        /// The range as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Two VTEPs share a name.
    #[error("{at} = {name:?} is already used by vtep[{first}]")]
    DuplicateVtep {
        /// The second VTEP's `name`.
        at: KeyPath,
        /// The name.
        name: String,
        /// Index of the first VTEP with that name.
        first: usize,
    },

    /// A VTEP's `port` is not in `mode = "underlay"`.
    #[error("{at} = {port:?} is not an underlay port (it has mode = {mode:?}); a vtep needs a port with mode = \"underlay\"")]
    NotUnderlayPort {
        /// The VTEP's `port` key.
        at: KeyPath,
        /// The port.
        port: String,
        /// The port's mode.
        mode: &'static str,
    },

    /// Two VTEPs on one underlay port.
    #[error("{at} = {port:?} already carries vtep[{first}] {first_name:?}; an underlay port has at most one vtep")]
    PortHasVtep {
        /// The second VTEP's `port` key.
        at: KeyPath,
        /// The port.
        port: String,
        /// Index of the first VTEP on it.
        first: usize,
        /// Name of the first VTEP on it.
        first_name: String,
    },

    /// A `vtep` reference to a VTEP that no `[[vtep]]` defines.
    #[error("{at} = {name:?} names no vtep ({})", known_vteps(known))]
    UnknownVtep {
        /// Where.
        at: KeyPath,
        /// The name used.
        name: String,
        /// The VTEPs that exist.
        known: Vec<String>,
    },

    /// `vtep` was omitted but several VTEPs exist.
    #[error("{}: missing key `{}`; it is required when there are several vteps ({})", at.table_display(), at.key, vteps.join(", "))]
    AmbiguousVtep {
        /// The table, and `vtep` in `at.key`.
        at: KeyPath,
        /// The VTEPs to choose from.
        vteps: Vec<String>,
    },

    /// The same VNI twice on one VTEP.
    #[error("{at} = {vni} is already used on vtep {vtep:?} by vni[{first}]")]
    DuplicateVni {
        /// The second VNI's `vni` key.
        at: KeyPath,
        /// The VNI.
        vni: u32,
        /// The VTEP's name.
        vtep: String,
        /// Index of the first `[[vni]]` with it.
        first: usize,
    },

    /// Two VNIs join the same (bridge, VLAN) domain.
    #[error("{at} = {vlan} on bridge {bridge:?} is already joined by vni[{first}]; a (bridge, VLAN) pair takes at most one VNI")]
    VniDomainTaken {
        /// The second VNI's `vlan` key.
        at: KeyPath,
        /// The VLAN.
        vlan: u16,
        /// The bridge's name.
        bridge: String,
        /// Index of the first `[[vni]]` on that domain.
        first: usize,
    },

    /// A remote VTEP that is the local VTEP's own address.
    #[error("{at} = {value:?} is the address of vtep {vtep:?} itself")]
    RemoteIsLocal {
        /// Where.
        at: KeyPath,
        /// The address.
        value: String,
        /// The local VTEP.
        vtep: String,
    },

    /// A remote VTEP listed twice in one VNI (in `remotes`, in
    /// `allowed_remotes`, or in both).
    #[error("{at} = {value:?} is already listed as {first}")]
    DuplicateRemote {
        /// The repeat.
        at: KeyPath,
        /// The address.
        value: String,
        /// The first listing, e.g. `vni[1].remotes[0]`.
        first: String,
    },

    /// A static remote MAC behind a remote VTEP the VNI does not list.
    #[error("{at} = {value:?} is in neither {vni}.remotes nor {vni}.allowed_remotes")]
    UnknownRemote {
        /// The entry's `remote` key.
        at: KeyPath,
        /// The address.
        value: String,
        /// The VNI's table, e.g. `vni[1]`.
        vni: String,
    },

    /// The same MAC twice among one VNI's static remote MACs (a clash with
    /// an `[[fdb.static]]` of the VNI's domain is a
    /// [`ConfigError::DuplicateStaticMac`]).
    #[error("{at} = {mac} duplicates {first}")]
    DuplicateRemoteMac {
        /// The second entry's `mac` key.
        at: KeyPath,
        /// The address.
        mac: String,
        /// The first entry, e.g. `vni[0].static[1]`.
        first: String,
    },

    /// The ports and the overlays' tunnel ports (one per VNI and remote
    /// VTEP) together exceed the forwarding plan's port space (4096).
    #[error("the {ports} ports and {tunnels} tunnel ports (one per VNI and remote VTEP) make more than the {max} ports supported (list fewer remotes)")]
    TooManyTunnels {
        /// `[[port]]` tables.
        ports: usize,
        /// Tunnel ports the VNIs need.
        tunnels: usize,
        /// The limit.
        max: usize,
    },

    /// `[[vni.option]]` on a VNI that is not carried in Geneve.
    #[error("{at}: only a VNI with encap = \"geneve\" carries options (this one is {encap:?})")]
    OptionsNeedGeneve {
        /// The first `[[vni.option]]` table.
        at: KeyPath,
        /// The VNI's encapsulation.
        encap: String,
    },

    /// A Geneve option's `data` is not whole 4-byte words of hex.
    #[error("{at} = {value:?} is not valid option data: {reason}")]
    BadOptionData {
        /// The `data` key.
        at: KeyPath,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A VNI's Geneve options do not fit the header's options area.
    #[error("{at}: the options take {bytes} bytes, more than the {max} a Geneve header holds")]
    TooManyOptions {
        /// The VNI's table.
        at: KeyPath,
        /// Bytes the options need.
        bytes: usize,
        /// The limit.
        max: usize,
    },

    /// Two gateways for one (bridge, VLAN).
    #[error("{at}: VLAN {vlan} of bridge {bridge:?} already has gateway[{first}]")]
    DuplicateGateway {
        /// The second gateway's `vlan` key.
        at: KeyPath,
        /// The VLAN.
        vlan: u16,
        /// The bridge.
        bridge: String,
        /// Index of the first.
        first: usize,
    },

    /// Two routes to the same prefix.
    #[error("{at} = {prefix:?} is already routed by route[{first}]")]
    DuplicateRoute {
        /// The second route's `prefix` key.
        at: KeyPath,
        /// The prefix.
        prefix: String,
        /// Index of the first.
        first: usize,
    },

    /// A flow rule's match, actions or table that the rule language refuses
    /// (see docs/flows.md), or one naming a port the file does not have.
    #[error("{at} = {value:?}: {reason}")]
    BadFlow {
        /// The key.
        at: KeyPath,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Two `[[flow]]` tables with one `id`.
    #[error("{at} = {id} is already the id of flow[{first}]")]
    DuplicateFlowId {
        /// The second rule's `id` key.
        at: KeyPath,
        /// The id.
        id: u32,
        /// Index of the first.
        first: usize,
    },

    /// The file defines no `[[port]]` at all.
    #[error("no [[port]] is defined; a switch needs at least one port")]
    NoPorts,
}

impl ConfigError {
    /// Where the error is in the file, when known.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            ConfigError::Toml { line, column, .. } => Some(Pos { line: *line, column: *column }),
            other => other.key_path().and_then(|k| k.pos),
        }
    }

    /// The key the error is about, when it is about one.
    pub fn key_path(&self) -> Option<&KeyPath> {
        use ConfigError::*;
        match self {
            Io { .. } | Toml { .. } | NoPorts | TooManyDomains { .. } | TooManyTunnels { .. } => None,
            UnknownKey { at, .. }
            | WrongType { at, .. }
            | MissingKey { at, .. }
            | NotLoopback { at, .. }
            | OutOfRange { at, .. }
            | VlanOutOfRange { at, .. }
            | NotPowerOfTwo { at, .. }
            | BadChoice { at, .. }
            | EmptyList { at }
            | BadName { at, .. }
            | BadInterfaceName { at, .. }
            | DuplicatePort { at, .. }
            | DuplicateInterface { at, .. }
            | DuplicateBridge { at, .. }
            | DuplicateCpu { at, .. }
            | DuplicateStaticMac { at, .. }
            | UnknownBridge { at, .. }
            | UnknownPort { at, .. }
            | AmbiguousBridge { at, .. }
            | BadMac { at, .. }
            | BadVlanList { at, .. }
            | WrongKeyForMode { at, .. }
            | NativeVlanNotAllowed { at, .. }
            | StaticMacNotMember { at, .. }
            | BadAddress { at, .. }
            | BadSocketPath { at, .. }
            | UmemTooSmall { at, .. }
            | TooManyPorts { at, .. }
            | NotForUnderlay { at, .. }
            | BadIp { at, .. }
            | Ipv4Only { at, .. }
            | WrongFamily { at, .. }
            | BadGateway { at, .. }
            | BadPortRange { at, .. }
            | DuplicateVtep { at, .. }
            | NotUnderlayPort { at, .. }
            | PortHasVtep { at, .. }
            | UnknownVtep { at, .. }
            | AmbiguousVtep { at, .. }
            | DuplicateVni { at, .. }
            | VniDomainTaken { at, .. }
            | RemoteIsLocal { at, .. }
            | DuplicateRemote { at, .. }
            | UnknownRemote { at, .. }
            | DuplicateRemoteMac { at, .. }
            | OptionsNeedGeneve { at, .. }
            | BadOptionData { at, .. }
            | TooManyOptions { at, .. }
            | DuplicateGateway { at, .. }
            | DuplicateRoute { at, .. }
            | BadFlow { at, .. }
            | DuplicateFlowId { at, .. } => Some(at),
        }
    }
}

/// Every error found in one configuration (never empty), in file order.
///
/// Display prints one error per line, each prefixed with its position:
/// `xvs.toml:14:8: port[2] "h3": vlan = 5000 is outside 1..=4094` when the
/// file name is known (see [`ConfigErrors::with_origin`]) and
/// `line 14: ...` otherwise.
#[derive(Debug)]
pub struct ConfigErrors {
    origin: Option<String>,
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps `errors`, sorting them by position (stable; errors without a
    /// position go last).
    ///
    /// # Panics
    /// If `errors` is empty: a `ConfigErrors` always holds at least one.
    pub fn new(mut errors: Vec<ConfigError>) -> ConfigErrors {
        assert!(!errors.is_empty(), "ConfigErrors needs at least one error");
        errors.sort_by_key(|e| match e.pos() {
            Some(p) => (0, p),
            None => (1, Pos { line: 0, column: 0 }),
        });
        ConfigErrors { origin: None, errors }
    }

    /// Names the file the errors came from, for the Display prefix.
    pub fn with_origin(mut self, origin: impl Into<String>) -> ConfigErrors {
        self.origin = Some(origin.into());
        self
    }

    /// The file name given to [`ConfigErrors::with_origin`].
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The errors, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// The first error in file order.
    pub fn first(&self) -> &ConfigError {
        &self.errors[0]
    }

    /// Number of errors (at least 1).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, by value.
    pub fn into_vec(self) -> Vec<ConfigError> {
        self.errors
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors::new(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            // Toml errors carry their own position in the message.
            let pos = match e {
                ConfigError::Toml { .. } => None,
                _ => e.pos(),
            };
            match (&self.origin, pos) {
                (Some(o), Some(p)) => write!(f, "{o}:{}:{}: ", p.line, p.column)?,
                (Some(o), None) => write!(f, "{o}: ")?,
                (None, Some(p)) => write!(f, "line {}: ", p.line)?,
                (None, None) => {}
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.errors[0])
    }
}
