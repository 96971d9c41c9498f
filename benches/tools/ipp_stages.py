#!/usr/bin/env python3
"""Per-stage instruction counts from a callgrind profile of `ipp`.

    python3 benches/tools/ipp_stages.py CALLGRIND_OUT BINARY PACKETS

The profile must be recorded with `--dump-instr=yes` (scripts/ipp.sh does).
Each instruction's self cost is attributed to a pipeline stage by walking its
inlining chain (addr2line -i), innermost frame first, and taking the first
frame that names a known stage or component. The stages are inlined into one
big function, so callgrind_annotate alone cannot separate them.

Exceptions, for the overlay plan's lookups, which are hash-map lookups whose
innermost frames (hashbrown) would otherwise be labelled as the FDB writer's
HashMap bookkeeping: a PRIORITY pattern wins wherever it is in the chain; and
an instruction of an out-of-line function that a CALLER_CONTEXT entry names
takes that entry's label when the profile shows the function called from a
caller the entry names.

Instructions of a function that is not inlined and names no stage are
labelled "other: <function>".
"""
import collections
import re
import subprocess
import sys

# (regex on a demangled frame name, label). Checked over the whole inlining
# chain before PATTERNS, pattern by pattern: the first pattern that matches
# any frame of the chain wins.
OVERLAY_LOOKUPS = "overlay: plan lookups (VTEP, VNI/source maps, tunnel, next hop)"
IPIP_DISPATCH = "encap: IP-in-IP gateway_send (EtherType, gateway MAC)"
ACL_CLASSIFIER = "acl: classifier (TSS subtable probes, on a flow-cache miss)"
PRIORITY = [
    # The flow rules' tuple space search: FxHashMap (hashbrown) probes,
    # inlined into Classifier::lookup; without this they would be labelled
    # as the FDB writer's HashMap bookkeeping.
    (r"flow::classifier::", ACL_CLASSIFIER),
    # IP-in-IP's longest-prefix match over the routes, inlined into the
    # gateway's route(): a lookup of the plan, but its own line.
    (r"overlay::plan::OverlayPlan::route\b", "encap: IP-in-IP route lookup (OverlayPlan::route)"),
    (r"overlay::plan::", OVERLAY_LOOKUPS),
]

# (regex on callgrind's name of an out-of-line function, regex on the name
# of a caller of it, label).
CALLER_CONTEXT = [
    (r"hashbrown|HashMap", r"flow::classifier::", ACL_CLASSIFIER),
    # FlowKey::extract calls EthernetFrame::src_addr out of line; the flow
    # cache's and the classifier's 64-byte key compares are libc memcmp.
    (r"EthernetFrame<T>::src_addr", r"flow::key::", "acl: flow key, EthernetFrame::src_addr (out of line)"),
    (r"memcmp|bcmp", r"pipeline::acl::|flow::(cache|classifier)::", "acl: 64-byte key compares (libc memcmp)"),
    (r"hashbrown|HashMap", r"overlay::plan::|pipeline::(decap|encap)::", OVERLAY_LOOKUPS),
    # The gateway's test of the frame's destination MAC (gateway_send, inlined
    # into send_tunnel) calls EthernetFrame::dst_addr out of line.
    (r"EthernetFrame<T>::dst_addr", r"pipeline::encap::EncapTx<IO>::send_tunnel", IPIP_DISPATCH),
    # udp::encap (inlined into send_tunnel) copies a Geneve template's
    # options, past the fixed 50 bytes, with a slice copy: libc's memcpy.
    (r"memcpy", r"pipeline::encap::EncapTx<IO>::send_tunnel", "encap: Geneve options copy (udp::encap, libc memcpy)"),
]

