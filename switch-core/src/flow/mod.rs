//! Flow rules: the policy layer in front of the L2 path (ACLs, SPAN).
//!
//! * [`spec`]: the rule language, parsed and printed the same way for the
//!   config file, the API and the CLI.
//! * [`key`]: the fields a rule matches, extracted from a frame into eight
//!   words with the checked wire views.
//! * [`classifier`]: tuple space search over a table's rules.
//! * [`cache`]: the per-worker exact-match cache in front of it.
//! * [`plan`]: the compiled rules workers read, published with the
//!   forwarding plan.
//!
//! The pipeline's `acl` stage runs them, only for the ports that have a
//! table (see `pipeline::acl`).

pub mod cache;
pub mod classifier;
pub mod key;
pub mod plan;
pub mod spec;

pub use cache::FlowCache;
pub use key::{Field, FlowKey};
pub use plan::{Action, CompiledRule, FlowPlan, MAX_RULES};
pub use spec::{FlowActions, FlowMatch, FlowRule, FlowTable, SpecError, Verdict, DEFAULT_PRIORITY};
