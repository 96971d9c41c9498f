//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages a VTEP needs
//! (RFC 4861): neighbor solicitations and advertisements with their
//! link-layer address options.
//!
//! ```text
//! |     Type      |     Code      |           Checksum            |
//! |                  Rest of header (type specific)               |
//! |                        Message body ...                       |
//! ```
//!
//! A neighbor solicitation or advertisement puts flags (NA only) in the rest
//! of the header, a 16-byte target address at bytes 8..24, then options of
//! `type, length in 8-byte units, data`.
//!
//! Unlike ICMPv4, the checksum covers the IPv6 pseudo header (RFC 4443
//! section 2.3), so checking and filling it take the IPv6 addresses.

use std::net::Ipv6Addr;

use super::ipv4::IpProtocol;
use super::{checksum, Error, Layer};
use crate::types::MacAddr;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST: Range<usize> = 4..8;
    pub const PAYLOAD: usize = 8;
    /// NA flags, first byte of the rest of the header.
    pub const FLAGS: usize = 4;
    /// Target address of a neighbor solicitation or advertisement.
    pub const TARGET: Range<usize> = 8..24;
    /// First NDP option after a solicitation or advertisement.
    pub const OPTIONS: usize = 24;
    // Within one NDP option.
    pub const OPT_TYPE: usize = 0;
    pub const OPT_LEN: usize = 1;
    pub const OPT_LL_ADDR: Range<usize> = 2..8;
}

/// Length of the fixed ICMPv6 header.
pub const HEADER_LEN: usize = 8;
/// Destination unreachable.
pub const DEST_UNREACHABLE: u8 = 1;
/// Packet too big: the rest of the header is the next-hop MTU.
pub const PACKET_TOO_BIG: u8 = 2;
/// Time exceeded.
pub const TIME_EXCEEDED: u8 = 3;
/// Echo request.
pub const ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const ECHO_REPLY: u8 = 129;
/// Router solicitation (RFC 4861 section 4.1).
pub const ROUTER_SOLICIT: u8 = 133;
/// Router advertisement (RFC 4861 section 4.2).
pub const ROUTER_ADVERT: u8 = 134;
/// Neighbor solicitation (RFC 4861 section 4.3).
pub const NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbor advertisement (RFC 4861 section 4.4).
pub const NEIGHBOR_ADVERT: u8 = 136;
/// Version 2 multicast listener report (RFC 3810 section 5.2); see
/// [`super::mld`].
pub const MLD_V2_REPORT: u8 = 143;

/// NDP option: the sender's link-layer address.
pub const SOURCE_LL_ADDR: u8 = 1;
/// NDP option: the target's link-layer address.
pub const TARGET_LL_ADDR: u8 = 2;

/// NA flag: the sender is a router.
pub const NA_ROUTER: u8 = 0x80;
/// NA flag: the advertisement answers a solicitation.
pub const NA_SOLICITED: u8 = 0x40;
/// NA flag: the advertisement should override a cached link-layer address.
pub const NA_OVERRIDE: u8 = 0x20;

/// The hop limit every NDP message is sent with and must arrive with
/// (RFC 4861 section 7.1), which proves it was not forwarded by a router.
pub const NDP_HOP_LIMIT: u8 = 255;
/// Length of a neighbor solicitation without options.
pub const NS_LEN: usize = field::OPTIONS;
/// Length of a neighbor advertisement without options.
pub const NA_LEN: usize = field::OPTIONS;
/// Length of a link-layer address option for Ethernet (length field 1).
pub const LL_OPTION_LEN: usize = 8;

/// The most an ICMPv6 error message may take: the IPv6 minimum MTU (1280)
/// less the 40-byte IPv6 header (RFC 4443 section 2.4 (c)).
pub const MAX_ERROR_LEN: usize = 1280 - 40;

/// All nodes on the link (ff02::1).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The partial sum of the pseudo header and the whole message, which is
/// what both checking and filling the checksum need.
fn message_sum(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
    // Messages beyond 4 GiB cannot exist without jumbograms; saturating
    // keeps the cast total instead of wrapping.
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    checksum::combine(checksum::pseudo_header_v6(src, dst, IpProtocol::ICMPV6, len), checksum::sum(msg))
}

/// Zeroes the checksum field of `msg` (at least 4 bytes) and stores the
/// checksum of the message under the pseudo header of `src` and `dst`.
fn store_checksum(msg: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
    msg[field::CHECKSUM].fill(0);
    let csum = checksum::finish(message_sum(msg, src, dst));
    msg[field::CHECKSUM].copy_from_slice(&csum.to_be_bytes());
}

