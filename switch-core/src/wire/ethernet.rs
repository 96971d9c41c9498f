//! Ethernet II frame header (IEEE 802.3 with an EtherType).

use super::{Error, Layer};
use crate::types::MacAddr;

/// Well-known EtherType values.
#[allow(missing_docs)]
pub struct EtherType;

#[allow(missing_docs)]
impl EtherType {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const QINQ: u16 = 0x88a8;
    /// Values below this are 802.3 lengths, not EtherTypes.
    pub const MIN_ETHERTYPE: u16 = 0x0600;
}

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Length of the Ethernet II header (no tags).
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The fixed header as an array, so accessors index without bounds checks.
/// Only called on views whose length was checked (or promised, unchecked).
#[inline]
fn header(b: &[u8]) -> &[u8; HEADER_LEN] {
    match b.first_chunk::<HEADER_LEN>() {
        Some(h) => h,
        None => panic!("EthernetFrame shorter than its header (built with new_unchecked)"),
    }
}

/// A view over an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer, checking it holds at least the 14-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Ethernet, HEADER_LEN, buffer.as_ref().len())?;
        Ok(EthernetFrame { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[6], b[7], b[8], b[9], b[10], b[11]])
    }

    /// Destination MAC as the low 48 bits of a `u64`: one 8-byte load
    /// instead of six, for the hot path and FDB keys.
    #[inline]
    pub fn dst_addr_u64(&self) -> u64 {
        let b: &[u8; HEADER_LEN] = header(self.buffer.as_ref());
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) >> 16
    }

    /// Source MAC as the low 48 bits of a `u64`.
    #[inline]
    pub fn src_addr_u64(&self) -> u64 {
        let b: &[u8; HEADER_LEN] = header(self.buffer.as_ref());
        u64::from_be_bytes([b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]]) & 0xffff_ffff_ffff
    }

    /// The EtherType (or TPID, when the frame is tagged).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::ETHERTYPE.start], b[field::ETHERTYPE.start + 1]])
    }

    /// Everything after the 14-byte header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    /// Sets the source MAC address.
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Everything after the 14-byte header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 18] = [
        0x02, 0, 0, 0, 0, 0x02, // dst
        0x02, 0, 0, 0, 0, 0x01, // src
        0x08, 0x00, // IPv4
        0xaa, 0xbb, 0xcc, 0xdd,
    ];

    #[test]
    fn deconstruct() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst_addr().to_string(), "02:00:00:00:00:02");
        assert_eq!(f.src_addr().to_string(), "02:00:00:00:00:01");
        assert_eq!(f.ethertype(), EtherType::IPV4);
        assert_eq!(f.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(MacAddr::from_u64(f.dst_addr_u64()), f.dst_addr());
        assert_eq!(MacAddr::from_u64(f.src_addr_u64()), f.src_addr());
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 18];
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_dst_addr(MacAddr([0x02, 0, 0, 0, 0, 0x02]));
        f.set_src_addr(MacAddr([0x02, 0, 0, 0, 0, 0x01]));
        f.set_ethertype(EtherType::IPV4);
        f.payload_mut().copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(buf, FRAME);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&FRAME[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Ethernet, required: 14, actual: n }
            );
        }
    }
}
