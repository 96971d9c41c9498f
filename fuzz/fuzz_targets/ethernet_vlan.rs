//! Ethernet header, then up to two VLAN tags (802.1ad outer, 802.1Q inner).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{EtherType, EthernetFrame, VlanTag};

fuzz_target!(|data: &[u8]| {
    let Ok(eth) = EthernetFrame::new_checked(data) else { return };
    black_box((eth.dst_addr(), eth.src_addr(), eth.ethertype()));
    let mut ethertype = eth.ethertype();
    let mut rest = eth.payload();
    // Two tags at most, as a switch parses them (QinQ).
    for _ in 0..2 {
        if ethertype != EtherType::VLAN && ethertype != EtherType::QINQ {
            break;
        }
        let Ok(tag) = VlanTag::new_checked(rest) else { return };
        black_box((tag.tci(), tag.pcp(), tag.dei(), tag.vid(), tag.payload().len()));
        ethertype = tag.ethertype();
        rest = &rest[4..];
    }
    black_box((ethertype, rest.len()));

    // Setters on checked views must not panic either.
    let mut copy = data.to_vec();
    if let Ok(mut eth) = EthernetFrame::new_checked(&mut copy[..]) {
        eth.set_ethertype(EtherType::VLAN);
        if let Ok(mut tag) = VlanTag::new_checked(eth.payload_mut()) {
            tag.set_vid(u16::MAX);
            tag.set_pcp(u8::MAX);
            tag.set_ethertype(0);
            black_box(tag.vid());
        }
    }
});
