//! UDP header and checksums over IPv4 and IPv6 pseudo headers.
#![no_main]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{UdpPacket, UdpRepr};

fuzz_target!(|data: &[u8]| {
    let _ = black_box(UdpRepr::parse(&UdpPacket::new_unchecked(data)));
    let Ok(p) = UdpPacket::new_checked(data) else { return };
    let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
    let (s6, d6) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    black_box((p.src_port(), p.dst_port(), p.len(), p.checksum(), p.payload().len()));
    black_box((p.verify_checksum_v4(s4, d4), p.verify_checksum_v6(s6, d6)));
    UdpRepr::parse(&p).expect("a checked datagram parses");

    // Filling then verifying must always agree.
    let mut copy = data.to_vec();
    let mut p = UdpPacket::new_checked(&mut copy[..]).unwrap();
    p.fill_checksum_v4(s4, d4);
    assert!(p.verify_checksum_v4(s4, d4));
    p.fill_checksum_v6(s6, d6);
    assert!(p.verify_checksum_v6(s6, d6));
    p.set_len(u16::MAX);
    black_box((p.payload().len(), p.payload_mut().len()));
});
