//! Instructions per packet, for running under callgrind.
//!
//! ```text
//! ipp <case> [packets]                                 one case (default 200000 packets)
//!     cases: hit-1k hit-100k hit-1m learn flood hit-1k-overlay encap-1k decap-1k
//!            geneve-encap-1k ipip-encap-1k
//!            hit-1k-ip acl-hit-N acl-miss-N (N rules per port: 10, 100, 1k, 10k...)
//! ipp mem                                               FDB bytes per entry at 1K/100K/1M
//! ipp scale SMALL LARGE [rounds] [batches]              paired timing, ratio LARGE/SMALL
//! ipp floor [rounds] [batches]                          memory floor of the 1M case
//! ```
//!
//! A case builds its switch and pre-fills the FDB, runs a warm-up, then runs
//! `packets` frames in batches of 32. For every batch, the frames are written
//! into `MemIo` and moved into the batch first (not measured), then
//! [`xvs_ipp_measured`] runs ([`xvs_ipp_measured_overlay`] for `encap-1k`,
//! `geneve-encap-1k`, `ipip-encap-1k` and `decap-1k`, whose switch and
//! driver are `xvs_benches::overlay`'s).
//! `scripts/ipp.sh` runs this binary under `valgrind --tool=callgrind
//! --toggle-collect=xvs_ipp_measured --toggle-collect=xvs_ipp_measured_overlay`,
//! so the counted instructions are exactly those executed inside those
//! functions (inclusive of their callees) during the measured batches; the
//! script divides by the packets that went through them, which this binary
//! prints as `measured_packets`.
//!
//! What `xvs_ipp_measured` contains, per batch:
//! * the FDB snapshot load (through an `arc_swap::cache::Cache`, once per
//!   batch, as a worker does);
//! * `Pipeline::process`: parse, classify, learn (learn cache, shared-table
//!   lookup on a learn-cache miss, learn-event push), forward (prefetch
//!   and lookup), output, and the in-memory port's side of it: frame access,
//!   `MemIo::send` (tx count + recycle) and `release`;
//! * for the `learn` case only, `FdbWriter::drain` applying the batch's learn
//!   events (the single-writer insert path);
//! * on a plan with an overlay (`hit-1k-overlay` and the four overlay
//!   cases), what `Pipeline::process` adds for it: the backend wrapped for
//!   encapsulation (a send to a tunnel port pushes the VXLAN or Geneve
//!   headers, a send to a gateway port routes the packet into IP-in-IP, and
//!   either leaves on the underlay port), and the underlay stage over the
//!   frames of the underlay port (checks, decapsulation, then the L2 path).
//!
//! * on a plan with flow rules (`acl-hit-N`, `acl-miss-N`), the acl stage
//!   `Pipeline::process` runs first: per frame the flow key, the flow
//!   cache lookup, on a miss the classifier and the cache fill, the
//!   matched rule's counters, and the compaction of the batch.
//!
//! Not counted: setup and prefill (for the acl cases also compiling the
//! rules), frame generation, `MemIo::inject` and `fill_batch` (the rx
//! side).
//!
//! The flow-rule cases (see `xvs_benches::acl`): `hit-1k-ip` is `hit-1k`
//! with every frame a real IPv4/TCP packet (one flow per source host), and
//! no rules: the baseline. `acl-hit-N` is `hit-1k-ip` with N rules in the
//! ingress table of every port (N - 1 of five mask shapes that no frame
//! matches, and a catch-all `allow`); after the warm-up every frame is a
//! flow cache hit. `acl-miss-N` sends a new source port in every frame, so
//! every frame is a flow cache miss and goes to the classifier. Checked
//! afterwards: every frame forwarded to its destination's port, nothing
//! dropped, every frame counted by a catch-all rule, and the flow cache
//! hits (misses) equal to the measured frames.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use switch_core::fdb::FdbStats;
use switch_core::pipeline::CounterSnapshot;
use xvs_benches::acl;
use xvs_benches::overlay::{OverlayDriver, OverlayScenario};
use xvs_benches::{AclFlows, Driver, Scenario, BATCH, PORTS};

/// Packets run through the pipeline before the measured ones, so the learn
/// cache and the CPU caches are warm. The warm-up calls `Driver::step`
/// directly, not [`xvs_ipp_measured`], so callgrind does not count it.
const WARM_PACKETS: u64 = 32_768;

