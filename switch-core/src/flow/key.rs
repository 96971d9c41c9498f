//! The flow key: every header field a rule can match, extracted once per
//! frame into eight words, so that a rule is a (value, mask) pair of keys
//! and matching is eight ANDs and compares.
//!
//! The words are laid out by [`Field::place`]. An IPv4 address sits in the
//! low 32 bits of its IPv6-sized pair of words: the EtherType, which every
//! rule on an address also matches, tells the two apart.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::types::PortId;
use crate::wire::{
    self, ArpPacket, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv6Packet, TcpHeader, UdpPacket, VlanTag,
};

/// Words in a key.
pub const WORDS: usize = 8;

/// A frame's header fields, or a rule's value or mask over them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey(pub [u64; WORDS]);

/// One matchable field and where it lives in a [`FlowKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The table the key is looked up in (set by the pipeline, so that one
    /// flow cache serves every table).
    Table,
    /// Ingress port.
    InPort,
    /// VLAN id: of the outer tag, or the port's untagged VLAN.
    Vlan,
    /// EtherType after at most one VLAN tag.
    DlType,
    /// Destination MAC.
    DlDst,
    /// Source MAC.
    DlSrc,
    /// L4 source port; the ICMP type.
    TpSrc,
    /// L4 destination port; the ICMP code.
    TpDst,
    /// IP protocol; the low byte of the ARP opcode.
    NwProto,
    /// IP DSCP (6 bits).
    Dscp,
    /// TCP flags (12 bits).
    TcpFlags,
    /// VNI of a decapsulated frame.
    Vni,
    /// Source address, upper 64 bits (IPv6 only).
    SrcHi,
    /// Source address, lower 64 bits (IPv4: the low 32; ARP: the sender).
    SrcLo,
    /// Destination address, upper 64 bits (IPv6 only).
    DstHi,
    /// Destination address, lower 64 bits (IPv4: the low 32; ARP: the target).
    DstLo,
}

impl Field {
    /// (word, shift, width in bits).
    pub const fn place(self) -> (usize, u32, u32) {
        match self {
            Field::Table => (0, 0, 16),
            Field::DlType => (0, 16, 16),
            Field::Vlan => (0, 32, 16),
            Field::InPort => (0, 48, 16),
            Field::TpSrc => (1, 0, 16),
            Field::DlDst => (1, 16, 48),
            Field::TpDst => (2, 0, 16),
            Field::DlSrc => (2, 16, 48),
            Field::Vni => (3, 0, 32),
            Field::TcpFlags => (3, 32, 16),
            Field::Dscp => (3, 48, 8),
            Field::NwProto => (3, 56, 8),
            Field::SrcHi => (4, 0, 64),
            Field::SrcLo => (5, 0, 64),
            Field::DstHi => (6, 0, 64),
            Field::DstLo => (7, 0, 64),
        }
    }

    /// The field's bits within its word.
    pub const fn word_mask(self) -> u64 {
        let (_, shift, bits) = self.place();
        if bits == 64 {
            u64::MAX
        } else {
            ((1u64 << bits) - 1) << shift
        }
    }
}

impl FlowKey {
    /// The field's value (masked to its width).
    #[inline(always)]
    pub fn get(&self, f: Field) -> u64 {
        let (w, shift, _) = f.place();
        (self.0[w] & f.word_mask()) >> shift
    }

    /// Sets the field to `v` (truncated to its width).
    #[inline(always)]
    pub fn set(&mut self, f: Field, v: u64) {
        let (w, shift, _) = f.place();
        self.0[w] = (self.0[w] & !f.word_mask()) | ((v << shift) & f.word_mask());
    }

    /// The key with only the bits of `mask`.
    #[inline(always)]
    pub fn masked(&self, mask: &FlowKey) -> FlowKey {
        let mut out = [0u64; WORDS];
        for (o, (a, m)) in out.iter_mut().zip(self.0.iter().zip(mask.0.iter())) {
            *o = a & m;
        }
        FlowKey(out)
    }

    /// Bitwise OR (the union of two masks).
    pub fn or(&self, other: &FlowKey) -> FlowKey {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(other.0.iter()) {
            *o |= b;
        }
        FlowKey(out)
    }

    /// True when no bit is set.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// A source or destination IPv4 address, as the key holds it.
    pub fn set_ipv4(&mut self, lo: Field, a: Ipv4Addr) {
        self.set(lo, u32::from(a) as u64);
    }

    /// A source or destination IPv6 address, as the key holds it.
    pub fn set_ipv6(&mut self, hi: Field, lo: Field, a: Ipv6Addr) {
        let v = u128::from(a);
        self.set(hi, (v >> 64) as u64);
        self.set(lo, v as u64);
    }

