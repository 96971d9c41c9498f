//! IPv4 header (RFC 791), with options and fragment fields.
//!
//! [`Ipv4Packet::new_checked`] checks the version, that the header length
//! (IHL) is at least 5 words and fits the buffer, and that the total length
//! covers the header and fits the buffer. The buffer may be longer than the
//! total length (Ethernet pads short frames); [`Ipv4Packet::payload`] stops
//! at the total length.
//!
//! Slice getters clamp their ranges to the buffer, so they stay panic-free
//! even after a setter wrote a header or total length that no longer fits.

use std::net::Ipv4Addr;

use super::{checksum, Error, Layer};

/// IP protocol numbers (IPv4 protocol / IPv6 next header), from the IANA
/// registry, for the protocols this switch looks at.
#[allow(missing_docs)]
pub struct IpProtocol;

#[allow(missing_docs)]
impl IpProtocol {
    /// IPv6 hop-by-hop options (an extension header, only valid first).
    pub const HOPOPT: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    /// IPv4 in IPv4 (RFC 2003).
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    /// IPv6 in IPv4 (RFC 4213), also IPv6 in IPv6 (RFC 2473).
    pub const IPV6: u8 = 41;
    /// IPv6 routing header.
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 fragment header.
    pub const IPV6_FRAG: u8 = 44;
    /// Encapsulating security payload: opaque, cannot be walked past.
    pub const ESP: u8 = 50;
    /// Authentication header (RFC 4302).
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const IPV6_NONXT: u8 = 59;
    /// IPv6 destination options.
    pub const IPV6_OPTS: u8 = 60;
}

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    pub const OPTIONS: usize = 20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Longest IPv4 header: IHL 15, i.e. 40 bytes of options.
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view over an IPv4 packet (header, options and payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer, checking version 4, IHL >= 5, that the header fits,
    /// and that header length <= total length <= buffer length.
    ///
    /// The checksum is not verified here, because a switch forwarding L2
    /// frames does not need it; see [`Ipv4Packet::verify_checksum`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Ipv4, HEADER_LEN, len)?;
        let p = Ipv4Packet { buffer };
        if p.version() != 4 {
            return Err(Error::Malformed { layer: Layer::Ipv4, field: "version" });
        }
        let header_len = p.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed { layer: Layer::Ipv4, field: "ihl" });
        }
        Error::check_len(Layer::Ipv4, header_len, len)?;
        let total_len = usize::from(p.total_len());
        if total_len < header_len {
            return Err(Error::Malformed { layer: Layer::Ipv4, field: "total_len" });
        }
        Error::check_len(Layer::Ipv4, total_len, len)?;
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, as given (padding after the total length included).
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The IP version (4 for a checked view).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The raw IHL field: header length in 32-bit words.
    #[inline]
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }

    /// Header length in bytes, options included (20 to 60).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// True when the header carries options (header longer than 20 bytes).
    ///
    /// Many fast paths punt such packets; this makes the test explicit.
    #[inline]
    pub fn has_options(&self) -> bool {
        self.header_len() > HEADER_LEN
    }

    /// Differentiated services code point (6 bits).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification (2 bits).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The whole DSCP+ECN byte (the old TOS byte), which RFC 2003 copies
    /// from an inner header to an outer one.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Total length: header plus payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::LENGTH.start], b[field::LENGTH.start + 1]])
    }

    /// Identification, used to reassemble fragments.
    #[inline]
    pub fn ident(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::IDENT.start], b[field::IDENT.start + 1]])
    }

    #[inline]
    fn flags_offset(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::FLG_OFF.start], b[field::FLG_OFF.start + 1]])
    }

    /// The don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// Fragment offset in **bytes** (the field counts 8-byte units; this
    /// multiplies so callers cannot forget).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    /// True when this packet is a fragment (first, middle or last): more
    /// fragments follow or the offset is not zero. Only the first fragment
    /// carries the upper-layer header, so ports must not be read otherwise.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload (see [`IpProtocol`]).
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    /// The header bytes (options included), clamped to the buffer.
    #[inline]
    pub fn header(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..self.header_len().min(b.len())]
    }

    /// The option bytes (empty when IHL is 5), clamped to the buffer.
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.header_len().min(b.len());
        b.get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// True when the header checksum verifies.
    #[inline(always)]
    pub fn verify_checksum(&self) -> bool {
        // Headers without options, nearly all, are summed without a loop.
        let header = self.header();
        let sum = match header.first_chunk::<HEADER_LEN>() {
            Some(fixed) if header.len() == HEADER_LEN => checksum::sum_array(fixed),
            _ => checksum::sum(header),
        };
        checksum::verifies(sum)
    }

    /// The payload: from the end of the header to the total length, clamped
    /// to the buffer. Ethernet padding after the total length is excluded.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let start = self.header_len().min(b.len());
        let end = usize::from(self.total_len()).clamp(start, b.len());
        &b[start..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets the header length in bytes; it is stored in 4-byte words, so the
    /// low two bits are dropped, and values above 60 are not representable.
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) as u8) & 0x0f;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | words;
    }

    /// Sets the DSCP (6 bits), keeping ECN.
    pub fn set_dscp(&mut self, dscp: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (dscp << 2);
    }

    /// Sets the ECN bits (2 bits), keeping DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (ecn & 0x03);
    }

    /// Sets the whole DSCP+ECN byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = tos;
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&ident.to_be_bytes());
    }

    fn set_flags_offset(&mut self, v: u16) {
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets or clears don't-fragment.
    pub fn set_dont_frag(&mut self, on: bool) {
        let v = self.flags_offset() & !FLAG_DF;
        self.set_flags_offset(if on { v | FLAG_DF } else { v });
    }

    /// Sets or clears more-fragments.
    pub fn set_more_frags(&mut self, on: bool) {
        let v = self.flags_offset() & !FLAG_MF;
        self.set_flags_offset(if on { v | FLAG_MF } else { v });
    }

    /// Sets the fragment offset in bytes; the low three bits are dropped
    /// because the field counts 8-byte units.
    pub fn set_frag_offset(&mut self, offset: u16) {
        let v = (self.flags_offset() & !OFFSET_MASK) | (offset >> 3);
        self.set_flags_offset(v);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    /// Sets the checksum field as given.
    pub fn set_checksum(&mut self, csum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&csum.to_be_bytes());
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum (over the header length, clamped to the
    /// buffer) and stores it. Call it after every other header field is set.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let csum = checksum::checksum(self.header());
        self.set_checksum(csum);
    }

    /// Decrements the TTL and patches the checksum incrementally
    /// (RFC 1624), as a router hop does. Saturates at zero.
    pub fn decrement_ttl(&mut self) {
        let b = self.buffer.as_ref();
        let old = u16::from_be_bytes([b[field::TTL], b[field::PROTOCOL]]);
        let ttl = self.ttl().saturating_sub(1);
        self.set_ttl(ttl);
        let new = u16::from_be_bytes([ttl, self.protocol()]);
        let csum = checksum::update(self.checksum(), old, new);
        self.set_checksum(csum);
    }

    /// The option bytes, writable; clamped like [`Ipv4Packet::options`].
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        let b = self.buffer.as_mut();
        let end = end.min(b.len());
        b.get_mut(field::OPTIONS..end).unwrap_or(&mut [])
    }

    /// The payload, writable; clamped like [`Ipv4Packet::payload`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        let total_len = usize::from(self.total_len());
        let b = self.buffer.as_mut();
        let start = header_len.min(b.len());
        let end = total_len.clamp(start, b.len());
        &mut b[start..end]
    }
}

