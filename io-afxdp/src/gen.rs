//! The traffic generator behind `xvs-gen`: UDP/IPv4 frames built once in a
//! UMEM and recycled through one AF_XDP socket's TX ring.
//!
//! Frames are written into every chunk up front. The send loop only moves
//! descriptors: completed chunks go back on a free stack and are queued
//! again, `batch` at a time. When the requested numbers of flows and source
//! MACs divide the number of chunks, chunk `i` permanently carries flow
//! `i % flows` and MAC `i % macs`, and nothing is written per packet.
//! Otherwise packet `k` is stamped with flow `k % flows` and MAC `k % macs`
//! as it is queued (a few bytes plus an incremental UDP checksum update).
//!
//! With [`FrameSpec::vxlan`] set, every frame is wrapped in outer
//! Ethernet/IPv4/UDP/VXLAN headers (50 bytes more on the wire, built with
//! `switch_core::wire`): the inner frame is the usual one, and the outer UDP
//! source port differs per flow as a VTEP's flow hash would make it.
//!
//! Copy mode (veth) sends at most 32 frames per `sendto`, so each round kicks
//! `ceil(outstanding / 32)` times (bounded), and never sleeps.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switch_core::types::{MacAddr, PortId};
use switch_core::wire::{
    ethernet, udp, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr, VxlanPacket,
    VxlanRepr,
};
use xsk_rs::FrameDesc;

use crate::config::ZeroCopy;
use crate::error::Error;
use crate::iface::ifindex;
use crate::socket::{BindRequest, XskQueue};
use crate::stats::BindMode;
use crate::txring::{kick, Kick};
use crate::umem::{HugePages, UmemArea, FRAME_SIZE, RX_HEAD};
use crate::xdp::XdpMode;

/// Smallest frame `--size` accepts (Ethernet minimum without FCS).
pub const MIN_SIZE: usize = 64;
/// Largest frame `--size` accepts (1500-byte MTU plus Ethernet header).
pub const MAX_SIZE: usize = 1514;
/// Copy mode's per-`sendto` transmit budget in the kernel.
pub const COPY_MODE_KICK_FRAMES: u32 = 32;

/// What frames to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// Total frame length: Ethernet header (and tag) included, FCS excluded.
    pub size: usize,
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC of MAC number 0; MAC `m` adds `m` to its low 24 bits.
    pub src_mac: [u8; 6],
    /// 802.1Q VLAN id to tag with.
    pub vlan: Option<u16>,
    /// IPv4 source.
    pub src_ip: Ipv4Addr,
    /// IPv4 destination.
    pub dst_ip: Ipv4Addr,
    /// Wrap every frame in VXLAN (`size` stays the inner frame's size).
    pub vxlan: Option<VxlanSpec>,
}

/// Outer headers of [`FrameSpec::vxlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VxlanSpec {
    /// VXLAN network identifier (24 bits).
    pub vni: u32,
    /// Outer destination MAC (the receiving VTEP's, or its next hop's).
    pub dst_mac: [u8; 6],
    /// Outer source MAC.
    pub src_mac: [u8; 6],
    /// Outer IPv4 source (the sending VTEP).
    pub src_ip: Ipv4Addr,
    /// Outer IPv4 destination (the receiving VTEP).
    pub dst_ip: Ipv4Addr,
    /// Outer UDP destination port.
    pub udp_port: u16,
}

/// Bytes VXLAN adds in front of the inner frame: Ethernet, IPv4, UDP, VXLAN.
pub const VXLAN_OVERHEAD: usize = ethernet::HEADER_LEN + 20 + udp::HEADER_LEN + switch_core::wire::vxlan::HEADER_LEN;

/// Outer UDP source port of flow `f`: 49152 + f mod 16384 (the dynamic
/// range, where VTEPs put their flow hash).
pub fn vxlan_src_port(flow: u32) -> u16 {
    49152 + (flow % 16384) as u16
}

impl Default for FrameSpec {
    fn default() -> Self {
        FrameSpec {
            size: 64,
            dst_mac: [0x02, 0, 0, 0, 0xff, 0x01],
            src_mac: [0x02, 0x78, 0x76, 0, 0, 0],
            vlan: None,
            src_ip: Ipv4Addr::new(10, 0, 0, 1),
            dst_ip: Ipv4Addr::new(10, 0, 0, 2),
            vxlan: None,
        }
    }
}

