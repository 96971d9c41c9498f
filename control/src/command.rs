//! The control API's commands: typed requests shared by the CLI, which
//! serialises them, and the server, which parses them and hands them to the
//! control thread. The control thread executes a [`Command`] and knows
//! nothing of HTTP, so every command is tested without a socket.
//!
//! Every request type rejects unknown fields: a misspelt filter must fail,
//! not silently match everything.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which FDB entries `POST /v1/fdb/flush` removes (dynamic ones only).
/// Every field narrows; none given means all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbFilter {
    /// Bridge name; may be left out when the switch has one bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// VLAN of the bridge (the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// VNI: the domain it is bridged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// Port name (a tunnel port's name for entries behind a remote VTEP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// Static or learned (also the CLI's `--type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// Configured or added through the API; never ages.
    Static,
    /// Learned from traffic.
    Dynamic,
}

/// Which FDB entries `GET /v1/fdb` lists: the [`FdbFilter`] fields, a MAC
/// and a type. Every field narrows; none given means all. The shared
/// fields are repeated rather than flattened in: serde cannot combine
/// `flatten` with `deny_unknown_fields`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbQuery {
    /// Bridge name; may be left out when the switch has one bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// VLAN of the bridge (the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// VNI: the domain it is bridged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// Port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// One MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Static or dynamic entries only.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<EntryType>,
}

impl FdbQuery {
    /// The part that names domains and ports.
    pub fn filter(&self) -> FdbFilter {
        FdbFilter { bridge: self.bridge.clone(), vlan: self.vlan, vni: self.vni, port: self.port.clone() }
    }
}

/// `POST /v1/fdb`: a static entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbAdd {
    /// Bridge name; may be left out when the switch has one bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// VLAN of the bridge.
    pub vlan: u16,
    /// Unicast MAC address, like `02:00:00:00:00:01`.
    pub mac: String,
    /// Port the MAC is behind.
    pub port: String,
}

/// `DELETE /v1/fdb`: one entry, static or dynamic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdbDelete {
    /// Bridge name; may be left out when the switch has one bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// VLAN of the bridge.
    pub vlan: u16,
    /// MAC address.
    pub mac: String,
}

/// `POST /v1/trace`: one frame through the running switch's tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// The port it arrives on.
    pub in_port: String,
    /// The frame, in hex (spaces and colons allowed).
    pub frame: String,
}

/// `POST /v1/flows`: one rule for the ingress table of `port`, in the rule
/// language of docs/flows.md. [`FlowEntry`]'s fields are repeated rather
/// than flattened in, as in [`FdbQuery`]: serde cannot combine `flatten`
/// with `deny_unknown_fields`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowAdd {
    /// The port whose received frames the rule sees.
    pub port: String,
    /// Higher wins (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// The match, like `tcp,tp_dst=22`; left out, every frame.
    #[serde(default, rename = "match")]
    pub matches: String,
    /// The actions, like `drop` or `mirror:p3,allow`.
    pub actions: String,
}

/// One rule of a `PUT /v1/flows/ingress/PORT` body (the port is the path's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowEntry {
    /// Higher wins (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// The match; left out, every frame.
    #[serde(default, rename = "match")]
    pub matches: String,
    /// The actions.
    pub actions: String,
}

/// `PUT /v1/flows/ingress/PORT`: the table's new rules, all at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowReplace {
    /// The rules, in order (among equal priorities the first wins).
    pub rules: Vec<FlowEntry>,
}

/// What the control thread can be asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// List FDB entries.
    FdbShow(FdbQuery),
    /// Add a static entry.
    FdbAdd(FdbAdd),
    /// Remove an entry.
    FdbDelete(FdbDelete),
    /// Remove dynamic entries.
    FdbFlush(FdbFilter),
    /// Recent MAC moves.
    FdbMoves,
    /// Ports, their modes and counters.
    Ports,
    /// Bridges and their domains: VLANs, VNIs, members, FDB entries.
    Bridges,
    /// VTEPs, next hops, tunnels, gateways and routes.
    Tunnels,
    /// Every counter.
    Stats,
    /// Build and start facts.
    Version,
    /// Whether the control thread answers.
    Health,
    /// The running config, in canonical form.
    ConfigShow,
    /// Re-read the config file and apply it, if its ids are unchanged.
    ConfigReload,
    /// Trace a frame through the current tables, without the workers.
    Trace(TraceRequest),
    /// The ARP suppression tables.
    ArpShow,
    /// Every flow rule with its counters.
    FlowList,
    /// Add a rule.
    FlowAdd(FlowAdd),
    /// Remove the rule with this id.
    FlowDelete(u32),
    /// Replace the ingress table of a port.
    FlowReplace {
        /// The port.
        port: String,
        /// Its rules.
        rules: FlowReplace,
    },
}

/// A command's failure: an HTTP status and a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for a bad request, 404 for something not there...).
    pub status: u16,
    /// What went wrong, naming the field.
    pub message: String,
}

impl ApiError {
    /// 400: the request is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: 400, message: message.into() }
    }

    /// 404: what it names does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError { status: 404, message: message.into() }
    }

    /// The JSON body, `{"error": message}`.
    pub fn body(&self) -> Value {
        serde_json::json!({ "error": self.message })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a command returns: a JSON document, or why not.
pub type Reply = Result<Value, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused_and_named() {
        let e = serde_json::from_str::<FdbAdd>(r#"{"vlan": 10, "mac": "02:00:00:00:00:01", "port": "h1", "vlans": 1}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `vlans`"), "{e}");
        let e = serde_json::from_str::<FdbFilter>(r#"{"prot": "h1"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `prot`"), "{e}");
    }

    #[test]
    fn filters_leave_out_what_is_not_given() {
        let f = FdbFilter { vlan: Some(10), ..FdbFilter::default() };
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"vlan":10}"#);
        assert_eq!(serde_json::from_str::<FdbFilter>("{}").unwrap(), FdbFilter::default());
        let q = FdbQuery { kind: Some(EntryType::Static), ..FdbQuery::default() };
        assert_eq!(serde_urlencoded::to_string(&q).unwrap(), "type=static");
        assert_eq!(serde_urlencoded::from_str::<FdbQuery>("type=dynamic&vni=100").unwrap().vni, Some(100));
        assert!(serde_urlencoded::from_str::<FdbQuery>("type=learned").is_err());
    }
}
