//! The ingress flow rules through the whole pipeline: every action, the
//! priority order, the cache against the classifier and the linear
//! reference, and a table swap.

use etherparse::PacketBuilder;
use proptest::prelude::*;

use crate::flow::{classifier, FlowKey, FlowRule, FlowTable};
use crate::pipeline::{DropReason, TraceEvent, TraceLog};
use crate::sim::SwitchSim;
use crate::types::PortId;

use super::tests::spec;

const H1: PortId = PortId(0); // access 10
const H2: PortId = PortId(1); // access 10
const H3: PortId = PortId(2); // access 20
const TRUNK: PortId = PortId(3); // trunk 10,20 native 10

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, n]
}

fn tcp(src: u8, dst: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(mac(src), mac(dst))
        .ipv4([10, 0, 0, src], [10, 0, 0, dst], 64)
        .tcp(sport, dport, 1, 1000)
        .syn()
        .write(&mut f, &[0u8; 8])
        .unwrap();
    f
}

fn udp(src: u8, dst: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(mac(src), mac(dst))
        .ipv4([10, 0, 0, src], [10, 0, 0, dst], 64)
        .udp(sport, dport)
        .write(&mut f, &[0u8; 8])
        .unwrap();
    f
}

fn rule(port: &str, priority: u16, m: &str, a: &str) -> FlowRule {
    FlowRule {
        table: FlowTable::Ingress(port.into()),
        priority,
        matches: m.parse().unwrap_or_else(|e| panic!("{m}: {e}")),
        actions: a.parse().unwrap_or_else(|e| panic!("{a}: {e}")),
    }
}

/// A switch where h1 and h2 have learned each other, with `rules`.
fn sim_with(rules: &[FlowRule]) -> SwitchSim {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    sim.send(H1, &udp(1, 0xff, 1, 1));
    sim.send(H2, &udp(2, 1, 1, 1));
    let ids: Vec<(u32, FlowRule)> = rules.iter().cloned().enumerate().map(|(i, r)| (i as u32 + 100, r)).collect();
    sim.set_flows(&ids).unwrap();
    sim
}

fn rule_packets(sim: &SwitchSim, id: u32) -> (u64, u64) {
    let c = &sim.pipeline.counters().rules[id as usize];
    (c.packets.get(), c.bytes.get())
}

#[test]
fn drop_one_tcp_port_and_pass_another() {
    let mut sim = sim_with(&[rule("h1", 100, "tcp,tp_dst=5201", "drop")]);
    assert!(sim.send(H1, &tcp(1, 2, 40000, 5201)).is_empty());
    let through = sim.send(H1, &tcp(1, 2, 40000, 5202));
    assert_eq!(through, vec![(H2, tcp(1, 2, 40000, 5202))]);
    // UDP to the same port, and TCP from h2, are not the rule's.
    assert_eq!(sim.send(H1, &udp(1, 2, 40000, 5201)).len(), 1);
    assert_eq!(sim.send(H2, &tcp(2, 1, 40000, 5201)).len(), 1);
    let len = tcp(1, 2, 40000, 5201).len() as u64;
    assert_eq!(rule_packets(&sim, 100), (1, len));
    let c = sim.pipeline.counters().snapshot();
    assert_eq!(c.drops_for(DropReason::AclDrop), 1);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn mirror_copies_exactly_and_the_frame_goes_on() {
    // h3 is in another VLAN: a SPAN port sees what it is told to, tags and all.
    let mut sim = sim_with(&[rule("trunk", 10, "vlan=10", "mirror:h3")]);
    let mut tagged = udp(7, 1, 5, 6);
    tagged.splice(12..12, [0x81, 0x00, 0x00, 10]);
    let out = sim.send(TRUNK, &tagged);
    assert_eq!(out, vec![(H1, udp(7, 1, 5, 6)), (H3, tagged.clone())]);
    // Untagged on the trunk is native VLAN 10: mirrored too.
    let out = sim.send(TRUNK, &udp(7, 1, 5, 6));
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![H1, H3]);
    assert_eq!(sim.pipeline.counters().snapshot().mirror_copies, 2);
    assert_eq!(sim.io.chunks_in_use(), 0);
}

