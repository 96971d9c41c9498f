#!/usr/bin/env bash
# Instructions per packet of the in-memory dataplane, under callgrind.
#
#   bash scripts/ipp.sh                       all cases, 200000 packets each
#   PACKETS=50000 CASES="hit-1k learn" bash scripts/ipp.sh
#   CASES="hit-1k hit-1k-overlay encap-1k decap-1k" bash scripts/ipp.sh
#   CASES="encap-1k geneve-encap-1k ipip-encap-1k" bash scripts/ipp.sh
#   CASES=acl bash scripts/ipp.sh             only the flow-rule cases ($ACL_CASES, below)
#   CASES="hit-1k hit-1k-ip acl-hit-10 acl-hit-100 acl-hit-1k acl-hit-10k acl-miss-100 acl-miss-10k" PACKETS=50000 bash scripts/ipp.sh
#
# What is counted: every instruction executed inside `xvs_ipp_measured`
# (benches/src/bin/ipp.rs; `xvs_ipp_measured_overlay` for encap-1k,
# geneve-encap-1k, ipip-encap-1k and decap-1k) and its callees, i.e. per batch
# of 32 frames: the FDB snapshot load, Pipeline::process (parse, classify,
# learn, forward, output incl. MemIo's tx count/recycle; on a plan with an
# overlay also encapsulation or routing into IP-in-IP, and the underlay stage)
# and, for the learn case, the FDB writer's drain; on a plan with flow rules
# also the acl stage in front of the L2 path (flow key, flow cache, on a
# miss the classifier, the matched rule's counters, the batch's
# compaction). Setup, FDB prefill, compiling flow rules (for the
# overlay cases also the next hop's ARP reply and, except ipip-encap-1k, the
# remote MACs' learning packets), warm-up, frame generation and
# MemIo::inject/fill_batch are not counted (--toggle-collect). The L2 cases
# but flood check afterwards that every measured frame left on its
# destination's port, and nothing anywhere else; the overlay
# cases check afterwards that every measured frame left on the expected port,
# encapsulated (decapsulated), at the expected length, with nothing dropped,
# and parse one more (unmeasured) batch frame by frame; a case whose check
# fails exits non-zero.
#
# Cases: hit-1k hit-100k hit-1m learn flood (the L2 path); hit-1k-overlay
# (hit-1k's traffic on a plan that also has a VTEP and VNIs on other
# VLANs); encap-1k (known unicast to 1000 MACs behind a remote VTEP: every
# frame VXLAN-encapsulated); geneve-encap-1k (the same in Geneve with two
# options, 4 and 8 bytes of data); ipip-encap-1k (IPv4 from 1000 local hosts
# to the domain's gateway MAC, bound for a remote /24 behind an IP-in-IP
# route: every frame routed, TTL decremented, IP-in-IP-encapsulated);
# decap-1k (VXLAN from the remote VTEP to 1000 local hosts: every frame
# decapsulated, learned and forwarded).
#
# Flow-rule (ACL) cases, $ACL_CASES (see benches/src/acl.rs; in the default
# list, as they add about 10 s): hit-1k-ip (hit-1k's MACs, ports and
# draws, but every frame a real IPv4/TCP packet, one flow per source host;
# no rules: the baseline, which the L2 path runs exactly as hit-1k);
# acl-hit-N (hit-1k-ip with N rules in the ingress table of every port:
# N - 1 rules of five mask shapes -- dl_src, TCP/UDP 5-tuple, nw_src /16
# and /24, nw_dst /24 -- at various priorities, none matching the traffic,
# and a catch-all allow at priority 0; 6 subtables per table; after the
# warm-up every frame is a flow cache hit); acl-miss-N (the same, but every
# frame has a new TCP source port, so every frame misses the flow cache and
# probes all six subtables). Any N works (acl-hit-5k, acl-miss-1k...); the
# default list has N = 10, 100, 1k, 10k for hits and 100, 10k for misses.
# They check afterwards that every measured frame left on its destination's
# port, nothing was dropped, every frame matched a catch-all rule, and the
# flow cache hits (misses) equal the measured frames; the log
# ($OUT/<case>.log) has the rule and subtable counts.
#
# Output: a table on stdout; callgrind files, annotations and logs in
# target/ipp/.
set -euo pipefail

