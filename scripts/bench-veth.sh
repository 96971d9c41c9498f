#!/usr/bin/env bash
# The veth benchmark: xvs against the Linux bridge, Open vSwitch 3.1
# (userspace datapath, afxdp ports) and DPDK 22.11 dpdk-testpmd (net_af_xdp,
# io forwarding), all measured in one run on the same harness.
#
#   xvs-gen (CPU0) -> g0 =veth= pa -> FORWARDER (CPU1) -> pb =veth= s0 (XDP_DROP)
#
# Delivered rate = delta of s0's rx_queue_0_xdp_drops over the generator's
# sending window. Every forwarder gets RUNS runs of DURATION seconds per frame
# size; the runs are interleaved (round 1 of every forwarder, then round 2,
# ...) so slow drifts in background load hit all forwarders alike. The
# generator is also run straight into the sink, twice: with the sink's veth
# receive work on its own CPU (the sender's capacity) and with the kernel's
# default placement (the sink's work shares CPU0 with the sender).
#
#   scripts/bench-veth.sh
#
# Environment (all optional):
#   DURATION=5 RUNS=3 SIZES="64 1514"
#   FORWARDERS="gen gen-cpu0 xvs bridge bridge-rps ovs testpmd"   (subset/order)
#       overlay forwarders, not in the default list (issue 11):
#       xvs-encap bridge-vxlan-encap ovs-vxlan-encap   plain frames in on pa,
#           VXLAN (VNI 100, 192.168.100.1 -> .2) out on pb
#       xvs-decap bridge-vxlan-decap ovs-vxlan-decap   VXLAN in on pa (xvs-gen
#           --vxlan), the inner frames out on pb
#       SIZES are then the inner frame's size; the veths get MTU 1600 so
#       that 1514-byte inner frames (1564 on the wire) fit.
#   OUT=out/bench-veth.json  CHART=docs/img/bench-veth.png
#   BIN=dir       prebuilt xvs, xvs-gen, xvs-sink (default: cargo build --release)
#   NO_INSTALL=1  do not apt-get install missing packages
#   PERF=1        after round 1 of each forwarder, an extra (unmeasured) 3 s run
#                 per size under `perf record -a`; flat profiles per CPU go
#                 to OUT's log folder as perf-FORWARDER-SIZE.txt
#   XVS_DATAPLANE='fill_ring = 1024'   extra [dataplane] lines for xvs's config
#   NICE=-20      nice value for the generator, the forwarders and the
#                 ksoftirqd threads (0 to leave priorities alone)
#   CAPTURE=1     in round 1 of each forwarder, before its measured runs,
#                 detach the sink for a moment, capture 4 frames per size on
#                 s0 and decode them with tshark into OUT's log folder as
#                 capture-FORWARDER.txt (do the frames take the path meant?)
#
# Needs root (namespaces, XDP, hugepages). Everything lives in a network
# namespace xvsb<PID>; it and every daemon started here are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"64 1514"}
FORWARDERS=${FORWARDERS:-"gen gen-cpu0 xvs bridge bridge-rps ovs testpmd"}
OUT=${OUT:-out/bench-veth.json}
CHART=${CHART:-docs/img/bench-veth.png}
FLOWS=64
DST_MAC=02:00:00:00:ff:01 # the generator's destination MAC (xvs-gen's default)
# Overlay forwarders: the forwarder's VTEP is LOCAL_VTEP (on pa for decap,
# on pb for encap); REMOTE_VTEP is the generator (decap) or the sink
# (encap). Fixed MACs, so nothing needs ARP: VTEP_MAC is the forwarder's
# underlay MAC for decap, GEN_MAC g0's, SINK_MAC s0's (the encap next hop).
VNI=100
LOCAL_VTEP=192.168.100.1
REMOTE_VTEP=192.168.100.2
VTEP_MAC=02:00:00:00:fe:01
GEN_MAC=02:00:00:00:fe:02
SINK_MAC=02:00:00:00:fe:03
OVERLAY_MTU=1600
GEN_ARGS=() # extra xvs-gen arguments of the current forwarder (decap: --vxlan)
GEN_CPU=0
FWD_CPU=1
HUGEPAGES=512 # 2 MiB pages reserved for the run (DPDK; xvs's UMEM uses them too)
# The machine may be shared: a busy-polling forwarder time-sliced with a
# compiler on CPU1 loses packets whenever it is preempted for longer than its
# RX ring lasts (2048 frames = 3 ms at 0.7 Mpps). With autogroup scheduling
# (Debian's default) a process's nice only counts inside its session, so the
# benchmark raises the priority of its session's autogroup (and of the
# sessions OVS's daemons make when they detach), runs its own processes at
# that nice, and puts ksoftirqd (which competes with autogroups as a whole)
# at the same level. The same for every forwarder; restored on exit. CPU
# used by other processes during each run is recorded as well.
NICE=${NICE:--20}