#[test]
fn output_sends_as_received_instead_of_switching() {
    let mut sim = sim_with(&[rule("h1", 10, "dl_dst=02:00:00:00:00:02", "mirror:trunk,output:h3")]);
    let f = tcp(1, 2, 1, 2);
    assert_eq!(sim.send(H1, &f), vec![(H3, f.clone()), (TRUNK, f.clone())]);
    let c = sim.pipeline.counters().snapshot();
    assert_eq!((c.flow_outputs, c.mirror_copies), (1, 1));
    // Output back to the port it came from is refused as the L2 path does.
    let mut sim = sim_with(&[rule("h1", 10, "any", "output:h1")]);
    assert!(sim.send(H1, &f).is_empty());
    assert_eq!(sim.pipeline.counters().snapshot().drops_for(DropReason::SameSegment), 1);
}

#[test]
fn priority_then_age_and_default_allow() {
    let rules = [
        rule("h1", 10, "ip", "drop"),
        rule("h1", 20, "tcp,tp_dst=22", "allow"),
        rule("h1", 20, "tcp,nw_src=10.0.0.0/24", "drop"),
    ];
    let mut sim = sim_with(&rules);
    assert_eq!(sim.send(H1, &tcp(1, 2, 1, 22)).len(), 1, "the older of two priority-20 rules wins");
    assert!(sim.send(H1, &tcp(1, 2, 1, 23)).is_empty());
    assert!(sim.send(H1, &udp(1, 2, 1, 23)).is_empty());
    assert_eq!((rule_packets(&sim, 100).0, rule_packets(&sim, 101).0, rule_packets(&sim, 102).0), (1, 1, 1));
    // ARP matches nothing: allowed.
    let mut arp = tcp(1, 2, 1, 1);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(sim.send(H1, &arp).len(), 1);
}

#[test]
fn a_table_swap_reaches_the_next_batch_through_the_cache() {
    let mut sim = sim_with(&[rule("h1", 10, "tcp", "drop")]);
    for _ in 0..3 {
        assert!(sim.send(H1, &tcp(1, 2, 1, 2)).is_empty());
    }
    let c = sim.pipeline.counters().snapshot();
    assert_eq!((c.flow_cache_misses, c.flow_cache_hits), (1, 2));
    sim.set_flows(&[(7, rule("h1", 10, "udp", "drop"))]).unwrap();
    assert_eq!(sim.send(H1, &tcp(1, 2, 1, 2)).len(), 1, "the cached verdict of the old plan is gone");
    assert_eq!(sim.pipeline.counters().snapshot().flow_cache_misses, 2);
    sim.set_flows(&[]).unwrap();
    assert!(sim.plan.flows.is_none());
}

#[test]
fn compile_errors_name_the_rule() {
    let mut sim = SwitchSim::new(&spec()).unwrap();
    let e = sim.set_flows(&[(3, rule("nope", 1, "any", "drop"))]).unwrap_err();
    assert_eq!(e.0, "rule 3: table: no port named \"nope\"");
    let e = sim.set_flows(&[(3, rule("h1", 1, "any", "output:x"))]).unwrap_err();
    assert!(e.0.contains("output: no port named"), "{e}");
    let e = sim.set_flows(&[(3, rule("h1", 1, "tcp,tp_src=1-65534,tp_dst=1-65534", "drop"))]).unwrap_err();
    assert!(e.0.contains("at most 256"), "{e}");
    let e = sim.set_flows(&[(3, rule("h1", 1, "any", "drop")), (3, rule("h2", 1, "any", "drop"))]).unwrap_err();
    assert!(e.0.contains("twice"), "{e}");
}

