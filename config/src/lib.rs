//! # xvs-config: `xvs.toml` to a validated switch
//!
//! Reads the configuration file, checks every value, and produces the two
//! things the rest of xvs needs:
//!
//! * [`Config::spec`], a [`switch_core::bridge::SwitchSpec`]: bridges, ports,
//!   VLAN modes, FDB policy and the VXLAN overlays (local VTEPs and VNIs),
//!   which `switch_core` compiles into its forwarding plan;
//! * runtime settings for the AF_XDP dataplane ([`DataplaneSettings`],
//!   [`PortRuntime`]), the pipeline ([`SwitchSettings`]) and the control
//!   thread ([`ControlSettings`]).
//!
//! ```
//! let cfg = xvs_config::Config::from_toml_str(r#"
//!     [[port]]
//!     name = "h1"
//!     interface = "xvs-h1"
//!     mode = "access"
//!     vlan = 10
//! "#).unwrap();
//! assert_eq!(cfg.spec.bridges[0].name, "br0"); // implied when none is given
//! assert_eq!(cfg.ports[0].interface.as_deref(), Some("xvs-h1"));
//! ```
//!
//! ## Errors
//! Validation does not stop at the first problem: [`Config::from_toml_str`]
//! returns every error it finds as [`ConfigErrors`], in file order, each a
//! typed [`ConfigError`] naming the key (`port[2].vlan`), the port when
//! known, and the offending value:
//!
//! ```
//! let err = xvs_config::Config::from_toml_str(r#"
//!     [[port]]
//!     name = "h3"
//!     mode = "access"
//!     vlan = 5000
//! "#).unwrap_err();
//! assert_eq!(err.to_string(), r#"line 5: port[0] "h3": vlan = 5000 is outside 1..=4094"#);
//! ```
//!
//! A TOML syntax error is reported alone (nothing else can be checked).
//! Unknown keys are errors everywhere, as with serde's
//! `deny_unknown_fields`, and come with a "did you mean" hint.
//!
//! The file format is documented key by key in `docs/config.md`;
//! [`DEFAULT_CONFIG`] is a commented example.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod emit;
pub mod error;
mod overlay;
mod parse;
pub mod settings;
mod tree;
mod vlans;

#[cfg(test)]
mod tests;

use std::path::Path;

use switch_core::bridge::SwitchSpec;

pub use error::{ConfigError, ConfigErrors, KeyPath, Pos};
pub use parse::IMPLICIT_BRIDGE;
pub use settings::{ControlSettings, DataplaneSettings, PortRuntime, SwitchSettings, Toggle, XdpMode};
pub use vlans::parse_vlan_list;

/// The demo configuration shipped with xvs (four access ports on
/// `xvs-h1`..`xvs-h4`, VLANs 10 and 20); also the documented example.
pub const DEFAULT_CONFIG: &str = include_str!("../default.toml");

/// A validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `[switch]`: pipeline settings.
    pub switch: SwitchSettings,
    /// `[dataplane]`: AF_XDP settings.
    pub dataplane: DataplaneSettings,
    /// `[control]`: control API and metrics endpoints.
    pub control: ControlSettings,
    /// Bridges, ports, FDB policy and overlays, for `switch_core`.
    pub spec: SwitchSpec,
    /// Per-port runtime settings; `ports[i]` belongs to `spec.ports[i]`.
    pub ports: Vec<PortRuntime>,
    /// `[[flow]]`: the flow rules, in file order.
    pub flows: Vec<FlowConfig>,
}

/// One `[[flow]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowConfig {
    /// The id the file gives it (below half of `MAX_RULES`: the API's rules
    /// take the upper half), or `None` to have one assigned.
    pub id: Option<u32>,
    /// The rule.
    pub rule: switch_core::flow::FlowRule,
}

impl Config {
    /// Parses and validates configuration text.
    ///
    /// On failure every error found is returned, in file order; positions
    /// are shown as `line N` (use [`Config::load`] or
    /// [`ConfigErrors::with_origin`] to name the file).
    pub fn from_toml_str(src: &str) -> Result<Config, ConfigErrors> {
        parse::build(src).map_err(ConfigErrors::new)
    }

    /// Reads, parses and validates the file at `path`. Errors are prefixed
    /// with `path:line:column`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| {
            ConfigErrors::from(ConfigError::Io { path: path.to_path_buf(), source }).with_origin(origin.clone())
        })?;
        Config::from_toml_str(&src).map_err(|e| e.with_origin(origin))
    }

    /// The parsed [`DEFAULT_CONFIG`].
    ///
    /// # Panics
    /// Never in a released build: the crate's tests parse the embedded file.
    pub fn embedded_default() -> Config {
        match Config::from_toml_str(DEFAULT_CONFIG) {
            Ok(c) => c,
            Err(e) => panic!("embedded default.toml is invalid:\n{e}"),
        }
    }

    /// The configuration as canonical TOML: every key written out,
    /// defaults included, comments dropped. Parsing the result gives back
    /// an equal `Config`.
    pub fn to_toml_string(&self) -> String {
        emit::to_toml(self)
    }
}