/// One batch through the dataplane. Never inlined and not mangled, so
/// callgrind's `--toggle-collect=xvs_ipp_measured` finds it.
#[inline(never)]
#[no_mangle]
pub fn xvs_ipp_measured(d: &mut Driver) {
    d.process_batch();
}

/// [`xvs_ipp_measured`] for the overlay driver (`encap-1k`,
/// `geneve-encap-1k`, `ipip-encap-1k`, `decap-1k`):
/// one batch through the dataplane. Never inlined and not mangled, so
/// callgrind's `--toggle-collect=xvs_ipp_measured_overlay` finds it.
#[inline(never)]
#[no_mangle]
pub fn xvs_ipp_measured_overlay(d: &mut OverlayDriver) {
    d.process_batch();
}

fn scenario(case: &str) -> Option<Scenario> {
    Some(match case {
        "hit-1k" => Scenario::Hit { macs: 1_000 },
        "hit-100k" => Scenario::Hit { macs: 100_000 },
        "hit-1m" => Scenario::Hit { macs: 1_000_000 },
        // Room for the warm-up plus 967k packets before the first reset.
        "learn" => Scenario::Learn { capacity: 1_000_000 },
        "flood" => Scenario::Flood,
        "hit-1k-overlay" => Scenario::HitOverlay { macs: 1_000 },
        "hit-1k-ip" => Scenario::HitIp { macs: 1_000 },
        _ => {
            // acl-hit-N, acl-miss-N: N rules per table, `k` for thousands.
            let (flows, n) = if let Some(n) = case.strip_prefix("acl-hit-") {
                (AclFlows::PerHost, n)
            } else {
                (AclFlows::NewPerFrame, case.strip_prefix("acl-miss-")?)
            };
            let rules = match n.strip_suffix('k') {
                Some(k) => k.parse::<u32>().ok()?.checked_mul(1000)?,
                None => n.parse().ok()?,
            };
            if rules == 0 || rules as usize * PORTS > switch_core::flow::MAX_RULES {
                return None;
            }
            Scenario::Acl { macs: 1_000, rules, flows }
        }
    })
}

/// Frames the flow rules counted so far, over every rule id.
fn rule_packets(d: &Driver) -> u64 {
    d.sim.pipeline.counters().rules.iter().map(|r| r.packets.get()).sum()
}

/// Frames the catch-all rules of an acl case's tables counted so far.
fn catch_all_packets(d: &Driver) -> u64 {
    let Scenario::Acl { rules, .. } = d.scenario else { return 0 };
    (0..PORTS).map(|p| d.sim.pipeline.counters().rules[acl::rule_id(rules, p, rules - 1) as usize].packets.get()).sum()
}

fn overlay_scenario(case: &str) -> Option<OverlayScenario> {
    Some(match case {
        "encap-1k" => OverlayScenario::Encap { hosts: 1_000 },
        "decap-1k" => OverlayScenario::Decap { hosts: 1_000 },
        "geneve-encap-1k" => OverlayScenario::GeneveEncap { hosts: 1_000 },
        "ipip-encap-1k" => OverlayScenario::IpipEncap { hosts: 1_000 },
        _ => return None,
    })
}

fn mem() {
    println!("{:>10} {:>12} {:>14} {:>14}", "entries", "table_slots", "memory_bytes", "bytes/entry");
    for macs in [1_000u32, 100_000, 1_000_000] {
        let d = Driver::new(Scenario::Hit { macs }, 1);
        println!(
            "{:>10} {:>12} {:>14} {:>14.1}",
            d.fdb_entries(),
            d.sim.writer.table().capacity(),
            d.sim.writer.memory_bytes(),
            d.fdb_bytes_per_entry()
        );
    }
}

