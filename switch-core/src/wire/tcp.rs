//! TCP header (RFC 9293): only what flow rules match on, the ports and the
//! flags. xvs switches TCP, it never terminates it, so nothing here builds
//! a segment or checks a checksum.

use super::{Error, Layer};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    /// Data offset (4 bits), reserved (3 bits) and the 9 flag bits.
    pub const OFF_FLAGS: Range<usize> = 12..14;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// The flag bits, as they sit in the low 12 bits of bytes 12-13.
pub mod flags {
    /// No more data from the sender.
    pub const FIN: u16 = 0x001;
    /// Synchronise sequence numbers.
    pub const SYN: u16 = 0x002;
    /// Reset the connection.
    pub const RST: u16 = 0x004;
    /// Push.
    pub const PSH: u16 = 0x008;
    /// The acknowledgment field is significant.
    pub const ACK: u16 = 0x010;
    /// The urgent pointer is significant.
    pub const URG: u16 = 0x020;
    /// ECN-echo (RFC 3168).
    pub const ECE: u16 = 0x040;
    /// Congestion window reduced (RFC 3168).
    pub const CWR: u16 = 0x080;
    /// Every flag bit a header can carry (with the historic NS bit).
    pub const ALL: u16 = 0xfff;
}

/// A view over a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpHeader<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpHeader { buffer }
    }

    /// Wraps a buffer, checking it holds the 20-byte fixed header and that
    /// the data offset is at least 5 words and within the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        Error::check_len(Layer::Tcp, HEADER_LEN, len)?;
        let h = TcpHeader { buffer };
        let header_len = h.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed { layer: Layer::Tcp, field: "data_offset" });
        }
        Error::check_len(Layer::Tcp, header_len, len)?;
        Ok(h)
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SRC_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::DST_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The flag bits ([`flags`]).
    #[inline]
    pub fn flags(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::OFF_FLAGS];
        u16::from_be_bytes([b[0], b[1]]) & flags::ALL
    }

    /// Header length in bytes, from the data offset.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFF_FLAGS.start] >> 4) * 4
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpHeader<T> {
    /// Sets the ports.
    pub fn set_ports(&mut self, src: u16, dst: u16) {
        let b = self.buffer.as_mut();
        b[field::SRC_PORT].copy_from_slice(&src.to_be_bytes());
        b[field::DST_PORT].copy_from_slice(&dst.to_be_bytes());
    }

    /// Sets a 20-byte header's data offset and the flags.
    pub fn set_offset_flags(&mut self, header_len: usize, flag_bits: u16) {
        let v = ((header_len / 4) as u16) << 12 | (flag_bits & flags::ALL);
        self.buffer.as_mut()[field::OFF_FLAGS].copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_and_flags() {
        let mut b = [0u8; 20];
        let mut h = TcpHeader::new_unchecked(&mut b[..]);
        h.set_ports(40000, 5201);
        h.set_offset_flags(20, flags::SYN | flags::ACK);
        let h = TcpHeader::new_checked(&b[..]).unwrap();
        assert_eq!((h.src_port(), h.dst_port(), h.flags(), h.header_len()), (40000, 5201, 0x12, 20));
    }

    #[test]
    fn refuses_short_and_bad_offsets() {
        assert!(matches!(TcpHeader::new_checked(&[0u8; 19][..]), Err(Error::Truncated { .. })));
        let mut b = [0u8; 20];
        b[12] = 4 << 4;
        assert!(matches!(TcpHeader::new_checked(&b[..]), Err(Error::Malformed { field: "data_offset", .. })));
        b[12] = 6 << 4;
        assert!(matches!(TcpHeader::new_checked(&b[..]), Err(Error::Truncated { .. })));
    }
}
