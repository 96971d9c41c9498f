//! Geneve header and options (RFC 8926 section 3).
//!
//! ```text
//! |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//! |        Virtual Network Identifier (VNI)       |    Reserved   |
//! |                    Variable-Length Options                    |
//! ```
//!
//! Each option is a 4-byte header plus data:
//!
//! ```text
//! |          Option Class         |      Type     |R|R|R| Length  |
//! |                 Variable-Length Option Data                   |
//! ```
//!
//! Both length fields count 4-byte words; the option length excludes the
//! option header. [`GenevePacket::new_checked`] checks that the fixed header
//! and the whole options area fit; the options themselves are checked
//! lazily by [`GeneveOptions`], which yields an error item on a truncated
//! option and then stops, and never reads past the options area.

use super::{Error, Layer};

mod field {
    use core::ops::Range;
    pub const VER_OPTLEN: usize = 0;
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const VNI: Range<usize> = 4..7;
    pub const OPTIONS: usize = 8;
}

mod opt_field {
    use core::ops::Range;
    pub const CLASS: Range<usize> = 0..2;
    pub const TYPE: usize = 2;
    pub const LENGTH: usize = 3;
    pub const DATA: usize = 4;
}

/// Length of the fixed Geneve header.
pub const HEADER_LEN: usize = field::OPTIONS;
/// The most option bytes a header can announce (6-bit length in words).
pub const MAX_OPTIONS_LEN: usize = 63 * 4;
/// Length of an option's own header.
pub const OPTION_HEADER_LEN: usize = opt_field::DATA;
/// The most data bytes one option can carry (5-bit length in words).
pub const MAX_OPTION_DATA_LEN: usize = 31 * 4;
/// Protocol type of an Ethernet payload (Transparent Ethernet Bridging).
pub const PROTOCOL_ETHERNET: u16 = 0x6558;
/// The bit of an option type that marks it critical: a receiver that does
/// not understand a critical option must drop the packet.
pub const TYPE_CRITICAL: u8 = 0x80;
/// The largest VNI (24 bits).
pub const MAX_VNI: u32 = 0x00ff_ffff;

const FLAG_O: u8 = 0x80;
const FLAG_C: u8 = 0x40;