/// Wall-clock time per packet of two cases, interleaved round by round on
/// the same core so that drift and noise hit both alike; prints the median
/// of each and of their per-round ratio. Not run under callgrind.
fn scale(small: &str, large: &str, rounds: usize, batches: u64) -> ExitCode {
    let (Some(a), Some(b)) = (scenario(small), scenario(large)) else {
        eprintln!("unknown case");
        return ExitCode::from(2);
    };
    let mut drivers = [Driver::new(a, 0x5eed), Driver::new(b, 0x5eed)];
    for d in &mut drivers {
        for _ in 0..WARM_PACKETS / BATCH as u64 {
            d.step();
        }
    }
    // Per round and case: ns per packet for the whole step (rx side +
    // pipeline) and for the rx side alone (inject, then discard).
    let mut step = [Vec::new(), Vec::new()];
    let mut rx = [Vec::new(), Vec::new()];
    // The memory floor, measured in every round beside the cases: the large
    // case's excess over the small one follows it.
    let mut probe = FloorProbe::new();
    let mut floors = Vec::new();
    for _ in 0..rounds {
        let (r, s) = probe.measure((batches / 4).max(1) as usize);
        floors.push(s - r);
        for (k, d) in drivers.iter_mut().enumerate() {
            let t = std::time::Instant::now();
            for _ in 0..batches {
                d.step();
            }
            step[k].push(t.elapsed().as_nanos() as f64 / (batches * BATCH as u64) as f64);
            let t = std::time::Instant::now();
            for _ in 0..batches {
                d.inject_batch();
                d.discard_batch();
            }
            rx[k].push(t.elapsed().as_nanos() as f64 / (batches * BATCH as u64) as f64);
        }
    }
    let ratios = |num: &dyn Fn(usize) -> f64, den: &dyn Fn(usize) -> f64| {
        median(&(0..rounds).map(|r| num(r) / den(r)).collect::<Vec<_>>())
    };
    let pipe = |k: usize, r: usize| step[k][r] - rx[k][r];
    println!("{:<10} {:>12} {:>12} {:>14}", "case", "ns/pkt step", "ns/pkt rx", "ns/pkt pipeline");
    for (k, name) in [small, large].iter().enumerate() {
        let p: Vec<f64> = (0..rounds).map(|r| pipe(k, r)).collect();
        println!("{:<10} {:>12.2} {:>12.2} {:>14.2}", name, median(&step[k]), median(&rx[k]), median(&p));
    }
    println!(
        "ratio {large}/{small}: {:.2} (step), {:.2} (pipeline only); median of {rounds} paired rounds of {batches} batches",
        ratios(&|r| step[1][r], &|r| step[0][r]),
        ratios(&|r| pipe(1, r), &|r| pipe(0, r)),
    );
    println!(
        "memory floor (2 random slot reads a frame, see `ipp floor`) during the run: median {:.2} ns/frame, {:.2}-{:.2}",
        median(&floors),
        floors.iter().copied().fold(f64::INFINITY, f64::min),
        floors.iter().copied().fold(0.0, f64::max),
    );
    ExitCode::SUCCESS
}

/// The memory floor under the 1M case: per frame, the two table reads the
/// large-table path makes (the source's and the destination's slot), at
/// uniformly random slots of a table the size of the FDB's (2M slots of
/// 8 bytes, on huge pages), prefetched a batch at a time; against the same
/// reads confined to 1000 slots, which stay in L1. No parsing, no
/// learning, no output: what is left over the resident case is what the
/// memory system charges for two random reads per frame, which no pipeline
/// change can remove while it reads those two slots. On a VM it moves with
/// the neighbours' memory traffic, so `scale` measures it in every round.
struct FloorProbe {
    table: xvs_mem::HugeZeroed<AtomicU64>,
    rng: u64,
}

impl FloorProbe {
    const SLOTS_LOG2: u32 = 21;

    fn new() -> FloorProbe {
        let table = xvs_mem::HugeZeroed::<AtomicU64>::new(1 << Self::SLOTS_LOG2);
        for (i, slot) in table.iter().enumerate() {
            slot.store(i as u64 | 1, Relaxed);
        }
        FloorProbe { table, rng: 0x9e37_79b9_7f4a_7c15 }
    }

