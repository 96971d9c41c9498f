//! `xvs-gen`: an AF_XDP UDP traffic generator for benchmarks.
//!
//! Sends pre-built UDP/IPv4 frames out of one interface queue from one
//! (pinned) core, prints the rate once per second with `--rate-report`, and
//! prints a one-line JSON summary on stdout at the end.
//!
//! ```text
//! xvs-gen --iface veth0 --cpu 0 --size 64 --flows 64 --duration 5 --rate-report
//! ```
//!
//! With `--vxlan VNI` the same frames go out inside VXLAN (outer headers
//! from the `--outer-*` options; `--size` stays the inner frame's size, so
//! the wire carries 50 bytes more per frame).

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use io_afxdp::gen::{self, FrameSpec, GenConfig, VxlanSpec};
use io_afxdp::ZeroCopy;
use switch_core::types::MacAddr;

/// AF_XDP UDP traffic generator (one socket, one core).
#[derive(Parser, Debug)]
#[command(name = "xvs-gen", version)]
struct Args {
    /// Interface to send on.
    #[arg(long)]
    iface: String,
    /// Queue id to bind the socket to.
    #[arg(long, default_value_t = 0)]
    queue: u32,
    /// Frame size in bytes, Ethernet header (and VLAN tag) included, FCS excluded.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(64..=1514))]
    size: u16,
    /// Number of distinct UDP 5-tuples (source port, then destination port, vary).
    #[arg(long, default_value_t = 1)]
    flows: u32,
    /// Number of distinct source MACs (02:78:76:xx:xx:xx).
    #[arg(long, default_value_t = 1)]
    macs: u32,
    /// Destination MAC.
    #[arg(long, default_value = "02:00:00:00:ff:01")]
    dst_mac: MacAddr,
    /// First source MAC (the low 24 bits are incremented per MAC).
    #[arg(long, default_value = "02:78:76:00:00:00")]
    src_mac: MacAddr,
    /// Tag frames with this 802.1Q VLAN id.
    #[arg(long)]
    vlan: Option<u16>,
    /// IPv4 source address.
    #[arg(long, default_value = "10.0.0.1")]
    src_ip: Ipv4Addr,
    /// IPv4 destination address.
    #[arg(long, default_value = "10.0.0.2")]
    dst_ip: Ipv4Addr,
    /// Wrap every frame in VXLAN with this VNI (outer UDP source port per flow).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=16_777_215))]
    vxlan: Option<u32>,
    /// Outer destination MAC (with --vxlan).
    #[arg(long, default_value = "02:00:00:00:fe:01")]
    outer_dst_mac: MacAddr,
    /// Outer source MAC (with --vxlan).
    #[arg(long, default_value = "02:00:00:00:fe:02")]
    outer_src_mac: MacAddr,
    /// Outer IPv4 source, the sending VTEP (with --vxlan).
    #[arg(long, default_value = "192.168.100.2")]
    outer_src_ip: Ipv4Addr,
    /// Outer IPv4 destination, the receiving VTEP (with --vxlan).
    #[arg(long, default_value = "192.168.100.1")]
    outer_dst_ip: Ipv4Addr,
    /// Outer UDP destination port (with --vxlan).
    #[arg(long, default_value_t = 4789)]
    vxlan_port: u16,
    /// Seconds to run (default: until --count, or Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Frames to send.
    #[arg(long)]
    count: Option<u64>,
    /// Pace to this many frames per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<u64>,
    /// Print packets per second to stderr once a second.
    #[arg(long)]
    rate_report: bool,
    /// CPU to pin the sender to.
    #[arg(long)]
    cpu: Option<usize>,
    /// Descriptors queued per round.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// TX ring size.
    #[arg(long, default_value_t = 2048)]
    ring: u32,
    /// Most `sendto` kicks per round (copy mode sends up to 32 frames per kick).
    #[arg(long, default_value_t = 4)]
    kick_budget: u32,
    /// Do not try zero-copy first.
    #[arg(long)]
    copy: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    if let Some(c) = a.cpu {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: c }) {
            eprintln!("xvs-gen: could not pin to CPU {c}");
            return ExitCode::FAILURE;
        }
    }
    let cfg = GenConfig {
        iface: a.iface,
        queue: a.queue,
        spec: FrameSpec {
            size: a.size as usize,
            dst_mac: a.dst_mac.0,
            src_mac: a.src_mac.0,
            vlan: a.vlan,
            src_ip: a.src_ip,
            dst_ip: a.dst_ip,
            vxlan: a.vxlan.map(|vni| VxlanSpec {
                vni,
                dst_mac: a.outer_dst_mac.0,
                src_mac: a.outer_src_mac.0,
                src_ip: a.outer_src_ip,
                dst_ip: a.outer_dst_ip,
                udp_port: a.vxlan_port,
            }),
        },
        flows: a.flows,
        macs: a.macs,
        duration: a.duration.map(Duration::from_secs_f64),
        count: a.count,
        rate_report: a.rate_report,
        batch: a.batch,
        tx_ring: a.ring,
        frames: (2 * a.ring).max(4096),
        kick_budget: a.kick_budget.max(1),
        rate: a.rate.filter(|&r| r > 0),
        zero_copy: if a.copy { ZeroCopy::Off } else { ZeroCopy::Try },
    };
    let stop = io_afxdp::stop_on_signals();
    match gen::run(&cfg, stop) {
        Ok(summary) => {
            println!("{}", summary.to_json(&cfg));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xvs-gen: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
