//! IPv6 fixed header (RFC 8200) and a bounded walk over extension headers.
//!
//! [`Ipv6Packet::new_checked`] checks the version and that the payload
//! length fits the buffer. Jumbograms (RFC 2675, payload length 0 plus a
//! hop-by-hop option) are not supported: a payload length of 0 is read as an
//! empty payload, which is safe, merely unhelpful, for such a packet.
//!
//! [`walk_ext_headers`] steps over the extension headers a switch may meet
//! (hop-by-hop, routing, fragment, destination options, AH) to find the
//! upper-layer protocol and where it starts. It never reads past the bytes
//! it is given and stops after [`MAX_EXT_HEADERS`] headers, so a crafted
//! chain costs a bounded amount of work.

use std::net::Ipv6Addr;

use super::ipv4::IpProtocol;
use super::{Error, Layer};

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const PAYLOAD: usize = 40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The most extension headers [`walk_ext_headers`] steps over.
///
/// RFC 8200 sets no limit, but real traffic carries two or three (RFC 7872
/// measured long chains being dropped on the Internet anyway). Eight leaves
/// room for every header type once plus a repeated destination options
/// header, and bounds the work a crafted packet can ask for.
pub const MAX_EXT_HEADERS: usize = 8;

/// Length of an IPv6 fragment header (fixed by RFC 8200 section 4.5).
pub const FRAG_HEADER_LEN: usize = 8;

/// A view over an IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer, checking it holds the 40-byte header, version 6, and
    /// the whole payload the payload length announces.
    ///
    /// The buffer may be longer (Ethernet padding); [`Ipv6Packet::payload`]
    /// stops at the payload length.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Ipv6, HEADER_LEN, len)?;
        let p = Ipv6Packet { buffer };
        if p.version() != 6 {
            return Err(Error::Malformed { layer: Layer::Ipv6, field: "version" });
        }
        Error::check_len(Layer::Ipv6, HEADER_LEN + usize::from(p.payload_len()), len)?;
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn ver_tc_flow(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The IP version (6 for a checked view).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    /// Traffic class (DSCP and ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// Flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Payload length: bytes after the fixed header, extension headers
    /// included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::LENGTH.start], b[field::LENGTH.start + 1]])
    }

    /// The next header: the first extension header or the upper layer.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        Ipv6Addr::from(a)
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        Ipv6Addr::from(a)
    }

    /// The payload (extension headers included), clamped to the buffer.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let start = field::PAYLOAD.min(b.len());
        let end = (field::PAYLOAD + usize::from(self.payload_len())).clamp(start, b.len());
        &b[start..end]
    }

    /// Walks the extension headers of this packet (see [`walk_ext_headers`]).
    ///
    /// Unlike the free function, the returned `offset` counts from the start
    /// of the IPv6 header, so it can index the same buffer directly. (The
    /// byte counts inside a `Truncated` error stay relative to the payload.)
    pub fn upper_layer(&self) -> Result<ExtHeaders, Error> {
        let mut r = walk_ext_headers(self.next_header(), self.payload())?;
        r.offset += HEADER_LEN;
        Ok(r)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn set_ver_tc_flow(&mut self, v: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the version.
    pub fn set_version(&mut self, v: u8) {
        let w = (self.ver_tc_flow() & 0x0fff_ffff) | (u32::from(v & 0x0f) << 28);
        self.set_ver_tc_flow(w);
    }

    /// Sets the traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(tc) << 20);
        self.set_ver_tc_flow(w);
    }

    /// Sets the flow label (the low 20 bits of `label`).
    pub fn set_flow_label(&mut self, label: u32) {
        let w = (self.ver_tc_flow() & 0xfff0_0000) | (label & 0x000f_ffff);
        self.set_ver_tc_flow(w);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, nh: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = nh;
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, hl: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hl;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// The payload, writable; clamped like [`Ipv6Packet::payload`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let plen = usize::from(self.payload_len());
        let b = self.buffer.as_mut();
        let start = field::PAYLOAD.min(b.len());
        let end = (field::PAYLOAD + plen).clamp(start, b.len());
        &mut b[start..end]
    }
}

