//! The one error type every parser in [`crate::wire`] returns.

use core::fmt;

/// The protocol layer an [`Error`] was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Layer {
    Ethernet,
    Vlan,
    Arp,
    Ipv4,
    Icmpv4,
    Icmpv6,
    Ipv6,
    Udp,
    Tcp,
    Vxlan,
    Geneve,
    GeneveOption,
    IpInIp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Arp => "arp",
            Layer::Ipv4 => "ipv4",
            Layer::Icmpv4 => "icmpv4",
            Layer::Icmpv6 => "icmpv6",
            Layer::Ipv6 => "ipv6",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
            Layer::Vxlan => "vxlan",
            Layer::Geneve => "geneve",
            Layer::GeneveOption => "geneve-option",
            Layer::IpInIp => "ipip",
        };
        f.write_str(s)
    }
}

/// Why bytes could not be viewed as a header.
///
/// Small and `Copy`, so the hot path can return it by value and map it to a
/// drop-reason counter without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer ends before the header (or a length field) says it does.
    Truncated {
        /// Where.
        layer: Layer,
        /// Bytes needed.
        required: usize,
        /// Bytes present.
        actual: usize,
    },
    /// A field holds a value the protocol forbids (bad version, a length field
    /// smaller than the fixed header, a reserved flag that must be clear...).
    Malformed {
        /// Where.
        layer: Layer,
        /// Which field, as a static name for logs and traces.
        field: &'static str,
    },
    /// A checksum does not verify.
    Checksum {
        /// Where.
        layer: Layer,
    },
}

impl Error {
    /// The layer the error was found in.
    pub fn layer(&self) -> Layer {
        match *self {
            Error::Truncated { layer, .. } | Error::Malformed { layer, .. } | Error::Checksum { layer } => layer,
        }
    }

    /// Shorthand used by `new_checked` implementations.
    #[inline]
    pub(crate) fn check_len(layer: Layer, required: usize, actual: usize) -> Result<(), Error> {
        if actual < required {
            Err(Error::Truncated { layer, required, actual })
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { layer, required, actual } => {
                write!(f, "{layer}: truncated, need {required} bytes, have {actual}")
            }
            Error::Malformed { layer, field } => write!(f, "{layer}: malformed {field}"),
            Error::Checksum { layer } => write!(f, "{layer}: bad checksum"),
        }
    }
}

impl std::error::Error for Error {}