ID=$$
NS=xvsb$ID
WORK=/tmp/xvsb.$ID
LOGS=${OUT%.json}.d
PY=/usr/bin/python3

if [[ $(id -u) -ne 0 ]]; then
    echo "bench-veth.sh: run as root (namespaces, XDP, hugepages)" >&2
    exit 1
fi

T0=$(date +%s)
log() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
nsx() { ip netns exec "$NS" "$@"; }
hi() { nice -n "$NICE" "$@"; } # run at the benchmark's priority

# ---------------------------------------------------------------- packages
# openvswitch-switch and dpdk-dev with the AF_XDP PMD and the ring mempool
# (Recommends are not installed, so the DPDK libraries are named), and
# matplotlib for the chart. A policy-rc.d that exits 101 keeps the packages
# from starting their services.
install_packages() {
    local pkgs=(openvswitch-switch dpdk-dev librte-net-af-xdp23 librte-mempool-ring23
        python3-matplotlib ethtool iproute2 jq procps) missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ -n "${NO_INSTALL:-}" ]] && { echo "bench-veth.sh: missing packages: ${missing[*]}" >&2; exit 1; }
    log "installing ${missing[*]}"
    local prc=/usr/sbin/policy-rc.d saved=
    if [[ -e $prc ]]; then saved=$WORK/policy-rc.d.saved; cp -p "$prc" "$saved"; fi
    printf '#!/bin/sh\nexit 101\n' >"$prc"
    chmod 755 "$prc"
    local rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$WORK/apt.log" 2>&1 || rc=$?
    if [[ -n $saved ]]; then cp -p "$saved" "$prc"; else rm -f "$prc"; fi
    if ((rc)); then tail -20 "$WORK/apt.log" >&2; exit 1; fi
}