/// What a fragment header said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Fragment {
    /// Fragment offset in bytes (the field counts 8-byte units).
    pub offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// Identification shared by every fragment of the packet.
    pub ident: u32,
}

/// Where the upper layer starts after the extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtHeaders {
    /// Protocol number of what starts at `offset` (UDP, TCP, ICMPv6, ESP,
    /// no-next-header...). When `fragment` says this is not the first
    /// fragment, this is the protocol of the reassembled payload, and the
    /// bytes at `offset` are the middle of it, not a header.
    pub protocol: u8,
    /// Offset of the upper-layer header (or of the fragment data) from the
    /// start of the bytes walked.
    pub offset: usize,
    /// How many extension headers were stepped over.
    pub count: u8,
    /// The fragment header, when there was one.
    pub fragment: Option<Ipv6Fragment>,
}

impl ExtHeaders {
    /// True when the packet is a real fragment: a fragment header with a
    /// nonzero offset or more fragments to come. An "atomic fragment"
    /// (offset 0, no more fragments; RFC 6946) is a whole packet and is not.
    pub fn is_fragment(&self) -> bool {
        matches!(self.fragment, Some(f) if f.offset != 0 || f.more_frags)
    }

    /// True when the bytes at `offset` hold the upper-layer header: there
    /// was no fragment header, or it was the first fragment (offset 0).
    /// When false, ports and the like must not be read.
    pub fn has_upper_header(&self) -> bool {
        !matches!(self.fragment, Some(f) if f.offset != 0)
    }
}

#[inline]
fn malformed(field: &'static str) -> Error {
    Error::Malformed { layer: Layer::Ipv6, field }
}

