//! IPv4-in-IPv4: decapsulation of an outer header and encapsulation in place.
#![no_main]

use std::hint::black_box;
use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{ipip, IpipRepr, Ipv4Packet};

fuzz_target!(|data: &[u8]| {
    let _ = black_box(IpipRepr::parse(&Ipv4Packet::new_unchecked(data)));
    if let Ok(outer) = Ipv4Packet::new_checked(data) {
        let _ = black_box(IpipRepr::parse(&outer));
        if let Ok(inner) = ipip::decap(&outer) {
            black_box((inner.src_addr(), inner.dst_addr(), inner.protocol(), inner.payload().len()));
            black_box((inner.verify_checksum(), inner.options().len(), inner.is_fragment()));
        }
    }

    // Encapsulate the input as an inner packet: when it is accepted, the
    // result must decapsulate back to exactly the same inner packet.
    let mut buf = vec![0u8; ipip::OVERHEAD + data.len()];
    buf[ipip::OVERHEAD..].copy_from_slice(data);
    let repr =
        IpipRepr { src_addr: Ipv4Addr::new(192, 0, 2, 1), dst_addr: Ipv4Addr::new(192, 0, 2, 2), ttl: 64, ident: 0 };
    if repr.encap(&mut buf).is_ok() {
        let outer = Ipv4Packet::new_checked(&buf[..]).expect("emitted outer header is valid");
        assert!(outer.verify_checksum());
        assert!(!outer.is_fragment());
        let inner = Ipv4Packet::new_checked(data).unwrap();
        let got = ipip::decap(&outer).expect("encap then decap");
        assert_eq!(got.as_bytes(), &data[..usize::from(inner.total_len())]);
    }
});
