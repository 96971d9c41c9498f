//! The ingress flow rules (ACL, SPAN), between rx and the L2 path: a pass
//! over the batch, only on a plan that has rules, for the frames of ports
//! that have a table. Each such frame's key is looked up in the worker's
//! flow cache, and on a miss in its table's classifier. A frame a rule
//! drops or outputs leaves the batch here; the rest are compacted to the
//! front and go on through the L2 path exactly as they came, so a port
//! without rules pays one table lookup per frame and nothing else.

use super::output::drop_frame;
use super::trace::{Observer, TraceEvent};
use super::{DropReason, PktDesc, WorkerCounters, MAX_BURST};
use crate::bridge::ForwardingPlan;
use crate::flow::{Action, FlowCache, FlowKey, FlowPlan};
use crate::port::{FramePool, PortTx, TxFrame};
use crate::types::PortId;

/// An observer seen through the compaction: the later stages number the
/// frames that stayed from 0, the trace by their place in the batch as
/// received.
pub(super) struct Reindexed<'a, O> {
    /// The caller's observer.
    pub obs: &'a mut O,
    /// Entry `k`: the received index of the frame now at `k`.
    pub orig: [u8; MAX_BURST],
}

impl<O: Observer> Observer for Reindexed<'_, O> {
    const ENABLED: bool = O::ENABLED;

    fn event(&mut self, pkt: usize, ev: TraceEvent) {
        let at = self.orig.get(pkt).map_or(pkt, |&o| o as usize);
        self.obs.event(at, ev);
    }
}

/// Runs the ingress rules over `frames`, keeps the frames that go on at
/// the front (their received indexes in `orig`) and returns how many.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn ingress<IO: FramePool + PortTx, O: Observer>(
    plan: &ForwardingPlan,
    flows: &FlowPlan,
    cache: &mut FlowCache,
    counters: &WorkerCounters,
    frames: &mut [PktDesc],
    io: &mut IO,
    obs: &mut O,
    orig: &mut [u8; MAX_BURST],
) -> usize {
    let mut kept = 0;
    let mut looked_up = Looked::default();
    for i in 0..frames.len().min(MAX_BURST) {
        let d = frames[i];
        if admit(plan, flows, cache, counters, &mut looked_up, i, &d, io, obs) {
            // Frames before the first removed one stay where they are.
            if kept != i {
                frames[kept] = d;
            }
            orig[kept] = i as u8;
            kept += 1;
        }
    }
    counters.flow_cache_hits.add(looked_up.hits);
    counters.flow_cache_misses.add(looked_up.misses);
    kept
}

/// The batch's flow cache hits and misses, counted once per batch.
#[derive(Default)]
struct Looked {
    hits: u64,
    misses: u64,
}

/// Frame `i`'s rule: true when it goes on to the L2 path.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn admit<IO: FramePool + PortTx, O: Observer>(
    plan: &ForwardingPlan,
    flows: &FlowPlan,
    cache: &mut FlowCache,
    counters: &WorkerCounters,
    looked_up: &mut Looked,
    i: usize,
    d: &PktDesc,
    io: &mut IO,
    obs: &mut O,
) -> bool {
    let Some(table) = flows.ingress_table(d.in_port) else { return true };
    // A frame that does not fit its buffer is parse's to drop.
    let Some(bytes) = io.frame(d.buf, d.head, d.len) else { return true };
    let key = FlowKey::extract(bytes, d.in_port, table.untagged_vlan, table.index, table.depth).masked(&table.used);
    let found = match cache.get(flows.generation, &key) {
        Some(found) => {
            looked_up.hits += 1;
            found
        }
        None => {
            looked_up.misses += 1;
            let found = table.classifier.lookup(&key);
            cache.put(flows.generation, &key, found);
            found
        }
    };
    let Some(rule) = found.and_then(|r| flows.rule(r)) else { return true };
    if let Some(c) = counters.rules.get(rule.id as usize) {
        c.packets.add(1);
        c.bytes.add(d.len as u64);
    }
    if O::ENABLED {
        obs.event(i, TraceEvent::Rule { id: rule.id });
    }
    if let Some(port) = rule.mirror {
        mirror(plan, counters, i, d, port, io, obs);
    }
    match rule.action {
        Action::Allow => true,
        Action::Drop => {
            drop_frame(io, counters, obs, i, d.buf, DropReason::AclDrop);
            false
        }
        Action::Output(port) => {
            match fits(plan, d, port) {
                Ok(()) => {
                    if O::ENABLED {
                        obs.event(i, TraceEvent::RuleOutput { port });
                    }
                    counters.flow_outputs.add(1);
                    io.send(port, TxFrame { buf: d.buf, head: d.head, len: d.len });
                }
                Err(reason) => drop_frame(io, counters, obs, i, d.buf, reason),
            }
            false
        }
    }
}

/// Whether frame `d` may leave unchanged on `port`: not back where it came
/// from (as the L2 path, and OpenFlow's `output`, never do), and within
/// the port's frame limit.
#[inline(always)]
fn fits(plan: &ForwardingPlan, d: &PktDesc, port: PortId) -> Result<(), DropReason> {
    if port == d.in_port {
        return Err(DropReason::SameSegment);
    }
    match plan.ports.get(port.index()) {
        Some(p) if d.len > p.max_frame => Err(DropReason::EgressTooBig),
        Some(_) => Ok(()),
        None => Err(DropReason::UnknownPort),
    }
}

/// Sends a copy of frame `d`, as received, to `port`. A copy that cannot
/// be made or sent is counted as a drop of its own; the frame goes on.
#[cold]
fn mirror<IO: FramePool + PortTx, O: Observer>(
    plan: &ForwardingPlan,
    counters: &WorkerCounters,
    i: usize,
    d: &PktDesc,
    port: PortId,
    io: &mut IO,
    obs: &mut O,
) {
    if let Err(reason) = fits(plan, d, port) {
        counters.drop(reason);
        return;
    }
    let Some(copy) = io.alloc() else {
        counters.drop(DropReason::NoBuffer);
        return;
    };
    io.copy_frame(d.buf, copy, d.head as usize, d.len as usize);
    if O::ENABLED {
        obs.event(i, TraceEvent::Mirrored { port });
    }
    counters.mirror_copies.add(1);
    io.send(port, TxFrame { buf: copy, head: d.head, len: d.len });
}
