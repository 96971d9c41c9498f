//! IPv6 fixed header and the extension-header walk.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{ipv6, Ipv6Packet, Ipv6Repr};

fuzz_target!(|data: &[u8]| {
    // The walker on raw bytes, with the first byte as the first next header.
    if let Some((&nh, rest)) = data.split_first() {
        if let Ok(r) = ipv6::walk_ext_headers(nh, rest) {
            assert!(r.offset <= rest.len());
            assert!(usize::from(r.count) <= ipv6::MAX_EXT_HEADERS);
            black_box((r.protocol, r.fragment, r.is_fragment(), r.has_upper_header()));
        }
    }

    let _ = black_box(Ipv6Repr::parse(&Ipv6Packet::new_unchecked(data)));
    let Ok(p) = Ipv6Packet::new_checked(data) else { return };
    black_box((p.version(), p.traffic_class(), p.flow_label(), p.payload_len(), p.next_header(), p.hop_limit()));
    black_box((p.src_addr(), p.dst_addr(), p.payload().len()));
    if let Ok(r) = p.upper_layer() {
        assert!(r.offset >= ipv6::HEADER_LEN && r.offset <= ipv6::HEADER_LEN + p.payload().len());
        black_box((r.protocol, r.is_fragment(), r.has_upper_header()));
    }
    Ipv6Repr::parse(&p).expect("a checked packet parses");

    let mut copy = data.to_vec();
    let mut p = Ipv6Packet::new_checked(&mut copy[..]).unwrap();
    p.set_payload_len(u16::MAX);
    p.set_flow_label(u32::MAX);
    let _ = black_box((p.payload().len(), p.payload_mut().len(), p.upper_layer()));
});
