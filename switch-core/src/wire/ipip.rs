//! IPv4-in-IPv4 encapsulation (RFC 2003): an outer IPv4 header with
//! protocol 4 directly followed by the inner IPv4 packet.
//!
//! There is no header of its own, so this module is two helpers over
//! [`Ipv4Packet`]: [`decap`] finds the inner packet, and [`IpipRepr`]
//! writes an outer header following RFC 2003 section 3.1.
//!
//! Errors about the inner packet are reported with layer
//! [`Layer::IpInIp`] rather than [`Layer::Ipv4`], so a drop counter can tell
//! a bad tunnelled packet from a bad underlay packet.

use std::net::Ipv4Addr;

use super::ipv4::{self, IpProtocol, Ipv4Packet, Ipv4Repr};
use super::{Error, Layer};

/// Bytes an encapsulator adds: one option-less IPv4 header.
pub const OVERHEAD: usize = ipv4::HEADER_LEN;

/// Re-labels an inner-packet error as an IP-in-IP error, keeping its detail.
fn inner_err(e: Error) -> Error {
    match e {
        Error::Truncated { required, actual, .. } => Error::Truncated { layer: Layer::IpInIp, required, actual },
        Error::Malformed { field, .. } => Error::Malformed { layer: Layer::IpInIp, field },
        Error::Checksum { .. } => Error::Checksum { layer: Layer::IpInIp },
    }
}

/// Checks the outer header carries IP-in-IP and is not a fragment.
fn check_outer<T: AsRef<[u8]>>(outer: &Ipv4Packet<T>) -> Result<(), Error> {
    if outer.protocol() != IpProtocol::IPIP {
        return Err(Error::Malformed { layer: Layer::IpInIp, field: "protocol" });
    }
    // A fragment holds only part of the inner packet; reassembly is a host's
    // job, not a switch's, so fragments are refused rather than half-read.
    if outer.is_fragment() {
        return Err(Error::Malformed { layer: Layer::IpInIp, field: "fragment" });
    }
    Ok(())
}

/// Returns the inner IPv4 packet of an IP-in-IP packet, checked with
/// [`Ipv4Packet::new_checked`].
///
/// `outer` should be a checked view; its payload (up to the outer total
/// length) is what the inner packet must fit in. Fails with layer
/// [`Layer::IpInIp`] when the outer protocol is not 4 (`"protocol"`), the
/// outer packet is a fragment (`"fragment"`), or the inner packet does not
/// pass `new_checked`. Checksums are not verified, as for any view.
pub fn decap<T: AsRef<[u8]>>(outer: &Ipv4Packet<T>) -> Result<Ipv4Packet<&[u8]>, Error> {
    check_outer(outer)?;
    Ipv4Packet::new_checked(outer.payload()).map_err(inner_err)
}

/// The outer header of an IP-in-IP tunnel, as plain values.
///
/// The fields taken from the inner packet on emit (TOS, DF, length) are not
/// here; only what the tunnel configuration decides is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpipRepr {
    /// Tunnel entry point.
    pub src_addr: Ipv4Addr,
    /// Tunnel exit point.
    pub dst_addr: Ipv4Addr,
    /// Outer TTL: "a value appropriate for delivery to the tunnel exit
    /// point" (RFC 2003 section 3.1), i.e. configured, not copied.
    pub ttl: u8,
    /// Outer identification.
    pub ident: u16,
}

impl IpipRepr {
    /// Reads the tunnel fields of an outer header, checking it carries
    /// IP-in-IP like [`decap`] does (the inner packet is not checked).
    pub fn parse<T: AsRef<[u8]>>(outer: &Ipv4Packet<T>) -> Result<IpipRepr, Error> {
        let outer = Ipv4Packet::new_checked(outer.as_bytes())?;
        check_outer(&outer)?;
        Ok(IpipRepr { src_addr: outer.src_addr(), dst_addr: outer.dst_addr(), ttl: outer.ttl(), ident: outer.ident() })
    }

