//! Overlays: VXLAN and Geneve tunnels that bridge a (bridge, VLAN) domain to remote
//! VTEPs across an L3 underlay.
//!
//! * [`spec`]: what the config describes (local VTEPs, VNIs, remotes).
//! * [`plan`]: what it compiles to: one virtual *tunnel port* per (VNI,
//!   remote VTEP), appended to the forwarding plan's ports, so that the
//!   FDB value stays a port id and flood lists replicate to remote VTEPs
//!   like to any port; and the per-tunnel header templates encapsulation
//!   pushes.
//!
//! * `template`: the outer headers each tunnel pushes.
//!
//! The per-frame code lives with the other stages: `pipeline/decap/` (the
//! underlay stage) and `pipeline/encap/` (the sending side).

pub mod plan;
pub mod spec;
mod template;

pub use plan::{Neighbors, OverlayPlan, TunnelPlan, VniPlan, VtepPlan};
pub use spec::{
    Encap, GatewaySpec, GeneveOptionSpec, InnerVlan, OverlaySpec, RemoteMacSpec, RouteSpec, VniSpec, VtepSpec,
};