# (regex on a demangled frame name, label). Checked per frame, innermost
# frame first; within a frame, the first matching pattern wins.
PATTERNS = [
    # Flow rules (flow/, pipeline/acl.rs), on a plan with rules. The wire
    # views' checks inlined into FlowKey::extract have no pattern of their
    # own, so they count as the key extraction.
    (r"flow::key::FlowKey::masked", "acl: FlowKey::masked (key & table mask)"),
    (r"flow::key::", "acl: flow key extraction (FlowKey::extract)"),
    (r"flow::cache::", "acl: flow cache (hash, get, put on a miss)"),
    (r"flow::plan::", "acl: FlowPlan lookups (ingress_table, rule)"),
    (r"pipeline::acl::", "acl: ingress pass (per-frame loop, counters, compaction)"),
    (r"pipeline::with_rules", "acl: with_rules (per-batch glue)"),
    # Overlay: the sending side (pipeline/encap/), for frames to a tunnel port.
    (r"pipeline::encap::udp::(InnerFlow|ipv4_words|ipv6_words|hash_words|load_le|source_port)\b", "encap: inner flow hash and TOS"),
    (r"pipeline::encap::udp::", "encap: outer headers from the template (udp::encap)"),
    # IP-in-IP (pipeline/encap/ipip.rs), for frames the L2 path sends to a
    # gateway port: methods of EncapTx there are named
    # `ipip::<impl ...EncapTx<IO>>::name`.
    (r"pipeline::encap::ipip::encap\b", "encap: IP-in-IP headers, inner TTL (ipip::encap)"),
    (r"pipeline::encap::ipip::.*::route\b", "encap: IP-in-IP route() (inner IPv4 checks, TTL, MTU)"),
    (r"pipeline::encap::ipip::", IPIP_DISPATCH),
    (r"EncapTx<.*> as switch_core::port::PortTx>::send\b", "encap: EncapTx::send (tunnel-port check)"),
    (r"pipeline::encap::EncapTx<IO>::(send_tunnel|encap)\b", "encap: send_tunnel (tunnel, next hop, counters)"),
    (r"pipeline::encap::", "encap: EncapTx (per-batch set-up, rest)"),
    # Overlay: the underlay stage (pipeline/decap/), for frames of a VTEP's port.
    (r"pipeline::decap::udp::check_inner", "decap: inner frame checks"),
    (r"pipeline::decap::(udp|vxlan|geneve)::", "decap: UDP and VXLAN headers, VNI, source VTEP"),
    (r"pipeline::decap::ipv4\b", "decap: outer IPv4 checks (incl. header checksum)"),
    (r"pipeline::decap::underlay_pass", "decap: underlay pass (loop, counters)"),
    (r"pipeline::decap::defer", "decap: defer (the L2 loop sets the frame aside)"),
    (r"pipeline::decap::", "decap: underlay dispatch (VTEP, Ethernet header)"),
    (r"pipeline::overlay_batch", "overlay batch (EncapTx setup, underlay pass call)"),
    # FDB writer (learn case: runs inside the measured function).
    (r"FdbTable::upsert", "writer: FdbTable::upsert"),
    (r"hash_one|DefaultHasher|sip::|hashbrown|HashMap", "writer: std HashMap (SipHash) bookkeeping"),
    (r"FdbWriter", "writer: FdbWriter drain/apply (rest)"),
    (r"ArrayQueue|LearnQueue", "learn queue (crossbeam ArrayQueue push/pop)"),
    # Learning.
    (r"LearnCache::(learn_slow|learn_table_first|fresh_on)|pipeline::learn::(report|learn)\b", "learn: shared-table check, event push"),
    (r"LearnCache::(probe|learn)\b|pipeline::learn::run", "learn: learn-cache probe"),
    (r"pipeline::prefetch::|FdbTable::prefetch|xvs_mem::prefetch", "prefetch (large tables)"),
    # Ingress.
    (r"pipeline::parse::", "parse"),
    (r"pipeline::classify::", "classify"),
    # Egress.
    (r"pipeline::forward::", "forward (dst lookup)"),
    (r"output::apply_egress_tag", "output: apply_egress_tag"),
    (r"pipeline::output::drop_desc", "reject path (drop_desc: drop, or defer an underlay frame)"),
    (r"pipeline::output::flood", "output: flood replication"),
    (r"MemIo::port_stats_mut|MemIo as switch_core::port::PortTx>::send", "MemIo::send (in-memory backend tx)"),
    (r"MemIo as switch_core::port::FramePool>::(release|alloc|copy_frame)", "MemIo alloc/release/copy_frame"),
    (r"MemIo as switch_core::port::FramePool>::", "MemIo frame access (rx side of FramePool)"),
    (r"pipeline::output::", "output (dispatch, egress tag lookup)"),
    # Glue.
    (r"pipeline::ingress", "ingress glue (frame bounds, scratch)"),
    (r"pipeline::(egress|finish)", "finish glue"),
    (r"arc_swap", "FDB snapshot load (arc-swap cache, per batch)"),
    (r"Pipeline::process|pipeline::process_(in_cache|prefetched)", "process (pass loops, per-batch counters, cache sync)"),
    # The per-frame glue of the L2 path, inlined into the pass loops above
    # (and so labelled like them), and into the underlay pass for the inner
    # frames of decapsulated packets.
    (r"pipeline::(one_in_cache|rest_in_cache|classified_or_dropped|classified|classify_into)\b",
     "process (pass loops, per-batch counters, cache sync)"),
]


