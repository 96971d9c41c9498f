//! UDP header (RFC 768) and its checksum over IPv4 and IPv6 pseudo headers.
//!
//! The checksum rules differ by IP version:
//! * over IPv4 a zero checksum means "not computed" and is accepted;
//! * over IPv6 a zero checksum is invalid (RFC 8200 section 8.1), except
//!   that RFC 6935 lets tunnel protocols (VXLAN, Geneve) send zero when both
//!   ends are configured for it, under the constraints of RFC 6936. The
//!   verifier here is strict; a tunnel endpoint configured for zero
//!   checksums checks `checksum() == 0` itself before calling it.
//!
//! A computed checksum of zero is sent as `0xffff`, its ones' complement
//! twin, so it is not mistaken for "no checksum".

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ipv4::IpProtocol;
use super::{checksum, Error, Layer};

/// The IANA port for VXLAN (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;
/// The IANA port for Geneve (RFC 8926).
pub const GENEVE_PORT: u16 = 6081;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A view over a UDP datagram (header and payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer, checking it holds the 8-byte header and that the
    /// length field is at least 8 and no more than the buffer.
    ///
    /// The buffer may be longer than the length field (IP or Ethernet
    /// padding); [`UdpPacket::payload`] stops at the length field.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Udp, HEADER_LEN, len)?;
        let p = UdpPacket { buffer };
        let ulen = usize::from(p.len());
        if ulen < HEADER_LEN {
            return Err(Error::Malformed { layer: Layer::Udp, field: "length" });
        }
        Error::check_len(Layer::Udp, ulen, len)?;
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn be16(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT.start)
    }

    /// The length field: header plus payload, in bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.be16(field::LENGTH.start)
    }

    /// The checksum field as stored (0 means none, over IPv4).
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM.start)
    }

    /// The datagram the length field covers, clamped to the buffer.
    fn datagram(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.len()).min(b.len())]
    }

    /// The payload, up to the length field, clamped to the buffer.
    pub fn payload(&self) -> &[u8] {
        let d = self.datagram();
        d.get(field::PAYLOAD..).unwrap_or(&[])
    }

    /// The ones' complement sum of the datagram plus the IPv4 pseudo header.
    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::UDP, self.len());
        checksum::combine(pseudo, checksum::sum(self.datagram()))
    }

    /// The ones' complement sum of the datagram plus the IPv6 pseudo header.
    fn sum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::UDP, u32::from(self.len()));
        checksum::combine(pseudo, checksum::sum(self.datagram()))
    }

    /// True when the checksum verifies over the IPv4 pseudo header, or is
    /// zero ("not computed", which RFC 768 allows over IPv4).
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || checksum::verifies(self.sum_v4(src, dst))
    }

    /// True when the checksum verifies over the IPv6 pseudo header.
    ///
    /// A zero checksum fails: RFC 8200 makes it mandatory over IPv6. Tunnel
    /// endpoints that accept zero under RFC 6935/6936 test for it first.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.checksum() != 0 && checksum::verifies(self.sum_v6(src, dst))
    }
}

/// A computed checksum of 0 goes on the wire as 0xffff (RFC 768), since 0
/// is reserved for "no checksum".
#[inline]
fn nonzero(csum: u16) -> u16 {
    if csum == 0 {
        0xffff
    } else {
        csum
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        self.buffer.as_mut()[field::SRC_PORT].copy_from_slice(&port.to_be_bytes());
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        self.buffer.as_mut()[field::DST_PORT].copy_from_slice(&port.to_be_bytes());
    }

    /// Sets the length field.
    pub fn set_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the checksum field as given (0 to send none over IPv4).
    pub fn set_checksum(&mut self, csum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&csum.to_be_bytes());
    }

    /// Computes the checksum over the IPv4 pseudo header and stores it.
    /// Call it after the length and payload are final.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let csum = nonzero(checksum::finish(self.sum_v4(src, dst)));
        self.set_checksum(csum);
    }

    /// Computes the checksum over the IPv6 pseudo header and stores it.
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let csum = nonzero(checksum::finish(self.sum_v6(src, dst)));
        self.set_checksum(csum);
    }

    /// The payload, writable; clamped like [`UdpPacket::payload`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let ulen = usize::from(self.len());
        let b = self.buffer.as_mut();
        let end = ulen.min(b.len());
        b.get_mut(field::PAYLOAD..end).unwrap_or(&mut [])
    }
}

