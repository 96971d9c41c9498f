//! VXLAN header.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{VxlanPacket, VxlanRepr};

fuzz_target!(|data: &[u8]| {
    let _ = black_box(VxlanRepr::parse(&VxlanPacket::new_unchecked(data)));
    let Ok(p) = VxlanPacket::new_checked(data) else { return };
    black_box((p.flags(), p.i_flag(), p.vni(), p.payload().len()));
    let repr = VxlanRepr::parse(&p).expect("a checked header parses");
    let mut buf = [0u8; 8];
    repr.emit(&mut VxlanPacket::new_unchecked(&mut buf[..]));
    assert_eq!(VxlanRepr::parse(&VxlanPacket::new_checked(&buf[..]).unwrap()).unwrap(), repr);

    let mut copy = data.to_vec();
    let mut p = VxlanPacket::new_checked(&mut copy[..]).unwrap();
    p.set_vni(u32::MAX);
    black_box((p.vni(), p.payload_mut().len()));
});