def self_costs(path):
    """Self Ir per instruction address, callgrind's function name per address,
    and the callers of each function the profile records calls to."""
    positions = None
    last = [0, 0]
    skip_call_line = False
    names = {}
    cur_fn = "?"
    costs = collections.Counter()
    fn_of = {}
    callers = collections.defaultdict(set)

    def sub(tok, i):
        if tok == "*":
            return last[i]
        if tok[0] in "+-":
            return last[i] + int(tok, 0)
        return int(tok, 0)

    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("positions:"):
            positions = line.split()[1:]
            continue
        if line.startswith(("fn=", "cfn=")):
            key, _, rest = line.partition("=")
            m = re.match(r"\((\d+)\)(?: (.*))?", rest)
            name = rest
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                name = names.get(m.group(1), "?")
            if key == "fn":
                cur_fn = name
            else:
                callers[name].add(cur_fn)
            continue
        if line.startswith("calls="):
            skip_call_line = True
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            continue
        if positions is None or "instr" not in positions:
            sys.exit("profile has no instruction positions: record with --dump-instr=yes")
        toks = line.split()
        n = len(positions)
        vals = [sub(toks[i], i) for i in range(n)]
        last[:n] = vals
        if skip_call_line:  # inclusive cost of a call, not self cost
            skip_call_line = False
            continue
        costs[vals[0]] += int(toks[n]) if len(toks) > n else 0
        fn_of[vals[0]] = cur_fn
    return costs, fn_of, callers


def inline_chains(binary, addrs):
    out = subprocess.run(
        ["addr2line", "-a", "-i", "-f", "-C", "-e", binary] + [hex(a) for a in addrs],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    chains, cur, i = {}, None, 0
    while i < len(out):
        if out[i].startswith("0x"):
            cur = int(out[i], 16)
            chains[cur] = []
            i += 1
        else:
            chains[cur].append(out[i])
            i += 2  # skip the file:line line
    return chains


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, binary, packets = sys.argv[1], sys.argv[2], int(sys.argv[3])
    costs, fn_of, callers = self_costs(path)
    chains = inline_chains(binary, sorted(costs))
    agg = collections.Counter()
    for addr, c in costs.items():
        label = None
        fn = fn_of.get(addr, "?")
        for fn_pat, caller_pat, name in CALLER_CONTEXT:
            if re.search(fn_pat, fn) and any(re.search(caller_pat, k) for k in callers.get(fn, ())):
                label = name
                break
        # Pattern by pattern, each over the whole chain: the first pattern
        # that matches any frame wins (OverlayPlan::route's inlined helpers,
        # e.g. prefix_mask, are overlay::plan:: frames too).
        for pat, name in [] if label else PRIORITY:
            if any(re.search(pat, frame) for frame in chains.get(addr, [])):
                label = name
                break
        for frame in [] if label else chains.get(addr, []):
            for pat, name in PATTERNS:
                if re.search(pat, frame):
                    label = name
                    break
            if label:
                break
        if label is None:
            label = "other: " + fn_of.get(addr, "?")
        agg[label] += c
    total = sum(agg.values())
    print(f"{'stage / component':58s} {'Ir':>12s} {'Ir/pkt':>8s} {'share':>6s}")
    for k, v in agg.most_common():
        if v / packets < 0.05:
            continue
        print(f"{k[:58]:58s} {v:12d} {v / packets:8.1f} {100 * v / total:5.1f}%")
    print(f"{'total':58s} {total:12d} {total / packets:8.1f}")


if __name__ == "__main__":
    main()