/// A view over a Geneve header, its options and the payload after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenevePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GenevePacket<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        GenevePacket { buffer }
    }

    /// Wraps a buffer, checking version 0 and that the fixed header plus
    /// the options area (`opt_len` words) fit in the buffer.
    ///
    /// Options are not walked here; iterate [`GenevePacket::options`] (or
    /// call [`GeneveRepr::parse`]) to validate them.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Geneve, HEADER_LEN, len)?;
        let p = GenevePacket { buffer };
        // RFC 8926: a packet with an unknown version must be dropped; its
        // layout past the version field is unknown too.
        if p.version() != 0 {
            return Err(Error::Malformed { layer: Layer::Geneve, field: "version" });
        }
        Error::check_len(Layer::Geneve, p.header_len(), len)?;
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Protocol version (0 for a checked view).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPTLEN] >> 6
    }

    /// Length of the options in 4-byte words (the raw field).
    #[inline]
    pub fn opt_len(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPTLEN] & 0x3f
    }

    /// Length of the options in bytes.
    #[inline]
    pub fn options_len(&self) -> usize {
        usize::from(self.opt_len()) * 4
    }

    /// Fixed header plus options, in bytes: where the payload starts.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// The O bit: a control (OAM) packet, not data to forward.
    #[inline]
    pub fn oam(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & FLAG_O != 0
    }

    /// The C bit: the sender says at least one option is critical.
    #[inline]
    pub fn critical(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & FLAG_C != 0
    }

    /// Protocol type of the payload (an EtherType; 0x6558 for Ethernet).
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::PROTOCOL.start], b[field::PROTOCOL.start + 1]])
    }

    /// The virtual network identifier (24 bits).
    #[inline]
    pub fn vni(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([0, b[field::VNI.start], b[field::VNI.start + 1], b[field::VNI.start + 2]])
    }

    /// The raw options area, clamped to the buffer.
    pub fn options_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.header_len().min(b.len());
        b.get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// Iterates over the options (see [`GeneveOptions`]).
    pub fn options(&self) -> GeneveOptions<'_> {
        GeneveOptions::new(self.options_bytes())
    }

    /// True when any option has the critical bit set.
    ///
    /// Also true when the options cannot be parsed: a receiver cannot tell
    /// whether an unreadable option was critical, and RFC 8926 section 3.5
    /// requires dropping packets with critical options it does not process,
    /// so failing closed is the safe answer.
    pub fn has_critical_option(&self) -> bool {
        self.options().any(|o| o.map_or(true, |o| o.is_critical()))
    }

    /// The payload after the options, clamped to the buffer.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[self.header_len().min(b.len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GenevePacket<T> {
    /// Sets the version (2 bits).
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_OPTLEN];
        *b = (*b & 0x3f) | ((v & 0x03) << 6);
    }

    /// Sets the options length in 4-byte words (6 bits).
    pub fn set_opt_len(&mut self, words: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_OPTLEN];
        *b = (*b & 0xc0) | (words & 0x3f);
    }

    /// Sets or clears the O (OAM) bit.
    pub fn set_oam(&mut self, on: bool) {
        let b = &mut self.buffer.as_mut()[field::FLAGS];
        *b = if on { *b | FLAG_O } else { *b & !FLAG_O };
    }

    /// Sets or clears the C (critical options present) bit.
    pub fn set_critical(&mut self, on: bool) {
        let b = &mut self.buffer.as_mut()[field::FLAGS];
        *b = if on { *b | FLAG_C } else { *b & !FLAG_C };
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::PROTOCOL].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Sets the VNI (the low 24 bits of `vni`).
    pub fn set_vni(&mut self, vni: u32) {
        let b = (vni & MAX_VNI).to_be_bytes();
        self.buffer.as_mut()[field::VNI].copy_from_slice(&b[1..]);
    }

    /// The raw options area, writable; clamped like
    /// [`GenevePacket::options_bytes`].
    pub fn options_bytes_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        let b = self.buffer.as_mut();
        let end = end.min(b.len());
        b.get_mut(field::OPTIONS..end).unwrap_or(&mut [])
    }

    /// The payload after the options, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let b = self.buffer.as_mut();
        let start = start.min(b.len());
        &mut b[start..]
    }
}

/// A view over one Geneve option (its 4-byte header and data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneveOption<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GeneveOption<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        GeneveOption { buffer }
    }

    /// Wraps a buffer, checking it holds the option header and all the data
    /// its length field announces. Trailing bytes (the next options) are
    /// allowed; [`GeneveOption::data`] stops at the announced length.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::GeneveOption, OPTION_HEADER_LEN, len)?;
        let o = GeneveOption { buffer };
        Error::check_len(Layer::GeneveOption, o.total_len(), len)?;
        Ok(o)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Option class (the namespace the type belongs to).
    #[inline]
    pub fn class(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[opt_field::CLASS.start], b[opt_field::CLASS.start + 1]])
    }

    /// Option type, critical bit included.
    #[inline]
    pub fn option_type(&self) -> u8 {
        self.buffer.as_ref()[opt_field::TYPE]
    }

    /// True when the type's high bit marks the option critical.
    #[inline]
    pub fn is_critical(&self) -> bool {
        self.option_type() & TYPE_CRITICAL != 0
    }

    /// Data length in 4-byte words (the raw 5-bit field; the three
    /// reserved bits above it are ignored, as the RFC says).
    #[inline]
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[opt_field::LENGTH] & 0x1f
    }

    /// Data length in bytes.
    #[inline]
    pub fn data_len(&self) -> usize {
        usize::from(self.length()) * 4
    }

    /// Option header plus data, in bytes.
    #[inline]
    pub fn total_len(&self) -> usize {
        OPTION_HEADER_LEN + self.data_len()
    }

    /// The option data, clamped to the buffer.
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.total_len().min(b.len());
        b.get(opt_field::DATA..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GeneveOption<T> {
    /// Sets the option class.
    pub fn set_class(&mut self, class: u16) {
        self.buffer.as_mut()[opt_field::CLASS].copy_from_slice(&class.to_be_bytes());
    }

    /// Sets the option type (critical bit included).
    pub fn set_option_type(&mut self, t: u8) {
        self.buffer.as_mut()[opt_field::TYPE] = t;
    }

    /// Sets the data length in 4-byte words; reserved bits are cleared.
    pub fn set_length(&mut self, words: u8) {
        self.buffer.as_mut()[opt_field::LENGTH] = words & 0x1f;
    }

    /// The option data, writable; clamped like [`GeneveOption::data`].
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        let b = self.buffer.as_mut();
        let end = end.min(b.len());
        b.get_mut(opt_field::DATA..end).unwrap_or(&mut [])
    }
}