/// Steps over IPv6 extension headers to the upper layer.
///
/// `next_header` is the Next Header of the fixed IPv6 header and `data` the
/// bytes that follow it (normally [`Ipv6Packet::payload`]). Hop-by-hop (0),
/// routing (43), fragment (44), destination options (60) and AH (51) are
/// stepped over; any other value ends the walk and is returned as the
/// upper-layer protocol (that includes ESP, whose contents are opaque, and
/// 59, no next header).
///
/// The walk also ends at a fragment header with a nonzero offset, because
/// what follows is the middle of the original payload, not more headers;
/// [`ExtHeaders::has_upper_header`] then returns false.
///
/// Errors:
/// * [`Error::Truncated`] when a header does not fit in `data` (the
///   `required`/`actual` counts are relative to `data`);
/// * `Malformed` `"hop-by-hop position"` when hop-by-hop is not first, which
///   RFC 8200 section 4.1 forbids;
/// * `Malformed` `"fragment header"` on a second fragment header, which no
///   reassembly could make sense of;
/// * `Malformed` `"ah length"` on an AH whose length field is 0;
/// * `Malformed` `"ext header count"` after [`MAX_EXT_HEADERS`] headers.
pub fn walk_ext_headers(next_header: u8, data: &[u8]) -> Result<ExtHeaders, Error> {
    let mut nh = next_header;
    let mut offset = 0usize;
    let mut fragment: Option<Ipv6Fragment> = None;
    // Iteration `i` looks at the (i+1)-th header; the last round only exists
    // to report "too many". Every path through the body returns or advances
    // `offset` by at least 8, and the loop has a fixed trip count anyway.
    for i in 0..=MAX_EXT_HEADERS {
        let is_ext = matches!(
            nh,
            IpProtocol::HOPOPT
                | IpProtocol::IPV6_ROUTE
                | IpProtocol::IPV6_FRAG
                | IpProtocol::IPV6_OPTS
                | IpProtocol::AH
        );
        if !is_ext {
            return Ok(ExtHeaders { protocol: nh, offset, count: i as u8, fragment });
        }
        if i == MAX_EXT_HEADERS {
            return Err(malformed("ext header count"));
        }
        if nh == IpProtocol::HOPOPT && i != 0 {
            return Err(malformed("hop-by-hop position"));
        }
        // Every extension header starts with Next Header and a length byte.
        let hdr = data.get(offset..offset + 2).ok_or(Error::Truncated {
            layer: Layer::Ipv6,
            required: offset + 2,
            actual: data.len(),
        })?;
        let (next, len_byte) = (hdr[0], usize::from(hdr[1]));
        // An AH of length 0 would be 8 bytes, too short for its own SPI and
        // sequence number (12 bytes); RFC 4302 makes 1 the smallest value.
        if nh == IpProtocol::AH && len_byte == 0 {
            return Err(malformed("ah length"));
        }
        let len = match nh {
            IpProtocol::IPV6_FRAG => FRAG_HEADER_LEN,
            // AH counts 4-byte words, minus 2 (RFC 4302 section 2.2).
            IpProtocol::AH => (len_byte + 2) * 4,
            // The others count 8-byte units, not including the first.
            _ => (len_byte + 1) * 8,
        };
        let end = offset + len;
        let body =
            data.get(offset..end).ok_or(Error::Truncated { layer: Layer::Ipv6, required: end, actual: data.len() })?;
        if nh == IpProtocol::IPV6_FRAG {
            if fragment.is_some() {
                return Err(malformed("fragment header"));
            }
            let off_flags = u16::from_be_bytes([body[2], body[3]]);
            let f = Ipv6Fragment {
                offset: off_flags & 0xfff8,
                more_frags: off_flags & 0x0001 != 0,
                ident: u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
            };
            fragment = Some(f);
            if f.offset != 0 {
                // Not the first fragment: the rest is payload, not headers.
                return Ok(ExtHeaders { protocol: next, offset: end, count: i as u8 + 1, fragment });
            }
        }
        offset = end;
        nh = next;
    }
    // The loop returns on every path of its last round; this only keeps the
    // compiler (and a reader) sure the function cannot fall through.
    Err(malformed("ext header count"))
}

