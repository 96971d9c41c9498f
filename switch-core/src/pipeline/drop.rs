//! Why frames are dropped: one named counter per reason.
//!
//! Every `Verdict::Drop` carries a [`DropReason`]; the output stage counts it
//! in the worker's counters under [`DropReason::name`], which is also the
//! `reason` label of `xvs_pipeline_drops_total` and the key in `xvs replay` summaries.

macro_rules! drop_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Why the pipeline dropped a frame.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum DropReason {
            $( $(#[$doc])* $variant, )*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons (the length of a counter array).
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case name, used as a metric label and in JSON.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name,)* }
            }

            /// Index into a counter array.
            #[inline]
            pub const fn index(self) -> usize {
                self as usize
            }
        }
    };
}

drop_reasons! {
    /// Shorter than an Ethernet header, or a VLAN tag is cut off.
    Truncated => "truncated",
    /// Source MAC is a group (multicast or broadcast) address.
    SrcMacMulticast => "src_mac_multicast",
    /// Source MAC is 00:00:00:00:00:00.
    SrcMacZero => "src_mac_zero",
    /// Destination is an IEEE 802.1D reserved link-local address
    /// (01:80:c2:00:00:00-0f: STP, LACP, LLDP...), which bridges never forward.
    ReservedMulticast => "reserved_multicast",
    /// Arrived on a port the forwarding plan does not know.
    UnknownPort => "unknown_port",
    /// Tagged with a VLAN the ingress port does not carry.
    VlanNotAllowed => "vlan_not_allowed",
    /// Untagged on a trunk that has no native VLAN.
    UntaggedNotAllowed => "untagged_not_allowed",
    /// Tagged with the reserved VLAN id 4095.
    ReservedVlan => "reserved_vlan",
    /// Source MAC is a static entry on another port (spoofing protection).
    StaticMacMove => "static_mac_move",
    /// Destination was learned on the ingress port itself.
    SameSegment => "same_segment",
    /// The learned egress port is not a member of the frame's domain (the
    /// plan changed under the entry).
    EgressNotMember => "egress_not_member",
    /// The frame, as tagged for its egress port, is longer than that port's
    /// MTU allows (its `max_frame`: MTU + 18); the kernel would drop it
    /// unseen.
    EgressTooBig => "egress_too_big",
    /// A flood found no member port besides the ingress port.
    FloodNoMembers => "flood_no_members",
    /// No free buffer to copy a flooded frame into.
    NoBuffer => "no_buffer",
    /// Not enough headroom or tailroom to push the egress tag.
    NoHeadroom => "no_headroom",
    /// On an underlay port: not addressed to the VTEP (another MAC or IP
    /// address, or an ARP request for another address).
    UnderlayNotForUs => "underlay_not_for_us",
    /// On an underlay port, for the VTEP, but neither ARP, ICMP echo nor
    /// the VTEP's UDP port.
    UnderlayUnsupported => "underlay_unsupported",
    /// ARP on an underlay port with a bad hardware or protocol type or
    /// length.
    UnderlayBadArp => "underlay_bad_arp",
    /// ICMP or ICMPv6 echo request to a VTEP whose checksum does not
    /// verify.
    UnderlayBadIcmp => "underlay_bad_icmp",
    /// A neighbour solicitation or advertisement on an underlay port that
    /// RFC 4861 section 7.1 says to discard: hop limit not 255, code not 0,
    /// a bad checksum, too short, or a zero-length option.
    UnderlayBadNdp => "underlay_bad_ndp",
    /// Outer IPv4 or IPv6 header malformed (version, header, total or
    /// payload length).
    UnderlayBadIp => "underlay_bad_ip",
    /// Outer headers (IPv4, UDP, VXLAN) cut off.
    DecapTruncated => "decap_truncated",
    /// Outer IPv4 header checksum does not verify.
    DecapBadIpChecksum => "decap_bad_ip_checksum",
    /// Outer IPv4 fragment, or IPv6 with a fragment header (VTEPs never
    /// fragment; reassembly is not done).
    DecapFragment => "decap_fragment",
    /// Outer UDP checksum does not verify (when verification is on).
    DecapBadUdpChecksum => "decap_bad_udp_checksum",
    /// VXLAN header without the I flag (RFC 7348: the VNI is not valid).
    VxlanNoIFlag => "vxlan_no_i_flag",
    /// VXLAN or Geneve for a VNI the VTEP does not carry in that
    /// encapsulation.
    DecapUnknownVni => "decap_unknown_vni",
    /// VXLAN or Geneve from a source VTEP not among the VNI's remotes or
    /// allowed sources.
    DecapSourceNotAllowed => "decap_source_not_allowed",
    /// Geneve with a version other than 0 (RFC 8926 section 3.4).
    GeneveBadVersion => "geneve_bad_version",
    /// Geneve options that run past the packet, or an option that runs past
    /// the options area.
    GeneveOptionsTruncated => "geneve_options_truncated",
    /// A Geneve option with the critical bit set that xvs does not
    /// process (RFC 8926 section 3.5: must drop).
    GeneveUnknownCritical => "geneve_unknown_critical",
    /// A Geneve control (OAM, O bit) packet: counted, never forwarded.
    GeneveOam => "geneve_oam",
    /// Geneve whose payload is not Ethernet (protocol type other than
    /// 0x6558).
    GeneveNotEthernet => "geneve_not_ethernet",
    /// The inner frame's source MAC is a group or the zero address.
    DecapInnerBadSource => "decap_inner_bad_source",
    /// The inner frame carries a VLAN tag (RFC 7348 section 6.1: discard).
    DecapInnerVlan => "decap_inner_vlan",
    /// A packet a gateway should route has no IP-in-IP route.
    IpipNoRoute => "ipip_no_route",
    /// A packet a gateway should route arrived with TTL 1 or 0 (answered
    /// with ICMP time exceeded).
    IpipTtlExceeded => "ipip_ttl_exceeded",
    /// A decapsulated IP-in-IP packet is for no gateway's subnet.
    IpipNoGateway => "ipip_no_gateway",
    /// A decapsulated IP-in-IP packet is for a host whose MAC is not known
    /// yet (the gateway asks for it with ARP).
    IpipHostUnresolved => "ipip_host_unresolved",
    /// A malformed ARP or IPv4 packet sent to a gateway, or a malformed
    /// inner packet of IP-in-IP.
    GatewayBadPacket => "gateway_bad_packet",
    /// The inner frame is shorter than an Ethernet header.
    DecapInnerTruncated => "decap_inner_truncated",
    /// Outer ECN is CE but the inner packet is not ECN-capable (RFC 6040).
    DecapEcnCeNotEct => "decap_ecn_ce_not_ect",
    /// A frame from a remote VTEP would leave to another remote VTEP
    /// (split horizon: VTEPs of a VNI form one full mesh).
    SplitHorizon => "split_horizon",
    /// The next hop towards a remote VTEP has no MAC yet (an ARP request
    /// is on its way).
    EncapNexthopUnresolved => "encap_nexthop_unresolved",
    /// The encapsulated packet would exceed the underlay MTU.
    EncapTooBig => "encap_too_big",
    /// A flow rule's `drop` action (the rule's own counters say which).
    AclDrop => "acl_drop",
}

/// `reason`, from a function the compiler keeps out of line: write
/// `Err(reject(reason))` for checks on the per-frame hot path. With a plain
/// `Err(reason)` the compiler tends to load each reason into the shared
/// error path's register *before* the check's branch, one wasted instruction
/// per check on every frame. (It returns the bare reason, not a `Result`, so
/// that no large `Result` is returned through memory.)
#[cold]
#[inline(never)]
pub(super) fn reject(reason: DropReason) -> DropReason {
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        for n in &names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
