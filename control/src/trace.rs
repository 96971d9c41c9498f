//! `xvs trace`: the path of one frame through the pipeline, stage by stage,
//! in the manner of `ovs-appctl ofproto/trace`.
//!
//! The frame runs through the same stage code as on a live worker, with a
//! recording observer instead of the no-op one. The FDB starts with the
//! config's static entries; `--warmup PORT=FILE` replays captures first so
//! the trace sees a learned table.

use serde_json::json;
use std::sync::Arc;
use switch_core::bridge::plan::IngressRule;
use switch_core::bridge::EgressTag;
use switch_core::fdb::LearnOutcome;
use switch_core::pipeline::trace::FloodCause;
use switch_core::pipeline::{TraceEvent, TraceLog};

use switch_core::bridge::ForwardingPlan;
use switch_core::fdb::{FdbTable, LearnQueue};
use switch_core::pipeline::{Batch, Pipeline, PipelineSettings, WorkerCounters};
use switch_core::port::memory::MemIo;
use switch_core::sim::SIM_HEADROOM;
use switch_core::{Nanos, PortId};
use xvs_config::Config;

use crate::replay::{drive, load_inputs, ReplayError, ReplayInput};
use crate::views::port_name;

/// The result of a trace: readable lines, a JSON form, and the frames sent.
#[derive(Debug)]
pub struct TraceReport {
    /// One line per step, for people.
    pub lines: Vec<String>,
    /// Steps and verdict, for tools.
    pub json: serde_json::Value,
    /// (port name, frame bytes) as transmitted.
    pub outputs: Vec<(String, Vec<u8>)>,
}

/// Parses hex, ignoring spaces, colons and a leading `0x`.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s.trim().trim_start_matches("0x").chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    if !clean.len().is_multiple_of(2) {
        return Err("hex frame has an odd number of digits".into());
    }
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).map_err(|_| format!("not hex: {:?}", &clean[i..i + 2])))
        .collect()
}

/// Traces `frame` arriving on `in_port`.
pub fn trace(config: &Config, in_port: &str, frame: &[u8], warmup: &[ReplayInput]) -> Result<TraceReport, ReplayError> {
    let mut sim = crate::replay::sim_for(config, 1024)?;
    let frames = load_inputs(&sim, warmup)?;
    drive(&mut sim, &frames, |_, _| {});
    if let Some(last) = frames.last() {
        sim.now = switch_core::Nanos(last.ts.as_nanos() as u64);
    }
    let port = sim.plan.port_id(in_port).ok_or_else(|| ReplayError::UnknownPort {
        port: in_port.to_string(),
        known: sim.plan.ports.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
    })?;
    let mut log = TraceLog::default();
    sim.inject(port, frame);
    sim.run_observed(&mut log);
    let outputs: Vec<(String, Vec<u8>)> =
        sim.take_all_tx().into_iter().map(|(p, f)| (port_name(&sim.plan, p.index()), f)).collect();
    Ok(report(&sim.plan, port, frame, &log, outputs))
}

/// Traces `frame` arriving on `in_port` of a running switch, on the
/// control thread: through a detached copy of its plan (so a traced ARP
/// reply cannot change the next hops the workers use) and its FDB as it is
/// now, read-only (the trace's learn events go to a queue of its own and
/// are dropped). The workers are not involved.
pub fn trace_live(
    plan: &ForwardingPlan,
    fdb: &FdbTable,
    aging_secs: u32,
    now: Nanos,
    in_port: &str,
    frame: &[u8],
) -> Result<TraceReport, String> {
    let port = plan.port_id(in_port).ok_or_else(|| {
        let known: Vec<&str> = plan.ports.iter().map(|p| p.name.as_str()).collect();
        format!("in_port: no port named {in_port:?} (ports: {})", known.join(", "))
    })?;
    let max = plan.ports[port.index()].max_frame;
    if frame.len() > usize::from(max) {
        return Err(format!("frame: {} bytes is more than port {in_port} receives ({max}: its MTU + 18)", frame.len()));
    }
    let plan = plan.detached();
    let queue = Arc::new(LearnQueue::new(64));
    let mut pipeline =
        Pipeline::new(PipelineSettings::for_aging(aging_secs), queue, Arc::new(WorkerCounters::default()));
    // Room for one copy per port when the frame floods.
    let mut io = MemIo::new(plan.ports.len(), plan.ports.len() + 16, SIM_HEADROOM);
    if frame.len() < 14 || !io.inject(port, frame) {
        return Err(format!("frame: {} bytes cannot be a received Ethernet frame", frame.len()));
    }
    let mut batch = Batch::new();
    io.fill_batch(&mut batch, 1);
    let mut log = TraceLog::default();
    pipeline.process(&plan, fdb, &mut batch, &mut io, now, &mut log);
    let mut outputs = Vec::new();
    for p in 0..plan.ports.len() {
        let name = port_name(&plan, p);
        outputs.extend(io.take_tx(PortId(p as u16)).into_iter().map(|f| (name.clone(), f)));
    }
    Ok(report(&plan, port, frame, &log, outputs))
}

