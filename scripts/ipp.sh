#!/usr/bin/env bash
# Instructions per packet of the in-memory dataplane, under callgrind.
#
#   bash scripts/ipp.sh                       all cases, 200000 packets each
#   PACKETS=50000 CASES="hit-1k learn" bash scripts/ipp.sh
#   CASES="hit-1k hit-1k-overlay encap-1k decap-1k" bash scripts/ipp.sh
#   CASES="encap-1k geneve-encap-1k ipip-encap-1k" bash scripts/ipp.sh
#
# What is counted: every instruction executed inside `xvs_ipp_measured`
# (benches/src/bin/ipp.rs; `xvs_ipp_measured_overlay` for encap-1k,
# geneve-encap-1k, ipip-encap-1k and decap-1k) and its callees, i.e. per batch
# of 32 frames: the FDB snapshot load, Pipeline::process (parse, classify,
# learn, forward, output incl. MemIo's tx count/recycle; on a plan with an
# overlay also encapsulation or routing into IP-in-IP, and the underlay stage)
# and, for the learn case, the FDB writer's drain. Setup, FDB prefill (for the
# overlay cases also the next hop's ARP reply and, except ipip-encap-1k, the
# remote MACs' learning packets), warm-up, frame generation and
# MemIo::inject/fill_batch are not counted (--toggle-collect). The overlay
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
# Output: a table on stdout; callgrind files, annotations and logs in
# target/ipp/.
set -euo pipefail

cd "$(dirname "$0")/.."
PACKETS=${PACKETS:-200000}
CASES=${CASES:-"hit-1k hit-100k hit-1m learn flood hit-1k-overlay encap-1k decap-1k geneve-encap-1k ipip-encap-1k"}
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
