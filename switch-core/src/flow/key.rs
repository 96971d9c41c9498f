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

/// The deepest header a table's rules read: extraction stops there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Depth {
    /// Ports, VLAN, MACs, EtherType.
    L2,
    /// Also IP (or ARP) addresses, protocol, DSCP.
    L3,
    /// Also L4 ports, ICMP type and code, TCP flags.
    L4,
}

impl Depth {
    /// The depth a union of masks needs.
    pub fn of(used: &FlowKey) -> Depth {
        let any = |fields: &[Field]| fields.iter().any(|&f| used.get(f) != 0);
        if any(&[Field::TpSrc, Field::TpDst, Field::TcpFlags]) {
            Depth::L4
        } else if any(&[Field::NwProto, Field::Dscp, Field::SrcHi, Field::SrcLo, Field::DstHi, Field::DstLo]) {
            Depth::L3
        } else {
            Depth::L2
        }
    }
}

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
    /// `untagged_vlan` unless it carries a tag, looked up in `table`, with
    /// the headers up to `depth` (the deepest layer the table's rules read).
    ///
    /// Fields the frame does not have (no IP header, a later fragment's
    /// ports, a header cut short) stay 0, so a rule on them does not match
    /// it unless it asks for 0. It never fails: a frame too short to parse
    /// is the later stages' to drop.
    ///
    /// The words are assembled in registers rather than field by field
    /// with [`FlowKey::set`]: this runs for every frame of a port with
    /// rules. `key_layout_matches_fields` pins the two together.
    #[inline]
    pub fn extract(bytes: &[u8], in_port: PortId, untagged_vlan: u16, table: u16, depth: Depth) -> FlowKey {
        let base = table as u64 | (in_port.0 as u64) << 48;
        let Ok(eth) = EthernetFrame::new_checked(bytes) else {
            return FlowKey([base | (untagged_vlan as u64) << 32, 0, 0, 0, 0, 0, 0, 0]);
        };
        let (mut ethertype, mut vlan, mut l3) = (eth.ethertype(), untagged_vlan, eth.payload());
        if ethertype == EtherType::VLAN || ethertype == EtherType::QINQ {
            if let Ok(tag) = VlanTag::new_checked(l3) {
                vlan = tag.vid();
                // The tag's payload, borrowed from the frame rather than the view.
                (ethertype, l3) = (tag.ethertype(), l3.get(wire::vlan::HEADER_LEN..).unwrap_or_default());
            } else {
                ethertype = 0;
            }
        }
        let mut k = FlowKey([
            base | (vlan as u64) << 32 | (ethertype as u64) << 16,
            eth.dst_addr_u64() << 16,
            eth.src_addr_u64() << 16,
            0,
            0,
            0,
            0,
            0,
        ]);
        if depth != Depth::L2 {
            match ethertype {
                EtherType::IPV4 => k.ipv4(l3, depth),
                EtherType::IPV6 => k.ipv6(l3, depth),
                EtherType::ARP => k.arp(l3),
                _ => {}
            }
        }
        k
    }

    #[inline(always)]
    fn ipv4(&mut self, l3: &[u8], depth: Depth) {
        let Ok(ip) = Ipv4Packet::new_checked(l3) else { return };
        let proto = ip.protocol();
        self.0[3] = (proto as u64) << 56 | (ip.dscp() as u64) << 48;
        self.0[5] = u32::from(ip.src_addr()) as u64;
        self.0[7] = u32::from(ip.dst_addr()) as u64;
        // A later fragment's first bytes are payload, not ports.
        if depth == Depth::L4 && ip.frag_offset() == 0 {
            self.l4(proto, ip.payload());
        }
    }

    #[cold]
    fn ipv6(&mut self, l3: &[u8], depth: Depth) {
        let Ok(ip) = Ipv6Packet::new_checked(l3) else { return };
        self.set_ipv6(Field::SrcHi, Field::SrcLo, ip.src_addr());
        self.set_ipv6(Field::DstHi, Field::DstLo, ip.dst_addr());
        self.set(Field::Dscp, (ip.traffic_class() >> 2) as u64);
        let Ok(upper) = ip.upper_layer() else { return };
        self.set(Field::NwProto, upper.protocol as u64);
        let first = upper.fragment.is_none_or(|f| f.offset == 0);
        let l4 = ip.payload().get(upper.offset.saturating_sub(wire::ipv6::HEADER_LEN)..);
        if let (true, Some(l4), Depth::L4) = (first, l4, depth) {
            self.l4(upper.protocol, l4);
        }
    }

    #[cold]
    fn arp(&mut self, l3: &[u8]) {
        let Ok(arp) = ArpPacket::new_checked(l3) else { return };
        if arp.hardware_type() != wire::arp::HTYPE_ETHERNET || arp.protocol_type() != wire::arp::PTYPE_IPV4 {
            return;
        }
        self.set(Field::NwProto, arp.operation_raw() as u64);
        self.set_ipv4(Field::SrcLo, arp.sender_protocol_addr());
        self.set_ipv4(Field::DstLo, arp.target_protocol_addr());
    }

    /// The ports (ICMP: type and code) and TCP flags into words 1-3.
    #[inline(always)]
    fn l4(&mut self, protocol: u8, l4: &[u8]) {
        let (src, dst, flags) = match protocol {
            IpProtocol::TCP => {
                let Ok(tcp) = TcpHeader::new_checked(l4) else { return };
                (tcp.src_port(), tcp.dst_port(), tcp.flags())
            }
            IpProtocol::UDP => {
                let Ok(udp) = UdpPacket::new_checked(l4) else { return };
                (udp.src_port(), udp.dst_port(), 0)
            }
            IpProtocol::ICMP | IpProtocol::ICMPV6 => match l4 {
                [ty, code, ..] => (*ty as u16, *code as u16, 0),
                _ => return,
            },
            _ => return,
        };
        self.0[1] |= src as u64;
        self.0[2] |= dst as u64;
        self.0[3] |= (flags as u64) << 32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// The words `extract` assembles by hand are where `Field::place`
    /// says, for every field of a TCP, UDP, ICMP, IPv6 and ARP frame.
    #[test]
    fn key_layout_matches_fields() {
        let (src, dst) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut f = Vec::new();
        PacketBuilder::ethernet2(src, dst)
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 5201, 1, 100)
            .syn()
            .ack(5)
            .write(&mut f, &[1, 2, 3])
            .unwrap();
        f[18 + 1] = 46 << 2; // DSCP EF
        let k = FlowKey::extract(&f, PortId(3), 10, 9, Depth::L4);
        let want: [(Field, u64); 12] = [
            (Field::Table, 9),
            (Field::InPort, 3),
            (Field::Vlan, 7),
            (Field::DlType, 0x0800),
            (Field::DlSrc, 0x0200_0000_0001),
            (Field::DlDst, 0x0200_0000_0002),
            (Field::NwProto, 6),
            (Field::Dscp, 46),
            (Field::SrcLo, 0x0a00_0001),
            (Field::DstLo, 0x0a00_0002),
            (Field::TpSrc, 40000),
            (Field::TcpFlags, 0x012),
        ];
        for (field, v) in want {
            assert_eq!(k.get(field), v, "{field:?}");
        }
        assert_eq!(k.get(Field::TpDst), 5201);
        // Shallower depths leave the deeper words zero.
        let l3 = FlowKey::extract(&f, PortId(3), 10, 9, Depth::L3);
        assert_eq!((l3.get(Field::TpDst), l3.get(Field::SrcLo)), (0, 0x0a00_0001));
        let l2 = FlowKey::extract(&f, PortId(3), 10, 9, Depth::L2);
        assert_eq!((l2.get(Field::SrcLo), l2.get(Field::DlSrc)), (0, 0x0200_0000_0001));

        let mut u = Vec::new();
        PacketBuilder::ethernet2(src, dst).ipv6([0xfd; 16], [0xfe; 16], 64).udp(53, 1234).write(&mut u, &[0]).unwrap();
        let k = FlowKey::extract(&u, PortId(1), 10, 0, Depth::L4);
        assert_eq!((k.get(Field::Vlan), k.get(Field::NwProto), k.get(Field::TpSrc)), (10, 17, 53));
        assert_eq!((k.get(Field::SrcHi), k.get(Field::DstLo)), (0xfdfd_fdfd_fdfd_fdfd, 0xfefe_fefe_fefe_fefe));

        let mut i = Vec::new();
        PacketBuilder::ethernet2(src, dst)
            .ipv4([1, 1, 1, 1], [2, 2, 2, 2], 9)
            .icmpv4_echo_request(1, 1)
            .write(&mut i, &[])
            .unwrap();
        let k = FlowKey::extract(&i, PortId(1), 10, 0, Depth::L4);
        assert_eq!((k.get(Field::NwProto), k.get(Field::TpSrc), k.get(Field::TpDst)), (1, 8, 0));

        let mut a = vec![0xff; 6];
        a.extend_from_slice(&src);
        a.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        a.extend_from_slice(&src);
        a.extend_from_slice(&[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        let k = FlowKey::extract(&a, PortId(1), 10, 0, Depth::L3);
        assert_eq!((k.get(Field::NwProto), k.get(Field::SrcLo), k.get(Field::DstLo)), (1, 0x0a00_0001, 0x0a00_0002));
        // A frame shorter than an Ethernet header still has its port and VLAN.
        let k = FlowKey::extract(&a[..10], PortId(1), 10, 0, Depth::L4);
        assert_eq!((k.get(Field::InPort), k.get(Field::Vlan), k.get(Field::DlSrc)), (1, 10, 0));
    }
}
