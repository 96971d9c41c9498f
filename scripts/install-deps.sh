#!/usr/bin/env bash
# Installs what xvs needs to build, test, benchmark and demo on Debian 12,
# skipping what is already there. Safe to run repeatedly.
#
#   build:  clang libelf-dev m4 libpcap-dev pkg-config (xsk-rs builds libxdp/libbpf)
#   tests:  iproute2 ethtool iputils-ping tcpdump tshark iperf3 python3-scapy
#   bench:  valgrind (instructions per packet), netsniff-ng (trafgen baseline)
#   metrics: prometheus (a real server scrapes xvs; promtool checks the format)
#   cli:    tmux (xvs top in a real terminal)
#   peers:  openvswitch-switch (OVS userspace datapath as a VXLAN peer,
#           tests/tests/ovs.rs; its services are never started, see below)
set -euo pipefail

PACKAGES=(clang llvm libelf-dev m4 libpcap-dev pkg-config zlib1g-dev
          iproute2 ethtool iputils-ping tcpdump tshark iperf3 python3-scapy
          valgrind procps prometheus tmux
          openvswitch-switch openvswitch-common)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no, unattended.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq
    # Packages such as openvswitch-switch start their services on install.
    # The tests start their own instances in private directories, so
    # forbid that: invoke-rc.d and deb-systemd-invoke skip every action
    # while /usr/sbin/policy-rc.d exits 101. Whatever policy was there
    # before (containers ship one) is put back afterwards.
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [[ -e $policy ]]; then
        saved=$(mktemp)
        cp -p "$policy" "$saved"
    fi
    restore_policy() {
        if [[ -n $saved ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\n# written by xvs scripts/install-deps.sh for the duration of apt-get\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "install-deps: all packages present"
fi

if ! command -v cargo >/dev/null; then
    echo "install-deps: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi

# The test command lints with rustfmt and clippy.
for tool in rustfmt clippy; do
    sub=$tool; [[ $tool == rustfmt ]] && sub=fmt
    if ! cargo "$sub" --version >/dev/null 2>&1; then
        echo "install-deps: adding the $tool component"
        rustup component add "$tool"
    fi
done