#[test]
fn trace_shows_the_rule_at_the_received_index() {
    let mut sim = sim_with(&[rule("h1", 10, "tcp,tp_dst=1", "drop"), rule("h1", 5, "any", "mirror:h3")]);
    sim.inject(H1, &tcp(1, 2, 9, 1));
    sim.inject(H1, &tcp(1, 2, 9, 2));
    let mut log = TraceLog::default();
    sim.run_observed(&mut log);
    assert!(log.events.contains(&(0, TraceEvent::Rule { id: 100 })));
    assert!(log.events.contains(&(0, TraceEvent::Dropped(DropReason::AclDrop))));
    assert!(log.events.contains(&(1, TraceEvent::Rule { id: 101 })));
    assert!(log.events.contains(&(1, TraceEvent::Mirrored { port: H3 })));
    // Frame 1 is at index 0 of what the L2 path saw: its events must say 1.
    assert!(log.events.iter().any(|(i, e)| *i == 1 && matches!(e, TraceEvent::LookupHit { .. })));
    assert!(!log.events.iter().any(|(i, e)| *i == 0 && matches!(e, TraceEvent::LookupHit { .. })));
}

/// Pieces of matches, combined at random; combinations the language
/// refuses (a port without a protocol) are skipped.
fn arb_match() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("tcp".to_string()),
        Just("udp".to_string()),
        Just("ip".to_string()),
        (0u8..4, prop::sample::select(vec![24u8, 30, 31, 32])).prop_map(|(a, l)| format!("nw_src=10.0.0.{a}/{l}")),
        (0u8..4).prop_map(|a| format!("nw_dst=10.0.0.{a}")),
        (0u16..4, 0u16..4).prop_map(|(a, b)| format!("tp_dst={}-{}", a.min(b), a.max(b))),
        (0u16..4).prop_map(|a| format!("tp_src={a}")),
        (0u8..4).prop_map(|a| format!("dl_src=02:00:00:00:00:0{a}")),
        Just("dl_dst=01:00:00:00:00:00/01:00:00:00:00:00".to_string()),
        Just("tcp,tcp_flags=+syn".to_string()),
        prop::sample::select(vec![10u16, 20]).prop_map(|v| format!("vlan={v}")),
    ];
    prop::collection::vec(piece, 0..3).prop_map(|p| p.join(","))
}

proptest! {
    /// For arbitrary rules and frames, the pipeline (cache and classifier)
    /// picks the rule the linear reference picks, batch after batch.
    #[test]
    fn cache_and_classifier_agree_with_the_reference(
        rules in prop::collection::vec((arb_match(), 0u16..3, any::<bool>()), 1..12),
        frames in prop::collection::vec((0u8..4, 0u8..4, 0u16..4, 0u16..4, any::<bool>(), any::<bool>()), 1..40),
    ) {
        let rules: Vec<FlowRule> = rules.iter().filter_map(|(m, p, drop)| {
            Some(FlowRule {
                table: FlowTable::Ingress("trunk".into()),
                priority: *p,
                matches: m.parse().ok()?,
                actions: if *drop { "drop" } else { "allow" }.parse().unwrap(),
            })
        }).collect();
        prop_assume!(!rules.is_empty());
        let ids: Vec<(u32, FlowRule)> = rules.iter().cloned().enumerate().map(|(i, r)| (i as u32, r)).collect();
        let mut sim = SwitchSim::new(&spec()).unwrap();
        sim.set_flows(&ids).unwrap();
        let flows = sim.plan.flows.clone().unwrap();
        let table = &flows.tables()[0];
        let mut expect = vec![0u64; rules.len()];
        // Twice over: the second round mostly hits the cache.
        for _ in 0..2 {
            for &(src, dst, sport, dport, is_tcp, vlan20) in &frames {
                let mut f = if is_tcp { tcp(src, dst, sport, dport) } else { udp(src, dst, sport, dport) };
                if vlan20 {
                    f.splice(12..12, [0x81, 0x00, 0x00, 20]);
                }
                let key = FlowKey::extract(&f, TRUNK, 10, table.index, crate::flow::key::Depth::L4);
                if let Some(r) = classifier::linear(&table.entries, &key) {
                    expect[r as usize] += 1;
                }
                sim.inject(TRUNK, &f);
            }
            sim.run();
            sim.take_all_tx();
        }
        let got: Vec<u64> = (0..rules.len()).map(|i| sim.pipeline.counters().rules[i].packets.get()).collect();
        prop_assert_eq!(got, expect);
        prop_assert_eq!(sim.io.chunks_in_use(), 0);
    }
}
