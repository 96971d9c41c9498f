#!/usr/bin/env bash
# Measures xvs-gen alone: veth pair g0 <-> s0 in a fresh netns, XDP_DROP sink
# on s0, xvs-gen on CPU0 for DURATION seconds, counts read from ethtool -S.
#
#   io-afxdp/scripts/bench-gen.sh [SIZE] [DURATION] [RUNS]
#
# By default the sink's NAPI runs threaded on CPU1 (NAPI_CPU=1), so CPU0
# carries only the sender: the copy-mode transmit path, in our process.
# NAPI_CPU=none keeps the kernel default, where veth processes the sink's
# receive in softirq on the sender's CPU and the two share CPU0.
# Everything created is removed on exit, also on error or Ctrl-C.
set -euo pipefail
SIZE=${1:-64}
DURATION=${2:-5}
RUNS=${3:-3}
NAPI_CPU=${NAPI_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS=xvsgen$$

# BIN=dir uses prebuilt binaries; otherwise build (a no-op when up to date).
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p io-afxdp --bins)
  BIN=$ROOT/target/release
fi

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link add g0 type veth peer name s0
ip -n "$NS" link set g0 up
ip -n "$NS" link set s0 up
ip netns exec "$NS" "$BIN/xvs-sink" attach s0 --mode native >/dev/null
if [ "$NAPI_CPU" != none ]; then
  ip netns exec "$NS" sh -c 'echo 1 > /sys/class/net/s0/threaded'
  for p in $(pgrep '^napi/s0-'); do taskset -pc "$NAPI_CPU" "$p" >/dev/null; done
fi

drops() { ip netns exec "$NS" ethtool -S s0 | awk '/rx_queue_0_xdp_drops/ {print $2}'; }
for r in $(seq "$RUNS"); do
  before=$(drops)
  out=$(ip netns exec "$NS" "$BIN/xvs-gen" --iface g0 --cpu "$GEN_CPU" --size "$SIZE" --duration "$DURATION")
  after=$(drops)
  secs=$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
  sent=$(echo "$out" | sed -E 's/.*"sent":([0-9]+).*/\1/')
  awk -v s="$sent" -v d=$((after - before)) -v t="$secs" -v r="$r" -v z="$SIZE" \
    'BEGIN { printf "run %d size %d: sent %.3f Mpps, delivered (rx_queue_0_xdp_drops) %.3f Mpps, %.2f%% delivered\n", r, z, s/t/1e6, d/t/1e6, 100*d/s }'
done