/// A view over an ICMPv6 message (header and body: the upper-layer bytes
/// after the IPv6 header and its extension headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Wraps a buffer, checking it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Icmpv6, HEADER_LEN, buffer.as_ref().len())?;
        Ok(Icmpv6Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The code.
    #[inline]
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// The four bytes after the checksum (identifier and sequence number
    /// for echo, the MTU for packet too big, flags for NA).
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[field::REST.start], b[field::REST.start + 1], b[field::REST.start + 2], b[field::REST.start + 3]]
    }

    /// The message body after the 8-byte header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }

    /// True when the checksum verifies over the whole buffer under the
    /// pseudo header of `src` and `dst` (the addresses of the IPv6 header
    /// that carried the message).
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum::verifies(message_sum(self.buffer.as_ref(), src, dst))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, t: u8) {
        self.buffer.as_mut()[field::TYPE] = t;
    }

    /// Sets the code.
    #[inline]
    pub fn set_code(&mut self, c: u8) {
        self.buffer.as_mut()[field::CODE] = c;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, csum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&csum.to_be_bytes());
    }

    /// Sets the four bytes after the checksum.
    pub fn set_rest_of_header(&mut self, rest: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&rest);
    }

    /// Computes the checksum over the whole buffer under the pseudo header
    /// of `src` and `dst` and stores it.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        store_checksum(self.buffer.as_mut(), src, dst);
    }

    /// Turns an echo request into its reply in place: type 129, code 0
    /// (RFC 4443 section 4.2), identifier, sequence and data kept, checksum
    /// recomputed for the reply's own `src` and `dst`.
    ///
    /// The checksum is summed again rather than patched because the reply
    /// to a request sent to a multicast address comes from a unicast one,
    /// which changes the pseudo header.
    pub fn make_echo_reply(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_msg_type(ECHO_REPLY);
        self.set_code(0);
        self.fill_checksum(src, dst);
    }
}

/// A view over a neighbor solicitation or advertisement (RFC 4861 sections
/// 4.3 and 4.4): the fixed 24 bytes and the options after them.
///
/// It wraps an [`Icmpv6Packet`], which reads the header fields and the
/// checksum common to every ICMPv6 message.
///
/// [`NdpPacket::new_checked`] applies the checks of RFC 4861 sections 7.1.1
/// and 7.1.2 that need only the message itself: length, code 0, and options
/// of nonzero length that end inside the buffer. The checksum, the hop limit
/// of 255 ([`NDP_HOP_LIMIT`]) and the rules tied to the IPv6 addresses are
/// left to the caller, who has the IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpPacket<T: AsRef<[u8]>> {
    icmp: Icmpv6Packet<T>,
}

impl<T: AsRef<[u8]>> NdpPacket<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        NdpPacket { icmp: Icmpv6Packet::new_unchecked(buffer) }
    }

    /// Wraps a buffer holding a whole ICMPv6 message, checking that it is a
    /// solicitation or an advertisement (`"type"`), that the code is 0
    /// (`"code"`), that it holds the 24 fixed bytes, and that its options
    /// are well formed: an option of length 0 is [`Error::Malformed`]
    /// (`"option length"`) and one running past the buffer is
    /// [`Error::Truncated`], both of which RFC 4861 says to discard.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Icmpv6, NS_LEN, len)?;
        let p = NdpPacket::new_unchecked(buffer);
        if !matches!(p.msg_type(), NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT) {
            return Err(Error::Malformed { layer: Layer::Icmpv6, field: "type" });
        }
        if p.code() != 0 {
            return Err(Error::Malformed { layer: Layer::Icmpv6, field: "code" });
        }
        if let Some(Err(e)) = p.options().find(Result::is_err) {
            return Err(e);
        }
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.icmp.into_inner()
    }

    /// The message type ([`NEIGHBOR_SOLICIT`] or [`NEIGHBOR_ADVERT`] for a
    /// checked view).
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.icmp.msg_type()
    }

    /// The code (0 for a checked view).
    #[inline]
    pub fn code(&self) -> u8 {
        self.icmp.code()
    }

    /// The checksum field as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.icmp.checksum()
    }

    /// The advertisement flags byte ([`NA_ROUTER`],
    /// [`NA_SOLICITED`], [`NA_OVERRIDE`] and five reserved bits);
    /// in a solicitation this byte is reserved.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.icmp.buffer.as_ref()[field::FLAGS]
    }

    /// The router flag of an advertisement.
    #[inline]
    pub fn router(&self) -> bool {
        self.flags() & NA_ROUTER != 0
    }

    /// The solicited flag of an advertisement.
    #[inline]
    pub fn solicited(&self) -> bool {
        self.flags() & NA_SOLICITED != 0
    }

    /// The override flag of an advertisement.
    #[inline]
    pub fn override_flag(&self) -> bool {
        self.flags() & NA_OVERRIDE != 0
    }

    /// The target address: the address being resolved (NS) or whose
    /// link-layer address is advertised (NA).
    pub fn target_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.icmp.buffer.as_ref()[field::TARGET]);
        Ipv6Addr::from(a)
    }

    /// The options area: everything after the 24 fixed bytes, empty when
    /// the buffer is shorter.
    pub fn options_bytes(&self) -> &[u8] {
        self.icmp.buffer.as_ref().get(field::OPTIONS..).unwrap_or(&[])
    }

    /// Iterates over the options; the byte counts of a `Truncated` error
    /// count from the start of the message. Yields no error on a checked
    /// view.
    pub fn options(&self) -> NdpOptions<'_> {
        NdpOptions { rest: self.options_bytes(), offset: field::OPTIONS, done: false }
    }

    /// The link-layer address carried by the first option of type `kind`
    /// ([`SOURCE_LL_ADDR`] or [`TARGET_LL_ADDR`]) with length 1, the
    /// Ethernet size (RFC 4861 section 4.6.1). Options of other lengths are
    /// for other link layers and are skipped; the search stops at the first
    /// malformed option, which only an unchecked view can have.
    pub fn ll_option(&self, kind: u8) -> Option<MacAddr> {
        self.options().map_while(Result::ok).filter(|o| o.kind() == kind).find_map(|o| o.ll_addr())
    }

    /// True when the checksum verifies under the pseudo header of `src` and
    /// `dst`; see [`Icmpv6Packet::verify_checksum`].
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.icmp.verify_checksum(src, dst)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NdpPacket<T> {
    /// Sets the advertisement flags byte.
    pub fn set_flags(&mut self, flags: u8) {
        self.icmp.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets the target address.
    pub fn set_target_addr(&mut self, addr: Ipv6Addr) {
        self.icmp.buffer.as_mut()[field::TARGET].copy_from_slice(&addr.octets());
    }

    /// Computes the checksum over the whole buffer under the pseudo header
    /// of `src` and `dst` and stores it.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.icmp.fill_checksum(src, dst);
    }
}