/// Iterator over the options area of a Geneve header.
///
/// Yields `Ok(option)` for each option that fits. On an option that does
/// not fit (header or data cut short) it yields one `Err` with layer
/// [`Layer::GeneveOption`] and then ends, so a caller can neither loop on
/// bad input nor miss the error. It never looks past the slice it was
/// given, which [`GenevePacket::options`] limits to `opt_len` words.
#[derive(Debug, Clone)]
pub struct GeneveOptions<'a> {
    rest: &'a [u8],
    /// Offset of `rest` within the options area, for error reporting.
    offset: usize,
    done: bool,
}

impl<'a> GeneveOptions<'a> {
    /// Iterates over `options`, a raw options area.
    pub fn new(options: &'a [u8]) -> Self {
        GeneveOptions { rest: options, offset: 0, done: false }
    }
}

impl<'a> Iterator for GeneveOptions<'a> {
    type Item = Result<GeneveOption<&'a [u8]>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        match GeneveOption::new_checked(self.rest) {
            Ok(o) => {
                let (this, rest) = self.rest.split_at(o.total_len());
                self.rest = rest;
                self.offset += this.len();
                Some(Ok(GeneveOption::new_unchecked(this)))
            }
            Err(e) => {
                self.done = true;
                // Report lengths relative to the whole options area, which is
                // what a reader of a trace can match against opt_len.
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

impl core::iter::FusedIterator for GeneveOptions<'_> {}

/// A Geneve fixed header as plain values.
///
/// Options are not part of it: `options_len` only reserves their room, and
/// [`emit_options`] writes them. This keeps the Repr `Copy` and free of
/// borrowed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveRepr {
    /// O bit: control packet.
    pub oam: bool,
    /// C bit: critical options present.
    pub critical: bool,
    /// Protocol type of the payload.
    pub protocol_type: u16,
    /// VNI (24 bits; higher bits are dropped on emit).
    pub vni: u32,
    /// Bytes of options following the fixed header: a multiple of 4, at
    /// most [`MAX_OPTIONS_LEN`].
    pub options_len: usize,
}

impl GeneveRepr {
    /// Reads the header and validates every option, returning the first
    /// option error.
    pub fn parse<T: AsRef<[u8]>>(packet: &GenevePacket<T>) -> Result<GeneveRepr, Error> {
        let p = GenevePacket::new_checked(packet.buffer.as_ref())?;
        for o in p.options() {
            o?;
        }
        Ok(GeneveRepr {
            oam: p.oam(),
            critical: p.critical(),
            protocol_type: p.protocol_type(),
            vni: p.vni(),
            options_len: p.options_len(),
        })
    }

    /// Bytes of header and options: `8 + options_len`.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options_len
    }

