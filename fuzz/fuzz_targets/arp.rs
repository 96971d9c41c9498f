//! ARP for Ethernet/IPv4.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{ArpOperation, ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    // Unchecked views go through Repr::parse, which must re-check.
    let _ = black_box(ArpRepr::parse(&ArpPacket::new_unchecked(data)));
    let Ok(p) = ArpPacket::new_checked(data) else { return };
    black_box((p.hardware_type(), p.protocol_type(), p.hardware_len(), p.protocol_len()));
    black_box((p.operation_raw(), p.operation()));
    black_box((p.sender_hardware_addr(), p.sender_protocol_addr()));
    black_box((p.target_hardware_addr(), p.target_protocol_addr()));
    let repr = ArpRepr::parse(&p).expect("a checked packet parses");

    // Emit what was parsed: same fields back.
    let mut buf = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap(), repr);

    let mut copy = data.to_vec();
    let mut p = ArpPacket::new_checked(&mut copy[..]).unwrap();
    p.set_operation(ArpOperation::Other(u16::MAX));
    black_box(p.operation());
});