/// UDP source port of flow `f` (destination port 9000 + f / 64000), so flows
/// differ in their 5-tuple and never hit the VXLAN/Geneve ports.
pub fn flow_ports(flow: u32) -> (u16, u16) {
    (1024 + (flow % 64000) as u16, 9000u16.wrapping_add((flow / 64000) as u16))
}

fn csum_add(sum: u32, data: &[u8]) -> u32 {
    let mut s = sum;
    let mut it = data.chunks_exact(2);
    for w in &mut it {
        s += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    if let [b] = it.remainder() {
        s += (*b as u32) << 8;
    }
    s
}

fn csum_fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// RFC 1624 incremental update of a checksum field when a 16-bit word of
/// the covered data changes from `old` to `new`.
pub fn csum_replace16(csum: u16, old: u16, new: u16) -> u16 {
    let s = (!csum as u32) + (!old as u32) + new as u32;
    csum_fold(s)
}

impl FrameSpec {
    /// Bytes on the wire: the frame, plus the outer headers with VXLAN.
    pub fn wire_len(&self) -> usize {
        self.size + self.outer_len()
    }

    /// Bytes of outer headers before the inner frame (0 without VXLAN).
    pub fn outer_len(&self) -> usize {
        if self.vxlan.is_some() {
            VXLAN_OVERHEAD
        } else {
            0
        }
    }

    /// Bytes before the (inner) IPv4 header.
    pub fn l2_len(&self) -> usize {
        if self.vlan.is_some() {
            18
        } else {
            14
        }
    }

    /// Checks the size against the headers.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&self.size) {
            return Err(format!("frame size {} is outside {MIN_SIZE}..={MAX_SIZE}", self.size));
        }
        if let Some(v) = self.vlan {
            if !(1..=4094).contains(&v) {
                return Err(format!("VLAN id {v} is outside 1..=4094"));
            }
        }
        if let Some(x) = &self.vxlan {
            if x.vni == 0 || x.vni > switch_core::wire::vxlan::MAX_VNI {
                return Err(format!("VNI {} is outside 1..=16777215", x.vni));
            }
        }
        Ok(())
    }

    /// Writes the frame for (`flow`, `mac`) into `out[..wire_len]` and
    /// returns the wire length.
    pub fn build(&self, flow: u32, mac: u32, out: &mut [u8]) -> usize {
        let o = self.outer_len();
        self.build_inner(flow, mac, &mut out[o..]);
        if let Some(x) = &self.vxlan {
            Self::build_outer(x, flow, &mut out[..o + self.size]);
        }
        self.wire_len()
    }

    /// The outer headers around an inner frame already at `f[VXLAN_OVERHEAD..]`.
    fn build_outer(x: &VxlanSpec, flow: u32, f: &mut [u8]) {
        let inner_len = f.len() - VXLAN_OVERHEAD;
        let mut eth = EthernetFrame::new_unchecked(&mut *f);
        eth.set_dst_addr(MacAddr(x.dst_mac));
        eth.set_src_addr(MacAddr(x.src_mac));
        eth.set_ethertype(EtherType::IPV4);
        let ip_repr = Ipv4Repr {
            src_addr: x.src_ip,
            dst_addr: x.dst_ip,
            protocol: IpProtocol::UDP,
            payload_len: udp::HEADER_LEN + switch_core::wire::vxlan::HEADER_LEN + inner_len,
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: true,
        };
        let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip_repr.emit(&mut ip);
        let udp_repr = UdpRepr {
            src_port: vxlan_src_port(flow),
            dst_port: x.udp_port,
            payload_len: switch_core::wire::vxlan::HEADER_LEN + inner_len,
        };
        // The outer UDP checksum stays zero, as RFC 7348 allows over IPv4.
        let mut u = UdpPacket::new_unchecked(ip.payload_mut());
        udp_repr.emit(&mut u);
        VxlanRepr { vni: x.vni }.emit(&mut VxlanPacket::new_unchecked(u.payload_mut()));
    }

    fn build_inner(&self, flow: u32, mac: u32, out: &mut [u8]) -> usize {
        let n = self.size;
        let f = &mut out[..n];
        f.fill(0);
        f[0..6].copy_from_slice(&self.dst_mac);
        f[6..12].copy_from_slice(&self.src_mac);
        self.stamp_mac(mac, f);
        let mut o = 12;
        if let Some(v) = self.vlan {
            f[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
            f[14..16].copy_from_slice(&v.to_be_bytes());
            o = 16;
        }
        f[o..o + 2].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = o + 2;
        let ip_len = (n - ip) as u16;
        let h = &mut f[ip..ip + 20];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&ip_len.to_be_bytes());
        h[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
        h[8] = 64;
        h[9] = 17;
        h[12..16].copy_from_slice(&self.src_ip.octets());
        h[16..20].copy_from_slice(&self.dst_ip.octets());
        let c = csum_fold(csum_add(0, h));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        let udp = ip + 20;
        let udp_len = ip_len - 20;
        let (sp, dp) = flow_ports(flow);
        f[udp..udp + 2].copy_from_slice(&sp.to_be_bytes());
        f[udp + 2..udp + 4].copy_from_slice(&dp.to_be_bytes());
        f[udp + 4..udp + 6].copy_from_slice(&udp_len.to_be_bytes());
        // Payload: a recognisable pattern after an 8-byte sequence slot.
        for (i, b) in f[udp + 8..].iter_mut().enumerate().skip(8) {
            *b = i as u8;
        }
        let mut s = csum_add(0, &self.src_ip.octets());
        s = csum_add(s, &self.dst_ip.octets());
        s += 17 + udp_len as u32;
        s = csum_add(s, &f[udp..]);
        let mut c = csum_fold(s);
        if c == 0 {
            c = 0xffff;
        }
        f[udp + 6..udp + 8].copy_from_slice(&c.to_be_bytes());
        n
    }

    fn stamp_mac(&self, mac: u32, f: &mut [u8]) {
        let base = u32::from_be_bytes([0, self.src_mac[3], self.src_mac[4], self.src_mac[5]]);
        let m = base.wrapping_add(mac) & 0x00ff_ffff;
        f[9..12].copy_from_slice(&m.to_be_bytes()[1..]);
    }

    /// Re-stamps an already built frame with another flow and MAC, keeping
    /// the UDP checksum valid (and, with VXLAN, the outer source port).
    pub fn restamp(&self, flow: u32, mac: u32, f: &mut [u8]) {
        if self.vxlan.is_some() {
            let sp = ethernet::HEADER_LEN + 20;
            f[sp..sp + 2].copy_from_slice(&vxlan_src_port(flow).to_be_bytes());
        }
        let f = &mut f[self.outer_len()..];
        self.stamp_mac(mac, f);
        let udp = self.l2_len() + 20;
        let (sp, dp) = flow_ports(flow);
        let old_sp = u16::from_be_bytes([f[udp], f[udp + 1]]);
        let old_dp = u16::from_be_bytes([f[udp + 2], f[udp + 3]]);
        let mut c = u16::from_be_bytes([f[udp + 6], f[udp + 7]]);
        c = csum_replace16(c, old_sp, sp);
        c = csum_replace16(c, old_dp, dp);
        if c == 0 {
            c = 0xffff;
        }
        f[udp..udp + 2].copy_from_slice(&sp.to_be_bytes());
        f[udp + 2..udp + 4].copy_from_slice(&dp.to_be_bytes());
        f[udp + 6..udp + 8].copy_from_slice(&c.to_be_bytes());
    }
}