    /// Writes the 8-byte fixed header (version 0, reserved bits zero); the
    /// options area is left for [`emit_options`].
    ///
    /// The view must cover at least 8 bytes. An `options_len` that is not a
    /// multiple of 4 or exceeds [`MAX_OPTIONS_LEN`] is a caller bug (debug
    /// builds assert; release builds round down and saturate).
    /// [`options_len`] computes a valid value from the options to emit.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut GenevePacket<T>) {
        debug_assert!(self.options_len & 3 == 0 && self.options_len <= MAX_OPTIONS_LEN, "bad Geneve options_len");
        packet.buffer.as_mut()[..HEADER_LEN].fill(0);
        let words = (self.options_len.min(MAX_OPTIONS_LEN) / 4) as u8;
        packet.set_opt_len(words);
        packet.set_oam(self.oam);
        packet.set_critical(self.critical);
        packet.set_protocol_type(self.protocol_type);
        packet.set_vni(self.vni);
    }
}

/// One option to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveOptionRepr<'a> {
    /// Option class.
    pub class: u16,
    /// Option type (set [`TYPE_CRITICAL`] for a critical option).
    pub option_type: u8,
    /// Option data: a multiple of 4 bytes, at most [`MAX_OPTION_DATA_LEN`].
    pub data: &'a [u8],
}

impl GeneveOptionRepr<'_> {
    /// True when the type's critical bit is set.
    pub fn is_critical(&self) -> bool {
        self.option_type & TYPE_CRITICAL != 0
    }

    /// Bytes this option takes on the wire: 4 + data.
    pub fn buffer_len(&self) -> usize {
        OPTION_HEADER_LEN + self.data.len()
    }
}

