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
//! Run: `cargo bench -p xvs-benches` (about a minute on a 2-core VM).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use xvs_benches::{Driver, Scenario, BATCH};

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

criterion_group! {
    name = benches;
    config = config();
    targets = l2_forward_learn_hit, learn_new_macs, flood, driver_overhead
}
criterion_main!(benches);
