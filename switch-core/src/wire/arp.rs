//! ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses.
//!
//! ARP is generic over hardware and protocol types, but a switch only ever
//! meets the Ethernet/IPv4 flavour: htype 1, ptype 0x0800, hlen 6, plen 4.
//! [`ArpPacket::new_checked`] rejects anything else as
//! [`Error::Malformed`], so the address getters can use fixed offsets.

use std::net::Ipv4Addr;

use super::{Error, Layer};
use crate::types::MacAddr;

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
    pub const END: usize = 28;
}

/// Length of an Ethernet/IPv4 ARP packet (without Ethernet padding).
pub const HEADER_LEN: usize = field::END;

/// Hardware type for Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type for IPv4 (the IPv4 EtherType).
pub const PTYPE_IPV4: u16 = 0x0800;

/// The ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender protocol address is at the sender hardware address.
    Reply,
    /// Any other code (RARP, InARP, reserved...). Kept rather than rejected so
    /// a switch can still forward or count such frames.
    Other(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Other(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Other(v) => v,
        }
    }
}

/// A view over an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn ipv4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

#[inline]
fn mac_at(b: &[u8], at: usize) -> MacAddr {
    MacAddr([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]])
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking its length or its type fields.
    ///
    /// Use this to build a packet in a zeroed buffer before setting the
    /// fields (or call [`ArpRepr::emit`]).
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps a buffer, checking it holds 28 bytes and that the packet is the
    /// Ethernet/IPv4 flavour (htype 1, ptype 0x0800, hlen 6, plen 4).
    ///
    /// Trailing bytes (Ethernet padding up to 60 bytes) are allowed.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Arp, HEADER_LEN, buffer.as_ref().len())?;
        let p = ArpPacket { buffer };
        // Each mismatch names its own field so a drop counter can say which.
        if p.hardware_type() != HTYPE_ETHERNET {
            return Err(Error::Malformed { layer: Layer::Arp, field: "htype" });
        }
        if p.protocol_type() != PTYPE_IPV4 {
            return Err(Error::Malformed { layer: Layer::Arp, field: "ptype" });
        }
        if p.hardware_len() != 6 {
            return Err(Error::Malformed { layer: Layer::Arp, field: "hlen" });
        }
        if p.protocol_len() != 4 {
            return Err(Error::Malformed { layer: Layer::Arp, field: "plen" });
        }
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 for Ethernet).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// Protocol type (0x0800 for IPv4).
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PTYPE.start)
    }

    /// Hardware address length in bytes.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length in bytes.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The raw operation code.
    #[inline]
    pub fn operation_raw(&self) -> u16 {
        be16(self.buffer.as_ref(), field::OPER.start)
    }

    /// The operation.
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        self.operation_raw().into()
    }

    /// Sender hardware address.
    #[inline]
    pub fn sender_hardware_addr(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::SHA.start)
    }

    /// Sender protocol address.
    #[inline]
    pub fn sender_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::SPA.start)
    }

    /// Target hardware address (all zero in a request).
    #[inline]
    pub fn target_hardware_addr(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::THA.start)
    }

    /// Target protocol address.
    #[inline]
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::TPA.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        self.buffer.as_mut()[field::HTYPE].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        self.buffer.as_mut()[field::PTYPE].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOperation) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&u16::from(op).to_be_bytes());
    }

    /// Sets the sender hardware address.
    pub fn set_sender_hardware_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&addr.0);
    }

    /// Sets the sender protocol address.
    pub fn set_sender_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&addr.0);
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Turns a request in place into the reply "`ip` is at `mac`", to the
    /// request's sender.
    pub fn make_reply(&mut self, mac: MacAddr, ip: Ipv4Addr) {
        let (sha, spa) = (self.sender_hardware_addr(), self.sender_protocol_addr());
        self.set_operation(ArpOperation::Reply);
        self.set_sender_hardware_addr(mac);
        self.set_sender_protocol_addr(ip);
        self.set_target_hardware_addr(sha);
        self.set_target_protocol_addr(spa);
    }
}

