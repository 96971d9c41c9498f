//! # xvs-control: the `xvs` binary's library
//!
//! Offline tools (`replay`, `trace`) and, with the AF_XDP dataplane, the
//! control thread and its API. The binary in `main.rs` is only argument
//! parsing and printing.
#![warn(missing_docs)]

pub mod api;
pub mod cli_view;
pub mod command;
pub mod daemon;
pub mod flows;
pub mod metrics;
pub mod pcapio;
pub mod reload;
pub mod replay;
pub mod trace;
pub mod views;
