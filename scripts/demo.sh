#!/usr/bin/env bash
# The demo: builds xvs, puts 4 hosts in network namespaces on 2 VLANs and
# a remote VTEP (the kernel's own vxlan device) on the underlay, starts the
# switch with its embedded default config, and shows traffic crossing it:
# within each VLAN, not between VLANs, and from VLAN 10 through a VXLAN
# tunnel to the kernel VTEP. Tears everything down on exit, including
# Ctrl-C.
#
#   scripts/demo.sh            # run the demo and exit
#   scripts/demo.sh --hold     # keep it running until Ctrl-C
#
#        VLAN 10                     VLAN 20
#   h1 10.0.0.1  h2 10.0.0.2     h3 10.0.0.3  h4 10.0.0.4
#      |            |               |            |
#    xvs-h1       xvs-h2          xvs-h3       xvs-h4   (AF_XDP ports)
#      +------------+------ xvs ----+------------+
#                            |  xvs-up 192.168.100.1 (VTEP, underlay port)
#                            |  VXLAN VNI 100 = VLAN 10
#                  remote 192.168.100.2: vx100 10.0.0.100 (kernel vxlan)
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
    ip netns del xvs-demo-remote 2>/dev/null
    ip link del xvs-up 2>/dev/null
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

bold "remote VTEP: the kernel's vxlan device, VNI 100, behind the underlay port"
ns=xvs-demo-remote
ip netns add "$ns"
# No IPv6 on the underlay: its ND/MLD chatter would only show up as drops.
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add xvs-up type veth peer name eth0 netns "$ns"
ip link set xvs-up up
ip -n "$ns" addr add 192.168.100.2/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up
ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null
ip -n "$ns" link add vx100 type vxlan id 100 local 192.168.100.2 remote 192.168.100.1 dstport 4789 dev eth0
ip -n "$ns" addr add 10.0.0.100/24 dev vx100
ip -n "$ns" link set vx100 up
echo "  remote: eth0 192.168.100.2 -> port xvs-up (underlay); vx100 10.0.0.100 (VNI 100, remote VTEP 192.168.100.1)"

bold "starting xvs with the embedded default config (xvs run)"
RUST_LOG=${RUST_LOG:-info} "$XVS" run >/tmp/xvs-demo.log 2>&1 &
XVS_PID=$!
for _ in $(seq 50); do
    "$XVS" stats --socket "$SOCK" >/dev/null 2>&1 && break
    kill -0 "$XVS_PID" 2>/dev/null || { cat /tmp/xvs-demo.log; exit 1; }
    sleep 0.1
done
grep -E "INFO" /tmp/xvs-demo.log | sed 's/^/  /'

try_ping() { # from to expect [namespace]
    local from=$1 to=$2 expect=$3 ns=${4:-xvs-demo-h$1} out
    if out=$(ip netns exec "$ns" ping -c 3 -i 0.2 -W 1 "10.0.0.$to" 2>&1); then
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

bold "VLAN 10 crosses VXLAN VNI 100 to the kernel's vxlan device"
# The first ARP resolves both VTEPs (xvs asks for the remote, the kernel
# asks for xvs); retry until the tunnel is up, then check.
for _ in $(seq 10); do
    ip netns exec xvs-demo-h1 ping -c 1 -W 1 10.0.0.100 >/dev/null 2>&1 && break
done
try_ping 1 100 ok
try_ping 2 100 ok
bold "...and VLAN 20 does not (the tunnel carries VLAN 10 only)"
try_ping 3 100 fail
bold "the kernel VTEP learned VLAN 10's hosts behind xvs (bridge fdb show dev vx100)"
ip netns exec xvs-demo-remote bridge fdb show dev vx100 | grep -v "^00:00:00:00:00:00" | sed 's/^/  /'
bold "the VTEP answers ping on the underlay"
try_ping_vtep() {
    if out=$(ip netns exec xvs-demo-remote ping -c 3 -i 0.2 -W 1 192.168.100.1 2>&1); then
        printf '  remote -> VTEP 192.168.100.1: ok   %s\n' "$(echo "$out" | grep -E "packets transmitted")"
    else
        printf '  remote -> VTEP 192.168.100.1: FAIL %s\n' "$out"
        FAILED=1
    fi
}
try_ping_vtep

bold "xvs fdb show"
"$XVS" fdb show --socket "$SOCK"
bold "xvs tunnel list"
"$XVS" tunnel list --socket "$SOCK"
bold "xvs port list"
"$XVS" port list --socket "$SOCK"
bold "xvs stats"
"$XVS" stats --socket "$SOCK"
bold "Prometheus metrics (metrics_listen = 127.0.0.1:9464; a few of them)"
# bash's /dev/tcp, so the demo needs no curl.
if exec 3<>/dev/tcp/127.0.0.1/9464; then
    printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    grep -E '^xvs_(port_receive_packets_total|vni_packets_total|fdb_entries)' <&3 | sed 's/^/  /'
    exec 3<&-
else
    echo "  nothing listens on 127.0.0.1:9464"
    FAILED=1
fi

if ((HOLD)); then
    bold "holding: try 'ip netns exec xvs-demo-h1 ping 10.0.0.2' or 'target/release/xvs fdb show'; Ctrl-C to stop"
    wait "$XVS_PID"
fi

if ((FAILED)); then
    bold "demo: UNEXPECTED RESULT (log: /tmp/xvs-demo.log)"
    exit 1
fi
bold "demo: all as expected; tearing down"
