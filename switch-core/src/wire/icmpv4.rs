//! ICMPv4 header (RFC 792): type, code, checksum, then four bytes whose
//! meaning depends on the type (identifier and sequence for echo).
//!
//! Only as much as a VTEP needs to answer `ping` for its own address: the
//! fixed header, the checksum over the whole message, and the echo types.

use super::{checksum, Error, Layer};

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: core::ops::Range<usize> = 2..4;
    pub const REST: usize = 4;
}

/// Length of the fixed ICMPv4 header.
pub const HEADER_LEN: usize = 8;
/// Echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Echo request.
pub const ECHO_REQUEST: u8 = 8;
/// Destination unreachable.
pub const DEST_UNREACHABLE: u8 = 3;
/// Destination unreachable's code "fragmentation needed and DF set"
/// (RFC 792), whose header carries the next-hop MTU (RFC 1191).
pub const CODE_FRAG_NEEDED: u8 = 4;

/// A view over an ICMPv4 message (header and data: the IPv4 payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wraps a buffer, checking it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Icmpv4, HEADER_LEN, buffer.as_ref().len())?;
        Ok(Icmpv4Packet { buffer })
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
    /// for echo).
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[field::REST], b[field::REST + 1], b[field::REST + 2], b[field::REST + 3]]
    }

    /// True when the checksum verifies over the whole message.
    pub fn verify_checksum(&self) -> bool {
        checksum::verifies(checksum::sum(self.buffer.as_ref()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
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
        self.buffer.as_mut()[field::REST..field::REST + 4].copy_from_slice(&rest);
    }

    /// Computes the checksum over the whole message and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let csum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(csum);
    }

    /// Turns an echo request into its reply, patching the checksum for the
    /// one changed word instead of summing the data again (RFC 1624).
    pub fn make_echo_reply(&mut self) {
        let old = u16::from_be_bytes([self.msg_type(), self.code()]);
        self.set_msg_type(ECHO_REPLY);
        let new = u16::from_be_bytes([ECHO_REPLY, self.code()]);
        let csum = checksum::update(self.checksum(), old, new);
        self.set_checksum(csum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_request() -> Vec<u8> {
        let mut m = vec![ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, b'p', b'i', b'n', b'g', b'!'];
        let c = checksum::checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    #[test]
    fn echo_reply_keeps_a_valid_checksum() {
        let mut m = echo_request();
        let mut p = Icmpv4Packet::new_checked(&mut m[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.msg_type(), p.code(), p.rest_of_header()), (ECHO_REQUEST, 0, [0x12, 0x34, 0, 1]));
        p.make_echo_reply();
        assert_eq!(p.msg_type(), ECHO_REPLY);
        assert!(p.verify_checksum());
        let mut full = m.clone();
        full[2..4].fill(0);
        assert_eq!(checksum::checksum(&full).to_be_bytes(), [m[2], m[3]]);
    }

    #[test]
    fn short_and_corrupt_messages_are_caught() {
        assert!(matches!(Icmpv4Packet::new_checked(&[8u8, 0, 0][..]), Err(Error::Truncated { .. })));
        let mut m = echo_request();
        m[9] ^= 1;
        assert!(!Icmpv4Packet::new_checked(&m[..]).unwrap().verify_checksum());
    }
}