    /// The key of the frame `bytes`, received on `in_port`, whose VLAN is
    /// `untagged_vlan` unless it carries a tag, looked up in `table`.
    ///
    /// Fields the frame does not have (no IP header, a later fragment's
    /// ports, a header cut short) stay 0, so a rule on them does not match
    /// it unless it asks for 0. It never fails: a frame too short to parse
    /// is the later stages' to drop.
    pub fn extract(bytes: &[u8], in_port: PortId, untagged_vlan: u16, table: u16) -> FlowKey {
        let mut k = FlowKey::default();
        k.set(Field::Table, table as u64);
        k.set(Field::InPort, in_port.0 as u64);
        k.set(Field::Vlan, untagged_vlan as u64);
        let Ok(eth) = EthernetFrame::new_checked(bytes) else { return k };
        k.set(Field::DlDst, eth.dst_addr().to_u64());
        k.set(Field::DlSrc, eth.src_addr().to_u64());
        let (mut ethertype, mut l3) = (eth.ethertype(), eth.payload());
        if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
            let Ok(tag) = VlanTag::new_checked(eth.payload()) else { return k };
            k.set(Field::Vlan, tag.vid() as u64);
            // The tag's payload, borrowed from the frame rather than the view.
            (ethertype, l3) = (tag.ethertype(), l3.get(wire::vlan::HEADER_LEN..).unwrap_or_default());
        }
        k.set(Field::DlType, ethertype as u64);
        match ethertype {
            EtherType::IPV4 => k.ipv4(l3),
            EtherType::IPV6 => k.ipv6(l3),
            EtherType::ARP => k.arp(l3),
            _ => {}
        }
        k
    }

    fn ipv4(&mut self, l3: &[u8]) {
        let Ok(ip) = Ipv4Packet::new_checked(l3) else { return };
        self.set_ipv4(Field::SrcLo, ip.src_addr());
        self.set_ipv4(Field::DstLo, ip.dst_addr());
        self.set(Field::NwProto, ip.protocol() as u64);
        self.set(Field::Dscp, ip.dscp() as u64);
        // A later fragment's first bytes are payload, not ports.
        if ip.frag_offset() == 0 {
            self.l4(ip.protocol(), ip.payload());
        }
    }

    fn ipv6(&mut self, l3: &[u8]) {
        let Ok(ip) = Ipv6Packet::new_checked(l3) else { return };
        self.set_ipv6(Field::SrcHi, Field::SrcLo, ip.src_addr());
        self.set_ipv6(Field::DstHi, Field::DstLo, ip.dst_addr());
        self.set(Field::Dscp, (ip.traffic_class() >> 2) as u64);
        let Ok(upper) = ip.upper_layer() else { return };
        self.set(Field::NwProto, upper.protocol as u64);
        let first = upper.fragment.is_none_or(|f| f.offset == 0);
        let l4 = ip.payload().get(upper.offset.saturating_sub(wire::ipv6::HEADER_LEN)..);
        if let (true, Some(l4)) = (first, l4) {
            self.l4(upper.protocol, l4);
        }
    }

    fn arp(&mut self, l3: &[u8]) {
        let Ok(arp) = ArpPacket::new_checked(l3) else { return };
        if arp.hardware_type() != wire::arp::HTYPE_ETHERNET || arp.protocol_type() != wire::arp::PTYPE_IPV4 {
            return;
        }
        self.set(Field::NwProto, arp.operation_raw() as u64);
        self.set_ipv4(Field::SrcLo, arp.sender_protocol_addr());
        self.set_ipv4(Field::DstLo, arp.target_protocol_addr());
    }

    fn l4(&mut self, protocol: u8, l4: &[u8]) {
        let (src, dst) = match protocol {
            IpProtocol::TCP => {
                let Ok(tcp) = TcpHeader::new_checked(l4) else { return };
                self.set(Field::TcpFlags, tcp.flags() as u64);
                (tcp.src_port(), tcp.dst_port())
            }
            IpProtocol::UDP => {
                let Ok(udp) = UdpPacket::new_checked(l4) else { return };
                (udp.src_port(), udp.dst_port())
            }
            IpProtocol::ICMP | IpProtocol::ICMPV6 => match l4 {
                [ty, code, ..] => (*ty as u16, *code as u16),
                _ => return,
            },
            _ => return,
        };
        self.set(Field::TpSrc, src as u64);
        self.set(Field::TpDst, dst as u64);
    }
}
