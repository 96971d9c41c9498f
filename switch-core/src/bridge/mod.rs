//! Bridges, port VLAN modes and bridge domains.
//!
//! [`spec`] is the plain description of a switch (what the config file says,
//! already validated by the `config` crate). [`plan`] compiles it into the
//! [`ForwardingPlan`] that workers read: dense arrays indexed by port and
//! bridge domain, so that classify and output are one or two loads each.

pub mod plan;
pub mod spec;

pub use plan::{EgressTag, ForwardingPlan, IngressRule, PlanError, PortTagging, MAX_PORTS};
pub use spec::{BridgeSpec, FdbSpec, PortMode, PortSpec, StaticMacSpec, SwitchSpec, VlanSet};