/// Generator settings.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Interface to send on.
    pub iface: String,
    /// Queue id to bind.
    pub queue: u32,
    /// Frames to send.
    pub spec: FrameSpec,
    /// Distinct UDP flows.
    pub flows: u32,
    /// Distinct source MACs.
    pub macs: u32,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many frames completed.
    pub count: Option<u64>,
    /// Print the rate to stderr once a second.
    pub rate_report: bool,
    /// Descriptors queued per round.
    pub batch: usize,
    /// UMEM chunks (also the number of distinct pre-built frames).
    pub frames: u32,
    /// TX ring size (the completion ring gets the same).
    pub tx_ring: u32,
    /// Most kicks per round.
    pub kick_budget: u32,
    /// Pace to this many frames per second (`None`: as fast as possible).
    pub rate: Option<u64>,
    /// Zero-copy policy.
    pub zero_copy: ZeroCopy,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            iface: String::new(),
            queue: 0,
            spec: FrameSpec::default(),
            flows: 1,
            macs: 1,
            duration: None,
            count: None,
            rate_report: false,
            batch: 64,
            frames: 4096,
            tx_ring: 2048,
            kick_budget: 4,
            rate: None,
            zero_copy: ZeroCopy::Try,
        }
    }
}

/// What a run achieved.
#[derive(Clone, Debug, PartialEq)]
pub struct GenSummary {
    /// Frames the kernel completed (transmitted).
    pub sent: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Seconds from the first frame queued to the end.
    pub seconds: f64,
    /// `sent / seconds`.
    pub pps: f64,
    /// `sendto` kicks issued.
    pub kicks: u64,
    /// Bind mode obtained.
    pub bind_mode: BindMode,
}