    /// Bytes the outer header takes: always 20.
    pub const fn buffer_len(&self) -> usize {
        OVERHEAD
    }

    /// The outer header for `inner`, per RFC 2003 section 3.1:
    /// protocol 4; the TOS byte copied from the inner header (which is also
    /// RFC 6040's "normal mode" for ECN); DF copied from the inner header,
    /// since a DF inner packet must not be fragmented by the tunnel either
    /// and one without DF may be; total length covering the inner packet.
    ///
    /// The inner TTL is not touched: decrementing it is part of a router's
    /// forwarding decision, which belongs to the caller.
    pub fn outer_repr<T: AsRef<[u8]>>(&self, inner: &Ipv4Packet<T>) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: self.src_addr,
            dst_addr: self.dst_addr,
            protocol: IpProtocol::IPIP,
            payload_len: usize::from(inner.total_len()),
            ttl: self.ttl,
            tos: inner.tos(),
            ident: self.ident,
            dont_frag: inner.dont_frag(),
        }
    }

    /// Writes the outer header (with its checksum) for `inner` into `outer`,
    /// which must cover at least 20 bytes. The inner total length must be at
    /// most 65515 (see [`IpipRepr::encap`], which checks it).
    pub fn emit<T: AsRef<[u8]>, U: AsRef<[u8]> + AsMut<[u8]>>(&self, inner: &Ipv4Packet<T>, outer: &mut Ipv4Packet<U>) {
        self.outer_repr(inner).emit(outer);
    }

    /// Encapsulates in place: `buf` holds 20 bytes of headroom followed by
    /// the inner packet, which is checked; the outer header is written into
    /// the headroom. Never panics.
    ///
    /// The outer total length is 20 plus the inner total length, so any
    /// padding after the inner packet stays outside both. An inner packet
    /// longer than 65515 bytes cannot be carried (`Malformed` `"total_len"`).
    pub fn encap(&self, buf: &mut [u8]) -> Result<(), Error> {
        Error::check_len(Layer::IpInIp, OVERHEAD, buf.len())?;
        let (head, rest) = buf.split_at_mut(OVERHEAD);
        let inner = Ipv4Packet::new_checked(&*rest).map_err(inner_err)?;
        // The outer total length must hold 20 more bytes than the inner one.
        if usize::from(inner.total_len()) + OVERHEAD > usize::from(u16::MAX) {
            return Err(Error::Malformed { layer: Layer::IpInIp, field: "total_len" });
        }
        self.emit(&inner, &mut Ipv4Packet::new_unchecked(head));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outer 192.0.2.1 -> 192.0.2.2, TTL 64, protocol 4, total length 48,
    /// TOS 0xb8 and DF copied from the inner header. Checksum by hand:
    /// 45b8+0030+0000+4000+4004+c000+0201+c000+0202 = 0x249ef,
    /// folded 0x49ef + 0x2 = 0x49f1, complemented 0xb60e.
    ///
    /// Inner 10.0.0.1 -> 10.0.0.2, TOS 0xb8, DF, UDP, total length 28.
    /// Checksum by hand: 45b8+001c+1c46+4000+4011+0a00+0001+0a00+0002
    /// = 0xf62e, no carry, complemented 0x09d1.
    const PACKET: [u8; 48] = [
        0x45, 0xb8, 0x00, 0x30, 0x00, 0x00, 0x40, 0x00, 0x40, 0x04, 0xb6, 0x0e, 192, 0, 2, 1, 192, 0, 2, 2,
        // inner
        0x45, 0xb8, 0x00, 0x1c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x09, 0xd1, 10, 0, 0, 1, 10, 0, 0, 2,
        // inner payload: a UDP header
        0x30, 0x39, 0x12, 0xb5, 0x00, 0x08, 0x00, 0x00,
    ];

    fn repr() -> IpipRepr {
        IpipRepr { src_addr: Ipv4Addr::new(192, 0, 2, 1), dst_addr: Ipv4Addr::new(192, 0, 2, 2), ttl: 64, ident: 0 }
    }

    #[test]
    fn deconstruct() {
        let outer = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert!(outer.verify_checksum());
        let inner = decap(&outer).unwrap();
        assert!(inner.verify_checksum());
        assert_eq!(inner.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(inner.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(inner.protocol(), IpProtocol::UDP);
        assert_eq!(inner.payload(), &PACKET[40..]);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 48];
        buf[20..].copy_from_slice(&PACKET[20..]);
        repr().encap(&mut buf).unwrap();
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse() {
        let outer = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(IpipRepr::parse(&outer).unwrap(), repr());
    }

    #[test]
    fn emit() {
        let mut buf = [0u8; 48];
        buf[20..].copy_from_slice(&PACKET[20..]);
        let (head, rest) = buf.split_at_mut(20);
        let inner = Ipv4Packet::new_checked(&*rest).unwrap();
        let r = repr();
        assert_eq!(r.buffer_len(), 20);
        r.emit(&inner, &mut Ipv4Packet::new_unchecked(head));
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn df_follows_inner() {
        let mut buf = [0u8; 48];
        buf[20..].copy_from_slice(&PACKET[20..]);
        Ipv4Packet::new_unchecked(&mut buf[20..]).set_dont_frag(false);
        repr().encap(&mut buf).unwrap();
        let outer = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(!outer.dont_frag());
        assert!(outer.verify_checksum());
    }

    #[test]
    fn truncated() {
        assert_eq!(
            repr().encap(&mut [0u8; 19]).unwrap_err(),
            Error::Truncated { layer: Layer::IpInIp, required: 20, actual: 19 }
        );
        // Outer claims 48 bytes, inner claims 28, but give the outer a total
        // length that cuts the inner packet short.
        let mut b = PACKET;
        let mut outer = Ipv4Packet::new_unchecked(&mut b[..]);
        outer.set_total_len(44);
        outer.fill_checksum();
        let outer = Ipv4Packet::new_checked(&b[..44]).unwrap();
        assert_eq!(decap(&outer).unwrap_err(), Error::Truncated { layer: Layer::IpInIp, required: 28, actual: 24 });
        let mut buf = [0u8; 30];
        buf[20..].copy_from_slice(&PACKET[20..30]);
        assert_eq!(
            repr().encap(&mut buf).unwrap_err(),
            Error::Truncated { layer: Layer::IpInIp, required: 20, actual: 10 }
        );
    }

    #[test]
    fn inner_too_long_to_encapsulate() {
        let mut buf = vec![0u8; 20 + 65535];
        let inner = Ipv4Repr {
            src_addr: Ipv4Addr::LOCALHOST,
            dst_addr: Ipv4Addr::LOCALHOST,
            protocol: IpProtocol::UDP,
            payload_len: 65535 - 20,
            ttl: 1,
            tos: 0,
            ident: 0,
            dont_frag: true,
        };
        inner.emit(&mut Ipv4Packet::new_unchecked(&mut buf[20..]));
        assert_eq!(repr().encap(&mut buf).unwrap_err(), Error::Malformed { layer: Layer::IpInIp, field: "total_len" });
    }

    #[test]
    fn malformed() {
        let mut b = PACKET;
        b[9] = IpProtocol::UDP;
        let outer = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(decap(&outer).unwrap_err(), Error::Malformed { layer: Layer::IpInIp, field: "protocol" });
        assert!(IpipRepr::parse(&outer).is_err());
        let mut b = PACKET;
        Ipv4Packet::new_unchecked(&mut b[..]).set_more_frags(true);
        let outer = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(decap(&outer).unwrap_err(), Error::Malformed { layer: Layer::IpInIp, field: "fragment" });
        let mut b = PACKET;
        b[20] = 0x65; // inner version 6
        let outer = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(decap(&outer).unwrap_err(), Error::Malformed { layer: Layer::IpInIp, field: "version" });
    }
}