/// A view over one NDP option (RFC 4861 section 4.6): type, length in
/// 8-byte units including these two bytes, data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpOption<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NdpOption<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        NdpOption { buffer }
    }

    /// Wraps a buffer starting with an option, checking the type and length
    /// bytes are there, that the length is not 0 (which would make a walk
    /// over the options stand still; RFC 4861 says to discard the packet)
    /// and that the option fits. The buffer may go on past the option.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Icmpv6, 2, len)?;
        let o = NdpOption { buffer };
        if o.length() == 0 {
            return Err(Error::Malformed { layer: Layer::Icmpv6, field: "option length" });
        }
        Error::check_len(Layer::Icmpv6, o.total_len(), len)?;
        Ok(o)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The option type.
    #[inline]
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::OPT_TYPE]
    }

    /// The length field, in 8-byte units.
    #[inline]
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::OPT_LEN]
    }

    /// The option's length in bytes, type and length bytes included.
    #[inline]
    pub fn total_len(&self) -> usize {
        usize::from(self.length()) * 8
    }

    /// The bytes after type and length, clamped to the buffer.
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.total_len().min(b.len());
        b.get(field::OPT_LEN + 1..end).unwrap_or(&[])
    }

    /// The link-layer address of a length-1 option (the Ethernet form of
    /// the source and target link-layer address options), whatever the
    /// type; `None` for any other length.
    pub fn ll_addr(&self) -> Option<MacAddr> {
        if self.length() != 1 {
            return None;
        }
        MacAddr::from_bytes(self.buffer.as_ref().get(field::OPT_LL_ADDR)?)
    }
}

/// Iterator over NDP options.
///
/// Yields `Ok(option)` for each option that fits. On an option of length 0
/// or one cut short it yields one `Err` with layer [`Layer::Icmpv6`] and then
/// ends, so a crafted length can neither make it loop nor hide the error.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    rest: &'a [u8],
    /// Offset of `rest` from where error positions count.
    offset: usize,
    done: bool,
}