    /// ns per frame of `batches` batches of two prefetched reads per frame,
    /// at slots drawn from `spread` values.
    fn reads(&mut self, spread: u64, batches: usize) -> f64 {
        let mut acc = 0u64;
        let mut idx = [0usize; 2 * BATCH];
        let t = std::time::Instant::now();
        for _ in 0..batches {
            for i in idx.iter_mut() {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                // A multiplicative hash of a value below `spread`, like the
                // FDB's.
                *i = ((self.rng % spread).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - Self::SLOTS_LOG2)) as usize;
            }
            for &i in &idx {
                xvs_mem::prefetch(self.table.wrapped(i));
            }
            for &i in &idx {
                acc = acc.wrapping_add(self.table.wrapped(i).load(Relaxed));
            }
        }
        std::hint::black_box(acc);
        t.elapsed().as_nanos() as f64 / (batches * BATCH) as f64
    }

    /// (resident, whole table) ns per frame: their difference is the floor.
    fn measure(&mut self, batches: usize) -> (f64, f64) {
        (self.reads(1000, batches), self.reads(1 << Self::SLOTS_LOG2, batches))
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn floor(rounds: usize, batches: usize) -> ExitCode {
    let mut probe = FloorProbe::new();
    let (mut resident, mut spread) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (r, s) = probe.measure(batches);
        resident.push(r);
        spread.push(s);
    }
    let (r, s) = (median(&resident), median(&spread));
    println!("ns/frame for 2 prefetched slot reads: resident {r:.2}, 16 MiB table {s:.2}; memory floor {:.2} ns/frame (median of {rounds} rounds of {batches} batches)", s - r);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("floor") {
        let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
        return floor(arg(2, 11), arg(3, 20000));
    }
    if args.get(1).map(String::as_str) == Some("scale") {
        let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
        let (Ok(rounds), Ok(batches)) = (arg(4, "15").parse(), arg(5, "20000").parse()) else {
            eprintln!("usage: ipp scale SMALL LARGE [rounds] [batches]");
            return ExitCode::from(2);
        };
        return scale(&arg(2, "hit-1k"), &arg(3, "hit-1m"), rounds, batches);
    }
    let Some(case) = args.get(1) else {
        eprintln!(
            "usage: ipp <hit-1k|hit-100k|hit-1m|learn|flood|hit-1k-overlay|encap-1k|decap-1k|geneve-encap-1k|ipip-encap-1k|hit-1k-ip|acl-hit-N|acl-miss-N> [packets] | ipp mem"
        );
        return ExitCode::from(2);
    };
    if case == "mem" {
        mem();
        return ExitCode::SUCCESS;
    }
    let packets: u64 = match args.get(2).map(|s| s.parse()) {
        None => 200_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("bad packet count: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(sc) = overlay_scenario(case) {
        return run_overlay(case, sc, packets);
    }
    let Some(sc) = scenario(case) else {
        eprintln!("unknown case {case:?}");
        return ExitCode::from(2);
    };
    let warm_batches = WARM_PACKETS / BATCH as u64;
    let batches = packets.div_ceil(BATCH as u64);

    let mut d = Driver::new(sc, 0x5eed);
    for _ in 0..warm_batches {
        d.step();
    }
    let c0 = d.sim.pipeline.counters().snapshot();
    let w0 = d.sim.writer.stats();
    let tx0: Vec<u64> = d.sim.io.port_stats().iter().map(|s| s.tx_packets).collect();
    let (want0, rules0, catch0) = (d.expected_tx, rule_packets(&d), catch_all_packets(&d));
    for _ in 0..batches {
        if d.batches_before_reset() == 0 {
            // Learn case only: the table would fill; start over with an empty
            // one (not measured). The default 200k packets never get here.
            d.reset();
        }
        d.inject_batch();
        xvs_ipp_measured(&mut d);
    }
    let c1 = d.sim.pipeline.counters().snapshot();
    let w1 = d.sim.writer.stats();
    let run = batches * BATCH as u64;
    let tx: u64 = d.sim.io.port_stats().iter().map(|s| s.tx_packets).sum();
    let tx_run: Vec<u64> = d.sim.io.port_stats().iter().zip(&tx0).map(|(s, t0)| s.tx_packets - t0).collect();
    let want_run: Vec<u64> = d.expected_tx.iter().zip(&want0).map(|(a, b)| a - b).collect();
    let (rules_run, catch_run) = (rule_packets(&d) - rules0, catch_all_packets(&d) - catch0);

    let mut problems = Vec::new();
    if d.resets > 0 {
        // Counters restarted with each new switch; only the last one's can
        // be checked.
        eprintln!("note: the learn switch was reset {} times; per-run checks skipped", d.resets);
        if w1.evicted != 0 || c1.total_drops() != 0 {
            problems.push(format!("evicted {} / dropped {}", w1.evicted, c1.total_drops()));
        }
    } else {
        check(sc, run, &c0, &c1, &w0, &w1, &mut problems);
        if sc != Scenario::Flood {
            // Every measured frame left on its destination's port, and no
            // other frame left anywhere.
            for (p, want) in want_run.iter().enumerate() {
                let got = tx_run.get(p).copied().unwrap_or(0);
                if got != *want {
                    problems.push(format!("tx frames on port {p}: got {got}, want {want}"));
                }
            }
            let all: u64 = tx_run.iter().sum();
            if all != run {
                problems.push(format!("tx frames in all: got {all}, want {run}"));
            }
        }
        if let Scenario::Acl { .. } = sc {
            if (rules_run, catch_run) != (run, run) {
                problems.push(format!("rule counters: {rules_run} frames matched, {catch_run} of them the catch-all; want {run} and {run}"));
            }
        }
    }
    if let (Some(&first), Some(&last)) = (d.flow_ports().first(), d.flow_ports().last()) {
        // Ports are handed out in order; every skipped one was a host whose
        // first choice shared a flow-cache slot with an earlier host's key.
        eprintln!(
            "flow source ports: {first}..={last} for {} hosts ({} skipped to keep their flow-cache keys in distinct slots)",
            d.flow_ports().len(),
            (last - first) as usize + 1 - d.flow_ports().len()
        );
    }
    if let Some(flows) = d.sim.plan.flows.as_deref() {
        let subtables: Vec<usize> = flows.tables().iter().map(|t| t.classifier.subtables()).collect();
        eprintln!(
            "flow rules: {} in {} tables, subtables per table {subtables:?}; measured: flow_cache_hits={} flow_cache_misses={} rule matches={rules_run} catch-all={catch_run}",
            flows.len(),
            flows.tables().len(),
            c1.flow_cache_hits - c0.flow_cache_hits,
            c1.flow_cache_misses - c0.flow_cache_misses,
        );
    }
    eprintln!(
        "case={case} run_packets={run} warm_packets={} forwarded={} flooded={} flood_copies={} learn_events={} tx_frames={tx} fdb_entries={} fdb_bytes_per_entry={:.1} resets={}",
        warm_batches * BATCH as u64,
        c1.forwarded,
        c1.flooded,
        c1.flood_copies,
        c1.learn_events,
        d.fdb_entries(),
        d.fdb_bytes_per_entry(),
        d.resets,
    );
    println!("measured_packets={run}");
    if !problems.is_empty() {
        for p in problems {
            eprintln!("CHECK FAILED: {p}");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Checks the case did what its name says, so a wrong fixture cannot produce
/// a flattering number.
fn check(
    sc: Scenario,
    run: u64,
    c0: &CounterSnapshot,
    c1: &CounterSnapshot,
    w0: &FdbStats,
    w1: &FdbStats,
    problems: &mut Vec<String>,
) {
    let mut expect = |what: &str, got: u64, want: u64| {
        if got != want {
            problems.push(format!("{what}: got {got}, want {want}"));
        }
    };
    expect("packets", c1.packets - c0.packets, run);
    expect("drops", c1.total_drops(), 0);
    match sc {
        Scenario::Hit { .. } => {
            expect("forwarded", c1.forwarded - c0.forwarded, run);
            expect("learn events", c1.learn_events - c0.learn_events, 0);
            expect("fdb refreshes", w1.refreshed, 0);
        }
        Scenario::HitIp { .. } => {
            expect("forwarded", c1.forwarded - c0.forwarded, run);
            expect("learn events", c1.learn_events - c0.learn_events, 0);
            expect("fdb refreshes", w1.refreshed, 0);
            expect("flow cache hits", c1.flow_cache_hits, 0);
            expect("flow cache misses", c1.flow_cache_misses, 0);
        }
        Scenario::Acl { flows, .. } => {
            expect("forwarded", c1.forwarded - c0.forwarded, run);
            expect("learn events", c1.learn_events - c0.learn_events, 0);
            expect("fdb refreshes", w1.refreshed, 0);
            let (hits, misses) = match flows {
                AclFlows::PerHost => (run, 0),
                AclFlows::NewPerFrame => (0, run),
            };
            expect("flow cache hits", c1.flow_cache_hits - c0.flow_cache_hits, hits);
            expect("flow cache misses", c1.flow_cache_misses - c0.flow_cache_misses, misses);
            expect("flow outputs", c1.flow_outputs - c0.flow_outputs, 0);
            expect("mirror copies", c1.mirror_copies - c0.mirror_copies, 0);
        }
        Scenario::HitOverlay { .. } => {
            expect("forwarded", c1.forwarded - c0.forwarded, run);
            expect("learn events", c1.learn_events - c0.learn_events, 0);
            expect("fdb refreshes", w1.refreshed, 0);
            expect("encapsulated", c1.encapsulated, 0);
            expect("underlay received", c1.underlay_received, 0);
        }
        Scenario::Learn { .. } => {
            expect("forwarded", c1.forwarded - c0.forwarded, run);
            expect("learn events", c1.learn_events - c0.learn_events, run);
            expect("learned", w1.learned - w0.learned, run);
            expect("evicted", w1.evicted, 0);
        }
        Scenario::Flood => {
            expect("flooded", c1.flooded - c0.flooded, run);
            expect("flood copies", c1.flood_copies - c0.flood_copies, run * 2);
            expect("learn events", c1.learn_events - c0.learn_events, 0);
        }
    }
}

/// `encap-1k`, `geneve-encap-1k`, `ipip-encap-1k` and `decap-1k`: as the
/// L2 cases in `main`, with the overlay driver and
/// [`xvs_ipp_measured_overlay`]. Checked after the measured batches: the
/// counters (every frame forwarded and encapsulated or decapsulated,
/// nothing dropped), the egress port's frame and byte counts (every frame
/// the scenario's encapsulated or decapsulated length), and one more batch,
/// not measured, captured and parsed frame by frame
/// ([`OverlayDriver::verify_batch`]).
fn run_overlay(case: &str, sc: OverlayScenario, packets: u64) -> ExitCode {
    let warm_batches = WARM_PACKETS / BATCH as u64;
    let batches = packets.div_ceil(BATCH as u64);

    let mut d = OverlayDriver::new(sc, 0x5eed);
    for _ in 0..warm_batches {
        d.step();
    }
    let egress = d.egress().index();
    let c0 = d.sim.pipeline.counters().snapshot();
    let w0 = d.sim.writer.stats();
    let tx0: Vec<u64> = d.sim.io.port_stats().iter().map(|s| s.tx_packets).collect();
    let tx_bytes0 = d.sim.io.port_stats().get(egress).map_or(0, |s| s.tx_bytes);
    for _ in 0..batches {
        d.inject_batch();
        xvs_ipp_measured_overlay(&mut d);
    }
    let c1 = d.sim.pipeline.counters().snapshot();
    let w1 = d.sim.writer.stats();
    let run = batches * BATCH as u64;
    let tx: Vec<u64> = d.sim.io.port_stats().iter().zip(&tx0).map(|(s, t0)| s.tx_packets - t0).collect();
    let tx_bytes = d.sim.io.port_stats().get(egress).map_or(0, |s| s.tx_bytes) - tx_bytes0;
    // After the counters are read: one more batch, captured and parsed.
    let sample = d.verify_batch();

    let mut problems = Vec::new();
    let mut expect = |what: &str, got: u64, want: u64| {
        if got != want {
            problems.push(format!("{what}: got {got}, want {want}"));
        }
    };
    expect("packets", c1.packets - c0.packets, run);
    expect("drops", c1.total_drops(), 0);
    expect("forwarded", c1.forwarded - c0.forwarded, run);
    expect("flooded", c1.flooded - c0.flooded, 0);
    expect("learn events", c1.learn_events - c0.learn_events, 0);
    expect("fdb refreshes", w1.refreshed - w0.refreshed, 0);
    expect("tx frames on the egress port", tx.get(egress).copied().unwrap_or(0), run);
    expect("tx frames in all", tx.iter().sum(), run);
    expect("tx bytes on the egress port", tx_bytes, run * d.egress_frame_len() as u64);
    match sc {
        OverlayScenario::Encap { .. } | OverlayScenario::GeneveEncap { .. } | OverlayScenario::IpipEncap { .. } => {
            expect("encapsulated", c1.encapsulated - c0.encapsulated, run);
            expect("decapsulated", c1.decapsulated - c0.decapsulated, 0);
            expect("underlay received", c1.underlay_received - c0.underlay_received, 0);
            expect("gateway absorbed", c1.gateway_absorbed - c0.gateway_absorbed, 0);
            expect("gateway replies", c1.gateway_replies - c0.gateway_replies, 0);
        }
        OverlayScenario::Decap { .. } => {
            expect("decapsulated", c1.decapsulated - c0.decapsulated, run);
            expect("underlay received", c1.underlay_received - c0.underlay_received, run);
            expect("encapsulated", c1.encapsulated - c0.encapsulated, 0);
        }
    }
    eprintln!(
        "case={case} run_packets={run} warm_packets={} forwarded={} encapsulated={} decapsulated={} learn_events={} tx_frames={} fdb_entries={}",
        warm_batches * BATCH as u64,
        c1.forwarded,
        c1.encapsulated,
        c1.decapsulated,
        c1.learn_events,
        tx.iter().sum::<u64>(),
        d.fdb_entries(),
    );
    if let Err(e) = sample {
        problems.push(format!("a batch after the measured ones, captured: {e}"));
    }
    println!("measured_packets={run}");
    if !problems.is_empty() {
        for p in problems {
            eprintln!("CHECK FAILED: {p}");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
