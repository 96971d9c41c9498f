//! VXLAN header (RFC 7348 section 5): 8 bytes after the outer UDP header,
//! followed by the inner Ethernet frame.
//!
//! ```text
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! ```
//!
//! The I flag must be set for the VNI to be valid, so
//! [`VxlanPacket::new_checked`] rejects a header without it. The reserved
//! bits are ignored on receive and written as zero on emit, as the RFC says;
//! extensions that give them meaning (GPE, GBP) are not handled here.

use super::{Error, Layer};

mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const VNI: Range<usize> = 4..7;
    pub const PAYLOAD: usize = 8;
}

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The I flag: "the VNI is valid".
pub const FLAG_I: u8 = 0x08;

/// The largest VNI (24 bits).
pub const MAX_VNI: u32 = 0x00ff_ffff;

/// A view over a VXLAN header and the inner frame after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VxlanPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VxlanPacket<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Self {
        VxlanPacket { buffer }
    }

    /// Wraps a buffer, checking it holds the 8-byte header and that the I
    /// flag is set (`Malformed` field `"flags"` otherwise).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        Error::check_len(Layer::Vxlan, HEADER_LEN, buffer.as_ref().len())?;
        let p = VxlanPacket { buffer };
        if !p.i_flag() {
            return Err(Error::Malformed { layer: Layer::Vxlan, field: "flags" });
        }
        Ok(p)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The flags byte, reserved bits included.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The I flag: set when the VNI is valid.
    #[inline]
    pub fn i_flag(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The VXLAN network identifier (24 bits).
    #[inline]
    pub fn vni(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([0, b[field::VNI.start], b[field::VNI.start + 1], b[field::VNI.start + 2]])
    }

    /// The inner Ethernet frame.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VxlanPacket<T> {
    /// Sets the flags byte as given.
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets the VNI (the low 24 bits of `vni`).
    pub fn set_vni(&mut self, vni: u32) {
        let b = (vni & MAX_VNI).to_be_bytes();
        self.buffer.as_mut()[field::VNI].copy_from_slice(&b[1..]);
    }

    /// The inner Ethernet frame, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// A VXLAN header as plain values: only the VNI carries information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanRepr {
    /// The VNI (24 bits; higher bits are dropped on emit).
    pub vni: u32,
}

impl VxlanRepr {
    /// Reads the header; fails like [`VxlanPacket::new_checked`].
    pub fn parse<T: AsRef<[u8]>>(packet: &VxlanPacket<T>) -> Result<VxlanRepr, Error> {
        let p = VxlanPacket::new_checked(packet.buffer.as_ref())?;
        Ok(VxlanRepr { vni: p.vni() })
    }

    /// Bytes [`VxlanRepr::emit`] writes: always 8.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 8-byte header: I flag, VNI, and zero in every reserved
    /// field (the view must cover at least 8 bytes).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut VxlanPacket<T>) {
        packet.buffer.as_mut()[..HEADER_LEN].fill(0);
        packet.set_flags(FLAG_I);
        packet.set_vni(self.vni);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// I flag, VNI 0x123456, then the first bytes of an inner frame.
    const PACKET: [u8; 12] = [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0xff, 0xff, 0xff, 0xff];

    #[test]
    fn deconstruct() {
        let p = VxlanPacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.flags(), 0x08);
        assert!(p.i_flag());
        assert_eq!(p.vni(), 0x123456);
        assert_eq!(p.payload(), &[0xff; 4]);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 12];
        let mut p = VxlanPacket::new_unchecked(&mut buf[..]);
        p.set_flags(FLAG_I);
        p.set_vni(0x123456);
        p.payload_mut().copy_from_slice(&[0xff; 4]);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse() {
        let p = VxlanPacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(VxlanRepr::parse(&p).unwrap(), VxlanRepr { vni: 0x123456 });
    }

    #[test]
    fn emit() {
        let mut buf = [0xaau8; 8];
        let r = VxlanRepr { vni: 0x123456 };
        assert_eq!(r.buffer_len(), 8);
        r.emit(&mut VxlanPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf, PACKET[..8]);
        // Bits above 24 do not leak into the flags or reserved byte.
        VxlanRepr { vni: 0xff12_3456 }.emit(&mut VxlanPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf, PACKET[..8]);
    }

    #[test]
    fn reserved_bits_ignored_on_receive() {
        let mut b = PACKET;
        b[0] = 0xff;
        b[1] = 0xff;
        b[7] = 0xff;
        let p = VxlanPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.vni(), 0x123456);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                VxlanPacket::new_checked(&PACKET[..n]).unwrap_err(),
                Error::Truncated { layer: Layer::Vxlan, required: 8, actual: n }
            );
        }
    }

    #[test]
    fn malformed() {
        let mut b = PACKET;
        b[0] = 0xf7; // every bit but I
        assert_eq!(
            VxlanPacket::new_checked(&b[..]).unwrap_err(),
            Error::Malformed { layer: Layer::Vxlan, field: "flags" }
        );
    }
}