/// An IPv6 fixed header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header (first extension header or upper layer).
    pub next_header: u8,
    /// Payload length in bytes (extension headers included).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits; encapsulators put flow entropy here).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Reads the fixed header into plain values. Extension headers are left
    /// in the payload; walk them with [`Ipv6Packet::upper_layer`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Ipv6Repr, Error> {
        let p = Ipv6Packet::new_checked(packet.buffer.as_ref())?;
        Ok(Ipv6Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: usize::from(p.payload_len()),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }

    /// Bytes [`Ipv6Repr::emit`] writes: always 40.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte fixed header; the payload is not touched.
    ///
    /// The view must cover at least 40 bytes. A `payload_len` above 65535
    /// is a caller bug, since jumbograms are not supported (debug builds
    /// assert; release builds saturate). The flow label keeps its low 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX), "IPv6 payload too long");
        packet.set_ver_tc_flow((6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff));
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2001:db8::1 -> 2001:db8::2, traffic class 0xb8 (EF), flow label
    /// 0x12345, UDP, hop limit 64, then an 8-byte UDP header.
    /// First word: 6 | b8 | 12345 = 0x6b812345.
    const PACKET: [u8; 48] = [
        0x6b, 0x81, 0x23, 0x45, 0x00, 0x08, 0x11, 0x40, // ver/tc/flow, plen 8, UDP, hop limit
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst
        0x30, 0x39, 0x12, 0xb5, 0x00, 0x08, 0x00, 0x00, // UDP
    ];

    /// Every extension header the walker knows, in RFC 8200 order:
    /// hop-by-hop (8) -> routing (8) -> fragment (8, offset 0, M=1) ->
    /// destination options (8) -> AH (24) -> UDP at offset 56.
    const CHAIN: [u8; 64] = [
        // hop-by-hop: next routing, len 0, PadN(4)
        43, 0, 0x01, 0x04, 0, 0, 0, 0, //
        // routing: next fragment, len 0, type 253 (experimental), segs 0
        44, 0, 253, 0, 0, 0, 0, 0, //
        // fragment: next dest opts, reserved, offset 0 + M, ident
        60, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, //
        // destination options: next AH, len 0, PadN(4)
        51, 0, 0x01, 0x04, 0, 0, 0, 0, //
        // AH: next UDP, payload len 4 -> (4 + 2) * 4 = 24 bytes
        17, 4, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 1, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, //
        // UDP header
        0x30, 0x39, 0x12, 0xb5, 0x00, 0x08, 0x00, 0x00,
    ];

    fn repr() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::UDP,
            payload_len: 8,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 8);
        assert_eq!(p.next_header(), IpProtocol::UDP);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &PACKET[40..]);
        let up = p.upper_layer().unwrap();
        assert_eq!(up, ExtHeaders { protocol: 17, offset: 40, count: 0, fragment: None });
        assert!(!up.is_fragment() && up.has_upper_header());
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 48];
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
        p.set_version(6);
        p.set_traffic_class(0xb8);
        p.set_flow_label(0x12345);
        p.set_payload_len(8);
        p.set_next_header(IpProtocol::UDP);
        p.set_hop_limit(64);
        p.set_src_addr("2001:db8::1".parse().unwrap());
        p.set_dst_addr("2001:db8::2".parse().unwrap());
        p.payload_mut().copy_from_slice(&PACKET[40..]);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit() {
        let mut buf = [0u8; 48];
        buf[40..].copy_from_slice(&PACKET[40..]);
        let r = repr();
        assert_eq!(r.buffer_len(), 40);
        r.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                Ipv6Packet::new_checked(&PACKET[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Ipv6, required: 40, actual: n }
            );
        }
        assert_eq!(
            Ipv6Packet::new_checked(&PACKET[..47]).unwrap_err(),
            Error::Truncated { layer: Layer::Ipv6, required: 48, actual: 47 }
        );
    }

    #[test]
    fn malformed() {
        let mut b = PACKET;
        b[0] = 0x4b;
        assert_eq!(
            Ipv6Packet::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv6, field: "version" }
        );
    }

    #[test]
    fn walk_full_chain() {
        let r = walk_ext_headers(IpProtocol::HOPOPT, &CHAIN).unwrap();
        assert_eq!(r.protocol, IpProtocol::UDP);
        assert_eq!(r.offset, 56);
        assert_eq!(r.count, 5);
        assert_eq!(r.fragment, Some(Ipv6Fragment { offset: 0, more_frags: true, ident: 0xdeadbeef }));
        // First fragment: a fragment, but the UDP header is here.
        assert!(r.is_fragment());
        assert!(r.has_upper_header());
        assert_eq!(&CHAIN[r.offset..r.offset + 2], &[0x30, 0x39]);
    }

    #[test]
    fn walk_through_packet() {
        let mut buf = [0u8; 104];
        buf[..40].copy_from_slice(&PACKET[..40]);
        buf[40..].copy_from_slice(&CHAIN);
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
        p.set_payload_len(64);
        p.set_next_header(IpProtocol::HOPOPT);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        let r = p.upper_layer().unwrap();
        assert_eq!((r.protocol, r.offset), (17, 96));
    }

    #[test]
    fn walk_later_fragment_stops() {
        // Fragment header with offset 1480 (185 units << 3 = 0x05c8), M=0.
        let data = [17, 0, 0x05, 0xc8, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff];
        let r = walk_ext_headers(IpProtocol::IPV6_FRAG, &data).unwrap();
        assert_eq!(r.protocol, 17);
        assert_eq!(r.offset, 8);
        assert_eq!(r.fragment, Some(Ipv6Fragment { offset: 1480, more_frags: false, ident: 7 }));
        assert!(r.is_fragment());
        assert!(!r.has_upper_header());
        // Even if what follows looks like another extension header, the
        // walk stops: the bytes after a later fragment are payload.
        let data = [60, 0, 0x05, 0xc8, 0, 0, 0, 7, 17, 0];
        let r = walk_ext_headers(IpProtocol::IPV6_FRAG, &data).unwrap();
        assert_eq!((r.protocol, r.offset), (60, 8));
    }

    #[test]
    fn walk_atomic_fragment() {
        let data = [17, 0, 0, 0, 0, 0, 0, 1];
        let r = walk_ext_headers(IpProtocol::IPV6_FRAG, &data).unwrap();
        assert!(!r.is_fragment());
        assert!(r.has_upper_header());
    }

    #[test]
    fn walk_no_ext_and_opaque() {
        assert_eq!(walk_ext_headers(IpProtocol::TCP, &[]).unwrap().offset, 0);
        // ESP ends the walk: its contents are encrypted.
        let r = walk_ext_headers(IpProtocol::IPV6_OPTS, &[IpProtocol::ESP, 0, 1, 4, 0, 0, 0, 0]).unwrap();
        assert_eq!((r.protocol, r.offset), (IpProtocol::ESP, 8));
    }

    #[test]
    fn walk_truncated() {
        for n in 0..CHAIN.len() - 8 {
            let err = walk_ext_headers(IpProtocol::HOPOPT, &CHAIN[..n]).unwrap_err();
            match err {
                Error::Truncated { layer: Layer::Ipv6, required, actual } => {
                    assert_eq!(actual, n);
                    assert!(required > n);
                }
                e => panic!("{e:?} at {n}"),
            }
        }
        // The walk itself does not need the upper-layer bytes.
        assert!(walk_ext_headers(IpProtocol::HOPOPT, &CHAIN[..56]).is_ok());
        // A header whose length byte points past the end.
        assert_eq!(
            walk_ext_headers(IpProtocol::IPV6_OPTS, &[17, 1, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            Error::Truncated { layer: Layer::Ipv6, required: 16, actual: 8 }
        );
    }

    #[test]
    fn walk_malformed() {
        // Hop-by-hop after routing.
        let data = [0, 0, 253, 0, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        assert_eq!(
            walk_ext_headers(IpProtocol::IPV6_ROUTE, &data).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv6, field: "hop-by-hop position" }
        );
        // AH too short for its SPI and sequence number.
        assert_eq!(
            walk_ext_headers(IpProtocol::AH, &[17, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv6, field: "ah length" }
        );
        // Two fragment headers.
        let data = [44, 0, 0, 1, 0, 0, 0, 1, 17, 0, 0, 1, 0, 0, 0, 1];
        assert_eq!(
            walk_ext_headers(IpProtocol::IPV6_FRAG, &data).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv6, field: "fragment header" }
        );
    }

    #[test]
    fn walk_is_bounded() {
        // MAX_EXT_HEADERS destination options headers are fine...
        let mut data = [0u8; 8 * (MAX_EXT_HEADERS + 1)];
        for h in data.chunks_mut(8) {
            h.copy_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        }
        data[8 * (MAX_EXT_HEADERS - 1)] = 17;
        let r = walk_ext_headers(IpProtocol::IPV6_OPTS, &data).unwrap();
        assert_eq!((r.protocol, r.offset, usize::from(r.count)), (17, 8 * MAX_EXT_HEADERS, MAX_EXT_HEADERS));
        // ...one more is refused, however many bytes are left.
        data[8 * (MAX_EXT_HEADERS - 1)] = 60;
        assert_eq!(
            walk_ext_headers(IpProtocol::IPV6_OPTS, &data).unwrap_err(),
            Error::Malformed { layer: Layer::Ipv6, field: "ext header count" }
        );
    }
}