impl GenSummary {
    /// The summary as a one-line JSON object.
    pub fn to_json(&self, cfg: &GenConfig) -> String {
        serde_json::json!({
            "iface": cfg.iface,
            "queue": cfg.queue,
            "size": cfg.spec.size,
            "flows": cfg.flows,
            "macs": cfg.macs,
            "vlan": cfg.spec.vlan,
            "vxlan_vni": cfg.spec.vxlan.as_ref().map(|x| x.vni),
            "wire_size": cfg.spec.wire_len(),
            "mode": self.bind_mode.name(),
            "sent": self.sent,
            "bytes": self.bytes,
            "seconds": (self.seconds * 1e6).round() / 1e6,
            "pps": self.pps.round(),
            "mpps": (self.pps / 1e4).round() / 100.0,
            "kicks": self.kicks,
        })
        .to_string()
    }
}

/// Runs the generator on the current thread until the duration or count is
/// reached or `stop` is set.
pub fn run(cfg: &GenConfig, stop: &AtomicBool) -> Result<GenSummary, Error> {
    cfg.spec.validate().map_err(Error::Config)?;
    if cfg.flows == 0 || cfg.macs == 0 || cfg.macs > 1 << 24 {
        return Err(Error::Config("--flows must be >= 1 and --macs in 1..=16777216".into()));
    }
    if cfg.batch == 0 || cfg.batch > cfg.tx_ring as usize {
        return Err(Error::Config(format!("batch {} must be in 1..=tx ring ({})", cfg.batch, cfg.tx_ring)));
    }
    if (cfg.frames as usize) < 2 * cfg.tx_ring as usize {
        return Err(Error::Config(format!(
            "frames ({}) must be at least twice the TX ring ({})",
            cfg.frames, cfg.tx_ring
        )));
    }
    let ifindex = ifindex(&cfg.iface)?;
    let area = Arc::new(UmemArea::new_xsk(cfg.frames, 64, cfg.tx_ring, HugePages::Auto)?);
    let req = BindRequest {
        iface: &cfg.iface,
        ifindex,
        queue: cfg.queue,
        rx_ring: 64,
        tx_ring: cfg.tx_ring,
        xdp_mode: XdpMode::Auto,
        zero_copy: cfg.zero_copy,
        // A sender needs no redirect program, and attaching none leaves the
        // interface free for a sink or a switch.
        inhibit_prog_load: true,
        first_on_umem: true,
    };
    let mut sock = XskQueue::open(&area, 0, PortId(0), &req)?;

    // Pre-build every frame.
    let mut pool = crate::umem::ChunkPool::new(Arc::clone(&area));
    let chunks: Vec<u64> = (0..cfg.frames as u64).map(|i| i * FRAME_SIZE as u64).collect();
    pool.add_free(chunks.iter().copied());
    let fixed = cfg.frames.is_multiple_of(cfg.flows) && cfg.frames.is_multiple_of(cfg.macs);
    let mut held = Vec::with_capacity(chunks.len());
    while let Some(c) = pool.alloc() {
        held.push(c);
    }
    for &c in &held {
        let i = (c / FRAME_SIZE as u64) as u32;
        let (flow, mac) = if fixed { (i % cfg.flows, i % cfg.macs) } else { (0, 0) };
        cfg.spec.build(flow, mac, &mut pool.chunk_mut(c)[RX_HEAD..]);
    }
    let len = cfg.spec.wire_len() as u32;
    // Chunks on `free` are held (ours to write); the held bit is cleared
    // while a chunk sits in a kernel ring.
    let mut free: Vec<u64> = held;

    let mut scratch = vec![FrameDesc::default(); 256];
    let limit = cfg.count.unwrap_or(u64::MAX);
    let mut submitted = 0u64;
    let mut completed = 0u64;
    let mut kicks = 0u64;
    let mut seq = 0u64;
    let start = Instant::now();
    let deadline = cfg.duration.map(|d| start + d);
    let mut next_report = start + Duration::from_secs(1);
    let mut last_report = (start, 0u64);
    let mut loops = 0u32;
    loop {
        // Reap.
        loop {
            // SAFETY: completions carry chunks of this socket's UMEM that we
            // queued.
            let n = unsafe { sock.comp.consume(&mut scratch) };
            for d in &scratch[..n] {
                let c = d.addr() as u64 & !(FRAME_SIZE as u64 - 1);
                pool.mark_held(c);
                free.push(c);
            }
            completed += n as u64;
            if n < scratch.len() {
                break;
            }
        }
        if completed >= limit || stop.load(Ordering::Relaxed) {
            break;
        }
        loops = loops.wrapping_add(1);
        if loops.is_multiple_of(64) {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            if cfg.rate_report && now >= next_report {
                let dt = now.duration_since(last_report.0).as_secs_f64();
                eprintln!(
                    "{}: {:.3} Mpps ({} sent)",
                    cfg.iface,
                    (completed - last_report.1) as f64 / dt / 1e6,
                    completed
                );
                last_report = (now, completed);
                next_report += Duration::from_secs(1);
            }
        }
        // Queue.
        let mut allowed = limit - submitted;
        if let Some(r) = cfg.rate {
            let due = (start.elapsed().as_secs_f64() * r as f64) as u64;
            allowed = allowed.min(due.saturating_sub(submitted));
        }
        let want = (cfg.batch as u64).min(allowed).min(free.len() as u64) as u32;
        let want = want.min(sock.tx.free());
        for _ in 0..want {
            let c = free.pop().expect("counted");
            if !fixed {
                let (flow, mac) = ((seq % cfg.flows as u64) as u32, (seq % cfg.macs as u64) as u32);
                cfg.spec.restamp(flow, mac, &mut pool.chunk_mut(c)[RX_HEAD..]);
            }
            seq += 1;
            pool.unmark_held(c);
            sock.tx.push(c + RX_HEAD as u64, len);
        }
        sock.tx.submit();
        submitted += want as u64;
        // Kick.
        if sock.tx.needs_wakeup() {
            let out = sock.tx.outstanding();
            let n = out.div_ceil(COPY_MODE_KICK_FRAMES).min(cfg.kick_budget);
            for _ in 0..n {
                kicks += 1;
                if kick(sock.fd) != Kick::Progress {
                    break;
                }
            }
        }
    }
    let end = Instant::now();
    // Let in-flight frames complete so the chunks are not reused while the
    // kernel still reads them (the UMEM is freed after this).
    let drain_until = end + Duration::from_millis(200);
    while completed < submitted && Instant::now() < drain_until {
        if sock.tx.needs_wakeup() && sock.tx.outstanding() > 0 {
            kick(sock.fd);
        }
        // SAFETY: as above.
        let n = unsafe { sock.comp.consume(&mut scratch) };
        completed += n as u64;
        if n == 0 {
            std::thread::yield_now();
        }
    }
    let seconds = end.duration_since(start).as_secs_f64().max(1e-9);
    let sent = completed.min(limit);
    Ok(GenSummary {
        sent,
        bytes: sent * len as u64,
        seconds,
        pps: sent as f64 / seconds,
        kicks,
        bind_mode: sock.bind_mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn udp_ok(frame: &[u8], spec: &FrameSpec) -> (u16, u16, [u8; 6]) {
        let p = SlicedPacket::from_ethernet(frame).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = p.net else { panic!("not ipv4") };
        assert_eq!(ip.header().source_addr(), spec.src_ip);
        assert_eq!(ip.header().destination_addr(), spec.dst_ip);
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "IPv4 checksum");
        let Some(TransportSlice::Udp(u)) = p.transport else { panic!("not udp") };
        let expect = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
        assert_eq!(u.checksum(), expect, "UDP checksum");
        let mut src = [0u8; 6];
        src.copy_from_slice(&frame[6..12]);
        (u.source_port(), u.destination_port(), src)
    }

    #[test]
    fn builds_valid_64_and_1514_byte_frames() {
        for size in [64, 65, 1514] {
            let spec = FrameSpec { size, ..Default::default() };
            let mut buf = vec![0u8; 2048];
            assert_eq!(spec.build(3, 5, &mut buf), size);
            let (sp, dp, src) = udp_ok(&buf[..size], &spec);
            assert_eq!((sp, dp), flow_ports(3));
            assert_eq!(src[5], 5);
        }
    }

    #[test]
    fn vlan_tag_is_counted_in_size() {
        let spec = FrameSpec { size: 64, vlan: Some(100), ..Default::default() };
        let mut buf = vec![0u8; 128];
        spec.build(0, 0, &mut buf);
        assert_eq!(&buf[12..16], &[0x81, 0x00, 0x00, 100]);
        let p = SlicedPacket::from_ethernet(&buf[..64]).unwrap();
        assert!(p.vlan.is_some());
        udp_ok(&buf[..64], &spec);
    }

    #[test]
    fn restamp_keeps_checksum_valid() {
        let spec = FrameSpec { size: 100, ..Default::default() };
        let mut buf = vec![0u8; 256];
        spec.build(0, 0, &mut buf);
        for (flow, mac) in [(1, 1), (63_999, 2), (64_000, 3), (1_000_000, 0xff_ffff)] {
            spec.restamp(flow, mac, &mut buf);
            let (sp, dp, src) = udp_ok(&buf[..100], &spec);
            assert_eq!((sp, dp), flow_ports(flow));
            let want = (0x0000_0000u32.wrapping_add(mac) & 0xff_ffff).to_be_bytes();
            assert_eq!(&src[3..], &want[1..]);
        }
    }

    fn vx() -> VxlanSpec {
        VxlanSpec {
            vni: 100,
            dst_mac: [2, 0, 0, 0, 0xfe, 1],
            src_mac: [2, 0, 0, 0, 0xfe, 2],
            src_ip: Ipv4Addr::new(192, 168, 100, 2),
            dst_ip: Ipv4Addr::new(192, 168, 100, 1),
            udp_port: 4789,
        }
    }

    fn outer_ok(frame: &[u8], x: &VxlanSpec) -> u16 {
        let p = SlicedPacket::from_ethernet(frame).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = p.net else { panic!("not ipv4") };
        assert_eq!(ip.header().source_addr(), x.src_ip);
        assert_eq!(ip.header().destination_addr(), x.dst_ip);
        assert_eq!(ip.header().total_len() as usize, frame.len() - 14);
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "outer IPv4 checksum");
        let Some(TransportSlice::Udp(u)) = p.transport else { panic!("not udp") };
        assert_eq!(u.destination_port(), 4789);
        assert_eq!(u.length() as usize, frame.len() - 34);
        assert_eq!(u.checksum(), 0);
        assert_eq!(&u.payload()[..8], &[0x08, 0, 0, 0, 0, 0, 100, 0]);
        u.source_port()
    }

    #[test]
    fn vxlan_wraps_the_usual_frame() {
        for size in [64, 1514] {
            let spec = FrameSpec { size, vxlan: Some(vx()), ..Default::default() };
            let mut buf = vec![0u8; 2048];
            assert_eq!(spec.build(3, 5, &mut buf), size + 50);
            let frame = &buf[..size + 50];
            assert_eq!(outer_ok(frame, &vx()), vxlan_src_port(3));
            let (sp, dp, src) = udp_ok(&frame[50..], &spec);
            assert_eq!((sp, dp), flow_ports(3));
            assert_eq!(src[5], 5);
            spec.restamp(70, 1, &mut buf);
            assert_eq!(outer_ok(&buf[..size + 50], &vx()), vxlan_src_port(70));
            assert_eq!(udp_ok(&buf[50..size + 50], &spec).0, flow_ports(70).0);
        }
    }

    #[test]
    fn sizes_are_validated() {
        assert!(FrameSpec { size: 63, ..Default::default() }.validate().is_err());
        assert!(FrameSpec { size: 1515, ..Default::default() }.validate().is_err());
        assert!(FrameSpec { vlan: Some(4095), ..Default::default() }.validate().is_err());
        assert!(FrameSpec::default().validate().is_ok());
    }
}
