//! `xvs-sink`: an `XDP_DROP` counting sink for benchmarks.
//!
//! ```text
//! xvs-sink attach veth1 [--mode native]   # attach and exit (stays attached)
//! xvs-sink stats veth1                    # {"iface":"veth1","xdp_drops":N,...}
//! xvs-sink detach veth1                   # like `ip link set veth1 xdp off`
//! xvs-sink run veth1 --duration 5         # attach, report per second, detach
//! ```
//!
//! The count comes from the driver's `rx_queue_N_xdp_drops` counters (what
//! `ethtool -S` prints); veth provides them in native mode.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use io_afxdp::{ethtool_stats, ifindex, xdp_detach_all, xdp_drops, xdp_query, Error, XdpDropSink, XdpMode};

/// XDP_DROP sink that counts what it drops.
#[derive(Parser, Debug)]
#[command(name = "xvs-sink", version)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Attach the drop program and leave it attached.
    Attach {
        /// Interface.
        iface: String,
        /// XDP hook: auto, native or skb (native gives veth's xdp_drops counters).
        #[arg(long, default_value = "native")]
        mode: XdpMode,
        /// Replace a program already attached in that mode.
        #[arg(long)]
        replace: bool,
    },
    /// Detach every XDP program from the interface.
    Detach {
        /// Interface.
        iface: String,
    },
    /// Print the drop counter as JSON.
    Stats {
        /// Interface.
        iface: String,
    },
    /// Attach, report drops per second, and detach when done (or on Ctrl-C).
    Run {
        /// Interface.
        iface: String,
        /// XDP hook.
        #[arg(long, default_value = "native")]
        mode: XdpMode,
        /// Seconds to run (default: until Ctrl-C).
        #[arg(long)]
        duration: Option<f64>,
    },
}

fn stats_json(iface: &str) -> Result<String, Error> {
    let drops = xdp_drops(iface)?;
    // veth's XDP byte counter leaves out the 14-byte Ethernet header.
    let bytes: u64 = ethtool_stats(iface)?
        .iter()
        .filter(|(k, _)| k.starts_with("rx_queue_") && k.ends_with("_xdp_bytes"))
        .map(|(_, v)| *v)
        .sum();
    let idx = ifindex(iface)?;
    let st = xdp_query(idx).map_err(|source| Error::Xdp { what: "querying", iface: iface.into(), source })?;
    Ok(serde_json::json!({
        "iface": iface,
        "xdp_drops": drops,
        "xdp_bytes": bytes,
        "xdp_mode": st.mode.map(|m| m.name()),
        "prog_ids": st.prog_ids().collect::<Vec<_>>(),
    })
    .to_string())
}

fn run(cmd: Cmd) -> Result<(), Error> {
    match cmd {
        Cmd::Attach { iface, mode, replace } => {
            XdpDropSink::attach(&iface, mode, replace)?.leak();
            println!("{}", stats_json(&iface)?);
        }
        Cmd::Detach { iface } => {
            let idx = ifindex(&iface)?;
            let before =
                xdp_detach_all(idx).map_err(|source| Error::Xdp { what: "detaching", iface: iface.clone(), source })?;
            println!("{}", serde_json::json!({ "iface": iface, "detached": before.prog_ids().collect::<Vec<_>>() }));
        }
        Cmd::Stats { iface } => println!("{}", stats_json(&iface)?),
        Cmd::Run { iface, mode, duration } => {
            let stop = io_afxdp::stop_on_signals();
            let sink = XdpDropSink::attach(&iface, mode, false)?;
            let start = Instant::now();
            let base = sink.drops()?;
            let mut last = (start, base);
            let end = duration.map(|d| start + Duration::from_secs_f64(d));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && end.is_none_or(|e| Instant::now() < e) {
                std::thread::sleep(Duration::from_millis(100));
                let now = Instant::now();
                if now.duration_since(last.0) >= Duration::from_secs(1) {
                    let d = sink.drops()?;
                    let pps = (d - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
                    eprintln!("{iface}: {:.3} Mpps dropped", pps / 1e6);
                    last = (now, d);
                }
            }
            let total = sink.drops()? - base;
            let secs = start.elapsed().as_secs_f64();
            sink.detach()?;
            println!(
                "{}",
                serde_json::json!({ "iface": iface, "drops": total, "seconds": secs, "pps": (total as f64 / secs).round() })
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse().cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xvs-sink: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
