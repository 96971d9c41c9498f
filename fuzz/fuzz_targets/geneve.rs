//! Geneve header and its option iterator.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use switch_core::wire::{GeneveOptions, GenevePacket, GeneveRepr};

/// Walks options checking the iterator's contract: at most one error, last;
/// the options it yields tile the area from its start; it ends.
fn walk(area: &[u8]) {
    let mut it = GeneveOptions::new(area);
    let mut covered = 0;
    let mut items = 0;
    while let Some(item) = it.next() {
        items += 1;
        assert!(items <= area.len() / 4 + 1);
        match item {
            Ok(o) => {
                black_box((o.class(), o.option_type(), o.is_critical(), o.length(), o.data_len()));
                assert_eq!(o.data(), &area[covered + 4..covered + o.total_len()]);
                covered += o.total_len();
            }
            Err(_) => {
                assert!(it.next().is_none());
                return;
            }
        }
    }
    assert_eq!(covered, area.len());
}

fuzz_target!(|data: &[u8]| {
    walk(data);
    let _ = black_box(GeneveRepr::parse(&GenevePacket::new_unchecked(data)));
    let Ok(p) = GenevePacket::new_checked(data) else { return };
    black_box((p.version(), p.opt_len(), p.options_len(), p.header_len(), p.oam(), p.critical()));
    black_box((p.protocol_type(), p.vni(), p.payload().len(), p.has_critical_option()));
    walk(p.options_bytes());
    let _ = black_box(GeneveRepr::parse(&p));

    let mut copy = data.to_vec();
    let mut p = GenevePacket::new_checked(&mut copy[..]).unwrap();
    p.set_opt_len(u8::MAX);
    black_box((p.options_bytes_mut().len(), p.payload_mut().len(), p.has_critical_option()));
    walk(p.options_bytes());
});