/// An Ethernet/IPv4 ARP packet as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply or other.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_hardware_addr: MacAddr,
    /// Sender protocol address.
    pub sender_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: MacAddr,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Reads a checked packet into plain values.
    ///
    /// The view's type fields were validated by `new_checked`; they are
    /// checked again here so a view built with `new_unchecked` cannot yield
    /// a Repr that claims to be Ethernet/IPv4 when it is not.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr, Error> {
        let p = ArpPacket::new_checked(packet.buffer.as_ref())?;
        Ok(ArpRepr {
            operation: p.operation(),
            sender_hardware_addr: p.sender_hardware_addr(),
            sender_protocol_addr: p.sender_protocol_addr(),
            target_hardware_addr: p.target_hardware_addr(),
            target_protocol_addr: p.target_protocol_addr(),
        })
    }

    /// Bytes [`ArpRepr::emit`] writes: always 28.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes every field, the Ethernet/IPv4 type fields included.
    ///
    /// The view must cover at least [`ArpRepr::buffer_len`] bytes (it may be
    /// built with `new_unchecked` over a zeroed buffer); a shorter one panics.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(PTYPE_IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(self.sender_hardware_addr);
        packet.set_sender_protocol_addr(self.sender_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Who has 192.168.1.2? Tell 192.168.1.1", as RFC 826 lays it out.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, // htype Ethernet
        0x08, 0x00, // ptype IPv4
        0x06, 0x04, // hlen, plen
        0x00, 0x01, // request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sha
        192, 168, 1, 1, // spa
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tha
        192, 168, 1, 2, // tpa
    ];

    fn repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware_addr: MacAddr([0x02, 0, 0, 0, 0, 1]),
            sender_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
            target_hardware_addr: MacAddr::ZERO,
            target_protocol_addr: Ipv4Addr::new(192, 168, 1, 2),
        }
    }

    #[test]
    fn deconstruct() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.sender_hardware_addr().to_string(), "02:00:00:00:00:01");
        assert_eq!(p.sender_protocol_addr(), Ipv4Addr::new(192, 168, 1, 1));
        assert!(p.target_hardware_addr().is_zero());
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(192, 168, 1, 2));
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 28];
        let mut p = ArpPacket::new_unchecked(&mut buf[..]);
        p.set_hardware_type(1);
        p.set_protocol_type(0x0800);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(ArpOperation::Request);
        p.set_sender_hardware_addr(MacAddr([0x02, 0, 0, 0, 0, 1]));
        p.set_sender_protocol_addr(Ipv4Addr::new(192, 168, 1, 1));
        p.set_target_hardware_addr(MacAddr::ZERO);
        p.set_target_protocol_addr(Ipv4Addr::new(192, 168, 1, 2));
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn parse() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit() {
        let mut buf = [0xffu8; 28];
        let r = repr();
        assert_eq!(r.buffer_len(), 28);
        r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn padded_frame_is_fine() {
        let mut buf = [0u8; 46];
        buf[..28].copy_from_slice(&REQUEST);
        assert!(ArpPacket::new_checked(&buf[..]).is_ok());
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Arp, required: 28, actual: n }
            );
        }
    }

    #[test]
    fn malformed() {
        let cases: [(usize, u8, &str); 4] = [(1, 6, "htype"), (2, 0x86, "ptype"), (4, 8, "hlen"), (5, 16, "plen")];
        for (at, v, name) in cases {
            let mut b = REQUEST;
            b[at] = v;
            assert_eq!(
                ArpPacket::new_checked(&b[..]).unwrap_err(),
                Error::Malformed { layer: Layer::Arp, field: name }
            );
            assert!(ArpRepr::parse(&ArpPacket::new_unchecked(&b[..])).is_err());
        }
    }

    #[test]
    fn other_operation_is_kept() {
        let mut b = REQUEST;
        b[7] = 8; // InARP request
        let p = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.operation(), ArpOperation::Other(8));
        assert_eq!(u16::from(p.operation()), 8);
    }
}
