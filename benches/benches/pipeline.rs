//! Criterion benches of the in-memory dataplane.
//!
//! One criterion iteration is one batch of [`BATCH`] frames: write the 32
//! frames into `MemIo` and fill the batch (the rx side), then
//! `Pipeline::process` (plus the FDB writer's drain in the learn case).
//! Throughput is reported in elements = packets (for `learn_new_macs`, every
//! packet is one new MAC, so elements/s = MACs learned per second).
//!
//! `driver_overhead/inject_only` runs the rx side alone and gives the
//! buffers back, so the pipeline's own cost is roughly the difference.
//!
//! `flow_table_swap` times what replacing a switch's flow rules costs the
//! control plane: `FlowPlan::compile` of an already parsed rule set
//! against the forwarding plan's ports, plus `ForwardingPlan::with_flows`
//! (the new plan the workers then load). Not included: parsing the rules'
//! text, publishing the plan, and dropping the old one (criterion's
//! `iter_with_large_drop` drops each iteration's result outside the
//! timing). `10k_rules_1_table` is 10,000 rules ([`xvs_benches::acl`]'s
//! mix of mask shapes) in one port's ingress table; `10k_rules_x4_tables`
//! is the whole rule set of the `acl-*-10k` ipp cases, 10,000 rules in each
//! of the four ports' tables.
//!
//! Run: `cargo bench -p xvs-benches` (about a minute on a 2-core VM);
//! only the swap: `cargo bench -p xvs-benches --bench pipeline -- flow_table_swap`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switch_core::bridge::ForwardingPlan;
use switch_core::flow::FlowPlan;
use xvs_benches::{acl, Driver, Scenario, BATCH, PORTS};

/// Batches run before measuring so the learn cache and the caches are warm.
const WARM_BATCHES: usize = 4_096;

fn config() -> Criterion {
    Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

fn warm(d: &mut Driver) {
    for _ in 0..WARM_BATCHES {
        d.step();
    }
}

fn l2_forward_learn_hit(c: &mut Criterion) {
    let mut g = c.benchmark_group("l2_forward_learn_hit");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (label, macs) in [("1K", 1_000u32), ("100K", 100_000), ("1M", 1_000_000)] {
        let mut d = Driver::new(Scenario::Hit { macs }, 0x5eed);
        warm(&mut d);
        let before = d.sim.pipeline.counters().snapshot();
        g.bench_function(BenchmarkId::from_parameter(label), |b| b.iter(|| d.step()));
        let after = d.sim.pipeline.counters().snapshot();
        // A pure hit: every frame forwarded, nothing learned, nothing dropped.
        assert_eq!(after.learn_events, before.learn_events, "hit case produced learn events");
        assert_eq!(
            after.forwarded - before.forwarded,
            after.packets - before.packets,
            "hit case did not forward every frame"
        );
        assert_eq!(after.total_drops(), 0);
    }
    g.finish();
}

fn learn_new_macs(c: &mut Criterion) {
    let mut g = c.benchmark_group("learn_new_macs");
    g.throughput(Throughput::Elements(BATCH as u64));
    // Starts over with an empty 1M-entry table whenever it is about to fill,
    // outside the timed part, so no eviction is ever measured and the fill
    // level cycles through 0..1M (load factor 0..1/2).
    let capacity = 1_000_000;
    let mut d = Driver::new(Scenario::Learn { capacity }, 0x5eed);
    g.bench_function(BenchmarkId::from_parameter("1M_table"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if d.batches_before_reset() == 0 {
                    d.reset();
                }
                let n = left.min(d.batches_before_reset());
                let t = Instant::now();
                for _ in 0..n {
                    d.step();
                }
                total += t.elapsed();
                left -= n;
            }
            total
        })
    });
    let s = d.sim.writer.stats();
    assert_eq!(s.evicted + s.refused_full + s.refused_chain_full, 0, "learn bench evicted or refused");
    assert_eq!(d.sim.pipeline.counters().snapshot().learn_queue_full, 0);
    g.finish();
}

fn flood(c: &mut Criterion) {
    let mut g = c.benchmark_group("flood");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut d = Driver::new(Scenario::Flood, 0x5eed);
    warm(&mut d);
    g.bench_function(BenchmarkId::from_parameter("broadcast_4_ports"), |b| b.iter(|| d.step()));
    let s = d.sim.pipeline.counters().snapshot();
    assert_eq!(s.flooded, s.packets);
    assert_eq!(s.total_drops(), 0);
    g.finish();
}

fn driver_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("driver_overhead");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut d = Driver::new(Scenario::Hit { macs: 1_000_000 }, 0x5eed);
    g.bench_function(BenchmarkId::from_parameter("inject_only"), |b| {
        b.iter(|| {
            d.inject_batch();
            d.discard_batch();
        })
    });
    g.finish();
}

fn flow_table_swap(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_table_swap");
    let plan = ForwardingPlan::compile(&xvs_benches::spec(1_000_000)).expect("benchmark spec compiles");
    for (label, ports) in [("10k_rules_1_table", 1), ("10k_rules_x4_tables", PORTS)] {
        let rules = acl::rules_on(10_000, ports);
        g.throughput(Throughput::Elements(rules.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_with_large_drop(|| {
                let flows = FlowPlan::compile(&rules, &plan).expect("benchmark rules compile");
                plan.with_flows(Some(Arc::new(flows)))
            })
        });
        // What was timed is what the ipp cases run: every table has all six
        // mask shapes.
        let swapped = plan.with_flows(Some(Arc::new(FlowPlan::compile(&rules, &plan).expect("compiles"))));
        let flows = swapped.flows.as_deref().expect("rules");
        assert_eq!(flows.len(), rules.len());
        assert!(flows.tables().iter().all(|t| t.classifier.subtables() == acl::SUBTABLES));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = l2_forward_learn_hit, learn_new_macs, flood, driver_overhead, flow_table_swap
}
criterion_main!(benches);