/// The total length of `options` on the wire, after checking each data
/// length is a multiple of 4 and at most 124 bytes, and that the total is
/// at most [`MAX_OPTIONS_LEN`].
pub fn options_len(options: &[GeneveOptionRepr<'_>]) -> Result<usize, Error> {
    let mut total = 0usize;
    for o in options {
        if o.data.len() % 4 != 0 || o.data.len() > MAX_OPTION_DATA_LEN {
            return Err(Error::Malformed { layer: Layer::GeneveOption, field: "length" });
        }
        total += o.buffer_len();
        // Checked inside the loop so a huge slice cannot overflow `total`.
        if total > MAX_OPTIONS_LEN {
            return Err(Error::Malformed { layer: Layer::Geneve, field: "opt_len" });
        }
    }
    Ok(total)
}

/// Writes `options` back to back at the start of `buf` (the options area,
/// i.e. the bytes after the fixed header) and returns how many bytes were
/// written. Reserved bits are written as zero.
///
/// Fails without writing anything when an option is invalid (see
/// [`options_len`]) or `buf` is too short.
pub fn emit_options(options: &[GeneveOptionRepr<'_>], buf: &mut [u8]) -> Result<usize, Error> {
    let total = options_len(options)?;
    Error::check_len(Layer::Geneve, total, buf.len())?;
    let mut at = 0;
    for o in options {
        let n = o.buffer_len();
        let mut view = GeneveOption::new_unchecked(&mut buf[at..at + n]);
        view.set_class(o.class);
        view.set_option_type(o.option_type);
        view.set_length((o.data.len() / 4) as u8);
        view.data_mut().copy_from_slice(o.data);
        at += n;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 0, opt_len 3 words, C bit, Ethernet payload, VNI 0x00abcd,
    /// then two options and two payload bytes:
    /// * class 0x0102, type 0x80 (critical), length 1 word, data de ad be ef
    /// * class 0xffff, type 0x05, length 0
    const PACKET: [u8; 22] = [
        0x03, 0x40, 0x65, 0x58, // ver 0 | opt_len 3, C, protocol type
        0x00, 0xab, 0xcd, 0x00, // VNI, reserved
        0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef, // option 1
        0xff, 0xff, 0x05, 0x00, // option 2
        0x02, 0x00, // payload
    ];

    fn repr() -> GeneveRepr {
        GeneveRepr { oam: false, critical: true, protocol_type: PROTOCOL_ETHERNET, vni: 0xabcd, options_len: 12 }
    }

    fn opts() -> [GeneveOptionRepr<'static>; 2] {
        [
            GeneveOptionRepr { class: 0x0102, option_type: 0x80, data: &[0xde, 0xad, 0xbe, 0xef] },
            GeneveOptionRepr { class: 0xffff, option_type: 0x05, data: &[] },
        ]
    }

    #[test]
    fn deconstruct() {
        let p = GenevePacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 0);
        assert_eq!(p.opt_len(), 3);
        assert_eq!(p.options_len(), 12);
        assert_eq!(p.header_len(), 20);
        assert!(!p.oam());
        assert!(p.critical());
        assert_eq!(p.protocol_type(), PROTOCOL_ETHERNET);
        assert_eq!(p.vni(), 0xabcd);
        assert_eq!(p.options_bytes(), &PACKET[8..20]);
        assert_eq!(p.payload(), &[0x02, 0x00]);
        assert!(p.has_critical_option());

        let mut it = p.options();
        let o = it.next().unwrap().unwrap();
        assert_eq!(o.class(), 0x0102);
        assert_eq!(o.option_type(), 0x80);
        assert!(o.is_critical());
        assert_eq!(o.length(), 1);
        assert_eq!(o.data(), &[0xde, 0xad, 0xbe, 0xef]);
        let o = it.next().unwrap().unwrap();
        assert_eq!(o.class(), 0xffff);
        assert_eq!(o.option_type(), 0x05);
        assert!(!o.is_critical());
        assert_eq!(o.data(), &[] as &[u8]);
        assert!(it.next().is_none());
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 22];
        let mut p = GenevePacket::new_unchecked(&mut buf[..]);
        p.set_version(0);
        p.set_opt_len(3);
        p.set_oam(true);
        p.set_oam(false);
        p.set_critical(true);
        p.set_protocol_type(PROTOCOL_ETHERNET);
        p.set_vni(0xabcd);
        {
            let area = p.options_bytes_mut();
            let mut o = GeneveOption::new_unchecked(&mut area[..8]);
            o.set_class(0x0102);
            o.set_option_type(0x80);
            o.set_length(1);
            o.data_mut().copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
            let mut o = GeneveOption::new_unchecked(&mut area[8..]);
            o.set_class(0xffff);
            o.set_option_type(0x05);
            o.set_length(0);
        }
        p.payload_mut().copy_from_slice(&[0x02, 0x00]);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse() {
        let p = GenevePacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(GeneveRepr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit() {
        let mut buf = [0xffu8; 22];
        let r = repr();
        assert_eq!(options_len(&opts()).unwrap(), r.options_len);
        assert_eq!(r.buffer_len(), 20);
        r.emit(&mut GenevePacket::new_unchecked(&mut buf[..]));
        assert_eq!(emit_options(&opts(), &mut buf[8..20]).unwrap(), 12);
        buf[20..].copy_from_slice(&[0x02, 0x00]);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn no_options() {
        let b = [0x00, 0x00, 0x65, 0x58, 0, 0, 1, 0];
        let p = GenevePacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.options().count(), 0);
        assert!(!p.has_critical_option());
        assert_eq!(p.vni(), 1);
        assert!(p.payload().is_empty());
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                GenevePacket::new_checked(&PACKET[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Geneve, required: 8, actual: n }
            );
        }
        for n in HEADER_LEN..20 {
            assert_eq!(
                GenevePacket::new_checked(&PACKET[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Geneve, required: 20, actual: n }
            );
        }
        assert!(GenevePacket::new_checked(&PACKET[..20]).is_ok());
    }

    #[test]
    fn truncated_option_yields_one_error() {
        // opt_len 3 words: a first option of 1 data word (8 bytes) fits,
        // then a second option header claims 31 words that are not there.
        let mut b = [0u8; 8 + 12];
        b[0] = 3;
        b[8..16].copy_from_slice(&[0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4]);
        b[16..20].copy_from_slice(&[0x01, 0x02, 0x83, 0x1f]);
        let p = GenevePacket::new_checked(&b[..]).unwrap();
        let items: Vec<_> = p.options().collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(
            items[1].unwrap_err(),
            Error::Truncated { layer: Layer::GeneveOption, required: 8 + 4 + 124, actual: 12 }
        );
        // Fail closed: an unreadable option counts as critical.
        b[18] = 0x03;
        assert!(GenevePacket::new_checked(&b[..]).unwrap().has_critical_option());
        assert!(GeneveRepr::parse(&GenevePacket::new_checked(&b[..]).unwrap()).is_err());
        // The option's data would be in the buffer, but past opt_len: the
        // iterator must report it, not read into the payload.
        let mut b = [0u8; 8 + 4 + 4];
        b[0] = 1; // opt_len 1 word: the option header only
        b[8..12].copy_from_slice(&[0, 1, 2, 1]); // claims 1 data word
        let p = GenevePacket::new_checked(&b[..]).unwrap();
        let items: Vec<_> = p.options().collect();
        assert_eq!(items, vec![Err(Error::Truncated { layer: Layer::GeneveOption, required: 8, actual: 4 })]);
    }

    #[test]
    fn options_stop_at_opt_len() {
        // opt_len 1 word holding a zero-data option; the payload after it
        // looks like another option but must not be read as one.
        let b = [0x01, 0, 0x65, 0x58, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1, 0x82, 0];
        let p = GenevePacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.options().count(), 1);
        assert!(!p.has_critical_option());
    }

    #[test]
    fn malformed() {
        let mut b = PACKET;
        b[0] |= 0x40; // version 1
        assert_eq!(
            GenevePacket::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Geneve, field: "version" }
        );
    }

    #[test]
    fn emit_options_rejects_bad_lengths() {
        let odd = [GeneveOptionRepr { class: 1, option_type: 1, data: &[1, 2, 3] }];
        assert_eq!(
            emit_options(&odd, &mut [0u8; 64]).unwrap_err(),
            Error::Malformed { layer: Layer::GeneveOption, field: "length" }
        );
        let big_data = [0u8; 128];
        let big = [GeneveOptionRepr { class: 1, option_type: 1, data: &big_data }];
        assert!(emit_options(&big, &mut [0u8; 256]).is_err());
        let max_data = [0u8; MAX_OPTION_DATA_LEN];
        let max = GeneveOptionRepr { class: 1, option_type: 1, data: &max_data };
        // Two max options: 256 bytes > 252.
        assert_eq!(options_len(&[max, max]).unwrap_err(), Error::Malformed { layer: Layer::Geneve, field: "opt_len" });
        assert_eq!(options_len(&[max]).unwrap(), 128);
        // Too short a buffer: nothing written.
        let mut small = [0u8; 4];
        assert_eq!(
            emit_options(&opts(), &mut small).unwrap_err(),
            Error::Truncated { layer: Layer::Geneve, required: 12, actual: 4 }
        );
        assert_eq!(small, [0; 4]);
    }

    #[test]
    fn option_view_checks() {
        assert!(GeneveOption::new_checked(&[0u8, 1, 2][..]).is_err());
        assert_eq!(
            GeneveOption::new_checked(&[0u8, 1, 2, 2, 0, 0, 0, 0][..]).unwrap_err(),
            Error::Truncated { layer: Layer::GeneveOption, required: 12, actual: 8 }
        );
        // Reserved bits in the length byte are ignored.
        let o = GeneveOption::new_checked(&[0u8, 1, 2, 0xe0][..]).unwrap();
        assert_eq!(o.length(), 0);
    }
}