/// A UDP header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Reads the header into plain values.
    ///
    /// The checksum is not verified here because that needs the IP
    /// addresses; call `verify_checksum_v4`/`_v6` on the view.
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<UdpRepr, Error> {
        let p = UdpPacket::new_checked(packet.buffer.as_ref())?;
        Ok(UdpRepr { src_port: p.src_port(), dst_port: p.dst_port(), payload_len: usize::from(p.len()) - HEADER_LEN })
    }

    /// Bytes [`UdpRepr::emit`] writes: always 8.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum.
    ///
    /// The checksum covers the payload, which is usually written after the
    /// header, so it is filled separately with `fill_checksum_v4`/`_v6`
    /// (or left zero over IPv4, as VXLAN senders commonly do). A
    /// `payload_len` above 65527 is a caller bug (debug builds assert;
    /// release builds saturate the length field).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX) - HEADER_LEN, "UDP payload too long");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn src6() -> Ipv6Addr {
        "2001:db8::1".parse().unwrap()
    }
    fn dst6() -> Ipv6Addr {
        "2001:db8::2".parse().unwrap()
    }

    /// 12345 -> 4789, length 12, payload 01 02 03 04. Checksum over IPv4
    /// 10.0.0.1 -> 10.0.0.2, by hand: pseudo 0a00+0001+0a00+0002+0011+000c
    /// = 0x1420; datagram 3039+12b5+000c+0102+0304 = 0x4700; total 0x5b20,
    /// complemented 0xa4df.
    const DGRAM_V4: [u8; 12] = [0x30, 0x39, 0x12, 0xb5, 0x00, 0x0c, 0xa4, 0xdf, 1, 2, 3, 4];

    /// The same datagram over IPv6 2001:db8::1 -> 2001:db8::2: pseudo
    /// 2001+0db8+0001+2001+0db8+0002+000c+0011 = 0x5b92; plus 0x4700 =
    /// 0xa292, complemented 0x5d6d.
    const DGRAM_V6: [u8; 12] = [0x30, 0x39, 0x12, 0xb5, 0x00, 0x0c, 0x5d, 0x6d, 1, 2, 3, 4];

    #[test]
    fn deconstruct() {
        let p = UdpPacket::new_checked(&DGRAM_V4[..]).unwrap();
        assert_eq!(p.src_port(), 12345);
        assert_eq!(p.dst_port(), VXLAN_PORT);
        assert_eq!(p.len(), 12);
        assert_eq!(p.checksum(), 0xa4df);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert!(p.verify_checksum_v4(SRC4, DST4));
        assert!(!p.verify_checksum_v4(SRC4, Ipv4Addr::new(10, 0, 0, 3)));
        let p = UdpPacket::new_checked(&DGRAM_V6[..]).unwrap();
        assert!(p.verify_checksum_v6(src6(), dst6()));
        assert!(!p.verify_checksum_v6(dst6(), dst6()));
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 12];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        p.set_src_port(12345);
        p.set_dst_port(VXLAN_PORT);
        p.set_len(12);
        p.payload_mut().copy_from_slice(&[1, 2, 3, 4]);
        p.fill_checksum_v4(SRC4, DST4);
        assert_eq!(buf, DGRAM_V4);
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        p.fill_checksum_v6(src6(), dst6());
        assert_eq!(buf, DGRAM_V6);
    }

    #[test]
    fn parse() {
        let p = UdpPacket::new_checked(&DGRAM_V4[..]).unwrap();
        assert_eq!(UdpRepr::parse(&p).unwrap(), UdpRepr { src_port: 12345, dst_port: 4789, payload_len: 4 });
    }

    #[test]
    fn emit() {
        let r = UdpRepr { src_port: 12345, dst_port: 4789, payload_len: 4 };
        assert_eq!(r.buffer_len(), 8);
        let mut buf = [0xffu8; 12];
        buf[8..].copy_from_slice(&[1, 2, 3, 4]);
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.fill_checksum_v4(SRC4, DST4);
        assert_eq!(buf, DGRAM_V4);
    }

    #[test]
    fn zero_checksum_rules() {
        let mut b = DGRAM_V4;
        b[6] = 0;
        b[7] = 0;
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum_v4(SRC4, DST4), "zero means none over IPv4");
        assert!(!p.verify_checksum_v6(src6(), dst6()), "zero is invalid over IPv6");
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Length 10 with payload word W: pseudo 0x1403+0x11+0x0a = 0x141e,
        // header 3039+12b5+000a = 0x42f8, sum 0x5716; W = 0xa8e9 makes the
        // total 0xffff, whose complement is 0.
        let mut b = [0x30, 0x39, 0x12, 0xb5, 0x00, 0x0a, 0, 0, 0xa8, 0xe9];
        let mut p = UdpPacket::new_checked(&mut b[..]).unwrap();
        p.fill_checksum_v4(SRC4, DST4);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4(SRC4, DST4));
    }

    #[test]
    fn odd_length_and_padding() {
        // Length 9 inside a 12-byte buffer: the checksum covers 9 bytes only.
        let mut b = [0x30, 0x39, 0x12, 0xb5, 0x00, 0x09, 0, 0, 0x7f, 0xee, 0xee, 0xee];
        let mut p = UdpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(p.payload(), &[0x7f]);
        p.fill_checksum_v6(src6(), dst6());
        assert!(p.verify_checksum_v6(src6(), dst6()));
        b[10] = 0;
        assert!(UdpPacket::new_checked(&b[..]).unwrap().verify_checksum_v6(src6(), dst6()));
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                UdpPacket::new_checked(&DGRAM_V4[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Udp, required: 8, actual: n }
            );
        }
        assert_eq!(
            UdpPacket::new_checked(&DGRAM_V4[..11]).unwrap_err(),
            Error::Truncated { layer: Layer::Udp, required: 12, actual: 11 }
        );
    }

    #[test]
    fn malformed() {
        let mut b = DGRAM_V4;
        b[5] = 7;
        assert_eq!(
            UdpPacket::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Udp, field: "length" }
        );
    }
}
