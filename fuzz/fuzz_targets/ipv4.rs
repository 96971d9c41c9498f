//! IPv4 header, options, fragments and checksum.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{Ipv4Packet, Ipv4Repr};

fuzz_target!(|data: &[u8]| {
    let _ = black_box(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(data)));
    let Ok(p) = Ipv4Packet::new_checked(data) else { return };
    black_box((p.version(), p.ihl(), p.header_len(), p.has_options(), p.dscp(), p.ecn(), p.tos()));
    black_box((p.total_len(), p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset(), p.is_fragment()));
    black_box((p.ttl(), p.protocol(), p.checksum(), p.src_addr(), p.dst_addr()));
    black_box((p.header().len(), p.options().len(), p.payload().len(), p.as_bytes().len()));
    black_box(p.verify_checksum());
    assert!(p.header_len() <= usize::from(p.total_len()) && usize::from(p.total_len()) <= data.len());
    if let Ok(repr) = Ipv4Repr::parse(&p) {
        assert_eq!(repr.payload_len, p.payload().len());
    }

    // Setters, then getters again: lengths that no longer fit are clamped.
    let mut copy = data.to_vec();
    let mut p = Ipv4Packet::new_checked(&mut copy[..]).unwrap();
    p.decrement_ttl();
    let tweak = data.first().copied().unwrap_or(0);
    p.set_header_len(usize::from(tweak));
    p.set_total_len(u16::from(tweak) << 4);
    p.set_frag_offset(u16::MAX);
    black_box((p.options().len(), p.payload().len(), p.options_mut().len(), p.payload_mut().len()));
    p.fill_checksum();
    black_box(p.verify_checksum());
});
