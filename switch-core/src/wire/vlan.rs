//! IEEE 802.1Q / 802.1ad VLAN tag: the 4 bytes that follow a TPID.
//!
//! On the wire a tagged frame is `dst src TPID TCI inner-ethertype ...`. This
//! view starts at the TCI, i.e. at offset 14 of a tagged frame, and covers the
//! TCI and the EtherType that follows it.

use super::{Error, Layer};

mod field {
    use core::ops::Range;
    pub const TCI: Range<usize> = 0..2;
    pub const ETHERTYPE: Range<usize> = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// Length of the TCI plus inner EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A view over a VLAN tag's TCI and inner EtherType.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanTag { buffer }
    }

    /// Wraps a buffer, checking it holds the 4 bytes of TCI and EtherType.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Vlan, HEADER_LEN, buffer.as_ref().len())?;
        Ok(VlanTag { buffer })
    }

    /// The whole tag control information word.
    #[inline]
    pub fn tci(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::TCI.start], b[field::TCI.start + 1]])
    }

    /// Priority code point (3 bits).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN id (12 bits; 0 means priority-tagged only).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The EtherType of what follows the tag (or the next TPID).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::ETHERTYPE.start], b[field::ETHERTYPE.start + 1]])
    }

    /// Everything after the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets the whole TCI word.
    pub fn set_tci(&mut self, tci: u16) {
        self.buffer.as_mut()[field::TCI].copy_from_slice(&tci.to_be_bytes());
    }

    /// Sets the VLAN id, keeping PCP and DEI.
    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci);
    }

    /// Sets the priority code point, keeping DEI and the VLAN id.
    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(pcp & 7) << 13);
        self.set_tci(tci);
    }

    /// Sets the inner EtherType.
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }
}

/// Builds a TCI word from its parts.
#[inline]
pub const fn tci(pcp: u8, dei: bool, vid: u16) -> u16 {
    ((pcp as u16 & 7) << 13) | ((dei as u16) << 12) | (vid & 0x0fff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deconstruct() {
        let bytes = [0xb0, 0x64, 0x08, 0x00, 0xff];
        let t = VlanTag::new_checked(&bytes[..]).unwrap();
        assert_eq!(t.pcp(), 5);
        assert!(t.dei());
        assert_eq!(t.vid(), 100);
        assert_eq!(t.ethertype(), 0x0800);
        assert_eq!(t.payload(), &[0xff]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 4];
        let mut t = VlanTag::new_checked(&mut bytes[..]).unwrap();
        t.set_tci(tci(5, true, 100));
        t.set_ethertype(0x0800);
        assert_eq!(bytes, [0xb0, 0x64, 0x08, 0x00]);
        let mut t = VlanTag::new_unchecked(&mut bytes[..]);
        t.set_vid(4094);
        t.set_pcp(1);
        assert_eq!(t.vid(), 4094);
        assert_eq!(t.pcp(), 1);
        assert!(t.dei());
    }

    #[test]
    fn truncated() {
        assert!(VlanTag::new_checked(&[0u8; 3][..]).is_err());
    }
}