cd "$(dirname "$0")/.."
PACKETS=${PACKETS:-200000}
ACL_CASES=${ACL_CASES:-"hit-1k-ip acl-hit-10 acl-hit-100 acl-hit-1k acl-hit-10k acl-miss-100 acl-miss-10k"}
CASES=${CASES:-"hit-1k hit-100k hit-1m learn flood hit-1k-overlay encap-1k decap-1k geneve-encap-1k ipip-encap-1k $ACL_CASES"}
[ "$CASES" = acl ] && CASES=$ACL_CASES
OUT=${OUT:-target/ipp}
BIN=target/release/ipp

command -v valgrind >/dev/null || { echo "ipp.sh: valgrind not found" >&2; exit 1; }
cargo build --release -p xvs-benches --bin ipp >&2
mkdir -p "$OUT"

echo "FDB memory (native run, table sized for the default 1M max entries):"
"$BIN" mem
echo

# Columns: instructions counted, per packet, and per packet without the
# instructions spent inside the in-memory backend's FramePool/PortTx code
# (frame access, send, alloc, release, copy_frame; the "MemIo" lines of the
# per-stage breakdown), which a real port backend replaces with its own.
printf '%-16s %9s %13s %10s %16s\n' case packets instructions instr/pkt "excl. MemIo/pkt"
fail=0
for case in $CASES; do
    cg="$OUT/callgrind.$case.out"
    log="$OUT/$case.log"
    rm -f "$cg" "$OUT/stages.$case.txt"
    # --dump-instr=yes only adds per-instruction detail (for the per-stage
    # breakdown); it does not change the counts. Each case runs only one of
    # the two measured functions.
    if ! valgrind --tool=callgrind --toggle-collect=xvs_ipp_measured \
            --toggle-collect=xvs_ipp_measured_overlay --dump-instr=yes \
            --callgrind-out-file="$cg" "$BIN" "$case" "$PACKETS" >"$log" 2>&1; then
        echo "ipp.sh: $case failed, see $log" >&2
        fail=1
        continue
    fi
    pkts=$(sed -n 's/^measured_packets=//p' "$log")
    # "totals:" (or "summary:") holds the Ir total of the collected part.
    ir=$(awk '/^(totals|summary):/ { print $2; exit }' "$cg")
    if [ -z "$pkts" ] || [ -z "$ir" ]; then
        echo "ipp.sh: could not parse $log / $cg" >&2
        fail=1
        continue
    fi
    callgrind_annotate --inclusive=yes "$cg" >"$OUT/annotate-inclusive.$case.txt" 2>/dev/null || true
    callgrind_annotate "$cg" >"$OUT/annotate-self.$case.txt" 2>/dev/null || true
    excl="n/a"
    if command -v python3 >/dev/null && command -v addr2line >/dev/null \
            && python3 benches/tools/ipp_stages.py "$cg" "$BIN" "$pkts" >"$OUT/stages.$case.txt" 2>&1; then
        excl=$(awk -v i="$ir" -v p="$pkts" '/^MemIo/ { m += $(NF-2) } END { printf "%.1f", (i - m) / p }' "$OUT/stages.$case.txt")
    fi
    printf '%-16s %9d %13d %10.1f %16s\n' "$case" "$pkts" "$ir" "$(awk -v i="$ir" -v p="$pkts" 'BEGIN { print i / p }')" "$excl"
done
echo
echo "Per-function costs: $OUT/annotate-{inclusive,self}.<case>.txt"
echo "Per-stage costs:    $OUT/stages.<case>.txt"
if [ "${STAGES:-1}" = 1 ]; then
    for case in $CASES; do
        [ -s "$OUT/stages.$case.txt" ] || continue
        echo
        echo "== $case: instructions per packet by stage"
        cat "$OUT/stages.$case.txt"
    done
fi
exit $fail
