#!/usr/bin/env bash
# PEERS.md harness for the io-afxdp port set alone: xvs-gen on CPU0 ->
# veth -> l2fwd example (one worker, shared UMEM) on CPU1 -> veth -> XDP_DROP
# sink. Reports Mpps delivered at the sink per run.
#
# Where the kernel does the ingress veth work (skb -> XDP -> copy into the
# UMEM) decides the result more than anything in userspace. By default veth
# does it in softirq on the *sender's* CPU, so CPU0 pays for the generator
# and the switch's receive copy. INGRESS_NAPI_CPU=1 makes sw0's NAPI
# threaded and pins it to CPU1 (the forwarder's CPU) instead.
#
#   io-afxdp/scripts/bench-l2fwd.sh [SIZE] [DURATION] [RUNS]
#
# GEN_RATE=PPS paces the generator (default: as fast as it can).
set -euo pipefail
SIZE=${1:-64}
DURATION=${2:-5}
RUNS=${3:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS=xvsfwd$$

# BIN=dir uses prebuilt binaries; otherwise build (a no-op when up to date).
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p io-afxdp --bins --examples)
  BIN=$ROOT/target/release
fi

FWD=
cleanup() {
  [ -n "$FWD" ] && kill -INT "$FWD" 2>/dev/null && wait "$FWD" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true
  rm -f "/tmp/$NS.fwd.json" "/tmp/$NS.fwd.log"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link add gen0 type veth peer name sw0
ip -n "$NS" link add sw1 type veth peer name sink0
for d in gen0 sw0 sw1 sink0; do ip -n "$NS" link set "$d" up; done
ip netns exec "$NS" "$BIN/xvs-sink" attach sink0 --mode native >/dev/null
INGRESS_NAPI_CPU=${INGRESS_NAPI_CPU:-none}
ip netns exec "$NS" env XVS_IDLE_SPIN="${XVS_IDLE_SPIN:-}" "$BIN/examples/l2fwd" sw0 sw1 1 $((RUNS * (DURATION + 2) + 2)) > /tmp/$NS.fwd.json 2>/tmp/$NS.fwd.log &
FWD=$!
sleep 1.5
if [ "$INGRESS_NAPI_CPU" != none ]; then
  ip netns exec "$NS" sh -c 'echo 1 > /sys/class/net/sw0/threaded'
  # Note: on a 2-core box this starves one side or the other (a busy-polling
  # worker and the NAPI thread time-share CPU1); it is here to show that.
  for p in $(pgrep "^napi/sw0-"); do taskset -pc "$INGRESS_NAPI_CPU" "$p" >/dev/null; done
fi

drops() { ip netns exec "$NS" ethtool -S sink0 | awk '/rx_queue_0_xdp_drops/ {print $2}'; }
for r in $(seq "$RUNS"); do
  before=$(drops)
  out=$(ip netns exec "$NS" "$BIN/xvs-gen" --iface gen0 --cpu 0 --size "$SIZE" --duration "$DURATION" --flows 64 ${GEN_RATE:+--rate $GEN_RATE})
  after=$(drops)
  secs=$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
  sent=$(echo "$out" | sed -E 's/.*"sent":([0-9]+).*/\1/')
  awk -v s="$sent" -v d=$((after - before)) -v t="$secs" -v r="$r" -v z="$SIZE" \
    'BEGIN { printf "run %d size %d: offered %.3f Mpps, delivered %.3f Mpps\n", r, z, s/t/1e6, d/t/1e6 }'
  sleep 1
done
kill -INT "$FWD" 2>/dev/null || true
wait "$FWD" || true
FWD=
grep -v '^libbpf: elf' "/tmp/$NS.fwd.log" || true
cat "/tmp/$NS.fwd.json"