# ---------------------------------------------------------------- state and cleanup
FWD_PID=
OVS_DIR=
HP_SAVED=
HP_MOUNTED=
FIFO_PID=
KSOFTIRQD_NICE=() # "pid nice" pairs to restore
AG_SAVED=
cleanup() {
    set +e
    stop_forwarder
    local x
    for x in "${KSOFTIRQD_NICE[@]}"; do renice -n "${x#* }" -p "${x% *}" >/dev/null 2>&1; done
    [[ -n $AG_SAVED ]] && echo "$AG_SAVED" >/proc/$$/autogroup 2>/dev/null
    [[ -n $FIFO_PID ]] && kill "$FIFO_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    [[ -n $HP_MOUNTED ]] && umount /dev/hugepages 2>/dev/null
    [[ -n $HP_SAVED ]] && echo "$HP_SAVED" >/proc/sys/vm/nr_hugepages
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK"

install_packages

# ---------------------------------------------------------------- build
if [[ -z "${BIN:-}" ]]; then
    log "building xvs, xvs-gen, xvs-sink (release)"
    if ! cargo build --release -p io-afxdp -p xvs-control --bins >"$WORK/build.log" 2>&1; then
        if [[ -x target/release/xvs && -x target/release/xvs-gen && -x target/release/xvs-sink ]]; then
            log "WARNING: cargo build failed; using the binaries already in target/release"
            tail -5 "$WORK/build.log" >&2
        else
            cat "$WORK/build.log" >&2
            exit 1
        fi
    fi
    BIN=$ROOT/target/release
fi
for b in xvs xvs-gen xvs-sink; do [[ -x $BIN/$b ]] || { echo "missing $BIN/$b" >&2; exit 1; }; done

# ---------------------------------------------------------------- host setup
HP_SAVED=$(cat /proc/sys/vm/nr_hugepages)
if ((HP_SAVED < HUGEPAGES)); then echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages; else HP_SAVED=; fi
if ! mountpoint -q /dev/hugepages; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages && HP_MOUNTED=1
fi
mkdir -p "$(dirname "$OUT")" "$LOGS" "$(dirname "$CHART")"
RAW=$LOGS/runs.jsonl
: >"$RAW"
ip netns add "$NS"
nsx ip link set lo up
# Scheduling priority (see NICE above).
autogroup_nice() { # pid: give its session's autogroup the benchmark's nice
    [[ -w /proc/$1/autogroup ]] && echo "$NICE" >"/proc/$1/autogroup" 2>/dev/null || true
}
if [[ $NICE != 0 ]]; then
    if [[ -r /proc/$$/autogroup ]]; then
        AG_SAVED=$(awk '{print $3}' /proc/$$/autogroup)
        autogroup_nice $$
    fi
    for p in $(pgrep '^ksoftirqd/[0-9]+$'); do
        KSOFTIRQD_NICE+=("$p $(ps -o ni= -p "$p" | tr -d ' ')")
        renice -n "$NICE" -p "$p" >/dev/null
    done
fi

# ---------------------------------------------------------------- topology
# Fresh veth pairs for every forwarder block, so no XDP program, queue
# binding or bridge state carries over from one forwarder to the next.
topo_up() { # two pairs g0=pa, pb=s0; or, for "direct", one pair g0=s0;
    # "overlay": two pairs with fixed MACs and MTU $OVERLAY_MTU everywhere
    if [[ $1 == direct ]]; then
        nsx ip link add g0 type veth peer name s0
    else
        nsx ip link add g0 type veth peer name pa
        nsx ip link add pb type veth peer name s0
        if [[ $1 == overlay ]]; then
            nsx ip link set g0 address "$GEN_MAC"
            nsx ip link set pa address "$VTEP_MAC"
            nsx ip link set s0 address "$SINK_MAC"
            local d
            for d in g0 pa pb s0; do nsx ip link set "$d" mtu "$OVERLAY_MTU"; done
        fi
        nsx ip link set pa up
        nsx ip link set pb up
    fi
    nsx ip link set g0 up
    nsx ip link set s0 up
    nsx "$BIN/xvs-sink" attach s0 --mode native >/dev/null
}
topo_down() {
    nsx ip link del g0 2>/dev/null || true
    nsx ip link del pb 2>/dev/null || true
    nsx ip link del s0 2>/dev/null || true
    nsx ip link del brb 2>/dev/null || true
    nsx ip link del vx0 2>/dev/null || true
}

# ---------------------------------------------------------------- forwarders
# Each start_X brings up the forwarder between pa and pb with its poll loop
# (or its kernel work) on CPU1; stop_forwarder stops whichever runs.
wait_for() { # tries cmd...: retry every 0.1 s
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

start_xvs() {
    cat >"$WORK/xvs.toml" <<EOF
# Two access ports in VLAN 10; the generator's destination MAC is a static
# FDB entry on port b, so every frame is a learn-hit unicast forward a -> b.
[switch]
batch_size = 32
[dataplane]
worker_cpus = [$FWD_CPU]
idle_backoff = false
busy_poll = true
${XVS_DATAPLANE:-}
[[fdb.static]]
vlan = 10
mac = "$DST_MAC"
port = "b"
[[port]]
name = "a"
interface = "pa"
mode = "access"
vlan = 10
[[port]]
name = "b"
interface = "pb"
mode = "access"
vlan = 10
[control]
socket = "$WORK/xvs.sock"
EOF
    cp "$WORK/xvs.toml" "$LOGS/xvs.toml"
    # Not through nsx: $! must be xvs itself (ip netns exec execs it).
    nice -n "$NICE" ip netns exec "$NS" "$BIN/xvs" run -c "$WORK/xvs.toml" >>"$LOGS/xvs.log" 2>&1 &
    FWD_PID=$!
    wait_for 100 "$BIN/xvs" stats --socket "$WORK/xvs.sock" || { tail "$LOGS/xvs.log" >&2; exit 1; }
}

start_xvs_overlay() { # encap|decap
    # encap: port b (pa) is an access port in VLAN 10, port u (pb) the
    # underlay with the VTEP; the generator's destination MAC is a static
    # remote MAC behind REMOTE_VTEP, so every frame is a known-unicast
    # encapsulation b -> u (next hop pinned, no ARP). decap: u is pa (whose
    # MAC the generator's outer headers carry), b is pb; the destination MAC
    # is a static FDB entry on b, so every packet is decapsulated and
    # forwarded u -> b. Remote learning is off (as the kernel's nolearning).
    local ul=pb acc=pa static
    if [[ $1 == decap ]]; then
        ul=pa acc=pb
        static=$(printf '[[fdb.static]]\nvlan = 10\nmac = "%s"\nport = "b"' "$DST_MAC")
    else
        static=$(printf '[[vni.static]]\nmac = "%s"\nremote = "%s"' "$DST_MAC" "$REMOTE_VTEP")
    fi
    cat >"$WORK/xvs.toml" <<EOF
# VXLAN $1: access port b on $acc (VLAN 10 <-> VNI $VNI), underlay u on $ul.
[switch]
batch_size = 32
[dataplane]
worker_cpus = [$FWD_CPU]
idle_backoff = false
busy_poll = true
${XVS_DATAPLANE:-}
[[port]]
name = "b"
interface = "$acc"
mode = "access"
vlan = 10
[[port]]
name = "u"
interface = "$ul"
mode = "underlay"
[[vtep]]
name = "vtep0"
port = "u"
address = "$LOCAL_VTEP/24"
nexthop_mac = "$SINK_MAC"
mtu = $OVERLAY_MTU
[[vni]]
vni = $VNI
vlan = 10
learning = false
remotes = ["$REMOTE_VTEP"]
$static
[control]
socket = "$WORK/xvs.sock"
EOF
    cp "$WORK/xvs.toml" "$LOGS/xvs-$1.toml"
    nice -n "$NICE" ip netns exec "$NS" "$BIN/xvs" run -c "$WORK/xvs.toml" >>"$LOGS/xvs.log" 2>&1 &
    FWD_PID=$!
    wait_for 100 "$BIN/xvs" stats --socket "$WORK/xvs.sock" || { tail "$LOGS/xvs.log" >&2; exit 1; }
}

start_bridge_vxlan() { # encap|decap
    # The Linux bridge with the kernel vxlan device as its tunnel port:
    # learning off, the destination MAC static (on vx0 for encap, on pb for
    # decap), vx0 without learning and without outer UDP checksums (as xvs
    # and OVS send them), the remote's MAC a permanent neighbour. The whole
    # path runs in pa's receive softirq, steered to CPU1 with RPS (as
    # bridge-rps).
    local ul=pb acc=pa nh=$SINK_MAC
    [[ $1 == decap ]] && ul=pa acc=pb nh=$GEN_MAC
    nsx ip addr add "$LOCAL_VTEP/24" dev "$ul"
    nsx ip neigh replace "$REMOTE_VTEP" lladdr "$nh" dev "$ul" nud permanent
    nsx ip link add vx0 type vxlan id "$VNI" local "$LOCAL_VTEP" remote "$REMOTE_VTEP" dstport 4789 dev "$ul" \
        nolearning noudpcsum
    nsx ip link add brb type bridge stp_state 0
    nsx ip link set "$acc" master brb
    nsx ip link set vx0 master brb
    nsx bridge link set dev "$acc" learning off
    nsx bridge link set dev vx0 learning off
    if [[ $1 == encap ]]; then
        nsx bridge fdb add "$DST_MAC" dev vx0 master static
    else
        nsx bridge fdb add "$DST_MAC" dev pb master static
    fi
    nsx ip link set vx0 up
    nsx ip link set brb up
    nsx sh -c "echo $((1 << FWD_CPU)) > /sys/class/net/pa/queues/rx-0/rps_cpus"
    nsx ip -d link show vx0 >"$LOGS/bridge-vxlan-$1.link" 2>&1
}

start_bridge() { # [rps]
    # Learning off on both ports and a static FDB entry for the generator's
    # destination MAC on pb: every frame is a known-unicast forward pa -> pb,
    # never a flood. "bridge" leaves the work where the kernel puts it: in
    # the generator's softirq on CPU0, as users get it out of the box.
    # "bridge-rps" steers pa's receive processing (the whole bridge path, up
    # to the veth transmit into s0) to CPU1, the forwarder's CPU, as a tuned
    # setup would.
    nsx ip link add brb type bridge stp_state 0
    nsx ip link set pa master brb
    nsx ip link set pb master brb
    nsx bridge link set dev pa learning off
    nsx bridge link set dev pb learning off
    nsx bridge fdb add "$DST_MAC" dev pb master static
    nsx ip link set brb up
    if [[ ${1:-} == rps ]]; then
        nsx sh -c "echo $((1 << FWD_CPU)) > /sys/class/net/pa/queues/rx-0/rps_cpus"
    fi
}

ovs_daemons() {
    OVS_DIR=$WORK/ovs
    mkdir -p "$OVS_DIR"
    export OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR
    local db=unix:$OVS_DIR/db.sock
    ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server "$OVS_DIR/conf.db" --remote=punix:"$OVS_DIR/db.sock" --pidfile --detach --log-file 2>>"$LOGS/ovs.log"
    ovs-vsctl --db="$db" --no-wait init
    ovs-vsctl --db="$db" --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=$(printf '0x%x' $((1 << FWD_CPU)))
    hi ip netns exec "$NS" ovs-vswitchd "$db" --pidfile --detach --log-file 2>>"$LOGS/ovs.log"
    # --detach made new sessions: give them the benchmark's priority too.
    [[ $NICE != 0 ]] && for p in $(cat "$OVS_DIR"/*.pid); do autogroup_nice "$p"; done
    return 0
}
ovsctl() { ovs-appctl -t "$OVS_DIR/ovs-vswitchd.$(cat "$OVS_DIR/ovs-vswitchd.pid").ctl" "$@"; }

start_ovs() {
    ovs_daemons
    local db=unix:$OVS_DIR/db.sock
    ovs-vsctl --db="$db" -- add-br brb -- set bridge brb datapath_type=netdev \
        -- add-port brb pa -- set interface pa type=afxdp options:xdp-mode=native options:n_rxq=1 ofport_request=1 \
        -- add-port brb pb -- set interface pb type=afxdp options:xdp-mode=native options:n_rxq=1 ofport_request=2
    ovs-ofctl del-flows brb
    ovs-ofctl add-flow brb in_port=1,actions=output:2
    ovs-ofctl add-flow brb in_port=2,actions=output:1
    ovs-vsctl --db="$db" get interface pa status >>"$LOGS/ovs.log" 2>&1 || true
}

start_ovs_vxlan() { # encap|decap
    # OVS userspace tunnelling: br-ul holds the underlay afxdp port and has
    # LOCAL_VTEP on its internal (tap) port, with the remote's MAC pinned by
    # tnl/arp/set; brb holds the access afxdp port and a vxlan port (key
    # VNI). Explicit flows: encap brb access -> vx0, br-ul LOCAL -> underlay;
    # decap br-ul underlay -> LOCAL (where the tunnel is popped),
    # brb vx0 -> access.
    ovs_daemons
    local db=unix:$OVS_DIR/db.sock ul=pb acc=pa nh=$SINK_MAC
    [[ $1 == decap ]] && ul=pa acc=pb nh=$GEN_MAC
    local afx="type=afxdp options:xdp-mode=native options:n_rxq=1"
    # shellcheck disable=SC2086
    ovs-vsctl --db="$db" -- add-br br-ul -- set bridge br-ul datapath_type=netdev other-config:hwaddr="$VTEP_MAC" \
        -- add-port br-ul "$ul" -- set interface "$ul" $afx ofport_request=1 \
        -- add-br brb -- set bridge brb datapath_type=netdev \
        -- add-port brb "$acc" -- set interface "$acc" $afx ofport_request=1 \
        -- add-port brb vx0 -- set interface vx0 type=vxlan ofport_request=2 \
        options:remote_ip="$REMOTE_VTEP" options:local_ip="$LOCAL_VTEP" options:key="$VNI"
    nsx ip addr add "$LOCAL_VTEP/24" dev br-ul
    nsx ip link set br-ul up
    ovsctl tnl/arp/set br-ul "$REMOTE_VTEP" "$nh" >>"$LOGS/ovs.log" 2>&1
    ovs-ofctl del-flows brb
    ovs-ofctl del-flows br-ul
    if [[ $1 == encap ]]; then
        ovs-ofctl add-flow brb in_port=1,actions=output:2
        ovs-ofctl add-flow br-ul in_port=LOCAL,actions=output:1
    else
        ovs-ofctl add-flow br-ul in_port=1,actions=LOCAL
        ovs-ofctl add-flow brb in_port=2,actions=output:1
    fi
    # vswitchd learns br-ul's address and route asynchronously.
    local i
    for ((i = 0; i < 50; i++)); do ovsctl ovs/route/show 2>/dev/null | grep -q "$LOCAL_VTEP" && break; sleep 0.1; done
    { echo "== ovs-vxlan-$1"; ovsctl ovs/route/show; ovsctl tnl/arp/show; ovsctl tnl/ports/show; } >>"$LOGS/ovs.log" 2>&1 || true
}

start_testpmd() {
    # testpmd without -i waits for Enter on stdin, so give it a pipe that
    # stays open; SIGINT stops it.
    mkfifo "$WORK/tp.fifo"
    sleep 100000 >"$WORK/tp.fifo" &
    FIFO_PID=$!
    nice -n "$NICE" ip netns exec "$NS" stdbuf -oL dpdk-testpmd -l $GEN_CPU,$FWD_CPU --main-lcore $GEN_CPU -n 1 --no-pci --in-memory \
        --file-prefix "xvsb$ID" \
        --vdev net_af_xdp0,iface=pa --vdev net_af_xdp1,iface=pb -- \
        --forward-mode=io --nb-cores=1 --auto-start <"$WORK/tp.fifo" >>"$LOGS/testpmd.log" 2>&1 &
    FWD_PID=$!
    local i
    for ((i = 0; i < 150; i++)); do
        grep -q "Press enter to exit" "$LOGS/testpmd.log" 2>/dev/null && return 0
        kill -0 "$FWD_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$LOGS/testpmd.log" >&2
    exit 1
}

stop_forwarder() {
    if [[ -n $FWD_PID ]]; then
        kill -INT "$FWD_PID" 2>/dev/null
        local i
        for ((i = 0; i < 50; i++)); do kill -0 "$FWD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$FWD_PID" 2>/dev/null || true
        wait "$FWD_PID" 2>/dev/null || true
        FWD_PID=
    fi
    if [[ -n $FIFO_PID ]]; then kill "$FIFO_PID" 2>/dev/null || true; wait "$FIFO_PID" 2>/dev/null || true; FIFO_PID=; fi
    rm -f "$WORK/tp.fifo"
    if [[ -n $OVS_DIR ]]; then
        ovs-appctl -t "$OVS_DIR/ovs-vswitchd.$(cat "$OVS_DIR/ovs-vswitchd.pid" 2>/dev/null).ctl" exit --cleanup >/dev/null 2>&1 ||
            { [[ -s $OVS_DIR/ovs-vswitchd.pid ]] && kill "$(cat "$OVS_DIR/ovs-vswitchd.pid")" 2>/dev/null; }
        ovs-appctl -t "$OVS_DIR/ovsdb-server.$(cat "$OVS_DIR/ovsdb-server.pid" 2>/dev/null).ctl" exit >/dev/null 2>&1 ||
            { [[ -s $OVS_DIR/ovsdb-server.pid ]] && kill "$(cat "$OVS_DIR/ovsdb-server.pid")" 2>/dev/null; }
        cat "$OVS_DIR"/*.log >>"$LOGS/ovs.log" 2>/dev/null
        rm -rf "$OVS_DIR"
        OVS_DIR=
        unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR
    fi
    return 0
}

# The "gen-cpu1" placement: the sink's veth receive work (NAPI) runs in a
# kernel thread pinned to CPU1 instead of in softirq on the sender's CPU.
sink_napi_to_cpu1() {
    nsx sh -c 'echo 1 > /sys/class/net/s0/threaded'
    local p
    for p in $(pgrep '^napi/s0-' || true); do
        taskset -pc "$FWD_CPU" "$p" >/dev/null
        renice -n "$NICE" -p "$p" >/dev/null
    done
}

# ---------------------------------------------------------------- one measured run
drops() { nsx ethtool -S s0 | awk '/rx_queue_0_xdp_drops:/ {print $2}'; }
cpu_lines() { grep -E '^cpu[0-9]+ ' /proc/stat | tr '\n' ';'; }
softnet() { tr '\n' ';' </proc/net/softnet_stat; }
fwd_stats() { # forwarder-specific counters, as JSON (or null)
    case $1 in
    xvs | xvs-*) "$BIN/xvs" stats --json --socket "$WORK/xvs.sock" 2>/dev/null | jq -c '{ports, pipeline, drops, dataplane}' || echo null ;;
    ovs) # live OpenFlow port counters (the database's copy lags by 5 s)
        ovs-ofctl dump-ports brb 2>/dev/null | $PY scripts/bench/ovsports.py ;;
    *) echo null ;;
    esac
}

measure() { # forwarder size round
    local fwd=$1 size=$2 round=$3 d0 d1 c0 c1 n0 n1 s0 s1 load gen
    [[ $fwd == ovs* ]] && ovsctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1
    s0=$(fwd_stats "$fwd")
    local extra=() ps0 ps1
    [[ -n $OVS_DIR ]] && extra=($(cat "$OVS_DIR"/*.pid 2>/dev/null))
    ps0=$($PY scripts/bench/cpusnap.py $$ "${extra[@]}")
    load=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(cpu_lines)
    n0=$(softnet)
    d0=$(drops)
    gen=$(hi ip netns exec "$NS" "$BIN/xvs-gen" --iface g0 --cpu "$GEN_CPU" --size "$size" --flows "$FLOWS" \
        --dst-mac "$DST_MAC" "${GEN_ARGS[@]}" --duration "$DURATION" 2>>"$LOGS/gen.log" | tail -1)
    d1=$(drops)
    n1=$(softnet)
    c1=$(cpu_lines)
    ps1=$($PY scripts/bench/cpusnap.py $$ "${extra[@]}")
    sleep 0.2 # let the forwarder's counters settle
    s1=$(fwd_stats "$fwd")
    if [[ $fwd == ovs* ]]; then
        { echo "== $fwd $size round $round"; ovs-appctl -t "$OVS_DIR/ovs-vswitchd.$(cat "$OVS_DIR/ovs-vswitchd.pid").ctl" dpif-netdev/pmd-stats-show; } >>"$LOGS/ovs-pmd.log" 2>&1
    fi
    jq -nc --arg fwd "$fwd" --argjson size "$size" --argjson round "$round" --argjson gen "$gen" \
        --argjson d0 "$d0" --argjson d1 "$d1" --arg c0 "$c0" --arg c1 "$c1" --arg n0 "$n0" --arg n1 "$n1" \
        --argjson s0 "$s0" --argjson s1 "$s1" --arg load "$load" --argjson ps0 "$ps0" --argjson ps1 "$ps1" \
        '{forwarder:$fwd, size:$size, round:$round, gen:$gen, sink_drops:($d1-$d0),
          delivered_pps:(($d1-$d0)/$gen.seconds), offered_pps:$gen.pps, loadavg:($load|tonumber),
          proc_stat:[$c0,$c1], softnet:[$n0,$n1], fwd_stats:[$s0,$s1], procs:[$ps0,$ps1]}' >>"$RAW"
    tail -1 "$RAW" | jq -r '"  \(.forwarder|.+"         "|.[0:9]) \(.size|tostring|"    "[length:]+.) B  round \(.round): offered \(.offered_pps/1e6*1000|round/1000) Mpps, delivered \(.delivered_pps/1e6*1000|round/1000) Mpps"' >&2
}

profile() { # forwarder size: where both CPUs spend their time (not measured)
    local f=$LOGS/perf-$1-$2 c pp
    # perf starts first (it needs about a second to read every process's
    # maps, and at normal priority it would starve behind the generator),
    # then 2.5 s of traffic inside its 4 s window.
    hi perf record -q -a -o "$f.data" -- sleep 4 >/dev/null 2>&1 &
    pp=$!
    sleep 1.5
    hi ip netns exec "$NS" "$BIN/xvs-gen" --iface g0 --cpu "$GEN_CPU" --size "$2" --flows "$FLOWS" \
        --dst-mac "$DST_MAC" "${GEN_ARGS[@]}" --duration 2.5 >>"$LOGS/gen.log" 2>&1
    wait "$pp" || true
    for c in 0 1; do
        echo "=== CPU$c, $1, $2 B"
        perf report -i "$f.data" --cpu "$c" --no-children --sort comm,dso,sym --stdio 2>/dev/null |
            grep -v '^#' | grep '%' | head -40 || true
    done >"$f.txt"
    rm -f "$f.data"
}

capture() { # forwarder: decode a few frames per size as they reach s0
    local f=$LOGS/capture-$1.txt size tp
    : >"$f"
    nsx "$BIN/xvs-sink" detach s0 >/dev/null
    for size in $SIZES; do
        echo "=== $1, $size B: frame.len eth.src eth.dst ip.src ip.dst udp.srcport udp.dstport vxlan.vni (inner ...)" >>"$f"
        nsx timeout 5 tcpdump -i s0 -nn -c 4 -w "$WORK/cap.pcap" udp 2>/dev/null &
        tp=$!
        sleep 1
        ip netns exec "$NS" "$BIN/xvs-gen" --iface g0 --size "$size" --flows "$FLOWS" --dst-mac "$DST_MAC" \
            "${GEN_ARGS[@]}" --count 20 --rate 1000 >/dev/null 2>>"$LOGS/gen.log"
        wait "$tp" || true
        tshark -r "$WORK/cap.pcap" -T fields -E separator=' ' -E occurrence=a -E aggregator=/ -e frame.len -e eth.src -e eth.dst \
            -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e vxlan.vni >>"$f" 2>/dev/null || true
    done
    nsx "$BIN/xvs-sink" attach s0 --mode native >/dev/null
    log "  capture on s0 ($1): $(grep -vc '^===' "$f") lines decoded -> $f"
}

run_block() { # forwarder round
    local fwd=$1 round=$2 size
    GEN_ARGS=()
    case $fwd in
    gen | gen-cpu0) topo_up direct ;;
    *-encap | *-decap) topo_up overlay ;;
    *) topo_up pair ;;
    esac
    [[ $fwd == *-decap ]] && GEN_ARGS=(--vxlan "$VNI" --outer-dst-mac "$VTEP_MAC" --outer-src-mac "$GEN_MAC"
        --outer-src-ip "$REMOTE_VTEP" --outer-dst-ip "$LOCAL_VTEP")
    case $fwd in
    gen) sink_napi_to_cpu1 ;;
    gen-cpu0) ;;
    xvs) start_xvs ;;
    bridge) start_bridge ;;
    bridge-rps) start_bridge rps ;;
    ovs) start_ovs ;;
    testpmd) start_testpmd ;;
    xvs-encap | xvs-decap) start_xvs_overlay "${fwd#xvs-}" ;;
    bridge-vxlan-encap | bridge-vxlan-decap) start_bridge_vxlan "${fwd#bridge-vxlan-}" ;;
    ovs-vxlan-encap | ovs-vxlan-decap) start_ovs_vxlan "${fwd#ovs-vxlan-}" ;;
    *) echo "unknown forwarder $fwd" >&2; exit 1 ;;
    esac
    # Warm-up: caches, OVS's datapath flow, the sink's page pool.
    hi ip netns exec "$NS" "$BIN/xvs-gen" --iface g0 --cpu "$GEN_CPU" --flows "$FLOWS" --dst-mac "$DST_MAC" "${GEN_ARGS[@]}" --duration 0.5 >/dev/null 2>>"$LOGS/gen.log"
    if [[ -n "${CAPTURE:-}" && $round == 1 ]]; then capture "$fwd"; fi
    for size in $SIZES; do measure "$fwd" "$size" "$round"; done
    if [[ -n "${PERF:-}" && $round == 1 ]]; then
        for size in $SIZES; do profile "$fwd" "$size"; done
    fi
    stop_forwarder
    topo_down
}

log "namespace $NS; ${RUNS} rounds x {$FORWARDERS} x {$SIZES} B x ${DURATION} s; logs in $LOGS"
{
    echo "== $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs"
    "$BIN/xvs" --version 2>/dev/null || true
    ovs-vswitchd --version | head -1
    dpkg-query -W -f='${Package} ${Version}\n' dpdk-dev librte-net-af-xdp23 openvswitch-switch
} >"$LOGS/versions.txt" 2>&1
for round in $(seq "$RUNS"); do
    for fwd in $FORWARDERS; do
        log "round $round: $fwd"
        run_block "$fwd" "$round"
    done
done

log "report"
$PY scripts/bench/report.py --raw "$RAW" --out "$OUT" --chart "$CHART" \
    --duration "$DURATION" --runs "$RUNS" --versions "$LOGS/versions.txt"
log "done: $OUT, $CHART (total $(($(date +%s) - T0)) s)"