/// The trace's lines, JSON and verdict, from what the observer recorded and
/// what left the switch.
fn report(
    plan: &ForwardingPlan,
    port: PortId,
    frame: &[u8],
    log: &TraceLog,
    outputs: Vec<(String, Vec<u8>)>,
) -> TraceReport {
    let in_port = port_name(plan, port.index());
    let mut lines = vec![format!("Frame: {} bytes received on port {}", frame.len(), in_port)];
    let mut steps = Vec::new();
    for (_, ev) in &log.events {
        let (stage, text) = describe(plan, port, ev);
        lines.push(format!("  {stage:<9} {text}"));
        steps.push(json!({"stage": stage, "detail": text}));
    }
    // The frame's own copies: outputs to real ports, and what the encap
    // stage sent on (a send to a tunnel or gateway port is followed by its
    // outcome). Anything else the capture holds the switch sent itself (an
    // ARP request for an unresolved next hop, an ICMP answer).
    let first_tunnel = plan.first_tunnel;
    let own: Vec<String> = log
        .events
        .iter()
        .filter_map(|(_, e)| match *e {
            TraceEvent::Output { port, .. } if port.0 < first_tunnel => Some(port_name(plan, port.index())),
            TraceEvent::Encapsulated { port, .. } => Some(port_name(plan, port.index())),
            _ => None,
        })
        .collect();
    let last_drop =
        log.events.iter().rev().find_map(|(_, e)| if let TraceEvent::Dropped(r) = e { Some(*r) } else { None });
    let flooded = log.events.iter().any(|(_, e)| matches!(e, TraceEvent::Flood(_)));
    let mut verdict = match (own.len(), last_drop) {
        (0, Some(r)) => format!("dropped: {}", r.name()),
        (0, None) if outputs.is_empty() => "dropped".to_string(),
        (0, None) => "consumed by the switch".to_string(),
        (1, _) if !flooded => format!("forwarded to {}", own[0]),
        (n, _) => format!("flooded to {n} port(s): {}", own.join(", ")),
    };
    if outputs.len() > own.len() {
        let extra = outputs.len() - own.len();
        verdict.push_str(&format!(" (and {extra} frame(s) the switch sent itself, e.g. ARP for a next hop)"));
    }
    lines.push(format!("Verdict: {verdict}"));
    let json = json!({
        "in_port": in_port,
        "frame_len": frame.len(),
        "steps": steps,
        "verdict": verdict,
        "outputs": outputs.iter().map(|(p, f)| json!({"port": p, "len": f.len(), "hex": hex(f)})).collect::<Vec<_>>(),
    });
    TraceReport { lines, json, outputs }
}

/// Lower-case hex without separators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn tag_text(tag: EgressTag) -> String {
    match tag {
        EgressTag::NotMember => "not a member".into(),
        EgressTag::Untagged => "untagged".into(),
        EgressTag::Tagged { tpid, vid } => format!("tagged tpid 0x{tpid:04x} vid {vid}"),
    }
}

/// "VXLAN" or "Geneve".
fn encap_name(e: switch_core::overlay::Encap) -> &'static str {
    match e {
        switch_core::overlay::Encap::Vxlan => "VXLAN",
        switch_core::overlay::Encap::Geneve => "Geneve",
    }
}

