//! What the underlay stage learns about a decapsulated frame, for the stages
//! after it: the VNI and the Geneve options it arrived with. Flow rules
//! match on these; `xvs trace` shows them.
//!
//! The metadata lives in a side array of the batch ([`TunnelMetas`]),
//! indexed like its descriptors, so that [`super::PktDesc`] does not grow
//! and frames of an L2-only batch never touch it. The option data is
//! copied out of the frame, because the output stage may push a VLAN tag
//! into the bytes in front of the inner frame, where the options were.

use super::MAX_BURST;
use crate::wire::geneve::GeneveOption;

/// Options per frame that are kept; further ones are counted only.
pub const MAX_OPTIONS: usize = 4;
/// Data bytes per option that are kept (policy and identity options are
/// 4 or 8 bytes long); the rest is cut off.
pub const MAX_OPTION_DATA: usize = 16;

/// One received Geneve option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneveOptionMeta {
    /// Option class.
    pub class: u16,
    /// Option type, critical bit included.
    pub option_type: u8,
    /// Data length as received, in bytes (up to 124).
    pub len: u8,
    /// The first [`MAX_OPTION_DATA`] bytes of the data, zero-filled.
    pub data: [u8; MAX_OPTION_DATA],
}

impl GeneveOptionMeta {
    /// The data kept: all of it, up to [`MAX_OPTION_DATA`] bytes.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len).min(MAX_OPTION_DATA)]
    }
}

/// What one decapsulated frame came with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelMeta {
    /// The VNI (0 for IP-in-IP).
    pub vni: u32,
    /// Options received (Geneve), kept or not.
    pub received: u8,
    /// The first [`MAX_OPTIONS`] of them.
    pub options: [GeneveOptionMeta; MAX_OPTIONS],
}

impl TunnelMeta {
    /// Starts over for a frame with VNI `vni` and no options (yet). Only
    /// the count is cleared: the options past it are not read.
    #[inline(always)]
    pub(crate) fn reset(&mut self, vni: u32) {
        self.vni = vni;
        self.received = 0;
    }

    /// The options kept, in the order received.
    pub fn options(&self) -> &[GeneveOptionMeta] {
        &self.options[..usize::from(self.received).min(MAX_OPTIONS)]
    }

    /// Records the next received option.
    pub(crate) fn push_option<T: AsRef<[u8]>>(&mut self, o: &GeneveOption<T>) {
        if let Some(slot) = self.options.get_mut(usize::from(self.received)) {
            let data = o.data();
            let n = data.len().min(MAX_OPTION_DATA);
            *slot = GeneveOptionMeta {
                class: o.class(),
                option_type: o.option_type(),
                len: data.len() as u8,
                data: [0; MAX_OPTION_DATA],
            };
            slot.data[..n].copy_from_slice(&data[..n]);
        }
        self.received = self.received.saturating_add(1);
    }
}

/// The side array of one batch: [`TunnelMeta`] per frame index, meaningful
/// for the frames the underlay stage decapsulated in this batch.
#[derive(Clone, Debug)]
pub struct TunnelMetas(Box<[TunnelMeta; MAX_BURST]>);

impl Default for TunnelMetas {
    fn default() -> Self {
        TunnelMetas(Box::new([TunnelMeta::default(); MAX_BURST]))
    }
}

impl TunnelMetas {
    /// Frame `i`'s metadata (`None` past the batch size).
    pub fn get(&self, i: usize) -> Option<&TunnelMeta> {
        self.0.get(i)
    }

    /// Frame `i`'s metadata, to fill.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut TunnelMeta> {
        self.0.get_mut(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::geneve::GeneveOption;

    #[test]
    fn options_past_the_limits_are_counted_and_cut() {
        let mut m = TunnelMeta::default();
        m.reset(7);
        let long: Vec<u8> = [0x01, 0x02, 0x03, 5].into_iter().chain(1..=20).collect();
        for _ in 0..MAX_OPTIONS + 2 {
            m.push_option(&GeneveOption::new_checked(&long[..]).unwrap());
        }
        assert_eq!((m.vni, m.received, m.options().len()), (7, MAX_OPTIONS as u8 + 2, MAX_OPTIONS));
        let o = m.options()[0];
        assert_eq!((o.class, o.option_type, o.len), (0x0102, 0x03, 20));
        assert_eq!(o.data(), &(1..=16).collect::<Vec<u8>>()[..]);
    }
}