/// An IPv4 header without options, as plain values.
///
/// It describes unfragmented packets only: a fragment is not something the
/// switch builds, and describing one would need the offset and MF too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub protocol: u8,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP (6 bits) and ECN (2 bits), as one byte.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
}

impl Ipv4Repr {
    /// Reads a packet into plain values.
    ///
    /// Fails on a bad checksum ([`Error::Checksum`]) and on a fragment
    /// (`Malformed` field `"fragment"`), which this Repr cannot describe.
    /// Options are skipped: `payload_len` is the total length minus the
    /// real header length, so the payload is still located correctly.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr, Error> {
        let p = Ipv4Packet::new_checked(packet.buffer.as_ref())?;
        if !p.verify_checksum() {
            return Err(Error::Checksum { layer: Layer::Ipv4 });
        }
        if p.is_fragment() {
            return Err(Error::Malformed { layer: Layer::Ipv4, field: "fragment" });
        }
        Ok(Ipv4Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: usize::from(p.total_len()) - p.header_len(),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
        })
    }

    /// Bytes [`Ipv4Repr::emit`] writes: always 20 (no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header and its checksum; the payload is not touched.
    ///
    /// The view must cover at least 20 bytes. `payload_len` must be at most
    /// 65515: a larger value cannot be expressed, so it is a caller bug
    /// (debug builds assert; release builds saturate the total length).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX) - HEADER_LEN, "IPv4 payload too long");
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        let total = u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_offset(if self.dont_frag { FLAG_DF } else { 0 });
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        // Only the 20 bytes just written are covered, whatever follows.
        packet.set_checksum(0);
        let csum = checksum::checksum(&packet.buffer.as_ref()[..HEADER_LEN]);
        packet.set_checksum(csum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10.0.0.1 -> 10.0.0.2, UDP, TTL 64, DF, ident 0x1c46, total length 28,
    /// then 8 payload bytes. Checksum worked out by hand:
    /// 4500+001c+1c46+4000+4011+0a00+0001+0a00+0002 = 0xf576, no carry,
    /// complemented 0x0a89.
    const PACKET: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, // version 4, IHL 5, TOS 0, total length 28
        0x1c, 0x46, 0x40, 0x00, // ident, DF, offset 0
        0x40, 0x11, 0x0a, 0x89, // TTL 64, UDP, checksum
        0x0a, 0x00, 0x00, 0x01, // src
        0x0a, 0x00, 0x00, 0x02, // dst
        0x30, 0x39, 0x12, 0xb5, 0x00, 0x08, 0x00, 0x00, // payload
    ];

    /// IGMP with the Router Alert option (RFC 2113): IHL 6, total length 24,
    /// 192.168.0.1 -> 224.0.0.22, TTL 1. Checksum by hand:
    /// 4600+0018+0102+c0a8+0001+e000+0016+9404 = 0x27bdd,
    /// folded 0x7bdd + 0x2 = 0x7bdf, complemented 0x8420.
    const WITH_OPTIONS: [u8; 24] = [
        0x46, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x84, 0x20, 0xc0, 0xa8, 0x00, 0x01, 0xe0, 0x00,
        0x00, 0x16, 0x94, 0x04, 0x00, 0x00,
    ];

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IpProtocol::UDP,
            payload_len: 8,
            ttl: 64,
            tos: 0,
            ident: 0x1c46,
            dont_frag: true,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert!(!p.has_options());
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.dscp(), 0);
        assert_eq!(p.ecn(), 0);
        assert_eq!(p.total_len(), 28);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::UDP);
        assert_eq!(p.checksum(), 0x0a89);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.payload(), &PACKET[20..]);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 28];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_dscp(0);
        p.set_ecn(0);
        p.set_total_len(28);
        p.set_ident(0x1c46);
        p.set_dont_frag(true);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.set_ttl(64);
        p.set_protocol(IpProtocol::UDP);
        p.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
        p.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
        p.payload_mut().copy_from_slice(&PACKET[20..]);
        p.fill_checksum();
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn options() {
        let p = Ipv4Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        assert!(p.has_options());
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload(), &[] as &[u8]);
        assert_eq!(p.checksum(), 0x8420);
        assert!(p.verify_checksum());
        let mut b = WITH_OPTIONS;
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        p.options_mut()[0] = 0x01; // NOP; checksum must change
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
    }

    #[test]
    fn fragments() {
        let mut b = PACKET;
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        assert_eq!(&b[6..8], &[0x20, 0xb9]); // MF | 185 units
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.more_frags() && !p.dont_frag());
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.is_fragment());
        // The last fragment: offset set, MF clear.
        b[6] = 0x00;
        assert!(Ipv4Packet::new_checked(&b[..]).unwrap().is_fragment());
        // The first fragment: offset 0, MF set.
        b[6] = 0x20;
        b[7] = 0x00;
        assert!(Ipv4Packet::new_checked(&b[..]).unwrap().is_fragment());
    }

    #[test]
    fn parse() {
        let p = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), repr());
        // Options are skipped, not misread as payload.
        let p = Ipv4Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 0);
    }

    #[test]
    fn emit() {
        let mut buf = [0u8; 28];
        buf[20..].copy_from_slice(&PACKET[20..]);
        let r = repr();
        assert_eq!(r.buffer_len(), 20);
        r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse_rejects_bad_checksum_and_fragments() {
        let mut b = PACKET;
        b[11] ^= 1;
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p).unwrap_err(), Error::Checksum { layer: Layer::Ipv4 });
        let mut b = PACKET;
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_more_frags(true);
        p.fill_checksum();
        assert_eq!(Ipv4Repr::parse(&p).unwrap_err(), Error::Malformed { layer: Layer::Ipv4, field: "fragment" });
    }

    #[test]
    fn ttl_decrement_patches_checksum() {
        let mut b = PACKET;
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        p.decrement_ttl();
        assert_eq!(p.ttl(), 63);
        assert!(p.verify_checksum());
    }

    #[test]
    fn padding_is_not_payload() {
        let mut b = [0u8; 46];
        b[..28].copy_from_slice(&PACKET);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                Ipv4Packet::new_checked(&PACKET[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Ipv4, required: 20, actual: n }
            );
        }
        // Total length says 28, buffer has 27.
        assert_eq!(
            Ipv4Packet::new_checked(&PACKET[..27]).unwrap_err(),
            Error::Truncated { layer: Layer::Ipv4, required: 28, actual: 27 }
        );
        // IHL says 24 bytes of header, buffer has 22.
        assert_eq!(
            Ipv4Packet::new_checked(&WITH_OPTIONS[..22]).unwrap_err(),
            Error::Truncated { layer: Layer::Ipv4, required: 24, actual: 22 }
        );
    }

    #[test]
    fn malformed() {
        let mut b = PACKET;
        b[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv4, field: "version" }
        );
        b[0] = 0x44;
        assert_eq!(Ipv4Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed { layer: Layer::Ipv4, field: "ihl" });
        let mut b = PACKET;
        b[3] = 19;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv4, field: "total_len" }
        );
    }

    #[test]
    fn setters_cannot_make_getters_panic() {
        let mut b = [0u8; 20];
        b.copy_from_slice(&PACKET[..20]);
        b[3] = 20; // header only
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        p.set_header_len(60);
        p.set_total_len(u16::MAX);
        assert_eq!(p.options().len(), 0);
        assert_eq!(p.payload().len(), 0);
        assert_eq!(p.options_mut().len(), 0);
        assert_eq!(p.payload_mut().len(), 0);
        p.fill_checksum();
        let _ = p.verify_checksum();
    }
}