impl<'a> NdpOptions<'a> {
    /// Iterates over `options`, a raw options area; the byte counts of a
    /// `Truncated` error count from its start.
    pub fn new(options: &'a [u8]) -> Self {
        NdpOptions { rest: options, offset: 0, done: false }
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<&'a [u8]>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        match NdpOption::new_checked(self.rest) {
            Ok(o) => {
                let (this, rest) = self.rest.split_at(o.total_len());
                self.rest = rest;
                self.offset += this.len();
                Some(Ok(NdpOption::new_unchecked(this)))
            }
            Err(e) => {
                self.done = true;
                let e = match e {
                    Error::Truncated { layer, required, actual } => {
                        Error::Truncated { layer, required: self.offset + required, actual: self.offset + actual }
                    }
                    other => other,
                };
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for NdpOptions<'_> {}

/// Writes a solicitation or advertisement with an optional link-layer
/// address option and fills its checksum; returns its length.
fn emit_nd(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    header: [u8; 2],
    flags: u8,
    target: Ipv6Addr,
    ll: Option<(u8, MacAddr)>,
) -> usize {
    let len = NS_LEN + if ll.is_some() { LL_OPTION_LEN } else { 0 };
    let b = &mut buf[..len];
    b.fill(0);
    b[field::TYPE] = header[0];
    b[field::CODE] = header[1];
    b[field::FLAGS] = flags;
    b[field::TARGET].copy_from_slice(&target.octets());
    if let Some((kind, mac)) = ll {
        let o = &mut b[field::OPTIONS..];
        o[field::OPT_TYPE] = kind;
        o[field::OPT_LEN] = 1;
        o[field::OPT_LL_ADDR].copy_from_slice(&mac.0);
    }
    store_checksum(b, src, dst);
    len
}

/// Writes into `buf` a neighbor solicitation from `src` to `dst` (usually
/// [`solicited_node`] of `target`) asking for `target`'s link-layer
/// address, with a source link-layer address option carrying `sll`, and
/// fills the checksum. Returns the length written: [`NS_LEN`] +
/// [`LL_OPTION_LEN`] = 32.
///
/// When `src` is the unspecified address (duplicate address detection) the
/// option is left out, as RFC 4861 section 4.3 requires, and 24 is returned.
/// Panics when `buf` is shorter than the length returned.
pub fn emit_neighbor_solicit(buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr, target: Ipv6Addr, sll: MacAddr) -> usize {
    let ll = (!src.is_unspecified()).then_some((SOURCE_LL_ADDR, sll));
    emit_nd(buf, src, dst, [NEIGHBOR_SOLICIT, 0], 0, target, ll)
}

/// Writes into `buf` (at least [`NA_LEN`] + [`LL_OPTION_LEN`] = 32 bytes;
/// panics otherwise) a neighbor advertisement from `src` to `dst` saying
/// `target` is at `tll`, with a target link-layer address option, and
/// fills the checksum. `flags` is any of [`NA_ROUTER`],
/// [`NA_SOLICITED`] and [`NA_OVERRIDE`]; the reserved bits are
/// cleared. Returns 32.
pub fn emit_neighbor_advert(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    tll: MacAddr,
    flags: u8,
) -> usize {
    let flags = flags & (NA_ROUTER | NA_SOLICITED | NA_OVERRIDE);
    emit_nd(buf, src, dst, [NEIGHBOR_ADVERT, 0], flags, target, Some((TARGET_LL_ADDR, tll)))
}

/// Writes into `buf` a packet too big message (type 2, code 0) from `src`
/// to `dst` announcing `mtu`, followed by as much of `quoted` (the start of
/// the packet that did not fit, from its IPv6 header on) as fits both in
/// `buf` and in [`MAX_ERROR_LEN`] bytes of message (RFC 4443 section
/// 2.4 (c)), and fills the checksum. Returns the length written.
///
/// Panics when `buf` is shorter than [`HEADER_LEN`].
pub fn emit_packet_too_big(buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr, mtu: u32, quoted: &[u8]) -> usize {
    let room = buf.len().min(MAX_ERROR_LEN);
    let n = quoted.len().min(room.saturating_sub(HEADER_LEN));
    let len = HEADER_LEN + n;
    let b = &mut buf[..len];
    b[field::TYPE] = PACKET_TOO_BIG;
    b[field::CODE] = 0;
    b[field::REST].copy_from_slice(&mtu.to_be_bytes());
    b[field::PAYLOAD..].copy_from_slice(&quoted[..n]);
    store_checksum(b, src, dst);
    len
}

/// The solicited-node multicast address of `addr`: ff02::1:ff00:0/104 with
/// the low 24 bits of `addr` (RFC 4291 section 2.7.1), where neighbor
/// solicitations for `addr` are sent.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let a = addr.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15]])
}

/// The Ethernet destination for an IPv6 multicast address: 33:33 and the
/// low 32 bits of the address (RFC 2464 section 7).
pub fn multicast_mac(addr: Ipv6Addr) -> MacAddr {
    let a = addr.octets();
    MacAddr([0x33, 0x33, a[12], a[13], a[14], a[15]])
}

/// The link-local address fe80::/64 whose interface identifier is the
/// modified EUI-64 of `mac`: ff:fe inserted in the middle and the
/// universal/local bit inverted (RFC 4291 section 2.5.1 and appendix A).
pub fn link_local_from_mac(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv6Slice, Icmpv6Type};
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// The checksum etherparse computes for `msg`, whose header it is told
    /// as raw type, code and rest of header so that it sums them itself.
    fn etherparse_checksum(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        let t = Icmpv6Type::Unknown { type_u8: msg[0], code_u8: msg[1], bytes5to8: [msg[4], msg[5], msg[6], msg[7]] };
        t.calc_checksum(src.octets(), dst.octets(), &msg[8..]).unwrap()
    }

    fn etherparse_verifies(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        Icmpv6Slice::from_slice(msg).unwrap().is_checksum_valid(src.octets(), dst.octets())
    }

    /// A 24-byte solicitation for fe80::2 followed by `options`, checksum
    /// not filled (the option tests do not need it).
    fn ns_with(options: &[u8]) -> Vec<u8> {
        let mut m = vec![NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&ip("fe80::2").octets());
        m.extend_from_slice(options);
        m
    }

    #[test]
    fn neighbor_solicit_round_trip() {
        let (src, target) = (ip("fe80::1"), ip("2001:db8::2"));
        let dst = solicited_node(target);
        let mut b = [0xeeu8; 40];
        assert_eq!(emit_neighbor_solicit(&mut b, src, dst, target, MAC), NS_LEN + LL_OPTION_LEN);
        assert_eq!(&b[32..], &[0xee; 8], "nothing written past the message");
        let m = &b[..32];
        let p = NdpPacket::new_checked(m).unwrap();
        assert_eq!((p.msg_type(), p.code(), p.flags()), (NEIGHBOR_SOLICIT, 0, 0));
        assert_eq!(p.target_addr(), target);
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), Some(MAC));
        assert_eq!(p.ll_option(TARGET_LL_ADDR), None);
        assert!(p.verify_checksum(src, dst));
        assert!(!p.verify_checksum(src, ALL_NODES));
        let i = Icmpv6Packet::new_checked(m).unwrap();
        assert!(i.verify_checksum(src, dst));
        assert_eq!(i.checksum(), etherparse_checksum(m, src, dst));
        assert!(etherparse_verifies(m, src, dst));
    }

    #[test]
    fn neighbor_solicit_for_dad_has_no_option() {
        let target = ip("fe80::ff:fe00:1");
        let dst = solicited_node(target);
        let mut b = [0u8; NS_LEN];
        assert_eq!(emit_neighbor_solicit(&mut b, Ipv6Addr::UNSPECIFIED, dst, target, MAC), NS_LEN);
        let p = NdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.options().count(), 0);
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), None);
        assert!(p.verify_checksum(Ipv6Addr::UNSPECIFIED, dst));
        assert!(etherparse_verifies(&b, Ipv6Addr::UNSPECIFIED, dst));
    }

    #[test]
    fn neighbor_advert_round_trip() {
        let (src, dst, target) = (ip("2001:db8::2"), ip("fe80::1"), ip("2001:db8::2"));
        let mut b = [0u8; 32];
        let flags = NA_SOLICITED | NA_OVERRIDE | 0x1f;
        assert_eq!(emit_neighbor_advert(&mut b, src, dst, target, MAC, flags), NA_LEN + LL_OPTION_LEN);
        let p = NdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), NEIGHBOR_ADVERT);
        assert_eq!(p.flags(), NA_SOLICITED | NA_OVERRIDE, "reserved bits cleared");
        assert_eq!((p.router(), p.solicited(), p.override_flag()), (false, true, true));
        assert_eq!(&b[4..8], &[0x60, 0, 0, 0]);
        assert_eq!(p.target_addr(), target);
        assert_eq!(p.ll_option(TARGET_LL_ADDR), Some(MAC));
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), None);
        assert!(p.verify_checksum(src, dst));
        assert_eq!(p.checksum(), etherparse_checksum(&b, src, dst));
    }

    /// Every byte of one solicitation, with the checksum summed by hand:
    /// fe80::1 -> ff02::1:ff00:2 asking for fe80::2 from 02:00:00:00:00:01.
    ///
    /// Pseudo header (source, destination, length 0x20, next header 0x3a):
    /// fe80 + 0001 + ff02 + 0001 + ff00 + 0002 + 0020 + 003a = 0x2fce0.
    /// Message (type and code, target, option): 8700 + fe80 + 0002 + 0101 +
    /// 0200 + 0000 + 0001 = 0x18884. Together 0x48564, folded 0x8568,
    /// complemented 0x7a97; etherparse agrees.
    #[test]
    fn neighbor_solicit_known_answer() {
        #[rustfmt::skip]
        const WANT: [u8; 32] = [
            0x87, 0x00, 0x7a, 0x97, 0, 0, 0, 0,
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
            0x01, 0x01, 0x02, 0, 0, 0, 0, 0x01,
        ];
        let (src, target) = (ip("fe80::1"), ip("fe80::2"));
        let dst = solicited_node(target);
        assert_eq!(dst, ip("ff02::1:ff00:2"));
        let mut b = [0u8; 32];
        emit_neighbor_solicit(&mut b, src, dst, target, MAC);
        assert_eq!(b, WANT);
        assert_eq!(etherparse_checksum(&WANT, src, dst), 0x7a97);
    }

    #[test]
    fn echo_reply_round_trip() {
        let (host, vtep) = (ip("2001:db8::9"), ip("2001:db8::1"));
        let mut m = vec![ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, b'p', b'i', b'n', b'g', b'!'];
        Icmpv6Packet::new_checked(&mut m[..]).unwrap().fill_checksum(host, ALL_NODES);
        assert!(etherparse_verifies(&m, host, ALL_NODES));
        let mut p = Icmpv6Packet::new_checked(&mut m[..]).unwrap();
        assert!(p.verify_checksum(host, ALL_NODES));
        assert_eq!(p.rest_of_header(), [0x12, 0x34, 0, 1]);
        // Asked on all-nodes, answered from the unicast address.
        p.make_echo_reply(vtep, host);
        assert_eq!((p.msg_type(), p.code()), (ECHO_REPLY, 0));
        assert_eq!((p.rest_of_header(), p.payload()), ([0x12, 0x34, 0, 1], &b"ping!"[..]));
        assert!(p.verify_checksum(vtep, host));
        assert_eq!(p.checksum(), etherparse_checksum(&m, vtep, host));
    }

    #[test]
    fn packet_too_big_quotes_what_fits() {
        let (src, dst, mtu) = (ip("2001:db8::1"), ip("2001:db8::9"), 1450u32);
        let quoted: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();

        let mut b = vec![0u8; 2000];
        let n = emit_packet_too_big(&mut b, src, dst, mtu, &quoted[..100]);
        assert_eq!(n, 108);
        let p = Icmpv6Packet::new_checked(&b[..n]).unwrap();
        assert_eq!((p.msg_type(), p.code(), p.rest_of_header()), (PACKET_TOO_BIG, 0, mtu.to_be_bytes()));
        assert_eq!(p.payload(), &quoted[..100]);
        assert!(p.verify_checksum(src, dst));
        assert_eq!(p.checksum(), etherparse_checksum(&b[..n], src, dst));

        // A long packet is cut so the message stays within the minimum MTU.
        let n = emit_packet_too_big(&mut b, src, dst, mtu, &quoted);
        assert_eq!(n, MAX_ERROR_LEN);
        let p = Icmpv6Packet::new_checked(&b[..n]).unwrap();
        assert_eq!(p.payload(), &quoted[..MAX_ERROR_LEN - HEADER_LEN]);
        assert!(p.verify_checksum(src, dst));
        assert!(etherparse_verifies(&b[..n], src, dst));

        // And within the buffer.
        let mut small = [0u8; 20];
        assert_eq!(emit_packet_too_big(&mut small, src, dst, mtu, &quoted), 20);
        assert!(Icmpv6Packet::new_checked(&small[..]).unwrap().verify_checksum(src, dst));
        let mut header_only = [0u8; HEADER_LEN];
        assert_eq!(emit_packet_too_big(&mut header_only, src, dst, mtu, &quoted), HEADER_LEN);
        assert!(Icmpv6Packet::new_checked(&header_only[..]).unwrap().verify_checksum(src, dst));
    }

    #[test]
    fn short_and_corrupt_messages_are_caught() {
        assert!(matches!(
            Icmpv6Packet::new_checked(&[128u8, 0, 0][..]),
            Err(Error::Truncated { layer: Layer::Icmpv6, required: 8, actual: 3 })
        ));
        let mut b = [0u8; 32];
        let (src, dst) = (ip("fe80::1"), ip("fe80::2"));
        emit_neighbor_advert(&mut b, src, dst, src, MAC, NA_SOLICITED);
        b[30] ^= 1;
        assert!(!NdpPacket::new_checked(&b[..]).unwrap().verify_checksum(src, dst));
        assert!(!Icmpv6Packet::new_checked(&b[..]).unwrap().verify_checksum(src, dst));
    }

    #[test]
    fn ndp_checks_length_type_and_code() {
        let m = ns_with(&[]);
        assert!(matches!(
            NdpPacket::new_checked(&m[..23]),
            Err(Error::Truncated { layer: Layer::Icmpv6, required: 24, actual: 23 })
        ));
        let mut rs = m.clone();
        rs[0] = ROUTER_SOLICIT;
        assert_eq!(NdpPacket::new_checked(&rs[..]), Err(Error::Malformed { layer: Layer::Icmpv6, field: "type" }));
        let mut coded = m.clone();
        coded[1] = 1;
        assert_eq!(NdpPacket::new_checked(&coded[..]), Err(Error::Malformed { layer: Layer::Icmpv6, field: "code" }));
        assert!(NdpPacket::new_checked(&m[..]).is_ok());
    }

    #[test]
    fn zero_length_option_is_malformed() {
        // A good option, then one of length 0 that would stall a walk.
        let m = ns_with(&[1, 1, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0]);
        let err = Error::Malformed { layer: Layer::Icmpv6, field: "option length" };
        assert_eq!(NdpPacket::new_checked(&m[..]), Err(err));
        let p = NdpPacket::new_unchecked(&m[..]);
        let items: Vec<_> = p.options().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(err));
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), Some(MAC), "found before the bad option");
        assert_eq!(p.ll_option(TARGET_LL_ADDR), None, "not searched past it");
    }

    #[test]
    fn option_past_the_end_is_truncated() {
        // Length 2 claims 16 bytes, only 8 are there.
        let m = ns_with(&[1, 2, 2, 0, 0, 0, 0, 1]);
        let err = Error::Truncated { layer: Layer::Icmpv6, required: 40, actual: 32 };
        assert_eq!(NdpPacket::new_checked(&m[..]), Err(err));
        let p = NdpPacket::new_unchecked(&m[..]);
        assert_eq!(p.options().collect::<Vec<_>>(), vec![Err(err)]);
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), None);
        // A lone type byte with no length byte.
        let m = ns_with(&[1]);
        let err = Error::Truncated { layer: Layer::Icmpv6, required: 26, actual: 25 };
        assert_eq!(NdpPacket::new_checked(&m[..]), Err(err));
        // An option cut short inside its address.
        let m = ns_with(&[1, 1, 2, 0, 0]);
        assert!(matches!(NdpPacket::new_checked(&m[..]), Err(Error::Truncated { required: 32, actual: 29, .. })));
        assert_eq!(NdpPacket::new_unchecked(&m[..]).ll_option(SOURCE_LL_ADDR), None);
    }

    #[test]
    fn ll_option_skips_what_is_not_ethernet() {
        let other = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
        let m = ns_with(&[
            14, 1, 0, 0, 0, 0, 0, 0, // a nonce option (RFC 3971), not ours
            1, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, // a 16-byte link-layer address
            2, 1, 2, 0, 0, 0, 0, 2, // target, Ethernet
            1, 1, 2, 0, 0, 0, 0, 1, // source, Ethernet
        ]);
        let p = NdpPacket::new_checked(&m[..]).unwrap();
        assert_eq!(p.options().count(), 4);
        assert_eq!(p.ll_option(SOURCE_LL_ADDR), Some(MAC));
        assert_eq!(p.ll_option(TARGET_LL_ADDR), Some(other));
        assert_eq!(p.ll_option(5), None);
        assert_eq!(NdpPacket::new_checked(&ns_with(&[])[..]).unwrap().ll_option(SOURCE_LL_ADDR), None);
        let o: Vec<_> = p.options().map(Result::unwrap).collect();
        assert_eq!((o[1].kind(), o[1].length(), o[1].total_len(), o[1].data()), (1, 2, 16, &[9u8; 14][..]));
        assert_eq!(o[1].ll_addr(), None);
    }

    #[test]
    fn address_helpers_known_vectors() {
        // The example of RFC 4291 section 2.7.1.
        assert_eq!(solicited_node(ip("4037::1:800:200e:8c6c")), ip("ff02::1:ff0e:8c6c"));
        assert_eq!(solicited_node(ip("fe80::ff:fe00:1")), ip("ff02::1:ff00:1"));
        assert_eq!(multicast_mac(ALL_NODES), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        assert_eq!(multicast_mac(ip("ff02::1:ff0e:8c6c")), MacAddr([0x33, 0x33, 0xff, 0x0e, 0x8c, 0x6c]));
        // 02:00:00:00:00:01 -> interface id 00:00:00:ff:fe:00:00:01 (U/L bit
        // flipped off, ff:fe in the middle).
        assert_eq!(link_local_from_mac(MAC), ip("fe80::ff:fe00:1"));
        // A universal address gets the bit set: 00:aa:00:3f:2a:1c.
        assert_eq!(link_local_from_mac(MacAddr([0, 0xaa, 0, 0x3f, 0x2a, 0x1c])), ip("fe80::2aa:ff:fe3f:2a1c"));
    }

    fn addr() -> impl Strategy<Value = Ipv6Addr> {
        any::<[u8; 16]>().prop_map(Ipv6Addr::from)
    }

    /// Touches every getter and setter of every view `new_checked` lets
    /// through, and the option walk even when it does not.
    fn touch(b: &mut [u8], x: u8) {
        let a = Ipv6Addr::LOCALHOST;
        if let Ok(mut p) = Icmpv6Packet::new_checked(&mut *b) {
            let _ = (p.msg_type(), p.code(), p.checksum(), p.rest_of_header(), p.payload().len());
            let _ = p.verify_checksum(a, a);
            p.set_msg_type(x);
            p.set_code(x);
            p.set_rest_of_header([x; 4]);
            p.set_checksum(u16::from(x));
            p.fill_checksum(a, a);
            assert!(p.verify_checksum(a, a));
            p.make_echo_reply(a, ALL_NODES);
            assert!(p.verify_checksum(a, ALL_NODES));
        }
        if let Ok(mut p) = NdpPacket::new_checked(&mut *b) {
            let _ = (p.msg_type(), p.code(), p.checksum(), p.flags(), p.router(), p.solicited(), p.override_flag());
            let _ = (p.target_addr(), p.options_bytes().len(), p.verify_checksum(a, a));
            assert!(p.options().all(|o| o.is_ok()));
            let _ = (p.ll_option(SOURCE_LL_ADDR), p.ll_option(TARGET_LL_ADDR), p.ll_option(x));
            p.set_flags(x);
            p.set_target_addr(a);
            p.fill_checksum(a, a);
            assert!(p.verify_checksum(a, a));
        }
        // The walk and the finder also hold up on unchecked views, as long
        // as the fixed bytes are there.
        if b.len() >= NS_LEN {
            let p = NdpPacket::new_unchecked(&*b);
            let _ = (p.ll_option(SOURCE_LL_ADDR), p.ll_option(x));
        }
        let mut items = 0;
        let mut it = NdpOptions::new(b);
        while let Some(item) = it.next() {
            items += 1;
            assert!(items <= b.len() / 8 + 1, "the walk runs too long");
            match item {
                Ok(o) => {
                    let _ = (o.kind(), o.length(), o.data().len(), o.ll_addr());
                    assert_eq!(o.data().len(), o.total_len() - 2);
                }
                Err(e) => {
                    assert_eq!(e.layer(), Layer::Icmpv6);
                    assert!(it.next().is_none(), "nothing after an error");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..120), x in any::<u8>()) {
            touch(&mut raw.clone(), x);
            // Steered towards NDP: a solicitation or advertisement with code
            // 0, so that new_checked gets as far as the options.
            let mut b = raw.clone();
            if b.len() >= 2 {
                b[0] = if x & 1 == 0 { NEIGHBOR_SOLICIT } else { NEIGHBOR_ADVERT };
                b[1] = 0;
            }
            touch(&mut b, x);
        }

        /// Options built from (type, length, data) with small lengths,
        /// zero included, and sometimes cut short: new_checked accepts
        /// exactly the well-formed lists and ll_option finds what a plain
        /// search over the list finds.
        #[test]
        fn options_agree_with_a_model(
            opts in prop::collection::vec((0u8..4, 0u8..3, any::<[u8; 16]>()), 0..6), cut in 0usize..24,
        ) {
            let mut area = Vec::new();
            for (kind, len, data) in &opts {
                area.extend_from_slice(&[*kind, *len]);
                area.extend_from_slice(&data[..(usize::from(*len) * 8).max(2) - 2]);
            }
            let cut = cut.min(area.len());
            let cut_area = &area[..area.len() - cut];
            let m = ns_with(cut_area);

            // The model: walk the list while options have nonzero length
            // and end within the cut area.
            let mut at = 0;
            let mut good = true;
            let mut found = [None, None];
            for (kind, len, data) in &opts {
                if at >= cut_area.len() {
                    break;
                }
                let size = usize::from(*len) * 8;
                if *len == 0 || at + size > cut_area.len() {
                    good = false;
                    break;
                }
                if *len == 1 && (*kind == SOURCE_LL_ADDR || *kind == TARGET_LL_ADDR) {
                    let slot = &mut found[usize::from(*kind - 1)];
                    if slot.is_none() {
                        *slot = MacAddr::from_bytes(&data[..6]);
                    }
                }
                at += size;
            }
            let p = NdpPacket::new_unchecked(&m[..]);
            prop_assert_eq!(NdpPacket::new_checked(&m[..]).is_ok(), good);
            prop_assert_eq!(p.ll_option(SOURCE_LL_ADDR), found[0]);
            prop_assert_eq!(p.ll_option(TARGET_LL_ADDR), found[1]);
        }

        #[test]
        fn emitters_agree_with_etherparse(
            src in addr(), dst in addr(), target in addr(), mac in any::<[u8; 6]>(), flags in any::<u8>(),
            mtu in any::<u32>(), quoted in prop::collection::vec(any::<u8>(), 0..1400),
        ) {
            let mac = MacAddr(mac);
            let mut b = vec![0u8; 1500];
            let n = emit_neighbor_solicit(&mut b, src, dst, target, mac);
            let p = NdpPacket::new_checked(&b[..n]).unwrap();
            prop_assert_eq!(p.target_addr(), target);
            prop_assert_eq!(p.ll_option(SOURCE_LL_ADDR), (!src.is_unspecified()).then_some(mac));
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert_eq!(p.checksum(), etherparse_checksum(&b[..n], src, dst));

            let n = emit_neighbor_advert(&mut b, src, dst, target, mac, flags);
            let p = NdpPacket::new_checked(&b[..n]).unwrap();
            prop_assert_eq!((p.target_addr(), p.flags()), (target, flags & 0xe0));
            prop_assert_eq!(p.ll_option(TARGET_LL_ADDR), Some(mac));
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert_eq!(p.checksum(), etherparse_checksum(&b[..n], src, dst));

            let n = emit_packet_too_big(&mut b, src, dst, mtu, &quoted);
            prop_assert_eq!(n, (HEADER_LEN + quoted.len()).min(MAX_ERROR_LEN));
            let p = Icmpv6Packet::new_checked(&b[..n]).unwrap();
            prop_assert_eq!(p.rest_of_header(), mtu.to_be_bytes());
            prop_assert_eq!(p.payload(), &quoted[..n - HEADER_LEN]);
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert!(etherparse_verifies(&b[..n], src, dst));
        }
    }
}
