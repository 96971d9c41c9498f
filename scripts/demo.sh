#!/usr/bin/env bash
# The demo: builds xvs, puts 4 hosts in network namespaces on 2 VLANs,
# starts the switch with its embedded default config, and shows traffic
# crossing it (and not crossing between VLANs). Tears everything down on
# exit, including Ctrl-C.
#
#   scripts/demo.sh            # run the demo and exit
#   scripts/demo.sh --hold     # keep it running until Ctrl-C
#
#        VLAN 10                     VLAN 20
#   h1 10.0.0.1  h2 10.0.0.2     h3 10.0.0.3  h4 10.0.0.4
#      |            |               |            |
#    xvs-h1       xvs-h2          xvs-h3       xvs-h4   (AF_XDP ports)
#      +------------+------ xvs ----+------------+
set -euo pipefail
cd "$(dirname "$0")/.."

HOLD=0
[[ "${1:-}" == "--hold" ]] && HOLD=1
if [[ $(id -u) -ne 0 ]]; then
    echo "demo.sh: run as root (namespaces, veth, AF_XDP)" >&2
    exit 1
fi

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
XVS=target/release/xvs
SOCK=/run/xvs/xvs.sock
HOSTS=(1 2 3 4)
XVS_PID=

cleanup() {
    set +e
    if [[ -n "$XVS_PID" ]] && kill -0 "$XVS_PID" 2>/dev/null; then
        kill -TERM "$XVS_PID"
        wait "$XVS_PID" 2>/dev/null
    fi
    for i in "${HOSTS[@]}"; do
        ip netns del "xvs-demo-h$i" 2>/dev/null
        ip link del "xvs-h$i" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "installing what is missing and building (release)"
scripts/install-deps.sh
cargo build --release --locked -p xvs-control --bin xvs

bold "topology: 4 hosts in namespaces, 2 VLANs"
cleanup
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for i in "${HOSTS[@]}"; do
    ns="xvs-demo-h$i"
    ip netns add "$ns"
    ip link add "xvs-h$i" type veth peer name eth0 netns "$ns"
    ip link set "xvs-h$i" up
    ip -n "$ns" link set eth0 address "02:00:00:00:00:0$i"
    ip -n "$ns" addr add "10.0.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    # TCP through a userspace switch needs real checksums, not veth offload.
    ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null
    vlan=$(( i <= 2 ? 10 : 20 ))
    echo "  h$i: 10.0.0.$i  02:00:00:00:00:0$i  -> port xvs-h$i (access VLAN $vlan)"
done

bold "starting xvs with the embedded default config (xvs run)"
RUST_LOG=${RUST_LOG:-info} "$XVS" run >/tmp/xvs-demo.log 2>&1 &
XVS_PID=$!
for _ in $(seq 50); do
    "$XVS" stats --socket "$SOCK" >/dev/null 2>&1 && break
    kill -0 "$XVS_PID" 2>/dev/null || { cat /tmp/xvs-demo.log; exit 1; }
    sleep 0.1
done
grep -E "INFO" /tmp/xvs-demo.log | sed 's/^/  /'

try_ping() { # from to expect
    local from=$1 to=$2 expect=$3 out
    if out=$(ip netns exec "xvs-demo-h$from" ping -c 3 -i 0.2 -W 1 "10.0.0.$to" 2>&1); then
        got=ok
    else
        got=fail
    fi
    local summary
    summary=$(echo "$out" | grep -E "packets transmitted" || true)
    if [[ $got == "$expect" ]]; then
        printf '  h%s -> h%s: %-4s (expected %-4s) %s\n' "$from" "$to" "$got" "$expect" "$summary"
    else
        printf '  h%s -> h%s: %-4s (EXPECTED %s) %s\n' "$from" "$to" "$got" "$expect" "$summary"
        FAILED=1
    fi
}

FAILED=0
bold "ping within a VLAN works"
try_ping 1 2 ok
try_ping 3 4 ok
bold "ping across VLANs fails (same subnet, different VLAN: ARP never crosses)"
try_ping 1 3 fail
try_ping 2 4 fail

bold "xvs fdb show"
"$XVS" fdb show --socket "$SOCK"
bold "xvs port list"
"$XVS" port list --socket "$SOCK"
bold "xvs stats"
"$XVS" stats --socket "$SOCK"

if ((HOLD)); then
    bold "holding: try 'ip netns exec xvs-demo-h1 ping 10.0.0.2' or 'target/release/xvs fdb show'; Ctrl-C to stop"
    wait "$XVS_PID"
fi

if ((FAILED)); then
    bold "demo: UNEXPECTED RESULT (log: /tmp/xvs-demo.log)"
    exit 1
fi
bold "demo: all as expected; tearing down"