fn describe(plan: &ForwardingPlan, in_port: PortId, ev: &TraceEvent) -> (&'static str, String) {
    match *ev {
        TraceEvent::Parsed { dst, src, ethertype, tci } => {
            let tag = match (ethertype, tci) {
                (0x8100 | 0x88a8, Some(t)) => format!(" tag 0x{ethertype:04x} vid {} pcp {}", t & 0xfff, t >> 13),
                _ => String::new(),
            };
            ("parse", format!("dst {dst} src {src} ethertype 0x{ethertype:04x}{tag}"))
        }
        TraceEvent::Classified { port, bd, tag_len } => {
            let mode = match plan.ports[port.index()].ingress {
                IngressRule::Tunnel { .. } => "dot1q-tunnel",
                IngressRule::Vlan { .. } => "vlan",
            };
            let how = if tag_len > 0 { "tag consumed" } else { "untagged" };
            (
                "classify",
                format!(
                    "port {} ({mode}, {how}) -> bridge domain {}",
                    plan.ports[port.index()].name,
                    plan.domain_name(bd)
                ),
            )
        }
        TraceEvent::Learned(o) => (
            "learn",
            match o {
                LearnOutcome::Known => "source known on this port".into(),
                LearnOutcome::Reported => "source new, moved or due for refresh: reported to the FDB writer".into(),
                LearnOutcome::QueueFull => "learn queue full: event lost".into(),
                LearnOutcome::StaticConflict => "source is a static MAC of another port".into(),
            },
        ),
        TraceEvent::LookupHit { port } => {
            ("forward", format!("destination learned on port {}", port_name(plan, port.index())))
        }
        TraceEvent::Flood(c) => (
            "forward",
            match c {
                FloodCause::Broadcast => "broadcast -> flood".into(),
                FloodCause::Multicast => "multicast -> flood".into(),
                FloodCause::UnknownUnicast => "destination unknown -> flood".into(),
            },
        ),
        TraceEvent::Output { port, tag } => match plan.overlay.as_deref().and_then(|ov| Some((ov, ov.tunnel(port)?))) {
            Some((ov, t)) => {
                let via = ov.vteps.get(t.vtep as usize).map_or_else(|| "?".into(), |v| port_name(plan, v.port.index()));
                let what = encap_name(t.encap);
                ("output", format!("tunnel port {}: {what} VNI {} to {} via port {via}", t.name, t.vni, t.remote))
            }
            None => ("output", format!("port {} {}", port_name(plan, port.index()), tag_text(tag))),
        },
        TraceEvent::Decapsulated { vni, tunnel } => {
            let ov = plan.overlay.as_deref();
            let what = match ov.and_then(|ov| ov.tunnel(tunnel)) {
                Some(t) => format!("{} VNI {vni} from {}", encap_name(t.encap), t.remote),
                None if ov.and_then(|ov| ov.gateway(tunnel)).is_some() => "IP-in-IP".to_string(),
                None => format!("VNI {vni}"),
            };
            ("decap", format!("{what}: inner frame received on port {}", port_name(plan, tunnel.index())))
        }
        TraceEvent::GeneveOption(o) => {
            let data: String = o.data().iter().map(|b| format!("{b:02x}")).collect();
            let cut = if usize::from(o.len) > o.data().len() {
                format!(" (first {} of {} bytes)", o.data().len(), o.len)
            } else {
                String::new()
            };
            ("decap", format!("Geneve option class {:#06x} type {:#04x}, data 0x{data}{cut}", o.class, o.option_type))
        }
        TraceEvent::Encapsulated { port, len } => {
            ("encap", format!("{len}-byte outer frame out of port {}", port_name(plan, port.index())))
        }
        TraceEvent::Answered { port } => {
            ("underlay", format!("for the VTEP: answered, out of port {}", port_name(plan, port.index())))
        }
        TraceEvent::Absorbed => ("underlay", "for the VTEP: nothing to answer, consumed".into()),
        TraceEvent::ArpAnswered { port } => (
            "arp",
            format!("ARP request for a known host answered on port {} (suppression)", port_name(plan, port.index())),
        ),
        TraceEvent::Rule { id } => {
            let text = plan.flows.as_deref().and_then(|f| f.source(id)).map_or_else(String::new, |r| format!(": {r}"));
            ("acl", format!("rule {id}{text}"))
        }
        TraceEvent::Mirrored { port } => ("acl", format!("copy sent to mirror port {}", port_name(plan, port.index()))),
        TraceEvent::RuleOutput { port } => {
            ("acl", format!("sent as received to port {}, not switched", port_name(plan, port.index())))
        }
        TraceEvent::Dropped(r) => {
            let _ = in_port;
            ("drop", format!("reason {}", r.name()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("0x01 02:ab").unwrap(), vec![1, 2, 0xab]);
        assert!(parse_hex("012").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
