//! Zero-copy typed views over header bytes.
//!
//! Each protocol has a view type `Xxx<T: AsRef<[u8]>>` over a byte buffer, in
//! the style of smoltcp's `wire` module:
//!
//! * `new_checked(buf)` validates every length the accessors rely on and
//!   returns a typed [`Error`] otherwise. Use it for untrusted bytes.
//! * `new_unchecked(buf)` skips validation, for buffers already checked.
//! * getters read fixed fields; setters (when `T: AsMut<[u8]>`) write them.
//!
//! **No-panic contract:** for a view built with `new_checked`, no getter or
//! setter panics, whatever the length or content of the buffer. Fields are
//! described once per protocol in a private `field` module of byte ranges.
//! Fuzz targets in `fuzz/` and property tests hold the code to this contract.
//! A view built with `new_unchecked` over a short buffer may panic; that is the
//! caller's bargain.

mod error;
pub mod ethernet;
pub mod vlan;

pub use error::{Error, Layer};
pub use ethernet::{EtherType, EthernetFrame};
pub use vlan::VlanTag;

pub mod arp;
pub mod checksum;
pub mod geneve;
pub mod icmpv4;
pub mod icmpv6;
pub mod igmp;
pub mod ipip;
pub mod ipv4;
pub mod ipv6;
pub mod mld;
pub mod tcp;
pub mod udp;
pub mod vxlan;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use geneve::{GeneveOption, GeneveOptionRepr, GeneveOptions, GenevePacket, GeneveRepr};
pub use icmpv6::{Icmpv6Packet, NdpOption, NdpOptions, NdpPacket};
pub use ipip::IpipRepr;
pub use ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
pub use ipv6::{ExtHeaders, Ipv6Fragment, Ipv6Packet, Ipv6Repr};
pub use tcp::TcpHeader;
pub use udp::{UdpPacket, UdpRepr};
pub use vxlan::{VxlanPacket, VxlanRepr};

#[cfg(test)]
mod proptests;
